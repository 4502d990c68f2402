// The placement traces of issue 12 and the in-process harness that runs a
// placer on them: nodes in a SchedulerCache (the scheduler's own cache), pods
// handed over in batches as the scheduler loop would, each decision assumed
// before the next (onPlaced), and the figures of the comparison.
// Used by bench/placement/run.ts and by the flow placer's unit tests.

import type { Node, Pod } from "../../src/api/types.js";
import { SchedulerCache } from "../../src/scheduler/cache.js";
import type { Placer } from "../../src/scheduler/placer.js";
import { NodeResourcesBalancedAllocation, NodeResourcesLeastAllocated } from "../../src/scheduler/plugins/index.js";
import { CycleState, newPodInfo, type PodInfo } from "../../src/scheduler/types.js";

export interface NodeSpec {
  name: string;
  cpu: string;
  memory: string;
  pods?: number;
  labels?: Record<string, string>;
}

export function makeNode(s: NodeSpec): Node {
  return {
    metadata: { name: s.name, labels: { "kubernetes.io/hostname": s.name, ...(s.labels ?? {}) } },
    spec: {},
    status: { allocatable: { cpu: s.cpu, memory: s.memory, pods: String(s.pods ?? 110) }, conditions: [{ type: "Ready", status: "True" }] },
  };
}

export interface PodSpecLite {
  name: string;
  cpu: string;
  memory: string;
  owner?: string;
  extra?: Partial<Pod["spec"]>;
}

export function makePod(s: PodSpecLite): Pod {
  return {
    metadata: {
      name: s.name,
      namespace: "default",
      uid: `uid-${s.name}`,
      labels: s.owner ? { app: s.owner } : { pod: s.name },
      ...(s.owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: s.owner, uid: `uid-${s.owner}`, controller: true }] } : {}),
    },
    spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu: s.cpu, memory: s.memory } } }], ...(s.extra ?? {}) },
  };
}

/** A trace: nodes, then batches of pods to place (and, for churn, changes between batches). */
export interface Trace {
  name: string;
  nodes: Node[];
  batches: Batch[];
  /** Pod sizes (cpu millicores, memory bytes) the fragmentation figure asks about. */
  sizes: { milliCPU: number; memory: number }[];
}

export interface Batch {
  pods: Pod[];
  /** Before the batch: pods deleted (by name), nodes removed (their pods come back pending), nodes added. */
  deletePods?: string[];
  removeNodes?: string[];
  addNodes?: Node[];
}

const Mi = 2 ** 20;

/** Deterministic [0, 1). */
export function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const SIZES = [
  { cpu: "100m", mem: "128Mi", milliCPU: 100, memory: 128 * Mi },
  { cpu: "250m", mem: "256Mi", milliCPU: 250, memory: 256 * Mi },
  { cpu: "500m", mem: "1Gi", milliCPU: 500, memory: 1024 * Mi },
  { cpu: "1", mem: "2Gi", milliCPU: 1000, memory: 2048 * Mi },
];

/** 100m half the time, 250m 30%, 500m 15%, 1 cpu 5%: 250m on average. */
function pickSize(x: number): (typeof SIZES)[number] {
  return SIZES[x < 0.5 ? 0 : x < 0.8 ? 1 : x < 0.95 ? 2 : 3]!;
}

function nodes(n: number, cpu = "4", memory = "16Gi", prefix = "hollow"): Node[] {
  return Array.from({ length: n }, (_, i) => makeNode({ name: `${prefix}-${String(i).padStart(4, "0")}`, cpu, memory, labels: { zone: `z${i % 4}` } }));
}

/** 10,000 pods of mixed sizes in deployments of 100 on 1,000 nodes (4 cpu, 16Gi): about 62% of the cpu. */
export function burstTrace(nodeCount = 1000, podCount = 10_000, perOwner = 100, seed = 1): Trace {
  const rnd = lcg(seed);
  const pods: Pod[] = [];
  let size = SIZES[0]!;
  for (let i = 0; i < podCount; i++) {
    if (i % perOwner === 0) size = pickSize(rnd());
    pods.push(makePod({ name: `p-${i}`, cpu: size.cpu, memory: size.mem, owner: `rs-${Math.floor(i / perOwner)}` }));
  }
  return { name: "burst", nodes: nodes(nodeCount), batches: [{ pods }], sizes: SIZES };
}

/**
 * Exactly full: small pods (1 cpu) first, then whole-node pods (4 cpu). Greedy
 * spreads the small ones two per node and strands every large one.
 */
export function tightTrace(nodeCount = 100): Trace {
  const pods: Pod[] = [];
  const small = nodeCount * 2;
  const large = nodeCount / 2;
  for (let i = 0; i < small; i++) pods.push(makePod({ name: `small-${i}`, cpu: "1", memory: "1Gi", owner: `small-${Math.floor(i / 20)}` }));
  for (let i = 0; i < large; i++) pods.push(makePod({ name: `large-${i}`, cpu: "4", memory: "4Gi", owner: "large" }));
  return {
    name: "tight",
    nodes: nodes(nodeCount, "4", "8Gi"),
    batches: [{ pods }],
    sizes: [
      { milliCPU: 1000, memory: 1024 * Mi },
      { milliCPU: 4000, memory: 4096 * Mi },
    ],
  };
}

/** Deployments on a cluster where half the nodes already carry load: spread is what the score must keep. */
export function spreadTrace(nodeCount = 200, owners = 40, replicas = 50, seed = 3): Trace {
  const rnd = lcg(seed);
  const warm: Pod[] = [];
  for (let i = 0; i < nodeCount * 2; i++) warm.push(makePod({ name: `warm-${i}`, cpu: "250m", memory: "256Mi", owner: `warm-${i % 7}` }));
  const pods: Pod[] = [];
  for (let o = 0; o < owners; o++) {
    const s = SIZES[Math.floor(rnd() * 3)]!;
    for (let r = 0; r < replicas; r++) pods.push(makePod({ name: `d${o}-${r}`, cpu: s.cpu, memory: s.mem, owner: `deploy-${o}` }));
  }
  return { name: "spread", nodes: nodes(nodeCount), batches: [{ pods: warm }, { pods }], sizes: SIZES };
}

/** Deployments scaled up and down while nodes come and go, one batch per step. */
export function churnTrace(nodeCount = 300, steps = 20, seed = 4): Trace {
  const rnd = lcg(seed);
  const live = new Map<string, string[]>(); // owner -> pod names
  const sizeOf = new Map<string, (typeof SIZES)[number]>();
  const batches: Batch[] = [];
  let serial = 0;
  let nodeSerial = nodeCount;
  const nodeNames = nodes(nodeCount).map((n) => n.metadata.name!);
  for (let step = 0; step < steps; step++) {
    const b: Batch = { pods: [], deletePods: [], removeNodes: [], addNodes: [] };
    // Scale a few deployments up...
    for (let k = 0; k < 4; k++) {
      const owner = `churn-${Math.floor(rnd() * 30)}`;
      // One size per owner, drawn at its first scale-up.
      const s = sizeOf.get(owner) ?? pickSize(rnd());
      sizeOf.set(owner, s);
      const names = live.get(owner) ?? [];
      const add = 5 + Math.floor(rnd() * 30);
      for (let i = 0; i < add; i++) {
        const name = `${owner}-${serial++}`;
        b.pods.push(makePod({ name, cpu: s.cpu, memory: s.mem, owner }));
        names.push(name);
      }
      live.set(owner, names);
    }
    // ...and a few down.
    for (let k = 0; k < 3; k++) {
      const owner = `churn-${Math.floor(rnd() * 30)}`;
      const names = live.get(owner) ?? [];
      const drop = Math.floor(names.length / 2);
      b.deletePods!.push(...names.splice(0, drop));
    }
    if (step > 0 && step % 3 === 0) {
      const victim = nodeNames.splice(Math.floor(rnd() * nodeNames.length), 1)[0]!;
      b.removeNodes!.push(victim);
      const added = makeNode({ name: `hollow-new-${nodeSerial++}`, cpu: "4", memory: "16Gi", labels: { zone: "z0" } });
      b.addNodes!.push(added);
      nodeNames.push(added.metadata.name!);
    }
    batches.push(b);
  }
  return { name: "churn", nodes: nodes(nodeCount), batches, sizes: SIZES };
}

export interface RunResult {
  placer: string;
  trace: string;
  pods: number;
  placed: number;
  pending: number;
  /** Pending pods for which the cluster has room in total (cpu, memory and a pod slot summed over nodes). */
  pendingWithCapacity: number;
  /** Mean over nodes of the largest trace size that still fits there (millicores). */
  largestFitMeanMilli: number;
  /** Nodes where the trace's largest size still fits. */
  nodesFittingLargest: number;
  /** Mean over owners of the most pods of the owner on one node. */
  spreadMaxPerNodeMean: number;
  /** Most pods of one owner on one node, over all owners. */
  spreadMaxPerNode: number;
  /** Sum over placed pods of LeastAllocated + BalancedAllocation on their node, taken just before each placement. */
  totalScore: number;
  /** Time in place() summed over the batches (ms). */
  placeMs: number;
  placeMsPerBatch: number[];
  reasons: Map<string, string>;
}

/** Runs `placer` on `trace`; each batch is handed over in chunks of at most placer.maxBatch, as the scheduler loop does. */
export function runTrace(trace: Trace, placer: Placer): RunResult & { cache: SchedulerCache } {
  const cache = new SchedulerCache();
  for (const n of trace.nodes) cache.upsertNode(n);
  const where = new Map<string, string>(); // pod key -> node
  const infos = new Map<string, PodInfo>();
  let pendingPods: PodInfo[] = [];
  const reasons = new Map<string, string>();
  let totalScore = 0;
  let placeMs = 0;
  const perBatch: number[] = [];
  const max = placer.maxBatch ?? 1;
  for (const b of trace.batches) {
    for (const name of b.deletePods ?? []) {
      const key = `default/${name}`;
      cache.removePod(key);
      where.delete(key);
      infos.delete(key);
      pendingPods = pendingPods.filter((p) => p.key !== key);
    }
    for (const n of b.removeNodes ?? []) {
      const ni = cache.nodeInfo(n);
      const evicted = ni ? [...ni.pods.values()] : [];
      for (const pi of evicted) {
        cache.removePod(pi.key);
        where.delete(pi.key);
        pendingPods.push(newPodInfo(infos.get(pi.key)!.pod));
      }
      cache.removeNode(n);
    }
    for (const n of b.addNodes ?? []) cache.upsertNode(n);
    const fresh = b.pods.map((p) => newPodInfo(p));
    for (const pi of fresh) infos.set(pi.key, pi);
    const queue = [...pendingPods, ...fresh];
    pendingPods = [];
    let ms = 0;
    for (let i = 0; i < queue.length; i += max) {
      const chunk = queue.slice(i, i + max);
      const snapshot = cache.snapshot();
      let scoreMs = 0;
      const t0 = performance.now();
      placer.place(chunk, snapshot, (p) => {
        if (p.node === null) {
          pendingPods.push(p.pod);
          reasons.set(p.pod.key, p.fitError?.message ?? "");
          return;
        }
        const s0 = performance.now();
        const ni = snapshot.get(p.node)!;
        const st = new CycleState();
        totalScore += NodeResourcesLeastAllocated.score(st, p.pod, ni) + NodeResourcesBalancedAllocation.score(st, p.pod, ni);
        scoreMs += performance.now() - s0;
        cache.assume(p.pod, p.node);
        where.set(p.pod.key, p.node);
        reasons.delete(p.pod.key);
      });
      ms += performance.now() - t0 - scoreMs;
    }
    perBatch.push(ms);
    placeMs += ms;
  }
  const snapshot = cache.snapshot();
  let freeCpu = 0;
  let freeMem = 0;
  let freeSlots = 0;
  let fitSum = 0;
  let fitLargest = 0;
  const largest = trace.sizes.reduce((a, b) => (b.milliCPU > a.milliCPU ? b : a));
  const perOwner = new Map<string, number>();
  for (const ni of snapshot.nodes) {
    const c = ni.allocatable.milliCPU - ni.requested.milliCPU;
    const m = ni.allocatable.memory - ni.requested.memory;
    const s = ni.allocatable.pods - ni.requested.pods;
    freeCpu += c;
    freeMem += m;
    freeSlots += s;
    let best = 0;
    for (const z of trace.sizes) if (s > 0 && z.milliCPU <= c && z.memory <= m) best = Math.max(best, z.milliCPU);
    fitSum += best;
    if (s > 0 && largest.milliCPU <= c && largest.memory <= m) fitLargest++;
    for (const [owner, n] of ni.ownerCounts) perOwner.set(owner, Math.max(perOwner.get(owner) ?? 0, n));
  }
  let pendingWithCapacity = 0;
  for (const p of pendingPods) if (p.requests.milliCPU <= freeCpu && p.requests.memory <= freeMem && freeSlots > 0) pendingWithCapacity++;
  const maxima = [...perOwner.values()];
  return {
    placer: placer.name,
    trace: trace.name,
    pods: infos.size,
    placed: where.size,
    pending: pendingPods.length,
    pendingWithCapacity,
    largestFitMeanMilli: Math.round(fitSum / Math.max(1, snapshot.nodes.length)),
    nodesFittingLargest: fitLargest,
    spreadMaxPerNodeMean: Number((maxima.reduce((a, b) => a + b, 0) / Math.max(1, maxima.length)).toFixed(2)),
    spreadMaxPerNode: Math.max(0, ...maxima),
    totalScore: Math.round(totalScore),
    placeMs: Number(placeMs.toFixed(1)),
    placeMsPerBatch: perBatch.map((x) => Number(x.toFixed(1))),
    reasons,
    cache,
  };
}
