// Errors of the clientPort gateway in etcd 3.4's JSON shapes: the unary body
// {"error", "message", "code"} and grpc-gateway's mid-stream error chunk. The
// one rule that matters: an answer about a write whose outcome is unknown stays
// 5xx, whatever else is refined here.

import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { GrpcCode, type ErrorBody, type StreamError } from "../../client/etcd-types.js";
import { ApiError, raftErrorToApi } from "../kv-service.js";

/** grpc-gateway v1's HTTP status for a gRPC code (runtime.HTTPStatusFromCode). */
export function httpStatusForCode(code: number): number {
  switch (code) {
    case 0:
      return 200;
    case 1:
      return 408;
    case 2:
      return 500;
    case 3:
      return 400;
    case 4:
      return 504;
    case 5:
      return 404;
    case 6:
      return 409;
    case 7:
      return 403;
    case 8:
      return 429;
    case 9:
      return 412;
    case 10:
      return 409;
    case 11:
      return 400;
    case 12:
      return 501;
    case 13:
      return 500;
    case 14:
      return 503;
    case 15:
      return 500;
    case 16:
      return 401;
    default:
      return 500;
  }
}

/**
 * The status to answer with. A 5xx from either the error or its code wins
 * (the write may have been applied); a generic 400 or a non-error status is
 * refined by the code as grpc-gateway does (e.g. code 9 -> 412); any other
 * 4xx chosen on purpose (401, 404, 413, 429) stays.
 */
export function statusOf(e: ApiError): number {
  const mapped = httpStatusForCode(e.grpcCode);
  if (e.httpStatus >= 500) return e.httpStatus;
  if (mapped >= 500) return mapped;
  if (e.httpStatus === 400 || e.httpStatus < 400) return mapped;
  return e.httpStatus;
}

export function invalidArgument(message: string): ApiError {
  return new ApiError(400, GrpcCode.InvalidArgument, message);
}

/** Any thrown value as an ApiError; unexpected ones (bugs) are logged once here and answer 500. */
export function toApiError(err: unknown, log: Logger, context: Record<string, unknown>): ApiError {
  if (err instanceof ApiError) return err;
  const api = raftErrorToApi(err);
  if (api.httpStatus >= 500 && api.grpcCode === 13) log.error({ err, ...context }, "unexpected error in the gateway");
  return api;
}

export function errorBody(e: ApiError): ErrorBody {
  return { error: e.message, message: e.message, code: e.grpcCode };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, e: ApiError, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    // Too late for a status: the only honest thing left is to break the answer.
    res.destroy();
    return;
  }
  const text = JSON.stringify(errorBody(e));
  res.writeHead(statusOf(e), { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

/** Unknown paths and wrong methods answer text/plain, as etcd's HTTP mux does. */
export function sendPlain(res: ServerResponse, status: number, text: string, extraHeaders: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "x-content-type-options": "nosniff",
    "content-length": Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  408: "Request Timeout",
  412: "Precondition Failed",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** grpc-gateway's error chunk for a stream that already started. */
export function streamErrorLine(e: ApiError): { error: StreamError } {
  const status = statusOf(e);
  return {
    error: { grpc_code: e.grpcCode, http_code: status, message: e.message, http_status: STATUS_TEXT[status] ?? "Error" },
  };
}
