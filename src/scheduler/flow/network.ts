// The placement network and its decoding (Quincy/Firmament in small):
//
//   class (supply = its pending pods) --segments--> node --segments--> sink
//   class --unscheduled (cap = its pods, high cost)--------------------------> sink
//
// A class reaches a node through parallel "segment" arcs of increasing cost
// (the k-th pod of a class on a node costs more than the first: convex
// costs for spreading), each with a capacity; a node reaches the sink the
// same way (the node filling up, whatever the class: least allocated).
// The optimal flow is the best joint placement of the batch under these
// costs; what goes through the unscheduled arc stays pending.
//
// Incremental mode keeps one MinCostFlow between solves: vertices and arcs
// are found again by key, supplies, capacities and costs updated, arcs no
// longer wanted set to capacity 0, and the solver repairs the previous flow
// instead of starting from nothing (Firmament's incremental re-solve).

import { MinCostFlow, type ArcId, type SolveResult } from "./min-cost-flow.js";

export interface Segment {
  cap: number;
  cost: number;
}

export interface ClassInput {
  /** Stable across solves for the same class of pods. */
  key: string;
  supply: number;
  unscheduledCost: number;
  /** Nodes the class may go to, each with its segments (costs non-decreasing). */
  nodes: { node: string; segments: Segment[] }[];
}

export interface NetworkInput {
  classes: ClassInput[];
  /** Per node, its arcs to the sink: segments of increasing cost (nodes not listed take nothing). */
  nodes: Map<string, Segment[]>;
}

export interface Decoded {
  /** class key -> (node -> pods of the class placed there) */
  placed: Map<string, Map<string, number>>;
  /** class key -> pods left on the unscheduled arc */
  unscheduled: Map<string, number>;
  result: SolveResult;
  /** Dijkstra runs of the solve */
  phases: number;
  vertices: number;
  arcs: number;
  solveMs: number;
  buildMs: number;
}

export class FlowNetwork {
  private mcf!: MinCostFlow;
  private sink = 0;
  private classIds = new Map<string, number>();
  private classVertex: number[] = [];
  private nodeVertex = new Map<string, number>();
  private arcs = new Map<string, ArcId>();
  /** Arcs given a capacity in the last solve. */
  private live: ArcId[] = [];
  private liveClasses: number[] = [];

  constructor(readonly incremental = true) {
    this.reset();
  }

  private reset(): void {
    this.mcf = new MinCostFlow();
    this.sink = this.mcf.addNode(0);
    this.classIds.clear();
    this.classVertex = [];
    this.nodeVertex.clear();
    this.arcs.clear();
    this.live = [];
    this.liveClasses = [];
  }

  private classVertexOf(key: string): { id: number; v: number } {
    let id = this.classIds.get(key);
    if (id === undefined) {
      id = this.classIds.size;
      this.classIds.set(key, id);
      this.classVertex.push(this.mcf.addNode(0));
    }
    return { id, v: this.classVertex[id]! };
  }

  private nodeVertexOf(name: string): number {
    let v = this.nodeVertex.get(name);
    if (v === undefined) {
      v = this.mcf.addNode(0);
      this.nodeVertex.set(name, v);
    }
    return v;
  }

  private arc(key: () => string, from: number, to: number, cap: number, cost: number): ArcId {
    // A fresh network never looks an arc up again: no key to keep.
    if (!this.incremental) return this.mcf.addArc(from, to, cap, cost);
    const k = key();
    let a = this.arcs.get(k);
    if (a === undefined) {
      a = this.mcf.addArc(from, to, cap, cost);
      this.arcs.set(k, a);
    } else {
      this.mcf.setCapacity(a, cap);
      this.mcf.setCost(a, cost);
    }
    this.live.push(a);
    return a;
  }

  solve(input: NetworkInput): Decoded {
    const t0 = performance.now();
    const wanted = input.classes.reduce((n, c) => n + c.nodes.reduce((m, x) => m + x.segments.length, 1), 0) + 6 * input.nodes.size;
    // Dead arcs cost every Dijkstra: start over once they dominate.
    if (!this.incremental || this.mcf.arcCount > 4 * wanted + 10_000) this.reset();
    const previous = this.live;
    const previousClasses = this.liveClasses;
    this.live = [];
    this.liveClasses = [];
    const mcf = this.mcf;
    let total = 0;
    const classArcs: { key: string; unscheduled: ArcId; arcs: { node: string; arc: ArcId }[] }[] = [];
    const usedNodes = new Set<string>();
    for (const c of input.classes) {
      const { id, v } = this.classVertexOf(c.key);
      mcf.setSupply(v, c.supply);
      this.liveClasses.push(v);
      total += c.supply;
      const unscheduled = this.arc(() => `u${id}`, v, this.sink, c.supply, c.unscheduledCost);
      const arcs: { node: string; arc: ArcId }[] = [];
      for (const { node, segments } of c.nodes) {
        const nv = this.nodeVertexOf(node);
        usedNodes.add(node);
        segments.forEach((s, i) => arcs.push({ node, arc: this.arc(() => `c${id}:${nv}:${i}`, v, nv, s.cap, s.cost) }));
      }
      classArcs.push({ key: c.key, unscheduled, arcs });
    }
    for (const node of usedNodes) {
      const nv = this.nodeVertexOf(node);
      (input.nodes.get(node) ?? []).forEach((s, i) => this.arc(() => `n${nv}:${i}`, nv, this.sink, s.cap, s.cost));
    }
    mcf.setSupply(this.sink, -total);
    // Whatever the last solve used and this one does not want: capacity 0, supply 0.
    const liveNow = new Set(this.live);
    for (const a of previous) if (!liveNow.has(a)) mcf.setCapacity(a, 0);
    const classesNow = new Set(this.liveClasses);
    for (const v of previousClasses) if (!classesNow.has(v)) mcf.setSupply(v, 0);
    const t1 = performance.now();
    const result = mcf.solve();
    const t2 = performance.now();
    const placed = new Map<string, Map<string, number>>();
    const unscheduled = new Map<string, number>();
    for (const c of classArcs) {
      const m = new Map<string, number>();
      for (const { node, arc } of c.arcs) {
        const f = mcf.flow(arc);
        if (f > 0) m.set(node, (m.get(node) ?? 0) + f);
      }
      placed.set(c.key, m);
      unscheduled.set(c.key, mcf.flow(c.unscheduled));
    }
    return { placed, unscheduled, result, phases: mcf.lastPhases, vertices: mcf.nodeCount, arcs: mcf.arcCount, solveMs: t2 - t1, buildMs: t1 - t0 };
  }
}
