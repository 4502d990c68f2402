// The flow placer: the network and its decoding on table-driven cases, and
// the placer on the scheduler's cache against the greedy placer: the tight
// trace (greedy strands capacity, flow does not), infeasible pods (the same
// FitError message as greedy), spreading, anti-affinity, no over-commit.

import { describe, expect, it } from "vitest";
import { burstTrace, lcg, makeNode, makePod, runTrace, spreadTrace, tightTrace, type Trace } from "../../bench/placement/traces.js";
import type { Pod } from "../../src/api/types.js";
import { SchedulerCache } from "../../src/scheduler/cache.js";
import { FlowPlacer } from "../../src/scheduler/flow/flow-placer.js";
import { FlowNetwork, type NetworkInput } from "../../src/scheduler/flow/network.js";
import { Framework } from "../../src/scheduler/framework.js";
import { GreedyPlacer, type Placement } from "../../src/scheduler/placer.js";
import { defaultProfile } from "../../src/scheduler/plugins/index.js";
import { newPodInfo } from "../../src/scheduler/types.js";

function net(classes: NetworkInput["classes"], nodes: Record<string, { cap: number; cost: number }[]>): NetworkInput {
  return { classes, nodes: new Map(Object.entries(nodes)) };
}

const plain = (caps: Record<string, number>) => Object.fromEntries(Object.entries(caps).map(([n, c]) => [n, [{ cap: c, cost: 0 }]]));

describe("FlowNetwork", () => {
  const cases: { name: string; input: NetworkInput; placed: Record<string, Record<string, number>>; unscheduled: Record<string, number> }[] = [
    {
      name: "the cheaper node first, the rest on the other",
      input: net(
        [{ key: "a", supply: 3, unscheduledCost: 1000, nodes: [{ node: "n1", segments: [{ cap: 2, cost: 1 }] }, { node: "n2", segments: [{ cap: 5, cost: 4 }] }] }],
        plain({ n1: 10, n2: 10 }),
      ),
      placed: { a: { n1: 2, n2: 1 } },
      unscheduled: { a: 0 },
    },
    {
      name: "node slots bound what classes share; the costlier class to leave out is placed",
      input: net(
        [
          { key: "small", supply: 2, unscheduledCost: 100, nodes: [{ node: "n1", segments: [{ cap: 2, cost: 0 }] }] },
          { key: "large", supply: 1, unscheduledCost: 1000, nodes: [{ node: "n1", segments: [{ cap: 1, cost: 5 }] }] },
        ],
        plain({ n1: 2 }),
      ),
      placed: { small: { n1: 1 }, large: { n1: 1 } },
      unscheduled: { small: 1, large: 0 },
    },
    {
      name: "convex segments spread a class over nodes",
      input: net(
        [
          {
            key: "d",
            supply: 4,
            unscheduledCost: 1000,
            nodes: ["n1", "n2"].map((node) => ({
              node,
              segments: [
                { cap: 1, cost: 0 },
                { cap: 1, cost: 10 },
                { cap: 2, cost: 20 },
              ],
            })),
          },
        ],
        plain({ n1: 4, n2: 4 }),
      ),
      placed: { d: { n1: 2, n2: 2 } },
      unscheduled: { d: 0 },
    },
    {
      name: "no node at all: everything on the unscheduled arc",
      input: net([{ key: "x", supply: 2, unscheduledCost: 7, nodes: [] }], {}),
      placed: { x: {} },
      unscheduled: { x: 2 },
    },
    {
      name: "zero-capacity arcs carry nothing",
      input: net([{ key: "x", supply: 1, unscheduledCost: 7, nodes: [{ node: "n1", segments: [{ cap: 0, cost: 0 }] }] }], plain({ n1: 3 })),
      placed: { x: {} },
      unscheduled: { x: 1 },
    },
  ];
  for (const incremental of [false, true]) {
    for (const c of cases) {
      it(`${c.name} (${incremental ? "incremental" : "fresh"})`, () => {
        const d = new FlowNetwork(incremental).solve(c.input);
        for (const [k, want] of Object.entries(c.placed)) expect(Object.fromEntries(d.placed.get(k)!)).toEqual(want);
        for (const [k, want] of Object.entries(c.unscheduled)) expect(d.unscheduled.get(k)).toBe(want);
      });
    }
  }

  it("re-solved incrementally after changes, gives the placement a fresh network gives", () => {
    const rnd = lcg(11);
    const inc = new FlowNetwork(true);
    for (let step = 0; step < 40; step++) {
      const nodes: NetworkInput["nodes"] = new Map();
      for (let n = 0; n < 8; n++) if (rnd() < 0.9) nodes.set(`n${n}`, [{ cap: 1 + Math.floor(rnd() * 4), cost: Math.floor(rnd() * 5) }, { cap: 3, cost: 6 }]);
      const classes: NetworkInput["classes"] = [];
      for (let c = 0; c < 5; c++) {
        if (rnd() < 0.3) continue;
        classes.push({
          key: `c${c}`,
          supply: 1 + Math.floor(rnd() * 6),
          unscheduledCost: 50 + c,
          nodes: [...nodes.keys()].filter(() => rnd() < 0.7).map((node) => ({ node, segments: [{ cap: 1 + Math.floor(rnd() * 3), cost: Math.floor(rnd() * 20) }] })),
        });
      }
      const a = inc.solve({ classes, nodes });
      const b = new FlowNetwork(false).solve({ classes, nodes });
      expect(a.result.cost).toBe(b.result.cost);
      expect(a.result.unrouted).toBe(0);
    }
  });
});

function fw(): Framework {
  return new Framework(defaultProfile());
}

function cacheOf(nodes: ReturnType<typeof makeNode>[]): SchedulerCache {
  const c = new SchedulerCache();
  for (const n of nodes) c.upsertNode(n);
  return c;
}

/** Places with `placer`, assuming as the scheduler does; returns pod name -> node or FitError message. */
function placeAll(placer: FlowPlacer | GreedyPlacer, cache: SchedulerCache, pods: Pod[]): Map<string, { node: string | null; message?: string }> {
  const out = new Map<string, { node: string | null; message?: string }>();
  placer.place(pods.map(newPodInfo), cache.snapshot(), (p: Placement) => {
    if (p.node) cache.assume(p.pod, p.node);
    out.set(p.pod.pod.metadata.name!, p.node ? { node: p.node } : { node: null, message: p.fitError!.message });
  });
  return out;
}

describe("FlowPlacer", () => {
  it("places the whole tight trace where greedy strands every large pod", () => {
    const g = runTrace(tightTrace(40), new GreedyPlacer(fw(), lcg(1)));
    const f = runTrace(tightTrace(40), new FlowPlacer(fw(), { random: lcg(1) }));
    expect(g.pods).toBe(100);
    expect(g.placed).toBeLessThan(100);
    expect(g.pendingWithCapacity).toBeGreaterThan(0);
    expect(f.placed).toBe(100);
    expect(f.pending).toBe(0);
  });

  const infeasible: { name: string; nodes: ReturnType<typeof makeNode>[]; pods: Pod[] }[] = [
    {
      name: "too large for every node",
      nodes: [makeNode({ name: "a", cpu: "2", memory: "4Gi" }), makeNode({ name: "b", cpu: "1", memory: "1Gi" })],
      pods: [0, 1, 2].map((i) => makePod({ name: `big-${i}`, cpu: "3", memory: "8Gi", owner: "big" })),
    },
    {
      name: "node selector and taints",
      nodes: [
        makeNode({ name: "a", cpu: "2", memory: "4Gi", labels: { disk: "hdd" } }),
        { ...makeNode({ name: "b", cpu: "2", memory: "4Gi", labels: { disk: "ssd" } }), spec: { taints: [{ key: "dedicated", value: "x", effect: "NoSchedule" }] } },
      ],
      pods: [0, 1].map((i) => makePod({ name: `sel-${i}`, cpu: "100m", memory: "64Mi", owner: "sel", extra: { nodeSelector: { disk: "ssd" } } })),
    },
    {
      name: "more pods than room: the ones left over",
      nodes: [makeNode({ name: "a", cpu: "1", memory: "4Gi" }), makeNode({ name: "b", cpu: "1", memory: "4Gi" })],
      pods: [0, 1, 2, 3, 4].map((i) => makePod({ name: `half-${i}`, cpu: "500m", memory: "64Mi", owner: "half" })),
    },
  ];
  for (const c of infeasible) {
    it(`leaves infeasible pods pending with greedy's FitError message: ${c.name}`, () => {
      const gr = placeAll(new GreedyPlacer(fw(), lcg(2)), cacheOf(c.nodes), c.pods);
      const fl = placeAll(new FlowPlacer(fw(), { random: lcg(2) }), cacheOf(c.nodes), c.pods);
      const pendingMsgs = (m: typeof gr) => [...m.values()].filter((v) => v.node === null).map((v) => v.message).sort();
      expect(pendingMsgs(fl).length).toBeGreaterThan(0);
      expect(pendingMsgs(fl)).toEqual(pendingMsgs(gr));
      expect(fl.size).toBe(c.pods.length);
    });
  }

  it("spreads a deployment one pod per node", () => {
    const nodes = Array.from({ length: 10 }, (_, i) => makeNode({ name: `n${i}`, cpu: "4", memory: "8Gi" }));
    const pods = Array.from({ length: 10 }, (_, i) => makePod({ name: `w-${i}`, cpu: "100m", memory: "64Mi", owner: "web" }));
    const placed = placeAll(new FlowPlacer(fw()), cacheOf(nodes), pods);
    const perNode = new Map<string, number>();
    for (const { node } of placed.values()) perNode.set(node!, (perNode.get(node!) ?? 0) + 1);
    expect(perNode.size).toBe(10);
  });

  it("keeps required anti-affinity: one per node, the rest pending with greedy's message", () => {
    const nodes = Array.from({ length: 3 }, (_, i) => makeNode({ name: `n${i}`, cpu: "4", memory: "8Gi" }));
    const anti = {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" }] } },
    };
    const pods = Array.from({ length: 5 }, (_, i) => makePod({ name: `db-${i}`, cpu: "100m", memory: "64Mi", owner: "db", extra: anti }));
    const fl = placeAll(new FlowPlacer(fw()), cacheOf(nodes), pods);
    const gr = placeAll(new GreedyPlacer(fw()), cacheOf(nodes), pods);
    const onNodes = [...fl.values()].filter((v) => v.node).map((v) => v.node);
    expect(new Set(onNodes).size).toBe(3);
    expect(onNodes.length).toBe(3);
    const msgs = (m: typeof fl) => [...m.values()].filter((v) => !v.node).map((v) => v.message);
    expect(msgs(fl)).toEqual(msgs(gr));
  });

  it("hands a single pod to greedy", () => {
    const p = new FlowPlacer(fw());
    const placed = placeAll(p, cacheOf([makeNode({ name: "a", cpu: "1", memory: "1Gi" })]), [makePod({ name: "one", cpu: "100m", memory: "64Mi" })]);
    expect(placed.get("one")!.node).toBe("a");
    expect(p.lastStats!.rounds).toBe(0);
  });

  const noOvercommit = (t: Trace) => {
    const r = runTrace(t, new FlowPlacer(fw(), { random: lcg(5) }));
    for (const ni of r.cache.snapshot().nodes) {
      expect(ni.requested.milliCPU).toBeLessThanOrEqual(ni.allocatable.milliCPU);
      expect(ni.requested.memory).toBeLessThanOrEqual(ni.allocatable.memory);
      expect(ni.requested.pods).toBeLessThanOrEqual(ni.allocatable.pods);
    }
    return r;
  };

  it("never over-commits a node, and places a burst as fully as greedy with spread as good", () => {
    const f = noOvercommit(burstTrace(60, 600, 30));
    const g = runTrace(burstTrace(60, 600, 30), new GreedyPlacer(fw(), lcg(5)));
    expect(f.placed).toBe(g.placed);
    expect(f.spreadMaxPerNode).toBeLessThanOrEqual(Math.max(1, g.spreadMaxPerNode));
  });

  it("spread trace: every deployment at most one pod per node, as greedy", () => {
    const f = noOvercommit(spreadTrace(60, 10, 20));
    expect(f.placed).toBe(f.pods);
    expect(f.spreadMaxPerNode).toBe(1);
  });
});
