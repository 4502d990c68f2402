// kubectl's client-side apply, in small: the 3-way strategic-merge patch from
// the last applied configuration (original), the file (modified) and the live
// object (current). Fields in the file that differ from the live object are
// set; fields that were applied before and are gone from the file are deleted
// (null, `$patch: delete` list entries, `$deleteFromPrimitiveList`); fields set
// by others and never applied are left alone. Merge keys follow Kubernetes'
// patchMergeKey tags for the fields manifests carry. Pure: no I/O.

import type { KubeObject } from "../../api/types.js";
import { Annotations } from "../../api/types.js";

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

type ListStrategy = { type: "atomic" } | { type: "merge"; key: string } | { type: "primitive-merge" };

const CONTAINER_LISTS = new Set(["containers", "initContainers", "ephemeralContainers"]);

/** The strategic-merge strategy of the list at `path` (field names from the object's root). */
export function listStrategy(path: readonly string[], kind: string | undefined): ListStrategy {
  const field = path[path.length - 1] ?? "";
  const parent = path[path.length - 2] ?? "";
  if (CONTAINER_LISTS.has(field)) return { type: "merge", key: "name" };
  switch (field) {
    case "ports":
      if (CONTAINER_LISTS.has(parent)) return { type: "merge", key: "containerPort" };
      if (kind === "Service" && path.length === 2 && parent === "spec") return { type: "merge", key: "port" };
      return { type: "atomic" };
    case "env":
    case "volumes":
    case "imagePullSecrets":
    case "resourceClaims":
      return { type: "merge", key: "name" };
    case "volumeMounts":
      return { type: "merge", key: "mountPath" };
    case "volumeDevices":
      return { type: "merge", key: "devicePath" };
    case "hostAliases":
      return { type: "merge", key: "ip" };
    case "topologySpreadConstraints":
      return { type: "merge", key: "topologyKey" };
    case "ownerReferences":
      return { type: "merge", key: "uid" };
    case "conditions":
      return { type: "merge", key: "type" };
    case "finalizers":
      return parent === "metadata" ? { type: "primitive-merge" } : { type: "atomic" };
    default:
      return { type: "atomic" };
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function has(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== undefined;
}

function isEmpty(obj: JsonObject): boolean {
  return Object.keys(obj).length === 0;
}

/**
 * The patch that turns `current` into what `modified` asks for, deleting what
 * `original` (the previous apply) had and `modified` no longer has.
 * `{}` means unchanged. `original` is null when the object was never applied.
 */
export function threeWayMergePatch(original: JsonObject | null, modified: JsonObject, current: JsonObject): JsonObject {
  const kind = typeof modified.kind === "string" ? modified.kind : undefined;
  return diffMaps(original ?? undefined, modified, current, [], kind);
}

function diffMaps(orig: JsonObject | undefined, mod: JsonObject, cur: JsonObject, path: string[], kind: string | undefined): JsonObject {
  const patch: JsonObject = {};
  for (const [k, mv] of Object.entries(mod)) {
    if (mv === undefined) continue;
    const ov = orig?.[k];
    if (!has(cur, k)) {
      if (mv !== null) patch[k] = mv;
      continue;
    }
    const cv = cur[k]!;
    if (isObject(mv) && isObject(cv)) {
      const sub = diffMaps(isObject(ov) ? ov : undefined, mv, cv, [...path, k], kind);
      if (!isEmpty(sub)) patch[k] = sub;
      continue;
    }
    if (Array.isArray(mv) && Array.isArray(cv)) {
      diffList(patch, k, Array.isArray(ov) ? ov : undefined, mv, cv, [...path, k], kind);
      continue;
    }
    if (!deepEqual(mv, cv)) patch[k] = mv;
  }
  if (orig) {
    for (const k of Object.keys(orig)) {
      if (!has(mod, k) && has(cur, k) && cur[k] !== null) patch[k] = null;
    }
  }
  return patch;
}

function diffList(patch: JsonObject, field: string, orig: Json[] | undefined, mod: Json[], cur: Json[], path: string[], kind: string | undefined): void {
  const strategy = listStrategy(path, kind);
  if (strategy.type === "merge" && [mod, cur, orig ?? []].every((l) => l.every((e) => isObject(e) && has(e, strategy.key)))) {
    const key = strategy.key;
    const find = (list: Json[] | undefined, k: Json) => list?.find((e) => isObject(e) && deepEqual(e[key], k)) as JsonObject | undefined;
    const entries: Json[] = [];
    for (const m of mod as JsonObject[]) {
      const c = find(cur, m[key]!);
      if (!c) {
        entries.push(m);
        continue;
      }
      const sub = diffMaps(find(orig, m[key]!), m, c, path, kind);
      if (!isEmpty(sub)) entries.push({ [key]: m[key]!, ...sub });
    }
    for (const o of (orig ?? []) as JsonObject[]) {
      if (!find(mod, o[key]!) && find(cur, o[key]!)) entries.push({ [key]: o[key]!, $patch: "delete" });
    }
    if (entries.length > 0) patch[field] = entries;
    return;
  }
  if (strategy.type === "primitive-merge") {
    const additions = mod.filter((m) => !cur.some((c) => deepEqual(c, m)));
    const deletions = (orig ?? []).filter((o) => !mod.some((m) => deepEqual(m, o)) && cur.some((c) => deepEqual(c, o)));
    if (additions.length > 0) patch[field] = additions;
    if (deletions.length > 0) patch[`$deleteFromPrimitiveList/${field}`] = deletions;
    return;
  }
  if (!deepEqual(mod, cur)) patch[field] = mod;
}

/** JSON with keys sorted at every level, as Go encodes unstructured objects. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) if (value[k] !== undefined) out[k] = sortKeys(value[k]);
    return out;
  }
  return value;
}

/** The last applied configuration recorded on a live object, or null. */
export function lastApplied(obj: KubeObject): JsonObject | null {
  const text = obj.metadata?.annotations?.[Annotations.lastApplied];
  if (!text) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * The file's object with the last-applied annotation set to itself (minus the
 * annotation), as kubectl's GetModifiedConfiguration builds it.
 */
export function withLastApplied(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj) as KubeObject;
  const annotations = { ...(copy.metadata.annotations ?? {}) };
  delete annotations[Annotations.lastApplied];
  copy.metadata = { ...copy.metadata, annotations };
  const recorded = `${canonicalJson(copy)}\n`;
  copy.metadata.annotations = { ...annotations, [Annotations.lastApplied]: recorded };
  return copy;
}
