// Seeds that once failed, kept as permanent regression tests (a failing seed
// is a bug found forever). To add one: copy the seed, node count and steps
// from the replay command the failure printed
//   npm run sim -- --seeds 1 --from 4242 --nodes 5 --steps 8000
// into REGRESSIONS below as { seed: 4242, nodes: 5, steps: 8000, note: "..." }
// with a note naming the bug (and its fix), once the fix lands.

import { describe, expect, it } from "vitest";
import { DEFAULT_STEPS, formatFailure, runSeed } from "./run.js";

interface Regression {
  seed: number;
  nodes: 3 | 5;
  /** Steps of the fault phase, as in the replay command (default DEFAULT_STEPS). */
  steps?: number;
  note: string;
}

const REGRESSIONS: Regression[] = [
  {
    seed: 176,
    nodes: 3,
    note: "lost appends filled the inflight window; replication stalled for good (fix: free a slot on heartbeat response)",
  },
  {
    seed: 1087,
    nodes: 5,
    note: "an ack queued for an old leader covered entries a new leader's append truncated in the same batch (fix: drop such acks)",
  },
  {
    seed: 7340208,
    nodes: 3,
    note: "harness: a member that stepped down within the step still looked like the leader and forwarded an operator's repeated conf change; flagged as accepted twice (fix: only a member leading in its core must refuse)",
  },
  {
    seed: 9100733,
    nodes: 3,
    note: "a leader applied its own removal with its append window full, stepped down and stopped; the remaining voter never learned the commit and waited for the removed member's vote (fix: a removed leader leads on until a quorum of the new configuration confirms the commit)",
  },
  {
    seed: 853180706,
    nodes: 3,
    note: "harness: a removed leader still running (leading on until its removal was confirmed) was re-added, then stopped and wiped as a member; promoted while absent, it took the quorum with it (fix: a member on its way out is not joinable)",
  },
  {
    seed: 1592143586,
    nodes: 3,
    note: "a voter with a stale configuration (it saw the other voter as a learner) campaigned at ever higher terms asking only the removed member, while the up-to-date voter campaigned below it and was ignored: no leader (fix: candidates ask learners too)",
  },
];

describe("regression seeds", () => {
  it("a seed replays exactly: same trace, same outcome", () => {
    const a = runSeed(7, { nodes: 5, steps: 3000, fullTrace: true });
    const b = runSeed(7, { nodes: 5, steps: 3000, fullTrace: true });
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.stats).toEqual(a.stats);
    expect(b.ok).toBe(a.ok);
    expect(b.failure?.trace ?? null).toEqual(a.failure?.trace ?? null);
  });

  for (const r of REGRESSIONS) {
    it(`seed ${r.seed} (${r.nodes} members): ${r.note}`, () => {
      const result = runSeed(r.seed, { nodes: r.nodes, steps: r.steps ?? DEFAULT_STEPS });
      if (!result.ok) console.error(formatFailure(result));
      expect(result.failure?.message ?? null).toBeNull();
    });
  }
});
