// Phase 2: kill -9 of the leader under light open-loop write load (one write
// every intervalMs, round-robin over the members), and the time from the kill
// to the first write that was sent after the kill and acknowledged (200) by a
// surviving member. Between repetitions the killed member is started again
// from its data dir and the cluster must be healthy and caught up.

import { performance } from "node:perf_hooks";
import { HttpPool, Pacer, pseudoRandomBytes, putBody, summarize, type LatencySummary, type PacedResult } from "./load.js";
import { CLIENT_ADDRESS, type StoreSystem } from "./systems.js";

export interface FailoverRep {
  rep: number;
  killed: string;
  /** Kill to the first acknowledged write sent after it; null if none within the limit. */
  recoveryMs: number | null;
  acknowledgedBy: string | null;
  newLeader: string | null;
  /** Writes sent after the kill that failed before the first success. */
  failedWrites: number;
  /** Restart of the killed member until the cluster was healthy and caught up. */
  rejoinMs: number;
}

export interface FailoverResult {
  intervalMs: number;
  reps: FailoverRep[];
  recovery: LatencySummary;
  /** Repetitions without recovery within limitMs. */
  unrecovered: number;
  limitMs: number;
}

export interface FailoverOptions {
  reps: number;
  intervalMs: number;
  valueBytes: number;
  limitMs: number;
  log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One system's failover runs: a pacer that keeps writing from start() to
 * stop(), and rep() that kills the current leader, times the first
 * acknowledged write and brings the member back.
 */
export class FailoverRunner {
  private readonly pool: HttpPool;
  private readonly pacer: Pacer;
  private readonly all: number[];
  readonly reps: FailoverRep[] = [];

  constructor(
    private readonly sys: StoreSystem,
    private readonly o: FailoverOptions,
  ) {
    const value = pseudoRandomBytes(o.valueBytes, 4242);
    const bodies = Array.from({ length: 1000 }, (_, i) => putBody(`bench/failover/${String(i).padStart(4, "0")}`, value));
    // A write hung on a member without a leader is abandoned after 3 s; new ones keep coming every intervalMs.
    this.pool = new HttpPool({ endpoints: sys.endpoints, localAddress: CLIENT_ADDRESS, headers: sys.headers, timeoutMs: 3_000 });
    this.all = sys.memberNames.map((_, i) => i);
    this.pacer = new Pacer(this.pool, (seq) => bodies[seq % bodies.length]!, o.intervalMs, 400, this.all);
  }

  start(): void {
    this.pacer.start();
  }

  async rep(rep: number): Promise<FailoverRep> {
    const { sys, o, pacer } = this;
    let leader: string | null = null;
    for (let i = 0; i < 100 && leader === null; i++) {
      leader = await sys.leader();
      if (leader === null) await sleep(100);
    }
    if (leader === null) throw new Error("no leader before the kill");
    const killedIdx = sys.memberNames.indexOf(leader);
    const survivors = this.all.filter((i) => i !== killedIdx);

    let failedWrites = 0;
    let resolveFirst!: (r: PacedResult | null) => void;
    const first = new Promise<PacedResult | null>((r) => (resolveFirst = r));
    const t0 = performance.now();
    const off = pacer.onResult((r) => {
      if (r.sentAt < t0) return;
      if (r.ok) resolveFirst(r);
      else failedWrites++;
    });
    const killed = sys.kill(leader);
    pacer.targets = survivors;
    const limit = setTimeout(() => resolveFirst(null), o.limitMs);
    const r = await first;
    clearTimeout(limit);
    off();
    await killed;
    const newLeader = await sys.leader();
    const recoveryMs = r ? r.doneAt - t0 : null;

    const t1 = performance.now();
    sys.start(leader);
    await sys.waitHealthy(60_000);
    const rejoinMs = performance.now() - t1;
    pacer.targets = this.all;
    const row: FailoverRep = {
      rep,
      killed: leader,
      recoveryMs,
      acknowledgedBy: r ? sys.memberNames[r.ep]! : null,
      newLeader,
      failedWrites,
      rejoinMs,
    };
    this.reps.push(row);
    o.log(
      `${sys.name} failover ${rep}/${o.reps}: killed leader ${leader}, ` +
        (recoveryMs === null ? `no write within ${o.limitMs} ms` : `write acknowledged by ${row.acknowledgedBy} after ${recoveryMs.toFixed(0)} ms`) +
        `, new leader ${newLeader}, rejoined in ${rejoinMs.toFixed(0)} ms`,
    );
    return row;
  }

  async stop(): Promise<void> {
    await this.pacer.stop();
    this.pool.close();
  }

  result(): FailoverResult {
    const ok = this.reps.filter((r) => r.recoveryMs !== null).map((r) => r.recoveryMs!);
    return { intervalMs: this.o.intervalMs, reps: this.reps, recovery: summarize(ok), unrecovered: this.reps.length - ok.length, limitMs: this.o.limitMs };
  }
}

/** Repetitions taking turns between the systems (each system's light load runs throughout). */
export async function runFailover(systems: StoreSystem[], o: FailoverOptions): Promise<Map<StoreSystem, FailoverResult | Error>> {
  const runners = new Map(systems.map((s) => [s, new FailoverRunner(s, o)]));
  const failed = new Map<StoreSystem, Error>();
  for (const r of runners.values()) r.start();
  try {
    await sleep(1000);
    for (let rep = 1; rep <= o.reps; rep++) {
      const order = rep % 2 === 1 ? systems : [...systems].reverse();
      for (const sys of order) {
        if (failed.has(sys)) continue;
        try {
          await runners.get(sys)!.rep(rep);
        } catch (err) {
          failed.set(sys, err as Error);
          o.log(`${sys.name} failover ${rep} FAILED: ${(err as Error).message}`);
        }
        await sleep(1000);
      }
    }
  } finally {
    for (const r of runners.values()) await r.stop();
  }
  return new Map(systems.map((s) => [s, failed.get(s) ?? runners.get(s)!.result()]));
}
