// Filters on the node alone: NodeUnschedulable (spec.unschedulable), NodeReady
// (the Ready condition, for nodes the lifecycle controller has not tainted yet)
// and NodeName (spec.nodeName asks for one node).

import { Taints, type Taint } from "../../api/types.js";
import type { FilterPlugin } from "../framework.js";
import { success, unresolvable, type CycleState, type NodeInfo, type PodInfo, type Status } from "../types.js";
import { tolerationsTolerate } from "./tolerations.js";

export const ERR_UNSCHEDULABLE = "node(s) were unschedulable";
export const ERR_NOT_READY = "node(s) were not ready";
export const ERR_NODE_NAME = "node(s) didn't match the requested node name";

const UNSCHEDULABLE_TAINT: Taint = { key: Taints.unschedulable, effect: "NoSchedule" };

export const NodeUnschedulable: FilterPlugin = {
  name: "NodeUnschedulable",
  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status {
    if (!node.node.spec?.unschedulable) return success;
    if (tolerationsTolerate(pod.pod.spec.tolerations, UNSCHEDULABLE_TAINT)) return success;
    return unresolvable(ERR_UNSCHEDULABLE);
  },
};

/**
 * kube-scheduler trusts the not-ready/unreachable taints alone; Pinsetter also
 * reads the Ready condition so a node is avoided the moment it reports itself
 * not ready, before the lifecycle controller's taint lands. A node without a
 * Ready condition yet counts as ready (as it has no taint either).
 */
export const NodeReady: FilterPlugin = {
  name: "NodeReady",
  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const ready = node.node.status?.conditions?.find((c) => c.type === "Ready");
    if (!ready || ready.status === "True") return success;
    const taint: Taint = { key: ready.status === "False" ? Taints.notReady : Taints.unreachable, effect: "NoSchedule" };
    if (tolerationsTolerate(pod.pod.spec.tolerations, taint)) return success;
    return unresolvable(ERR_NOT_READY);
  },
};

export const NodeName: FilterPlugin = {
  name: "NodeName",
  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const want = pod.pod.spec.nodeName;
    if (!want || want === node.name) return success;
    return unresolvable(ERR_NODE_NAME);
  },
};
