// Majority arithmetic over a set of voters.

import type { NodeId } from "./types.js";

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters have reached: sort the voters'
 * match indexes descending and take the one at position quorum-1.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1]!;
}

export type VoteResult = "won" | "lost" | "pending";

/** Tallies granted/rejected votes from voters only (votes from anyone else do not count). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const need = quorumSize(voters.length);
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  if (granted >= need) return "won";
  if (voters.length - rejected < need) return "lost";
  return "pending";
}
