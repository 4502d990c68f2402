// An in-memory stand-in for the API, for unit tests of the leader loops:
// list, watch (events delivered synchronously), get, update with
// resourceVersion preconditions, merge patch, delete, create, and the
// pods/binding subresource. Failures can be injected per verb.

import { lookupResource } from "../../src/api/resources.js";
import { strategicMergePatch } from "../../src/api/patch.js";
import type { Binding, KubeObject, Pod, WatchEvent } from "../../src/api/types.js";
import { KubeApiError, type KubeClient } from "../../src/client/kube-client.js";

export type Obj = KubeObject;

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Just enough of the API for informers and the controller's writes. */
export class FakeApi {
  rv = 1;
  readonly objs = new Map<string, Map<string, Obj>>();
  readonly watchers: { resource: string; ns?: string; cb: (e: WatchEvent) => void }[] = [];
  readonly writes: string[] = [];
  readonly bindings: string[] = [];
  /** Errors the next create calls throw, in order. */
  readonly faults: Error[] = [];

  private table(resource: string): Map<string, Obj> {
    let t = this.objs.get(resource);
    if (!t) this.objs.set(resource, (t = new Map()));
    return t;
  }
  private key(ns: string | undefined, name: string | undefined): string {
    return ns ? `${ns}/${name}` : String(name);
  }
  private emit(resource: string, type: WatchEvent["type"], obj: Obj): void {
    for (const w of this.watchers) if (w.resource === resource && (!w.ns || w.ns === obj.metadata.namespace)) w.cb({ type, object: structuredClone(obj) });
  }
  put(resource: string, obj: Obj, record = false): Obj {
    const o = structuredClone(obj);
    o.metadata.resourceVersion = String(++this.rv);
    const k = this.key(o.metadata.namespace, o.metadata.name);
    const existed = this.table(resource).has(k);
    this.table(resource).set(k, o);
    if (record) this.writes.push(`${resource}/${k}`);
    this.emit(resource, existed ? "MODIFIED" : "ADDED", o);
    return structuredClone(o);
  }
  get<T extends Obj>(resource: string, ns: string | undefined, name: string): T | undefined {
    const o = this.table(resource).get(this.key(ns, name));
    return o ? (structuredClone(o) as T) : undefined;
  }

  client(): KubeClient {
    const api = {
      listAll: async (resource: string, opts: { namespace?: string }) => ({
        metadata: { resourceVersion: String(this.rv) },
        items: [...this.table(resource).values()].filter((o) => !opts.namespace || o.metadata.namespace === opts.namespace).map((o) => structuredClone(o)),
      }),
      watch: (resource: string, opts: { namespace?: string }, cb: (e: WatchEvent) => void) => {
        const w = { resource, ns: opts.namespace, cb };
        this.watchers.push(w);
        return { stop: () => this.watchers.splice(this.watchers.indexOf(w), 1), done: new Promise(() => {}) };
      },
      update: async (resource: string, obj: Obj, opts: { subresource?: string } = {}) => {
        const cur = this.get(resource, obj.metadata.namespace, obj.metadata.name!);
        if (!cur) throw new KubeApiError(404, "NotFound", "not found");
        if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) throw new KubeApiError(409, "Conflict", "stale");
        return this.put(resource, opts.subresource === "status" ? { ...cur, status: obj.status } : { ...obj, status: cur.status }, true);
      },
      patch: async (resource: string, ns: string | undefined, name: string, patch: unknown, type: string = "merge") => {
        const cur = this.get(resource, ns, name);
        if (!cur) throw new KubeApiError(404, "NotFound", "not found");
        // Strategic patches merge lists by key (conditions by type), as the API server does.
        const next = type === "strategic" ? strategicMergePatch(cur, patch, lookupResource(resource)!) : mergePatch(cur, patch);
        return this.put(resource, next as Obj, true);
      },
      delete: async (resource: string, ns: string | undefined, name: string) => {
        const k = this.key(ns, name);
        const cur = this.table(resource).get(k);
        if (!cur) throw new KubeApiError(404, "NotFound", "not found");
        this.table(resource).delete(k);
        this.writes.push(`delete ${resource}/${k}`);
        this.emit(resource, "DELETED", cur);
        return cur;
      },
      create: async (resource: string, obj: Obj, opts: { namespace?: string; subresource?: string } = {}) => {
        const fault = this.faults.shift();
        if (fault) throw fault;
        if (resource === "pods" && opts.subresource === "binding") {
          const b = obj as Binding;
          const pod = this.get<Pod>("pods", opts.namespace, b.metadata.name!);
          if (!pod) throw new KubeApiError(404, "NotFound", "not found");
          if (pod.spec.nodeName) throw new KubeApiError(409, "Conflict", `pod ${b.metadata.name} is already assigned to node "${pod.spec.nodeName}"`);
          this.bindings.push(`${b.metadata.name}->${b.target.name}`);
          this.put("pods", { ...pod, spec: { ...pod.spec, nodeName: b.target.name } } as Obj, false);
          return { kind: "Status" } as unknown as Obj;
        }
        return this.put(resource, obj, true);
      },
    };
    return api as unknown as KubeClient;
  }
}

