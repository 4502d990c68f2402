// Reads the objects of `-f FILE|DIR|-`: multi-document YAML or JSON, `kind: List`
// expanded, directories read one level deep (.yaml, .yml, .json) in name
// order, as kubectl does without -R. Parse errors name the file, line and column.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../api/types.js";
import { UserError } from "../errors.js";

export interface Manifest {
  /** The file it came from ("-" for stdin). */
  source: string;
  object: KubeObject;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** Parses one text of one or more documents; `source` names it in errors. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      throw new UserError(`error parsing ${source}${pos ? ` (line ${pos.line}, column ${pos.col})` : ""}: ${err.message.split("\n")[0]}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) throw new UserError(`error parsing ${source}: a document is not an object`);
    for (const object of expandList(value as Record<string, unknown>, source)) out.push({ source, object });
  }
  return out;
}

function expandList(value: Record<string, unknown>, source: string): KubeObject[] {
  if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
    return (value.items as Record<string, unknown>[]).flatMap((item) => expandList(item, source));
  }
  if (typeof value.kind !== "string" || value.kind === "") throw new UserError(`error validating ${source}: object has no kind`);
  if (typeof value.apiVersion !== "string" || value.apiVersion === "") throw new UserError(`error validating ${source}: ${value.kind} has no apiVersion`);
  const meta = value.metadata;
  if (typeof meta !== "object" || meta === null || typeof (meta as { name?: unknown }).name !== "string") {
    throw new UserError(`error validating ${source}: ${value.kind} has no metadata.name`);
  }
  return [value as KubeObject];
}

/** Every object of the given -f arguments, in order. */
export async function readManifests(files: string[], stdin: () => Promise<string> = readStdin): Promise<Manifest[]> {
  if (files.length === 0) throw new UserError("must specify -f FILE|DIR|-");
  const out: Manifest[] = [];
  for (const f of files) {
    if (f === "-") {
      out.push(...parseManifests(await stdin(), "STDIN"));
      continue;
    }
    let st;
    try {
      st = statSync(f);
    } catch {
      throw new UserError(`the path "${f}" does not exist`);
    }
    const paths = st.isDirectory()
      ? readdirSync(f)
          .filter((n) => MANIFEST_EXT.test(n))
          .sort()
          .map((n) => join(f, n))
      : [f];
    for (const p of paths) out.push(...parseManifests(readFileSync(p, "utf8"), p));
  }
  if (out.length === 0) throw new UserError("no objects passed to apply");
  return out;
}

export function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on("data", (c: Buffer) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}
