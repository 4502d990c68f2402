// Request bodies of the clientPort: a unary body read whole under a size
// limit, and the body of a streamed call (watch, keepalive), which like
// grpc-gateway's is a sequence of concatenated JSON objects that may keep
// arriving while the answer streams.

import type { IncomingMessage } from "node:http";
import { GrpcCode } from "../../client/etcd-types.js";
import { ApiError } from "../kv-service.js";

export function tooLarge(limit: number): ApiError {
  return new ApiError(413, GrpcCode.InvalidArgument, `etcdserver: request is too large (limit ${limit} bytes)`);
}

/** Reads a whole body; rejects with 413 once it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
    req.on("aborted", () => {
      if (done) return;
      done = true;
      reject(new Error("request aborted by the client"));
    });
  });
}

export type SplitItem = { text: string } | { error: string; tooLarge?: true };

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Cuts a byte stream into top-level JSON objects (or arrays) by tracking
 * nesting outside strings; JSON.parse judges each piece afterwards. Works on
 * bytes: structural characters are ASCII, which never occur inside a UTF-8
 * multi-byte sequence. After an error it yields nothing more.
 */
export class JsonTextSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private failed = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): SplitItem[] {
    const out: SplitItem[] = [];
    if (this.failed) return out;
    let start = this.depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.depth === 0) {
        if (isSpace(c)) continue;
        if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
          this.failed = true;
          out.push({ error: `invalid character ${JSON.stringify(String.fromCharCode(c))} looking for beginning of value` });
          return out;
        }
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const piece = chunk.subarray(start, i + 1);
          if (this.size + piece.length > this.maxBytes) return this.fail(out);
          this.parts.push(piece);
          out.push({ text: Buffer.concat(this.parts).toString("utf8") });
          this.parts = [];
          this.size = 0;
          start = -1;
        }
      }
    }
    if (this.depth > 0 && start >= 0) {
      const piece = chunk.subarray(start);
      this.size += piece.length;
      if (this.size > this.maxBytes) return this.fail(out);
      // Copy: the caller's chunk may be reused.
      this.parts.push(Buffer.from(piece));
    }
    return out;
  }

  /** An error if the input ended inside a value. */
  end(): SplitItem | null {
    if (this.failed || this.depth === 0) return null;
    this.failed = true;
    return { error: "unexpected EOF" };
  }

  private fail(out: SplitItem[]): SplitItem[] {
    this.failed = true;
    this.parts = [];
    out.push({ error: `request is too large (limit ${this.maxBytes} bytes)`, tooLarge: true });
    return out;
  }
}
