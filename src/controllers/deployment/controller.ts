// The Deployment controller: owns ReplicaSets named <deploy>-<pod-template-hash>
// and moves replicas from the old ones to the new one by the Deployment's
// strategy (RollingUpdate within maxSurge/maxUnavailable, or Recreate). Each
// reconcile looks at the cached Deployment and its ReplicaSets, plans one step
// with the pure functions of rolling.ts, applies it, and records status and
// conditions. Rollback is a client patching the template back: the ReplicaSet
// whose template matches becomes the new one again with a bumped revision.

import type { Logger } from "pino";
import type { Deployment, Pod, ReplicaSet } from "../../api/types.js";
import { Annotations, Labels } from "../../api/types.js";
import type { EventRecorder } from "../../client/event-recorder.js";
import { objectKey, type Informer } from "../../client/informer.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { Controller, type ReconcileResult } from "../framework/controller.js";
import { byNamespace, byOwnerUid, Index } from "../framework/index-cache.js";
import type { SharedInformers } from "../framework/informers.js";
import { clone, controllerRefOf, creationMs, isPodActive } from "../framework/objects.js";
import { isEmptySelector, selectorMatches } from "../framework/selectors.js";
import { computeHash, templatesEqualIgnoringHash } from "./hash.js";
import { newRSReplicas, planProportionalScale, planRollingStep, type RSView, type ScaleOp } from "./rolling.js";
import {
  calculateStatus,
  DEFAULT_REVISION_HISTORY_LIMIT,
  deploymentStatusEqual,
  desiredReplicas,
  fenceposts,
  isComplete,
  maxRevision,
  progressingCondition,
  revisionOf,
} from "./status.js";

const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";

export interface DeploymentControllerOptions {
  client: KubeClient;
  informers: SharedInformers;
  logger: Logger;
  recorder: EventRecorder;
  workers?: number;
  now?: () => number;
}

interface Sets {
  d: Deployment;
  newRS: ReplicaSet | null;
  oldRSs: ReplicaSet[];
}

export class DeploymentController {
  readonly controller: Controller;
  private readonly dInformer: Informer<Deployment>;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly rsByNs: Index<ReplicaSet>;
  private readonly podsByOwner: Index<Pod>;
  private readonly dByNs: Index<Deployment>;
  private readonly now: () => number;

  constructor(private readonly opts: DeploymentControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.dInformer = opts.informers.get<Deployment>("deployments");
    this.rsInformer = opts.informers.get<ReplicaSet>("replicasets");
    const podInformer = opts.informers.get<Pod>("pods");
    this.rsByNs = new Index(this.rsInformer, byNamespace);
    this.dByNs = new Index(this.dInformer, byNamespace);
    this.podsByOwner = new Index(podInformer, byOwnerUid);
    this.controller = new Controller({
      name: "deployment",
      logger: opts.logger,
      informers: [this.dInformer, this.rsInformer, podInformer],
      workers: opts.workers ?? 4,
      reconcile: (key) => this.reconcile(key),
    });
    this.dInformer.addHandlers({
      onAdd: (d) => this.controller.enqueue(objectKey(d)),
      onUpdate: (_o, d) => this.controller.enqueue(objectKey(d)),
      onDelete: (d) => this.controller.enqueue(objectKey(d)),
    });
    this.rsInformer.addHandlers({
      onAdd: (rs) => this.rsChanged(rs),
      onUpdate: (old, rs) => {
        if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
        const oldRef = controllerRefOf(old);
        if (oldRef && oldRef.uid !== controllerRefOf(rs)?.uid) this.rsChanged(old);
        this.rsChanged(rs);
      },
      onDelete: (rs) => this.rsChanged(rs),
    });
    // Recreate waits for the old pods to be gone: their deletion is news.
    podInformer.addHandlers({
      onDelete: (pod) => {
        const ref = controllerRefOf(pod);
        if (ref?.kind !== "ReplicaSet") return;
        const rs = this.rsInformer.get(`${pod.metadata.namespace}/${ref.name}`);
        if (rs) this.rsChanged(rs);
      },
    });
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  private rsChanged(rs: ReplicaSet): void {
    const ref = controllerRefOf(rs);
    if (ref) {
      if (ref.kind === "Deployment") this.controller.enqueue(`${rs.metadata.namespace}/${ref.name}`);
      return;
    }
    // An orphan: any Deployment that selects it may adopt it.
    for (const d of this.dByNs.get(rs.metadata.namespace ?? "")) {
      if (!isEmptySelector(d.spec.selector) && selectorMatches(d.spec.selector, rs.metadata.labels)) this.controller.enqueue(objectKey(d));
    }
  }

  // ------------------------------------------------------------ reconcile

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.dInformer.get(key);
    if (!cached) return;
    let d = cached;
    if (isEmptySelector(d.spec.selector)) {
      this.opts.recorder.event(d, "Warning", "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.");
      return;
    }
    const rsList = await this.claimReplicaSets(d);
    if (d.metadata.deletionTimestamp) return this.syncStatus({ d, ...this.split(d, rsList) });

    if (d.spec.paused || this.isScalingEvent(d, rsList)) return this.sync(d, rsList);
    if (d.spec.strategy?.type === "Recreate") return this.rolloutRecreate(d, rsList);
    const sets = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true);
    d = sets.d;
    const p = { replicas: desiredReplicas(d), ...fenceposts(d) };
    const ops = planRollingStep(p, this.view(sets.newRS!), sets.oldRSs.map((r) => this.view(r)));
    if (ops.length > 0) {
      await this.apply(sets, ops);
    } else if (isComplete(d, calculateStatus(d, sets.newRS, [sets.newRS!, ...sets.oldRSs], this.now()))) {
      await this.cleanup(d, sets.oldRSs);
    }
    return this.syncStatus(sets);
  }

  /** Paused, or scaled while several ReplicaSets are active: scale proportionally, no rollout. */
  private async sync(d: Deployment, rsList: ReplicaSet[]): Promise<ReconcileResult | void> {
    const sets = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    const p = { replicas: desiredReplicas(sets.d), ...fenceposts(sets.d) };
    const ops = planProportionalScale(p, sets.newRS && this.view(sets.newRS), sets.oldRSs.map((r) => this.view(r)));
    await this.apply(sets, ops);
    // Refresh the desired-replicas annotation on the active ones the plan left alone.
    const touched = new Set(ops.map((o) => o.name));
    for (const rs of [sets.newRS, ...sets.oldRSs]) {
      if (!rs || touched.has(rs.metadata.name!) || (rs.spec.replicas ?? 0) === 0) continue;
      if (rs.metadata.annotations?.[Annotations.desiredReplicas] !== String(p.replicas)) await this.scale(sets, rs, rs.spec.replicas ?? 0);
    }
    if (sets.d.spec.paused) await this.cleanup(sets.d, sets.oldRSs);
    return this.syncStatus(sets);
  }

  private async rolloutRecreate(d: Deployment, rsList: ReplicaSet[]): Promise<ReconcileResult | void> {
    let sets = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    const active = sets.oldRSs.filter((r) => (r.spec.replicas ?? 0) > 0);
    if (active.length > 0) {
      await this.apply(sets, active.map((r) => ({ name: r.metadata.name!, from: r.spec.replicas ?? 0, to: 0 })));
      return this.syncStatus(sets);
    }
    if (this.oldPodsRunning(sets.oldRSs)) return this.syncStatus(sets);
    if (!sets.newRS) sets = await this.getAllReplicaSetsAndSyncRevision(sets.d, rsList, true);
    const want = desiredReplicas(sets.d);
    if ((sets.newRS!.spec.replicas ?? 0) !== want) await this.apply(sets, [{ name: sets.newRS!.metadata.name!, from: sets.newRS!.spec.replicas ?? 0, to: want }]);
    else if (isComplete(sets.d, calculateStatus(sets.d, sets.newRS, [sets.newRS!, ...sets.oldRSs], this.now()))) await this.cleanup(sets.d, sets.oldRSs);
    return this.syncStatus(sets);
  }

  private oldPodsRunning(oldRSs: ReplicaSet[]): boolean {
    for (const rs of oldRSs) {
      if ((rs.status?.replicas ?? 0) > 0) return true;
      for (const pod of this.podsByOwner.get(rs.metadata.uid ?? "")) {
        const phase = pod.status?.phase;
        if (phase !== "Succeeded" && phase !== "Failed") return true;
      }
    }
    return false;
  }

  private isScalingEvent(d: Deployment, rsList: ReplicaSet[]): boolean {
    const want = String(desiredReplicas(d));
    return rsList.some((rs) => {
      if ((rs.spec.replicas ?? 0) === 0) return false;
      const desired = rs.metadata.annotations?.[Annotations.desiredReplicas];
      return desired !== undefined && desired !== want;
    });
  }

  // ------------------------------------------------------------ replica sets

  private view(rs: ReplicaSet): RSView {
    let active = 0;
    for (const pod of this.podsByOwner.get(rs.metadata.uid ?? "")) if (isPodActive(pod)) active++;
    return {
      name: rs.metadata.name!,
      replicas: rs.spec.replicas ?? 0,
      available: rs.status?.availableReplicas ?? 0,
      created: creationMs(rs),
      pods: Math.max(active, rs.status?.replicas ?? 0),
    };
  }

  private split(d: Deployment, rsList: ReplicaSet[]): { newRS: ReplicaSet | null; oldRSs: ReplicaSet[] } {
    const matching = rsList.filter((rs) => templatesEqualIgnoringHash(rs.spec.template, d.spec.template)).sort((a, b) => creationMs(a) - creationMs(b));
    const newRS = matching[0] ?? null;
    return { newRS, oldRSs: rsList.filter((rs) => rs !== newRS) };
  }

  /** ReplicaSets this Deployment controls, adopting matching orphans and releasing the rest. */
  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const out: ReplicaSet[] = [];
    for (const rs of this.rsByNs.get(d.metadata.namespace ?? "")) {
      const ref = controllerRefOf(rs);
      const matches = selectorMatches(d.spec.selector, rs.metadata.labels);
      if (ref) {
        if (ref.uid !== d.metadata.uid) continue;
        if (matches || d.metadata.deletionTimestamp) out.push(rs);
        else await this.setOwner(rs, (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid));
      } else if (matches && !d.metadata.deletionTimestamp && !rs.metadata.deletionTimestamp) {
        const refs = [...(rs.metadata.ownerReferences ?? []), { apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }];
        const adopted = await this.setOwner(rs, refs);
        if (adopted) out.push(adopted);
      }
    }
    return out;
  }

  private async setOwner(rs: ReplicaSet, refs: ReplicaSet["metadata"]["ownerReferences"]): Promise<ReplicaSet | null> {
    try {
      return await this.opts.client.patch<ReplicaSet>("replicasets", rs.metadata.namespace, rs.metadata.name!, {
        metadata: { ownerReferences: refs && refs.length ? refs : null, resourceVersion: rs.metadata.resourceVersion },
      });
    } catch (err) {
      if (err instanceof KubeApiError && (err.notFound || err.conflict)) return null;
      throw err;
    }
  }

  /** Finds (or creates) the new ReplicaSet and keeps revisions in order (Kubernetes' getAllReplicaSetsAndSyncRevision). */
  private async getAllReplicaSetsAndSyncRevision(d: Deployment, rsList: ReplicaSet[], create: boolean): Promise<Sets> {
    const { newRS: existing, oldRSs } = this.split(d, rsList);
    const newRevision = String(maxRevision(oldRSs) + 1);
    let newRS = existing;
    if (newRS) {
      const rev = revisionOf(newRS);
      // A rollback (template patched back) makes an old ReplicaSet new again: it gets the next revision.
      if (rev < Number(newRevision) || (newRS.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0)) {
        const upd = clone(newRS);
        upd.metadata.annotations = { ...(upd.metadata.annotations ?? {}), [Annotations.deploymentRevision]: rev < Number(newRevision) ? newRevision : String(rev) };
        if (rev > 0 && rev < Number(newRevision)) {
          // Kubernetes keeps the revisions a reused ReplicaSet had before.
          const history = upd.metadata.annotations[REVISION_HISTORY_ANNOTATION];
          upd.metadata.annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${rev}` : String(rev);
        }
        const cause = d.metadata.annotations?.[Annotations.changeCause];
        if (cause) upd.metadata.annotations[Annotations.changeCause] = cause;
        upd.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
        newRS = await this.opts.client.update<ReplicaSet>("replicasets", upd);
      }
    } else if (create) {
      newRS = await this.createNewReplicaSet(d, oldRSs, newRevision);
    }
    // The Deployment carries its current revision too (kubectl rollout history reads it).
    const rev = newRS ? String(revisionOf(newRS)) : undefined;
    if (rev && d.metadata.annotations?.[Annotations.deploymentRevision] !== rev) {
      const upd = clone(d);
      upd.metadata.annotations = { ...(upd.metadata.annotations ?? {}), [Annotations.deploymentRevision]: rev };
      d = await this.opts.client.update<Deployment>("deployments", upd);
    }
    return { d, newRS, oldRSs };
  }

  private async createNewReplicaSet(d: Deployment, oldRSs: ReplicaSet[], revision: string): Promise<ReplicaSet> {
    const hash = computeHash(d.spec.template, d.status?.collisionCount);
    const template = clone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [Labels.podTemplateHash]: hash } };
    const p = { replicas: desiredReplicas(d), ...fenceposts(d) };
    const replicas = d.spec.strategy?.type === "Recreate" ? p.replicas : newRSReplicas(p, null, oldRSs.map((r) => this.view(r)));
    const annotations: Record<string, string> = {
      [Annotations.deploymentRevision]: revision,
      [Annotations.desiredReplicas]: String(p.replicas),
      [Annotations.maxReplicas]: String(p.replicas + p.surge),
    };
    const cause = d.metadata.annotations?.[Annotations.changeCause];
    if (cause) annotations[Annotations.changeCause] = cause;
    const rs: ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations,
        ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        replicas,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [Labels.podTemplateHash]: hash } },
        template,
      },
    };
    try {
      const created = await this.opts.client.create<ReplicaSet>("replicasets", rs, { namespace: d.metadata.namespace });
      if (replicas > 0) this.opts.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled up replica set ${created.metadata.name} to ${replicas}`);
      return created;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409)) throw err;
      // Ours already (a lagging cache)? Then use it. Otherwise a hash collision: count it and try another name.
      const found = await this.opts.client.get<ReplicaSet>("replicasets", d.metadata.namespace, rs.metadata.name!);
      if (controllerRefOf(found)?.uid === d.metadata.uid && templatesEqualIgnoringHash(found.spec.template, d.spec.template)) return found;
      const status = { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
      await this.opts.client.update<Deployment>("deployments", { ...d, status }, { subresource: "status" });
      throw new Error(`replica set name collision for ${rs.metadata.name}; collisionCount now ${status.collisionCount}`);
    }
  }

  private async apply(sets: Sets, ops: ScaleOp[]): Promise<void> {
    for (const op of ops) {
      const rs = sets.newRS?.metadata.name === op.name ? sets.newRS : sets.oldRSs.find((r) => r.metadata.name === op.name);
      if (rs) await this.scale(sets, rs, op.to);
    }
  }

  /** Sets a ReplicaSet's size (and the annotations saying for which Deployment size). */
  private async scale(sets: Sets, rs: ReplicaSet, to: number): Promise<void> {
    const d = sets.d;
    const p = { replicas: desiredReplicas(d), ...fenceposts(d) };
    const from = rs.spec.replicas ?? 0;
    const upd = clone(rs);
    upd.spec.replicas = to;
    upd.metadata.annotations = {
      ...(upd.metadata.annotations ?? {}),
      [Annotations.desiredReplicas]: String(p.replicas),
      [Annotations.maxReplicas]: String(p.replicas + p.surge),
    };
    const saved = await this.opts.client.update<ReplicaSet>("replicasets", upd);
    if (sets.newRS === rs) sets.newRS = saved;
    else sets.oldRSs = sets.oldRSs.map((r) => (r === rs ? saved : r));
    if (from !== to) this.opts.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled ${to > from ? "up" : "down"} replica set ${rs.metadata.name} to ${to}`);
  }

  /** Deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    const cleanable = oldRSs
      .filter((r) => (r.spec.replicas ?? 0) === 0 && (r.status?.replicas ?? 0) === 0 && !r.metadata.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b) || creationMs(a) - creationMs(b));
    for (const rs of cleanable.slice(0, Math.max(0, cleanable.length - limit))) {
      try {
        await this.opts.client.delete("replicasets", rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.notFound)) throw err;
      }
    }
  }

  private async syncStatus(sets: Sets): Promise<ReconcileResult | void> {
    const { d, newRS, oldRSs } = sets;
    const all = [...(newRS ? [newRS] : []), ...oldRSs];
    const now = this.now();
    const { status, recheckAfterMs } = progressingCondition(d, calculateStatus(d, newRS, all, now), newRS, now);
    if (!deploymentStatusEqual(d.status, status)) {
      await this.opts.client.update<Deployment>("deployments", { ...d, status }, { subresource: "status" });
    }
    return recheckAfterMs !== undefined ? { requeueAfterMs: recheckAfterMs } : undefined;
  }
}
