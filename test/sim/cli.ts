// `npm run sim -- --seeds N --from S --nodes 3|5|both --steps K`: runs seeds
// S..S+N-1 of the deterministic Raft simulator and prints a summary; exits 1
// if any seed failed. Plain Node (compiled to dist/), no test framework.
// SIM_TRACE=1 prints the whole trace of a failing seed instead of its tail.

import { DEFAULT_STEPS, formatFailure, runSeed, type SeedResult } from "./run.js";

interface CliOptions {
  seeds: number;
  from: number;
  nodes: (3 | 5)[];
  steps: number;
  quiet: boolean;
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: npm run sim -- [--seeds N] [--from S] [--nodes 3|5|both] [--steps K] [--quiet]\n` +
      `  runs seeds S..S+N-1 (defaults: --seeds 100 --from 1 --nodes both --steps ${DEFAULT_STEPS})\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { seeds: 100, from: 1, nodes: [3, 5], steps: DEFAULT_STEPS, quiet: false };
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
      case "--from":
        o.from = int(flag, value(), 0);
        break;
      case "--steps":
        o.steps = int(flag, value(), 1);
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

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const fullTrace = process.env.SIM_TRACE === "1";
  const started = performance.now();
  const failed: SeedResult[] = [];
  let runs = 0;
  let simulated = 0;
  const totals = { proposals: 0, committed: 0, crashes: 0, snapshotsInstalled: 0, leaderChanges: 0, readsServed: 0, confChanges: 0 };
  for (let s = o.from; s < o.from + o.seeds; s++) {
    for (const nodes of o.nodes) {
      const r = runSeed(s, { nodes, steps: o.steps, fullTrace });
      runs++;
      simulated += r.simulatedSeconds;
      totals.proposals += r.stats.proposals;
      totals.committed += r.stats.committed;
      totals.crashes += r.stats.crashes;
      totals.snapshotsInstalled += r.stats.snapshotsInstalled;
      totals.leaderChanges += r.stats.leaderChanges;
      totals.readsServed += r.stats.readsServed;
      totals.confChanges += r.stats.confChanges;
      if (!r.ok) {
        failed.push(r);
        process.stdout.write(`${formatFailure(r, fullTrace ? Number.MAX_SAFE_INTEGER : 80)}\n\n`);
      } else if (!o.quiet && o.seeds * o.nodes.length <= 20) {
        process.stdout.write(
          `ok   seed ${s} (${nodes} nodes): ${r.steps} steps, committed ${r.stats.committed}, ${r.stats.leaderChanges} leaders, max term ${r.stats.maxTerm}, ${r.stats.crashes} crashes, ${r.stats.snapshotsInstalled} snapshot installs, ${r.wallMs.toFixed(0)} ms\n`,
        );
      }
    }
  }
  const secs = (performance.now() - started) / 1000;
  process.stdout.write(
    `\n${runs} runs (seeds ${o.from}..${o.from + o.seeds - 1}, nodes ${o.nodes.join("+")}, ${o.steps} fault steps) in ${secs.toFixed(1)} s: ` +
      `${(runs / secs).toFixed(1)} seeds/s, ${(simulated / secs).toFixed(0)} simulated s per wall s\n` +
      `totals: ${totals.proposals} proposals, ${totals.committed} committed, ${totals.leaderChanges} leader elections, ${totals.crashes} crashes, ` +
      `${totals.snapshotsInstalled} snapshot installs, ${totals.readsServed} reads served, ${totals.confChanges} conf changes\n`,
  );
  if (failed.length > 0) {
    process.stdout.write(`${failed.length} FAILED:\n`);
    for (const r of failed) process.stdout.write(`  ${r.failure?.replay}   # ${r.failure?.invariant}\n`);
    process.stdout.write(`${runs - failed.length} passed, ${failed.length} failed\n`);
    process.exit(1);
  }
  process.stdout.write(`${runs} passed, 0 failed\n`);
}

main();
