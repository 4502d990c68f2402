// Client auth of the clientPort: every /v3 path needs the cluster token, sent
// as `Authorization: Bearer <token>` or, as etcd's clients send their auth
// token, as the bare header value. With auth off the header is ignored, so
// any etcd JSON client works unchanged (etcd itself would refuse it).

import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { GrpcCode } from "../../client/etcd-types.js";
import { ApiError } from "../kv-service.js";

export type GatewayAuth = { mode: "token"; token: string } | { mode: "none" };

/** Returns the error to answer with, or null when the request may go on. */
export type Authenticator = (req: IncomingMessage) => ApiError | null;

function digest(text: string): Buffer {
  // Equal-length digests let timingSafeEqual compare tokens of any length.
  return createHash("sha256").update(text, "utf8").digest();
}

export function createAuthenticator(auth: GatewayAuth): Authenticator {
  if (auth.mode === "none") return () => null;
  const expected = digest(auth.token);
  const matches = (presented: string): boolean => presented !== "" && timingSafeEqual(digest(presented), expected);
  return (req) => {
    const header = (req.headers.authorization ?? "").trim();
    if (header === "") return new ApiError(401, GrpcCode.Unauthenticated, "etcdserver: user name is empty");
    const bearer = /^bearer\s+/i.exec(header);
    const ok = bearer ? matches(header.slice(bearer[0].length).trim()) || matches(header) : matches(header);
    return ok ? null : new ApiError(401, GrpcCode.Unauthenticated, "etcdserver: invalid auth token");
  };
}
