// The node lifecycle controller driven tick by tick with an injected clock,
// against an in-memory stand-in for the API (list, watch, update, patch,
// delete, create): a node whose lease stops turns Unknown, is tainted and
// loses its pods after their toleration; it comes back clean; a new leader
// gives every node a fresh grace period; when every node goes silent at
// once nothing is evicted; a stalled controller blames itself, for the
// time it lost only.

import { afterEach, describe, expect, test } from "vitest";
import { pino } from "pino";

import type { Lease, Node, Pod } from "../../src/api/types.js";
import { NodeLifecycleController } from "../../src/controllers/node-lifecycle/controller.js";
import { CONFIG_DEFAULTS } from "../../src/config/types.js";
import type { Recorder } from "../../src/scheduler/events.js";
import { FakeApi } from "./scheduler-fake-api.js";
import { node, pod } from "./scheduler-helpers.js";

const settings = { ...CONFIG_DEFAULTS.nodeLifecycle }; // grace 4 s, toleration 1 s, period 0.5 s

function lease(name: string, renew: number): Lease {
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace: "kube-node-lease" }, spec: { holderIdentity: name, renewTime: new Date(renew).toISOString() } };
}

interface World {
  api: FakeApi;
  clock: { t: number };
  events: string[];
  ctrl: NodeLifecycleController;
  renew(name: string): void;
  advance(ms: number, renewing?: string[]): Promise<void>;
}

const controllers: NodeLifecycleController[] = [];
afterEach(async () => {
  for (const c of controllers.splice(0)) await c.stop();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

async function world(nodeNames: string[], pods: Pod[] = []): Promise<World> {
  const api = new FakeApi();
  const clock = { t: 1_000_000 };
  for (const n of nodeNames) {
    api.put("nodes", node(n));
    api.put("leases", lease(n, clock.t));
  }
  for (const p of pods) api.put("pods", p);
  const events: string[] = [];
  const recorder: Recorder = { event: (ref, _type, reason) => events.push(`${reason} ${ref.name}`) };
  const ctrl = new NodeLifecycleController({ client: api.client(), logger: pino({ level: "silent" }), settings, clock: { now: () => clock.t }, recorder, autoTick: false });
  controllers.push(ctrl);
  await ctrl.start();
  const w: World = {
    api,
    clock,
    events,
    ctrl,
    renew: (name) => api.put("leases", lease(name, clock.t)),
    // Time passes in monitor periods; the named nodes renew every second.
    advance: async (ms, renewing = []) => {
      const end = clock.t + ms;
      let nextRenew = clock.t + 1000;
      while (clock.t < end) {
        clock.t = Math.min(end, clock.t + 500);
        if (clock.t >= nextRenew) {
          for (const n of renewing) w.renew(n);
          nextRenew += 1000;
        }
        ctrl.tick();
        await settle();
      }
    },
  };
  return w;
}

const readyOf = (w: World, n: string) => w.api.get<Node>("nodes", undefined, n)!.status!.conditions!.find((c) => c.type === "Ready");
const taintsOf = (w: World, n: string) => (w.api.get<Node>("nodes", undefined, n)!.spec?.taints ?? []).map((t) => `${t.key.split("/")[1]}:${t.effect}`);

describe("node lifecycle controller", () => {
  test("a node whose lease stops turns Unknown, is tainted, and loses its pods after the toleration", async () => {
    const pods = [
      pod("a", { nodeName: "w1" }),
      pod("keep", { nodeName: "w1", tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" }] }),
      pod("b", { nodeName: "w2" }),
    ];
    const w = await world(["w1", "w2", "w3"], pods);
    await w.advance(4000, ["w1", "w2", "w3"]);
    expect(readyOf(w, "w1")!.status).toBe("True");
    expect(w.api.writes).toEqual([]);

    // w1 goes silent: within grace nothing happens.
    await w.advance(4000, ["w2", "w3"]);
    expect(readyOf(w, "w1")!.status).toBe("True");
    await w.advance(500, ["w2", "w3"]);
    const ready = readyOf(w, "w1")!;
    expect([ready.status, ready.reason, ready.message]).toEqual(["Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."]);
    expect(taintsOf(w, "w1")).toEqual(["unreachable:NoSchedule", "unreachable:NoExecute"]);
    expect(w.events).toContain("NodeNotReady w1");
    expect(w.api.get("pods", "default", "a")).toBeDefined(); // toleration (1 s) not over yet

    await w.advance(500, ["w2", "w3"]);
    expect(w.api.get("pods", "default", "a")).toBeDefined(); // the taint landed one period ago
    await w.advance(1000, ["w2", "w3"]);
    expect(w.api.get("pods", "default", "a")).toBeUndefined();
    expect(w.events).toContain("TaintManagerEviction a");
    expect(w.api.get("pods", "default", "keep")).toBeDefined();
    expect(w.api.get("pods", "default", "b")).toBeDefined();
    expect(readyOf(w, "w2")!.status).toBe("True");

    // w1 renews again: Ready and untainted.
    await w.advance(1000, ["w1", "w2", "w3"]);
    expect(readyOf(w, "w1")!.status).toBe("True");
    expect(taintsOf(w, "w1")).toEqual([]);
  });

  test("a new leader gives every node a fresh grace period", async () => {
    const w = await world(["w1", "w2", "w3"], [pod("a", { nodeName: "w1" })]);
    // Leases were last renewed long before this controller started: that proves nothing.
    await w.advance(3500, ["w2", "w3"]);
    expect(readyOf(w, "w1")!.status).toBe("True");
    expect(w.api.writes).toEqual([]);
    await w.advance(1000, ["w2", "w3"]);
    expect(readyOf(w, "w1")!.status).toBe("Unknown");
  });

  test("a kubelet restart inside the grace period evicts nothing", async () => {
    const w = await world(["w1", "w2"], [pod("a", { nodeName: "w1" })]);
    await w.advance(3500, ["w2"]);
    w.renew("w1");
    await w.advance(3500, ["w1", "w2"]);
    expect(w.api.writes).toEqual([]);
  });

  test("when every node goes silent at once, nodes are marked but nothing is evicted", async () => {
    const w = await world(["w1", "w2", "w3"], [pod("a", { nodeName: "w1" }), pod("b", { nodeName: "w2" })]);
    await w.advance(8000);
    expect(w.ctrl.disruptionState).toBe("FullDisruption");
    expect(readyOf(w, "w1")!.status).toBe("Unknown");
    expect(taintsOf(w, "w1")).toEqual(["unreachable:NoSchedule"]);
    expect(w.api.get("pods", "default", "a")).toBeDefined();
    expect(w.api.get("pods", "default", "b")).toBeDefined();
  });

  test("two of three nodes silent at once is partial disruption: nothing is evicted until one comes back", async () => {
    const w = await world(["w1", "w2", "w3"], [pod("a", { nodeName: "w1" }), pod("b", { nodeName: "w2" })]);
    await w.advance(8000, ["w3"]);
    expect(w.ctrl.disruptionState).toBe("PartialDisruption");
    expect(w.api.get("pods", "default", "a")).toBeDefined();
    expect(w.api.get("pods", "default", "b")).toBeDefined();
    // w2 renews again: 1 of 3 silent is a node problem, so w1's pod goes.
    await w.advance(3000, ["w2", "w3"]);
    expect(w.ctrl.disruptionState).toBe("Normal");
    expect(w.api.get("pods", "default", "a")).toBeUndefined();
    expect(w.api.get("pods", "default", "b")).toBeDefined();
  });

  test("time a stalled controller lost counts against no node", async () => {
    const w = await world(["w1", "w2"], [pod("a", { nodeName: "w1" })]);
    await w.advance(1000, ["w1", "w2"]);
    w.clock.t += 10_000; // the controller's process was stopped for 10 s
    w.ctrl.tick();
    await settle();
    expect(w.api.writes).toEqual([]);
    await w.advance(2000, ["w1", "w2"]);
    expect(w.api.writes).toEqual([]);
  });

  test("a leader that is always late still notices a dead node, later by the time it lost", async () => {
    const w = await world(["w1", "w2", "w3"]);
    await w.advance(1000, ["w1", "w2", "w3"]);
    // Every tick 1 s late (1.5 s apart instead of 0.5 s): 0.5 s of silence counts per tick.
    let marked = -1;
    for (let i = 1; i <= 12 && marked < 0; i++) {
      w.clock.t += 1500;
      for (const n of ["w2", "w3"]) w.renew(n);
      w.ctrl.tick();
      await settle();
      if (readyOf(w, "w1")!.status === "Unknown") marked = i;
    }
    expect(marked).toBeGreaterThan(7); // never within a 4 s grace of counted silence
    expect(marked).toBeLessThanOrEqual(10);
    expect(readyOf(w, "w2")!.status).toBe("True");
  });

  test("a fresh grace period (a stall) does not count as the silent node renewing: no flapping", async () => {
    const w = await world(["w1", "w2", "w3"], [pod("a", { nodeName: "w1", tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists" }] })]);
    await w.advance(2000, ["w1", "w2", "w3"]);
    await w.advance(5000, ["w2", "w3"]);
    expect(readyOf(w, "w1")!.status).toBe("Unknown");
    const writes = w.api.writes.length;
    w.clock.t += 10_000; // stall: every timer is set back by the time lost
    for (const n of ["w2", "w3"]) w.renew(n);
    w.ctrl.tick();
    await settle();
    await w.advance(1000, ["w2", "w3"]);
    expect(readyOf(w, "w1")!.status).toBe("Unknown");
    expect(taintsOf(w, "w1")).toEqual(["unreachable:NoSchedule", "unreachable:NoExecute"]);
    expect(w.api.writes.length).toBe(writes);
  });

  test("a kubelet that reports Ready=False gets the not-ready taints", async () => {
    const w = await world(["w1", "w2"]);
    const n = w.api.get<Node>("nodes", undefined, "w1")!;
    w.api.put("nodes", { ...n, status: { ...n.status, conditions: [{ type: "Ready", status: "False", reason: "KubeletNotReady" }] } });
    await w.advance(500, ["w1", "w2"]);
    expect(taintsOf(w, "w1")).toEqual(["not-ready:NoSchedule", "not-ready:NoExecute"]);
  });
});
