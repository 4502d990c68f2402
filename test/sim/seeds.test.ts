// The seeded simulator in CI: thousands of seeds, each hundreds of simulated
// seconds of a 3- or 5-member cluster under faults, every safety invariant
// checked after every step, then a liveness check. Blocks of seeds are
// separate tests so progress shows. SIM_SEEDS=N scales the total (default
// 2000: 60% 3-member, 40% 5-member), SIM_SEED_BASE=S shifts the seed range
// (a nightly job can explore new seeds), SIM_STEPS=K changes the fault phase.
// A failing seed prints its replay command; keep it in regressions.test.ts.

import { describe, expect, it } from "vitest";
import { DEFAULT_STEPS, formatFailure, runSeed, type SeedResult } from "./run.js";

const total = Number(process.env.SIM_SEEDS ?? 2000);
const base = Number(process.env.SIM_SEED_BASE ?? 1);
const steps = Number(process.env.SIM_STEPS ?? DEFAULT_STEPS);
const BLOCK = 200;

function blocks(count: number): { from: number; n: number }[] {
  const out: { from: number; n: number }[] = [];
  for (let i = 0; i < count; i += BLOCK) out.push({ from: base + i, n: Math.min(BLOCK, count - i) });
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

const threeNode = Math.round(total * 0.6);
const fiveNode = total - threeNode;

describe(`seeded simulation: ${total} seeds x ${steps} steps (${(steps * 10) / 1000} simulated s each)`, () => {
  for (const b of blocks(threeNode)) {
    it(`3 members, seeds ${b.from}..${b.from + b.n - 1}`, () => runBlock(3, b.from, b.n), 600_000);
  }
  for (const b of blocks(fiveNode)) {
    it(`5 members, seeds ${b.from}..${b.from + b.n - 1}`, () => runBlock(5, b.from, b.n), 600_000);
  }
});
