// kubectl's -o jsonpath=TEMPLATE, the part scripts use: {.a.b}, ['key'],
// [n], [*], [?(@.path=="value")] (== and !=), {range ...}{end}, "literals",
// and $ for the root. Strings print raw, other values as JSON, several
// results of one expression joined by spaces. Pure.

import { UserError } from "../errors.js";

type Node = { kind: "text"; text: string } | { kind: "expr"; expr: string } | { kind: "range"; expr: string; body: Node[] };

type Segment = { kind: "key"; key: string } | { kind: "index"; index: number } | { kind: "all" } | { kind: "filter"; path: Segment[]; op: "==" | "!=" | "exists"; value?: string };

export function parseTemplate(template: string): Node[] {
  const tokens: ({ kind: "text"; text: string } | { kind: "expr"; expr: string })[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{", i);
    if (open < 0) {
      tokens.push({ kind: "text", text: template.slice(i) });
      break;
    }
    if (open > i) tokens.push({ kind: "text", text: template.slice(i, open) });
    // A closing brace inside a quoted literal does not end the expression.
    let j = open + 1;
    let quote: string | null = null;
    for (; j < template.length; j++) {
      const c = template[j]!;
      if (quote) {
        if (c === "\\") j++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "}") break;
    }
    if (j >= template.length) throw new UserError(`error parsing jsonpath ${template}: unclosed action`);
    tokens.push({ kind: "expr", expr: template.slice(open + 1, j).trim() });
    i = j + 1;
  }
  const [nodes, rest] = build(tokens, 0, template);
  if (rest !== tokens.length) throw new UserError(`error parsing jsonpath ${template}: unexpected {end}`);
  return nodes;
}

function build(tokens: ({ kind: "text"; text: string } | { kind: "expr"; expr: string })[], start: number, template: string): [Node[], number] {
  const out: Node[] = [];
  let i = start;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.kind === "expr" && t.expr === "end") return [out, i];
    if (t.kind === "expr" && t.expr.startsWith("range ")) {
      const [body, end] = build(tokens, i + 1, template);
      if (end >= tokens.length) throw new UserError(`error parsing jsonpath ${template}: {range} without {end}`);
      out.push({ kind: "range", expr: t.expr.slice(6).trim(), body });
      i = end + 1;
      continue;
    }
    out.push(t);
    i++;
  }
  return [out, i];
}

function parsePath(expr: string): Segment[] {
  let s = expr.trim();
  if (s.startsWith("$") || s.startsWith("@")) s = s.slice(1);
  const segs: Segment[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ".") {
      let j = i + 1;
      while (j < s.length && s[j] !== "." && s[j] !== "[") j++;
      const key = s.slice(i + 1, j);
      if (key) segs.push({ kind: "key", key });
      i = j;
    } else if (c === "[") {
      const close = matchingBracket(s, i);
      const inner = s.slice(i + 1, close).trim();
      if (inner === "*") segs.push({ kind: "all" });
      else if (/^-?\d+$/.test(inner)) segs.push({ kind: "index", index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) segs.push({ kind: "key", key: inner.slice(1, -1) });
      else if (inner.startsWith("?(") && inner.endsWith(")")) segs.push(parseFilter(inner.slice(2, -1)));
      else throw new UserError(`unsupported jsonpath subscript [${inner}]`);
      i = close + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== "." && s[j] !== "[") j++;
      segs.push({ kind: "key", key: s.slice(i, j) });
      i = j;
    }
  }
  return segs;
}

function matchingBracket(s: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return i;
  }
  throw new UserError(`unclosed [ in jsonpath ${s}`);
}

function parseFilter(f: string): Segment {
  const m = /^(@[^=!]*?)\s*(==|!=)\s*(.+)$/.exec(f.trim());
  if (!m) return { kind: "filter", path: parsePath(f.trim()), op: "exists" };
  const raw = m[3]!.trim();
  const value = /^'.*'$|^".*"$/.test(raw) ? raw.slice(1, -1) : raw;
  return { kind: "filter", path: parsePath(m[1]!), op: m[2] as "==" | "!=", value };
}

function walk(values: unknown[], segs: Segment[]): unknown[] {
  let cur = values;
  for (const seg of segs) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (seg.kind === "key") {
        if (v && typeof v === "object" && !Array.isArray(v) && seg.key in v) next.push((v as Record<string, unknown>)[seg.key]);
      } else if (seg.kind === "index") {
        if (Array.isArray(v)) {
          const item = v[seg.index < 0 ? v.length + seg.index : seg.index];
          if (item !== undefined) next.push(item);
        }
      } else if (seg.kind === "all") {
        if (Array.isArray(v)) next.push(...v);
        else if (v && typeof v === "object") next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const found = walk([item], seg.path);
          const ok = seg.op === "exists" ? found.length > 0 : found.some((x) => String(x) === seg.value) === (seg.op === "==");
          if (ok) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}

function show(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function literal(expr: string): string | null {
  if (!/^".*"$|^'.*'$/s.test(expr)) return null;
  return expr.slice(1, -1).replace(/\\([ntr"'\\])/g, (_m, c: string) => ({ n: "\n", t: "\t", r: "\r" })[c] ?? c);
}

function run(nodes: Node[], data: unknown): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "expr") {
      const lit = literal(n.expr);
      out += lit ?? walk([data], parsePath(n.expr)).map(show).join(" ");
    } else {
      for (const item of walk([data], parsePath(n.expr))) out += run(n.body, item);
    }
  }
  return out;
}

/** Renders a jsonpath template against one object or a List. */
export function renderJsonPath(template: string, data: unknown): string {
  return run(parseTemplate(template), data);
}
