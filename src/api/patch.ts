// The three PATCH flavours the API server accepts: JSON merge patch (RFC 7386),
// JSON patch (RFC 6902) and Kubernetes' strategic merge patch, which merges
// lists by their patch merge key (containers by name, ports by containerPort,
// ...) from schema.ts and understands the directives kubectl sends ($patch,
// $retainKeys, $setElementOrder/<field>, $deleteFromPrimitiveList/<field>).
// All three return a new document and never modify their inputs.

import type { ResourceInfo } from "./resources.js";
import { findSchema, type FieldSchema, type ObjectSchema } from "./schema.js";

/** A patch that cannot be applied; the API server answers it with 422 (or 400 for a malformed patch). */
export class PatchError extends Error {
  override readonly name = "PatchError";
  constructor(
    message: string,
    /** "invalid": the patch itself is malformed (400); "conflict": a test op failed or a path is missing (422) */
    readonly kind: "invalid" | "conflict" = "invalid",
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * obj[k] = v, also for k === "__proto__" (JSON.parse makes it an ordinary
 * key; plain assignment would set the object's prototype instead).
 */
export function setOwn(obj: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

// ------------------------------------------------------------ RFC 7386

function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergeInto(Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined, v));
  }
  return out;
}

/** RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces. */
export function jsonMergePatch<T = unknown>(target: unknown, patch: unknown): T {
  return mergeInto(clone(target), patch) as T;
}

// ------------------------------------------------------------ RFC 6902

export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchError(`invalid JSON pointer "${pointer}": must start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new PatchError(`invalid JSON pointer "${pointer}": bad escape in "${t}"`);
      return t.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

function arrayIndex(token: string, arr: unknown[], forAdd: boolean, pointer: string): number {
  if (forAdd && token === "-") return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index "${token}" in "${pointer}"`, "conflict");
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) {
    throw new PatchError(`array index ${i} out of bounds in "${pointer}"`, "conflict");
  }
  return i;
}

/** The container of the last token, walking the existing document. */
function parentOf(doc: unknown, tokens: string[], pointer: string): unknown {
  let cur = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i] as string;
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur, false, pointer)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new PatchError(`path "${pointer}" does not exist`, "conflict");
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`path "${pointer}" does not exist`, "conflict");
  return cur;
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent, false, pointer)];
  const obj = parent as JsonObject;
  if (!Object.prototype.hasOwnProperty.call(obj, last)) throw new PatchError(`path "${pointer}" does not exist`, "conflict");
  return obj[last];
}

function removeAt(doc: unknown, pointer: string): { doc: unknown; removed: unknown } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError(`cannot remove the whole document`, "conflict");
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent, false, pointer);
    return { doc, removed: parent.splice(i, 1)[0] };
  }
  const obj = parent as JsonObject;
  if (!Object.prototype.hasOwnProperty.call(obj, last)) throw new PatchError(`path "${pointer}" does not exist`, "conflict");
  const removed = obj[last];
  delete obj[last];
  return { doc, removed };
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent, true, pointer), 0, value);
  else setOwn(parent as Record<string, unknown>, last, value);
  return doc;
}

function replaceAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) parent[arrayIndex(last, parent, false, pointer)] = value;
  else {
    const obj = parent as Record<string, unknown>;
    if (!Object.prototype.hasOwnProperty.call(obj, last)) throw new PatchError(`path "${pointer}" does not exist`, "conflict");
    setOwn(obj, last, value);
  }
  return doc;
}

function checkOp(op: unknown, i: number): JsonPatchOperation {
  if (!isObject(op)) throw new PatchError(`operation ${i}: must be an object`);
  if (typeof op.op !== "string") throw new PatchError(`operation ${i}: missing "op"`);
  if (typeof op.path !== "string") throw new PatchError(`operation ${i}: missing "path"`);
  if (!["add", "remove", "replace", "move", "copy", "test"].includes(op.op)) {
    throw new PatchError(`operation ${i}: unknown op "${op.op}"`);
  }
  if ((op.op === "add" || op.op === "replace" || op.op === "test") && !Object.prototype.hasOwnProperty.call(op, "value")) {
    throw new PatchError(`operation ${i} (${op.op} ${op.path}): missing "value"`);
  }
  if ((op.op === "move" || op.op === "copy") && typeof op.from !== "string") {
    throw new PatchError(`operation ${i} (${op.op} ${op.path}): missing "from"`);
  }
  return op as unknown as JsonPatchOperation;
}

/** RFC 6902 JSON patch, all or nothing. Throws PatchError naming the failing operation. */
export function applyJsonPatch<T = unknown>(doc: unknown, ops: unknown): T {
  if (!Array.isArray(ops)) throw new PatchError("a JSON patch must be an array of operations");
  let cur = clone(doc);
  ops.forEach((raw, i) => {
    const op = checkOp(raw, i);
    try {
      switch (op.op) {
        case "add":
          cur = addAt(cur, op.path, clone(op.value));
          break;
        case "remove":
          cur = removeAt(cur, op.path).doc;
          break;
        case "replace":
          cur = replaceAt(cur, op.path, clone(op.value));
          break;
        case "move": {
          const from = op.from as string;
          if (op.path.startsWith(`${from}/`)) throw new PatchError(`cannot move "${from}" into its own child "${op.path}"`);
          if (from === op.path) break;
          const { doc: d, removed } = removeAt(cur, from);
          cur = addAt(d, op.path, removed);
          break;
        }
        case "copy":
          cur = addAt(cur, op.path, clone(getAt(cur, op.from as string)));
          break;
        case "test":
          if (!deepEqual(getAt(cur, op.path), op.value)) {
            throw new PatchError(`testing value ${op.path} failed`, "conflict");
          }
          break;
      }
    } catch (e) {
      if (e instanceof PatchError) throw new PatchError(`operation ${i} (${op.op} ${op.path}): ${e.message}`, e.kind);
      throw e;
    }
  });
  return cur as T;
}

// ------------------------------------------------------------ strategic merge patch

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

/** What we know about the value at one place in the document. */
type Shape = { object?: ObjectSchema; field?: FieldSchema };

function shapeOfField(f: FieldSchema | undefined): Shape {
  if (f === undefined) return {};
  if (f.kind === "object") return { object: findSchema(f.ref), field: f };
  return { field: f };
}

function childShape(parent: Shape, key: string): Shape {
  if (parent.object !== undefined) return shapeOfField(parent.object.fields[key]);
  if (parent.field?.kind === "map") return shapeOfField(parent.field.values);
  return {};
}

function itemShape(list: FieldSchema | undefined): Shape {
  if (list?.kind !== "array") return {};
  return shapeOfField(list.items);
}

/** Removes every SMP directive from a value that is being added as is. */
function stripDirectives(v: unknown, shape: Shape): unknown {
  if (Array.isArray(v)) {
    const items = itemShape(shape.field);
    return v
      .filter((e) => !(isObject(e) && typeof e[DIRECTIVE] === "string" && (e[DIRECTIVE] === "delete" || Object.keys(e).length === 1)))
      .map((e) => stripDirectives(e, items));
  }
  if (isObject(v)) return mergeMap({}, v, shape);
  return v;
}

function mergeMap(original: JsonObject, patch: JsonObject, shape: Shape): JsonObject {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === "replace") {
      const rest: JsonObject = { ...patch };
      delete rest[DIRECTIVE];
      return mergeMap({}, rest, shape);
    }
    // "$patch: delete" empties the map (Kubernetes returns {} for it).
    if (directive === "delete") return {};
    throw new PatchError(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`);
  }

  const out: JsonObject = { ...original };

  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === "string")) {
      throw new PatchError(`${RETAIN_KEYS} must be a list of field names`);
    }
    // Every field the patch sets must be one it retains.
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || k.startsWith("$")) continue;
      if (!retain.includes(k)) throw new PatchError(`doesn't match the ${RETAIN_KEYS} list: field "${k}" is set but not retained`);
    }
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }

  for (const [key, pv] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(SET_ORDER)) continue; // handled with its field below
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(pv)) throw new PatchError(`${key} must be a list`);
      const cur = out[field];
      if (Array.isArray(cur)) {
        const next = cur.filter((e) => !pv.some((d) => deepEqual(d, e)));
        setOwn(out, field, next);
      }
      continue;
    }
    if (pv === null) {
      delete out[key];
      continue;
    }
    const sub = childShape(shape, key);
    const ov = Object.prototype.hasOwnProperty.call(out, key) ? out[key] : undefined;
    if (isObject(pv)) {
      if (pv[DIRECTIVE] === "delete" && !isObject(ov)) {
        // Nothing to delete: the directive leaves no key behind.
        delete out[key];
        continue;
      }
      setOwn(out, key, mergeMap(isObject(ov) ? ov : {}, pv, sub));
      continue;
    }
    if (Array.isArray(pv)) {
      const order = patch[`${SET_ORDER}${key}`];
      setOwn(out, key, mergeList(Array.isArray(ov) ? ov : [], pv, sub.field, Array.isArray(order) ? order : undefined, key));
      continue;
    }
    setOwn(out, key, pv);
  }

  // $setElementOrder for a list the patch did not otherwise touch.
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    if (Object.prototype.hasOwnProperty.call(patch, field)) continue;
    const cur = out[field];
    if (!Array.isArray(order)) throw new PatchError(`${key} must be a list`);
    const f = childShape(shape, field).field;
    if (Array.isArray(cur)) setOwn(out, field, normalizeOrder(cur, order, cur, mergeKeyOf(f)));
  }
  return out;
}

function mergeKeyOf(list: FieldSchema | undefined): string | undefined {
  return list?.kind === "array" && list.strategy === "merge" ? list.mergeKey : undefined;
}

function mergeList(original: Json[], patch: Json[], field: FieldSchema | undefined, order: Json[] | undefined, name: string): Json[] {
  // A {"$patch": "replace"} element replaces the whole list with the rest of the patch.
  const replaceMarker = patch.findIndex((e) => isObject(e) && e[DIRECTIVE] === "replace" && Object.keys(e).length === 1);
  if (replaceMarker >= 0) {
    const rest = patch.filter((_, i) => i !== replaceMarker);
    return stripDirectives(rest, { field }) as Json[];
  }
  if (field?.kind !== "array" || field.strategy !== "merge") {
    // Atomic (or unknown) lists are replaced, as a JSON merge patch does.
    return stripDirectives(patch, { field }) as Json[];
  }
  const key = mergeKeyOf(field);
  let server: Json[];
  let merged: Json[];
  let patchOrder: Json[];
  if (key === undefined) {
    // A set of primitives: union without duplicates.
    for (const p of patch) if (isObject(p)) throw new PatchError(`${name}: a list of primitives may not hold objects`);
    server = original;
    merged = [];
    for (const e of [...original, ...patch]) if (!merged.some((m) => deepEqual(m, e))) merged.push(e);
    patchOrder = patch;
  } else {
    const items = itemShape(field);
    server = original.map((e) => e);
    const plain: JsonObject[] = [];
    for (const p of patch) {
      if (!isObject(p)) throw new PatchError(`${name}: expected an object with merge key "${key}", got ${JSON.stringify(p)}`);
      if (!Object.prototype.hasOwnProperty.call(p, key)) {
        throw new PatchError(`map: ${JSON.stringify(p)} does not contain declared merge key: ${key}`);
      }
      const directive = p[DIRECTIVE];
      if (directive === undefined) {
        plain.push(p);
      } else if (directive === "delete") {
        server = server.filter((e) => !(isObject(e) && deepEqual(e[key], p[key])));
      } else if (directive === "merge") {
        throw new PatchError("merging lists cannot yet be specified in the patch");
      } else {
        throw new PatchError(`unknown patch type "${String(directive)}" in list ${name}`);
      }
    }
    merged = server.map((e) => e);
    for (const p of plain) {
      const idx = merged.findIndex((e) => isObject(e) && deepEqual(e[key], p[key]));
      if (idx >= 0) merged[idx] = mergeMap(merged[idx] as JsonObject, p, items);
      else merged.push(mergeMap({}, p, items));
    }
    patchOrder = plain;
  }
  return normalizeOrder(merged, order ?? patchOrder, server, key);
}

/**
 * Kubernetes' element order after a merge: the elements the patch names (or
 * its $setElementOrder lists) in the patch's order, the elements only the
 * server had in their old order, interleaved by their old positions.
 */
function normalizeOrder(merged: Json[], patchOrder: Json[], serverOrder: Json[], key: string | undefined): Json[] {
  const id = (e: Json): Json => (key !== undefined && isObject(e) ? (e[key] ?? null) : e);
  const indexIn = (list: Json[], e: Json): number => {
    const want = id(e);
    return list.findIndex((o) => deepEqual(id(o), want));
  };
  const patchItems: Json[] = [];
  const serverOnly: Json[] = [];
  for (const e of merged) (indexIn(patchOrder, e) >= 0 ? patchItems : serverOnly).push(e);
  const byOrder = (list: Json[]) => (a: Json, b: Json) => indexIn(list, a) - indexIn(list, b);
  patchItems.sort(byOrder(patchOrder));
  serverOnly.sort(byOrder(serverOrder));
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (j >= patchItems.length) out.push(serverOnly[i++] as Json);
    else if (i >= serverOnly.length) out.push(patchItems[j++] as Json);
    else {
      const li = indexIn(serverOrder, serverOnly[i] as Json);
      const ri = indexIn(serverOrder, patchItems[j] as Json);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++] as Json);
      else out.push(patchItems[j++] as Json);
    }
  }
  return out;
}

/**
 * Kubernetes' strategic merge patch of one object of `info`'s kind. Lists with
 * a patch merge key merge element by element; other lists are replaced.
 */
export function strategicMergePatch<T = unknown>(original: unknown, patch: unknown, info: Pick<ResourceInfo, "kind">): T {
  if (!isObject(patch)) throw new PatchError("a strategic merge patch must be a JSON object");
  const shape: Shape = { object: findSchema(info.kind) };
  return mergeMap(isObject(original) ? (clone(original) as JsonObject) : {}, patch, shape) as T;
}
