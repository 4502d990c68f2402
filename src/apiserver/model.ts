// The one place the API server reaches the object model (src/api: defaults,
// validation, selectors, patches, codecs, tables). Until a piece of src/api
// lands, a small stand-in here keeps the server working; each is swapped for
// the real import when it exists.

import { parse as parseYaml, parseAllDocuments } from "yaml";
import type { KubeObject } from "../api/types.js";
import type { ResourceInfo } from "../api/resources.js";

export interface FieldError {
  type: string;
  field: string;
  message: string;
  value?: unknown;
}

export class DecodeError extends Error {
  override name = "DecodeError";
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}

/** JSON or YAML body to a value; DecodeError with line and column when malformed. */
export function decodeBody(buf: Buffer, contentType: string): unknown {
  const text = buf.toString("utf8");
  const yaml = /yaml/i.test(contentType);
  if (!yaml) {
    try {
      return JSON.parse(text);
    } catch (err) {
      const msg = (err as Error).message;
      const m = /position (\d+)/.exec(msg);
      const lm = /line (\d+) column (\d+)/.exec(msg);
      if (lm) throw new DecodeError(msg, Number(lm[1]), Number(lm[2]));
      const { line, column } = lineCol(text, m ? Number(m[1]) : text.length);
      throw new DecodeError(msg, line, column);
    }
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    const e = d.errors[0];
    if (e) {
      const pos = e.linePos?.[0];
      throw new DecodeError(e.message.split("\n")[0]!, pos?.line ?? 1, pos?.col ?? 1);
    }
  }
  return parseYaml(text);
}

export function applyDefaults(_info: ResourceInfo, _obj: KubeObject): void {}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function validateObject(_info: ResourceInfo, obj: KubeObject, _old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = obj.metadata?.name;
  if (!name) errs.push({ type: "FieldValueRequired", field: "metadata.name", message: "metadata.name: Required value: name or generateName is required" });
  else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name))
    errs.push({
      type: "FieldValueInvalid",
      field: "metadata.name",
      message: `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    });
  return errs;
}

export function findUnknownFields(_info: ResourceInfo, _obj: unknown): string[] {
  return [];
}

// ---------------------------------------------------------------- selectors

export type Matcher = (obj: KubeObject) => boolean;

interface Requirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!";
  values: string[];
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== "");
}

export class SelectorError extends Error {}

function parseRequirements(s: string): Requirement[] {
  const reqs: Requirement[] = [];
  for (const part of splitTopLevel(s)) {
    let m: RegExpExecArray | null;
    if ((m = /^([^\s=!(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      reqs.push({ key: m[1]!, op: m[2] as "in" | "notin", values: m[3]!.split(",").map((v) => v.trim()).filter((v) => v !== "") });
    } else if ((m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(part))) {
      reqs.push({ key: m[1]!, op: m[2] === "!=" ? "!=" : "=", values: [m[3]!] });
    } else if ((m = /^!\s*([^\s=!(),]+)$/.exec(part))) {
      reqs.push({ key: m[1]!, op: "!", values: [] });
    } else if ((m = /^([^\s=!(),]+)$/.exec(part))) {
      reqs.push({ key: m[1]!, op: "exists", values: [] });
    } else throw new SelectorError(`unable to parse requirement: ${JSON.stringify(part)}`);
  }
  return reqs;
}

function matches(reqs: Requirement[], get: (key: string) => string | undefined): boolean {
  for (const r of reqs) {
    const v = get(r.key);
    switch (r.op) {
      case "=":
        if (v !== r.values[0]) return false;
        break;
      case "!=":
        if (v === r.values[0]) return false;
        break;
      case "in":
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case "notin":
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case "exists":
        if (v === undefined) return false;
        break;
      case "!":
        if (v !== undefined) return false;
        break;
    }
  }
  return true;
}

export function parseLabelSelector(s: string): Matcher {
  const reqs = parseRequirements(s);
  return (obj) => matches(reqs, (k) => obj.metadata?.labels?.[k]);
}

function fieldValue(obj: KubeObject, path: string): string | undefined {
  let cur: unknown = obj;
  for (const seg of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (cur === undefined || cur === null) return "";
  return typeof cur === "object" ? JSON.stringify(cur) : String(cur);
}

export function parseFieldSelector(s: string): Matcher {
  const reqs = parseRequirements(s);
  for (const r of reqs) if (r.op !== "=" && r.op !== "!=") throw new SelectorError(`field selectors support only =, == and != (${r.key})`);
  return (obj) => matches(reqs, (k) => fieldValue(obj, k));
}

// ---------------------------------------------------------------- patches

export class PatchError extends Error {}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** RFC 7386. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** RFC 6902. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError("json patch must be an array of operations");
  let root: unknown = structuredClone(doc);
  const walk = (path: string): { parent: Record<string, unknown> | unknown[]; key: string } => {
    if (!path.startsWith("/")) throw new PatchError(`invalid path ${JSON.stringify(path)}`);
    const segs = path.slice(1).split("/").map(unescapePointer);
    let cur: unknown = root;
    for (const s of segs.slice(0, -1)) {
      if (Array.isArray(cur)) cur = cur[Number(s)];
      else if (isObj(cur)) cur = cur[s];
      else throw new PatchError(`path ${path} not found`);
      if (cur === undefined) throw new PatchError(`path ${path} not found`);
    }
    if (!Array.isArray(cur) && !isObj(cur)) throw new PatchError(`path ${path} not found`);
    return { parent: cur, key: segs[segs.length - 1]! };
  };
  const get = (path: string): unknown => {
    if (path === "") return root;
    const { parent, key } = walk(path);
    const v = Array.isArray(parent) ? parent[Number(key)] : parent[key];
    if (v === undefined) throw new PatchError(`path ${path} not found`);
    return v;
  };
  const remove = (path: string): unknown => {
    const { parent, key } = walk(path);
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!(i >= 0 && i < parent.length)) throw new PatchError(`path ${path} not found`);
      return parent.splice(i, 1)[0];
    }
    if (!(key in parent)) throw new PatchError(`path ${path} not found`);
    const v = parent[key];
    delete parent[key];
    return v;
  };
  const add = (path: string, value: unknown, replace: boolean): void => {
    if (path === "") {
      root = value;
      return;
    }
    const { parent, key } = walk(path);
    if (Array.isArray(parent)) {
      const i = key === "-" ? parent.length : Number(key);
      if (!(Number.isInteger(i) && i >= 0 && i <= parent.length)) throw new PatchError(`invalid index in ${path}`);
      if (replace) {
        if (i >= parent.length) throw new PatchError(`path ${path} not found`);
        parent[i] = value;
      } else parent.splice(i, 0, value);
    } else {
      if (replace && !(key in parent)) throw new PatchError(`path ${path} not found`);
      parent[key] = value;
    }
  };
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") throw new PatchError("each json patch operation needs op and path");
    const path = raw.path;
    switch (raw.op) {
      case "add":
        add(path, structuredClone(raw.value), false);
        break;
      case "replace":
        add(path, structuredClone(raw.value), true);
        break;
      case "remove":
        remove(path);
        break;
      case "move": {
        if (typeof raw.from !== "string") throw new PatchError("move needs from");
        add(path, remove(raw.from), false);
        break;
      }
      case "copy": {
        if (typeof raw.from !== "string") throw new PatchError("copy needs from");
        add(path, structuredClone(get(raw.from)), false);
        break;
      }
      case "test":
        if (JSON.stringify(get(path)) !== JSON.stringify(raw.value)) throw new PatchError(`test operation failed at ${path}`);
        break;
      default:
        throw new PatchError(`unknown json patch operation ${JSON.stringify(raw.op)}`);
    }
  }
  return root;
}

const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ports: "containerPort",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  imagePullSecrets: "name",
  tolerations: "key",
  conditions: "type",
  ownerReferences: "uid",
  finalizers: "",
  addresses: "type",
};

/** A strategic merge patch with Kubernetes' merge keys for common lists (stand-in). */
export function strategicMergePatch(original: unknown, patch: unknown, _info?: ResourceInfo): unknown {
  return smp(original, patch, "");
}

function smp(original: unknown, patch: unknown, field: string): unknown {
  if (!isObj(patch)) {
    if (Array.isArray(patch) && Array.isArray(original) && field in MERGE_KEYS) return mergeList(original, patch, field);
    return patch;
  }
  if (patch.$patch === "replace") {
    const { $patch: _, ...rest } = patch;
    return rest;
  }
  if (patch.$patch === "delete") return undefined;
  const out: Record<string, unknown> = isObj(original) ? { ...original } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k.startsWith("$setElementOrder/") || k.startsWith("$deleteFromPrimitiveList/") || k === "$retainKeys") continue;
    if (v === null) delete out[k];
    else {
      const merged = smp(out[k], v, k);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$deleteFromPrimitiveList/") && Array.isArray(v)) {
      const f = k.slice("$deleteFromPrimitiveList/".length);
      if (Array.isArray(out[f])) out[f] = (out[f] as unknown[]).filter((x) => !v.includes(x));
    }
  }
  return out;
}

function mergeList(original: unknown[], patch: unknown[], field: string): unknown[] {
  const key = MERGE_KEYS[field]!;
  if (key === "") {
    const out = [...original];
    for (const p of patch) if (!out.includes(p)) out.push(p);
    return out;
  }
  if (!patch.every((p) => isObj(p) && (p[key] !== undefined || p.$patch !== undefined))) return patch;
  const out = [...original];
  for (const p of patch as Record<string, unknown>[]) {
    const i = out.findIndex((o) => isObj(o) && o[key] === p[key]);
    if (p.$patch === "delete") {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = smp(out[i], p, "");
    else out.push(smp(undefined, p, ""));
  }
  return out;
}

// ---------------------------------------------------------------- tables

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableData {
  columnDefinitions: TableColumn[];
  rows: { cells: unknown[]; object: KubeObject }[];
}

export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function tableFor(_info: ResourceInfo, objs: KubeObject[], _opts: { wide?: boolean } = {}): TableData {
  return {
    columnDefinitions: [
      { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 },
      { name: "Age", type: "string", format: "", description: "CreationTimestamp", priority: 0 },
    ],
    rows: objs.map((o) => ({ cells: [o.metadata.name ?? "", age(o.metadata.creationTimestamp)], object: o })),
  };
}

export function openApiComponentSchemas(): Record<string, unknown> {
  return {};
}
