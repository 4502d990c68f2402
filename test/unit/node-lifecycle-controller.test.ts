// The node lifecycle controller driven tick by tick with an injected clock,
// against an in-memory stand-in for the API (list, watch, update, patch,
// delete, create): a node whose lease stops turns Unknown, is tainted and
// loses its pods after their toleration; it comes back clean; a new leader
// gives every node a fresh grace period; when every node goes silent at
// once nothing is evicted; a stalled controller blames itself.

import { afterEach, describe, expect, test } from "vitest";
import { pino } from "pino";

import type { KubeObject, Lease, Node, Pod, WatchEvent } from "../../src/api/types.js";
import { KubeApiError, type KubeClient } from "../../src/client/kube-client.js";
import { NodeLifecycleController } from "../../src/controllers/node-lifecycle/controller.js";
import { CONFIG_DEFAULTS } from "../../src/config/types.js";
import type { Recorder } from "../../src/scheduler/events.js";
import { node, pod } from "./scheduler-helpers.js";

type Obj = KubeObject;

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Just enough of the API for informers and the controller's writes. */
class FakeApi {
  rv = 1;
  readonly objs = new Map<string, Map<string, Obj>>();
  readonly watchers: { resource: string; ns?: string; cb: (e: WatchEvent) => void }[] = [];
  readonly writes: string[] = [];

  private table(resource: string): Map<string, Obj> {
    let t = this.objs.get(resource);
    if (!t) this.objs.set(resource, (t = new Map()));
    return t;
  }
  private key(ns: string | undefined, name: string | undefined): string {
    return ns ? `${ns}/${name}` : String(name);
  }
  private emit(resource: string, type: WatchEvent["type"], obj: Obj): void {
    for (const w of this.watchers) if (w.resource === resource && (!w.ns || w.ns === obj.metadata.namespace)) w.cb({ type, object: structuredClone(obj) });
  }
  put(resource: string, obj: Obj, record = false): Obj {
    const o = structuredClone(obj);
    o.metadata.resourceVersion = String(++this.rv);
    const k = this.key(o.metadata.namespace, o.metadata.name);
    const existed = this.table(resource).has(k);
    this.table(resource).set(k, o);
    if (record) this.writes.push(`${resource}/${k}`);
    this.emit(resource, existed ? "MODIFIED" : "ADDED", o);
    return structuredClone(o);
  }
  get<T extends Obj>(resource: string, ns: string | undefined, name: string): T | undefined {
    const o = this.table(resource).get(this.key(ns, name));
    return o ? (structuredClone(o) as T) : undefined;
  }

  client(): KubeClient {
    const api = {
      listAll: async (resource: string, opts: { namespace?: string }) => ({
        metadata: { resourceVersion: String(this.rv) },
        items: [...this.table(resource).values()].filter((o) => !opts.namespace || o.metadata.namespace === opts.namespace).map((o) => structuredClone(o)),
      }),
      watch: (resource: string, opts: { namespace?: string }, cb: (e: WatchEvent) => void) => {
        const w = { resource, ns: opts.namespace, cb };
        this.watchers.push(w);
        return { stop: () => this.watchers.splice(this.watchers.indexOf(w), 1), done: new Promise(() => {}) };
      },
      update: async (resource: string, obj: Obj, opts: { subresource?: string } = {}) => {
        const cur = this.get(resource, obj.metadata.namespace, obj.metadata.name!);
        if (!cur) throw new KubeApiError(404, "NotFound", "not found");
        if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) throw new KubeApiError(409, "Conflict", "stale");
        return this.put(resource, opts.subresource === "status" ? { ...cur, status: obj.status } : { ...obj, status: cur.status }, true);
      },
      patch: async (resource: string, ns: string | undefined, name: string, patch: unknown) => {
        const cur = this.get(resource, ns, name);
        if (!cur) throw new KubeApiError(404, "NotFound", "not found");
        return this.put(resource, mergePatch(cur, patch) as Obj, true);
      },
      delete: async (resource: string, ns: string | undefined, name: string) => {
        const k = this.key(ns, name);
        const cur = this.table(resource).get(k);
        if (!cur) throw new KubeApiError(404, "NotFound", "not found");
        this.table(resource).delete(k);
        this.writes.push(`delete ${resource}/${k}`);
        this.emit(resource, "DELETED", cur);
        return cur;
      },
      create: async (resource: string, obj: Obj) => this.put(resource, obj, true),
    };
    return api as unknown as KubeClient;
  }
}

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

  test("a stalled controller gives every node a fresh grace period instead of blaming them", async () => {
    const w = await world(["w1", "w2"], [pod("a", { nodeName: "w1" })]);
    await w.advance(1000, ["w1", "w2"]);
    w.clock.t += 10_000; // the controller's process was stopped for 10 s
    w.ctrl.tick();
    await settle();
    expect(w.api.writes).toEqual([]);
    await w.advance(2000, ["w1", "w2"]);
    expect(w.api.writes).toEqual([]);
  });

  test("a kubelet that reports Ready=False gets the not-ready taints", async () => {
    const w = await world(["w1", "w2"]);
    const n = w.api.get<Node>("nodes", undefined, "w1")!;
    w.api.put("nodes", { ...n, status: { ...n.status, conditions: [{ type: "Ready", status: "False", reason: "KubeletNotReady" }] } });
    await w.advance(500, ["w1", "w2"]);
    expect(taintsOf(w, "w1")).toEqual(["not-ready:NoSchedule", "not-ready:NoExecute"]);
  });
});
