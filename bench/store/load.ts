// The load generator: raw node:http with keep-alive, one pool per cell, the
// same code path for etcd and Pinsetter. Client i always talks to member
// i % members (round-robin by client index). Bodies are built once up front
// so that the generator spends its CPU on HTTP, not on JSON and base64.

import http from "node:http";
import { performance } from "node:perf_hooks";

export interface Endpoint {
  host: string;
  port: number;
}

export interface PoolOptions {
  endpoints: Endpoint[];
  /** Source address of every connection (the bench's own loopback address). */
  localAddress: string;
  /** Extra headers, e.g. authorization for Pinsetter. */
  headers?: Record<string, string>;
  /** Per request, until the whole answer is in. */
  timeoutMs?: number;
}

export interface Reply {
  status: number;
  /** 0 on a transport failure. */
  body: Buffer;
  /** Set on a transport failure (refused, reset, timeout). */
  error?: string;
}

/** Keep-alive HTTP/1.1 connections to each member. */
export class HttpPool {
  private readonly agents: http.Agent[];
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    this.agents = opts.endpoints.map(() => new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 }));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  get size(): number {
    return this.opts.endpoints.length;
  }

  /** POSTs `body` (JSON) to `path` on member `ep`. Never rejects. */
  post(ep: number, path: string, body: Buffer): Promise<Reply> {
    return new Promise((resolve) => {
      if (this.closed) return resolve({ status: 0, body: Buffer.alloc(0), error: "pool closed" });
      const e = this.opts.endpoints[ep]!;
      let done = false;
      const finish = (r: Reply): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = http.request(
        {
          host: e.host,
          port: e.port,
          method: "POST",
          path,
          agent: this.agents[ep],
          localAddress: this.opts.localAddress,
          headers: { "content-type": "application/json", "content-length": body.length, ...this.opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => finish({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
          res.on("error", (err) => finish({ status: 0, body: Buffer.alloc(0), error: err.message }));
          res.on("aborted", () => finish({ status: 0, body: Buffer.alloc(0), error: "aborted" }));
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish({ status: 0, body: Buffer.alloc(0), error: "timeout" });
      }, this.timeoutMs);
      req.on("error", (err) => finish({ status: 0, body: Buffer.alloc(0), error: err.message }));
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    for (const a of this.agents) a.destroy();
  }
}

// ---------------------------------------------------------------- bodies

export const b64 = (s: string | Buffer): string => (typeof s === "string" ? Buffer.from(s) : s).toString("base64");

/** Deterministic pseudo-random bytes (the bench must not depend on Math.random). */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function putBody(key: string, value: Buffer): Buffer {
  return Buffer.from(JSON.stringify({ key: b64(key), value: b64(value) }));
}

/** A linearizable range of one key (no `serializable`: ReadIndex on both systems). */
export function rangeBody(key: string): Buffer {
  return Buffer.from(JSON.stringify({ key: b64(key) }));
}

// ---------------------------------------------------------------- latency

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
  const s = Float64Array.from(samples).sort();
  // Nearest-rank percentiles.
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return { count: s.length, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: s[s.length - 1]!, meanMs: sum / s.length };
}

// ---------------------------------------------------------------- closed-loop cells

export interface CellOptions {
  pool: HttpPool;
  clients: number;
  path: string;
  /** The body of request number `seq` (global across clients) of client `client`. */
  body: (client: number, seq: number) => Buffer;
  warmupMs: number;
  durationMs: number;
  /** Called at the start and the end of the measured window (CPU sampling). */
  onWindow?: (edge: "start" | "end") => void;
}

export interface CellResult {
  clients: number;
  /** Completed with 200 inside the measured window, per second. */
  perSecond: number;
  ok: number;
  errors: number;
  /** First few distinct error descriptions. */
  errorSamples: string[];
  latency: LatencySummary;
  windowMs: number;
}

/**
 * `clients` loops, each with one request in flight, for warmupMs + durationMs.
 * Counts requests that complete inside the measured window; latencies of
 * those that also started inside it.
 */
export async function runClosedLoop(o: CellOptions): Promise<CellResult> {
  const t0 = performance.now();
  const start = t0 + o.warmupMs;
  const end = start + o.durationMs;
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const errorSamples = new Set<string>();
  let seq = 0;
  // The edges fire from timers, or at the latest when the clients are done (an answer may be
  // handled before a timer that is already due).
  const fired = { start: false, end: false };
  const edge = (e: "start" | "end"): void => {
    if (fired[e]) return;
    fired[e] = true;
    o.onWindow?.(e);
  };
  const startTimer = setTimeout(() => edge("start"), Math.max(0, start - performance.now()));
  const endTimer = setTimeout(() => edge("end"), Math.max(0, end - performance.now()));

  const client = async (c: number): Promise<void> => {
    const ep = c % o.pool.size;
    for (;;) {
      const sent = performance.now();
      if (sent >= end) return;
      const r = await o.pool.post(ep, o.path, o.body(c, seq++));
      const done = performance.now();
      const inWindow = done >= start && done <= end;
      if (r.status === 200) {
        if (inWindow) {
          ok++;
          if (sent >= start) latencies.push(done - sent);
        }
      } else {
        if (inWindow) errors++;
        if (errorSamples.size < 5) errorSamples.add(r.error ?? `HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 120)}`);
        // Do not spin on a refusing member.
        if (r.status === 0) await new Promise((res) => setTimeout(res, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  edge("start");
  edge("end");
  return {
    clients: o.clients,
    perSecond: ok / (o.durationMs / 1000),
    ok,
    errors,
    errorSamples: [...errorSamples],
    latency: summarize(latencies),
    windowMs: o.durationMs,
  };
}

// ---------------------------------------------------------------- open loop (failover)

export interface PacedResult {
  sentAt: number;
  doneAt: number;
  ok: boolean;
  ep: number;
}

/**
 * Light open-loop write load: one write every intervalMs to the next member
 * of targets() in turn, whatever happens to earlier ones (up to maxOutstanding),
 * so that the first write the cluster can take after a fault is seen within
 * one interval.
 */
export class Pacer {
  private timer: NodeJS.Timeout | null = null;
  private outstanding = 0;
  private rr = 0;
  private seq = 0;
  private readonly listeners = new Set<(r: PacedResult) => void>();
  private readonly inflight = new Set<Promise<void>>();
  sent = 0;
  acked = 0;

  constructor(
    private readonly pool: HttpPool,
    private readonly body: (seq: number) => Buffer,
    private readonly intervalMs: number,
    private readonly maxOutstanding: number,
    /** Members to write to right now. */
    public targets: number[],
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  onResult(fn: (r: PacedResult) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private tick(): void {
    if (this.outstanding >= this.maxOutstanding || this.targets.length === 0) return;
    const ep = this.targets[this.rr++ % this.targets.length]!;
    const sentAt = performance.now();
    this.outstanding++;
    this.sent++;
    const p = this.pool.post(ep, "/v3/kv/put", this.body(this.seq++)).then((r) => {
      this.outstanding--;
      const res: PacedResult = { sentAt, doneAt: performance.now(), ok: r.status === 200, ep };
      if (res.ok) this.acked++;
      for (const l of this.listeners) l(res);
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Stops sending and waits for what is in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.inflight]);
  }
}
