// The kubelet relies on Informer's idleTimeoutMs to leave a watch that a
// partition made silent (the stream stays open, nothing arrives).
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KubeObject, WatchEvent } from "../../src/api/types.js";
import type { KubeClient, WatchHandle } from "../../src/client/kube-client.js";
import { Informer } from "../../src/client/informer.js";

afterEach(() => vi.useRealTimers());

function fakeClient() {
  const watches: { stopped: boolean; emit: (e: WatchEvent) => void }[] = [];
  const client = {
    listAll: async () => ({ metadata: { resourceVersion: "5" }, items: [] }),
    watch: (_r: string, _o: unknown, onEvent: (e: WatchEvent) => void): WatchHandle => {
      let settle!: (v: null) => void;
      const done = new Promise<null>((r) => (settle = r));
      const w = { stopped: false, emit: onEvent };
      watches.push(w);
      return {
        stop: () => {
          w.stopped = true;
          settle(null);
        },
        done,
      };
    },
  } as unknown as KubeClient;
  return { client, watches };
}

describe("informer idle watch", () => {
  it("a silent watch is replaced after idleTimeoutMs; bookmarks keep it alive", async () => {
    vi.useFakeTimers();
    const { client, watches } = fakeClient();
    const errors: string[] = [];
    const inf = new Informer<KubeObject>(client, "pods", { idleTimeoutMs: 3000, onError: (e) => errors.push(e.message) }).start();
    await vi.advanceTimersByTimeAsync(10);
    expect(watches.length).toBe(1);
    // Bookmarks every 2 s: the watch stays.
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(2000);
      watches[0]!.emit({ type: "BOOKMARK", object: { metadata: { resourceVersion: String(6 + i) } } });
    }
    expect(watches.length).toBe(1);
    // Then silence: it is stopped and a new watch starts from the last resourceVersion.
    await vi.advanceTimersByTimeAsync(4100);
    expect(watches[0]!.stopped).toBe(true);
    expect(watches.length).toBe(2);
    expect(inf.resourceVersion).toBe("8");
    expect(errors[0]).toContain("silent");
    inf.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(watches.length).toBe(2);
  });
});
