// NodeResourcesFit (filter: requests fit allocatable minus what bound and
// assumed pods request), NodeResourcesLeastAllocated and
// NodeResourcesBalancedAllocation (scores, on the non-zero requests).

import type { FilterPlugin, ScorePlugin } from "../framework.js";
import { MAX_NODE_SCORE, success, unschedulable, type CycleState, type NodeInfo, type PodInfo, type Status } from "../types.js";

export const ERR_TOO_MANY_PODS = "Too many pods";
export const ERR_INSUFFICIENT_CPU = "Insufficient cpu";
export const ERR_INSUFFICIENT_MEMORY = "Insufficient memory";

/** Every resource the node lacks for the pod, in kube-scheduler's words (empty when it fits). */
export function insufficientResources(pod: PodInfo, node: NodeInfo): string[] {
  const out: string[] = [];
  const a = node.allocatable;
  const used = node.requested;
  const req = pod.requests;
  if (used.pods + 1 > a.pods) out.push(ERR_TOO_MANY_PODS);
  if (req.milliCPU > 0 && req.milliCPU > a.milliCPU - used.milliCPU) out.push(ERR_INSUFFICIENT_CPU);
  if (req.memory > 0 && req.memory > a.memory - used.memory) out.push(ERR_INSUFFICIENT_MEMORY);
  return out;
}

export const NodeResourcesFit: FilterPlugin = {
  name: "NodeResourcesFit",
  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const missing = insufficientResources(pod, node);
    return missing.length === 0 ? success : unschedulable(...missing);
  },
};

function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return ((capacity - requested) * MAX_NODE_SCORE) / capacity;
}

export const NodeResourcesLeastAllocated: ScorePlugin = {
  name: "NodeResourcesLeastAllocated",
  score(_s: CycleState, pod: PodInfo, node: NodeInfo): number {
    const cpu = leastRequested(node.nonZeroRequested.milliCPU + pod.nonZero.milliCPU, node.allocatable.milliCPU);
    const mem = leastRequested(node.nonZeroRequested.memory + pod.nonZero.memory, node.allocatable.memory);
    return Math.floor((cpu + mem) / 2);
  },
};

export const NodeResourcesBalancedAllocation: ScorePlugin = {
  name: "NodeResourcesBalancedAllocation",
  score(_s: CycleState, pod: PodInfo, node: NodeInfo): number {
    const a = node.allocatable;
    if (a.milliCPU === 0 || a.memory === 0) return 0;
    const cpu = Math.min(1, (node.nonZeroRequested.milliCPU + pod.nonZero.milliCPU) / a.milliCPU);
    const mem = Math.min(1, (node.nonZeroRequested.memory + pod.nonZero.memory) / a.memory);
    // Standard deviation of the two fractions: 0 when perfectly balanced.
    const std = Math.abs(cpu - mem) / 2;
    return Math.floor((1 - std) * MAX_NODE_SCORE);
  },
};
