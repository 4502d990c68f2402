// The scheduling queue (kube-scheduler's PriorityQueue, in small): activeQ
// (ready to try, by priority then arrival), backoffQ (failed recently; waits
// 1 s doubling to 10 s per attempt) and unschedulable pods (wait for a
// cluster change: a node added or changed, a pod deleted). A change seen while
// a pod was being scheduled sends that pod to backoff rather than to the
// unschedulable set, so the event is never lost.

import type { PodInfo } from "./types.js";
import { BinaryHeap } from "../lib/binary-heap.js";

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Unschedulable pods are retried at least this often even without events. */
  maxUnschedulableMs?: number;
  now?: () => number;
}

interface Entry {
  pi: PodInfo;
  attempts: number;
  /** When the pod first entered the queue (ordering within a priority). */
  since: number;
  seq: number;
  /** When the last attempt failed. */
  failedAt: number;
  /** Plugins that rejected the pod last time (for event-specific moves). */
  rejectedBy: ReadonlySet<string>;
}

export class SchedulingQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly active = new BinaryHeap<Entry>(before);
  private readonly activeSet = new Set<Entry>();
  private readonly backoff = new Set<string>();
  private readonly unschedulable = new Set<string>();
  /** Popped and being scheduled or bound. */
  private readonly inFlight = new Set<string>();
  private waiters: ((pi: PodInfo | null) => void)[] = [];
  private closed = false;
  private seq = 0;
  private cycle = 0;
  private moveRequestCycle = -1;
  private readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;

  constructor(opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 30_000;
  }

  /** A new pending pod, or a newer version of one we hold. */
  addOrUpdate(pi: PodInfo, specChanged = true): void {
    const e = this.entries.get(pi.key);
    if (e) {
      e.pi = pi;
      // A changed pod may fit now: give it another try once its backoff is over.
      if (specChanged && this.unschedulable.delete(pi.key)) this.toBackoffOrActive(e);
      return;
    }
    const entry: Entry = { pi, attempts: 0, since: this.now(), seq: this.seq++, failedAt: 0, rejectedBy: new Set() };
    this.entries.set(pi.key, entry);
    if (!this.inFlight.has(pi.key)) this.pushActive(entry);
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (e) this.activeSet.delete(e);
    this.entries.delete(key);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The next pod to schedule; waits while none is ready; null once closed. */
  pop(): Promise<PodInfo | null> {
    const pi = this.popNow();
    if (pi || this.closed) return Promise.resolve(pi);
    return new Promise((r) => this.waiters.push(r));
  }

  popNow(): PodInfo | null {
    while (this.active.size > 0) {
      const e = this.active.pop()!;
      if (!this.activeSet.delete(e)) continue; // deleted meanwhile
      this.inFlight.add(e.pi.key);
      this.cycle++;
      return e.pi;
    }
    return null;
  }

  /** Every pod popped so far belongs to a cycle; failures compare it with the last move request. */
  get schedulingCycle(): number {
    return this.cycle;
  }

  /** The pod is bound (or gone): forget it. */
  done(key: string): void {
    this.inFlight.delete(key);
    this.delete(key);
  }

  /** The pod fits nowhere (or its binding failed); `cycle` is the schedulingCycle when it was popped. */
  requeueUnschedulable(key: string, cycle: number, rejectedBy: ReadonlySet<string> = new Set()): void {
    this.inFlight.delete(key);
    const e = this.entries.get(key);
    if (!e) return;
    e.attempts++;
    e.failedAt = this.now();
    e.rejectedBy = rejectedBy;
    if (this.moveRequestCycle >= cycle) this.backoff.add(key);
    else this.unschedulable.add(key);
  }

  /** A pod whose attempt failed for a reason other than fit (API error): retry after backoff. */
  requeueBackoff(key: string): void {
    this.inFlight.delete(key);
    const e = this.entries.get(key);
    if (!e) return;
    e.attempts++;
    e.failedAt = this.now();
    this.backoff.add(key);
  }

  /** The cluster changed in a way that may let unschedulable pods fit. */
  moveAllToActiveOrBackoff(): void {
    for (const key of this.unschedulable) {
      const e = this.entries.get(key);
      if (e) this.toBackoffOrActive(e);
    }
    this.unschedulable.clear();
    this.moveRequestCycle = this.cycle;
  }

  /**
   * A change that can only help pods some plugins rejected (a pod placed helps
   * pod affinity and spreading, never a lack of cpu): moves just those.
   */
  moveRejectedBy(plugins: readonly string[]): void {
    for (const key of [...this.unschedulable]) {
      const e = this.entries.get(key);
      if (!e || !plugins.some((p) => e.rejectedBy.has(p))) continue;
      this.unschedulable.delete(key);
      this.toBackoffOrActive(e);
    }
  }

  /** Moves pods whose backoff ended to active, and long-unschedulable ones too. Call periodically. */
  flush(): void {
    const now = this.now();
    for (const key of [...this.backoff]) {
      const e = this.entries.get(key);
      if (!e) {
        this.backoff.delete(key);
        continue;
      }
      if (this.backoffUntil(e) <= now) {
        this.backoff.delete(key);
        this.pushActive(e);
      }
    }
    for (const key of [...this.unschedulable]) {
      const e = this.entries.get(key);
      if (!e) {
        this.unschedulable.delete(key);
        continue;
      }
      if (now - e.failedAt >= this.maxUnschedulableMs) {
        this.unschedulable.delete(key);
        this.toBackoffOrActive(e);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(null);
  }

  stats(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    return { active: this.activeSet.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size, inFlight: this.inFlight.size };
  }

  backoffDurationMs(attempts: number): number {
    if (attempts <= 0) return 0;
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(attempts - 1, 30));
  }

  private backoffUntil(e: Entry): number {
    return e.failedAt + this.backoffDurationMs(e.attempts);
  }

  private toBackoffOrActive(e: Entry): void {
    if (this.backoffUntil(e) > this.now()) this.backoff.add(e.pi.key);
    else this.pushActive(e);
  }

  private pushActive(e: Entry): void {
    if (this.activeSet.has(e)) return;
    const w = this.waiters.shift();
    if (w) {
      this.inFlight.add(e.pi.key);
      this.cycle++;
      w(e.pi);
      return;
    }
    this.activeSet.add(e);
    this.active.push(e);
  }
}

// The active queue's order: higher priority first, then earlier arrival.
function before(a: Entry, b: Entry): boolean {
  const pa = a.pi.pod.spec.priority ?? 0;
  const pb = b.pi.pod.spec.priority ?? 0;
  if (pa !== pb) return pa > pb;
  return a.seq < b.seq;
}

