// The controller framework: the work queue's dedup, one-worker-per-key and
// back-off; the runner's forget/requeue/NotFound rules; expectations; selectors.

import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { KubeApiError } from "../../src/client/kube-client.js";
import { Controller } from "../../src/controllers/framework/controller.js";
import { Expectations } from "../../src/controllers/framework/expectations.js";
import { selectorMatches, selectorToString, isEmptySelector, mapSelectorMatches } from "../../src/controllers/framework/selectors.js";
import { ExponentialBackoffLimiter, WorkQueue } from "../../src/controllers/framework/workqueue.js";

const silent = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("work queue", () => {
  it("hands out a key added many times once", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.length).toBe(0);
  });

  it("never gives a key being processed to a second worker, and re-queues it when done if it got dirty", async () => {
    const q = new WorkQueue();
    q.add("a");
    const k = await q.get();
    q.add("a"); // arrives while a worker holds it
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await sleep(5);
    expect(second).toBeUndefined();
    q.done(k!);
    await sleep(5);
    expect(second).toBe("a");
  });

  it("backs off exponentially per key and forgets on success", () => {
    const l = new ExponentialBackoffLimiter(10, 100);
    expect([l.when("a"), l.when("a"), l.when("a"), l.when("a"), l.when("a")]).toEqual([10, 20, 40, 80, 100]);
    expect(l.when("b")).toBe(10);
    l.forget("a");
    expect(l.when("a")).toBe(10);
  });

  it("delayed adds keep the earliest time and vanish on shutdown", async () => {
    const q = new WorkQueue();
    q.addAfter("a", 1000);
    q.addAfter("a", 10);
    await sleep(40);
    expect(q.length).toBe(1);
    q.addAfter("b", 20);
    q.shutDown();
    await sleep(40);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBeUndefined();
  });

  it("a waiting get resolves undefined at shutdown", async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.shutDown();
    expect(await p).toBeUndefined();
  });
});

describe("controller runner", () => {
  it("forgets on success, retries errors with back-off, treats NotFound as done", async () => {
    const calls: string[] = [];
    let failures = 2;
    const c = new Controller({
      name: "t",
      logger: silent,
      informers: [],
      workers: 2,
      reconcile: async (key) => {
        calls.push(key);
        if (key === "flaky" && failures-- > 0) throw new Error("boom");
        if (key === "gone") throw new KubeApiError(404, "NotFound", "gone");
      },
    });
    await c.start();
    c.enqueue("flaky");
    c.enqueue("gone");
    for (let i = 0; i < 200 && calls.filter((k) => k === "flaky").length < 3; i++) await sleep(10);
    await sleep(30);
    expect(calls.filter((k) => k === "flaky")).toHaveLength(3);
    expect(calls.filter((k) => k === "gone")).toHaveLength(1);
    expect(c.queue.retries("flaky")).toBe(0);
    await c.stop();
  });

  it("runs one reconcile per key at a time even with several workers", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    const c = new Controller({
      name: "t",
      logger: silent,
      informers: [],
      workers: 4,
      reconcile: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(10);
        inFlight--;
        runs++;
      },
    });
    await c.start();
    for (let i = 0; i < 20; i++) {
      c.enqueue("same");
      await sleep(2);
    }
    await sleep(50);
    expect(maxInFlight).toBe(1);
    expect(runs).toBeGreaterThan(1);
    expect(runs).toBeLessThan(20);
    await c.stop();
  });

  it("requeues after the time reconcile asks for", async () => {
    let runs = 0;
    const c = new Controller({
      name: "t",
      logger: silent,
      informers: [],
      reconcile: async () => (++runs === 1 ? { requeueAfterMs: 30 } : undefined),
    });
    await c.start();
    c.enqueue("k");
    for (let i = 0; i < 200 && runs < 2; i++) await sleep(10);
    await sleep(60);
    expect(runs).toBe(2);
    await c.stop();
  });
});

describe("controller resync and cache sync", () => {
  it("looks at every key again on the resync period, and stops doing so when stopped", async () => {
    const seen: string[] = [];
    const c = new Controller({ name: "t", logger: silent, informers: [], reconcile: async (k) => void seen.push(k), resync: { everyMs: 30, keys: () => ["a", "b"] } });
    await c.start();
    for (let i = 0; i < 200 && seen.length < 4; i++) await sleep(10);
    await c.stop();
    const n = seen.length;
    expect(n).toBeGreaterThanOrEqual(4);
    expect(new Set(seen)).toEqual(new Set(["a", "b"]));
    await sleep(80);
    expect(seen.length).toBe(n);
  });

  it("waits for caches, or starts after syncTimeoutMs when one never fills", async () => {
    const never = { waitForSync: () => new Promise<void>(() => undefined) };
    const c = new Controller({ name: "t", logger: silent, informers: [never], reconcile: async () => undefined, syncTimeoutMs: 30 });
    const t0 = Date.now();
    await c.start();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    await c.stop();
  });

  it("stop() does not wait for caches that never fill", async () => {
    const never = { waitForSync: () => new Promise<void>(() => undefined) };
    const c = new Controller({ name: "t", logger: silent, informers: [never], reconcile: async () => undefined, syncTimeoutMs: 60_000 });
    const started = c.start();
    await c.stop();
    await started; // resolves at once: no timer left behind
  });
});

describe("expectations", () => {
  it("are satisfied only once every create and delete is observed", () => {
    const e = new Expectations();
    expect(e.satisfied("rs")).toBe(true);
    e.expectCreations("rs", 2);
    expect(e.satisfied("rs")).toBe(false);
    e.creationObserved("rs");
    expect(e.satisfied("rs")).toBe(false);
    e.creationObserved("rs");
    expect(e.satisfied("rs")).toBe(true);
    e.expectDeletions("rs", ["ns/a", "ns/b"]);
    e.deletionObserved("rs", "ns/a");
    e.deletionObserved("rs", "ns/a"); // the same pod seen twice counts once
    expect(e.satisfied("rs")).toBe(false);
    e.deletionObserved("rs", "ns/b");
    expect(e.satisfied("rs")).toBe(true);
  });

  it("expire, so a lost event cannot wedge a controller", () => {
    let now = 0;
    const e = new Expectations(1000, () => now);
    e.expectCreations("rs", 1);
    now = 999;
    expect(e.satisfied("rs")).toBe(false);
    now = 1001;
    expect(e.satisfied("rs")).toBe(true);
  });
});

describe("label selectors", () => {
  const cases: { sel: Parameters<typeof selectorMatches>[0]; labels: Record<string, string>; want: boolean }[] = [
    { sel: { matchLabels: { app: "web" } }, labels: { app: "web", x: "1" }, want: true },
    { sel: { matchLabels: { app: "web" } }, labels: { app: "db" }, want: false },
    { sel: { matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }] }, labels: { tier: "b" }, want: true },
    { sel: { matchExpressions: [{ key: "tier", operator: "In", values: ["a"] }] }, labels: {}, want: false },
    { sel: { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["a"] }] }, labels: {}, want: true },
    { sel: { matchExpressions: [{ key: "tier", operator: "Exists" }] }, labels: { tier: "" }, want: true },
    { sel: { matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, labels: { tier: "x" }, want: false },
    { sel: {}, labels: { any: "thing" }, want: true },
  ];
  it.each(cases)("$sel against $labels is $want", ({ sel, labels, want }) => {
    expect(selectorMatches(sel, labels)).toBe(want);
  });

  it("prints selectors for list calls and knows the empty one", () => {
    expect(selectorToString({ matchLabels: { b: "2", a: "1" }, matchExpressions: [{ key: "t", operator: "In", values: ["y", "x"] }, { key: "e", operator: "DoesNotExist" }] })).toBe("a=1,b=2,t in (x,y),!e");
    expect(isEmptySelector({})).toBe(true);
    expect(mapSelectorMatches({}, { a: "1" })).toBe(false);
    expect(mapSelectorMatches({ a: "1" }, { a: "1", b: "2" })).toBe(true);
  });
});
