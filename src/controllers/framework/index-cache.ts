// Secondary indexes over an informer's cache (client-go's Indexer): objects
// grouped by namespace or by controller owner uid, kept current by the
// informer's handlers, so reconcile(key) does not scan every pod.

import type { KubeObject } from "../../api/types.js";
import { objectKey, type Informer } from "../../client/informer.js";

export class Index<T extends KubeObject> {
  private readonly buckets = new Map<string, Map<string, T>>();

  constructor(
    informer: Informer<T>,
    private readonly indexOf: (obj: T) => string[],
  ) {
    // Registered before the controllers' handlers, so they see the index current.
    informer.addHandlers({
      onAdd: (o) => this.put(o),
      onUpdate: (old, o) => {
        this.remove(old);
        this.put(o);
      },
      onDelete: (o) => this.remove(o),
    });
    for (const o of informer.list()) this.put(o);
  }

  get(value: string): T[] {
    const b = this.buckets.get(value);
    return b ? [...b.values()] : [];
  }

  private put(o: T): void {
    const key = objectKey(o);
    for (const v of this.indexOf(o)) {
      let b = this.buckets.get(v);
      if (!b) this.buckets.set(v, (b = new Map()));
      b.set(key, o);
    }
  }

  private remove(o: T): void {
    const key = objectKey(o);
    for (const v of this.indexOf(o)) {
      const b = this.buckets.get(v);
      b?.delete(key);
      if (b && b.size === 0) this.buckets.delete(v);
    }
  }
}

export const byNamespace = <T extends KubeObject>(o: T): string[] => [o.metadata.namespace ?? ""];
export const byOwnerUid = <T extends KubeObject>(o: T): string[] => (o.metadata.ownerReferences ?? []).map((r) => r.uid);
