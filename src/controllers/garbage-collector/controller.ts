// The garbage collector: keeps a graph of owner uid -> dependents over every
// watched resource and
//  - deletes dependents whose owners are all gone (checked against the API by
//    uid, never only the cache), after a Background delete of the owner;
//  - for an owner deleting in the Foreground (finalizer foregroundDeletion),
//    deletes its dependents and removes the finalizer once none that blocks
//    owner deletion is left;
//  - for an owner deleting with Orphan (finalizer orphan), removes its
//    ownerReferences from the dependents, then the finalizer.
// Work items are "<resource>|<namespace>/<name>".

import type { Logger } from "pino";
import type { KubeObject, OwnerReference } from "../../api/types.js";
import { RESOURCES, resourceForKind, type ResourceInfo } from "../../api/resources.js";
import { objectKey, type Informer } from "../../client/informer.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { Controller, type ReconcileResult } from "../framework/controller.js";
import type { SharedInformers } from "../framework/informers.js";
import { decide, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, type OwnerState } from "./decide.js";

/** Resources the collector watches by default. Left out: Events (never owners,
 *  very many) and the heartbeat traffic of Nodes and Leases (a 1,000-node
 *  cluster renews hundreds a second). An owner of an unwatched kind is still
 *  checked by a live GET, so nothing is deleted wrongly; only its deletion is
 *  noticed later (at the next resync of the dependent). */
export const GC_RESOURCES = RESOURCES.filter((r) => !["events", "leases", "nodes"].includes(r.resource)).map((r) => r.resource);

export interface GarbageCollectorOptions {
  client: KubeClient;
  informers: SharedInformers;
  logger: Logger;
  resources?: string[];
  workers?: number;
  /** How often every object with owners is checked again (default 5 min). */
  resyncMs?: number;
}

interface Node_ {
  resource: string;
  key: string;
}

export class GarbageCollector {
  readonly controller: Controller;
  private readonly informers = new Map<string, Informer>();
  private readonly byUid = new Map<string, Node_>();
  /** owner uid -> item ids of its dependents */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly log: Logger;

  constructor(private readonly opts: GarbageCollectorOptions) {
    this.log = opts.logger.child({ controller: "garbagecollector" });
    for (const resource of opts.resources ?? GC_RESOURCES) {
      const inf = opts.informers.get<KubeObject>(resource);
      this.informers.set(resource, inf);
      inf.addHandlers({
        onAdd: (o) => this.added(resource, o),
        onUpdate: (old, o) => this.updated(resource, old, o),
        onDelete: (o) => this.deleted(resource, o),
      });
    }
    this.controller = new Controller({
      name: "garbagecollector",
      logger: opts.logger,
      informers: [...this.informers.values()],
      // A resource this API does not serve must not hold up collection of the others:
      // unsynced caches are safe here, since owners are confirmed by a live GET.
      syncTimeoutMs: 15_000,
      resync: { everyMs: opts.resyncMs ?? 5 * 60_000, keys: () => this.dependentItems() },
      workers: opts.workers ?? 4,
      reconcile: (item) => this.reconcile(item),
    });
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  // ------------------------------------------------------------ graph upkeep

  private itemOf(resource: string, o: KubeObject): string {
    return `${resource}|${objectKey(o)}`;
  }

  private link(resource: string, o: KubeObject): void {
    const item = this.itemOf(resource, o);
    if (o.metadata.uid) this.byUid.set(o.metadata.uid, { resource, key: objectKey(o) });
    for (const r of o.metadata.ownerReferences ?? []) {
      let s = this.dependents.get(r.uid);
      if (!s) this.dependents.set(r.uid, (s = new Set()));
      s.add(item);
    }
  }

  private unlink(resource: string, o: KubeObject): void {
    const item = this.itemOf(resource, o);
    if (o.metadata.uid && this.byUid.get(o.metadata.uid)?.key === objectKey(o)) this.byUid.delete(o.metadata.uid);
    for (const r of o.metadata.ownerReferences ?? []) {
      const s = this.dependents.get(r.uid);
      s?.delete(item);
      if (s && s.size === 0) this.dependents.delete(r.uid);
    }
  }

  private interesting(o: KubeObject): boolean {
    const fins = o.metadata.finalizers ?? [];
    return (o.metadata.ownerReferences?.length ?? 0) > 0 || (!!o.metadata.deletionTimestamp && (fins.includes(FINALIZER_ORPHAN) || fins.includes(FINALIZER_FOREGROUND)));
  }

  private added(resource: string, o: KubeObject): void {
    this.link(resource, o);
    if (this.interesting(o)) this.controller.enqueue(this.itemOf(resource, o));
  }

  private updated(resource: string, old: KubeObject, o: KubeObject): void {
    this.unlink(resource, old);
    this.link(resource, o);
    const refsChanged = JSON.stringify(old.metadata.ownerReferences ?? []) !== JSON.stringify(o.metadata.ownerReferences ?? []);
    const deletionChanged = old.metadata.deletionTimestamp !== o.metadata.deletionTimestamp || JSON.stringify(old.metadata.finalizers ?? []) !== JSON.stringify(o.metadata.finalizers ?? []);
    if ((refsChanged || deletionChanged) && this.interesting(o)) this.controller.enqueue(this.itemOf(resource, o));
    // A dependent that started deleting or dropped a reference may unblock its owners.
    if (refsChanged || deletionChanged) for (const r of old.metadata.ownerReferences ?? []) this.enqueueUid(r.uid);
  }

  private deleted(resource: string, o: KubeObject): void {
    this.unlink(resource, o);
    // Its dependents may be orphans now; its owners may be waiting for it.
    for (const item of this.dependents.get(o.metadata.uid ?? "") ?? []) this.controller.enqueue(item);
    for (const r of o.metadata.ownerReferences ?? []) this.enqueueUid(r.uid);
  }

  private *dependentItems(): Iterable<string> {
    for (const s of this.dependents.values()) yield* s;
  }

  private enqueueUid(uid: string): void {
    const n = this.byUid.get(uid);
    if (n) this.controller.enqueue(`${n.resource}|${n.key}`);
  }

  // ------------------------------------------------------------ reconcile

  async reconcile(item: string): Promise<ReconcileResult | void> {
    const bar = item.indexOf("|");
    const resource = item.slice(0, bar);
    const key = item.slice(bar + 1);
    const obj = this.informers.get(resource)?.get(key);
    if (!obj) return;
    const info = RESOURCES.find((r) => r.resource === resource)!;
    if (obj.metadata.deletionTimestamp) {
      const fins = obj.metadata.finalizers ?? [];
      if (fins.includes(FINALIZER_ORPHAN)) await this.orphanDependents(info, obj);
      else if (fins.includes(FINALIZER_FOREGROUND)) return this.foreground(info, obj);
      return;
    }
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const owners: { ref: OwnerReference; state: OwnerState }[] = [];
    for (const ref of refs) owners.push({ ref, state: await this.ownerState(obj, ref) });
    const hasDependents = (this.dependents.get(obj.metadata.uid ?? "")?.size ?? 0) > 0;
    const d = decide(obj, owners, hasDependents);
    if (d.action === "removeRefs") {
      await this.patchRefs(info, obj, refs.filter((r) => !d.uids.includes(r.uid)));
    } else if (d.action === "delete") {
      this.log.debug({ item, propagation: d.propagation }, "deleting object whose owners are gone");
      try {
        await this.opts.client.delete(info, obj.metadata.namespace, obj.metadata.name!, { propagationPolicy: d.propagation, preconditions: { uid: obj.metadata.uid } });
      } catch (err) {
        if (!(err instanceof KubeApiError && (err.notFound || err.conflict))) throw err;
      }
    }
  }

  /** Asks the API (not the cache, which may lag) whether the owner exists with this uid. */
  private async ownerState(dep: KubeObject, ref: OwnerReference): Promise<OwnerState> {
    const info = resourceForKind(ref.apiVersion, ref.kind) ?? resourceForKind(undefined, ref.kind);
    if (!info) return "unknown";
    const ns = info.namespaced ? dep.metadata.namespace : undefined;
    const cached = this.byUid.get(ref.uid);
    let owner: KubeObject | undefined = cached ? this.informers.get(cached.resource)?.get(cached.key) : undefined;
    if (!owner) {
      try {
        owner = await this.opts.client.get(info, ns, ref.name);
      } catch (err) {
        if (err instanceof KubeApiError && err.notFound) return "dangling";
        throw err;
      }
    }
    if (owner.metadata.uid !== ref.uid) return "dangling";
    if (owner.metadata.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND)) return "waiting";
    return "solid";
  }

  private dependentObjects(owner: KubeObject): { info: ResourceInfo; obj: KubeObject }[] {
    const out: { info: ResourceInfo; obj: KubeObject }[] = [];
    for (const item of this.dependents.get(owner.metadata.uid ?? "") ?? []) {
      const bar = item.indexOf("|");
      const resource = item.slice(0, bar);
      const obj = this.informers.get(resource)?.get(item.slice(bar + 1));
      if (obj) out.push({ info: RESOURCES.find((r) => r.resource === resource)!, obj });
    }
    return out;
  }

  private async orphanDependents(info: ResourceInfo, owner: KubeObject): Promise<void> {
    for (const dep of this.dependentObjects(owner)) {
      const refs = dep.obj.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === owner.metadata.uid)) continue;
      await this.patchRefs(dep.info, dep.obj, refs.filter((r) => r.uid !== owner.metadata.uid));
    }
    await this.removeFinalizer(info, owner, FINALIZER_ORPHAN);
  }

  private async foreground(info: ResourceInfo, owner: KubeObject): Promise<ReconcileResult | void> {
    const deps = this.dependentObjects(owner);
    // Dependents go first (each reconciled as a dependent of a waiting owner).
    for (const d of deps) if (!d.obj.metadata.deletionTimestamp) this.controller.enqueue(this.itemOf(d.info.resource, d.obj));
    const blocking = deps.filter((d) => d.obj.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.blockOwnerDeletion === true));
    if (blocking.length > 0) return { requeueAfterMs: 5000 };
    await this.removeFinalizer(info, owner, FINALIZER_FOREGROUND);
  }

  private async patchRefs(info: ResourceInfo, obj: KubeObject, refs: OwnerReference[]): Promise<void> {
    try {
      await this.opts.client.patch(info, obj.metadata.namespace, obj.metadata.name!, {
        metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: obj.metadata.resourceVersion },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
  }

  private async removeFinalizer(info: ResourceInfo, obj: KubeObject, finalizer: string): Promise<void> {
    const rest = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      await this.opts.client.patch(info, obj.metadata.namespace, obj.metadata.name!, {
        metadata: { finalizers: rest.length ? rest : null, resourceVersion: obj.metadata.resourceVersion },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
  }
}
