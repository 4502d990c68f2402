// A virtual clock for the driver simulator: RaftNode's timers and the memory
// network's deliveries run in virtual time, in a total order (time, then
// scheduling order), so one seed always runs the same way. Between two
// events every pending promise settles (storage and the driver's awaits are
// microtasks), which is what a real event loop guarantees too.

import type { DriverClock, TimerHandle } from "../../raft/node.js";

interface Timer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
  every: number | null;
}

/** Lets every pending microtask run (a real macrotask turn). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualClock implements DriverClock {
  private t = 0;
  private seq = 0;
  private nextId = 1;
  private readonly heap: Timer[] = [];
  private readonly cancelled = new Set<number>();
  /** Events run so far. */
  events = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.push(fn, Math.max(0, ms), null);
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === "number") this.cancelled.add(handle);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.push(fn, Math.max(1, ms), Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }

  setImmediate(fn: () => void): TimerHandle {
    return this.push(fn, 0, null);
  }

  /** Runs events in order until virtual time `until` (or until `stop` says so, checked between events). */
  async runUntil(until: number, stop: () => boolean = () => false): Promise<void> {
    await settle();
    while (this.heap.length > 0 && this.heap[0]!.at <= until && !stop()) {
      const timer = this.pop();
      if (this.cancelled.has(timer.id)) {
        if (timer.every === null) this.cancelled.delete(timer.id);
        continue;
      }
      this.t = Math.max(this.t, timer.at);
      if (timer.every !== null) {
        timer.at = this.t + timer.every;
        timer.seq = this.seq++;
        this.insert(timer);
      }
      this.events++;
      timer.fn();
      await settle();
    }
    if (!stop()) this.t = Math.max(this.t, until);
  }

  private push(fn: () => void, delay: number, every: number | null): number {
    const timer: Timer = { id: this.nextId++, at: this.t + delay, seq: this.seq++, fn, every };
    this.insert(timer);
    return timer.id;
  }

  // A binary min-heap on (at, seq).
  private insert(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
