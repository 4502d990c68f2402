// InterPodAffinity: required pod affinity and anti-affinity of the incoming
// pod, and required anti-affinity of pods already placed, as a filter;
// preferred terms of both sides as a score. Any topologyKey works; hostname
// is the one Pinsetter's nodes always have.

import type { Pod, PodAffinityTerm } from "../../api/types.js";
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
import { topologyValue } from "./topology.js";

export const ERR_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";

/** Does `term`, written in a pod of namespace `ownerNs`, select `target`? */
export function termMatches(term: PodAffinityTerm, ownerNs: string, target: Pod): boolean {
  const ns = target.metadata.namespace ?? "default";
  if (term.namespaces && term.namespaces.length > 0) {
    if (!term.namespaces.includes(ns)) return false;
  } else if (term.namespaceSelector && Object.keys(term.namespaceSelector).length === 0) {
    // An empty namespaceSelector selects every namespace.
  } else if (ns !== ownerNs) return false;
  return selectorMatches(term.labelSelector, target.metadata.labels);
}

const domain = (key: string, value: string): string => `${key}\u0000${value}`;

interface FilterState {
  affinity: PodAffinityTerm[];
  anti: PodAffinityTerm[];
  /** domain -> pods matching every affinity term of the incoming pod */
  affinityCounts: Map<string, number>;
  /** domain -> pods matching an anti-affinity term of the incoming pod */
  antiCounts: Map<string, number>;
  /** domains where a placed pod's required anti-affinity rejects the incoming pod */
  existingAnti: Map<string, { key: string; value: string }>;
}

const FILTER_KEY = "InterPodAffinity/filter";
const SCORE_KEY = "InterPodAffinity/score";

function nsOf(pod: Pod): string {
  return pod.metadata.namespace ?? "default";
}

function addCount(m: Map<string, number>, k: string, by: number): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

export const InterPodAffinity: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: "InterPodAffinity",

  preFilter(state: CycleState, pi: PodInfo, snapshot: Snapshot): Status {
    const pod = pi.pod;
    const affinity = pod.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const anti = pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const st: FilterState = { affinity, anti, affinityCounts: new Map(), antiCounts: new Map(), existingAnti: new Map() };
    for (const node of snapshot.nodesWithAffinityPods()) {
      for (const key of node.podsWithAffinity) {
        const other = node.pods.get(key)!.pod;
        for (const t of other.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
          const v = topologyValue(node, t.topologyKey);
          if (v !== undefined && termMatches(t, nsOf(other), pod)) st.existingAnti.set(domain(t.topologyKey, v), { key: t.topologyKey, value: v });
        }
      }
    }
    if (affinity.length === 0 && anti.length === 0 && st.existingAnti.size === 0) return skip;
    if (affinity.length > 0 || anti.length > 0) {
      for (const node of snapshot.nodes) {
        for (const { pod: other } of node.pods.values()) {
          if (affinity.length > 0 && affinity.every((t) => termMatches(t, nsOf(pod), other))) {
            for (const t of affinity) {
              const v = topologyValue(node, t.topologyKey);
              if (v !== undefined) addCount(st.affinityCounts, domain(t.topologyKey, v), 1);
            }
          }
          for (const t of anti) {
            const v = topologyValue(node, t.topologyKey);
            if (v !== undefined && termMatches(t, nsOf(pod), other)) addCount(st.antiCounts, domain(t.topologyKey, v), 1);
          }
        }
      }
    }
    state.write(FILTER_KEY, st);
    return success;
  },

  filter(state: CycleState, pi: PodInfo, node: NodeInfo): Status {
    const st = state.read<FilterState>(FILTER_KEY);
    if (!st) return success;
    for (const { key, value } of st.existingAnti.values()) {
      if (topologyValue(node, key) === value) return unschedulable(ERR_EXISTING_ANTI_AFFINITY);
    }
    for (const t of st.anti) {
      const v = topologyValue(node, t.topologyKey);
      if (v !== undefined && (st.antiCounts.get(domain(t.topologyKey, v)) ?? 0) > 0) return unschedulable(ERR_ANTI_AFFINITY);
    }
    if (st.affinity.length > 0) {
      // The first pod of a group that selects itself may go anywhere its topology keys exist.
      const firstOfGroup = st.affinityCounts.size === 0 && st.affinity.every((t) => termMatches(t, nsOf(pi.pod), pi.pod));
      for (const t of st.affinity) {
        const v = topologyValue(node, t.topologyKey);
        if (v === undefined) return unresolvable(ERR_AFFINITY);
        if (!firstOfGroup && (st.affinityCounts.get(domain(t.topologyKey, v)) ?? 0) === 0) return unresolvable(ERR_AFFINITY);
      }
    }
    return success;
  },

  preScore(state: CycleState, pi: PodInfo, _nodes: NodeInfo[], snapshot: Snapshot): Status {
    const pod = pi.pod;
    const prefAff = pod.spec.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const prefAnti = pod.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const scores = new Map<string, { key: string; value: string; score: number }>();
    const add = (key: string, value: string, by: number) => {
      const d = domain(key, value);
      const cur = scores.get(d);
      if (cur) cur.score += by;
      else scores.set(d, { key, value, score: by });
    };
    if (prefAff.length > 0 || prefAnti.length > 0) {
      for (const node of snapshot.nodes) {
        for (const { pod: other } of node.pods.values()) {
          for (const w of prefAff) {
            const v = topologyValue(node, w.podAffinityTerm.topologyKey);
            if (v !== undefined && termMatches(w.podAffinityTerm, nsOf(pod), other)) add(w.podAffinityTerm.topologyKey, v, w.weight);
          }
          for (const w of prefAnti) {
            const v = topologyValue(node, w.podAffinityTerm.topologyKey);
            if (v !== undefined && termMatches(w.podAffinityTerm, nsOf(pod), other)) add(w.podAffinityTerm.topologyKey, v, -w.weight);
          }
        }
      }
    }
    for (const node of snapshot.nodesWithAffinityPods()) {
      for (const key of node.podsWithAffinity) {
        const other = node.pods.get(key)!.pod;
        for (const w of other.spec.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
          const v = topologyValue(node, w.podAffinityTerm.topologyKey);
          if (v !== undefined && termMatches(w.podAffinityTerm, nsOf(other), pod)) add(w.podAffinityTerm.topologyKey, v, w.weight);
        }
        for (const w of other.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
          const v = topologyValue(node, w.podAffinityTerm.topologyKey);
          if (v !== undefined && termMatches(w.podAffinityTerm, nsOf(other), pod)) add(w.podAffinityTerm.topologyKey, v, -w.weight);
        }
      }
    }
    if (scores.size === 0) return skip;
    state.write(SCORE_KEY, [...scores.values()]);
    return success;
  },

  score(state: CycleState, _pi: PodInfo, node: NodeInfo): number {
    const entries = state.read<{ key: string; value: string; score: number }[]>(SCORE_KEY) ?? [];
    let s = 0;
    for (const e of entries) if (topologyValue(node, e.key) === e.value) s += e.score;
    return s;
  },

  normalizeScore(_s: CycleState, _pi: PodInfo, scores: number[]): void {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < scores.length; i++) {
      scores[i] = max > min ? Math.floor((MAX_NODE_SCORE * (scores[i]! - min)) / (max - min)) : 0;
    }
  },
};
