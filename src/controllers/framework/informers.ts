// One list+watch per resource shared by every controller of this process
// (client-go's SharedInformerFactory): controllers ask for a resource's
// informer, add their handlers, and the factory starts and stops them all.

import type { Logger } from "pino";
import type { KubeObject } from "../../api/types.js";
import { Informer } from "../../client/informer.js";
import type { KubeClient } from "../../client/kube-client.js";

export class SharedInformers {
  private readonly informers = new Map<string, Informer>();
  private started = false;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {}

  get<T extends KubeObject>(resource: string): Informer<T> {
    let inf = this.informers.get(resource);
    if (!inf) {
      inf = new Informer(this.client, resource, {
        onError: (err) => this.logger.debug({ resource, err: err.message }, "informer list/watch failed; retrying"),
      });
      this.informers.set(resource, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  start(): void {
    this.started = true;
    for (const i of this.informers.values()) i.start();
  }

  stop(): void {
    this.started = false;
    for (const i of this.informers.values()) i.stop();
  }
}
