// Placers decide where pending pods go, on the framework's plugins. The greedy
// placer is kube-scheduler's scheduleOne: one pod at a time, filter a sample
// of the nodes (percentageOfNodesToScore), score the feasible ones, pick the
// best (ties at random). A batch placer (min-cost flow, issue 12) implements
// the same interface: it gets every pending pod at once and reports each
// decision through `onPlaced` so the caller's cache sees it before the next.

import { FitError, Framework } from "./framework.js";
import { CycleState, type NodeInfo, type PodInfo, type Snapshot, type Status } from "./types.js";

export interface Placement {
  pod: PodInfo;
  /** The chosen node, or null with `fitError` saying why none fits. */
  node: string | null;
  fitError?: FitError;
}

export interface Placer {
  readonly name: string;
  /** How many ready pods the scheduler hands over at once (default 1: one pod per cycle). */
  readonly maxBatch?: number;
  /**
   * Decides for `pods` in order. Before deciding the next pod, the placer
   * calls `onPlaced` for the previous decision; the scheduler assumes the pod
   * there, so the snapshot (the scheduler's live NodeInfos) already counts it.
   */
  place(pods: PodInfo[], snapshot: Snapshot, onPlaced: (p: Placement) => void): void;
}

/** kube-scheduler's adaptive percentageOfNodesToScore: all nodes up to 100, then a shrinking share, never under 100 nodes. */
export function numFeasibleNodesToFind(numAllNodes: number): number {
  if (numAllNodes < 100) return numAllNodes;
  const percentage = Math.max(5, 50 - Math.floor(numAllNodes / 125));
  return Math.max(100, Math.floor((numAllNodes * percentage) / 100));
}

/** Filters and scores one pod against the snapshot: the common core of every placer. */
export function evaluate(
  fw: Framework,
  pod: PodInfo,
  snapshot: Snapshot,
  opts: { startIndex?: number; limit?: number } = {},
): { state: CycleState; feasible: NodeInfo[]; scores: number[]; fitError?: FitError; nextIndex: number } {
  const state = new CycleState();
  const nodes = snapshot.nodes;
  const n = nodes.length;
  const start = n === 0 ? 0 : (opts.startIndex ?? 0) % n;
  if (n === 0) return { state, feasible: [], scores: [], fitError: new FitError(0, new Map()), nextIndex: 0 };
  const pre = fw.runPreFilter(state, pod, snapshot);
  if (pre.code !== "Success") {
    const statuses = new Map<string, Status>(nodes.map((node) => [node.name, pre]));
    return { state, feasible: [], scores: [], fitError: new FitError(n, statuses, pre.reasons.join(", ")), nextIndex: start };
  }
  const limit = opts.limit ?? n;
  const feasible: NodeInfo[] = [];
  const statuses = new Map<string, Status>();
  let i = 0;
  for (; i < n && feasible.length < limit; i++) {
    const node = nodes[(start + i) % n]!;
    const st = fw.runFilters(state, pod, node);
    if (st.code === "Success") feasible.push(node);
    else statuses.set(node.name, st);
  }
  const nextIndex = (start + i) % n;
  if (feasible.length === 0) return { state, feasible, scores: [], fitError: new FitError(n, statuses), nextIndex };
  if (feasible.length === 1) return { state, feasible, scores: [0], nextIndex };
  fw.runPreScore(state, pod, feasible, snapshot);
  return { state, feasible, scores: fw.runScores(state, pod, feasible), nextIndex };
}

export class GreedyPlacer implements Placer {
  readonly name = "greedy";
  private nextStartIndex = 0;

  constructor(
    private readonly fw: Framework,
    private readonly random: () => number = Math.random,
  ) {}

  place(pods: PodInfo[], snapshot: Snapshot, onPlaced: (p: Placement) => void): void {
    for (const pod of pods) onPlaced(this.placeOne(pod, snapshot));
  }

  placeOne(pod: PodInfo, snapshot: Snapshot): Placement {
    const r = evaluate(this.fw, pod, snapshot, {
      startIndex: this.nextStartIndex,
      limit: numFeasibleNodesToFind(snapshot.nodes.length),
    });
    this.nextStartIndex = r.nextIndex;
    if (r.fitError) return { pod, node: null, fitError: r.fitError };
    return { pod, node: this.selectHost(r.feasible, r.scores) };
  }

  /** The highest score; among equals, each is chosen with equal chance (reservoir sampling). */
  private selectHost(nodes: NodeInfo[], scores: number[]): string {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < nodes.length; i++) {
      if (scores[i]! > scores[best]!) {
        best = i;
        ties = 1;
      } else if (scores[i] === scores[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return nodes[best]!.name;
  }
}
