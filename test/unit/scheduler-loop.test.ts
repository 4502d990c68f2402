// The scheduler loop on an in-memory API: pending pods are bound and a
// Scheduled event recorded; a pod that fits nowhere gets PodScheduled=False
// with kube-scheduler's message and is bound once a node joins; a failed
// binding is retried after back-off; a batch placer gets the ready pods
// together; stop() ends everything.

import { afterEach, describe, expect, test } from "vitest";
import { pino } from "pino";

import type { Pod } from "../../src/api/types.js";
import { KubeApiError } from "../../src/client/kube-client.js";
import type { Recorder } from "../../src/scheduler/events.js";
import { GreedyPlacer, type Placer } from "../../src/scheduler/placer.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { FakeApi } from "./scheduler-fake-api.js";
import { node, pod } from "./scheduler-helpers.js";

const running: Scheduler[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function setup(opts: { placer?: (fw: ConstructorParameters<typeof GreedyPlacer>[0]) => Placer } = {}) {
  const api = new FakeApi();
  const events: string[] = [];
  const recorder: Recorder = { event: (ref, type, reason, message) => events.push(`${type} ${reason} ${ref.name}: ${message}`) };
  const s = new Scheduler({
    client: api.client(),
    logger: pino({ level: "silent" }),
    recorder,
    queue: { initialBackoffMs: 20, maxBackoffMs: 50 },
    ...(opts.placer ? { placer: opts.placer } : {}),
  });
  running.push(s);
  const nodeOf = (name: string) => api.get<Pod>("pods", "default", name)?.spec.nodeName;
  return { api, events, s, nodeOf };
}

describe("scheduler loop", () => {
  test("binds pending pods and records Scheduled", async () => {
    const { api, events, s, nodeOf } = setup();
    api.put("nodes", node("n1", { cpu: "1" }));
    api.put("pods", pod("a", { cpu: "500m" }));
    api.put("pods", pod("other", { cpu: "100m" }));
    // Another scheduler's pod is not ours.
    const foreign = pod("foreign");
    foreign.spec.schedulerName = "someone-else";
    api.put("pods", foreign);
    await s.start();
    await until("a and other bound", () => nodeOf("a") === "n1" && nodeOf("other") === "n1");
    await until("events", () => events.length >= 2);
    expect(events).toContain("Normal Scheduled a: Successfully assigned default/a to n1");
    expect(nodeOf("foreign")).toBeUndefined();
  });

  test("an unschedulable pod gets PodScheduled=False, then lands on a node that joins", async () => {
    const { api, events, s, nodeOf } = setup();
    api.put("nodes", node("n1", { cpu: "1" }));
    api.put("pods", pod("big", { cpu: "2" }));
    await s.start();
    const msg = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    await until("condition", () => api.get<Pod>("pods", "default", "big")?.status?.conditions?.some((c) => c.type === "PodScheduled") === true);
    expect(api.get<Pod>("pods", "default", "big")!.status!.conditions).toEqual([
      expect.objectContaining({ type: "PodScheduled", status: "False", reason: "Unschedulable", message: msg }),
    ]);
    expect(events).toContain(`Warning FailedScheduling big: ${msg}`);
    api.put("nodes", node("n2", { cpu: "4" }));
    await until("big bound", () => nodeOf("big") === "n2");
  });

  test("PodScheduled=False leaves the pod's other conditions as they are", async () => {
    const { api, s } = setup();
    api.put("nodes", node("n1", { cpu: "1" }));
    const big = pod("big", { cpu: "2" });
    big.status = { conditions: [{ type: "Ready", status: "False", reason: "SetByAnother" }] };
    api.put("pods", big);
    await s.start();
    await until("condition", () => api.get<Pod>("pods", "default", "big")?.status?.conditions?.some((c) => c.type === "PodScheduled") === true);
    const types = api.get<Pod>("pods", "default", "big")!.status!.conditions!.map((c) => `${c.type}:${c.reason}`);
    expect(types).toEqual(expect.arrayContaining(["Ready:SetByAnother", "PodScheduled:Unschedulable"]));
  });

  test("assumed pods count before their binding is seen", async () => {
    const { api, s, nodeOf } = setup();
    api.put("nodes", node("n1", { cpu: "1" }));
    api.put("nodes", node("n2", { cpu: "1" }));
    for (const n of ["a", "b"]) api.put("pods", pod(n, { cpu: "1" }));
    await s.start();
    await until("both bound", () => !!nodeOf("a") && !!nodeOf("b"));
    expect(new Set([nodeOf("a"), nodeOf("b")]).size).toBe(2);
  });

  test("a pod waiting for pod affinity is retried when a matching pod is placed", async () => {
    const { api, s, nodeOf } = setup();
    api.put("nodes", node("n1"));
    api.put("nodes", node("n2"));
    api.put("pods", pod("web", { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" }] } } }));
    await s.start();
    await until("web unschedulable", () => api.get<Pod>("pods", "default", "web")?.status?.conditions?.some((c) => c.reason === "Unschedulable") === true);
    // Someone places a db pod on n2: only that can help web.
    api.put("pods", pod("db", { labels: { app: "db" }, nodeName: "n2" }));
    await until("web bound next to db", () => nodeOf("web") === "n2", 2000);
  });

  test("a failed binding is retried after back-off", async () => {
    const { api, s, nodeOf } = setup();
    api.put("nodes", node("n1"));
    api.faults.push(new KubeApiError(503, "ServiceUnavailable", "no leader"));
    api.put("pods", pod("a"));
    await s.start();
    await until("a bound", () => nodeOf("a") === "n1");
    expect(api.bindings).toEqual(["a->n1"]);
  });

  test("a 409 on binding (bound elsewhere meanwhile) is not retried", async () => {
    const { api, s } = setup();
    api.put("nodes", node("n1"));
    api.faults.push(new KubeApiError(409, "Conflict", 'pod a is already assigned to node "n9"'));
    api.put("pods", pod("a"));
    await s.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(api.bindings).toEqual([]);
    expect(s.queue.has("default/a")).toBe(false);
  });

  test("a batch placer is handed the ready pods together", async () => {
    const batches: number[] = [];
    const { api, s, nodeOf } = setup({
      placer: (fw) => {
        const greedy = new GreedyPlacer(fw);
        return { name: "batch", maxBatch: 100, place: (pods, snap, onPlaced) => (batches.push(pods.length), greedy.place(pods, snap, onPlaced)) };
      },
    });
    api.put("nodes", node("n1"));
    for (let i = 0; i < 5; i++) api.put("pods", pod(`p${i}`, { cpu: "100m" }));
    await s.start();
    await until("all bound", () => [0, 1, 2, 3, 4].every((i) => nodeOf(`p${i}`) === "n1"));
    expect(batches[0]).toBe(5);
  });
});
