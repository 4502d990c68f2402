// Frame codec (msgpackr) and the one validation point for peer frames: bytes
// that arrive from a socket become typed Raft messages here or are refused
// with a reason. Nothing in this file throws on untrusted input.

import { Packr } from "msgpackr";
import { releaseLargePackBuffer } from "../codec/pack-buffer.js";
import type {
  ConfState,
  Entry,
  EntryType,
  Message,
  MessageType,
  NodeId,
  ProposalRefusal,
  Snapshot,
} from "../core/types.js";

// useRecords: false keeps frames plain MessagePack maps (no shared record
// structures, so one codec instance is stateless and safe across
// connections). copyBuffers: decoded Uint8Arrays are copies, so a small entry
// kept in the log does not pin a whole (possibly 64 MiB) frame in memory.
// int64AsType "number": terms and indexes are JS numbers on both ends.
const PACKR_OPTIONS = {
  useRecords: false,
  copyBuffers: true,
  int64AsType: "number",
  mapsAsObjects: true,
} as const;
const packr = new Packr(PACKR_OPTIONS);

/** Encodes one frame (a handshake record or an array of messages). */
export function encodeFrame(value: unknown): Buffer {
  const frame = packr.pack(value);
  releaseLargePackBuffer(frame.length);
  return frame;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Decodes one frame's bytes; a frame that is not exactly one MessagePack value is refused. */
export function decodeFrame(data: Uint8Array): Validated<unknown> {
  try {
    return { ok: true, value: packr.unpack(data) as unknown };
  } catch (err) {
    return { ok: false, reason: `undecodable frame: ${(err as Error).message}` };
  }
}

// A Record over the union's tags: adding a message type to core/types.ts
// without listing it here is a compile error.
const MESSAGE_TYPE_TABLE: Record<MessageType, true> = {
  vote: true,
  preVote: true,
  voteResp: true,
  preVoteResp: true,
  app: true,
  appResp: true,
  heartbeat: true,
  heartbeatResp: true,
  snap: true,
  snapStatus: true,
  timeoutNow: true,
  transferLeader: true,
  prop: true,
  propRefused: true,
  readIndex: true,
  readIndexResp: true,
};

export const MESSAGE_TYPES: ReadonlySet<MessageType> = new Set(
  Object.keys(MESSAGE_TYPE_TABLE) as MessageType[],
);

export function isMessageType(value: unknown): value is MessageType {
  return typeof value === "string" && MESSAGE_TYPES.has(value as MessageType);
}

/** Longest member id accepted on the wire. */
export const MAX_NODE_ID_LENGTH = 256;

export interface FrameExpectation {
  /** The authenticated peer of the connection: every message must come from it. */
  from?: NodeId;
  /** This member: every message must be addressed to it. */
  to?: NodeId;
  /** At most this many messages in one frame (default: unlimited). */
  maxMessages?: number;
}

/**
 * Checks a decoded frame: an array of well-formed messages from `from` to
 * `to`. The frame is all or nothing: one bad message refuses the whole
 * frame, since a peer that sends one is buggy or hostile.
 */
export function validateFrame(value: unknown, expect: FrameExpectation = {}): Validated<Message[]> {
  if (!Array.isArray(value)) return { ok: false, reason: "frame is not an array of messages" };
  if (expect.maxMessages !== undefined && value.length > expect.maxMessages) {
    return { ok: false, reason: `frame has ${value.length} messages, limit ${expect.maxMessages}` };
  }
  const out: Message[] = [];
  for (let i = 0; i < value.length; i++) {
    const r = validateMessage(value[i], expect);
    if (!r.ok) return { ok: false, reason: `message ${i}: ${r.reason}` };
    out.push(r.value);
  }
  return { ok: true, value: out };
}

/**
 * Checks one message and rebuilds it from its checked fields only, so what
 * reaches the core has exactly the declared shape (no stray fields, no
 * prototype surprises).
 */
export function validateMessage(value: unknown, expect: FrameExpectation = {}): Validated<Message> {
  try {
    return { ok: true, value: readMessage(value, expect) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message };
    throw err; // a bug in this file, not bad input
  }
}

class Invalid extends Error {}

type Obj = Record<string, unknown>;

/** A plain map as the decoder builds it (not an array, bytes, Date or an extension's class). */
function isObj(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Invalid(`${what} is not a map`);
  return v;
}

function nat(o: Obj, key: string, what = key): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new Invalid(`${what} must be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw new Invalid(`${key} must be a boolean, got ${describe(v)}`);
  return v;
}

function str(o: Obj, key: string, what = key): string {
  const v = o[key];
  if (typeof v !== "string") throw new Invalid(`${what} must be a string, got ${describe(v)}`);
  return v;
}

function nodeId(v: unknown, what: string): NodeId {
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_NODE_ID_LENGTH) {
    throw new Invalid(`${what} must be a member id (1..${MAX_NODE_ID_LENGTH} chars), got ${describe(v)}`);
  }
  return v;
}

function bytes(o: Obj, key: string, what = key): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array)) throw new Invalid(`${what} must be bytes, got ${describe(v)}`);
  return v;
}

function array(o: Obj, key: string, what = key): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new Invalid(`${what} must be an array, got ${describe(v)}`);
  return v;
}

function entryType(o: Obj, what: string): EntryType {
  const v = o.type;
  if (v !== "normal" && v !== "confChange") {
    throw new Invalid(`${what}.type must be "normal" or "confChange", got ${describe(v)}`);
  }
  return v;
}

function entry(v: unknown, what: string): Entry {
  const o = obj(v, what);
  return {
    term: nat(o, "term", `${what}.term`),
    index: nat(o, "index", `${what}.index`),
    type: entryType(o, what),
    data: bytes(o, "data", `${what}.data`),
  };
}

function idList(o: Obj, key: string, what: string): NodeId[] {
  return array(o, key, what).map((v, i) => nodeId(v, `${what}[${i}]`));
}

function confState(v: unknown, what: string): ConfState {
  const o = obj(v, what);
  return {
    voters: idList(o, "voters", `${what}.voters`),
    learners: idList(o, "learners", `${what}.learners`),
  };
}

function snapshot(v: unknown): Snapshot {
  const o = obj(v, "snapshot");
  const m = obj(o.metadata, "snapshot.metadata");
  return {
    metadata: {
      index: nat(m, "index", "snapshot.metadata.index"),
      term: nat(m, "term", "snapshot.metadata.term"),
      conf: confState(m.conf, "snapshot.metadata.conf"),
    },
    data: bytes(o, "data", "snapshot.data"),
  };
}

function refusal(v: unknown): ProposalRefusal {
  const o = obj(v, "refusal");
  switch (o.code) {
    case "noLeader":
    case "confChangePending":
      return { code: o.code };
    case "transferring":
      return { code: "transferring", to: nodeId(o.to, "refusal.to") };
    case "invalidConfChange":
      return { code: "invalidConfChange", reason: str(o, "reason", "refusal.reason") };
    default:
      throw new Invalid(`unknown refusal code ${describe(o.code)}`);
  }
}

function readMessage(value: unknown, expect: FrameExpectation): Message {
  const o = obj(value, "message");
  const type = o.type;
  if (!isMessageType(type)) throw new Invalid(`unknown message type ${describe(type)}`);
  const from = nodeId(o.from, "from");
  const to = nodeId(o.to, "to");
  const term = nat(o, "term");
  if (expect.from !== undefined && from !== expect.from) {
    throw new Invalid(`from "${from}" on a connection authenticated as "${expect.from}"`);
  }
  if (expect.to !== undefined && to !== expect.to) {
    throw new Invalid(`addressed to "${to}", this member is "${expect.to}"`);
  }
  const base = { from, to, term };
  // Exhaustive: a new message type without a case fails to compile (no return).
  switch (type) {
    case "vote":
    case "preVote":
      return {
        ...base,
        type,
        lastLogIndex: nat(o, "lastLogIndex"),
        lastLogTerm: nat(o, "lastLogTerm"),
        transfer: bool(o, "transfer"),
      };
    case "voteResp":
    case "preVoteResp":
      return { ...base, type, reject: bool(o, "reject") };
    case "app":
      return {
        ...base,
        type,
        prevIndex: nat(o, "prevIndex"),
        prevTerm: nat(o, "prevTerm"),
        entries: array(o, "entries").map((e, i) => entry(e, `entries[${i}]`)),
        commit: nat(o, "commit"),
      };
    case "appResp":
      return {
        ...base,
        type,
        index: nat(o, "index"),
        reject: bool(o, "reject"),
        rejectHint: nat(o, "rejectHint"),
        rejectHintTerm: nat(o, "rejectHintTerm"),
      };
    case "heartbeat":
      return { ...base, type, commit: nat(o, "commit"), context: str(o, "context") };
    case "heartbeatResp":
      return { ...base, type, context: str(o, "context") };
    case "snap":
      return { ...base, type, snapshot: snapshot(o.snapshot) };
    case "snapStatus":
      return { ...base, type, reject: bool(o, "reject") };
    case "timeoutNow":
      return { ...base, type };
    case "transferLeader":
      return { ...base, type, transferee: nodeId(o.transferee, "transferee") };
    case "prop":
      return {
        ...base,
        type,
        entries: array(o, "entries").map((e, i) => {
          const eo = obj(e, `entries[${i}]`);
          return { type: entryType(eo, `entries[${i}]`), data: bytes(eo, "data", `entries[${i}].data`) };
        }),
      };
    case "propRefused":
      return {
        ...base,
        type,
        entries: array(o, "entries").map((e, i) => {
          const eo = obj(e, `entries[${i}]`);
          return { type: entryType(eo, `entries[${i}]`), data: bytes(eo, "data", `entries[${i}].data`) };
        }),
        refusal: refusal(o.refusal),
      };
    case "readIndex":
      return { ...base, type, context: str(o, "context") };
    case "readIndexResp":
      return { ...base, type, context: str(o, "context"), index: nat(o, "index") };
  }
}

/** A short, log-safe description of an unexpected value. */
function describe(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return `bytes(${v.byteLength})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case "number":
    case "boolean":
    case "undefined":
    case "bigint":
      return String(v);
    default:
      return typeof v;
  }
}
