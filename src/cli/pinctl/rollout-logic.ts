// The pure parts of `pinctl rollout`: kubectl's rollout status messages, the
// revision history of a deployment from its ReplicaSets, and the patch that
// rolls a deployment's template back to a revision.

import { Annotations, Labels, type Deployment, type PodTemplateSpec, type ReplicaSet } from "../../api/types.js";
import { deepEqual } from "./apply-patch.js";

export interface RolloutState {
  done: boolean;
  message: string;
  /** Set when the rollout can never finish as things are (deadline exceeded). */
  error?: string;
}

/** kubectl's DeploymentStatusViewer, word for word. */
export function deploymentRolloutStatus(d: Deployment): RolloutState {
  const name = d.metadata.name ?? "";
  const s = d.status ?? {};
  if ((d.metadata.generation ?? 0) <= (s.observedGeneration ?? 0)) {
    const progressing = s.conditions?.find((c) => c.type === "Progressing");
    if (progressing?.reason === "ProgressDeadlineExceeded") {
      return { done: false, message: "", error: `deployment "${name}" exceeded its progress deadline` };
    }
    const desired = d.spec.replicas ?? 1;
    const updated = s.updatedReplicas ?? 0;
    if (updated < desired) {
      return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...` };
    }
    const total = s.replicas ?? 0;
    if (total > updated) {
      return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...` };
    }
    const available = s.availableReplicas ?? 0;
    if (available < updated) {
      return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...` };
    }
    return { done: true, message: `deployment "${name}" successfully rolled out` };
  }
  return { done: false, message: "Waiting for deployment spec update to be observed..." };
}

export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }): number {
  const v = Number(obj.metadata.annotations?.[Annotations.deploymentRevision] ?? "");
  return Number.isInteger(v) && v > 0 ? v : 0;
}

/** The ReplicaSets a deployment controls (controller ownerReference by uid, else by name). */
export function ownedReplicaSets(d: Deployment, all: ReplicaSet[]): ReplicaSet[] {
  return all.filter((rs) =>
    (rs.metadata.ownerReferences ?? []).some((o) => o.kind === "Deployment" && o.controller !== false && (d.metadata.uid ? o.uid === d.metadata.uid : o.name === d.metadata.name)),
  );
}

export interface HistoryEntry {
  revision: number;
  changeCause: string;
  replicaSet: ReplicaSet;
}

export function rolloutHistory(d: Deployment, all: ReplicaSet[]): HistoryEntry[] {
  return ownedReplicaSets(d, all)
    .map((rs) => ({ revision: revisionOf(rs), changeCause: rs.metadata.annotations?.[Annotations.changeCause] ?? "<none>", replicaSet: rs }))
    .filter((e) => e.revision > 0)
    .sort((a, b) => a.revision - b.revision);
}

/** A ReplicaSet's pod template as its deployment would carry it: without pod-template-hash. */
export function templateOfReplicaSet(rs: ReplicaSet): PodTemplateSpec {
  const t = structuredClone(rs.spec.template);
  if (t.metadata?.labels) {
    delete t.metadata.labels[Labels.podTemplateHash];
  }
  return t;
}

// kubectl's annotationsToSkip: bookkeeping of the controller and of apply,
// which a rollback must not copy from the ReplicaSet.
const SKIPPED_ANNOTATIONS = new Set([
  Annotations.lastApplied,
  Annotations.deploymentRevision,
  "deployment.kubernetes.io/revision-history",
  Annotations.desiredReplicas,
  Annotations.maxReplicas,
  "deprecated.deployment.rollback.to",
]);

export type RollbackPlan = { kind: "patch"; revision: number; patch: unknown[] } | { kind: "skip"; revision: number } | { kind: "error"; message: string };

/** What `rollout undo [--to-revision N]` does, as kubectl's DeploymentRollbacker decides it. */
export function planRollback(d: Deployment, all: ReplicaSet[], toRevision: number): RollbackPlan {
  const name = d.metadata.name ?? "";
  if (d.spec.paused) {
    return { kind: "error", message: `you cannot rollback a paused deployment; resume it first with 'pinctl rollout resume deployment/${name}' and try again` };
  }
  const history = rolloutHistory(d, all);
  let target: HistoryEntry | undefined;
  if (toRevision === 0) {
    if (history.length < 2) return { kind: "error", message: `no rollout history found for deployment "${name}"` };
    target = history[history.length - 2];
  } else {
    target = history.find((h) => h.revision === toRevision);
    if (!target) return { kind: "error", message: `unable to find specified revision ${toRevision} in history` };
  }
  const template = templateOfReplicaSet(target!.replicaSet);
  if (deepEqual(normalizeTemplate(template), normalizeTemplate(d.spec.template))) return { kind: "skip", revision: target!.revision };
  const annotations: Record<string, string> = { ...(d.metadata.annotations ?? {}) };
  for (const [k, v] of Object.entries(target!.replicaSet.metadata.annotations ?? {})) {
    if (!SKIPPED_ANNOTATIONS.has(k)) annotations[k] = v;
  }
  return {
    kind: "patch",
    revision: target!.revision,
    patch: [
      { op: "replace", path: "/spec/template", value: template },
      { op: "add", path: "/metadata/annotations", value: annotations },
    ],
  };
}

/** Templates compared without empty maps the server may or may not keep. */
function normalizeTemplate(t: PodTemplateSpec): unknown {
  return JSON.parse(JSON.stringify(t, (_k, v: unknown) => (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0 ? undefined : v)));
}
