// `npm run sim -- --seeds N --from S|random --nodes 3|5|both --steps K --workers W`:
// runs seeds S..S+N-1 of the deterministic Raft simulator in W worker
// processes and prints a summary; exits 1 if any seed failed. `--from random`
// draws a fresh base (printed first, so a failure replays). Plain Node
// (compiled to dist/), no test framework. SIM_TRACE=1 prints the whole trace
// of a failing seed instead of its tail.

import { fork, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { runNodeSeed } from "./node-run.js";
import { DEFAULT_STEPS, formatFailure, runSeed } from "./run.js";

interface CliOptions {
  seeds: number;
  from: number;
  randomBase: boolean;
  nodes: (3 | 5)[];
  steps: number;
  workers: number;
  quiet: boolean;
  /** Drive RaftNode (node-run.ts) instead of the core. */
  driver: boolean;
}

/** A block of seeds handed to one worker. */
interface Job {
  from: number;
  n: number;
  nodes: (3 | 5)[];
  steps: number;
  fullTrace: boolean;
  verbose: boolean;
  driver: boolean;
}

type Totals = { proposals: number; committed: number; crashes: number; snapshotsInstalled: number; leaderChanges: number; readsServed: number; confChanges: number };

/** What a worker reports for one block. */
interface JobResult {
  runs: number;
  simulated: number;
  totals: Totals;
  /** Printed failures (trace tail and replay command). */
  failures: { text: string; replay: string; invariant: string }[];
  lines: string[];
}

/** Seeds drawn by --from random lie above every fixed range CI runs. */
export const RANDOM_BASE_MIN = 10_000_000;
export const RANDOM_BASE_MAX = 2_000_000_000;

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: npm run sim -- [--seeds N] [--from S|random] [--nodes 3|5|both] [--steps K] [--workers W] [--driver] [--quiet]\n` +
      `  --driver: drive RaftNode on the memory twins and a virtual clock instead of the core\n` +
      `  runs seeds S..S+N-1 (defaults: --seeds 100 --from 1 --nodes both --steps ${DEFAULT_STEPS} --workers <cores>)\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { seeds: 100, from: 1, randomBase: false, nodes: [3, 5], steps: DEFAULT_STEPS, workers: availableParallelism(), quiet: false, driver: false };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) usage(`${flag} needs an integer >= ${min}, got ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes("=") ? (a.split("=", 2) as [string, string]) : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case "--seeds":
        o.seeds = int(flag, value(), 1);
        break;
      case "--from": {
        const v = value();
        if (v === "random") {
          o.randomBase = true;
          o.from = randomInt(RANDOM_BASE_MIN, RANDOM_BASE_MAX);
        } else o.from = int(flag, v, 0);
        break;
      }
      case "--steps":
        o.steps = int(flag, value(), 1);
        break;
      case "--workers":
        o.workers = int(flag, value(), 1);
        break;
      case "--nodes": {
        const v = value();
        if (v === "3") o.nodes = [3];
        else if (v === "5") o.nodes = [5];
        else if (v === "both") o.nodes = [3, 5];
        else usage(`--nodes must be 3, 5 or both, got ${v ?? "nothing"}`);
        break;
      }
      case "--quiet":
        o.quiet = true;
        break;
      case "--driver":
        o.driver = true;
        break;
      case "--help":
      case "-h":
        usage("");
        break;
      default:
        usage(`unknown argument ${a}`);
    }
  }
  return o;
}

function emptyTotals(): Totals {
  return { proposals: 0, committed: 0, crashes: 0, snapshotsInstalled: 0, leaderChanges: 0, readsServed: 0, confChanges: 0 };
}

/** Runs one block of seeds in this process. */
async function runJob(job: Job): Promise<JobResult> {
  const out: JobResult = { runs: 0, simulated: 0, totals: emptyTotals(), failures: [], lines: [] };
  for (let s = job.from; s < job.from + job.n; s++) {
    for (const nodes of job.nodes) {
      if (job.driver) {
        const r = await runNodeSeed(s, { nodes });
        out.runs++;
        if (!r.ok) out.failures.push({ text: `FAIL driver seed ${s} (${nodes} nodes): ${r.failure}`, replay: r.replay, invariant: r.failure ?? "?" });
        else if (job.verbose) out.lines.push(`ok   driver seed ${s} (${nodes} nodes): ${r.acked} acknowledged writes, ${r.crashes} crashes, ${r.events} events, ${r.wallMs.toFixed(0)} ms`);
        continue;
      }
      const r = runSeed(s, { nodes, steps: job.steps, fullTrace: job.fullTrace });
      out.runs++;
      out.simulated += r.simulatedSeconds;
      for (const k of Object.keys(out.totals) as (keyof Totals)[]) out.totals[k] += r.stats[k];
      if (!r.ok) {
        out.failures.push({
          text: formatFailure(r, job.fullTrace ? Number.MAX_SAFE_INTEGER : 80),
          replay: r.failure?.replay ?? `npm run sim -- --seeds 1 --from ${s} --nodes ${nodes}`,
          invariant: r.failure?.invariant ?? "?",
        });
      } else if (job.verbose) {
        out.lines.push(
          `ok   seed ${s} (${nodes} nodes): ${r.steps} steps, committed ${r.stats.committed}, ${r.stats.leaderChanges} leaders, max term ${r.stats.maxTerm}, ${r.stats.crashes} crashes, ${r.stats.snapshotsInstalled} snapshot installs, ${r.wallMs.toFixed(0)} ms`,
        );
      }
    }
  }
  return out;
}

/** Worker side: run the blocks the parent sends until told to stop. */
function workerMain(): void {
  process.on("message", (msg: Job | "stop") => {
    if (msg === "stop") {
      process.disconnect();
      return;
    }
    void runJob(msg).then((r) => process.send?.(r));
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const fullTrace = process.env.SIM_TRACE === "1";
  const verbose = !o.quiet && o.seeds * o.nodes.length <= 20;
  const last = o.from + o.seeds - 1;
  if (o.randomBase) process.stdout.write(`fresh seed base ${o.from} (seeds ${o.from}..${last}); replay with --from ${o.from} --seeds ${o.seeds}\n`);
  const started = performance.now();

  // Blocks small enough to balance the workers, large enough to cost little IPC.
  const block = Math.max(1, Math.min(50, Math.ceil(o.seeds / (o.workers * 4))));
  const jobs: Job[] = [];
  for (let s = o.from; s <= last; s += block) jobs.push({ from: s, n: Math.min(block, last - s + 1), nodes: o.nodes, steps: o.steps, fullTrace, verbose, driver: o.driver });
  const results: JobResult[] = [];
  const onResult = (r: JobResult): void => {
    results.push(r);
    for (const line of r.lines) process.stdout.write(`${line}\n`);
    for (const f of r.failures) process.stdout.write(`${f.text}\n\n`);
  };

  const workers = Math.min(o.workers, jobs.length);
  if (workers <= 1) {
    for (const job of jobs) onResult(await runJob(job));
  } else {
    const self = fileURLToPath(import.meta.url);
    let next = 0;
    await Promise.all(
      Array.from({ length: workers }, () => {
        const child: ChildProcess = fork(self, ["--worker"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
        return new Promise<void>((resolve, reject) => {
          const feed = (): void => {
            const job = jobs[next++];
            if (job === undefined) child.send("stop");
            else child.send(job);
          };
          child.on("message", (r: JobResult) => {
            onResult(r);
            feed();
          });
          child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`a simulator worker exited with code ${code}`))));
          child.on("error", reject);
          feed();
        });
      }),
    );
  }

  const totals = emptyTotals();
  let runs = 0;
  let simulated = 0;
  const failed: JobResult["failures"] = [];
  for (const r of results) {
    runs += r.runs;
    simulated += r.simulated;
    for (const k of Object.keys(totals) as (keyof Totals)[]) totals[k] += r.totals[k];
    failed.push(...r.failures);
  }
  const secs = (performance.now() - started) / 1000;
  process.stdout.write(
    `\n${runs} runs (seeds ${o.from}..${last}, nodes ${o.nodes.join("+")}, ${o.steps} fault steps, ${workers} worker${workers === 1 ? "" : "s"}) in ${secs.toFixed(1)} s: ` +
      `${(runs / secs).toFixed(1)} seeds/s, ${(simulated / secs).toFixed(0)} simulated s per wall s\n` +
      `totals: ${totals.proposals} proposals, ${totals.committed} committed, ${totals.leaderChanges} leader elections, ${totals.crashes} crashes, ` +
      `${totals.snapshotsInstalled} snapshot installs, ${totals.readsServed} reads served, ${totals.confChanges} conf changes\n`,
  );
  if (failed.length > 0) {
    process.stdout.write(`${failed.length} FAILED:\n`);
    for (const f of failed) process.stdout.write(`  ${f.replay}   # ${f.invariant}\n`);
    process.stdout.write(`${runs - failed.length} passed, ${failed.length} failed\n`);
    process.exit(1);
  }
  process.stdout.write(`${runs} passed, 0 failed\n`);
}

if (process.argv.includes("--worker")) workerMain();
else
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
