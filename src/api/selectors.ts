// Label selectors (equality- and set-based, as in `-l` and `?labelSelector=`)
// and field selectors (`?fieldSelector=spec.nodeName=w1`), with Kubernetes'
// grammar and matching rules. The API server filters lists and watches with
// them; controllers match pods to their owners with labelSelectorFromObject.

import type { ResourceInfo } from "./resources.js";
import type { KubeObject, LabelSelector, LabelSelectorRequirement } from "./types.js";

export class SelectorParseError extends Error {
  override readonly name = "SelectorParseError";
}

export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** sorted, no duplicates */
  values: string[];
}

export interface LabelMatcher {
  readonly requirements: readonly LabelRequirement[];
  /** True when the selector selects everything (no requirement). */
  readonly empty: boolean;
  /** True for the nil selector, which selects nothing. */
  readonly nothing: boolean;
  matches(labels?: Record<string, string> | null): boolean;
  /** key=value pairs every match must carry (from = and == and single-valued in): for indexes. */
  exactMatches(): Record<string, string>;
  toString(): string;
}

// ------------------------------------------------------------ name syntax

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split(".").every((p) => DNS1123_LABEL.test(p));
}

/** Messages why `key` is not a valid label key (a qualified name with an optional DNS prefix). */
export function labelKeyErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split("/");
  let name = key;
  if (parts.length > 2 || key.length === 0) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    name = parts[1] ?? "";
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else if (!isDns1123Subdomain(prefix)) {
      errs.push(
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
    }
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else {
    if (name.length > 63) errs.push("name part must be no more than 63 characters");
    if (!QUALIFIED_NAME.test(name)) {
      errs.push(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      );
    }
  }
  return errs;
}

/** Messages why `v` is not a valid label value. */
export function labelValueErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push("must be no more than 63 characters");
  if (!LABEL_VALUE.test(v)) {
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return errs;
}

// ------------------------------------------------------------ matching

function matchRequirement(r: LabelRequirement, labels: Record<string, string>): boolean {
  // Label values are strings; anything else (an inherited "constructor") is no label.
  const raw: unknown = labels[r.key];
  const has = typeof raw === "string" && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? (raw as string) : undefined;
  const values = r.values;
  const inValues = (): boolean => (values.length === 1 ? values[0] === v : values.includes(v as string));
  switch (r.operator) {
    case "=":
    case "==":
    case "in":
      return has && inValues();
    case "!=":
    case "notin":
      return !has || !inValues();
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      if (!Number.isInteger(n) || !/^-?\d+$/.test(v as string)) return false;
      return r.operator === "gt" ? n > bound : n < bound;
    }
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.operator) {
    case "=":
    case "==":
    case "!=":
      return `${r.key}${r.operator}${r.values[0] ?? ""}`;
    case "in":
    case "notin":
      return `${r.key} ${r.operator} (${r.values.join(",")})`;
    case "exists":
      return r.key;
    case "!":
      return `!${r.key}`;
    case "gt":
      return `${r.key}>${r.values[0] ?? ""}`;
    case "lt":
      return `${r.key}<${r.values[0] ?? ""}`;
  }
}

class Matcher implements LabelMatcher {
  readonly requirements: readonly LabelRequirement[];
  readonly nothing: boolean;
  constructor(reqs: LabelRequirement[], nothing = false) {
    // Sorted by key as Kubernetes does, so toString is canonical.
    this.requirements = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.nothing = nothing;
  }
  get empty(): boolean {
    return !this.nothing && this.requirements.length === 0;
  }
  matches(labels?: Record<string, string> | null): boolean {
    if (this.nothing) return false;
    const l = labels ?? {};
    for (const r of this.requirements) if (!matchRequirement(r, l)) return false;
    return true;
  }
  exactMatches(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this.requirements) {
      if ((r.operator === "=" || r.operator === "==" || r.operator === "in") && r.values.length === 1) {
        out[r.key] = r.values[0] as string;
      }
    }
    return out;
  }
  toString(): string {
    return this.requirements.map(requirementString).join(",");
  }
}

function makeRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const keyErrs = labelKeyErrors(key);
  if (keyErrs.length > 0) throw new SelectorParseError(`invalid label key "${key}": ${keyErrs.join("; ")}`);
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0) throw new SelectorParseError(`for '${operator}' operator, values set can't be empty`);
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) throw new SelectorParseError(`exact-match compatibility requires one single value`);
      break;
    case "exists":
    case "!":
      if (values.length !== 0) throw new SelectorParseError(`values set must be empty for exists and does not exist`);
      break;
    case "gt":
    case "lt":
      if (values.length !== 1 || !/^-?\d+$/.test(values[0] ?? "")) {
        throw new SelectorParseError(`for 'Gt', 'Lt' operators, the value must be an integer`);
      }
      break;
  }
  if (operator !== "gt" && operator !== "lt") {
    for (const v of values) {
      const errs = labelValueErrors(v);
      if (errs.length > 0) throw new SelectorParseError(`invalid label value: "${v}": at key: "${key}": ${errs.join("; ")}`);
    }
  }
  return { key, operator, values: [...new Set(values)].sort() };
}

// ------------------------------------------------------------ parsing

type Token =
  | { kind: "id"; text: string; pos: number }
  | { kind: "op"; text: "=" | "==" | "!=" | "!" | ">" | "<"; pos: number }
  | { kind: "punct"; text: "," | "(" | ")"; pos: number }
  | { kind: "end"; pos: number };

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (c === "," || c === "(" || c === ")") {
      tokens.push({ kind: "punct", text: c, pos: i });
      i++;
      continue;
    }
    if (c === "=") {
      if (s[i + 1] === "=") {
        tokens.push({ kind: "op", text: "==", pos: i });
        i += 2;
      } else {
        tokens.push({ kind: "op", text: "=", pos: i });
        i++;
      }
      continue;
    }
    if (c === "!") {
      if (s[i + 1] === "=") {
        tokens.push({ kind: "op", text: "!=", pos: i });
        i += 2;
      } else {
        tokens.push({ kind: "op", text: "!", pos: i });
        i++;
      }
      continue;
    }
    if (c === ">" || c === "<") {
      tokens.push({ kind: "op", text: c, pos: i });
      i++;
      continue;
    }
    const start = i;
    while (i < s.length && !" \t\n\r,()=!<>".includes(s[i] as string)) i++;
    tokens.push({ kind: "id", text: s.slice(start, i), pos: start });
  }
  tokens.push({ kind: "end", pos: s.length });
  return tokens;
}

function describe(t: Token): string {
  return t.kind === "end" ? "end of string" : `'${t.text}'`;
}

/**
 * Parses a label selector string: `a=b,c!=d,e in (x,y),f notin (z),g,!h`, also
 * `a==b`, `n>3`, `n<3`. The empty string selects everything.
 */
export function parseLabelSelector(s: string): LabelMatcher {
  const tokens = tokenize(s);
  let p = 0;
  const peek = (): Token => tokens[p] as Token;
  const next = (): Token => tokens[p++] as Token;
  const reqs: LabelRequirement[] = [];
  if (peek().kind === "end") return new Matcher([]);

  for (;;) {
    let t = next();
    if (t.kind === "op" && t.text === "!") {
      const k = next();
      if (k.kind !== "id") throw new SelectorParseError(`unable to parse requirement: found ${describe(k)}, expected: identifier after '!'`);
      reqs.push(makeRequirement(k.text, "!", []));
    } else if (t.kind === "id") {
      const key = t.text;
      const op = peek();
      if (op.kind === "end" || (op.kind === "punct" && op.text === ",")) {
        reqs.push(makeRequirement(key, "exists", []));
      } else if (op.kind === "op" && op.text !== "!") {
        next();
        const v = peek();
        let value = "";
        // An empty value is allowed: `a=` matches a label with value "".
        if (v.kind === "id") {
          next();
          value = v.text;
        } else if (!(v.kind === "end" || (v.kind === "punct" && v.text === ","))) {
          throw new SelectorParseError(`unable to parse requirement: found ${describe(v)}, expected: identifier`);
        }
        const operator: LabelOperator = op.text === ">" ? "gt" : op.text === "<" ? "lt" : op.text;
        reqs.push(makeRequirement(key, operator, [value]));
      } else if (op.kind === "id" && (op.text === "in" || op.text === "notin")) {
        next();
        const open = next();
        if (!(open.kind === "punct" && open.text === "(")) {
          throw new SelectorParseError(`unable to parse requirement: found ${describe(open)}, expected: '('`);
        }
        const values: string[] = [];
        for (;;) {
          const v = next();
          if (v.kind === "id") values.push(v.text);
          else if (v.kind === "punct" && v.text === ")") {
            break;
          } else if (v.kind === "punct" && v.text === ",") {
            // `(a,,b)` and `(a,)` carry an empty value, as Kubernetes reads them.
            const before = tokens[p - 2] as Token;
            if (before.kind === "punct") values.push("");
            const after = peek();
            if (after.kind === "punct" && after.text === ")") values.push("");
            continue;
          } else {
            throw new SelectorParseError(`unable to parse requirement: found ${describe(v)}, expected: ',', ')' or identifier`);
          }
          const sep = peek();
          if (sep.kind === "id") throw new SelectorParseError(`unable to parse requirement: found ${describe(sep)}, expected: ',' or ')'`);
        }
        reqs.push(makeRequirement(key, op.text, values));
      } else {
        throw new SelectorParseError(
          `unable to parse requirement: found ${describe(op)}, expected: in, notin, =, ==, !=, gt, lt`,
        );
      }
    } else {
      throw new SelectorParseError(`unable to parse requirement: found ${describe(t)}, expected: !, identifier`);
    }
    t = next();
    if (t.kind === "end") break;
    if (!(t.kind === "punct" && t.text === ",")) {
      throw new SelectorParseError(`found ${describe(t)}, expected: ',' or 'end of string'`);
    }
    if (peek().kind === "end") throw new SelectorParseError(`found 'end of string', expected: !, identifier`);
  }
  return new Matcher(reqs);
}

const OPERATOR_FROM_OBJECT: Record<LabelSelectorRequirement["operator"], LabelOperator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
};

/**
 * A matcher for a metav1.LabelSelector. An empty selector ({}) selects
 * everything; a missing one (null/undefined) selects nothing, as in Kubernetes.
 */
export function labelSelectorFromObject(sel: LabelSelector | null | undefined): LabelMatcher {
  if (sel === null || sel === undefined) return new Matcher([], true);
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push(makeRequirement(k, "=", [v]));
  for (const e of sel.matchExpressions ?? []) {
    const op = OPERATOR_FROM_OBJECT[e.operator];
    if (op === undefined) throw new SelectorParseError(`"${String(e.operator)}" is not a valid label selector operator`);
    reqs.push(makeRequirement(e.key, op, e.values ?? []));
  }
  return new Matcher(reqs);
}

/**
 * The selector as a string, as Kubernetes' FormatLabelSelector (and the
 * SELECTOR column of `kubectl get -o wide`) shows it: "app=web,tier in (a,b)",
 * "<none>" when it selects everything or nothing, "<error>" when invalid.
 */
export function labelSelectorToString(sel: LabelSelector | null | undefined): string {
  if (sel === null || sel === undefined) return "<none>";
  try {
    const s = labelSelectorFromObject(sel).toString();
    return s === "" ? "<none>" : s;
  } catch {
    return "<error>";
  }
}

/** matchLabels only, a map selector (Service.spec.selector): `a=b,c=d`. */
export function labelMapSelector(map: Record<string, string> | undefined | null): LabelMatcher {
  return labelSelectorFromObject({ matchLabels: map ?? {} });
}

// ------------------------------------------------------------ field selectors

export interface FieldRequirement {
  field: string;
  operator: "=" | "==" | "!=";
  value: string;
}

export interface FieldMatcher {
  readonly requirements: readonly FieldRequirement[];
  readonly empty: boolean;
  matches(obj: KubeObject): boolean;
  /** The value a field must equal (an `=`/`==` requirement), for indexes: spec.nodeName. */
  exactMatch(field: string): string | undefined;
  toString(): string;
}

type FieldGetter = (obj: KubeObject) => string;

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return "";
}

function at(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

const path =
  (...p: string[]): FieldGetter =>
  (o) =>
    str(at(o, p));

const COMMON_FIELDS: Record<string, FieldGetter> = {
  "metadata.name": path("metadata", "name"),
  "metadata.namespace": path("metadata", "namespace"),
};

// Per resource, the fields Kubernetes registers as selectable (its
// *ToSelectableFields functions); anything else is refused.
const RESOURCE_FIELDS: Record<string, Record<string, FieldGetter>> = {
  pods: {
    "spec.nodeName": path("spec", "nodeName"),
    "spec.restartPolicy": path("spec", "restartPolicy"),
    "spec.schedulerName": path("spec", "schedulerName"),
    "spec.serviceAccountName": path("spec", "serviceAccountName"),
    "spec.hostNetwork": (o) => String(at(o, ["spec", "hostNetwork"]) === true),
    "status.phase": path("status", "phase"),
    "status.podIP": path("status", "podIP"),
    "status.nominatedNodeName": path("status", "nominatedNodeName"),
  },
  events: {
    "involvedObject.kind": path("involvedObject", "kind"),
    "involvedObject.namespace": path("involvedObject", "namespace"),
    "involvedObject.name": path("involvedObject", "name"),
    "involvedObject.uid": path("involvedObject", "uid"),
    "involvedObject.apiVersion": path("involvedObject", "apiVersion"),
    "involvedObject.resourceVersion": path("involvedObject", "resourceVersion"),
    "involvedObject.fieldPath": path("involvedObject", "fieldPath"),
    reason: path("reason"),
    reportingComponent: path("reportingComponent"),
    source: path("source", "component"),
    type: path("type"),
  },
  secrets: { type: path("type") },
  nodes: { "spec.unschedulable": (o) => String(at(o, ["spec", "unschedulable"]) === true) },
  namespaces: { "status.phase": path("status", "phase") },
  replicasets: { "status.replicas": (o) => String(at(o, ["status", "replicas"]) ?? 0) },
};

/** The fields `parseFieldSelector` accepts for a resource. */
export function selectableFields(info: ResourceInfo): string[] {
  const common = info.namespaced ? Object.keys(COMMON_FIELDS) : ["metadata.name"];
  return [...common, ...Object.keys(RESOURCE_FIELDS[info.resource] ?? {})];
}

function getterFor(info: ResourceInfo, field: string): FieldGetter | undefined {
  if (field === "metadata.name") return COMMON_FIELDS["metadata.name"];
  // Cluster-scoped objects answer metadata.namespace with "" (Kubernetes accepts it).
  if (field === "metadata.namespace") return COMMON_FIELDS["metadata.namespace"];
  return RESOURCE_FIELDS[info.resource]?.[field];
}

/** Splits on unescaped commas; `\,` `\=` `\\` escape as in Kubernetes' field selectors. */
function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "\\" && i + 1 < s.length) {
      cur += c + (s[i + 1] as string);
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function unescape(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "\\") {
      const n = s[i + 1];
      if (n === "\\" || n === "," || n === "=") {
        out += n;
        i++;
        continue;
      }
      throw new SelectorParseError(`invalid field selector: invalid escape sequence "\\${n ?? ""}" in "${s}"`);
    }
    out += c;
  }
  return out;
}

function findOperator(term: string): { field: string; operator: FieldRequirement["operator"]; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const c = term[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "!" && term[i + 1] === "=") return { field: term.slice(0, i), operator: "!=", value: term.slice(i + 2) };
    if (c === "=") {
      if (term[i + 1] === "=") return { field: term.slice(0, i), operator: "==", value: term.slice(i + 2) };
      return { field: term.slice(0, i), operator: "=", value: term.slice(i + 1) };
    }
  }
  return undefined;
}

class FieldMatcherImpl implements FieldMatcher {
  constructor(
    readonly requirements: readonly FieldRequirement[],
    private readonly getters: readonly FieldGetter[],
  ) {}
  get empty(): boolean {
    return this.requirements.length === 0;
  }
  matches(obj: KubeObject): boolean {
    for (let i = 0; i < this.requirements.length; i++) {
      const r = this.requirements[i] as FieldRequirement;
      const v = (this.getters[i] as FieldGetter)(obj);
      if (r.operator === "!=" ? v === r.value : v !== r.value) return false;
    }
    return true;
  }
  exactMatch(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator !== "!=")?.value;
  }
  toString(): string {
    const esc = (s: string): string => s.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/=/g, "\\=");
    return this.requirements.map((r) => `${r.field}${r.operator}${esc(r.value)}`).join(",");
  }
}

/**
 * Parses a field selector (`spec.nodeName=w1,status.phase!=Failed`) for one
 * resource. A field the resource does not support is refused, naming it.
 */
export function parseFieldSelector(s: string, info: ResourceInfo): FieldMatcher {
  const reqs: FieldRequirement[] = [];
  const getters: FieldGetter[] = [];
  if (s.trim() === "") return new FieldMatcherImpl([], []);
  for (const raw of splitEscaped(s, ",")) {
    const term = raw.trim();
    if (term === "") throw new SelectorParseError(`invalid field selector: empty requirement in "${s}"`);
    const parsed = findOperator(term);
    if (parsed === undefined) throw new SelectorParseError(`invalid selector: '${term}'; can't understand '${term}'`);
    const field = parsed.field.trim();
    const getter = getterFor(info, field);
    if (getter === undefined) throw new SelectorParseError(`field label not supported: ${field}`);
    reqs.push({ field, operator: parsed.operator, value: unescape(parsed.value) });
    getters.push(getter);
  }
  return new FieldMatcherImpl(reqs, getters);
}
