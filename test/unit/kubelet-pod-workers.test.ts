import { describe, expect, it } from "vitest";
import { pino } from "pino";
import type { Pod } from "../../src/api/types.js";
import { PodWorkers } from "../../src/kubelet/pod-workers.js";

function pod(uid: string, rv: string, deleting = false): Pod {
  return { metadata: { name: `p-${uid}`, namespace: "default", uid, resourceVersion: rv, ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) }, spec: { containers: [] } };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("pod workers", () => {
  it("handles one update at a time per pod, and the latest pending update wins", async () => {
    const seen: string[] = [];
    const gate = deferred();
    const pods = new Map<string, Pod>();
    const w = new PodWorkers(
      {
        sync: async (p) => {
          seen.push(p.metadata.resourceVersion!);
          if (p.metadata.resourceVersion === "1") await gate.promise;
          return { requeueAfterMs: null };
        },
        terminate: async () => undefined,
        current: (uid) => pods.get(uid),
      },
      pino({ level: "silent" }),
    );
    w.update(pod("a", "1"));
    w.update(pod("a", "2"));
    w.update(pod("a", "3"));
    w.update(pod("b", "9"));
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(["1", "9"]); // a's sync 1 in flight; b's worker independent
    gate.resolve();
    await w.drain();
    expect(seen).toEqual(["1", "9", "3"]); // 2 was replaced by 3
  });

  it("terminating aborts the sync in flight, runs terminate once, and nothing runs after terminated", async () => {
    const events: string[] = [];
    let signalSeen: AbortSignal | null = null;
    const w = new PodWorkers(
      {
        sync: (p, signal) => {
          events.push(`sync ${p.metadata.resourceVersion}`);
          signalSeen = signal;
          return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ requeueAfterMs: null })));
        },
        terminate: async (p, removed) => {
          events.push(`terminate ${p.metadata.resourceVersion} removed=${removed}`);
        },
        current: () => undefined,
      },
      pino({ level: "silent" }),
    );
    w.update(pod("a", "1"));
    await new Promise((r) => setTimeout(r, 5));
    w.update(pod("a", "2", true));
    w.update(pod("a", "3")); // a late non-deleting update cannot undo termination
    await w.drain();
    expect(signalSeen!.aborted).toBe(true);
    expect(events).toEqual(["sync 1", "terminate 3 removed=false"]);
    expect(w.has("a")).toBe(false);
    w.update(pod("a", "4"));
    w.removed(pod("a", "5"));
    await w.drain();
    expect(events.length).toBe(2);
  });

  it("a pod removed from the API terminates without deleting it again", async () => {
    const events: string[] = [];
    const w = new PodWorkers(
      { sync: async () => ({ requeueAfterMs: null }), terminate: async (_p, removed) => void events.push(`removed=${removed}`), current: () => undefined },
      pino({ level: "silent" }),
    );
    w.update(pod("x", "1"));
    w.removed(pod("x", "1"));
    await w.drain();
    await new Promise((r) => setTimeout(r, 5));
    expect(events).toEqual(["removed=true"]);
  });
});
