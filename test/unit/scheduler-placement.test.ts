// The greedy placer on the default profile, and the FitError message a pod
// that fits nowhere gets, word for word as kube-scheduler writes it.

import { describe, expect, test } from "vitest";

import { FitError, Framework } from "../../src/scheduler/framework.js";
import { GreedyPlacer, numFeasibleNodesToFind, type Placement } from "../../src/scheduler/placer.js";
import { defaultProfile } from "../../src/scheduler/plugins/index.js";
import { SchedulerCache } from "../../src/scheduler/cache.js";
import { unresolvable, unschedulable } from "../../src/scheduler/types.js";
import { cluster, node, pi, pod } from "./scheduler-helpers.js";

function placeOne(nodes: ReturnType<typeof node>[], p: ReturnType<typeof pod>, placed: ReturnType<typeof pod>[] = []): Placement {
  const placer = new GreedyPlacer(new Framework(defaultProfile()), () => 0.99);
  const { snapshot } = cluster(nodes, placed);
  let out: Placement | null = null;
  placer.place([pi(p)], snapshot, (r) => (out = r));
  return out!;
}

describe("FitError message", () => {
  test("reasons are counted per node, sorted as strings, then the preemption verdict", () => {
    const statuses = new Map([
      ["n1", unschedulable("Insufficient cpu")],
      ["n2", unschedulable("Insufficient cpu")],
      ["n3", unresolvable("node(s) had untolerated taint {k: v}")],
    ]);
    expect(new FitError(3, statuses).message).toBe(
      "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. " +
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
    );
  });
  test("a node rejected for two resources counts for both", () => {
    const statuses = new Map([["n1", unschedulable("Insufficient cpu", "Insufficient memory")]]);
    expect(new FitError(1, statuses).message).toBe(
      "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    );
  });
  test("no nodes at all", () => {
    expect(new FitError(0, new Map()).message).toBe("no nodes available to schedule pods");
  });
});

describe("greedy placement", () => {
  test("the real message for a mixed cluster", () => {
    const nodes = [node("n1", { cpu: "1" }), node("n2", { cpu: "1" }), node("n3", { cpu: "8", taints: [{ key: "k", value: "v", effect: "NoSchedule" }] })];
    const r = placeOne(nodes, pod("p", { cpu: "2" }));
    expect(r.node).toBeNull();
    expect(r.fitError!.message).toBe(
      "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. " +
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
    );
  });
  test("picks the only node that fits", () => {
    const r = placeOne([node("n1", { cpu: "1" }), node("n2", { cpu: "4" }), node("n3", { cpu: "1" })], pod("p", { cpu: "2" }));
    expect(r.node).toBe("n2");
  });
  test("prefers the less loaded node", () => {
    const r = placeOne([node("n1"), node("n2")], pod("p", { cpu: "1" }), [pod("q", { cpu: "3", nodeName: "n1" })]);
    expect(r.node).toBe("n2");
  });
  test("pods of one owner spread over nodes as they are placed one by one", () => {
    const cache = new SchedulerCache();
    for (const n of ["n1", "n2", "n3"]) cache.upsertNode(node(n));
    const placer = new GreedyPlacer(new Framework(defaultProfile()));
    const pods = Array.from({ length: 6 }, (_, i) => pi(pod(`p${i}`, { owner: "rs", cpu: "100m" })));
    const where: string[] = [];
    placer.place(pods, cache.snapshot(), (p) => {
      cache.assume(p.pod, p.node!);
      where.push(p.node!);
    });
    const counts = ["n1", "n2", "n3"].map((n) => where.filter((w) => w === n).length);
    expect(counts).toEqual([2, 2, 2]);
  });
  test("assumed pods count: the second big pod does not land on the same node", () => {
    const cache = new SchedulerCache();
    cache.upsertNode(node("n1", { cpu: "2" }));
    cache.upsertNode(node("n2", { cpu: "2" }));
    const placer = new GreedyPlacer(new Framework(defaultProfile()));
    const got: (string | null)[] = [];
    placer.place([pi(pod("a", { cpu: "2" })), pi(pod("b", { cpu: "2" })), pi(pod("c", { cpu: "2" }))], cache.snapshot(), (p) => {
      if (p.node) cache.assume(p.pod, p.node);
      got.push(p.node);
    });
    expect(got.slice(0, 2).sort()).toEqual(["n1", "n2"]);
    expect(got[2]).toBeNull();
  });
  test("ties are broken among the best nodes", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const placer = new GreedyPlacer(new Framework(defaultProfile()));
      const { snapshot } = cluster([node("n1"), node("n2"), node("n3")]);
      placer.place([pi(pod("p"))], snapshot, (r) => seen.add(r.node!));
    }
    expect(seen.size).toBeGreaterThan(1);
  });
  test("percentageOfNodesToScore as kube-scheduler computes it", () => {
    expect(numFeasibleNodesToFind(50)).toBe(50);
    expect(numFeasibleNodesToFind(100)).toBe(100);
    expect(numFeasibleNodesToFind(1000)).toBe(420);
    expect(numFeasibleNodesToFind(5000)).toBe(500);
  });
});

describe("the cache", () => {
  test("an assumed pod is replaced by the bound one; a forgotten one frees its room", () => {
    const cache = new SchedulerCache();
    cache.upsertNode(node("n1", { cpu: "2" }));
    const p = pod("a", { cpu: "1" });
    cache.assume(pi(p), "n1");
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(1000);
    cache.upsertBoundPod({ ...p, spec: { ...p.spec, nodeName: "n1" } });
    expect(cache.isAssumed("default/a")).toBe(false);
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(1000);
    const q = pod("b", { cpu: "1" });
    cache.assume(pi(q), "n1");
    cache.forget("default/b");
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(1000);
  });
  test("an assumption whose binding never shows up expires", () => {
    let now = 0;
    const cache = new SchedulerCache(() => now, 1000);
    cache.upsertNode(node("n1"));
    cache.assume(pi(pod("a", { cpu: "1" })), "n1");
    cache.finishBinding("default/a");
    now = 999;
    expect(cache.expireAssumed()).toEqual([]);
    now = 1000;
    expect(cache.expireAssumed()).toEqual(["default/a"]);
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(0);
  });
  test("terminal pods free their resources", () => {
    const cache = new SchedulerCache();
    cache.upsertNode(node("n1"));
    const p = pod("a", { cpu: "1", nodeName: "n1" });
    cache.upsertBoundPod(p);
    cache.upsertBoundPod({ ...p, status: { phase: "Succeeded" } });
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(0);
  });
});
