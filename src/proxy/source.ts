// Where the proxy learns Services and Endpoints: in a node process, two
// informers on the API; in unit tests, a fake that the test drives.

import type { Endpoints, Service } from "../api/types.js";
import type { KubeClient } from "../client/kube-client.js";
import { Informer } from "../client/informer.js";

export interface ProxySource {
  services(): Service[];
  endpoints(namespace: string, name: string): Endpoints | undefined;
  /** Called (with no detail: the proxy looks again) whenever either changes. */
  onChange(cb: () => void): void;
  start(): void;
  /** Resolves once both are listed at least once. */
  waitForSync(): Promise<void>;
  stop(): void;
}

export class InformerSource implements ProxySource {
  private readonly svc: Informer<Service>;
  private readonly eps: Informer<Endpoints>;

  constructor(client: KubeClient, onError: (err: Error) => void) {
    this.svc = new Informer<Service>(client, "services", { onError });
    this.eps = new Informer<Endpoints>(client, "endpoints", { onError });
  }

  services(): Service[] {
    return this.svc.list();
  }

  endpoints(namespace: string, name: string): Endpoints | undefined {
    return this.eps.get(`${namespace}/${name}`);
  }

  onChange(cb: () => void): void {
    const h = { onAdd: cb, onUpdate: cb, onDelete: cb };
    this.svc.addHandlers(h);
    this.eps.addHandlers(h);
  }

  start(): void {
    this.svc.start();
    this.eps.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all([this.svc.waitForSync(), this.eps.waitForSync()]);
  }

  stop(): void {
    this.svc.stop();
    this.eps.stop();
  }
}
