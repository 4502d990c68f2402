// Topology domains: the value of a node's topology label. A node without a
// kubernetes.io/hostname label (a fake node) is its own hostname domain.

import { Labels, type Pod } from "../../api/types.js";
import type { NodeInfo } from "../types.js";

export function topologyValue(node: NodeInfo, key: string): string | undefined {
  const v = node.node.metadata.labels?.[key];
  if (v !== undefined) return v;
  return key === Labels.hostname ? node.name : undefined;
}

/** uid of the pod's controller owner (ReplicaSet, ...), if any. */
export function controllerUid(pod: Pod): string | undefined {
  return pod.metadata.ownerReferences?.find((o) => o.controller)?.uid;
}
