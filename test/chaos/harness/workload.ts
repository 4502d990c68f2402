// The chaos workload: concurrent clients, each pinned to one master, doing
// linearizable reads, puts of unique values, compare-and-set transactions and
// a few deletes on a handful of keys, every operation recorded for the
// linearizability checker (test/lib/history.ts); and watchers on the key
// prefix through different masters that resume after any error from the next
// revision, recorded for the watch checker (test/lib/watch-check.ts).

import { performance } from "node:perf_hooks";
import { EtcdError, type EtcdClient, type KeyValue, type WatchEvent as ClientWatchEvent } from "../../../src/client/etcd-client.js";
import { HistoryRecorder, type KvInput, type OpHandle, type OutputOf } from "../../lib/history.js";
import type { Change, WatchEvent } from "../../lib/watch-check.js";
import type { IssuedWrite } from "./check.js";
import type { ChaosCluster } from "./cluster.js";
import { prng } from "../../lib/prng.js";

export { prng };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


export interface WorkloadOptions {
  cluster: ChaosCluster;
  /** Key prefix; the workload touches only keys under it. */
  prefix: string;
  /** Masters the clients are pinned to, round-robin: client i uses pins[i % pins.length]. */
  pins: string[];
  clients?: number;
  keys?: number;
  /** Watchers, one per listed master. */
  watchers?: string[];
  seed: number;
  /** Per-request client timeout. */
  opTimeoutMs?: number;
  /** Pause between a client's operations, uniform in [min, max] ms. */
  thinkMs?: [number, number];
}

export interface WorkloadStats {
  ok: number;
  unknown: number;
  failed: number;
  byKind: Record<string, { ok: number; unknown: number; failed: number }>;
}

export class Workload {
  readonly recorder = new HistoryRecorder();
  readonly prefix: string;
  readonly keys: string[];
  readonly watchers: ChaosWatcher[] = [];
  /** Unexpected errors (not EtcdError): bugs in the harness or the client. */
  readonly harnessErrors: string[] = [];
  private readonly writes = new Map<string, IssuedWrite>();
  /** performance.now() of every completed (ok) operation. */
  private readonly okTimes: number[] = [];
  private readonly stats: WorkloadStats = { ok: 0, unknown: 0, failed: 0, byKind: {} };
  private readonly clients: EtcdClient[] = [];
  private loops: Promise<void>[] = [];
  private stopped = false;
  private readonly opTimeoutMs: number;
  private readonly thinkMs: [number, number];

  constructor(private readonly opts: WorkloadOptions) {
    this.prefix = opts.prefix;
    this.keys = Array.from({ length: opts.keys ?? 4 }, (_, i) => `${opts.prefix}k${i}`);
    this.opTimeoutMs = opts.opTimeoutMs ?? 2_500;
    this.thinkMs = opts.thinkMs ?? [5, 40];
  }

  start(): void {
    const n = this.opts.clients ?? 8;
    for (let i = 0; i < n; i++) {
      const master = this.opts.pins[i % this.opts.pins.length]!;
      const client = this.opts.cluster.client([master], { timeoutMs: this.opTimeoutMs });
      this.clients.push(client);
      this.loops.push(this.clientLoop(`c${i}@${master}`, client, prng(this.opts.seed * 1000 + i)));
    }
    for (const [i, master] of (this.opts.watchers ?? []).entries()) {
      const w = new ChaosWatcher(`w${i}@${master}`, master, this.opts.cluster.client([master], { timeoutMs: this.opTimeoutMs }), this.opts.prefix);
      this.watchers.push(w);
      w.start();
    }
  }

  /** Stops issuing operations and waits for those in flight (each ends within the op timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Closes clients and watchers. */
  close(): void {
    this.stopped = true;
    for (const w of this.watchers) w.stop();
    for (const c of this.clients) c.close();
  }

  summary(): WorkloadStats {
    return structuredClone(this.stats);
  }

  /** Completed operations whose answer came in [from, to) (performance.now() times). */
  okBetween(from: number, to: number): number {
    let n = 0;
    for (const t of this.okTimes) if (t >= from && t < to) n++;
    return n;
  }

  /**
   * Records one operation of the given client. Exposed so that scenarios can
   * add targeted operations (e.g. a read through a resumed old leader) to the
   * same history.
   */
  async record<I extends KvInput>(clientId: string, key: string, input: I, run: () => Promise<OutputOf<I>>): Promise<OutputOf<I> | "failed" | "unknown"> {
    let write: IssuedWrite | undefined;
    if (input.kind === "put" || input.kind === "cas") {
      const value = (input as { value: string }).value;
      if (this.writes.has(value)) throw new Error(`chaos workload: value ${value} issued twice`);
      write = { value, key, kind: input.kind, opId: -1, outcome: "pending" };
      this.writes.set(value, write);
    }
    const handle: OpHandle<I> = this.recorder.begin(clientId, key, input);
    if (write) write.opId = handle.id;
    const kind = input.kind;
    const bucket = (this.stats.byKind[kind] ??= { ok: 0, unknown: 0, failed: 0 });
    try {
      const out = await run();
      this.recorder.ok(handle, out);
      this.okTimes.push(performance.now());
      this.stats.ok++;
      bucket.ok++;
      if (write) {
        const succeeded = input.kind === "cas" ? (out as OutputOf<{ kind: "cas"; expect: null; value: string }>).succeeded : true;
        write.outcome = succeeded ? "ok" : "casFailed";
        const rev = (out as { revision?: number }).revision;
        if (succeeded && rev !== undefined) write.revision = rev;
      }
      return out;
    } catch (err) {
      if (err instanceof EtcdError && err.outcome === "failed") {
        this.recorder.fail(handle);
        this.stats.failed++;
        bucket.failed++;
        if (write) write.outcome = "failed";
        return "failed";
      }
      if (!(err instanceof EtcdError)) this.harnessErrors.push(`${clientId} ${kind} ${key}: ${(err as Error)?.stack ?? String(err)}`);
      this.recorder.unknown(handle);
      this.stats.unknown++;
      bucket.unknown++;
      if (write) write.outcome = "unknown";
      return "unknown";
    }
  }

  private async clientLoop(clientId: string, client: EtcdClient, rnd: () => number): Promise<void> {
    // What this client last read of each key: the expectation of its next cas.
    const lastRead = new Map<string, string | null>();
    let seq = 0;
    while (!this.stopped) {
      const key = this.keys[Math.floor(rnd() * this.keys.length)]!;
      const r = rnd();
      const value = `${clientId}-${seq++}`;
      let result: unknown;
      if (r < 0.4 || (r >= 0.65 && r < 0.95 && !lastRead.has(key))) {
        result = await this.record(clientId, key, { kind: "get" }, async () => {
          const res = await client.range(key);
          const v = res.kvs[0]?.value ?? null;
          return { value: v, revision: res.header.revision };
        });
        if (typeof result === "object" && result !== null) lastRead.set(key, (result as { value: string | null }).value);
      } else if (r < 0.65) {
        result = await this.record(clientId, key, { kind: "put", value }, async () => {
          const res = await client.put(key, value);
          return { revision: res.revision };
        });
      } else if (r < 0.95) {
        const expect = lastRead.get(key) ?? null;
        result = await this.record(clientId, key, { kind: "cas", expect, value }, async () => {
          const res = await client.txn({
            compare: [expect === null ? { key, target: "CREATE", createRevision: 0 } : { key, target: "VALUE", value: expect }],
            success: [{ put: { key, value } }],
          });
          return { succeeded: res.succeeded, revision: res.succeeded ? res.revision : undefined } as { succeeded: boolean };
        });
        lastRead.delete(key);
      } else {
        result = await this.record(clientId, key, { kind: "delete" }, async () => {
          const res = await client.deleteRange(key);
          return { deleted: res.deleted };
        });
      }
      const [lo, hi] = this.thinkMs;
      // After an error back off a little, so a client of an unavailable master does not spin.
      const backoff = result === "failed" || result === "unknown" ? 100 + rnd() * 200 : 0;
      await sleep(lo + rnd() * (hi - lo) + backoff);
    }
  }

  /** Every put and cas value sent, with what its client was told. */
  issuedWrites(): IssuedWrite[] {
    return [...this.writes.values()].map((w) => ({ ...w }));
  }
}

/** One watcher: a watch on the prefix through one master, resumed after every end from the next revision. */
export class ChaosWatcher {
  readonly events: WatchEvent[] = [];
  readonly ends: string[] = [];
  readonly startRevision = 1;
  nextRevision = 1;
  private stopped = false;
  private current: { cancel(): void } | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    readonly name: string,
    readonly master: string,
    private readonly client: EtcdClient,
    private readonly prefix: string,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const w = this.client.watch(this.prefix, { prefix: true, startRevision: this.nextRevision }, (ev) => {
        this.events.push(toCheckEvent(ev));
      });
      this.current = w;
      const end = await w.done;
      this.current = null;
      if (this.stopped) break;
      this.ends.push(`${new Date().toISOString()} ${end.reason}${end.reason === "error" ? `: ${end.error.message}` : ""} (resume at ${end.nextRevision})`);
      if (end.reason === "compacted") {
        // retainMinutes is huge in chaos configs: a compaction here is itself a finding; stop, the check reports the gap.
        this.ends.push(`compacted at ${end.compactRevision}: watcher gave up`);
        break;
      }
      this.nextRevision = end.nextRevision;
      await sleep(200);
    }
  }

  /** Waits until the watcher has seen every revision up to `revision`, or the timeout. */
  async waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const last = this.events.length > 0 ? this.events[this.events.length - 1]!.modRevision : 0;
      if (last >= revision) return true;
      await sleep(100);
    }
    return false;
  }

  stop(): void {
    this.stopped = true;
    this.current?.cancel();
    this.client.close();
  }

  /** Resolves once the watch loop has ended (after stop()). */
  async finished(): Promise<void> {
    await this.loop;
  }
}

function toCheckEvent(ev: ClientWatchEvent): WatchEvent {
  const e: WatchEvent = { type: ev.type, key: ev.kv.key, modRevision: ev.kv.modRevision };
  if (ev.type === "PUT") {
    e.value = ev.kv.value;
    e.createRevision = ev.kv.createRevision;
    e.version = ev.kv.version;
  }
  return e;
}

/**
 * The authoritative change log of `prefix`: a watch from revision 1 through
 * one master, until it delivered `finalRevision`. Chaos runs read it with the
 * empty prefix (the whole keyspace), whose last change is at the final
 * revision whoever wrote it (the run's clients or the masters' own writers).
 */
export async function readChangeLog(
  client: EtcdClient,
  prefix: string,
  finalRevision: number,
  timeoutMs = 15_000,
): Promise<{ changes: Change[]; complete: boolean; problem?: string }> {
  const changes: Change[] = [];
  if (finalRevision <= 1) return { changes, complete: true };
  let next = 1;
  const ends: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let reached = false;
    const w = client.watch(prefix, { prefix: true, startRevision: next }, (ev) => {
      changes.push({ revision: ev.kv.modRevision, key: ev.kv.key, type: ev.type, value: ev.type === "PUT" ? ev.kv.value : null });
      if (ev.kv.modRevision >= finalRevision) {
        reached = true;
        w.cancel();
      }
    });
    const timer = setTimeout(() => w.cancel(), Math.max(0, deadline - Date.now()));
    const end = await w.done;
    clearTimeout(timer);
    if (reached) return { changes, complete: true };
    if (end.reason !== "cancelled") ends.push(end.reason === "error" ? end.error.message : end.reason);
    next = end.nextRevision;
    if (Date.now() < deadline) await sleep(200);
  }
  const last = changes.length > 0 ? changes[changes.length - 1]!.revision : 0;
  return {
    changes,
    complete: false,
    problem:
      `a watch of the prefix from revision 1 delivered changes up to revision ${last} within ${timeoutMs} ms, ` +
      `but the store is at revision ${finalRevision}` +
      (ends.length > 0 ? ` (watch ended: ${ends.slice(0, 3).join("; ")})` : ""),
  };
}

export function kvSnapshot(kvs: readonly KeyValue[]): string {
  return JSON.stringify(kvs.map((kv) => [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version]));
}
