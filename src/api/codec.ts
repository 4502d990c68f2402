// Request bodies and manifests in, YAML out: JSON and YAML decoding with the
// line and column of a syntax error, multi-document manifests and List
// objects, and the strict field checks behind ?fieldValidation=Strict
// (unknown fields from schema.ts, duplicate fields from the parsed text).
//
// YAML is read as Kubernetes reads it (go-yaml v2: YAML 1.1, so `0644` is
// octal and `yes` a boolean) except that timestamps stay strings and there
// are no base-60 numbers, as in Kubernetes.

import YAML, { isMap, isScalar, isSeq, type Node as YamlNode, type Tags } from "yaml";
import type { ResourceInfo } from "./resources.js";
import { findSchema, type FieldSchema, type ObjectSchema } from "./schema.js";
import type { KubeObject } from "./types.js";

export class DecodeError extends Error {
  override readonly name = "DecodeError";
  constructor(
    message: string,
    /** 1-based, when known */
    readonly line?: number,
    readonly column?: number,
    /** true when the content type is not one we decode (HTTP 415) */
    readonly unsupportedMediaType = false,
  ) {
    super(message);
  }
}

/** Bound on YAML alias expansion (a "billion laughs" body must not eat the master's memory). */
const MAX_ALIAS_COUNT = 100;

function yamlTags(tags: Tags): Tags {
  return tags.filter((t) => {
    if (typeof t !== "object" || t === null) return true;
    const tag = t as { tag?: string; format?: string };
    return tag.tag !== "tag:yaml.org,2002:timestamp" && tag.format !== "TIME";
  });
}

const YAML_OPTIONS = {
  version: "1.1" as const,
  customTags: yamlTags,
  merge: true,
  uniqueKeys: false,
  prettyErrors: true,
};

// ------------------------------------------------------------ JSON errors

/**
 * Scans JSON text: the position of the first syntax error (JSON.parse's
 * message does not always say), and, when `dups` is given, the paths of keys
 * repeated within one object.
 */
function scanJson(text: string, dups?: string[]): { offset: number; message: string } | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const describe = (): string => (i >= text.length ? "end of input" : `character ${JSON.stringify(text[i])}`);
  const value = (depth: number, path: string): void => {
    if (depth > 10000) fail("nesting too deep");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      const seen = dups === undefined ? undefined : new Set<string>();
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`invalid ${describe()} looking for beginning of object key string`);
        const keyStart = i;
        str();
        let childPath = path;
        if (seen !== undefined) {
          const k = JSON.parse(text.slice(keyStart, i)) as string;
          childPath = path === "" ? k : `${path}.${k}`;
          if (seen.has(k)) dups?.push(childPath);
          seen.add(k);
        }
        ws();
        if (text[i] !== ":") fail(`invalid ${describe()} after object key`);
        i++;
        value(depth + 1, childPath);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail(`invalid ${describe()} after object key:value pair`);
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(depth + 1, dups === undefined ? path : `${path}[${n}]`);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail(`invalid ${describe()} after array element`);
      }
    } else if (c === '"') str();
    else if (c === "t" || c === "f" || c === "n") {
      for (const word of ["true", "false", "null"]) {
        if (text.startsWith(word, i)) {
          i += word.length;
          return;
        }
      }
      fail(`invalid ${describe()} looking for beginning of value`);
    } else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (m === null || m[0] === "" || m[0] === "-") fail(`invalid ${describe()} in numeric literal`);
      i += (m as RegExpExecArray)[0].length;
    } else fail(`invalid ${describe()} looking for beginning of value`);
  };
  const str = (): void => {
    i++;
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        const n = text[i + 1];
        if (n === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("invalid unicode escape in string literal");
          i += 6;
          continue;
        }
        if (n === undefined || !'"\\/bfnrt'.includes(n)) fail("invalid escape in string literal");
        i += 2;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) fail("invalid control character in string literal");
      i++;
    }
    fail("unexpected end of JSON input in string literal");
  };
  try {
    value(0, "");
    ws();
    if (i < text.length) fail(`invalid ${describe()} after top-level value`);
    return undefined;
  } catch (e) {
    if (typeof e === "object" && e !== null && "offset" in e) return e as { offset: number; message: string };
    throw e;
  }
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

/** JSON.parse with a DecodeError naming the line and column of a syntax error. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const { offset, message } = scanJson(text) ?? { offset: text.length, message: "unexpected end of JSON input" };
    const { line, column } = lineCol(text, offset);
    throw new DecodeError(`json: line ${line}, column ${column}: ${message}`, line, column);
  }
}

function yamlError(err: YAML.YAMLError): DecodeError {
  const pos = err.linePos?.[0];
  const msg = err.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? err.message;
  if (pos !== undefined) return new DecodeError(`yaml: line ${pos.line}, column ${pos.col}: ${msg}`, pos.line, pos.col);
  return new DecodeError(`yaml: ${msg}`);
}

function toJs(doc: YAML.Document.Parsed): unknown {
  if (doc.errors.length > 0) throw yamlError(doc.errors[0] as YAML.YAMLError);
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new DecodeError(`yaml: ${(e as Error).message}`);
  }
}

/** One YAML document (a request body). More than one document is refused. */
export function parseYaml(text: string): unknown {
  const docs = YAML.parseAllDocuments(text, YAML_OPTIONS);
  if (!Array.isArray(docs)) throw new DecodeError("yaml: could not parse");
  const real = docs.filter((d) => d.contents !== null || d.errors.length > 0);
  if (real.length > 1) {
    const pos = real[1]?.contents?.range?.[0];
    const lc = pos !== undefined ? lineCol(text, pos) : undefined;
    throw new DecodeError("yaml: a request body must hold one document", lc?.line, lc?.column);
  }
  const doc = real[0] ?? docs[0];
  if (doc === undefined) return null;
  return toJs(doc);
}

function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** True for JSON media types, patch flavours included. */
export function isJsonMediaType(contentType: string): boolean {
  const mt = mediaType(contentType);
  return mt === "application/json" || mt.endsWith("+json");
}

export function isYamlMediaType(contentType: string): boolean {
  const mt = mediaType(contentType);
  return mt === "application/yaml" || mt === "application/x-yaml" || mt === "text/yaml" || mt.endsWith("+yaml");
}

/**
 * A request body as a value: JSON for application/json and the +json patch
 * types, YAML for application/yaml (and apply-patch+yaml). An empty or absent
 * content type is sniffed. Throws DecodeError with line and column.
 */
export function decodeBody(body: Buffer | string, contentType: string): unknown {
  let text = typeof body === "string" ? body : body.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") throw new DecodeError("request body is empty");
  const mt = mediaType(contentType ?? "");
  if (mt === "" || mt === "*/*") {
    return /^\s*[[{]/.test(text) ? parseJson(text) : parseYaml(text);
  }
  if (isJsonMediaType(mt)) return parseJson(text);
  if (isYamlMediaType(mt)) return parseYaml(text);
  throw new DecodeError(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`, undefined, undefined, true);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The objects of a manifest: multi-document YAML (---), JSON, and List
 * objects (kind: List or *List with items) flattened. Empty documents are
 * skipped; a document that is not an object is an error naming it.
 */
export function decodeManifests(text: string): KubeObject[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const docs = YAML.parseAllDocuments(src, YAML_OPTIONS);
  if (!Array.isArray(docs)) throw new DecodeError("yaml: could not parse");
  const out: KubeObject[] = [];
  docs.forEach((doc, n) => {
    const v = toJs(doc);
    if (v === null || v === undefined) return;
    const where = (): { line?: number; column?: number } => {
      const pos = doc.contents?.range?.[0];
      return pos === undefined ? {} : lineCol(src, pos);
    };
    if (!isObj(v)) {
      const w = where();
      throw new DecodeError(`document ${n + 1} is not an object`, w.line, w.column);
    }
    flatten(v, out, n + 1, where);
  });
  return out;
}

function flatten(v: Record<string, unknown>, out: KubeObject[], docNo: number, where: () => { line?: number; column?: number }): void {
  const kind = v.kind;
  if (typeof kind === "string" && kind.endsWith("List") && Array.isArray(v.items)) {
    for (const item of v.items) {
      if (!isObj(item)) {
        const w = where();
        throw new DecodeError(`document ${docNo}: a list item is not an object`, w.line, w.column);
      }
      flatten(item, out, docNo, where);
    }
    return;
  }
  if (!isObj(v.metadata)) v.metadata = {};
  out.push(v as KubeObject);
}

/** YAML as `kubectl get -o yaml` prints it: keys sorted, lists not indented under their key. */
export function encodeYaml(obj: unknown): string {
  return YAML.stringify(obj, {
    version: "1.1",
    customTags: yamlTags,
    indentSeq: false,
    sortMapEntries: true,
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
}

/** Several objects as one multi-document YAML stream. */
export function encodeYamlDocuments(objs: readonly unknown[]): string {
  return objs.map((o) => encodeYaml(o)).join("---\n");
}

// ------------------------------------------------------------ strict fields

function walkUnknown(v: unknown, schema: ObjectSchema, path: string, out: string[]): void {
  if (!isObj(v)) return;
  for (const [k, val] of Object.entries(v)) {
    const p = path === "" ? k : `${path}.${k}`;
    const f = schema.fields[k];
    if (f === undefined || !Object.prototype.hasOwnProperty.call(schema.fields, k)) {
      out.push(p);
      continue;
    }
    walkField(val, f, p, out);
  }
}

function walkField(val: unknown, f: FieldSchema, p: string, out: string[]): void {
  if (f.kind === "object") {
    const s = findSchema(f.ref);
    if (s !== undefined) walkUnknown(val, s, p, out);
  } else if (f.kind === "array" && Array.isArray(val)) {
    val.forEach((e, i) => walkField(e, f.items, `${p}[${i}]`, out));
  } else if (f.kind === "map" && isObj(val)) {
    for (const [k, e] of Object.entries(val)) walkField(e, f.values, `${p}[${k}]`, out);
  }
}

/**
 * The paths of fields the kind does not have ("spec.foo",
 * "spec.template.spec.containers[0].bar"), for fieldValidation=Strict/Warn.
 * Strategic-merge-patch directives ($patch, $retainKeys, ...) are not fields.
 */
export function findUnknownFields(info: Pick<ResourceInfo, "kind">, obj: unknown, opts: { allowDirectives?: boolean } = {}): string[] {
  const schema = findSchema(info.kind);
  if (schema === undefined) return [];
  const out: string[] = [];
  walkUnknown(obj, schema, "", out);
  if (opts.allowDirectives) return out.filter((p) => !/(^|\.)\$(patch|retainKeys|setElementOrder\/|deleteFromPrimitiveList\/)/.test(p));
  return out;
}

/**
 * The paths of keys that occur twice in the same object of a JSON or YAML
 * body ("spec.replicas"); JSON.parse would keep the last silently.
 */
export function findDuplicateFields(body: Buffer | string): string[] {
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (/^\s*[{[]/.test(text)) {
    // JSON (what kubectl sends): a scan, far cheaper than a YAML parse.
    const dups: string[] = [];
    if (scanJson(text, dups) === undefined) return dups;
  }
  const docs = YAML.parseAllDocuments(text, YAML_OPTIONS);
  if (!Array.isArray(docs)) return [];
  const out: string[] = [];
  for (const doc of docs) if (doc.errors.length === 0) walkDup(doc.contents, "", out);
  return out;
}

function walkDup(node: YamlNode | null | undefined | unknown, path: string, out: string[]): void {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const p = path === "" ? k : `${path}.${k}`;
      if (seen.has(k)) out.push(p);
      seen.add(k);
      walkDup(pair.value, p, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walkDup(item, `${path}[${i}]`, out));
  }
}

/** Kubernetes' wording of one unknown field: `unknown field "spec.foo"`. */
export function unknownFieldMessage(path: string): string {
  return `unknown field ${JSON.stringify(path)}`;
}

export function duplicateFieldMessage(path: string): string {
  return `duplicate field ${JSON.stringify(path)}`;
}

/**
 * The message of a strict decoding failure, as Kubernetes words it:
 * 'strict decoding error: unknown field "spec.foo", duplicate field "spec.replicas"'.
 * Undefined when there is nothing to report.
 */
export function strictDecodingError(unknown: readonly string[], duplicates: readonly string[]): string | undefined {
  const parts = [...unknown.map(unknownFieldMessage), ...duplicates.map(duplicateFieldMessage)];
  return parts.length === 0 ? undefined : `strict decoding error: ${parts.join(", ")}`;
}
