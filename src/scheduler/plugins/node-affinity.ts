// NodeAffinity: spec.nodeSelector and required node affinity as a filter,
// preferred node affinity as a score (sum of the weights of matching terms).

import type { FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from "../framework.js";
import { defaultNormalize } from "../framework.js";
import { nodeSelectorMatches, nodeSelectorTermMatches } from "../labels.js";
import { skip, success, unresolvable, type CycleState, type NodeInfo, type PodInfo, type Status } from "../types.js";

export const ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";

/** True when the node satisfies the pod's nodeSelector and required node affinity. */
export function nodeMatchesPodRequirements(pod: PodInfo, node: NodeInfo): boolean {
  const sel = pod.pod.spec.nodeSelector;
  if (sel) {
    const labels = node.node.metadata.labels ?? {};
    for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return false;
  }
  const req = pod.pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (req && !nodeSelectorMatches(req.nodeSelectorTerms ?? [], node.node)) return false;
  return true;
}

export const NodeAffinity: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: "NodeAffinity",
  preFilter(_s: CycleState, pod: PodInfo): Status {
    const hasSelector = Object.keys(pod.pod.spec.nodeSelector ?? {}).length > 0;
    const hasRequired = !!pod.pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    return hasSelector || hasRequired ? success : skip;
  },
  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status {
    return nodeMatchesPodRequirements(pod, node) ? success : unresolvable(ERR_NODE_AFFINITY);
  },
  preScore(_s: CycleState, pod: PodInfo): Status {
    const pref = pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    return pref && pref.length > 0 ? success : skip;
  },
  score(_s: CycleState, pod: PodInfo, node: NodeInfo): number {
    let total = 0;
    for (const term of pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (term.weight !== 0 && nodeSelectorTermMatches(term.preference, node.node)) total += term.weight;
    }
    return total;
  },
  normalizeScore(_s: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalize(scores, false);
  },
};
