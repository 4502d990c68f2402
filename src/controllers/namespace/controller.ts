// The Namespace controller: a namespace being deleted (deletionTimestamp,
// phase Terminating) has everything in it deleted; once nothing is left its
// `kubernetes` finalizer is removed through the finalize subresource and the
// API server removes it. It reads live lists (not caches) so it never
// finalizes while something it has not seen is still there.

import type { Logger } from "pino";
import type { Namespace } from "../../api/types.js";
import { RESOURCES } from "../../api/resources.js";
import { objectKey, type Informer } from "../../client/informer.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { Controller, type ReconcileResult } from "../framework/controller.js";
import type { SharedInformers } from "../framework/informers.js";

export const NAMESPACE_FINALIZER = "kubernetes";

export interface NamespaceControllerOptions {
  client: KubeClient;
  informers: SharedInformers;
  logger: Logger;
  /** how often to look again while things are still going away */
  recheckMs?: number;
}

export class NamespaceController {
  readonly controller: Controller;
  private readonly nsInformer: Informer<Namespace>;

  constructor(private readonly opts: NamespaceControllerOptions) {
    this.nsInformer = opts.informers.get<Namespace>("namespaces");
    this.controller = new Controller({
      name: "namespace",
      logger: opts.logger,
      informers: [this.nsInformer],
      workers: 2,
      reconcile: (key) => this.reconcile(key),
    });
    const enqueue = (ns: Namespace) => {
      if (ns.metadata.deletionTimestamp) this.controller.enqueue(objectKey(ns));
    };
    this.nsInformer.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const ns = this.nsInformer.get(key);
    if (!ns?.metadata.deletionTimestamp) return;
    const name = ns.metadata.name!;
    let remaining = 0;
    for (const info of RESOURCES) {
      if (!info.namespaced) continue;
      const list = await this.opts.client.listAll(info, { namespace: name });
      for (const o of list.items) {
        remaining++;
        if (o.metadata.deletionTimestamp) continue;
        try {
          await this.opts.client.delete(info, name, o.metadata.name!, { propagationPolicy: "Background" });
        } catch (err) {
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
      }
    }
    if (remaining > 0) return { requeueAfterMs: this.opts.recheckMs ?? 1000 };
    if (!(ns.spec?.finalizers ?? []).includes(NAMESPACE_FINALIZER)) return;
    const upd: Namespace = { ...ns, spec: { ...(ns.spec ?? {}), finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER) } };
    await this.opts.client.update<Namespace>("namespaces", upd, { subresource: "finalize" });
  }
}
