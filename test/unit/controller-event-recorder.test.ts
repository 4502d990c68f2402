// The event recorder against a recording stand-in for the API client: one
// Event per distinct event, repeats patched as count/lastTimestamp, a token
// bucket per object, and a bounded queue so a burst never floods the store.

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/api/types.js";
import { EventRecorder } from "../../src/client/event-recorder.js";
import { KubeApiError, type KubeClient } from "../../src/client/kube-client.js";

interface Call {
  verb: "create" | "patch";
  name: string;
  body: Record<string, unknown>;
}

function fakeClient(opts: { delayMs?: number; failCreate?: boolean } = {}): { client: KubeClient; calls: Call[] } {
  const calls: Call[] = [];
  const names = new Set<string>();
  const wait = () => new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
  const client = {
    async create(_r: string, obj: KubeObject) {
      await wait();
      if (opts.failCreate) throw new KubeApiError(500, "InternalError", "nope");
      calls.push({ verb: "create", name: obj.metadata.name!, body: obj as Record<string, unknown> });
      names.add(obj.metadata.name!);
      return obj;
    },
    async patch(_r: string, _ns: string, name: string, body: Record<string, unknown>) {
      await wait();
      if (!names.has(name)) throw new KubeApiError(404, "NotFound", "no");
      calls.push({ verb: "patch", name, body });
      return {};
    },
  } as unknown as KubeClient;
  return { client, calls };
}

const pod = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", uid: `u-${name}` } });
const settle = (r: EventRecorder) => r.flush(5000);

describe("event recorder", () => {
  it("creates an Event with the involved object and source, then aggregates repeats into count and lastTimestamp", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const { client, calls } = fakeClient();
    const r = new EventRecorder(client, "scheduler", "m1", { now: () => now });
    r.event(pod("a"), "Warning", "FailedScheduling", "0/3 nodes are available");
    await settle(r);
    now += 1000;
    r.event(pod("a"), "Warning", "FailedScheduling", "0/3 nodes are available");
    await settle(r);
    expect(calls.map((c) => c.verb)).toEqual(["create", "patch"]);
    expect(calls[0]!.body).toMatchObject({
      involvedObject: { kind: "Pod", namespace: "ns", name: "a", uid: "u-a" },
      reason: "FailedScheduling",
      type: "Warning",
      source: { component: "scheduler", host: "m1" },
      count: 1,
      metadata: { namespace: "ns" },
    });
    expect(calls[1]!.name).toBe(calls[0]!.name);
    expect(calls[1]!.body).toMatchObject({ count: 2, lastTimestamp: "2026-01-01T00:00:01Z" });
  });

  it("a different message is a different Event", async () => {
    const { client, calls } = fakeClient();
    const r = new EventRecorder(client, "c");
    r.event(pod("a"), "Normal", "Created", "one");
    r.event(pod("a"), "Normal", "Created", "two");
    await settle(r);
    expect(calls.filter((c) => c.verb === "create")).toHaveLength(2);
  });

  it("merges repeats waiting in the queue into one write carrying the latest count", async () => {
    const { client, calls } = fakeClient({ delayMs: 20 });
    const r = new EventRecorder(client, "c");
    r.event(pod("blocker"), "Normal", "X", "x");
    for (let i = 0; i < 50; i++) r.event(pod("a"), "Normal", "Pulled", "same");
    await settle(r);
    const forA = calls.filter((c) => (c.body.involvedObject as { name?: string } | undefined)?.name === "a" || c.verb === "patch");
    expect(forA).toHaveLength(1);
    expect(forA[0]!.body.count).toBe(50);
  });

  it("rate-limits distinct events per object and drops beyond the pending bound", async () => {
    const { client, calls } = fakeClient({ delayMs: 1 });
    const r = new EventRecorder(client, "c", undefined, { burst: 5, refillMs: 60_000 });
    for (let i = 0; i < 20; i++) r.event(pod("a"), "Normal", "R", `m${i}`);
    await settle(r);
    expect(calls).toHaveLength(5);
    const { client: c2, calls: calls2 } = fakeClient({ delayMs: 5 });
    const r2 = new EventRecorder(c2, "c", undefined, { maxPending: 3 });
    for (let i = 0; i < 10; i++) r2.event(pod(`p${i}`), "Normal", "R", "m");
    await settle(r2);
    expect(calls2.length).toBeLessThanOrEqual(4);
  });

  it("never throws when the API fails", async () => {
    const errors: Error[] = [];
    const { client } = fakeClient({ failCreate: true });
    const r = new EventRecorder(client, "c", undefined, { onError: (e) => errors.push(e) });
    expect(() => r.event(pod("a"), "Normal", "R", "m")).not.toThrow();
    await settle(r);
    expect(errors).toHaveLength(1);
  });
});
