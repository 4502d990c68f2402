// A Deployment's status and conditions as pure functions of the Deployment and
// its ReplicaSets (Kubernetes' sync.go calculateStatus and progress.go).

import type { Condition, Deployment, DeploymentStatus, ReplicaSet } from "../../api/types.js";
import { Annotations } from "../../api/types.js";
import { resolveFenceposts } from "./rolling.js";

export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }): number {
  const v = Number(obj.metadata.annotations?.[Annotations.deploymentRevision] ?? "0");
  return Number.isFinite(v) ? v : 0;
}

export function maxRevision(rss: ReplicaSet[]): number {
  return rss.reduce((m, r) => Math.max(m, revisionOf(r)), 0);
}

export function desiredReplicas(d: Deployment): number {
  return d.spec.replicas ?? 1;
}

export function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  if (d.spec.strategy?.type === "Recreate") return { surge: 0, unavailable: 0 };
  const ru = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, desiredReplicas(d));
}

function setCondition(conds: Condition[], c: Condition): Condition[] {
  const prev = conds.find((x) => x.type === c.type);
  if (prev && prev.status === c.status && prev.reason === c.reason && c.type !== "Progressing") {
    // Same state (Available): nothing changed, keep the condition as it is.
    return conds;
  }
  if (prev && prev.status === c.status && prev.reason === c.reason) {
    // Progressing with progress made: the update time says when; the transition stays.
    return conds.map((x) => (x.type === c.type ? { ...c, lastTransitionTime: prev.lastTransitionTime } : x));
  }
  if (prev && prev.status === c.status) c = { ...c, lastTransitionTime: prev.lastTransitionTime };
  return [...conds.filter((x) => x.type !== c.type), c];
}

export function getCondition(status: DeploymentStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Counts from the ReplicaSets, and the Available condition. */
export function calculateStatus(d: Deployment, newRS: ReplicaSet | null, allRSs: ReplicaSet[], now: number): DeploymentStatus {
  const replicas = desiredReplicas(d);
  const available = allRSs.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: allRSs.reduce((n, r) => n + (r.status?.replicas ?? 0), 0),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: allRSs.reduce((n, r) => n + (r.status?.readyReplicas ?? 0), 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicas - available),
    conditions: [...(d.status?.conditions ?? [])],
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  const ts = new Date(now).toISOString();
  const minAvailable = replicas - fenceposts(d).unavailable;
  status.conditions = setCondition(
    status.conditions!,
    available >= minAvailable
      ? { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", lastUpdateTime: ts, lastTransitionTime: ts }
      : { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", lastUpdateTime: ts, lastTransitionTime: ts },
  );
  return status;
}

/** DeploymentComplete: every replica updated and available, nothing old left. */
export function isComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = desiredReplicas(d);
  return s.updatedReplicas === r && s.replicas === r && s.availableReplicas === r && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** DeploymentProgressing: something moved since the last recorded status. */
export function isProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** The Progressing condition for this status (syncRolloutStatus), and when to look again for the deadline. */
export function progressingCondition(
  d: Deployment,
  s: DeploymentStatus,
  newRS: ReplicaSet | null,
  now: number,
): { status: DeploymentStatus; recheckAfterMs?: number } {
  const ts = new Date(now).toISOString();
  const conds = s.conditions ?? [];
  const current = conds.find((c) => c.type === "Progressing");
  const rsName = newRS?.metadata.name ?? "";
  const deadline = d.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  // MaxInt32 means "no deadline" in Kubernetes.
  const noDeadline = deadline >= 2_147_483_647;
  let next: Condition | undefined;
  let recheckAfterMs: number | undefined;
  if (d.spec.paused) {
    if (current?.reason !== "DeploymentPaused") next = { type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused", lastUpdateTime: ts, lastTransitionTime: ts };
  } else if (current?.reason === "DeploymentPaused") {
    next = { type: "Progressing", status: "Unknown", reason: "DeploymentResumed", message: "Deployment is resumed", lastUpdateTime: ts, lastTransitionTime: ts };
  } else if (isComplete(d, s)) {
    // Already recorded as complete: nothing to write (Kubernetes'
    // SetDeploymentCondition keeps a condition whose status and reason are
    // unchanged; refreshing its time would rewrite a settled Deployment on
    // every sync and make every client's GET-then-PUT conflict).
    if (current?.status !== "True" || current.reason !== "NewReplicaSetAvailable") next = { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: `ReplicaSet "${rsName}" has successfully progressed.`, lastUpdateTime: ts, lastTransitionTime: ts };
  } else if (isProgressing(d, s) || !current || current.reason === "NewReplicaSetAvailable") {
    // Progress, or a new rollout (or scale) starting after a complete one: the deadline counts from now.
    next = { type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: `ReplicaSet "${rsName}" is progressing.`, lastUpdateTime: ts, lastTransitionTime: ts };
    if (!noDeadline) recheckAfterMs = deadline * 1000 + 100;
  } else if (!noDeadline && (current.status !== "False" || current.reason !== "ProgressDeadlineExceeded")) {
    const since = Date.parse(current.lastUpdateTime ?? current.lastTransitionTime ?? "") || now;
    if (since + deadline * 1000 <= now) {
      next = { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: `ReplicaSet "${rsName}" has timed out progressing.`, lastUpdateTime: ts, lastTransitionTime: ts };
    } else {
      recheckAfterMs = since + deadline * 1000 - now + 100;
    }
  }
  if (!next) return recheckAfterMs === undefined ? { status: s } : { status: s, recheckAfterMs };
  const conditions = setCondition(conds, next);
  return recheckAfterMs === undefined ? { status: { ...s, conditions } } : { status: { ...s, conditions }, recheckAfterMs };
}

/** Compares statuses ignoring timestamps that only move with time. */
export function deploymentStatusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  if (!a) return false;
  const strip = (s: DeploymentStatus) =>
    JSON.stringify({
      ...s,
      conditions: (s.conditions ?? [])
        .map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastUpdateTime: c.type === "Progressing" ? c.lastUpdateTime : undefined }))
        .sort((x, y) => x.type.localeCompare(y.type)),
      collisionCount: s.collisionCount ?? 0,
      unavailableReplicas: s.unavailableReplicas ?? 0,
    });
  return strip(a) === strip(b);
}
