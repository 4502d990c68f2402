// TaintToleration: NoSchedule/NoExecute taints the pod does not tolerate
// reject the node; untolerated PreferNoSchedule taints lower its score.

import type { Taint } from "../../api/types.js";
import type { FilterPlugin, ScorePlugin } from "../framework.js";
import { defaultNormalize } from "../framework.js";
import { success, unresolvable, type CycleState, type NodeInfo, type PodInfo, type Status } from "../types.js";
import { firstUntolerated, toleratesTaint } from "./tolerations.js";

export function untoleratedTaintMessage(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;
}

const FILTER_EFFECTS: readonly Taint["effect"][] = ["NoSchedule", "NoExecute"];

export const TaintToleration: FilterPlugin & ScorePlugin = {
  name: "TaintToleration",
  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const taint = firstUntolerated(node.node.spec?.taints, pod.pod.spec.tolerations, FILTER_EFFECTS);
    return taint ? unresolvable(untoleratedTaintMessage(taint)) : success;
  },
  score(_s: CycleState, pod: PodInfo, node: NodeInfo): number {
    // Only tolerations that could apply to PreferNoSchedule count.
    const tols = (pod.pod.spec.tolerations ?? []).filter((t) => !t.effect || t.effect === "PreferNoSchedule");
    let n = 0;
    for (const taint of node.node.spec?.taints ?? []) {
      if (taint.effect === "PreferNoSchedule" && !tols.some((t) => toleratesTaint(t, taint))) n++;
    }
    return n;
  },
  normalizeScore(_s: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalize(scores, true);
  },
};
