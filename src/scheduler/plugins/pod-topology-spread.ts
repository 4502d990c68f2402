// PodTopologySpread: the pod's own topologySpreadConstraints (DoNotSchedule
// as a filter, ScheduleAnyway as a score) and, for a pod without any, the
// default of spreading the pods of one owner across hostnames (what
// SelectorSpread did), as a score.

import { Labels, type Pod } from "../../api/types.js";
import type { FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from "../framework.js";
import { selectorMatches } from "../labels.js";
import {
  MAX_NODE_SCORE,
  skip,
  success,
  unresolvable,
  unschedulable,
  type CycleState,
  type NodeInfo,
  type PodInfo,
  type Snapshot,
  type Status,
} from "../types.js";
import { nodeMatchesPodRequirements } from "./node-affinity.js";
import { controllerUid, topologyValue } from "./topology.js";

export const ERR_SPREAD = "node(s) didn't match pod topology spread constraints";
export const ERR_SPREAD_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";

/** kube-scheduler's system default for hostname: maxSkew 3, ScheduleAnyway. */
export const DEFAULT_HOSTNAME_MAX_SKEW = 3;

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean;
  matches(p: Pod): boolean;
  /** Set for the default constraint: count by the nodes' owner index instead of a scan. */
  ownerUid?: string;
}

function constraintsOf(pod: Pod): Constraint[] {
  const ns = pod.metadata.namespace ?? "default";
  const explicit = pod.spec.topologySpreadConstraints ?? [];
  if (explicit.length > 0) {
    return explicit.map((c) => ({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      hard: c.whenUnsatisfiable === "DoNotSchedule",
      matches: (p: Pod) => (p.metadata.namespace ?? "default") === ns && selectorMatches(c.labelSelector, p.metadata.labels),
    }));
  }
  const owner = controllerUid(pod);
  if (!owner) return [];
  return [
    {
      maxSkew: DEFAULT_HOSTNAME_MAX_SKEW,
      topologyKey: Labels.hostname,
      hard: false,
      matches: (p: Pod) => controllerUid(p) === owner,
      ownerUid: owner,
    },
  ];
}

function countOnNode(c: Constraint, node: NodeInfo): number {
  if (c.ownerUid !== undefined) return node.ownerCounts.get(c.ownerUid) ?? 0;
  let n = 0;
  for (const { pod: other } of node.pods.values()) if (!other.metadata.deletionTimestamp && c.matches(other)) n++;
  return n;
}

function countDomains(c: Constraint, nodes: Iterable<NodeInfo>, pod: PodInfo, onlyEligible: boolean): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    const v = topologyValue(node, c.topologyKey);
    if (v === undefined) continue;
    if (onlyEligible && !nodeMatchesPodRequirements(pod, node)) continue;
    counts.set(v, (counts.get(v) ?? 0) + countOnNode(c, node));
  }
  return counts;
}

interface HardState {
  constraints: { c: Constraint; counts: Map<string, number>; min: number }[];
}

const FILTER_KEY = "PodTopologySpread/filter";
const SCORE_KEY = "PodTopologySpread/score";

export const PodTopologySpread: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: "PodTopologySpread",

  preFilter(state: CycleState, pi: PodInfo, snapshot: Snapshot): Status {
    const hard = constraintsOf(pi.pod).filter((c) => c.hard);
    if (hard.length === 0) return skip;
    const st: HardState = { constraints: [] };
    for (const c of hard) {
      const counts = countDomains(c, snapshot.nodes, pi, true);
      let min = Infinity;
      for (const n of counts.values()) if (n < min) min = n;
      st.constraints.push({ c, counts, min: min === Infinity ? 0 : min });
    }
    state.write(FILTER_KEY, st);
    return success;
  },

  filter(state: CycleState, pi: PodInfo, node: NodeInfo): Status {
    const st = state.read<HardState>(FILTER_KEY);
    if (!st) return success;
    for (const { c, counts, min } of st.constraints) {
      const v = topologyValue(node, c.topologyKey);
      if (v === undefined) return unresolvable(ERR_SPREAD_MISSING_LABEL);
      const self = c.matches(pi.pod) ? 1 : 0;
      if ((counts.get(v) ?? 0) + self - min > c.maxSkew) return unschedulable(ERR_SPREAD);
    }
    return success;
  },

  preScore(state: CycleState, pi: PodInfo, _nodes: NodeInfo[], snapshot: Snapshot): Status {
    const soft = constraintsOf(pi.pod).filter((c) => !c.hard);
    if (soft.length === 0) return skip;
    // A hostname domain is one node: its count is read off the node itself while scoring,
    // which spares a pass over every node per pod (the hot path of spreading deployments).
    state.write(
      SCORE_KEY,
      soft.map((c) => ({ c, counts: c.topologyKey === Labels.hostname ? null : countDomains(c, snapshot.nodes, pi, true) })),
    );
    return success;
  },

  score(state: CycleState, _pi: PodInfo, node: NodeInfo): number {
    const soft = state.read<{ c: Constraint; counts: Map<string, number> | null }[]>(SCORE_KEY) ?? [];
    let s = 0;
    for (const { c, counts } of soft) {
      if (counts === null) {
        // maxSkew - 1 softens the preference as kube-scheduler does.
        s += countOnNode(c, node) + c.maxSkew - 1;
        continue;
      }
      const v = topologyValue(node, c.topologyKey);
      if (v !== undefined) s += (counts.get(v) ?? 0) + c.maxSkew - 1;
    }
    return s;
  },

  normalizeScore(_s: CycleState, _pi: PodInfo, scores: number[]): void {
    let min = Infinity;
    let max = 0;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < scores.length; i++) {
      scores[i] = max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max + min - scores[i]!)) / max);
    }
  },
};
