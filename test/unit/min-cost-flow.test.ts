// The min-cost flow solver against an independent reference (Bellman-Ford
// successive shortest paths through a super source and sink) on thousands
// of random networks, against brute force on small assignment problems, and
// in incremental mode against solving the changed network from scratch.

import { describe, expect, it } from "vitest";
import { FlowError, MinCostFlow } from "../../src/scheduler/flow/min-cost-flow.js";
import { prng } from "../lib/prng.js";

/** Seeded integers in [0, n). */
class Prng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

interface Net {
  n: number;
  supply: number[];
  arcs: { from: number; to: number; cap: number; cost: number }[];
}

/** Reference: max flow of min cost from a super source to a super sink, Bellman-Ford paths. */
function reference(net: Net): { cost: number; routed: number } {
  const n = net.n + 2;
  const S = net.n;
  const T = net.n + 1;
  type E = { to: number; cap: number; cost: number; rev: number };
  const g: E[][] = Array.from({ length: n }, () => []);
  const add = (u: number, v: number, cap: number, cost: number) => {
    g[u]!.push({ to: v, cap, cost, rev: g[v]!.length });
    g[v]!.push({ to: u, cap: 0, cost: -cost, rev: g[u]!.length - 1 });
  };
  for (const a of net.arcs) add(a.from, a.to, a.cap, a.cost);
  net.supply.forEach((s, v) => {
    if (s > 0) add(S, v, s, 0);
    if (s < 0) add(v, T, -s, 0);
  });
  let cost = 0;
  let routed = 0;
  for (;;) {
    const dist = new Array<number>(n).fill(Infinity);
    const prev: [number, number][] = new Array(n);
    dist[S] = 0;
    for (let iter = 0; iter < n; iter++) {
      let changed = false;
      for (let u = 0; u < n; u++) {
        if (dist[u] === Infinity) continue;
        g[u]!.forEach((e, i) => {
          if (e.cap > 0 && dist[u]! + e.cost < dist[e.to]!) {
            dist[e.to] = dist[u]! + e.cost;
            prev[e.to] = [u, i];
            changed = true;
          }
        });
      }
      if (!changed) break;
    }
    if (dist[T] === Infinity) break;
    let f = Infinity;
    for (let v = T; v !== S; v = prev[v]![0]) f = Math.min(f, g[prev[v]![0]]![prev[v]![1]]!.cap);
    for (let v = T; v !== S; v = prev[v]![0]) {
      const e = g[prev[v]![0]]![prev[v]![1]]!;
      e.cap -= f;
      g[e.to]![e.rev]!.cap += f;
    }
    cost += f * dist[T]!;
    routed += f;
  }
  return { cost, routed };
}

function randomNet(rng: Prng, opts: { negative: boolean }): Net {
  const n = 2 + rng.int(7);
  const supply = new Array<number>(n).fill(0);
  const k = 1 + rng.int(3);
  for (let i = 0; i < k; i++) {
    const s = rng.int(n);
    let t = rng.int(n);
    if (t === s) t = (t + 1) % n;
    const amount = 1 + rng.int(5);
    supply[s]! += amount;
    supply[t]! -= amount;
  }
  const arcs: Net["arcs"] = [];
  const m = rng.int(n * 3);
  for (let i = 0; i < m; i++) {
    const from = rng.int(n);
    const to = rng.int(n);
    if (from === to) continue;
    // zero-capacity arcs and ties on purpose
    arcs.push({ from, to, cap: rng.int(6), cost: opts.negative ? rng.int(11) - 2 : rng.int(6) });
  }
  return { n, supply, arcs };
}

function build(net: Net): { mcf: MinCostFlow; arcIds: number[] } {
  const mcf = new MinCostFlow();
  for (let v = 0; v < net.n; v++) mcf.addNode(net.supply[v]);
  const arcIds = net.arcs.map((a) => mcf.addArc(a.from, a.to, a.cap, a.cost));
  return { mcf, arcIds };
}

function checkFlow(mcf: MinCostFlow, net: Net, arcIds: number[]): void {
  const balance = new Array<number>(net.n).fill(0);
  net.arcs.forEach((a, i) => {
    const f = mcf.flow(arcIds[i]!);
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThanOrEqual(a.cap);
    balance[a.from]! -= f;
    balance[a.to]! += f;
  });
  // no node receives more than its demand or sends more than its supply
  for (let v = 0; v < net.n; v++) {
    const s = net.supply[v]!;
    if (s >= 0) expect(-balance[v]!).toBeLessThanOrEqual(s);
    else expect(balance[v]!).toBeLessThanOrEqual(-s);
  }
}

describe("min-cost flow", () => {
  it("matches the reference on 3,000 random networks (costs >= 0)", () => {
    const rng = new Prng(1234);
    for (let i = 0; i < 3000; i++) {
      const net = randomNet(rng, { negative: false });
      const { mcf, arcIds } = build(net);
      const r = mcf.solve();
      const ref = reference(net);
      const total = net.supply.filter((s) => s > 0).reduce((a, b) => a + b, 0);
      expect(total - r.unrouted, `network ${i}: routed`).toBe(ref.routed);
      expect(r.cost, `network ${i}: cost`).toBe(ref.cost);
      checkFlow(mcf, net, arcIds);
    }
  });

  it("matches the reference with negative arc costs when every supply can be routed", () => {
    const rng = new Prng(99);
    let compared = 0;
    for (let i = 0; compared < 1000 && i < 20_000; i++) {
      const net = randomNet(rng, { negative: true });
      // The reference needs a residual graph without negative cycles to start from.
      if (hasNegativeCycle(net)) continue;
      const ref = reference(net);
      const total = net.supply.filter((s) => s > 0).reduce((a, b) => a + b, 0);
      // With negative costs the cheapest partial flow is ill-defined; compare feasible ones.
      if (ref.routed !== total) continue;
      const { mcf, arcIds } = build(net);
      const r = mcf.solve();
      expect(r.unrouted).toBe(0);
      expect(r.cost, `network ${i}`).toBe(ref.cost);
      checkFlow(mcf, net, arcIds);
      compared++;
    }
    expect(compared).toBe(1000);
  });

  it("finds the optimal assignment, as brute force does, on small pod-to-node problems", () => {
    const rng = new Prng(7);
    for (let t = 0; t < 300; t++) {
      const pods = 1 + rng.int(4);
      const nodes = 1 + rng.int(3);
      const cost = Array.from({ length: pods }, () => Array.from({ length: nodes }, () => rng.int(10)));
      const capacity = Array.from({ length: nodes }, () => rng.int(3));
      const unscheduledCost = 20;
      // network: source pods -> nodes -> sink, plus pod -> sink "unscheduled" arcs
      const mcf = new MinCostFlow();
      const podIds = Array.from({ length: pods }, () => mcf.addNode(1));
      const nodeIds = Array.from({ length: nodes }, () => mcf.addNode(0));
      const sink = mcf.addNode(-pods);
      podIds.forEach((p, i) => {
        nodeIds.forEach((nd, j) => mcf.addArc(p, nd, 1, cost[i]![j]!));
        mcf.addArc(p, sink, 1, unscheduledCost);
      });
      nodeIds.forEach((nd, j) => mcf.addArc(nd, sink, capacity[j]!, 0));
      const r = mcf.solve();
      expect(r.unrouted).toBe(0);
      // brute force over every assignment (node index or -1 for unscheduled)
      let best = Infinity;
      const assign = (i: number, used: number[], acc: number): void => {
        if (i === pods) {
          best = Math.min(best, acc);
          return;
        }
        assign(i + 1, used, acc + unscheduledCost);
        for (let j = 0; j < nodes; j++) {
          if (used[j]! >= capacity[j]!) continue;
          used[j]!++;
          assign(i + 1, used, acc + cost[i]![j]!);
          used[j]!--;
        }
      };
      assign(0, new Array<number>(nodes).fill(0), 0);
      expect(r.cost).toBe(best);
    }
  });

  it("re-solves incrementally after changes to the optimum a fresh solve finds, with less work", () => {
    const rng = new Prng(4242);
    let incrementalWork = 0;
    let freshWork = 0;
    for (let t = 0; t < 500; t++) {
      const net = randomNet(rng, { negative: false });
      // make it always feasible: a direct expensive arc from each supply to each demand
      const direct = new Set<number>();
      for (let s = 0; s < net.n; s++) {
        for (let d = 0; d < net.n; d++) {
          if (net.supply[s]! > 0 && net.supply[d]! < 0) direct.add(net.arcs.push({ from: s, to: d, cap: 100, cost: 50 }) - 1);
        }
      }
      const { mcf, arcIds } = build(net);
      mcf.solve();
      // a round of small changes: costs, capacities, a new arc, moved supply
      for (let c = 0; c < 3; c++) {
        const i = rng.int(net.arcs.length);
        const kind = net.arcs.length === 0 ? 2 : rng.int(3);
        if (kind === 0) {
          net.arcs[i]!.cost = rng.int(8);
          mcf.setCost(arcIds[i]!, net.arcs[i]!.cost);
        } else if (kind === 1 && !direct.has(i)) {
          net.arcs[i]!.cap = rng.int(6);
          mcf.setCapacity(arcIds[i]!, net.arcs[i]!.cap);
        } else {
          const from = rng.int(net.n);
          const to = (from + 1 + rng.int(net.n - 1)) % net.n;
          const arc = { from, to, cap: 1 + rng.int(4), cost: rng.int(8) };
          net.arcs.push(arc);
          arcIds.push(mcf.addArc(arc.from, arc.to, arc.cap, arc.cost));
        }
      }
      const inc = mcf.solve();
      const fresh = build(net).mcf.solve();
      expect(inc.unrouted).toBe(0);
      expect(inc.cost, `round ${t}`).toBe(fresh.cost);
      checkFlow(mcf, net, arcIds);
      incrementalWork += inc.augmentations;
      freshWork += fresh.augmentations;
    }
    expect(incrementalWork).toBeLessThan(freshWork);
  });

  it("handles the degenerate cases clearly", () => {
    const empty = new MinCostFlow();
    expect(empty.solve()).toEqual({ cost: 0, unrouted: 0, augmentations: 0 });
    const infeasible = new MinCostFlow();
    const a = infeasible.addNode(3);
    const b = infeasible.addNode(-3);
    infeasible.addArc(a, b, 0, 1);
    expect(infeasible.solve().unrouted).toBe(3);
    const unbalanced = new MinCostFlow();
    unbalanced.addNode(1);
    expect(() => unbalanced.solve()).toThrow(FlowError);
    expect(() => unbalanced.addArc(0, 5, 1, 1)).toThrow(/no node 5/);
    expect(() => unbalanced.addArc(0, 0, -1, 1)).toThrow(/non-negative/);
  });
});

/** Bellman-Ford on the arcs with capacity: is there a negative cycle? */
function hasNegativeCycle(net: Net): boolean {
  const dist = new Array<number>(net.n).fill(0);
  for (let i = 0; i < net.n; i++) {
    let changed = false;
    for (const a of net.arcs) {
      if (a.cap > 0 && dist[a.from]! + a.cost < dist[a.to]!) {
        dist[a.to] = dist[a.from]! + a.cost;
        changed = true;
      }
    }
    if (!changed) return false;
  }
  return true;
}
