// The API server's watch cache on a real MVCC store and watch hub: watchers
// get every change after their start exactly once and in order, also when
// the cache's one store watch is interrupted (it resumes from the last
// revision it saw) or falls behind a compaction (it relists and sends the
// difference); and a start older than its window is 410 Gone.

import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { lookupResource } from "../../src/api/resources.js";
import type { KubeObject } from "../../src/api/types.js";
import { CacheEvent, WatchCache } from "../../src/apiserver/watch-cache.js";
import { StatusError } from "../../src/apiserver/status.js";
import type { KvService } from "../../src/store/kv-service.js";
import { MvccStore, WatchHub, type WatchCancelListener, type WatchHandle } from "../../src/store/mvcc/index.js";

const info = lookupResource("configmaps")!;
const log = pino({ level: "silent" });

/** A store with the two KvService calls the cache makes, and a way to cut its watch. */
function storeWithCuttableWatch() {
  const store = new MvccStore();
  const hub = new WatchHub(store);
  let index = 0;
  let current: { handle: WatchHandle; onCancel: WatchCancelListener } | null = null;
  let watches = 0;
  const kv = {
    range: async (req: Parameters<MvccStore["range"]>[0]) => {
      const r = store.range(req);
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    },
    watch: (req: Parameters<WatchHub["watch"]>[0], onEvents: Parameters<WatchHub["watch"]>[1], onCancel: WatchCancelListener) => {
      watches++;
      const handle = hub.watch(req, onEvents, (reason) => {
        if (current?.handle === handle) current = null;
        onCancel(reason);
      });
      current = { handle, onCancel };
      return handle;
    },
  } as unknown as KvService;
  const put = (name: string, data: Record<string, string>) =>
    store.apply(
      { type: "put", request: { key: Buffer.from(`/registry/configmaps/default/${name}`), value: Buffer.from(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data })) } },
      ++index,
    );
  const del = (name: string) => store.apply({ type: "deleteRange", request: { key: Buffer.from(`/registry/configmaps/default/${name}`) } }, ++index);
  const compact = () => store.apply({ type: "compact", request: { revision: store.revision } }, ++index);
  /** The store watch ends as if the hub had dropped it (a slow consumer). */
  const cut = () => {
    const c = current;
    if (!c) throw new Error("no store watch to cut");
    current = null;
    // Detach silently, then report the interruption the way the hub would.
    c.handle.cancel();
    c.onCancel({ code: "slowWatcher", message: "cut by the test" });
  };
  return { store, hub, kv, put, del, compact, cut, watchCount: () => watches };
}

const settle = () => new Promise((r) => setTimeout(r, 20));
const describeEvent = (e: CacheEvent) => `${e.type} ${e.obj.metadata.name} ${JSON.stringify((e.obj as KubeObject & { data?: unknown }).data ?? null)}`;

describe("watch cache", () => {
  it("lists what exists, then delivers each change once, in order, from any start revision in its window", async () => {
    const s = storeWithCuttableWatch();
    s.put("a", { v: "1" });
    const cache = new WatchCache(s.kv, info, log);
    cache.start();
    await cache.ready;
    expect(cache.list().map((o) => o.metadata.name)).toEqual(["a"]);
    const startRev = cache.revision();
    s.put("b", { v: "1" });
    s.put("a", { v: "2" });
    s.del("b");
    await settle();
    const got: string[] = [];
    cache.addWatcher(startRev, { onEvent: (e) => got.push(describeEvent(e)), onEnd: () => {} });
    s.put("c", { v: "1" });
    await settle();
    expect(got).toEqual(['ADDED b {"v":"1"}', 'MODIFIED a {"v":"2"}', 'DELETED b {"v":"1"}', 'ADDED c {"v":"1"}']);
    expect(cache.revision()).toBe(s.store.revision);
    cache.close();
    s.hub.close();
  });

  it("a hundred watchers cost the store one watch", async () => {
    const s = storeWithCuttableWatch();
    const cache = new WatchCache(s.kv, info, log);
    cache.start();
    await cache.ready;
    const counts = new Array(100).fill(0);
    for (let i = 0; i < 100; i++) cache.addWatcher(cache.revision(), { onEvent: () => counts[i]++, onEnd: () => {} });
    for (let i = 0; i < 10; i++) s.put(`x${i}`, { i: String(i) });
    await settle();
    expect(counts.every((c) => c === 10)).toBe(true);
    expect(s.watchCount()).toBe(1);
    expect(s.hub.size).toBe(1);
    cache.close();
    s.hub.close();
  });

  it("resumes from the last revision it saw when its store watch is interrupted: no gap, no duplicate", async () => {
    const s = storeWithCuttableWatch();
    const cache = new WatchCache(s.kv, info, log);
    cache.start();
    await cache.ready;
    const got: string[] = [];
    cache.addWatcher(cache.revision(), { onEvent: (e) => got.push(describeEvent(e)), onEnd: () => {} });
    s.put("a", { v: "1" });
    s.cut();
    s.put("a", { v: "2" });
    s.put("b", { v: "1" });
    s.del("a");
    await settle();
    s.put("c", { v: "1" });
    await settle();
    expect(got).toEqual(['ADDED a {"v":"1"}', 'MODIFIED a {"v":"2"}', 'ADDED b {"v":"1"}', 'DELETED a {"v":"2"}', 'ADDED c {"v":"1"}']);
    expect(s.watchCount()).toBe(2);
    cache.close();
    s.hub.close();
  });

  it("relists after a compaction it missed and sends watchers the difference", async () => {
    const s = storeWithCuttableWatch();
    s.put("keep", { v: "1" });
    s.put("gone", { v: "1" });
    const cache = new WatchCache(s.kv, info, log);
    cache.start();
    await cache.ready;
    const got: string[] = [];
    cache.addWatcher(cache.revision(), { onEvent: (e) => got.push(describeEvent(e)), onEnd: () => {} });
    s.cut();
    s.put("keep", { v: "2" });
    s.del("gone");
    s.put("new", { v: "1" });
    s.compact();
    await settle();
    await settle();
    expect(got.sort()).toEqual(['ADDED new {"v":"1"}', 'DELETED gone {"v":"1"}', 'MODIFIED keep {"v":"2"}']);
    expect(cache.list().map((o) => o.metadata.name)).toEqual(["keep", "new"]);
    s.put("after", { v: "1" });
    await settle();
    expect(got.at(-1)).toBe('ADDED after {"v":"1"}');
    cache.close();
    s.hub.close();
  });

  it("answers 410 Gone for a start before its window", async () => {
    const s = storeWithCuttableWatch();
    s.put("a", { v: "0" });
    const cache = new WatchCache(s.kv, info, log);
    cache.start();
    await cache.ready;
    expect(() => cache.addWatcher(1, { onEvent: () => {}, onEnd: () => {} })).toThrow(StatusError);
    try {
      cache.addWatcher(1, { onEvent: () => {}, onEnd: () => {} });
    } catch (err) {
      expect((err as StatusError).code).toBe(410);
    }
    cache.close();
    s.hub.close();
  });
});
