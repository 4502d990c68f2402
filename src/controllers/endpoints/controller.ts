// The Endpoints controller: one Endpoints object per Service with a selector,
// named like the Service, listing the matching pods (endpoints.ts computes
// it). A Service without a selector is left alone (its Endpoints are the
// user's); a deleted Service takes its Endpoints with it.

import type { Logger } from "pino";
import type { Endpoints, Pod, Service } from "../../api/types.js";
import { objectKey, type Informer } from "../../client/informer.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { Controller } from "../framework/controller.js";
import { byNamespace, Index } from "../framework/index-cache.js";
import type { SharedInformers } from "../framework/informers.js";
import { mapSelectorMatches } from "../framework/selectors.js";
import { computeSubsets, subsetsEqual } from "./endpoints.js";

/** Marks Endpoints this controller made, so only those go when their Service is gone. */
export const MANAGED_BY_ANNOTATION = "pinsetter.io/managed-by";
const MANAGER = "endpoints-controller";

export interface EndpointsControllerOptions {
  client: KubeClient;
  informers: SharedInformers;
  logger: Logger;
  workers?: number;
}

export class EndpointsController {
  readonly controller: Controller;
  private readonly svcInformer: Informer<Service>;
  private readonly epInformer: Informer<Endpoints>;
  private readonly svcByNs: Index<Service>;
  private readonly podsByNs: Index<Pod>;

  constructor(private readonly opts: EndpointsControllerOptions) {
    this.svcInformer = opts.informers.get<Service>("services");
    this.epInformer = opts.informers.get<Endpoints>("endpoints");
    const podInformer = opts.informers.get<Pod>("pods");
    this.svcByNs = new Index(this.svcInformer, byNamespace);
    this.podsByNs = new Index(podInformer, byNamespace);
    this.controller = new Controller({
      name: "endpoints",
      logger: opts.logger,
      informers: [this.svcInformer, this.epInformer, podInformer],
      workers: opts.workers ?? 2,
      reconcile: (key) => this.reconcile(key),
    });
    const enqueue = (o: Service | Endpoints) => this.controller.enqueue(objectKey(o));
    this.svcInformer.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    // Someone else edited or deleted an Endpoints: put ours back.
    this.epInformer.addHandlers({ onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    podInformer.addHandlers({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (o, n) => {
        if (o.metadata.resourceVersion === n.metadata.resourceVersion) return;
        this.podChanged(n);
        if (JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(n.metadata.labels ?? {})) this.podChanged(o);
      },
      onDelete: (p) => this.podChanged(p),
    });
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  private podChanged(pod: Pod): void {
    for (const svc of this.svcByNs.get(pod.metadata.namespace ?? "")) {
      if (mapSelectorMatches(svc.spec.selector, pod.metadata.labels)) this.controller.enqueue(objectKey(svc));
    }
  }

  async reconcile(key: string): Promise<void> {
    const [ns, name] = key.split("/") as [string, string];
    const svc = this.svcInformer.get(key);
    const current = this.epInformer.get(key);
    if (!svc) {
      // Only Endpoints we made go with the service; hand-made ones without a service stay.
      if (current && current.metadata.annotations?.[MANAGED_BY_ANNOTATION] === MANAGER) {
        try {
          await this.opts.client.delete("endpoints", ns, name, { preconditions: { uid: current.metadata.uid } });
        } catch (err) {
          if (!(err instanceof KubeApiError && (err.notFound || err.conflict))) throw err;
        }
      }
      return;
    }
    if (!svc.spec.selector || Object.keys(svc.spec.selector).length === 0) return;
    const subsets = computeSubsets(svc, this.podsByNs.get(ns));
    const labels = { ...(svc.metadata.labels ?? {}) };
    const managed = current?.metadata.annotations?.[MANAGED_BY_ANNOTATION] === MANAGER;
    if (current && managed && subsetsEqual(current.subsets, subsets) && JSON.stringify(current.metadata.labels ?? {}) === JSON.stringify(labels)) return;
    const annotations = { ...(current?.metadata.annotations ?? {}), [MANAGED_BY_ANNOTATION]: MANAGER };
    const ep: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name, namespace: ns, labels, annotations, ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}) },
      subsets,
    };
    if (current) await this.opts.client.update<Endpoints>("endpoints", ep);
    else {
      try {
        await this.opts.client.create<Endpoints>("endpoints", ep, { namespace: ns });
      } catch (err) {
        // Created meanwhile (our cache lags): look again with the fresh object.
        if (err instanceof KubeApiError && err.code === 409) throw Object.assign(err, { message: `endpoints ${key} exists; retrying` });
        throw err;
      }
    }
  }
}
