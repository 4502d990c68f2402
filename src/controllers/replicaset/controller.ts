// The ReplicaSet controller: keeps the pods matching a ReplicaSet's selector at
// spec.replicas. Handlers enqueue the ReplicaSet's key; reconcile claims pods
// (adopt orphans, release non-matching), creates in slow-start batches or
// deletes the best victims, and writes status through the status subresource.
// Expectations keep it from acting again before its own writes are observed.

import type { Logger } from "pino";
import type { Pod, ReplicaSet } from "../../api/types.js";
import type { EventRecorder } from "../../client/event-recorder.js";
import { objectKey, type Informer } from "../../client/informer.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { Controller, type ReconcileResult } from "../framework/controller.js";
import { Expectations } from "../framework/expectations.js";
import { byNamespace, Index } from "../framework/index-cache.js";
import type { SharedInformers } from "../framework/informers.js";
import { controllerRefOf, isPodReady } from "../framework/objects.js";
import { isEmptySelector, selectorMatches } from "../framework/selectors.js";
import { claimPods, computeStatus, podFromTemplate, replicaDiff, slowStartBatches, statusEqual } from "./diff.js";

export interface ReplicaSetControllerOptions {
  client: KubeClient;
  informers: SharedInformers;
  logger: Logger;
  recorder: EventRecorder;
  workers?: number;
  /** most creations or deletions one reconcile does (Kubernetes' burstReplicas) */
  burstReplicas?: number;
  now?: () => number;
}

export class ReplicaSetController {
  readonly controller: Controller;
  readonly expectations = new Expectations();
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly rsByNs: Index<ReplicaSet>;
  private readonly podsByOwner: Index<Pod>;
  private readonly orphansByNs: Index<Pod>;
  private readonly log: Logger;
  private readonly now: () => number;
  /** set by stop(): a burst in progress sends no further batch */
  private stopping = false;

  constructor(private readonly opts: ReplicaSetControllerOptions) {
    this.log = opts.logger.child({ controller: "replicaset" });
    this.now = opts.now ?? Date.now;
    this.rsInformer = opts.informers.get<ReplicaSet>("replicasets");
    this.podInformer = opts.informers.get<Pod>("pods");
    this.rsByNs = new Index(this.rsInformer, byNamespace);
    // A ReplicaSet looks only at its own pods and its namespace's orphans, never every pod.
    this.podsByOwner = new Index(this.podInformer, (p) => {
      const ref = controllerRefOf(p);
      return ref ? [ref.uid] : [];
    });
    this.orphansByNs = new Index(this.podInformer, (p) => (controllerRefOf(p) ? [] : [p.metadata.namespace ?? ""]));
    this.controller = new Controller({
      name: "replicaset",
      logger: opts.logger,
      informers: [this.rsInformer, this.podInformer],
      workers: opts.workers ?? 4,
      reconcile: (key) => this.reconcile(key),
    });
    this.rsInformer.addHandlers({
      onAdd: (rs) => this.controller.enqueue(objectKey(rs)),
      onUpdate: (_old, rs) => this.controller.enqueue(objectKey(rs)),
      onDelete: (rs) => {
        this.expectations.delete(objectKey(rs));
        this.controller.enqueue(objectKey(rs));
      },
    });
    this.podInformer.addHandlers({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod) => this.podDeleted(pod),
    });
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    this.stopping = true;
    return this.controller.stop();
  }

  // ------------------------------------------------------------ event handlers

  /** The ReplicaSet controlling pod, if it is in the cache with the same uid. */
  private ownerOf(pod: Pod): ReplicaSet | undefined {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== "ReplicaSet") return undefined;
    const rs = this.rsInformer.get(`${pod.metadata.namespace}/${ref.name}`);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  }

  private matchingReplicaSets(pod: Pod): ReplicaSet[] {
    return this.rsByNs
      .get(pod.metadata.namespace ?? "")
      .filter((rs) => !isEmptySelector(rs.spec.selector) && selectorMatches(rs.spec.selector, pod.metadata.labels));
  }

  private podAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) return this.podDeleted(pod);
    const rs = this.ownerOf(pod);
    if (rs) {
      this.expectations.creationObserved(objectKey(rs));
      this.controller.enqueue(objectKey(rs));
    } else if (!controllerRefOf(pod)) {
      for (const m of this.matchingReplicaSets(pod)) this.controller.enqueue(objectKey(m));
    }
  }

  private podUpdated(old: Pod, pod: Pod): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) {
      // A graceful delete: count it gone now, as Kubernetes does.
      this.podDeleted(pod);
      return;
    }
    const oldRs = this.ownerOf(old);
    const rs = this.ownerOf(pod);
    if (oldRs && oldRs !== rs) this.controller.enqueue(objectKey(oldRs));
    if (rs) {
      this.controller.enqueue(objectKey(rs));
      // Becoming ready starts the minReadySeconds clock: look again when it runs out.
      const minReady = rs.spec.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.controller.enqueueAfter(objectKey(rs), minReady * 1000 + 50);
    } else if (!controllerRefOf(pod)) {
      const labelsChanged = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {});
      if (labelsChanged || controllerRefOf(old)) for (const m of this.matchingReplicaSets(pod)) this.controller.enqueue(objectKey(m));
    }
  }

  private podDeleted(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== "ReplicaSet") return;
    const key = `${pod.metadata.namespace}/${ref.name}`;
    this.expectations.deletionObserved(key, objectKey(pod));
    this.controller.enqueue(key);
  }

  // ------------------------------------------------------------ reconcile

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.rsInformer.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const rs = cached;
    const needsSync = this.expectations.satisfied(key);
    const candidates = [...this.podsByOwner.get(rs.metadata.uid ?? ""), ...this.orphansByNs.get(rs.metadata.namespace ?? "")];
    const claim = claimPods(rs, candidates);
    const owned = [...claim.owned];
    for (const pod of claim.adopt) {
      if (await this.adopt(rs, pod)) owned.push(pod);
    }
    for (const pod of claim.release) await this.release(rs, pod);

    let manageError: string | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      manageError = await this.manageReplicas(rs, owned);
    }
    const { status, recheckAfterMs } = computeStatus(rs, owned, this.now(), manageError);
    if (!statusEqual(rs.status, status)) {
      await this.opts.client.update<ReplicaSet>("replicasets", { ...rs, status }, { subresource: "status" });
    }
    if (manageError) throw new Error(manageError);
    return recheckAfterMs !== undefined ? { requeueAfterMs: recheckAfterMs } : undefined;
  }

  /** Creates or deletes pods toward spec.replicas; returns an error message if a create failed. */
  private async manageReplicas(rs: ReplicaSet, active: Pod[]): Promise<string | undefined> {
    const key = objectKey(rs);
    const diff = replicaDiff(rs.spec.replicas ?? 1, active, this.opts.burstReplicas ?? 500);
    if (diff.create > 0) {
      this.expectations.expectCreations(key, diff.create);
      let attempted = 0;
      let failure: string | undefined;
      for (const batch of slowStartBatches(diff.create)) {
        if (this.stopping) break;
        attempted += batch;
        const results = await Promise.allSettled(Array.from({ length: batch }, () => this.createPod(rs)));
        for (const r of results) {
          if (r.status === "rejected") {
            const err = r.reason as Error;
            // An unknown outcome may still land: keep expecting it (the watch or the TTL settles it).
            if (!(err instanceof KubeApiError && err.code === 0)) this.expectations.creationObserved(key);
            failure ??= err.message;
          }
        }
        if (failure) break;
      }
      // Creations never attempted after a failure are not expected either.
      for (let i = attempted; i < diff.create; i++) this.expectations.creationObserved(key);
      if (failure) {
        this.opts.recorder.event(rs, "Warning", "FailedCreate", `Error creating: ${failure}`);
        return failure;
      }
      return undefined;
    }
    if (diff.delete.length > 0) {
      this.expectations.expectDeletions(key, diff.delete.map(objectKey));
      await Promise.all(
        diff.delete.map(async (pod) => {
          try {
            await this.opts.client.delete("pods", pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
            this.opts.recorder.event(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
          } catch (err) {
            if (!(err instanceof KubeApiError && err.notFound)) {
              this.expectations.deletionObserved(key, objectKey(pod));
              this.opts.recorder.event(rs, "Warning", "FailedDelete", `Error deleting: ${(err as Error).message}`);
              throw err;
            }
          }
        }),
      );
    }
    return undefined;
  }

  private async createPod(rs: ReplicaSet): Promise<void> {
    const created = await this.opts.client.create<Pod>("pods", podFromTemplate(rs), { namespace: rs.metadata.namespace });
    this.opts.recorder.event(rs, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
  }

  /** Sets rs as the pod's controller; false when the pod changed under us. */
  private async adopt(rs: ReplicaSet, pod: Pod): Promise<boolean> {
    const refs = [
      ...(pod.metadata.ownerReferences ?? []),
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true },
    ];
    try {
      await this.opts.client.patch("pods", pod.metadata.namespace, pod.metadata.name!, {
        metadata: { ownerReferences: refs, resourceVersion: pod.metadata.resourceVersion },
      });
      this.log.debug({ rs: objectKey(rs), pod: pod.metadata.name }, "adopted pod");
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && (err.notFound || err.conflict)) return false;
      throw err;
    }
  }

  private async release(rs: ReplicaSet, pod: Pod): Promise<void> {
    const refs = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
    try {
      await this.opts.client.patch("pods", pod.metadata.namespace, pod.metadata.name!, {
        metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: pod.metadata.resourceVersion },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.notFound || err.conflict))) throw err;
    }
  }
}
