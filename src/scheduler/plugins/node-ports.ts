// NodePorts: a hostPort already taken on the node (same protocol and port,
// and the same hostIP or either one the wildcard) rejects the node.

import type { FilterPlugin, PreFilterPlugin } from "../framework.js";
import { skip, success, unschedulable, type CycleState, type HostPort, type NodeInfo, type PodInfo, type Status } from "../types.js";

export const ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

function conflicts(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.ip === b.ip || a.ip === "0.0.0.0" || b.ip === "0.0.0.0";
}

export const NodePorts: PreFilterPlugin & FilterPlugin = {
  name: "NodePorts",
  preFilter(_s: CycleState, pod: PodInfo): Status {
    return pod.hostPorts.length === 0 ? skip : success;
  },
  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status {
    for (const other of node.pods.values()) {
      for (const used of other.hostPorts) {
        for (const want of pod.hostPorts) if (conflicts(want, used)) return unschedulable(ERR_NODE_PORTS);
      }
    }
    return success;
  },
};
