// Records core/v1 Events about objects (what `kubectl describe` shows) for the
// controllers, scheduler, kubelet and node controller. Repeats of one event
// (same object, type, reason, message, source) are aggregated into one Event
// whose count and lastTimestamp are patched, and the recorder never floods the
// store: writes go out one at a time from a bounded queue, repeats waiting in
// the queue are merged, and each object has a token bucket (burst, then one
// event per refill period) as client-go's EventSourceObjectSpamFilter does.
// Recording never throws and never blocks the caller.

import type { Event, KubeObject } from "../api/types.js";
import { KubeApiError, type KubeClient } from "./kube-client.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  /** Events one object may emit at once before rate limiting (client-go: 25). */
  burst?: number;
  /** One more token per this many ms (client-go: 5 min; shorter here). */
  refillMs?: number;
  /** Pending writes kept before new events are dropped. */
  maxPending?: number;
  /** Aggregation records remembered (least recently used are dropped). */
  maxRecords?: number;
  onError?(err: Error): void;
  now?: () => number;
}

interface Aggregate {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  /** false until the Event exists in the store */
  created: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class EventRecorder {
  private readonly records = new Map<string, Aggregate>();
  private readonly buckets = new Map<string, Bucket>();
  /** aggregation keys with a write waiting, in order */
  private readonly pending = new Map<string, Event>();
  private draining = false;
  private closed = false;
  private readonly o: Required<Omit<EventRecorderOptions, "onError">> & Pick<EventRecorderOptions, "onError">;

  constructor(
    private readonly client: KubeClient,
    readonly component: string,
    readonly host?: string,
    opts: EventRecorderOptions = {},
  ) {
    this.o = { burst: 25, refillMs: 10_000, maxPending: 1000, maxRecords: 4096, now: Date.now, ...opts };
  }

  /** Records an event about obj. Fire and forget. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (this.closed) return;
    const meta = obj.metadata;
    const involved = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: meta.namespace,
      name: meta.name,
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
    };
    const objKey = `${obj.kind}/${meta.namespace ?? ""}/${meta.name}/${meta.uid ?? ""}`;
    const key = `${objKey}/${type}/${reason}/${message}/${this.component}/${this.host ?? ""}`;
    const nowMs = this.o.now();
    // metav1.Time: RFC 3339 in whole seconds, as Kubernetes writes it.
    const now = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, "Z");
    let agg = this.records.get(key);
    if (agg) {
      agg.count++;
      agg.lastTimestamp = now;
      this.records.delete(key); // re-insert: most recently used last
      this.records.set(key, agg);
    } else {
      if (!this.takeToken(objKey, nowMs)) return;
      agg = {
        namespace: meta.namespace ?? "default",
        name: `${meta.name}.${(BigInt(nowMs) * 1_000_000n + BigInt(this.records.size % 1_000_000)).toString(16)}`,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        created: false,
      };
      this.records.set(key, agg);
      while (this.records.size > this.o.maxRecords) this.records.delete(this.records.keys().next().value!);
    }
    // A repeat already waiting is merged: the write that goes out carries the latest count.
    if (!this.pending.has(key) && this.pending.size >= this.o.maxPending) return;
    this.pending.set(key, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: agg.name, namespace: agg.namespace },
      involvedObject: involved,
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component,
      reportingInstance: this.host ?? "",
      firstTimestamp: agg.firstTimestamp,
      lastTimestamp: agg.lastTimestamp,
      count: agg.count,
    });
    void this.drain();
  }

  /** Waits (at most timeoutMs) until every queued write is done. */
  async flush(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.pending.size > 0 || this.draining) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  /** Waits for pending writes (bounded by timeoutMs), then refuses new events. */
  async close(timeoutMs = 2000): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    this.pending.clear();
  }

  /** Writes still queued (for tests and metrics). */
  get pendingCount(): number {
    return this.pending.size;
  }

  private takeToken(objKey: string, nowMs: number): boolean {
    let b = this.buckets.get(objKey);
    if (!b) {
      b = { tokens: this.o.burst, at: nowMs };
      this.buckets.set(objKey, b);
      if (this.buckets.size > this.o.maxRecords) this.buckets.delete(this.buckets.keys().next().value!);
    }
    const refill = Math.floor((nowMs - b.at) / this.o.refillMs);
    if (refill > 0) {
      b.tokens = Math.min(this.o.burst, b.tokens + refill);
      b.at += refill * this.o.refillMs;
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.size > 0 && !this.closed) {
        const [key, ev] = this.pending.entries().next().value as [string, Event];
        this.pending.delete(key);
        await this.write(key, ev);
      }
    } finally {
      this.draining = false;
    }
  }

  private async write(key: string, ev: Event): Promise<void> {
    const agg = this.records.get(key);
    try {
      if (agg?.created || (ev.count ?? 1) > 1) {
        try {
          await this.client.patch("events", ev.metadata.namespace, ev.metadata.name!, { count: ev.count, lastTimestamp: ev.lastTimestamp, message: ev.message }, "merge");
          if (agg) agg.created = true;
          return;
        } catch (err) {
          // Deleted (or never written): fall through and create it again.
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
      }
      await this.client.create("events", ev, { namespace: ev.metadata.namespace });
      if (agg) agg.created = true;
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 409 && agg) {
        agg.created = true; // it exists already: the next repeat patches it
        return;
      }
      this.o.onError?.(err as Error);
    }
  }
}
