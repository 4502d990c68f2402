// A watch cache per resource on each master, as kube-apiserver's cacher: one
// store watch keeps every object of the resource in memory plus a sliding
// window of recent events, so lists at resourceVersion=0 and every watch are
// served from memory and a hundred watchers cost the store one watch. When
// the store's watch ends (slow consumer, restart), the cache resumes it from
// the last revision it saw; if that revision was compacted it relists and
// sends watchers the difference, so no watcher misses the final state.

import type { Logger } from "pino";
import type { KubeObject, Status } from "../api/types.js";
import type { ResourceInfo } from "../api/resources.js";
import type { KvService } from "../store/kv-service.js";
import { prefixRangeEnd, type WatchCancelReason, type WatchEvent as StoreWatchEvent, type WatchHandle } from "../store/mvcc/index.js";
import { decodeKv, enc, storeFailure } from "./storage.js";
import { errors } from "./status.js";

export type CacheEventType = "ADDED" | "MODIFIED" | "DELETED";

/** Cached objects are never mutated, so each one's JSON is computed once (lists and every watcher reuse it). */
const jsonMemo = new WeakMap<object, string>();

export function objectJson(o: KubeObject): string {
  let s = jsonMemo.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    jsonMemo.set(o, s);
  }
  return s;
}

export class CacheEvent {
  constructor(
    readonly type: CacheEventType,
    readonly key: string,
    /** The new state; for DELETED the last state, with the deletion's resourceVersion. */
    readonly obj: KubeObject,
    /** The state before this event (for selector transitions), null for ADDED. */
    readonly prev: KubeObject | null,
    readonly rev: number,
  ) {}
  /** The object's JSON, computed once however many watchers receive it. */
  objectJson(): string {
    return objectJson(this.obj);
  }
}

export interface CacheWatcher {
  /** Called for each event after the watcher's start revision, in order. */
  onEvent(ev: CacheEvent): void;
  /** The watch ended (cache closed, or the store's watch ended); `status` is sent to the client as an ERROR event. */
  onEnd(reason: string, status?: Status): void;
}

/**
 * Most events kept per resource for resumption from memory; a watch from an
 * older revision is served from the store (410 Gone only once compacted).
 * 5,000 keeps a burst of writes resumable without holding every version of
 * every object (20,000 cost about 60 MB more per master at 3,000 pods).
 * PINSETTER_WATCH_CACHE_WINDOW overrides it (tests).
 */
export const WATCH_CACHE_WINDOW = Math.max(10, Number(process.env.PINSETTER_WATCH_CACHE_WINDOW) || 5_000);

export class WatchCache {
  private readonly objects = new Map<string, KubeObject>();
  private sortedKeys: string[] | null = null;
  private window: CacheEvent[] = [];
  private windowHead = 0;
  /** Every event with rev > windowStart is in the window. */
  private windowStart = 0;
  private lastRev = 0;
  private handle: WatchHandle | null = null;
  private readonly watchers = new Set<CacheWatcher>();
  private closed = false;
  private readyResolve!: () => void;
  readonly ready: Promise<void>;
  /** The initial list is in (synchronous form of `ready`). */
  isReady = false;
  private waiters: { rev: number; resolve: () => void }[] = [];
  private readonly prefix: string;

  constructor(
    private readonly kv: KvService,
    readonly info: ResourceInfo,
    private readonly log: Logger,
  ) {
    this.prefix = info.registryPrefix;
    this.ready = new Promise((r) => (this.readyResolve = r));
  }

  start(): void {
    void this.initialize(true);
  }

  /** The revision this cache reflects: every change up to it has been applied here. */
  revision(): number {
    const h = this.handle;
    const progressed = h && !h.canceled && h.pendingEvents === 0 ? h.nextRevision - 1 : 0;
    return Math.max(this.lastRev, progressed);
  }

  get oldestResumable(): number {
    return this.windowStart;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Objects in key order (a snapshot array; the objects themselves are shared, never mutate them). */
  list(): KubeObject[] {
    if (!this.sortedKeys) this.sortedKeys = [...this.objects.keys()].sort();
    return this.sortedKeys.map((k) => this.objects.get(k)!);
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  /** Resolves once the cache has caught up with `rev`; rejects after timeoutMs (504 as Kubernetes). */
  async waitFor(rev: number, timeoutMs = 3000): Promise<void> {
    await this.ready;
    if (this.revision() >= rev) return;
    await new Promise<void>((resolve, reject) => {
      const w = { rev, resolve };
      this.waiters.push(w);
      const poll = setInterval(() => {
        if (this.revision() >= rev) {
          clearInterval(poll);
          clearTimeout(timer);
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve();
        }
      }, 5);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(errors.timeout(`Too large resource version: ${rev}, current: ${this.revision()}`));
      }, timeoutMs);
      w.resolve = () => {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Starts a watcher receiving every event after `fromRev` (0: from now).
   * Throws 410 Gone when events after fromRev have left the window.
   */
  addWatcher(fromRev: number, w: CacheWatcher): () => void {
    if (fromRev > 0 && fromRev < this.windowStart) {
      throw errors.gone(`too old resource version: ${fromRev} (${this.windowStart})`);
    }
    if (fromRev > 0) {
      for (let i = this.windowHead; i < this.window.length; i++) {
        const ev = this.window[i]!;
        if (ev.rev > fromRev) w.onEvent(ev);
      }
    }
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  close(): void {
    this.closed = true;
    this.handle?.cancel();
    for (const w of this.watchers) w.onEnd("closed");
    this.watchers.clear();
  }

  // ------------------------------------------------------------------ feed

  private async initialize(first: boolean): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const r = await this.kv.range({ key: enc(this.prefix), rangeEnd: prefixRangeEnd(enc(this.prefix)) }, true);
        const fresh = new Map<string, KubeObject>();
        for (const kv of r.kvs) fresh.set(Buffer.from(kv.key).toString("utf8"), decodeKv(kv));
        if (first) {
          for (const [k, v] of fresh) this.objects.set(k, v);
          this.windowStart = r.revision;
        } else {
          this.resync(fresh, r.revision);
        }
        this.lastRev = Math.max(this.lastRev, r.revision);
        this.sortedKeys = null;
        this.startWatch(r.revision + 1);
        this.isReady = true;
        this.readyResolve();
        return;
      } catch (err) {
        this.log.warn({ err: storeFailure(err).message, resource: this.info.resource, attempt }, "watch cache: list failed; retrying");
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  /** After a gap we cannot replay: tell watchers the difference between what they saw and now. */
  private resync(fresh: Map<string, KubeObject>, rev: number): void {
    for (const [k, old] of this.objects) {
      if (!fresh.has(k)) {
        const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(rev) } };
        this.apply(new CacheEvent("DELETED", k, gone, old, rev));
      }
    }
    for (const [k, obj] of fresh) {
      const old = this.objects.get(k);
      if (!old) this.apply(new CacheEvent("ADDED", k, obj, null, rev));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.apply(new CacheEvent("MODIFIED", k, obj, old, rev));
    }
  }

  private startWatch(fromRev: number): void {
    if (this.closed) return;
    this.handle = this.kv.watch(
      { key: enc(this.prefix), rangeEnd: prefixRangeEnd(enc(this.prefix)), startRevision: fromRev },
      (events, revision) => this.onStoreEvents(events, revision),
      (reason) => this.onStoreCancel(reason),
    );
  }

  private onStoreEvents(events: StoreWatchEvent[], revision: number): void {
    for (const e of events) {
      const key = Buffer.from(e.kv.key).toString("utf8");
      const prev = this.objects.get(key) ?? null;
      if (e.type === "DELETE") {
        if (!prev) continue;
        const gone = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(e.kv.modRevision) } };
        this.apply(new CacheEvent("DELETED", key, gone, prev, revision));
      } else {
        let obj: KubeObject;
        try {
          obj = decodeKv(e.kv);
        } catch (err) {
          this.log.error({ err, key }, "watch cache: undecodable object in the store; skipped");
          continue;
        }
        this.apply(new CacheEvent(prev ? "MODIFIED" : "ADDED", key, obj, prev, revision));
      }
    }
    this.lastRev = Math.max(this.lastRev, revision);
    if (this.waiters.length) for (const w of [...this.waiters]) if (w.rev <= this.revision()) w.resolve();
  }

  private apply(ev: CacheEvent): void {
    if (ev.type === "DELETED") {
      this.objects.delete(ev.key);
      this.sortedKeys = null;
    } else {
      if (!this.objects.has(ev.key)) this.sortedKeys = null;
      this.objects.set(ev.key, ev.obj);
    }
    this.window.push(ev);
    if (this.window.length - this.windowHead > WATCH_CACHE_WINDOW) this.evict();
    for (const w of this.watchers) {
      try {
        w.onEvent(ev);
      } catch (err) {
        this.log.error({ err }, "watch cache: a watcher failed; dropping it");
        this.watchers.delete(w);
      }
    }
  }

  private evict(): void {
    // Evict whole revisions so windowStart keeps its meaning.
    const target = this.windowHead + Math.ceil(WATCH_CACHE_WINDOW / 10);
    let i = this.windowHead;
    while (i < this.window.length && i < target) i++;
    const lastRev = this.window[i - 1]!.rev;
    while (i < this.window.length && this.window[i]!.rev === lastRev) i++;
    this.windowStart = lastRev;
    this.windowHead = i;
    if (this.windowHead > WATCH_CACHE_WINDOW) {
      this.window = this.window.slice(this.windowHead);
      this.windowHead = 0;
    }
  }

  private onStoreCancel(reason: WatchCancelReason): void {
    this.handle = null;
    if (this.closed || reason.code === "closed" || reason.code === "canceled") return;
    if (reason.code === "compacted") {
      this.log.warn({ resource: this.info.resource, reason: reason.message }, "watch cache: store watch compacted; relisting");
      void this.initialize(false);
      return;
    }
    this.log.warn({ resource: this.info.resource, reason: reason.message, from: this.lastRev + 1 }, "watch cache: store watch ended; resuming");
    setImmediate(() => this.startWatch(this.lastRev + 1));
  }
}
