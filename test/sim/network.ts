// The simulated network: messages in flight ordered by delivery time, with
// seeded loss, duplication, delay (hence reordering) and partitions expressed
// as sets of blocked directed links. A partition drops what is in flight on a
// cut link too, as a real one would.

import type { Message, NodeId } from "../../raft/core/types.js";
import type { Prng } from "./prng.js";
import type { Trace } from "./trace.js";

interface InFlight {
  at: number;
  seq: number;
  m: Message;
}

export interface Cut {
  label: string;
  /** Directed links "from>to". */
  links: Set<string>;
  until: number;
}

export interface NetworkFaults {
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice (never for client proposals: see send()). */
  dup: number;
  /** Delay in steps, uniform in [minDelay, maxDelay]. */
  minDelay: number;
  maxDelay: number;
  /** Probability of a long delay, uniform in [maxDelay, longDelay]: stale, reordered messages. */
  longRate: number;
  longDelay: number;
}

export const calmNetwork: NetworkFaults = { loss: 0, dup: 0, minDelay: 1, maxDelay: 2, longRate: 0, longDelay: 2 };

function link(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

export class SimNetwork {
  private heap: InFlight[] = [];
  private seq = 0;
  private cuts: Cut[] = [];
  private blocked = new Set<string>();
  private nextExpiry = Number.POSITIVE_INFINITY;
  faults: NetworkFaults = { ...calmNetwork };
  sent = 0;
  lost = 0;
  duplicated = 0;
  cutDrops = 0;

  constructor(
    private readonly rng: Prng,
    private readonly trace: Trace,
  ) {}

  get inFlight(): number {
    return this.heap.length;
  }

  send(m: Message, now: number): void {
    this.sent++;
    const f = this.faults;
    if (this.rng.chance(f.loss)) {
      this.lost++;
      this.trace.msg(now, m, "lost");
      return;
    }
    this.push(m, now + this.delay());
    // A duplicated proposal would legitimately be appended twice (raft does not
    // deduplicate client requests, and our TCP transport never duplicates), so
    // only raft's own messages are duplicated.
    if (m.type !== "prop" && this.rng.chance(f.dup)) {
      this.duplicated++;
      this.push(m, now + this.delay());
    }
  }

  /** Re-queues a message for a later time (its receiver is paused). */
  requeue(m: Message, at: number): void {
    this.push(m, at);
  }

  private delay(): number {
    const f = this.faults;
    if (this.rng.chance(f.longRate)) return this.rng.range(f.maxDelay, Math.max(f.maxDelay, f.longDelay));
    return this.rng.range(f.minDelay, Math.max(f.minDelay, f.maxDelay));
  }

  /** The next message due at or before `now`, skipping those on cut links. */
  popDue(now: number): Message | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > now) return undefined;
      this.pop();
      if (this.blocked.size > 0 && this.blocked.has(link(top.m.from, top.m.to))) {
        this.cutDrops++;
        this.trace.msg(now, top.m, "cut");
        continue;
      }
      return top.m;
    }
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(link(from, to));
  }

  /** Blocks every link from a node of `a` to a node of `b` (and back, if symmetric). */
  cut(label: string, a: NodeId[], b: NodeId[], symmetric: boolean, until: number): void {
    const links = new Set<string>();
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        links.add(link(x, y));
        if (symmetric) links.add(link(y, x));
      }
    }
    this.cuts.push({ label, links, until });
    this.rebuild();
  }

  /** Removes cuts whose time is up; returns their labels. */
  expire(now: number): string[] {
    if (this.cuts.length === 0 || now < this.nextExpiry) return [];
    const gone = this.cuts.filter((c) => c.until <= now).map((c) => c.label);
    if (gone.length > 0) {
      this.cuts = this.cuts.filter((c) => c.until > now);
      this.rebuild();
    }
    return gone;
  }

  healAll(): void {
    this.cuts = [];
    this.blocked.clear();
    this.nextExpiry = Number.POSITIVE_INFINITY;
  }

  activeCuts(): readonly Cut[] {
    return this.cuts;
  }

  /** Forgets every message to `id` (and from it, with `fromToo`): its old incarnation's connections are gone. */
  purge(id: NodeId, fromToo: boolean): void {
    this.heap = this.heap.filter((x) => x.m.to !== id && (!fromToo || x.m.from !== id));
    this.heap.sort((x, y) => x.at - y.at || x.seq - y.seq);
  }

  private rebuild(): void {
    this.nextExpiry = Math.min(...this.cuts.map((c) => c.until), Number.POSITIVE_INFINITY);
    this.blocked = new Set<string>();
    for (const c of this.cuts) for (const l of c.links) this.blocked.add(l);
  }

  // Binary min-heap on (at, seq).
  private less(i: number, j: number): boolean {
    const a = this.heap[i] as InFlight;
    const b = this.heap[j] as InFlight;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i] as InFlight;
    this.heap[i] = this.heap[j] as InFlight;
    this.heap[j] = t;
  }

  private push(m: Message, at: number): void {
    this.heap.push({ at, seq: this.seq++, m });
    let i = this.heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private pop(): void {
    const last = this.heap.pop() as InFlight;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.less(l, m)) m = l;
      if (r < this.heap.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
