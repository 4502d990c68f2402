// The HTTP handler of a master's clientPort: etcd 3.4's v3 JSON gateway
// (ARCHITECTURE.md section 4, "Wire contract"). The master serves its own
// paths (/healthz, /readyz, /status) and hands everything else to this.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { GrpcCode } from "../../client/etcd-types.js";
import { ETCD_API_VERSION } from "../../version.js";
import { ApiError, type KvService, type ResponseHeaderData } from "../kv-service.js";
import { createAuthenticator, type GatewayAuth } from "./auth.js";
import { readBody } from "./body.js";
import { parseBody } from "./codec.js";
import { sendError, sendJson, sendPlain, toApiError } from "./errors.js";
import { KeepAliveStream } from "./keepalive-stream.js";
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_WATCHES_PER_STREAM,
  DEFAULT_PROGRESS_NOTIFY_MS,
} from "./limits.js";
import { KEEPALIVE_PATH, unaryRoutes, WATCH_PATH, type RouteContext } from "./routes.js";
import type { JsonLineStream } from "./stream.js";
import { WatchStream } from "./watch-stream.js";

export interface GatewayOptions {
  auth: GatewayAuth;
  logger: Logger;
  /** Largest unary request body, or request object on a stream (413 above it). */
  maxBodyBytes?: number;
  /** Watch and keepalive streams open at once. */
  maxStreams?: number;
  maxWatchesPerStream?: number;
  /** Interval of progress messages for watches created with progress_notify. */
  progressNotifyMs?: number;
  /** `version` in /v3/maintenance/status. */
  version?: string;
}

export interface GatewayHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Streams (watch and keepalive) open now. */
  openStreams(): number;
  /** Ends every open stream (as a member shutting down would). */
  close(): void;
}

export function createGatewayHandler(kv: KvService, opts: GatewayOptions): GatewayHandler {
  const log = opts.logger;
  const authenticate = createAuthenticator(opts.auth);
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxStreams = opts.maxStreams ?? DEFAULT_MAX_STREAMS;
  const ctx: RouteContext = { kv, version: opts.version ?? ETCD_API_VERSION };
  const streams = new Set<JsonLineStream>();

  // One store revision reaches every watch in one synchronous fan-out; they
  // share one kv.header() (which reads Raft's status) until the next microtask.
  let cachedHeader: ResponseHeaderData | null = null;
  const eventHeader = (): ResponseHeaderData => {
    if (cachedHeader === null) {
      cachedHeader = kv.header();
      queueMicrotask(() => (cachedHeader = null));
    }
    return cachedHeader;
  };

  const openStream = (path: string, req: IncomingMessage, res: ServerResponse): void => {
    if (streams.size >= maxStreams) {
      sendError(res, new ApiError(429, GrpcCode.ResourceExhausted, `etcdserver: too many open streams (limit ${maxStreams})`));
      req.resume();
      return;
    }
    const common = { log, maxBodyBytes, onClosed: () => streams.delete(stream) };
    const stream: JsonLineStream =
      path === WATCH_PATH
        ? new WatchStream(req, res, {
            ...common,
            kv,
            maxWatches: opts.maxWatchesPerStream ?? DEFAULT_MAX_WATCHES_PER_STREAM,
            progressNotifyMs: opts.progressNotifyMs ?? DEFAULT_PROGRESS_NOTIFY_MS,
            eventHeader,
          })
        : new KeepAliveStream(req, res, { ...common, kv });
    streams.add(stream);
    stream.run();
  };

  const serveUnary = async (path: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const route = unaryRoutes.get(path)!;
    let text: string;
    try {
      text = await readBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof ApiError) {
        // Over the limit: answer now, and close the connection rather than read the rest.
        sendError(res, err, { connection: "close" });
        return;
      }
      log.debug({ err, path }, "request body not read");
      res.destroy();
      return;
    }
    try {
      const answer = await route(parseBody(text), ctx);
      sendJson(res, 200, answer);
    } catch (err) {
      const api = toApiError(err, log, { path });
      if (api.httpStatus >= 500) log.debug({ path, status: api.httpStatus, err: api.message }, "gateway call failed");
      sendError(res, api);
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q >= 0 ? url.slice(0, q) : url;
    if (!path.startsWith("/v3/")) {
      sendPlain(res, 404, "Not Found");
      return;
    }
    const denied = authenticate(req);
    if (denied) {
      sendError(res, denied);
      req.resume();
      return;
    }
    const streamed = path === WATCH_PATH || path === KEEPALIVE_PATH;
    if (!streamed && !unaryRoutes.has(path)) {
      sendPlain(res, 404, "Not Found");
      req.resume();
      return;
    }
    if (req.method !== "POST") {
      sendPlain(res, 405, "Method Not Allowed", { allow: "POST" });
      req.resume();
      return;
    }
    if (streamed) {
      openStream(path, req, res);
      return;
    }
    serveUnary(path, req, res).catch((err: unknown) => {
      log.error({ err, path }, "gateway handler failed");
      sendError(res, new ApiError(500, GrpcCode.Internal, "etcdserver: internal error"));
    });
  };

  return Object.assign(handler, {
    openStreams: () => streams.size,
    close: () => {
      for (const s of [...streams]) s.fail(new ApiError(503, GrpcCode.Unavailable, "transport is closing"));
    },
  });
}
