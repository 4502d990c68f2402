// Phase 1: writes/s and linearizable reads/s at fixed client counts, 256-byte
// values, clients spread over the members round-robin by client index. Also
// records CPU time per operation (all members together, and the generator),
// since on a 2-core machine CPU per request decides throughput.

import { HttpPool, pseudoRandomBytes, putBody, rangeBody, runClosedLoop, type CellResult } from "./load.js";
import { loadAverage, machineBusyMs, sumCpuMs } from "./proc.js";
import { CLIENT_ADDRESS, type StoreSystem } from "./systems.js";

export type Op = "write" | "read";

export interface ThroughputRow extends CellResult {
  op: Op;
  /** CPU ms of the 3 members together per completed operation. */
  serverCpuMsPerOp: number;
  /** CPU ms of the bench process (the load generator) per completed operation. */
  generatorCpuMsPerOp: number;
  /** Average cores busy in the members during the window. */
  serverCores: number;
  /** Average cores busy in processes other than the members and the bench (other users of the machine). */
  otherCores: number;
  /** 1-minute load average at the end of the window. */
  loadAverage: number;
}

export interface ThroughputOptions {
  concurrency: number[];
  ops: Op[];
  warmupMs: number;
  durationMs: number;
  valueBytes: number;
  log: (line: string) => void;
}

export const WRITE_KEYS = 10_000;
export const READ_KEYS = 1_000;

const wkey = (i: number): string => `bench/w/${String(i).padStart(5, "0")}`;
const rkey = (i: number): string => `bench/r/${String(i).padStart(4, "0")}`;

/**
 * Every cell on every system, the systems taking turns cell by cell (and
 * swapping who goes first each cell), so that a change in the machine's
 * background load hits both alike.
 */
export async function runThroughput(systems: StoreSystem[], o: ThroughputOptions): Promise<Map<StoreSystem, ThroughputRow[]>> {
  const writeBodies = Array.from({ length: WRITE_KEYS }, (_, i) => putBody(wkey(i), pseudoRandomBytes(o.valueBytes, i + 1)));
  const readBodies = Array.from({ length: READ_KEYS }, (_, i) => rangeBody(rkey(i)));
  const rows = new Map<StoreSystem, ThroughputRow[]>(systems.map((s) => [s, []]));

  // The keys the reads will find.
  for (const sys of systems) {
    const setup = new HttpPool({ endpoints: sys.endpoints, localAddress: CLIENT_ADDRESS, headers: sys.headers });
    try {
      const r = await runFixed(setup, 32, READ_KEYS, (i) => putBody(rkey(i), pseudoRandomBytes(o.valueBytes, 1_000_000 + i)));
      if (r.failed > 0) throw new Error(`${sys.name}: ${r.failed} of the read keys could not be written`);
    } finally {
      setup.close();
    }
  }

  let cellIndex = 0;
  for (const op of o.ops) {
    for (const clients of o.concurrency) {
      const order = cellIndex++ % 2 === 0 ? systems : [...systems].reverse();
      for (const sys of order) {
        const row = await runCell(sys, op, clients, op === "write" ? writeBodies : readBodies, o);
        rows.get(sys)!.push(row);
        o.log(
          `${sys.name} ${op}s x${clients}: ${row.perSecond.toFixed(0)}/s, p50 ${row.latency.p50Ms.toFixed(2)} ms, p99 ${row.latency.p99Ms.toFixed(2)} ms` +
            `, members ${row.serverCpuMsPerOp.toFixed(3)} CPU ms/op (${row.serverCores.toFixed(2)} cores), generator ${row.generatorCpuMsPerOp.toFixed(3)} ms/op` +
            `, others ${row.otherCores.toFixed(2)} cores, load ${row.loadAverage.toFixed(1)}` +
            (row.errors > 0 ? `, ${row.errors} errors (${row.errorSamples.join("; ")})` : ""),
        );
      }
    }
  }
  return rows;
}

async function runCell(sys: StoreSystem, op: Op, clients: number, bodies: Buffer[], o: ThroughputOptions): Promise<ThroughputRow> {
  const pool = new HttpPool({ endpoints: sys.endpoints, localAddress: CLIENT_ADDRESS, headers: sys.headers });
  const pids = sys.pids();
  const at = () => ({ server: sumCpuMs(pids), gen: process.cpuUsage(), machine: machineBusyMs() });
  let a = at();
  let b = a;
  try {
    const r = await runClosedLoop({
      pool,
      clients,
      path: op === "write" ? "/v3/kv/put" : "/v3/kv/range",
      body: (_c, seq) => bodies[seq % bodies.length]!,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      onWindow: (edge) => {
        if (edge === "start") a = at();
        else b = at();
      },
    });
    const serverMs = b.server - a.server;
    const genMs = (b.gen.user - a.gen.user + b.gen.system - a.gen.system) / 1000;
    const machineMs = b.machine - a.machine;
    return {
      ...r,
      op,
      serverCpuMsPerOp: r.ok > 0 ? serverMs / r.ok : NaN,
      generatorCpuMsPerOp: r.ok > 0 ? genMs / r.ok : NaN,
      serverCores: serverMs / o.durationMs,
      otherCores: Math.max(0, machineMs - serverMs - genMs) / o.durationMs,
      loadAverage: loadAverage(),
    };
  } finally {
    pool.close();
  }
}

/**
 * `total` requests by `clients` loops, each request retried (up to 5 times)
 * until it answers 200. Returns the elapsed ms. onReply sees every 200.
 */
export async function runFixed(
  pool: HttpPool,
  clients: number,
  total: number,
  body: (n: number) => Buffer,
  onReply?: (n: number, reply: Buffer) => void,
  path = "/v3/kv/put",
): Promise<{ ms: number; failed: number; retried: number; errorSamples: string[] }> {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  let retried = 0;
  const errorSamples = new Set<string>();
  const client = async (c: number): Promise<void> => {
    const ep = c % pool.size;
    for (;;) {
      const n = next++;
      if (n >= total) return;
      const b = body(n);
      for (let attempt = 0; ; attempt++) {
        const r = await pool.post(ep, path, b);
        if (r.status === 200) {
          onReply?.(n, r.body);
          break;
        }
        if (errorSamples.size < 5) errorSamples.add(r.error ?? `HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 160)}`);
        if (attempt >= 5) {
          failed++;
          break;
        }
        retried++;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  return { ms: performance.now() - t0, failed, retried, errorSamples: [...errorSamples] };
}
