// The generic REST storage behind every resource (kube-apiserver's
// registry/generic Store): create, get, list, update, patch, delete with
// optimistic concurrency, graceful deletion, finalizers and propagation
// policies; the status, binding and scale subresources; and the per-resource
// rules (strategies) that decide what a write may change.

import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { RESOURCES, apiVersionOf, lookupResource, registryKey, type ResourceInfo } from "../api/resources.js";
import type { KubeObject, ObjectList, Pod, Scale, Service, Status, Binding, Namespace } from "../api/types.js";
import type { KvService } from "../store/kv-service.js";
import { allocateService, nodePortKey, releaseService } from "./allocator.js";
import {
  applyDefaults,
  applyJsonPatch,
  jsonMergePatch,
  PatchError,
  strategicMergePatch,
  validateObject,
  formatFieldErrors,
  fieldErrorCauses,
  type Matcher,
} from "./model.js";
import { errors, StatusError, successStatus } from "./status.js";
import { ObjectStorage, storeFailure, type Stored, type TxnExtras } from "./storage.js";
import { WatchCache } from "./watch-cache.js";

export interface WriteContext {
  fenceTerm?: number;
  dryRun?: boolean;
}

export type PatchKind = "merge" | "strategic" | "json";

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListQuery {
  namespace?: string;
  label?: Matcher;
  field?: Matcher;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
}

const MAX_CONFLICT_RETRIES = 16;
const PROTECTED_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);
export const DEFAULT_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
/** Resources whose PUT creates a missing object (as their Kubernetes strategies allow). */
const CREATE_ON_UPDATE = new Set(["endpoints", "leases", "events", "nodes"]);
/** Resources whose create resets status (their status is written by controllers). */
const RESET_STATUS_ON_CREATE = new Set(["deployments", "replicasets", "horizontalpodautoscalers", "services", "namespaces", "pods"]);
/** DELETE answers the deleted object for these (others a Success Status), as Kubernetes. */
const RETURNS_DELETED_OBJECT = new Set(["pods", "services", "namespaces", "nodes", "deployments", "replicasets"]);

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const clone = <T>(v: T): T => structuredClone(v);
const stableJson = (v: unknown) => JSON.stringify(v ?? null);

function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

export function listKind(info: ResourceInfo): string {
  return `${info.kind}List`;
}

export function encodeContinue(rev: number, key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: rev, start: key })).toString("base64url");
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { v?: unknown; rv?: unknown; start?: unknown };
    if (v.v === 1 && typeof v.rv === "number" && typeof v.start === "string") return { rv: v.rv, start: v.start };
  } catch {
    // fall through
  }
  throw errors.badRequest("continue key is not valid: malformed continue token");
}

export class Registry {
  readonly storage: ObjectStorage;
  readonly caches = new Map<string, WatchCache>();
  private finalizingNamespaces = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    kv: KvService,
    private readonly log: Logger,
  ) {
    this.storage = new ObjectStorage(kv);
    for (const info of RESOURCES) this.caches.set(info.resource, new WatchCache(kv, info, log.child({ cache: info.resource })));
  }

  start(): void {
    for (const c of this.caches.values()) c.start();
    void this.ensureDefaultNamespaces();
    // Namespaces being deleted are finished by whichever master is up.
    this.sweepTimer = setInterval(() => this.sweepTerminatingNamespaces(), 2000);
    this.sweepTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const c of this.caches.values()) c.close();
  }

  cache(info: ResourceInfo): WatchCache {
    return this.caches.get(info.resource)!;
  }

  key(info: ResourceInfo, ns: string | undefined, name: string): string {
    return registryKey(info, ns, name);
  }

  // ------------------------------------------------------------------ read

  async get(info: ResourceInfo, ns: string | undefined, name: string, resourceVersion?: string): Promise<KubeObject> {
    const key = this.key(info, ns, name);
    if (resourceVersion === "0") {
      const cache = this.cache(info);
      await cache.ready;
      const o = cache.get(key);
      if (!o) throw errors.notFound(info, name);
      return o;
    }
    const cur = await this.storage.get(key);
    if (!cur) throw errors.notFound(info, name);
    return cur.obj;
  }

  async list(info: ResourceInfo, q: ListQuery): Promise<ObjectList> {
    const prefix = info.namespaced && q.namespace ? `${info.registryPrefix}${q.namespace}/` : info.registryPrefix;
    const match = (o: KubeObject) => (!q.label || q.label(o)) && (!q.field || q.field(o));
    const out: ObjectList = { kind: listKind(info), apiVersion: apiVersionOf(info), metadata: {}, items: [] };
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    const paged = limit > 0 && q.resourceVersion !== "0";
    if (q.continueToken || paged) {
      let rev = 0;
      let start = prefix;
      if (q.continueToken) {
        const c = decodeContinue(q.continueToken);
        if (!c.start.startsWith(prefix)) throw errors.badRequest("continue key is not valid: it does not belong to this list");
        rev = c.rv;
        start = c.start;
      }
      for (;;) {
        let page;
        try {
          page = await this.storage.list(prefix, { startKey: start, limit: limit + 1, revision: rev });
        } catch (err) {
          if (err instanceof StatusError && err.code === 410 && q.continueToken)
            throw errors.gone(
              "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            );
          throw err;
        }
        rev = page.revision;
        let lastKey: string | null = null;
        for (const s of page.items.slice(0, limit)) {
          lastKey = this.key(info, s.obj.metadata.namespace, s.obj.metadata.name ?? "");
          if (match(s.obj)) out.items.push(s.obj);
          if (out.items.length === limit) break;
        }
        const more = page.items.length > limit || (lastKey !== null && page.items.length > 0 && lastKey !== this.keyOf(info, page.items[page.items.length - 1]!.obj));
        if (out.items.length >= limit || !more) {
          if (more && lastKey !== null) out.metadata.continue = encodeContinue(rev, `${lastKey}\u0000`);
          break;
        }
        start = `${lastKey}\u0000`;
      }
      out.metadata.resourceVersion = String(rev);
      return out;
    }
    const cache = this.cache(info);
    await cache.ready;
    if (q.resourceVersion === undefined || q.resourceVersion === "") {
      // A consistent read from the cache: learn the store's current revision
      // with a quorum read, then wait until the cache has caught up with it.
      await cache.waitFor(await this.storage.currentRevision());
    } else if (q.resourceVersion !== "0") {
      const rv = Number(q.resourceVersion);
      if (!Number.isSafeInteger(rv) || rv < 0) throw errors.badRequest(`invalid resourceVersion ${JSON.stringify(q.resourceVersion)}`);
      await cache.waitFor(rv);
    }
    const rev = cache.revision();
    for (const o of cache.list()) {
      if (info.namespaced && q.namespace && o.metadata.namespace !== q.namespace) continue;
      if (match(o)) out.items.push(o);
    }
    out.metadata.resourceVersion = String(rev);
    return out;
  }

  private keyOf(info: ResourceInfo, o: KubeObject): string {
    return this.key(info, o.metadata.namespace, o.metadata.name ?? "");
  }

  // ------------------------------------------------------------------ create

  async create(info: ResourceInfo, ns: string | undefined, body: unknown, ctx: WriteContext): Promise<KubeObject> {
    const obj = this.checkBody(info, ns, body);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    for (const f of ["resourceVersion", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"] as const) {
      delete (meta as Record<string, unknown>)[f];
    }
    meta.creationTimestamp = now();
    meta.uid = randomUUID();
    if ("spec" in obj || info.resource === "pods" || info.resource === "deployments" || info.resource === "replicasets") meta.generation = 1;
    else delete meta.generation;
    this.prepareForCreate(info, obj);
    applyDefaults(info, obj);
    this.validate(info, obj);
    if (info.namespaced) await this.checkNamespaceOpen(info, ns!, meta.name!);

    for (let attempt = 0; ; attempt++) {
      let extras: TxnExtras | null = null;
      let requested: { index: number; port: number }[] = [];
      if (info.resource === "services") {
        const a = allocateService(obj as Service, null, this.servicesInUse());
        extras = a.extras;
        requested = a.requestedPorts;
      }
      if (ctx.dryRun) return obj;
      const rev = await this.storage.create(this.key(info, ns, meta.name!), obj, extras, ctx);
      if (rev !== null) {
        meta.resourceVersion = String(rev);
        return obj;
      }
      const existing = await this.storage.get(this.key(info, ns, meta.name!));
      if (existing) throw errors.alreadyExists(info, meta.name!);
      await this.explainAllocationFailure(info, obj as Service, requested);
      if (attempt > 5) throw errors.internal("could not allocate a service address after several attempts");
      const svc = obj as Service;
      // A generated port or IP lost a race: pick again.
      for (const p of svc.spec?.ports ?? []) if (!requested.some((r) => r.port === p.nodePort)) delete p.nodePort;
      if (svc.spec) {
        delete svc.spec.clusterIP;
        delete svc.spec.clusterIPs;
      }
    }
  }

  private async explainAllocationFailure(info: ResourceInfo, svc: Service, requested: { index: number; port: number }[]): Promise<void> {
    for (const r of requested) {
      const held = await this.storage.exists(nodePortKey(r.port));
      if (held)
        throw errors.invalid(info, svc.metadata.name ?? "", [
          {
            reason: "FieldValueInvalid",
            field: `spec.ports[${r.index}].nodePort`,
            message: `spec.ports[${r.index}].nodePort: Invalid value: ${r.port}: provided port is already allocated`,
          },
        ]);
    }
  }

  private servicesInUse(): { ports: Set<number>; ips: Set<string> } {
    const ports = new Set<number>();
    const ips = new Set<string>();
    for (const o of this.caches.get("services")!.list()) {
      const s = o as Service;
      if (s.spec?.clusterIP) ips.add(s.spec.clusterIP);
      for (const p of s.spec?.ports ?? []) if (p.nodePort) ports.add(p.nodePort);
    }
    return { ports, ips };
  }

  /** Checks a decoded body is an object of this resource and fixes its namespace, apiVersion and kind. */
  checkBody(info: ResourceInfo, ns: string | undefined, body: unknown): KubeObject {
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw errors.badRequest("the body of the request must be a JSON or YAML object");
    const obj = body as KubeObject;
    if (obj.metadata === undefined) obj.metadata = {};
    if (obj.metadata === null || typeof obj.metadata !== "object" || Array.isArray(obj.metadata)) throw errors.badRequest("metadata must be an object");
    const av = apiVersionOf(info);
    if (obj.apiVersion !== undefined && obj.apiVersion !== av)
      throw errors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${av})`);
    if (obj.kind !== undefined && obj.kind !== info.kind) throw errors.badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${info.kind})`);
    const { apiVersion: _v, kind: _k, metadata, ...rest } = obj;
    // apiVersion and kind first, as Kubernetes writes objects.
    const ordered: KubeObject = { apiVersion: av, kind: info.kind, metadata, ...rest };
    return this.fixNamespace(info, ns, ordered);
  }

  private fixNamespace(info: ResourceInfo, ns: string | undefined, obj: KubeObject): KubeObject {
    if (info.namespaced) {
      if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns)
        throw errors.badRequest("the namespace of the provided object does not match the namespace sent on the request");
      obj.metadata.namespace = ns;
    } else delete obj.metadata.namespace;
    return obj;
  }

  private prepareForCreate(info: ResourceInfo, obj: KubeObject): void {
    if (RESET_STATUS_ON_CREATE.has(info.resource)) delete obj.status;
    switch (info.resource) {
      case "pods":
        obj.status = { phase: "Pending" };
        break;
      case "namespaces": {
        const ns = obj as Namespace;
        ns.spec = { finalizers: ["kubernetes"] };
        ns.status = { phase: "Active" };
        break;
      }
      case "services":
        obj.status = { loadBalancer: {} };
        break;
    }
  }

  private validate(info: ResourceInfo, obj: KubeObject, old?: KubeObject): void {
    const errs = validateObject(info, obj, old);
    if (errs.length > 0) {
      const name = obj.metadata?.name ?? obj.metadata?.generateName ?? "";
      throw errors.invalidWith(info, name, formatFieldErrors(info.kind, name, errs), fieldErrorCauses(errs));
    }
  }

  private async checkNamespaceOpen(info: ResourceInfo, ns: string, name: string): Promise<void> {
    const nsInfo = lookupResource("namespaces")!;
    const cache = this.cache(nsInfo);
    await cache.ready;
    let nsObj = cache.get(this.key(nsInfo, undefined, ns)) as Namespace | undefined;
    if (!nsObj) nsObj = (await this.storage.get(this.key(nsInfo, undefined, ns)))?.obj as Namespace | undefined;
    if (!nsObj) throw errors.notFound(nsInfo, ns);
    if (nsObj.metadata.deletionTimestamp || nsObj.status?.phase === "Terminating")
      throw errors.forbidden(info, name, `unable to create new content in namespace ${ns} because it is being terminated`);
  }

  // ------------------------------------------------------------------ update / patch

  /**
   * Reads, transforms and conditionally writes one object, retrying lost races
   * unless the caller pinned a resourceVersion (then a lost race is 409).
   * `sub` is "status" for the status subresource.
   */
  async guaranteedUpdate(
    info: ResourceInfo,
    ns: string | undefined,
    name: string,
    sub: string | undefined,
    transform: (current: KubeObject) => { obj: KubeObject; pinnedRv?: string },
    ctx: WriteContext,
    allowCreate: (() => Promise<KubeObject>) | null = null,
  ): Promise<{ obj: KubeObject; created: boolean }> {
    const key = this.key(info, ns, name);
    // The first attempt starts from the watch cache's copy, as kube-apiserver's
    // GuaranteedUpdate does: the txn compares modRevision, so a stale copy costs
    // one retry, while a fresh one saves a quorum read. Anything a cached copy
    // decides (a conflict, an error, "nothing to change") is checked again
    // against a fresh read before it is answered.
    let tryCache = !ctx.dryRun;
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      let cur: Stored | null = null;
      let cached = false;
      if (tryCache) {
        tryCache = false;
        const c = this.cache(info);
        const o = c.isReady ? c.get(key) : undefined;
        if (o) {
          cur = { obj: o, modRevision: Number(o.metadata.resourceVersion) };
          cached = true;
        }
      }
      cur ??= await this.storage.get(key);
      if (!cur) {
        if (allowCreate) return { obj: await allowCreate(), created: true };
        throw errors.notFound(info, name);
      }
      let proposed: KubeObject;
      let pinnedRv: string | undefined;
      let next: KubeObject;
      let extras: TxnExtras | null = null;
      try {
        ({ obj: proposed, pinnedRv } = transform(clone(cur.obj)));
        if (pinnedRv && pinnedRv !== cur.obj.metadata.resourceVersion) throw errors.staleObject(info, name);
        next = this.prepareForUpdate(info, proposed, cur.obj, sub);
        applyDefaults(info, next);
        // Binding is the server's own change of an otherwise immutable field.
        if (sub !== "binding") this.validate(info, next, cur.obj);
        if (info.resource === "services" && sub !== "status") extras = allocateService(next as Service, cur.obj as Service, this.servicesInUse()).extras;
      } catch (err) {
        if (cached && err instanceof StatusError) continue;
        throw err;
      }

      if (this.shouldDeleteDuringUpdate(info, next)) {
        if (ctx.dryRun) return { obj: next, created: false };
        const rev = await this.storage.delete(key, cur.modRevision, info.resource === "services" ? releaseService(cur.obj as Service) : null, ctx);
        if (rev === null) {
          if (pinnedRv && !cached) throw errors.staleObject(info, name);
          continue;
        }
        next.metadata.resourceVersion = String(rev);
        return { obj: next, created: false };
      }
      const { resourceVersion: _a, ...m1 } = next.metadata;
      const { resourceVersion: _b, ...m2 } = cur.obj.metadata;
      if (stableJson({ ...next, metadata: m1 }) === stableJson({ ...cur.obj, metadata: m2 })) {
        if (cached) continue;
        return { obj: cur.obj, created: false };
      }
      if (ctx.dryRun) return { obj: next, created: false };
      const rev = await this.storage.update(key, cur.modRevision, next, extras, ctx);
      if (rev === null) {
        if (pinnedRv && !cached) throw errors.staleObject(info, name);
        continue;
      }
      next.metadata.resourceVersion = String(rev);
      return { obj: next, created: false };
    }
    throw errors.staleObject(info, name);
  }

  private prepareForUpdate(info: ResourceInfo, proposed: KubeObject, old: KubeObject, sub: string | undefined): KubeObject {
    if (proposed === null || typeof proposed !== "object" || Array.isArray(proposed)) throw errors.badRequest("the result must be an object");
    if (proposed.metadata === null || typeof proposed.metadata !== "object") proposed.metadata = {};
    if (sub === "status") {
      // Status writes change status only (and never spec or metadata).
      return { ...clone(old), status: proposed.status };
    }
    if (sub === "finalize") return { ...clone(old), spec: proposed.spec };
    // Binding is the server's own change of spec.nodeName and the PodScheduled condition.
    if (sub === "binding") return proposed;
    const next = proposed;
    if ((next.apiVersion !== undefined && next.apiVersion !== old.apiVersion) || (next.kind !== undefined && next.kind !== old.kind))
      throw errors.badRequest(`the apiVersion and kind of an object cannot be changed (${String(next.apiVersion)}, ${String(next.kind)})`);
    next.apiVersion = old.apiVersion;
    next.kind = old.kind;
    const m = next.metadata;
    const o = old.metadata;
    m.name = o.name;
    if (o.namespace !== undefined) m.namespace = o.namespace;
    else delete m.namespace;
    m.uid = o.uid;
    m.creationTimestamp = o.creationTimestamp;
    for (const f of ["deletionTimestamp", "deletionGracePeriodSeconds", "generation"] as const) {
      if (o[f] !== undefined) (m as Record<string, unknown>)[f] = o[f];
      else delete (m as Record<string, unknown>)[f];
    }
    if (m.generateName === undefined && o.generateName !== undefined) m.generateName = o.generateName;
    delete m.managedFields;
    if (info.subresources.includes("status") && info.resource !== "namespaces") next.status = old.status;
    if (info.resource === "namespaces") {
      next.status = old.status;
      (next as Namespace).spec = (old as Namespace).spec;
    }
    if (old.metadata.generation !== undefined && stableJson(next.spec) !== stableJson(old.spec)) m.generation = old.metadata.generation + 1;
    return next;
  }

  private shouldDeleteDuringUpdate(info: ResourceInfo, obj: KubeObject): boolean {
    if (!obj.metadata.deletionTimestamp || (obj.metadata.finalizers?.length ?? 0) > 0) return false;
    // A Terminating namespace goes once its spec finalizers (the namespace controller's) are gone too.
    if (info.resource === "namespaces") return ((obj as Namespace).spec?.finalizers?.length ?? 0) === 0;
    if (info.resource === "pods") return (obj.metadata.deletionGracePeriodSeconds ?? 0) === 0;
    return true;
  }

  async update(info: ResourceInfo, ns: string | undefined, name: string, sub: string | undefined, body: unknown, ctx: WriteContext): Promise<{ obj: KubeObject; created: boolean }> {
    const obj = this.checkBody(info, ns, body);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name)
      throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    obj.metadata.name = name;
    const pinned = obj.metadata.resourceVersion || undefined;
    const allowCreate = !sub && CREATE_ON_UPDATE.has(info.resource) ? () => this.create(info, ns, clone(obj), ctx) : null;
    return this.guaranteedUpdate(info, ns, name, sub, () => ({ obj: clone(obj), ...(pinned ? { pinnedRv: pinned } : {}) }), ctx, allowCreate);
  }

  async patch(info: ResourceInfo, ns: string | undefined, name: string, sub: string | undefined, kind: PatchKind, patch: unknown, ctx: WriteContext): Promise<KubeObject> {
    const pinned = kind !== "json" ? pinnedRvOf(patch) : undefined;
    const r = await this.guaranteedUpdate(
      info,
      ns,
      name,
      sub,
      (cur) => {
        const rvBefore = cur.metadata.resourceVersion;
        const patched = applyPatch(info, cur, kind, patch);
        const p = patched as KubeObject;
        const rvAfter = p?.metadata?.resourceVersion;
        if (p?.metadata && typeof p.metadata === "object") {
          if (p.metadata.name !== undefined && p.metadata.name !== name) throw errors.badRequest("the name of the object cannot be changed by a patch");
        }
        return { obj: p, ...(pinned ? { pinnedRv: pinned } : kind === "json" && rvAfter !== rvBefore && rvAfter ? { pinnedRv: rvAfter } : {}) };
      },
      ctx,
    );
    return r.obj;
  }

  // ------------------------------------------------------------------ delete

  async delete(info: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions, ctx: WriteContext): Promise<{ body: KubeObject | Status; code: number }> {
    if (info.resource === "namespaces" && PROTECTED_NAMESPACES.has(name)) throw errors.forbidden(info, name, "this namespace may not be deleted");
    const key = this.key(info, ns, name);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const cur = await this.storage.get(key);
      if (!cur) throw errors.notFound(info, name);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cur.obj.metadata.uid)
        throw errors.conflict(info, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.obj.metadata.uid}`);
      if (pre?.resourceVersion && pre.resourceVersion !== cur.obj.metadata.resourceVersion)
        throw errors.conflict(info, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.obj.metadata.resourceVersion}`);
      const obj = clone(cur.obj);
      const meta = obj.metadata;
      let changed = false;

      if (info.resource === "namespaces") {
        const nsObj = obj as Namespace;
        if (!meta.deletionTimestamp) {
          meta.deletionTimestamp = now();
          meta.deletionGracePeriodSeconds = 0;
          nsObj.status = { ...(nsObj.status ?? {}), phase: "Terminating" };
          changed = true;
        }
      }

      // propagationPolicy as finalizers, for the garbage collector.
      const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? "Orphan" : opts.orphanDependents === false ? "Background" : undefined);
      if (policy && info.resource !== "namespaces") {
        const fins = new Set(meta.finalizers ?? []);
        const before = fins.size + [...fins].join(",");
        if (policy === "Foreground") {
          fins.add("foregroundDeletion");
          fins.delete("orphan");
        } else if (policy === "Orphan") {
          fins.add("orphan");
          fins.delete("foregroundDeletion");
        } else {
          fins.delete("orphan");
          fins.delete("foregroundDeletion");
        }
        if (before !== fins.size + [...fins].join(",")) {
          meta.finalizers = [...fins];
          if (meta.finalizers.length === 0) delete meta.finalizers;
          changed = true;
        }
      }

      let graceful = false;
      if (info.resource === "pods") {
        const pod = obj as Pod;
        let grace = opts.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
        if (grace < 0) grace = 0;
        // An unscheduled or finished pod has nothing to stop: delete it now.
        if (!pod.spec?.nodeName || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") grace = 0;
        const curGrace = meta.deletionGracePeriodSeconds;
        if (meta.deletionTimestamp && curGrace !== undefined && grace >= curGrace) {
          graceful = curGrace > 0;
        } else if (grace > 0) {
          meta.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, "Z");
          meta.deletionGracePeriodSeconds = grace;
          graceful = true;
          changed = true;
        } else if (meta.deletionGracePeriodSeconds !== 0 || !meta.deletionTimestamp) {
          meta.deletionGracePeriodSeconds = 0;
          meta.deletionTimestamp ??= now();
          changed = true;
        }
      }

      const nsHeld = info.resource === "namespaces" && ((obj as Namespace).spec?.finalizers?.length ?? 0) > 0;
      const keep = graceful || (meta.finalizers?.length ?? 0) > 0 || nsHeld;
      if (keep) {
        if (!meta.deletionTimestamp) {
          meta.deletionTimestamp = now();
          meta.deletionGracePeriodSeconds = 0;
          changed = true;
        }
        if (!changed) return { body: cur.obj, code: 200 };
        if (ctx.dryRun) return { body: obj, code: 200 };
        const rev = await this.storage.update(key, cur.modRevision, obj, null, ctx);
        if (rev === null) continue;
        meta.resourceVersion = String(rev);
        if (info.resource === "namespaces") this.sweepTerminatingNamespaces();
        // 200 with the object, as kube-apiserver answers modern clients (202 only for the deprecated orphanDependents=false).
        return { body: obj, code: opts.orphanDependents === false ? 202 : 200 };
      }
      if (ctx.dryRun) return { body: cur.obj, code: 200 };
      const rev = await this.storage.delete(key, cur.modRevision, info.resource === "services" ? releaseService(cur.obj as Service) : null, ctx);
      if (rev === null) continue;
      if (RETURNS_DELETED_OBJECT.has(info.resource)) {
        const gone = cur.obj;
        return { body: gone, code: 200 };
      }
      return { body: successStatus({ name, group: info.group, kind: info.resource, uid: cur.obj.metadata.uid ?? "" }), code: 200 };
    }
    throw errors.staleObject(info, name);
  }

  async deleteCollection(info: ResourceInfo, q: ListQuery, opts: DeleteOptions, ctx: WriteContext): Promise<ObjectList> {
    const list = await this.list(info, { ...q, limit: 0, resourceVersion: "" });
    const out: ObjectList = { kind: listKind(info), apiVersion: apiVersionOf(info), metadata: { resourceVersion: list.metadata.resourceVersion ?? "" }, items: [] };
    for (const o of list.items) {
      try {
        const r = await this.delete(info, o.metadata.namespace, o.metadata.name!, opts, ctx);
        if ((r.body as KubeObject).metadata?.name) out.items.push(r.body as KubeObject);
        else out.items.push(o);
      } catch (err) {
        if (err instanceof StatusError && err.code === 404) continue;
        throw err;
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ subresources

  async bind(ns: string, name: string, body: unknown, ctx: WriteContext): Promise<Status> {
    const podInfo = lookupResource("pods")!;
    if (body === null || typeof body !== "object") throw errors.badRequest("the body must be a Binding");
    const b = body as Binding;
    const target = b.target?.name;
    if (!target || typeof target !== "string")
      throw errors.invalid({ ...podInfo, kind: "Binding" }, name, [{ reason: "FieldValueRequired", field: "target.name", message: "target.name: Required value" }]);
    if (b.metadata?.name && b.metadata.name !== name) throw errors.badRequest(`the name of the binding (${b.metadata.name}) does not match the pod (${name})`);
    await this.guaranteedUpdate(
      podInfo,
      ns,
      name,
      "binding",
      (cur) => {
        const pod = cur as Pod;
        if (pod.metadata.deletionTimestamp) throw errors.conflict(podInfo, name, `pod ${name} is being deleted, cannot be assigned to a host`, "binding");
        if (pod.spec.nodeName) throw errors.conflict(podInfo, name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`, "binding");
        if (b.metadata?.uid && b.metadata.uid !== pod.metadata.uid) throw errors.conflict(podInfo, name, "the pod's UID does not match the binding's", "binding");
        pod.spec.nodeName = target;
        const status = (pod.status ??= {});
        const conds = (status.conditions ?? []).filter((c) => c.type !== "PodScheduled");
        conds.push({ type: "PodScheduled", status: "True", lastTransitionTime: now() });
        status.conditions = conds;
        return { obj: pod };
      },
      ctx,
    );
    return { ...successStatus(), code: 201 };
  }

  async getScale(info: ResourceInfo, ns: string, name: string): Promise<Scale> {
    return toScale(await this.get(info, ns, name));
  }

  async updateScale(info: ResourceInfo, ns: string, name: string, body: unknown, patchKind: PatchKind | null, ctx: WriteContext): Promise<Scale> {
    const r = await this.guaranteedUpdate(
      info,
      ns,
      name,
      "scale",
      (cur) => {
        const scale = toScale(cur);
        let wanted: Scale;
        if (patchKind) wanted = applyPatch(info, scale, patchKind, body) as Scale;
        else {
          if (body === null || typeof body !== "object") throw errors.badRequest("the body must be a Scale");
          wanted = body as Scale;
        }
        if (wanted === null || typeof wanted !== "object" || (wanted.kind !== undefined && wanted.kind !== "Scale") || (wanted.apiVersion !== undefined && wanted.apiVersion !== "autoscaling/v1"))
          throw errors.badRequest("the body must be an autoscaling/v1 Scale");
        const meta = wanted.metadata as unknown;
        if (meta !== undefined && (meta === null || typeof meta !== "object" || ((meta as { name?: unknown }).name !== undefined && (meta as { name?: unknown }).name !== name)))
          throw errors.badRequest("the Scale's metadata does not match the object");
        const replicas = wanted?.spec?.replicas;
        if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
          throw errors.invalid({ ...info, kind: "Scale" }, name, [
            { reason: "FieldValueInvalid", field: "spec.replicas", message: `spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` },
          ]);
        const pinned = wanted.metadata?.resourceVersion;
        (cur.spec as { replicas?: number }).replicas = replicas;
        return { obj: cur, ...(pinned && !patchKind ? { pinnedRv: pinned } : {}) };
      },
      ctx,
    );
    return toScale(r.obj);
  }

  // ------------------------------------------------------------------ namespaces

  private async ensureDefaultNamespaces(): Promise<void> {
    const info = lookupResource("namespaces")!;
    const pending = new Set(DEFAULT_NAMESPACES);
    for (let attempt = 0; pending.size > 0 && !this.closed; attempt++) {
      for (const name of [...pending]) {
        try {
          await this.create(info, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, {});
          pending.delete(name);
        } catch (err) {
          if (err instanceof StatusError && err.code === 409) pending.delete(name);
          else if (attempt % 10 === 9) this.log.info({ err: (err as Error).message, name }, "default namespace not created yet; retrying");
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 200 * (attempt + 1))));
    }
  }

  private sweepTerminatingNamespaces(): void {
    if (this.closed) return;
    const cache = this.caches.get("namespaces")!;
    for (const o of cache.list()) {
      const name = o.metadata.name!;
      if (!o.metadata.deletionTimestamp || this.finalizingNamespaces.has(name)) continue;
      this.finalizingNamespaces.add(name);
      void this.finalizeNamespace(name)
        .catch((err) => this.log.info({ err: (err as Error).message, namespace: name }, "namespace cleanup incomplete; will retry"))
        .finally(() => this.finalizingNamespaces.delete(name));
    }
  }

  /** Deletes everything in a Terminating namespace, then the namespace itself. */
  private async finalizeNamespace(name: string): Promise<void> {
    let remaining = 0;
    for (const info of RESOURCES) {
      if (!info.namespaced) continue;
      const list = await this.list(info, { namespace: name, resourceVersion: "" });
      for (const o of list.items) {
        remaining++;
        if (o.metadata.deletionTimestamp) continue;
        try {
          await this.delete(info, name, o.metadata.name!, { propagationPolicy: "Background" }, {});
        } catch (err) {
          if (!(err instanceof StatusError && err.code === 404)) throw err;
        }
      }
    }
    if (remaining > 0) {
      // Re-check what is left (graceful pods, finalizers) on the next sweep.
      let left = 0;
      for (const info of RESOURCES) if (info.namespaced) left += (await this.list(info, { namespace: name, resourceVersion: "" })).items.length;
      if (left > 0) return;
    }
    const nsInfo = lookupResource("namespaces")!;
    await this.guaranteedUpdate(
      nsInfo,
      undefined,
      name,
      "finalize",
      (cur) => {
        const ns = cur as Namespace;
        ns.spec = { ...(ns.spec ?? {}), finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== "kubernetes") };
        return { obj: ns };
      },
      {},
    ).catch((err) => {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    });
  }
}

function pinnedRvOf(patch: unknown): string | undefined {
  if (patch && typeof patch === "object" && !Array.isArray(patch)) {
    const m = (patch as { metadata?: { resourceVersion?: unknown } }).metadata;
    if (m && typeof m === "object" && typeof m.resourceVersion === "string" && m.resourceVersion !== "") return m.resourceVersion;
  }
  return undefined;
}

export function applyPatch(info: ResourceInfo, cur: KubeObject, kind: PatchKind, patch: unknown): unknown {
  try {
    switch (kind) {
      case "merge":
        if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw new PatchError("a merge patch must be a JSON object");
        return jsonMergePatch(cur, patch);
      case "strategic":
        if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw new PatchError("a strategic merge patch must be a JSON object");
        return strategicMergePatch(cur, patch, info);
      case "json":
        return applyJsonPatch(cur, patch);
    }
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw errors.failureFromPatch((err as Error).message);
  }
}

function selectorString(sel: unknown): string | undefined {
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined;
  if (!s) return undefined;
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === "In") parts.push(`${e.key} in (${(e.values ?? []).join(",")})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${(e.values ?? []).join(",")})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

export function toScale(obj: KubeObject): Scale {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: unknown };
  const status = (obj.status ?? {}) as { replicas?: number };
  const sel = selectorString(spec.selector);
  return {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, ...(sel !== undefined ? { selector: sel } : {}) },
  };
}

export { storeFailure };
