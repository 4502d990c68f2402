// Request bodies: read with a size limit (413 past it), then decoded as JSON
// or YAML with line and column on a syntax error (400). In strict field
// validation, duplicate fields in JSON are found by a scan of the text.

import type { IncomingMessage } from "node:http";
import { decodeBody, DecodeError } from "./model.js";
import { errors } from "./status.js";

/** 3 MiB, as kube-apiserver's default MaxRequestBodyBytes. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) {
    req.resume();
    return Promise.reject(errors.tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => !failed && resolve(Buffer.concat(chunks)));
    req.on("error", (err) => !failed && reject(errors.badRequest(`reading the request body failed: ${err.message}`)));
  });
}

export const YAML_TYPES = /^(application\/yaml|application\/x-yaml|text\/yaml|application\/apply-patch\+yaml)$/;

/** Decodes a body by its media type; malformed ones answer 400 naming the line and column. */
export function decode(buf: Buffer, contentType: string): unknown {
  if (buf.length === 0) throw errors.badRequest("the request body is empty");
  try {
    return decodeBody(buf, YAML_TYPES.test(contentType) ? "application/yaml" : "application/json");
  } catch (err) {
    if (err instanceof DecodeError || (err as { line?: unknown }).line !== undefined) {
      const e = err as DecodeError;
      throw errors.badRequest(`error decoding ${YAML_TYPES.test(contentType) ? "YAML" : "JSON"} body: line ${e.line}, column ${e.column}: ${e.message}`);
    }
    throw errors.badRequest(`error decoding the request body: ${(err as Error).message}`);
  }
}

/** Paths of keys that appear twice in one JSON object (JSON.parse keeps the last silently). */
export function duplicateJsonFields(text: string): string[] {
  const dups: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return text.slice(start + 1, i - 1);
    }
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const seen = new Set<string>();
      for (;;) {
        ws();
        if (text[i] === "}") {
          i++;
          return;
        }
        if (text[i] !== '"') return;
        const k = str();
        const p = path ? `${path}.${k}` : k;
        if (seen.has(k)) dups.push(p);
        seen.add(k);
        ws();
        if (text[i] === ":") i++;
        value(p);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else return;
      }
    } else if (c === "[") {
      i++;
      for (let n = 0; ; n++) {
        ws();
        if (text[i] === "]") {
          i++;
          return;
        }
        value(`${path}[${n}]`);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else return;
      }
    } else if (c === '"') str();
    else while (i < text.length && !/[,}\]\s]/.test(text[i]!)) i++;
  };
  value("");
  return dups;
}
