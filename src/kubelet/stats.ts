// /stats/summary (the kubelet's Summary API, in the subset the metrics
// pipeline reads): per container cpu usageNanoCores and memory
// workingSetBytes, summed per pod and per node. A rate needs two samples:
// the previous scrape's sample when recent, else two samples a moment apart.

import type { ContainerRuntime, ContainerStats, RuntimeContainer } from "./runtime.js";

export interface CpuStats {
  time: string;
  usageNanoCores: number;
  usageCoreNanoSeconds: number;
}

export interface MemoryStats {
  time: string;
  workingSetBytes: number;
  usageBytes: number;
}

export interface ContainerSummary {
  name: string;
  startTime: string;
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface PodSummary {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerSummary[];
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface Summary {
  node: { nodeName: string; startTime: string; cpu: CpuStats; memory: MemoryStats };
  pods: PodSummary[];
}

const MAX_SAMPLE_AGE_MS = 60_000;
const SECOND_SAMPLE_DELAY_MS = 500;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The cpu rate between two samples, in nanocores. Pure. */
export function cpuRate(prev: ContainerStats, cur: ContainerStats): number {
  const dt = (cur.timestamp - prev.timestamp) / 1000;
  const dcpu = cur.cpuUsageCoreNanoSeconds - prev.cpuUsageCoreNanoSeconds;
  if (dt <= 0 || dcpu < 0) return 0;
  return Math.round(dcpu / dt);
}

export class StatsCollector {
  private readonly last = new Map<string, ContainerStats>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly nodeName: string,
    private readonly startTime: string,
  ) {}

  async summary(containers: RuntimeContainer[]): Promise<Summary> {
    const running = containers.filter((c) => c.state === "running" && c.kind !== "sandbox");
    const sample = async () => new Map((await Promise.all(running.map(async (c) => [c.id, await this.runtime.stats(c.id)] as const))).filter((e): e is [string, ContainerStats] => e[1] !== null));
    let cur = await sample();
    const now = Date.now();
    const needsSecond = [...cur.keys()].some((id) => {
      const p = this.last.get(id);
      return !p || now - p.timestamp > MAX_SAMPLE_AGE_MS;
    });
    if (needsSecond) {
      for (const [id, s] of cur) if (!this.last.has(id) || now - this.last.get(id)!.timestamp > MAX_SAMPLE_AGE_MS) this.last.set(id, s);
      await new Promise((r) => setTimeout(r, SECOND_SAMPLE_DELAY_MS));
      cur = await sample();
    }
    const pods = new Map<string, PodSummary>();
    let nodeCpu = 0;
    let nodeCpuTotal = 0;
    let nodeMem = 0;
    const t = iso(Date.now());
    for (const c of running) {
      const s = cur.get(c.id);
      if (!s) continue;
      const prev = this.last.get(c.id);
      const rate = prev ? cpuRate(prev, s) : 0;
      this.last.set(c.id, s);
      let pod = pods.get(c.podUid);
      if (!pod) {
        pod = {
          podRef: { name: c.podName, namespace: c.podNamespace, uid: c.podUid },
          startTime: c.startedAt ?? t,
          containers: [],
          cpu: { time: t, usageNanoCores: 0, usageCoreNanoSeconds: 0 },
          memory: { time: t, workingSetBytes: 0, usageBytes: 0 },
        };
        pods.set(c.podUid, pod);
      }
      pod.containers.push({
        name: c.name,
        startTime: c.startedAt ?? t,
        cpu: { time: t, usageNanoCores: rate, usageCoreNanoSeconds: s.cpuUsageCoreNanoSeconds },
        memory: { time: t, workingSetBytes: s.memoryWorkingSetBytes, usageBytes: s.memoryWorkingSetBytes },
      });
      pod.cpu.usageNanoCores += rate;
      pod.cpu.usageCoreNanoSeconds += s.cpuUsageCoreNanoSeconds;
      pod.memory.workingSetBytes += s.memoryWorkingSetBytes;
      pod.memory.usageBytes += s.memoryWorkingSetBytes;
      nodeCpu += rate;
      nodeCpuTotal += s.cpuUsageCoreNanoSeconds;
      nodeMem += s.memoryWorkingSetBytes;
    }
    const alive = new Set(running.map((c) => c.id));
    for (const id of this.last.keys()) if (!alive.has(id)) this.last.delete(id);
    return {
      node: {
        nodeName: this.nodeName,
        startTime: this.startTime,
        cpu: { time: t, usageNanoCores: nodeCpu, usageCoreNanoSeconds: nodeCpuTotal },
        memory: { time: t, workingSetBytes: nodeMem, usageBytes: nodeMem },
      },
      pods: [...pods.values()],
    };
  }
}
