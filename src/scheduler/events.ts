// Events through the API (core/v1 events), as client-go's recorder writes
// them: one Event per (object, type, reason, message), repeats aggregated by
// bumping count and lastTimestamp, written in the background so that no
// decision waits on them, and dropped (with a log line) rather than queued
// without bound when the API is slow.

import type { Logger } from "pino";
import type { Event, ObjectReference } from "../api/types.js";
import type { KubeClient } from "../client/kube-client.js";

export type EventType = "Normal" | "Warning";

export interface Recorder {
  event(ref: ObjectReference, type: EventType, reason: string, message: string): void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/** metav1.Time: RFC 3339 in whole seconds. */
export function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class EventRecorder implements Recorder {
  private readonly seen = new Map<string, Seen>();
  private readonly pending: (() => Promise<void>)[] = [];
  private running = 0;
  private closed = false;

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly logger: Logger,
    private readonly opts: { host?: string; maxPending?: number; concurrency?: number; maxSeen?: number; now?: () => number } = {},
  ) {}

  event(ref: ObjectReference, type: EventType, reason: string, message: string): void {
    if (this.closed) return;
    const key = [ref.namespace ?? "", ref.kind ?? "", ref.name ?? "", ref.uid ?? "", type, reason, message].join("\u0000");
    this.enqueue(() => this.write(key, ref, type, reason, message));
  }

  /** Stops writing; pending events are dropped. */
  close(): void {
    this.closed = true;
    this.pending.length = 0;
  }

  private enqueue(job: () => Promise<void>): void {
    if (this.pending.length >= (this.opts.maxPending ?? 1000)) {
      this.logger.warn({ component: this.component }, "event queue full, dropping an event");
      return;
    }
    this.pending.push(job);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running < (this.opts.concurrency ?? 4) && this.pending.length > 0) {
      const job = this.pending.shift()!;
      this.running++;
      void job()
        .catch((err: unknown) => this.logger.debug({ err }, "event write failed"))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private async write(key: string, ref: ObjectReference, type: EventType, reason: string, message: string): Promise<void> {
    if (this.closed) return;
    const now = metaTime((this.opts.now ?? Date.now)());
    const prev = this.seen.get(key);
    if (prev) {
      try {
        await this.client.patch("events", prev.namespace, prev.name, { count: prev.count + 1, lastTimestamp: now }, "merge");
        prev.count++;
        // Most recently used last, for eviction from `seen`.
        this.seen.delete(key);
        this.seen.set(key, prev);
        return;
      } catch (err) {
        if (!(err instanceof Error && "code" in err && (err as { code: number }).code === 404)) throw err;
        this.seen.delete(key);
      }
    }
    const namespace = ref.namespace || "default";
    const name = `${ref.name ?? "unknown"}.${(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
    const ev: Event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: { component: this.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: this.component,
      reportingInstance: this.opts.host ?? "",
    };
    await this.client.create("events", ev, { namespace });
    this.seen.set(key, { name, namespace, count: 1, firstTimestamp: now });
    if (this.seen.size > (this.opts.maxSeen ?? 4096)) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

/** An ObjectReference to a stored object. */
export function refTo(obj: { apiVersion?: string; kind?: string; metadata: { namespace?: string; name?: string; uid?: string; resourceVersion?: string } }, kind: string, apiVersion = "v1"): ObjectReference {
  return {
    apiVersion: obj.apiVersion ?? apiVersion,
    kind: obj.kind ?? kind,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    resourceVersion: obj.metadata.resourceVersion,
  };
}
