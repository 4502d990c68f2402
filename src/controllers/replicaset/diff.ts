// The ReplicaSet controller's decisions as pure functions of (desired,
// observed): which pods it owns, adopts and releases, how many to create,
// which to delete, and the status it should report. controller.ts applies them.

import type { Pod, ReplicaSet, ReplicaSetStatus } from "../../api/types.js";
import { controllerRefOf, creationMs, isPodActive, isPodAvailable, isPodReady, msUntilAvailable, podReadyCondition, restartCount } from "../framework/objects.js";
import { isEmptySelector, selectorMatches } from "../framework/selectors.js";

export interface PodClaim {
  /** pods this ReplicaSet controls and that still match it */
  owned: Pod[];
  /** orphans that match: to adopt (patch ownerReferences) */
  adopt: Pod[];
  /** pods it controls that no longer match: to release */
  release: Pod[];
}

/** Kubernetes' ClaimPods over the active pods of the ReplicaSet's namespace. */
export function claimPods(rs: ReplicaSet, pods: Pod[]): PodClaim {
  const out: PodClaim = { owned: [], adopt: [], release: [] };
  const uid = rs.metadata.uid;
  const deleting = !!rs.metadata.deletionTimestamp;
  const selectable = !isEmptySelector(rs.spec.selector);
  for (const pod of pods) {
    if (!isPodActive(pod)) continue;
    const matches = selectable && selectorMatches(rs.spec.selector, pod.metadata.labels);
    const ref = controllerRefOf(pod);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matches) out.owned.push(pod);
      else if (!deleting) out.release.push(pod);
    } else if (matches && !deleting) {
      out.adopt.push(pod);
    }
  }
  return out;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** Kubernetes' ActivePods ordering: negative when a should be deleted before b.
 *  Unscheduled before scheduled, Pending before Unknown before Running, not
 *  ready before ready, ready more recently before ready longer, more restarts
 *  before fewer, newer before older. */
export function compareForDeletion(a: Pod, b: Pod): number {
  const aBound = !!a.spec.nodeName;
  const bBound = !!b.spec.nodeName;
  if (aBound !== bBound) return aBound ? 1 : -1;
  const pa = PHASE_RANK[a.status?.phase ?? "Pending"] ?? 0;
  const pb = PHASE_RANK[b.status?.phase ?? "Pending"] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  if (ra && rb) {
    const ta = Date.parse(podReadyCondition(a)?.lastTransitionTime ?? "") || 0;
    const tb = Date.parse(podReadyCondition(b)?.lastTransitionTime ?? "") || 0;
    if (ta !== tb) return tb - ta;
  }
  const ca = restartCount(a);
  const cb = restartCount(b);
  if (ca !== cb) return cb - ca;
  const ka = creationMs(a);
  const kb = creationMs(b);
  if (ka !== kb) return kb - ka;
  return String(a.metadata.name).localeCompare(String(b.metadata.name));
}

export interface ReplicaDiff {
  create: number;
  delete: Pod[];
}

/** How far the active pods are from the desired count, and the pods to delete. */
export function replicaDiff(desired: number, active: Pod[], burst = 500): ReplicaDiff {
  const diff = active.length - desired;
  if (diff < 0) return { create: Math.min(-diff, burst), delete: [] };
  if (diff > 0) return { create: 0, delete: [...active].sort(compareForDeletion).slice(0, Math.min(diff, burst)) };
  return { create: 0, delete: [] };
}

/** Slow-start batch sizes for n creations: 1, 2, 4, ... summing to n. */
export function slowStartBatches(n: number, initial = 1): number[] {
  const out: number[] = [];
  let remaining = n;
  let size = Math.min(initial, remaining);
  while (remaining > 0) {
    out.push(size);
    remaining -= size;
    size = Math.min(2 * size, remaining);
  }
  return out;
}

export interface StatusResult {
  status: ReplicaSetStatus;
  /** when a ready pod becomes available (minReadySeconds), look again after this */
  recheckAfterMs?: number;
}

export function computeStatus(rs: ReplicaSet, owned: Pod[], now: number, manageError?: string): StatusResult {
  const templateLabels = rs.spec.template.metadata?.labels ?? {};
  const minReady = rs.spec.minReadySeconds ?? 0;
  let fully = 0;
  let ready = 0;
  let available = 0;
  let recheck: number | undefined;
  for (const pod of owned) {
    const labels = pod.metadata.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fully++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
      else {
        const wait = msUntilAvailable(pod, minReady, now);
        if (wait !== null) recheck = Math.min(recheck ?? Infinity, wait + 50);
      }
    }
  }
  const conditions = [...(rs.status?.conditions ?? []).filter((c) => c.type !== "ReplicaFailure")];
  if (manageError) {
    const prev = rs.status?.conditions?.find((c) => c.type === "ReplicaFailure");
    conditions.push({
      type: "ReplicaFailure",
      status: "True",
      reason: "FailedCreate",
      message: manageError,
      lastTransitionTime: prev?.status === "True" ? prev.lastTransitionTime : new Date(now).toISOString(),
    });
  }
  const status: ReplicaSetStatus = {
    replicas: owned.length,
    fullyLabeledReplicas: fully,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation ?? 0,
    ...(conditions.length ? { conditions } : {}),
  };
  return recheck === undefined ? { status } : { status, recheckAfterMs: recheck };
}

export function statusEqual(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  if (!a) return false;
  return (
    a.replicas === b.replicas &&
    (a.fullyLabeledReplicas ?? 0) === (b.fullyLabeledReplicas ?? 0) &&
    (a.readyReplicas ?? 0) === (b.readyReplicas ?? 0) &&
    (a.availableReplicas ?? 0) === (b.availableReplicas ?? 0) &&
    (a.observedGeneration ?? 0) === (b.observedGeneration ?? 0) &&
    JSON.stringify(a.conditions ?? []) === JSON.stringify(b.conditions ?? [])
  );
}

/** The pod a ReplicaSet creates from its template. */
export function podFromTemplate(rs: ReplicaSet): Pod {
  const t = rs.spec.template;
  const meta = t.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: structuredClone(t.spec),
  };
}
