// Equivalence classes of pending pods (Firmament's task equivalence classes):
// pods whose scheduling-relevant fields are identical get the same verdict
// from every filter and the same score from every plugin on a given node,
// so the framework runs once per class instead of once per pod. The pods of
// one ReplicaSet make one class.

import type { Pod } from "../../api/types.js";
import { hasAffinityTerms, type PodInfo } from "../types.js";

export interface PodClass {
  key: string;
  /** The pods of the class, in the order the scheduler handed them over. */
  pods: PodInfo[];
  /** Any member: plugins see only the fields the key is made of. */
  rep: PodInfo;
  /**
   * Its verdicts depend on the other pods placed in this batch (inter-pod
   * (anti-)affinity, hard topology spread, host ports): at most one of the
   * class per node in the network, and every placement re-filtered with a
   * fresh PreFilter.
   */
  sensitive: boolean;
}

const keys = new WeakMap<Pod, string>();

/** Everything a filter or score plugin reads of a pod, as one string. */
export function classKey(pi: PodInfo): string {
  const pod = pi.pod;
  let k = keys.get(pod);
  if (k !== undefined) return k;
  const s = pod.spec;
  k = JSON.stringify([
    pod.metadata.namespace ?? "default",
    pi.ownerUid ?? "",
    pod.metadata.labels ?? {},
    pi.requests,
    pi.nonZero,
    pi.hostPorts,
    s.nodeName ?? "",
    s.nodeSelector ?? {},
    s.affinity ?? {},
    s.tolerations ?? [],
    s.topologySpreadConstraints ?? [],
    s.priority ?? 0,
    pod.metadata.deletionTimestamp ?? "",
  ]);
  keys.set(pod, k);
  return k;
}

function isSensitive(pi: PodInfo): boolean {
  if (pi.hostPorts.length > 0 || hasAffinityTerms(pi.pod)) return true;
  return (pi.pod.spec.topologySpreadConstraints ?? []).some((c) => c.whenUnsatisfiable === "DoNotSchedule");
}

/** Groups pods by classKey, classes in order of their first pod. */
export function groupIntoClasses(pods: PodInfo[]): PodClass[] {
  const byKey = new Map<string, PodClass>();
  for (const pi of pods) {
    const key = classKey(pi);
    let c = byKey.get(key);
    if (!c) {
      c = { key, pods: [], rep: pi, sensitive: isSensitive(pi) };
      byKey.set(key, c);
    }
    c.pods.push(pi);
  }
  return [...byKey.values()];
}
