// The plugin framework (kube-scheduler's framework/interface.go, in small):
// extension points PreFilter, Filter, PreScore, Score and NormalizeScore, run
// in that order for one pod against a snapshot. Plugins are pure functions of
// (CycleState, PodInfo, NodeInfo) so a batch placer can call them for any pod
// and node it likes; nothing here writes to the API.

import {
  CycleState,
  MAX_NODE_SCORE,
  isSuccess,
  success,
  type NodeInfo,
  type PodInfo,
  type Snapshot,
  type Status,
} from "./types.js";

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  /** Computes what Filter needs; Skip leaves this plugin's Filter out; a failure fails every node. */
  preFilter(state: CycleState, pod: PodInfo, snapshot: Snapshot): Status;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status;
}

export interface PreScorePlugin extends Plugin {
  /** Skip leaves this plugin's Score out. */
  preScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[], snapshot: Snapshot): Status;
}

export interface ScorePlugin extends Plugin {
  /** A raw score; NormalizeScore (when present) maps the scores of all nodes to [0, 100]. */
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** In place; `scores[i]` belongs to `nodes[i]`. */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: number[]): void;
}

export interface ScoreEntry {
  plugin: ScorePlugin;
  weight: number;
}

/** A scheduling profile: which plugins run, and score weights. */
export interface Profile {
  preFilter: PreFilterPlugin[];
  filter: FilterPlugin[];
  preScore: PreScorePlugin[];
  score: ScoreEntry[];
}

/** Why a pod fits nowhere, worded as kube-scheduler's FitError. */
export class FitError {
  constructor(
    readonly numAllNodes: number,
    /** Node name -> the status of the filter that rejected it. */
    readonly nodeStatuses: Map<string, Status>,
    readonly preFilterMsg = "",
  ) {}

  /** "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: ..." */
  get message(): string {
    if (this.numAllNodes === 0) return "no nodes available to schedule pods";
    let msg = `0/${this.numAllNodes} nodes are available:`;
    if (this.preFilterMsg) msg += ` ${this.preFilterMsg}.`;
    else {
      const reasons = new Map<string, number>();
      for (const st of this.nodeStatuses.values()) for (const r of st.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      const hist = histogram(reasons);
      if (hist) msg += ` ${hist}.`;
    }
    msg += ` ${this.postFilterMessage()}.`;
    return msg;
  }

  /**
   * What kube-scheduler's DefaultPreemption says when it finds no victims.
   * Pinsetter does not preempt; with every pod at the same priority the real
   * one finds no victims either, so its words stay true.
   */
  private postFilterMessage(): string {
    const reasons = new Map<string, number>();
    for (const st of this.nodeStatuses.values()) {
      const r = st.code === "UnschedulableAndUnresolvable" ? "Preemption is not helpful for scheduling" : "No preemption victims found for incoming pod";
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    return `preemption: 0/${this.numAllNodes} nodes are available: ${histogram(reasons)}`;
  }
}

/** "count reason" strings sorted as Go's sort.Strings sorts them (byte order), joined by ", ". */
function histogram(reasons: Map<string, number>): string {
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`);
  parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return parts.join(", ");
}

export class Framework {
  constructor(readonly profile: Profile) {}

  /** A failing PreFilter fails the pod on every node (its message becomes PreFilterMsg). */
  runPreFilter(state: CycleState, pod: PodInfo, snapshot: Snapshot): Status {
    for (const p of this.profile.preFilter) {
      const st = p.preFilter(state, pod, snapshot);
      if (st.code === "Skip") {
        state.skipFilter.add(p.name);
        continue;
      }
      if (!isSuccess(st)) return { ...st, plugin: p.name };
    }
    return success;
  }

  /** The first filter that rejects the node decides (as kube-scheduler stops there). */
  runFilters(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    for (const p of this.profile.filter) {
      if (state.skipFilter.has(p.name)) continue;
      const st = p.filter(state, pod, node);
      if (!isSuccess(st)) return { ...st, plugin: p.name };
    }
    return success;
  }

  runPreScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[], snapshot: Snapshot): void {
    for (const p of this.profile.preScore) {
      const st = p.preScore(state, pod, nodes, snapshot);
      if (st.code === "Skip") state.skipScore.add(p.name);
    }
  }

  /** Weighted sum of normalized plugin scores, one per node. */
  runScores(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): number[] {
    const total = new Array<number>(nodes.length).fill(0);
    for (const { plugin, weight } of this.profile.score) {
      if (state.skipScore.has(plugin.name)) continue;
      const scores = nodes.map((n) => plugin.score(state, pod, n));
      plugin.normalizeScore?.(state, pod, scores);
      for (let i = 0; i < nodes.length; i++) total[i]! += Math.max(0, Math.min(MAX_NODE_SCORE, scores[i]!)) * weight;
    }
    return total;
  }

  /** Per plugin (after normalization), for tests and for a batch placer's arc costs. */
  runScoresByPlugin(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const { plugin } of this.profile.score) {
      if (state.skipScore.has(plugin.name)) continue;
      const scores = nodes.map((n) => plugin.score(state, pod, n));
      plugin.normalizeScore?.(state, pod, scores);
      out.set(plugin.name, scores);
    }
    return out;
  }
}

/** kube-scheduler's DefaultNormalizeScore: scale to [0, 100] by the maximum, reversed when lower is better. */
export function defaultNormalize(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) scores[i] = reverse ? MAX_NODE_SCORE : 0;
    else {
      const s = Math.floor((MAX_NODE_SCORE * scores[i]!) / max);
      scores[i] = reverse ? MAX_NODE_SCORE - s : s;
    }
  }
}

export { CycleState };
