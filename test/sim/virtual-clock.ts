// A virtual clock for the driver simulator: RaftNode's timers and the memory
// network's deliveries run in virtual time, in a total order (time, then
// scheduling order), so one seed always runs the same way. Between two
// events every pending promise settles (storage and the driver's awaits are
// microtasks), which is what a real event loop guarantees too.

import type { DriverClock, TimerHandle } from "../../raft/node.js";
import { BinaryHeap } from "../../src/lib/binary-heap.js";

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
  /** Timers by (at, seq). */
  private readonly heap = new BinaryHeap<Timer>(before);
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
    while (this.heap.size > 0 && this.heap.peek()!.at <= until && !stop()) {
      const timer = this.heap.pop()!;
      if (this.cancelled.has(timer.id)) {
        if (timer.every === null) this.cancelled.delete(timer.id);
        continue;
      }
      this.t = Math.max(this.t, timer.at);
      if (timer.every !== null) {
        timer.at = this.t + timer.every;
        timer.seq = this.seq++;
        this.heap.push(timer);
      }
      this.events++;
      timer.fn();
      await settle();
    }
    if (!stop()) this.t = Math.max(this.t, until);
  }

  private push(fn: () => void, delay: number, every: number | null): number {
    const timer: Timer = { id: this.nextId++, at: this.t + delay, seq: this.seq++, fn, every };
    this.heap.push(timer);
    return timer.id;
  }

}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
