// Events as the scheduler and the node controller write them (by object
// reference, through the shared recorder): one Event per (object, type,
// reason, message), repeats aggregated into count and lastTimestamp in whole
// seconds, a slow API never blocking.

import { describe, expect, test } from "vitest";
import { pino } from "pino";

import type { Event } from "../../src/api/types.js";
import { KubeApiError, type KubeClient } from "../../src/client/kube-client.js";
import { EventRecorder } from "../../src/scheduler/events.js";

class FakeEvents {
  readonly events = new Map<string, Event>();
  readonly calls: string[] = [];
  client(): KubeClient {
    return {
      create: async (_r: string, ev: Event) => {
        this.calls.push(`create ${ev.reason}`);
        this.events.set(ev.metadata.name!, structuredClone(ev));
        return ev;
      },
      patch: async (_r: string, _ns: string, name: string, patch: Partial<Event>) => {
        this.calls.push(`patch ${name}`);
        const ev = this.events.get(name);
        if (!ev) throw new KubeApiError(404, "NotFound", "gone");
        Object.assign(ev, patch);
        return ev;
      },
    } as unknown as KubeClient;
  }
}

async function drain(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

const ref = { apiVersion: "v1", kind: "Pod", namespace: "default", name: "p", uid: "u1" };

describe("event recorder", () => {
  test("repeats of one event bump count and lastTimestamp", async () => {
    const api = new FakeEvents();
    let now = Date.parse("2026-01-01T00:00:00Z");
    const rec = new EventRecorder(api.client(), "default-scheduler", pino({ level: "silent" }), { now: () => now });
    rec.event(ref, "Warning", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.");
    await drain();
    now += 5000;
    rec.event(ref, "Warning", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.");
    rec.event(ref, "Warning", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.");
    await drain();
    expect(api.events.size).toBe(1);
    const ev = [...api.events.values()][0]!;
    expect(ev).toMatchObject({
      count: 3,
      firstTimestamp: "2026-01-01T00:00:00Z",
      lastTimestamp: "2026-01-01T00:00:05Z",
      type: "Warning",
      reason: "FailedScheduling",
      involvedObject: ref,
      source: { component: "default-scheduler" },
    });
    expect(ev.metadata.name!.startsWith("p.")).toBe(true);
  });

  test("another message is another event", async () => {
    const api = new FakeEvents();
    const rec = new EventRecorder(api.client(), "c", pino({ level: "silent" }));
    rec.event(ref, "Warning", "FailedScheduling", "a");
    rec.event(ref, "Warning", "FailedScheduling", "b");
    await drain();
    expect(api.events.size).toBe(2);
  });

  test("writes go through the shared recorder: a slow API never blocks the caller", async () => {
    const never = { create: () => new Promise(() => {}), patch: () => new Promise(() => {}) } as unknown as KubeClient;
    const rec = new EventRecorder(never, "c", pino({ level: "silent" }), { maxPending: 3 });
    const started = Date.now();
    for (let i = 0; i < 10; i++) rec.event(ref, "Normal", "X", String(i));
    expect(Date.now() - started).toBeLessThan(100);
    rec.close();
  });
});
