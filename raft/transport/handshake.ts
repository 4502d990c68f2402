// Peer handshake of the WebSocket transport: the dialer's first frame (hello)
// proves knowledge of the cluster token with an HMAC over the cluster name,
// both member ids, a random nonce and a timestamp; the acceptor's answer
// (welcome) proves it too, bound to the dialer's nonce (mutual, one round
// trip). Pure functions plus a small replay guard; no sockets here.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { NodeId } from "../core/types.js";
import { MAX_NODE_ID_LENGTH } from "./validate.js";

export const HANDSHAKE_VERSION = 1;
const NONCE_BYTES = 16;
const PROOF_BYTES = 32; // SHA-256
// Domain separation: a hello proof can never be replayed as a welcome proof.
const HELLO_LABEL = "pinsetter-raft-hello-v1";
const WELCOME_LABEL = "pinsetter-raft-welcome-v1";

export interface Hello {
  kind: "hello";
  version: number;
  clusterName: string;
  from: NodeId;
  to: NodeId;
  nonce: Uint8Array;
  /** Dialer's wall clock, ms since epoch: bounds how long a captured hello could be replayed. */
  timestamp: number;
  proof: Uint8Array;
}

export interface Welcome {
  kind: "welcome";
  version: number;
  clusterName: string;
  from: NodeId;
  to: NodeId;
  nonce: Uint8Array;
  proof: Uint8Array;
}

/**
 * Why a handshake was refused. `code` is short and safe to send to the
 * remote side (WebSocket close reason); `reason` is the detailed local log line.
 */
export interface Refusal {
  ok: false;
  code:
    | "malformed"
    | "bad-version"
    | "bad-proof"
    | "bad-cluster"
    | "wrong-member"
    | "unknown-member"
    | "clock-skew"
    | "replay";
  reason: string;
}

export type HandshakeResult<T> = { ok: true; value: T } | Refusal;

export interface Secret {
  clusterName: string;
  token: string;
}

export function createHello(
  secret: Secret,
  from: NodeId,
  to: NodeId,
  now: number,
  nonce: Uint8Array = randomBytes(NONCE_BYTES),
): Hello {
  const timestamp = Math.floor(now);
  return {
    kind: "hello",
    version: HANDSHAKE_VERSION,
    clusterName: secret.clusterName,
    from,
    to,
    nonce,
    timestamp,
    proof: helloProof(secret.token, secret.clusterName, from, to, nonce, timestamp),
  };
}

export interface AcceptorCheck {
  self: NodeId;
  /** Whether `id` may connect to this member (a configured peer that dials us). */
  acceptsPeer: (id: NodeId) => Refusal | null;
  now: number;
  maxClockSkewMs: number;
  replay: ReplayGuard;
}

/** The acceptor's checks on a decoded first frame, cheapest-to-forge last. */
export function verifyHello(value: unknown, secret: Secret, check: AcceptorCheck): HandshakeResult<Hello> {
  const hello = readHello(value);
  if (!hello.ok) return hello;
  const h = hello.value;
  if (h.version !== HANDSHAKE_VERSION) {
    return refuse("bad-version", `handshake version ${h.version}, this member speaks ${HANDSHAKE_VERSION}`);
  }
  // The proof covers the claimed fields, so it is checked first: a stranger
  // without the token learns nothing about cluster name or member ids.
  const expected = helloProof(secret.token, h.clusterName, h.from, h.to, h.nonce, h.timestamp);
  if (!proofEquals(expected, h.proof)) {
    const other = h.clusterName === secret.clusterName ? "" : ` (it claims cluster "${h.clusterName}", ours is "${secret.clusterName}")`;
    return refuse("bad-proof", `"${h.from}" does not know the cluster token${other}`);
  }
  if (h.clusterName !== secret.clusterName) {
    return refuse("bad-cluster", `member "${h.from}" belongs to cluster "${h.clusterName}", ours is "${secret.clusterName}"`);
  }
  if (h.to !== check.self) {
    return refuse("wrong-member", `"${h.from}" meant to reach "${h.to}" but this is "${check.self}"`);
  }
  const peerRefusal = check.acceptsPeer(h.from);
  if (peerRefusal) return peerRefusal;
  const skew = Math.abs(check.now - h.timestamp);
  if (skew > check.maxClockSkewMs) {
    return refuse("clock-skew", `hello from "${h.from}" is ${skew} ms off our clock (limit ${check.maxClockSkewMs} ms)`);
  }
  if (!check.replay.remember(h.nonce, check.now)) {
    return refuse("replay", `hello from "${h.from}" reuses a nonce: replayed handshake`);
  }
  return { ok: true, value: h };
}

export function createWelcome(
  secret: Secret,
  hello: Hello,
  nonce: Uint8Array = randomBytes(NONCE_BYTES),
): Welcome {
  return {
    kind: "welcome",
    version: HANDSHAKE_VERSION,
    clusterName: secret.clusterName,
    from: hello.to,
    to: hello.from,
    nonce,
    proof: welcomeProof(secret.token, secret.clusterName, hello.to, hello.from, hello.nonce, nonce),
  };
}

/** The dialer's check of the acceptor's answer to `hello`. */
export function verifyWelcome(value: unknown, secret: Secret, hello: Hello): HandshakeResult<Welcome> {
  const r = readWelcome(value);
  if (!r.ok) return r;
  const w = r.value;
  const expected = welcomeProof(secret.token, w.clusterName, w.from, w.to, hello.nonce, w.nonce);
  if (!proofEquals(expected, w.proof)) return refuse("bad-proof", `acceptor "${w.from}" failed to prove the cluster token`);
  if (w.clusterName !== secret.clusterName) {
    return refuse("bad-cluster", `acceptor belongs to cluster "${w.clusterName}", ours is "${secret.clusterName}"`);
  }
  if (w.from !== hello.to || w.to !== hello.from) {
    return refuse("wrong-member", `expected "${hello.to}" to answer "${hello.from}", got "${w.from}" answering "${w.to}"`);
  }
  return { ok: true, value: w };
}

/**
 * Remembers nonces of accepted hellos for the clock-skew window, so a
 * captured hello cannot be replayed while its timestamp is still acceptable.
 * Only verified hellos are remembered, so the set grows with legitimate
 * reconnects only; `maxEntries` bounds it anyway.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** Records the nonce; false when it was already seen inside the window. */
  remember(nonce: Uint8Array, now: number): boolean {
    this.prune(now);
    const key = Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString("hex");
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(key, now);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    // Map iterates in insertion order, which is time order (2x window: both clock directions).
    for (const [key, at] of this.seen) {
      if (now - at <= 2 * this.windowMs) break;
      this.seen.delete(key);
    }
  }
}

function refuse(code: Refusal["code"], reason: string): Refusal {
  return { ok: false, code, reason };
}

function hmac(token: string, parts: (string | number)[]): Buffer {
  // A JSON array is an unambiguous encoding of the parts (no "a|b" vs "a|"+"b").
  return createHmac("sha256", token).update(JSON.stringify(parts)).digest();
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

function helloProof(token: string, cluster: string, from: NodeId, to: NodeId, nonce: Uint8Array, ts: number): Buffer {
  return hmac(token, [HELLO_LABEL, cluster, from, to, hex(nonce), ts]);
}

function welcomeProof(
  token: string,
  cluster: string,
  from: NodeId,
  to: NodeId,
  helloNonce: Uint8Array,
  welcomeNonce: Uint8Array,
): Buffer {
  return hmac(token, [WELCOME_LABEL, cluster, from, to, hex(helloNonce), hex(welcomeNonce)]);
}

function proofEquals(expected: Buffer, got: Uint8Array): boolean {
  return got.byteLength === expected.byteLength && timingSafeEqual(expected, got);
}

// ---------------------------------------------------------------------------
// Shape checks of untrusted handshake frames.

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function shape<T>(value: unknown, kind: "hello" | "welcome", read: (o: Obj) => T | string): HandshakeResult<T> {
  if (!isObj(value) || value.kind !== kind) return refuse("malformed", `first frame is not a ${kind}`);
  const r = read(value);
  return typeof r === "string" ? refuse("malformed", `${kind}: ${r}`) : { ok: true, value: r };
}

function badCommon(o: Obj): string | null {
  if (typeof o.version !== "number") return "version missing";
  if (typeof o.clusterName !== "string" || o.clusterName.length > 1024) return "clusterName must be a string";
  for (const k of ["from", "to"] as const) {
    const v = o[k];
    if (typeof v !== "string" || v.length === 0 || v.length > MAX_NODE_ID_LENGTH) return `${k} must be a member id`;
  }
  if (!(o.nonce instanceof Uint8Array) || o.nonce.byteLength !== NONCE_BYTES) return `nonce must be ${NONCE_BYTES} bytes`;
  if (!(o.proof instanceof Uint8Array) || o.proof.byteLength !== PROOF_BYTES) return `proof must be ${PROOF_BYTES} bytes`;
  return null;
}

function readHello(value: unknown): HandshakeResult<Hello> {
  return shape(value, "hello", (o) => {
    const bad = badCommon(o);
    if (bad) return bad;
    if (typeof o.timestamp !== "number" || !Number.isSafeInteger(o.timestamp)) return "timestamp must be an integer";
    return {
      kind: "hello",
      version: o.version as number,
      clusterName: o.clusterName as string,
      from: o.from as string,
      to: o.to as string,
      nonce: o.nonce as Uint8Array,
      timestamp: o.timestamp,
      proof: o.proof as Uint8Array,
    };
  });
}

function readWelcome(value: unknown): HandshakeResult<Welcome> {
  return shape(value, "welcome", (o) => {
    const bad = badCommon(o);
    if (bad) return bad;
    return {
      kind: "welcome",
      version: o.version as number,
      clusterName: o.clusterName as string,
      from: o.from as string,
      to: o.to as string,
      nonce: o.nonce as Uint8Array,
      proof: o.proof as Uint8Array,
    };
  });
}
