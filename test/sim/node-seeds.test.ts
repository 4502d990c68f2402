// The driver simulator in CI: real RaftNode instances on the memory twins and
// a virtual clock (node-run.ts), fixed seeds, regressions, and fresh seeds
// from a random printed base. SIM_DRIVER_SEEDS (default 40) fixed seeds from
// 1, SIM_DRIVER_FRESH (default 40 in CI, 10 elsewhere) fresh ones from
// SIM_DRIVER_BASE (random unless given). A failure prints its replay command.

import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runNodeSeed, type NodeSeedResult } from "./node-run.js";

const fixed = Number(process.env.SIM_DRIVER_SEEDS ?? 40);
const fresh = Number(process.env.SIM_DRIVER_FRESH ?? (process.env.CI === "true" ? 40 : 10));
const freshBase = Number(process.env.SIM_DRIVER_BASE ?? randomInt(10_000_000, 2_000_000_000));

const REGRESSIONS: { seed: number; nodes: 3 | 5; note: string }[] = [
  {
    seed: 2,
    nodes: 5,
    note: "a follower freed a received snapshot by mutating the message object, which the memory transport shares with the other receivers: a second follower installed an empty state (fix: step a copy)",
  },
  {
    seed: 92,
    nodes: 5,
    note: "members forgot a removed member's transport peer; added back under its name and leading, it could not reach a learner that lagged behind the re-add (fix: removed members stay transport peers)",
  },
];

async function runAll(seeds: number[], nodes: 3 | 5): Promise<void> {
  const failed: NodeSeedResult[] = [];
  for (const seed of seeds) {
    const r = await runNodeSeed(seed, { nodes });
    if (!r.ok) failed.push(r);
  }
  expect(failed.map((r) => `${r.replay}   # ${r.failure}`)).toEqual([]);
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe("driver simulation: RaftNode on memory twins and a virtual clock", () => {
  it("a seed replays exactly (same events, acknowledgements and crashes)", async () => {
    const a = await runNodeSeed(9, { nodes: 5 });
    const b = await runNodeSeed(9, { nodes: 5 });
    expect([b.events, b.acked, b.crashes, b.ok]).toEqual([a.events, a.acked, a.crashes, a.ok]);
    expect(a.acked).toBeGreaterThan(50);
    expect(a.crashes).toBeGreaterThan(0);
  }, 120_000);

  for (const r of REGRESSIONS) {
    it(`regression seed ${r.seed} (${r.nodes} members): ${r.note}`, () => runAll([r.seed], r.nodes), 120_000);
  }
  it(`3 members, seeds 1..${fixed}`, () => runAll(range(1, fixed), 3), 600_000);
  it(`5 members, seeds 1..${Math.ceil(fixed / 2)}`, () => runAll(range(1, Math.ceil(fixed / 2)), 5), 600_000);
  if (fresh > 0) {
    console.log(`driver sim: fresh seed base ${freshBase} (${fresh} seeds); replay with SIM_DRIVER_BASE=${freshBase} SIM_DRIVER_FRESH=${fresh}`);
    it(`fresh seeds ${freshBase}..${freshBase + fresh - 1} (3 and 5 members)`, async () => {
      await runAll(range(freshBase, fresh), 3);
      await runAll(range(freshBase, Math.ceil(fresh / 2)), 5);
    }, 600_000);
  }
});
