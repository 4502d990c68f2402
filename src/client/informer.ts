// A list+watch cache of one resource (client-go's shared informer, in small):
// it lists, then watches from the list's resourceVersion, keeps every object
// in memory keyed "namespace/name" (or "name"), and tells handlers what
// changed. On 410 Gone or a broken stream it resumes from the last seen
// resourceVersion, relisting only when that is compacted away; after a relist
// it reports the differences (adds, updates, deletes) so handlers never miss
// a deletion. Handlers must only enqueue work: they run on the watch path.

import type { KubeObject, WatchEvent } from "../api/types.js";
import { KubeApiError, type KubeClient, type ListOptions, type WatchHandle } from "./kube-client.js";

export interface InformerHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions extends Pick<ListOptions, "namespace" | "labelSelector" | "fieldSelector"> {
  /** Delay before re-establishing a failed list or watch (doubles up to 5 s). */
  retryMs?: number;
  onError?(err: Error): void;
  /**
   * Restart a watch that delivered nothing (no event, no bookmark) for this
   * long: a master cut off by a partition leaves the stream open and silent.
   * Use a few times the API server's bookmark interval. Off when unset.
   */
  idleTimeoutMs?: number;
}

export function objectKey(obj: Pick<KubeObject, "metadata">): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : String(obj.metadata.name);
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private watchHandle: WatchHandle | null = null;
  private running = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private lastResourceVersion = "";
  /** When the current watch last delivered anything (for idleTimeoutMs). */
  private lastActivity = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly client: KubeClient,
    readonly resource: string,
    private readonly opts: InformerOptions = {},
  ) {}

  addHandlers(h: InformerHandlers<T>): this {
    this.handlers.push(h);
    return this;
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    void this.listAndWatch();
    return this;
  }

  stop(): void {
    this.running = false;
    this.watchHandle?.stop();
    this.watchHandle = null;
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  /** The resourceVersion the cache is at (of the last list or event). */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  private async listAndWatch(): Promise<void> {
    if (!this.running) return;
    try {
      const list = await this.client.listAll<T>(this.resource, {
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      });
      if (!this.running) return;
      this.replace(list.items);
      this.lastResourceVersion = list.metadata.resourceVersion ?? "";
      this.markSynced();
      this.failures = 0;
      this.watchFrom(this.lastResourceVersion);
    } catch (err) {
      this.retry(err as Error, () => void this.listAndWatch());
    }
  }

  private watchFrom(resourceVersion: string): void {
    if (!this.running) return;
    const handle = this.client.watch<T>(
      this.resource,
      {
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        resourceVersion,
        allowWatchBookmarks: true,
      },
      (e) => this.apply(e),
    );
    this.watchHandle = handle;
    this.watchIdle(handle);
    void handle.done.then((err) => {
      if (!this.running || this.watchHandle !== handle) return;
      if (err instanceof KubeApiError && err.gone) {
        // Our resourceVersion was compacted away: relist.
        void this.listAndWatch();
        return;
      }
      if (err) return this.retry(err, () => this.watchFrom(this.lastResourceVersion));
      this.failures = 0;
      this.watchFrom(this.lastResourceVersion);
    });
  }

  private retry(err: Error, again: () => void): void {
    if (!this.running) return;
    this.failures++;
    this.opts.onError?.(err);
    const delay = Math.min(5000, (this.opts.retryMs ?? 250) * 2 ** Math.min(this.failures - 1, 5));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      again();
    }, delay);
  }

  /** Ends `handle` when it stays silent past idleTimeoutMs; its done handler then watches again. */
  private watchIdle(handle: WatchHandle): void {
    const idle = this.opts.idleTimeoutMs;
    if (!idle) return;
    this.lastActivity = Date.now();
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = setInterval(() => {
      if (this.watchHandle !== handle) return;
      if (Date.now() - this.lastActivity > idle) {
        this.opts.onError?.(new Error(`watch of ${this.resource} silent for ${idle} ms; watching again`));
        handle.stop();
      }
    }, Math.max(100, Math.floor(idle / 3)));
  }

  private apply(e: WatchEvent<T>): void {
    this.lastActivity = Date.now();
    const rv = e.object?.metadata?.resourceVersion;
    if (rv) this.lastResourceVersion = rv;
    if (e.type === "BOOKMARK") return;
    const key = objectKey(e.object);
    const old = this.cache.get(key);
    if (e.type === "DELETED") {
      this.cache.delete(key);
      for (const h of this.handlers) h.onDelete?.(old ?? e.object);
      return;
    }
    this.cache.set(key, e.object);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(old, e.object);
      else h.onAdd?.(e.object);
    }
  }

  /** Replaces the cache with a fresh list, telling handlers the differences. */
  private replace(items: T[]): void {
    const fresh = new Map(items.map((o) => [objectKey(o), o]));
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        for (const h of this.handlers) h.onDelete?.(old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) for (const h of this.handlers) h.onAdd?.(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) for (const h of this.handlers) h.onUpdate?.(old, obj);
    }
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }
}
