// What a pod asks of a node: cpu, memory and a pod slot, computed as
// kube-scheduler does (sum of containers, at least the largest init
// container), plus the non-zero defaults used only for scoring.

import { toBytes, toMilli } from "../api/quantity.js";
import type { Container, Pod } from "../api/types.js";

export interface Resources {
  milliCPU: number;
  memory: number;
  pods: number;
}

/** kube-scheduler scores a container without requests as if it asked for these. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

function containerRequest(c: Container): { cpu: number; mem: number; cpuSet: boolean; memSet: boolean } {
  const req = c.resources?.requests ?? {};
  // A limit without a request means request = limit (the API's defaulting).
  const lim = c.resources?.limits ?? {};
  const cpuQ = req.cpu ?? lim.cpu;
  const memQ = req.memory ?? lim.memory;
  return {
    cpu: cpuQ === undefined ? 0 : safe(() => toMilli(cpuQ)),
    mem: memQ === undefined ? 0 : safe(() => toBytes(memQ)),
    cpuSet: cpuQ !== undefined,
    memSet: memQ !== undefined,
  };
}

function safe(f: () => number): number {
  try {
    return f();
  } catch {
    return 0;
  }
}

export function podRequests(pod: Pod): { requests: Resources; nonZero: Resources } {
  let cpu = 0;
  let mem = 0;
  let nzCpu = 0;
  let nzMem = 0;
  for (const c of pod.spec.containers ?? []) {
    const r = containerRequest(c);
    cpu += r.cpu;
    mem += r.mem;
    nzCpu += r.cpuSet ? r.cpu : DEFAULT_MILLI_CPU_REQUEST;
    nzMem += r.memSet ? r.mem : DEFAULT_MEMORY_REQUEST;
  }
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequest(c);
    cpu = Math.max(cpu, r.cpu);
    mem = Math.max(mem, r.mem);
    nzCpu = Math.max(nzCpu, r.cpu);
    nzMem = Math.max(nzMem, r.mem);
  }
  return {
    requests: { milliCPU: cpu, memory: mem, pods: 1 },
    nonZero: { milliCPU: nzCpu, memory: nzMem, pods: 1 },
  };
}
