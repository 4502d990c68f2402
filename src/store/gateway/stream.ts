// The plumbing shared by the streamed calls (/v3/watch, /v3/lease/keepalive):
// request objects read as they arrive, answers written as newline-delimited
// `{"result": ...}` lines on a chunked 200 response. A watch stays open after
// the request body ends (as etcd's gateway does), until the client goes away
// or the stream fails; a stream may instead end itself then (onBodyEnd). Errors before the first answer get a normal error
// response; later ones grpc-gateway's error chunk, and the stream ends.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { GrpcCode } from "../../client/etcd-types.js";
import { ApiError } from "../kv-service.js";
import { JsonTextSplitter, tooLarge } from "./body.js";
import { asObject, type JsonObject } from "./codec.js";
import { sendError, streamErrorLine } from "./errors.js";

export interface StreamOptions {
  log: Logger;
  maxBodyBytes: number;
  /** Called once when the stream is over, however it ended. */
  onClosed: () => void;
}

export abstract class JsonLineStream {
  protected closed = false;
  private started = false;
  private readonly splitter: JsonTextSplitter;

  constructor(
    protected readonly req: IncomingMessage,
    protected readonly res: ServerResponse,
    protected readonly opts: StreamOptions,
  ) {
    this.splitter = new JsonTextSplitter(opts.maxBodyBytes);
  }

  /** Starts reading requests; the answer starts with the first request (or the body's end). */
  run(): void {
    this.res.on("close", () => this.close());
    this.res.on("drain", () => this.onDrain());
    this.req.on("data", (chunk: Buffer) => {
      for (const item of this.splitter.push(chunk)) {
        if (this.closed) return;
        if ("error" in item) {
          this.fail(item.tooLarge ? tooLarge(this.opts.maxBodyBytes) : decodeError(item.error));
          return;
        }
        let obj: JsonObject;
        try {
          obj = asObject(JSON.parse(item.text), "");
        } catch (err) {
          this.fail(decodeError((err as Error).message));
          return;
        }
        this.handleRequest(obj);
      }
    });
    this.req.on("end", () => {
      const bad = this.splitter.end();
      if (bad && "error" in bad) this.fail(decodeError(bad.error));
      else if (!this.closed) {
        this.start();
        this.onBodyEnd();
      }
    });
  }

  /** The client sent its last request (half-close). Default: keep answering, as etcd's watch does. */
  protected onBodyEnd(): void {}

  /** Ends the response normally (after the last answer) and releases the stream. */
  protected finish(): void {
    if (this.closed) return;
    this.start();
    this.res.end();
    this.close();
  }

  private handleRequest(obj: JsonObject): void {
    try {
      this.onRequest(obj);
    } catch (err) {
      this.fail(err instanceof ApiError ? decodeError(err.message) : (err as Error));
    }
  }

  /** Handles one request object; throws ApiError for a request that cannot be decoded. */
  protected abstract onRequest(obj: JsonObject): void;

  /** The client is gone or the stream ended: release what the stream holds. */
  protected abstract onClose(): void;

  protected onDrain(): void {}

  /** Sends the 200 and headers, once. */
  protected start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    this.res.flushHeaders();
  }

  /** Writes one `{"result": ...}` line; false when the client is not keeping up. */
  protected send(result: unknown): boolean {
    if (this.closed) return false;
    this.start();
    return this.res.write(`${JSON.stringify({ result })}\n`);
  }

  /** Ends the stream with an error: a normal error answer if nothing was sent yet. */
  fail(err: ApiError | Error): void {
    if (this.closed) return;
    const api = err instanceof ApiError ? err : new ApiError(500, GrpcCode.Internal, `etcdserver: internal error: ${err.message}`);
    if (!(err instanceof ApiError)) this.opts.log.error({ err }, "unexpected error in a gateway stream");
    if (!this.started) {
      this.started = true;
      sendError(this.res, api);
    } else {
      // grpc-gateway writes this chunk without a trailing newline, then ends.
      this.res.end(JSON.stringify(streamErrorLine(api)));
    }
    this.close();
  }

  protected close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.onClose();
    } finally {
      this.req.removeAllListeners("data");
      // Whatever the client still sends is read and dropped, so the socket stays usable.
      this.req.resume();
      this.opts.onClosed();
    }
  }
}

/** etcd's gateway answers a request it cannot decode on a stream with 500 code 2. */
function decodeError(message: string): ApiError {
  return new ApiError(500, GrpcCode.Unknown, message);
}
