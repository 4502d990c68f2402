// The default profile: kube-scheduler's default plugins and score weights,
// restricted to what Pinsetter's objects carry.

import type { Profile } from "../framework.js";
import { InterPodAffinity } from "./inter-pod-affinity.js";
import { NodeAffinity } from "./node-affinity.js";
import { NodeName, NodeReady, NodeUnschedulable } from "./node-basics.js";
import { NodePorts } from "./node-ports.js";
import { NodeResourcesBalancedAllocation, NodeResourcesFit, NodeResourcesLeastAllocated } from "./node-resources.js";
import { PodTopologySpread } from "./pod-topology-spread.js";
import { TaintToleration } from "./taint-toleration.js";

export function defaultProfile(): Profile {
  return {
    preFilter: [NodeAffinity, NodePorts, PodTopologySpread, InterPodAffinity],
    // Cheap, node-only checks first: the first rejection ends a node's filtering.
    filter: [NodeUnschedulable, NodeReady, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity],
    preScore: [NodeAffinity, PodTopologySpread, InterPodAffinity],
    score: [
      { plugin: TaintToleration, weight: 3 },
      { plugin: NodeAffinity, weight: 2 },
      { plugin: PodTopologySpread, weight: 2 },
      { plugin: InterPodAffinity, weight: 2 },
      { plugin: NodeResourcesLeastAllocated, weight: 1 },
      { plugin: NodeResourcesBalancedAllocation, weight: 1 },
    ],
  };
}

export {
  InterPodAffinity,
  NodeAffinity,
  NodeName,
  NodePorts,
  NodeReady,
  NodeResourcesBalancedAllocation,
  NodeResourcesFit,
  NodeResourcesLeastAllocated,
  NodeUnschedulable,
  PodTopologySpread,
  TaintToleration,
};
