// FlowPlacer: a batch placer by min-cost flow, on the same framework
// (filters, scores) as the greedy placer.
//
// One cycle, for the batch of pending pods the scheduler hands over:
//  1. group the pods into equivalence classes (classes.ts) and run PreFilter,
//     the filters and the scores once per class, on every node;
//  2. build the network in flow units that are resource shares: a pod
//     takes its dominant share (cpu, memory or a pod slot) of the largest
//     node, times UNITS_PER_NODE; class -> node arcs carry what fits of the
//     class in what the node has free, at the weighted score the pod would
//     lose there (100 per plugin per weight, less its normalized score),
//     owner spreading as convex segments (1st, 2nd, next 2, rest); node ->
//     sink arcs carry the node's free units, priced by how full it gets
//     (NodeResourcesLeastAllocated, convex); an unscheduled arc per class,
//     costlier for larger pods (a large pod left out is the worse loss);
//  3. solve (network.ts, min-cost-flow.ts) and turn units back into pods;
//  4. verify every placement with the filters, largest pods first, each one
//     assumed by the caller before the next (onPlaced): one dimension of
//     units is not cpu and memory and pod slots at once, so what no longer
//     fits goes to the next round, on the snapshot that now counts what
//     was placed;
//  5. after the last round, what is left goes through the greedy placer,
//     which places it if it fits anywhere or gives the same FitError (the
//     same message) as the greedy scheduler would.
// A class no node passes the filters for gets its FitError from the class
// evaluation: the same plugins on the same nodes, so the same message.

import type { Logger } from "pino";
import { FitError as FitErrorClass, type FitError, type Framework } from "../framework.js";
import { GreedyPlacer, type Placement, type Placer } from "../placer.js";
import { CycleState, MAX_NODE_SCORE, type NodeInfo, type PodInfo, type Snapshot, type Status } from "../types.js";
import { groupIntoClasses, type PodClass } from "./classes.js";
import { FlowNetwork, type ClassInput, type NetworkInput, type Segment } from "./network.js";

export interface FlowPlacerOptions {
  /** Pods handed over per cycle at most (the scheduler's batch). */
  maxBatch?: number;
  /** Batches smaller than this go to the greedy placer (a single pod arriving alone). */
  minBatch?: number;
  /** Flow rounds before the greedy placer takes what is left. */
  rounds?: number;
  /** Keep the network between solves and re-solve from the last flow (default false: slower here, see the bench). */
  incremental?: boolean;
  random?: () => number;
  /** Logs each batch placed by flow (debug for small batches, info from 100 pods). */
  logger?: Logger;
}

/** What the last place() did, for benchmarks and logs. */
export interface FlowStats {
  pods: number;
  classes: number;
  rounds: number;
  vertices: number;
  arcs: number;
  augmentations: number;
  /** Dijkstra runs */
  phases: number;
  evaluateMs: number;
  buildMs: number;
  solveMs: number;
  verifyMs: number;
  placedByFlow: number;
  /** Placements the filters refused at verification (moved to the next round). */
  refused: number;
  /** Pods the greedy placer took after the last round. */
  greedyTail: number;
  unschedulable: number;
}

/** Cost of leaving one pod of the smallest size unscheduled; larger pods cost up to 11x. */
export const UNSCHEDULED_COST = 100_000;
/** Added per pod of the same owner already on the node (convex spreading). */
export const SPREAD_STEP = 50;
const SPREAD_PLUGIN = "PodTopologySpread";
const LEAST_ALLOCATED = "NodeResourcesLeastAllocated";
/** Segment sizes of a class's arcs to a node (when it spreads): the 1st pod, the 2nd, then 2, and the rest. */
const SEGMENTS = [1, 1, 2, Infinity];
/** Flow units of the largest node (see nodeSegments). */
export const UNITS_PER_NODE = 200;
/** Price steps of a node's arcs to the sink. */
const NODE_STEPS = 20;
/** Costs are divided by this (score points) before the solve. */
export const COST_QUANTUM = 10;

interface ClassPlan {
  cls: PodClass;
  /** Flow units one pod of the class takes (its dominant share of the largest node, times UNITS_PER_NODE). */
  units: number;
  state: CycleState;
  feasible: NodeInfo[];
  /** Per feasible node: cost of each pod after the first k of the class there. */
  byPlugin: Map<string, number[]>;
  fitError?: FitError;
  size: number;
}

export class FlowPlacer implements Placer {
  readonly name = "flow";
  readonly maxBatch: number;
  private readonly minBatch: number;
  private readonly rounds: number;
  private readonly greedy: GreedyPlacer;
  private readonly network: FlowNetwork;
  private readonly weights: Map<string, number>;
  private nextStart = 0;
  private readonly log: Logger | undefined;
  lastStats: FlowStats | null = null;

  constructor(
    private readonly fw: Framework,
    opts: FlowPlacerOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 10_000;
    this.minBatch = opts.minBatch ?? 2;
    this.rounds = opts.rounds ?? 4;
    this.greedy = new GreedyPlacer(fw, opts.random);
    // Fresh by default: bench/results/placement.md measured the incremental network slower
    // here (placed pods leave it, so little of the last flow survives, and dead arcs pile up).
    this.network = new FlowNetwork(opts.incremental ?? false);
    this.log = opts.logger?.child({ component: "flow-placer" });
    this.weights = new Map(fw.profile.score.map((s) => [s.plugin.name, s.weight]));
  }

  place(pods: PodInfo[], snapshot: Snapshot, onPlaced: (p: Placement) => void): void {
    const stats: FlowStats = {
      pods: pods.length,
      classes: 0,
      rounds: 0,
      vertices: 0,
      arcs: 0,
      augmentations: 0,
      phases: 0,
      evaluateMs: 0,
      buildMs: 0,
      solveMs: 0,
      verifyMs: 0,
      placedByFlow: 0,
      refused: 0,
      greedyTail: 0,
      unschedulable: 0,
    };
    this.lastStats = stats;
    const report = (p: Placement) => {
      if (p.node === null) stats.unschedulable++;
      onPlaced(p);
    };
    if (pods.length < this.minBatch || snapshot.nodes.length === 0) {
      this.greedy.place(pods, snapshot, report);
      return;
    }
    let pending = pods;
    for (let round = 0; round < this.rounds && pending.length > 0; round++) {
      stats.rounds++;
      pending = this.round(pending, snapshot, report, stats);
    }
    stats.greedyTail = pending.length;
    // Largest first here too: a large pod left for last finds no room the small ones left whole.
    const bySize = (p: PodInfo) => p.requests.milliCPU / 1000 + p.requests.memory / 2 ** 30;
    this.greedy.place([...pending].sort((a, b) => bySize(b) - bySize(a)), snapshot, report);
    if (this.log) {
      const ms = (x: number) => Math.round(x * 10) / 10;
      const fields = { ...stats, evaluateMs: ms(stats.evaluateMs), buildMs: ms(stats.buildMs), solveMs: ms(stats.solveMs), verifyMs: ms(stats.verifyMs) };
      if (pods.length >= 100) this.log.info(fields, "flow placement");
      else this.log.debug(fields, "flow placement");
    }
  }

  /** One solve over `pods`; returns the pods it could not place. */
  private round(pods: PodInfo[], snapshot: Snapshot, onPlaced: (p: Placement) => void, stats: FlowStats): PodInfo[] {
    const t0 = performance.now();
    const classes = groupIntoClasses(pods);
    stats.classes = Math.max(stats.classes, classes.length);
    const max: Dims = { milliCPU: 1, memory: 1, pods: 1 };
    for (const n of snapshot.nodes) {
      max.milliCPU = Math.max(max.milliCPU, n.allocatable.milliCPU);
      max.memory = Math.max(max.memory, n.allocatable.memory);
      max.pods = Math.max(max.pods, n.allocatable.pods);
    }
    const plans: ClassPlan[] = [];
    for (const cls of classes) {
      const r = evaluateClass(this.fw, cls.rep, snapshot);
      const r0 = cls.rep.requests;
      const size = Math.max(r0.milliCPU / max.milliCPU, r0.memory / max.memory, 1 / max.pods);
      const units = Math.max(1, Math.ceil(size * UNITS_PER_NODE - 1e-9));
      if (r.fitError) {
        for (const pod of cls.pods) onPlaced({ pod, node: null, fitError: r.fitError });
        continue;
      }
      plans.push({ cls, units, state: r.state, feasible: r.feasible, byPlugin: r.byPlugin, size });
    }
    const input: NetworkInput = { classes: plans.map((p) => this.classInput(p)), nodes: new Map() };
    // Node price steps in multiples of the smallest pod's units: with every capacity a
    // multiple of it, a batch of one size never splits a pod across nodes.
    const minUnits = plans.reduce((m, p) => Math.min(m, p.units), Infinity);
    for (const n of snapshot.nodes) input.nodes.set(n.name, this.nodeSegments(n, max, Number.isFinite(minUnits) ? minUnits : 1));
    const t1 = performance.now();
    stats.evaluateMs += t1 - t0;
    const d = this.network.solve(input);
    stats.buildMs += d.buildMs;
    stats.solveMs += d.solveMs;
    stats.vertices = d.vertices;
    stats.arcs = d.arcs;
    stats.augmentations += d.result.augmentations;
    stats.phases += d.phases;

    // Verify, largest pods first: they are the ones the small would strand.
    const t2 = performance.now();
    const left: PodInfo[] = [];
    plans.sort((a, b) => b.size - a.size);
    for (const plan of plans) {
      const { cls } = plan;
      const placed = d.placed.get(cls.key) ?? new Map<string, number>();
      let i = 0;
      for (const [nodeName, count] of podsPerNode(placed, plan.units)) {
        const node = snapshot.get(nodeName);
        for (let k = 0; k < count && i < cls.pods.length; k++) {
          const pod = cls.pods[i++]!;
          if (node && this.fits(plan, pod, node, snapshot)) {
            stats.placedByFlow++;
            onPlaced({ pod, node: nodeName });
          } else {
            stats.refused++;
            left.push(pod);
          }
        }
      }
      // Routed to the unscheduled arc (or to nodes left out of the network): another round, then greedy.
      for (; i < cls.pods.length; i++) left.push(cls.pods[i]!);
    }
    stats.verifyMs += performance.now() - t2;
    return left;
  }

  private fits(plan: ClassPlan, pod: PodInfo, node: NodeInfo, snapshot: Snapshot): boolean {
    if (!plan.cls.sensitive) return this.fw.runFilters(plan.state, pod, node).code === "Success";
    // Its verdict depends on pods placed since the class was evaluated: PreFilter again.
    const state = new CycleState();
    if (this.fw.runPreFilter(state, pod, snapshot).code !== "Success") return false;
    return this.fw.runFilters(state, pod, node).code === "Success";
  }

  /** How many pods of the class fit in what the node has free (pods, cpu, memory). */
  private countCapacity(cls: PodClass, node: NodeInfo): number {
    const a = node.allocatable;
    const u = node.requested;
    const r = cls.rep.requests;
    let cap = a.pods - u.pods;
    if (r.milliCPU > 0) cap = Math.min(cap, Math.floor((a.milliCPU - u.milliCPU) / r.milliCPU));
    if (r.memory > 0) cap = Math.min(cap, Math.floor((a.memory - u.memory) / r.memory));
    cap = Math.min(cap, cls.pods.length);
    if (cls.sensitive) cap = Math.min(cap, 1);
    return Math.max(0, cap);
  }

  private classInput(plan: ClassPlan): ClassInput {
    const { cls, feasible, byPlugin, units } = plan;
    const count = cls.pods.length;
    const spreads = byPlugin.has(SPREAD_PLUGIN) && !!cls.rep.ownerUid && !cls.rep.pod.spec.topologySpreadConstraints?.length;
    const spreadWeight = spreads ? (this.weights.get(SPREAD_PLUGIN) ?? 0) : 0;
    // Cost of the first pod on each node: what it loses against a perfect score, less the
    // two parts recomputed per k below.
    const base = new Array<number>(feasible.length).fill(0);
    for (const [name, scores] of byPlugin) {
      // Least allocated is priced on the node's arcs to the sink, spreading per k below.
      if (name === LEAST_ALLOCATED || (name === SPREAD_PLUGIN && spreads)) continue;
      const w = this.weights.get(name) ?? 0;
      for (let i = 0; i < feasible.length; i++) base[i]! += w * (MAX_NODE_SCORE - Math.max(0, Math.min(MAX_NODE_SCORE, scores[i]!)));
    }
    const nodes: ClassInput["nodes"] = [];
    const candidates: { i: number; cap: number; first: number }[] = [];
    for (let i = 0; i < feasible.length; i++) {
      const cap = this.countCapacity(cls, feasible[i]!);
      if (cap > 0) candidates.push({ i, cap, first: quantize(base[i]! + spreadCost(cls.rep, feasible[i]!, 0, spreadWeight)) });
    }
    // Keep the cheapest nodes with room for the class a few times over, ties in a rotating
    // order that moves on by as many nodes as each class keeps: classes of equal cost then
    // see different nodes and, together, the whole cluster.
    const n = candidates.length;
    const start = n === 0 ? 0 : this.nextStart % n;
    const order = candidates.map((c, j) => ({ c, rot: (j - start + n) % n }));
    order.sort((a, b) => a.c.first - b.c.first || a.rot - b.rot);
    let room = 0;
    const minNodes = Math.min(n, 2 * count + 16);
    for (let j = 0; j < order.length; j++) {
      if (j >= minNodes && room >= 2 * count + 8) break;
      const { i, cap } = order[j]!.c;
      room += cap;
      const node = feasible[i]!;
      // Capacities in units, costs per unit: a pod's preference weighs as much as it is large.
      const segments = spreadWeight
        ? convexSegments(cap, (k) => quantize(base[i]! + spreadCost(cls.rep, node, k, spreadWeight)))
        : [{ cap, cost: quantize(base[i]!) }];
      for (const seg of segments) seg.cap *= units;
      nodes.push({ node: node.name, segments });
    }
    this.nextStart += nodes.length;
    const unscheduledCost = Math.round((UNSCHEDULED_COST * (1 + 10 * Math.min(1, plan.size))) / COST_QUANTUM);
    return { key: cls.key, supply: count * units, unscheduledCost, nodes };
  }

  /**
   * A node's arcs to the sink, in units: what it has free of cpu, memory and
   * pod slots, whichever is scarcest, as a share of the largest node times
   * UNITS_PER_NODE (so that a 1-cpu pod takes ten times the room of a 100m
   * one: the network sees the multi-resource fit through that one
   * dimension, verification checks the real one). Priced by how full the
   * node gets, in steps of a twentieth: NodeResourcesLeastAllocated's
   * preference for emptier nodes, made convex.
   */
  private nodeSegments(node: NodeInfo, max: Dims, minUnits: number): Segment[] {
    const a = node.allocatable;
    const u = node.requested;
    const share = (free: number, m: number) => Math.max(0, free) / m;
    const total = Math.floor(Math.min(a.milliCPU / max.milliCPU, a.memory / max.memory, a.pods / max.pods) * UNITS_PER_NODE);
    const free = Math.floor(
      Math.min(share(a.milliCPU - u.milliCPU, max.milliCPU), share(a.memory - u.memory, max.memory), share(a.pods - u.pods, max.pods)) * UNITS_PER_NODE,
    );
    if (free <= 0 || total <= 0) return [];
    const w = this.weights.get(LEAST_ALLOCATED) ?? 1;
    const nzUsed = a.milliCPU > 0 && a.memory > 0 ? (node.nonZeroRequested.milliCPU / a.milliCPU + node.nonZeroRequested.memory / a.memory) / 2 : 0;
    const step = Math.max(1, Math.ceil(total / NODE_STEPS / minUnits)) * minUnits;
    const segs: Segment[] = [];
    for (let x = 0; x < free; x += step) {
      const cap = Math.min(step, free - x);
      const fill = Math.min(1, nzUsed + (x + cap) / total);
      const cost = quantize(w * MAX_NODE_SCORE * fill);
      const last = segs[segs.length - 1];
      if (last && last.cost === cost) last.cap += cap;
      else segs.push({ cap, cost });
    }
    return segs;
  }
}

/**
 * placer.ts's evaluate() on every node, with the scores split by plugin (the
 * costs need them apart) instead of summed: evaluate() followed by
 * runScoresByPlugin would score every node twice. The FitError is built as
 * evaluate() builds it (the unit tests compare the messages with greedy's).
 */
export function evaluateClass(
  fw: Framework,
  pod: PodInfo,
  snapshot: Snapshot,
): { state: CycleState; feasible: NodeInfo[]; byPlugin: Map<string, number[]>; fitError?: FitError } {
  const state = new CycleState();
  const nodes = snapshot.nodes;
  const n = nodes.length;
  if (n === 0) return { state, feasible: [], byPlugin: new Map(), fitError: new FitErrorClass(0, new Map()) };
  const pre = fw.runPreFilter(state, pod, snapshot);
  if (pre.code !== "Success") {
    const statuses = new Map<string, Status>(nodes.map((node) => [node.name, pre]));
    return { state, feasible: [], byPlugin: new Map(), fitError: new FitErrorClass(n, statuses, pre.reasons.join(", ")) };
  }
  const feasible: NodeInfo[] = [];
  const statuses = new Map<string, Status>();
  for (const node of nodes) {
    const st = fw.runFilters(state, pod, node);
    if (st.code === "Success") feasible.push(node);
    else statuses.set(node.name, st);
  }
  if (feasible.length === 0) return { state, feasible, byPlugin: new Map(), fitError: new FitErrorClass(n, statuses) };
  // With one feasible node there is nothing to rank (evaluate() skips PreScore too).
  if (feasible.length === 1) return { state, feasible, byPlugin: new Map() };
  fw.runPreScore(state, pod, feasible, snapshot);
  return { state, feasible, byPlugin: fw.runScoresByPlugin(state, pod, feasible) };
}

/**
 * Pods per node from a class's flow in units. The units of one pod may be
 * split over nodes (the relaxation: a node's price steps need not be
 * multiples of every pod's size); the class gets as many pods as its units
 * make, rounded, each node its whole pods, and the pods left over go to the
 * nodes with the largest remainders (largest remainder rounding).
 * Verification then says whether each really fits.
 */
export function podsPerNode(units: Map<string, number>, perPod: number): Map<string, number> {
  let total = 0;
  const out = new Map<string, number>();
  const rest: { node: string; r: number }[] = [];
  for (const [node, u] of units) {
    total += u;
    const whole = Math.floor(u / perPod);
    if (whole > 0) out.set(node, whole);
    rest.push({ node, r: u - whole * perPod });
  }
  let extra = Math.round(total / perPod) - [...out.values()].reduce((a, b) => a + b, 0);
  rest.sort((a, b) => b.r - a.r);
  for (const { node } of rest) {
    if (extra <= 0) break;
    out.set(node, (out.get(node) ?? 0) + 1);
    extra--;
  }
  return out;
}

/** Largest allocatable over the nodes, per dimension. */
interface Dims {
  milliCPU: number;
  memory: number;
  pods: number;
}

/** Arcs of sizes 1, 1, 2, 4, ..., the rest; each priced as its last unit, so prices grow with k (convex). */
function convexSegments(cap: number, costOf: (k: number) => number, sizes: readonly number[] = SEGMENTS): Segment[] {
  const segs: Segment[] = [];
  let k = 0;
  for (let s = 0; s < sizes.length && k < cap; s++) {
    const size = s === sizes.length - 1 ? cap - k : Math.min(sizes[s]!, cap - k);
    const cost = costOf(k + size - 1);
    // Merge equal prices: fewer arcs, same network.
    const last = segs[segs.length - 1];
    if (last && last.cost === cost) last.cap += size;
    else segs.push({ cap: size, cost });
    k += size;
  }
  return segs;
}

/** Owner spreading: each pod of the owner already on the node (or placed there before in this batch) adds SPREAD_STEP. */
function spreadCost(pod: PodInfo, node: NodeInfo, k: number, weight: number): number {
  if (!weight || !pod.ownerUid) return 0;
  const onNode = (node.ownerCounts.get(pod.ownerUid) ?? 0) + k;
  return weight * Math.min(MAX_NODE_SCORE * 20, SPREAD_STEP * onNode);
}

/** Coarser costs, fewer distinct path lengths, fewer Dijkstra phases. */
function quantize(cost: number): number {
  return Math.round(cost / COST_QUANTUM);
}

