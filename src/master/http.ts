// Small HTTP helpers for the master's own endpoints.

import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Checks `Authorization: Bearer <token>` (or the bare token); answers 401 and returns false when wrong. */
export function checkBearer(req: IncomingMessage, res: ServerResponse, token: string | null): boolean {
  if (token === null) return true;
  const header = req.headers.authorization ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice(7) : header;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  if (a.length === b.length && timingSafeEqual(a, b)) return true;
  sendJson(res, 401, { error: "unauthorized: missing or wrong token", message: "unauthorized: missing or wrong token", code: 16 });
  return false;
}
