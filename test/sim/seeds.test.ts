// The seeded simulator in CI: thousands of seeds, each hundreds of simulated
// seconds of a 3- or 5-member cluster under faults, every safety invariant
// checked after every step, then a liveness check. Blocks of seeds are
// separate tests so progress shows.
//
// Two sets: the fixed seeds 1..SIM_SEEDS (default 2000; SIM_SEED_BASE shifts
// them), and fresh seeds from a base drawn at random on every run (printed
// first, so a failure replays: SIM_FRESH_BASE=<base> reruns the same set).
// Fresh seeds: SIM_FRESH_SEEDS of them, default 2000 in CI (CI=true) and 200
// elsewhere. 60% 3-member, 40% 5-member in both sets. SIM_STEPS=K changes
// the fault phase. A failing seed prints its replay command; keep it in
// regressions.test.ts.

import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_STEPS, formatFailure, runSeed, type SeedResult } from "./run.js";

const total = Number(process.env.SIM_SEEDS ?? 2000);
const base = Number(process.env.SIM_SEED_BASE ?? 1);
const steps = Number(process.env.SIM_STEPS ?? DEFAULT_STEPS);
const freshTotal = Number(process.env.SIM_FRESH_SEEDS ?? (process.env.CI === "true" ? 2000 : 200));
// Above every fixed range, below 2^31 (sfc32 seeds are 32-bit).
const freshBase = Number(process.env.SIM_FRESH_BASE ?? randomInt(10_000_000, 2_000_000_000));
const BLOCK = 200;

function blocks(from: number, count: number): { from: number; n: number }[] {
  const out: { from: number; n: number }[] = [];
  for (let i = 0; i < count; i += BLOCK) out.push({ from: from + i, n: Math.min(BLOCK, count - i) });
  return out;
}

function runBlock(nodes: 3 | 5, from: number, n: number): void {
  const failed: SeedResult[] = [];
  for (let seed = from; seed < from + n; seed++) {
    const r = runSeed(seed, { nodes, steps });
    if (!r.ok) failed.push(r);
  }
  // Print the first failures in full (trace tail + replay), then list them all.
  for (const r of failed.slice(0, 3)) console.error(formatFailure(r, 40));
  expect(failed.map((r) => `${r.failure?.replay}   # ${r.failure?.invariant}`)).toEqual([]);
}

/** 3-member seeds start at `from`, 5-member seeds follow them (disjoint, as before). */
function suite(from: number, count: number): void {
  const threeNode = Math.round(count * 0.6);
  const fiveNode = count - threeNode;
  for (const b of blocks(from, threeNode)) {
    it(`3 members, seeds ${b.from}..${b.from + b.n - 1}`, () => runBlock(3, b.from, b.n), 600_000);
  }
  for (const b of blocks(from, fiveNode)) {
    it(`5 members, seeds ${b.from}..${b.from + b.n - 1}`, () => runBlock(5, b.from, b.n), 600_000);
  }
}

describe(`seeded simulation: ${total} seeds x ${steps} steps (${(steps * 10) / 1000} simulated s each)`, () => {
  suite(base, total);
});

if (freshTotal > 0) {
  // Printed at collection, before any seed runs, so even a hung run can be replayed.
  console.log(`sim: fresh seed base ${freshBase} (${freshTotal} seeds); replay with SIM_FRESH_BASE=${freshBase} SIM_FRESH_SEEDS=${freshTotal}`);
  describe(`fresh seeds from base ${freshBase} (SIM_FRESH_BASE=${freshBase} replays)`, () => {
    suite(freshBase, freshTotal);
  });
}
