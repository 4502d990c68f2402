// Request bodies: read with a size limit (413 past it), then decoded as JSON
// or YAML with line and column on a syntax error (400). In strict field
// validation, duplicate fields in JSON are found by a scan of the text.

import type { IncomingMessage } from "node:http";
import { parseAllDocuments } from "yaml";
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
    if (err instanceof DecodeError) {
      if (err.unsupportedMediaType) throw errors.unsupportedMediaType(contentType);
      const pos = err.line !== undefined ? { line: err.line, column: err.column ?? 0 } : yamlErrorPosition(buf.toString("utf8"));
      const where = pos ? ` at line ${pos.line}, column ${pos.column}` : "";
      throw errors.badRequest(`error decoding ${YAML_TYPES.test(contentType) ? "YAML" : "JSON"} body${where}: ${err.message}`);
    }
    throw errors.badRequest(`error decoding the request body: ${(err as Error).message}`);
  }
}


/** Where the YAML parser first stumbles, when the decoder did not say. */
function yamlErrorPosition(text: string): { line: number; column: number } | null {
  try {
    const docs = parseAllDocuments(text);
    for (const d of Array.isArray(docs) ? docs : [docs]) {
      const pos = d.errors[0]?.linePos?.[0];
      if (pos) return { line: pos.line, column: pos.col };
    }
  } catch {
    // no position known
  }
  return null;
}
