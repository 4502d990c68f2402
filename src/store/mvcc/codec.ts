// The Raft entry payload of the store: encodeCommand/decodeCommand with
// msgpackr. decodeCommand is the validation point for bytes coming out of the
// log: it checks the shape of everything it returns and throws a clear error
// naming the bad field. Semantic checks (empty key, duplicate keys) are not
// shape errors: apply() answers them as StoreError values.

import { Packr } from "msgpackr";
import { MAX_TXN_DEPTH } from "./limits.js";
import type {
  Compare,
  CompareResult,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  StoreCommand,
  TxnRequest,
} from "./types.js";

/** First element of every encoded command; bump when the format changes. */
const COMMAND_FORMAT = 1;

// Plain msgpack maps (no record extension: its structure IDs are per-instance
// state), binary as bin. Integers above 32 bits come out as float64, exact to 2^53.
const packr = new Packr({ useRecords: false, moreTypes: false });

export class CommandDecodeError extends Error {
  override name = "CommandDecodeError";
}

export function encodeCommand(cmd: StoreCommand): Uint8Array {
  // Normalizing first drops unknown and undefined fields, so what is encoded
  // is exactly what decode accepts.
  return packr.pack([COMMAND_FORMAT, cmd.type, normalizeCommand(cmd).request]);
}

export function decodeCommand(data: Uint8Array): StoreCommand {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (e) {
    throw new CommandDecodeError(`store command: not valid msgpack (${(e as Error).message})`);
  }
  if (!Array.isArray(raw) || raw.length !== 3) throw new CommandDecodeError("store command: expected [format, type, request]");
  if (raw[0] !== COMMAND_FORMAT) throw new CommandDecodeError(`store command: unknown format ${show(raw[0])}`);
  return normalizeCommand({ type: raw[1], request: raw[2] });
}

/** Checks the shape of an untyped command and rebuilds it from known fields only. */
export function normalizeCommand(input: unknown): StoreCommand {
  const o = obj(input, "command");
  const path = "command.request";
  switch (o["type"]) {
    case "put":
      return { type: "put", request: putReq(o["request"], path) };
    case "deleteRange":
      return { type: "deleteRange", request: deleteReq(o["request"], path) };
    case "txn":
      return { type: "txn", request: txnReq(o["request"], path, 1) };
    case "compact": {
      const r = obj(o["request"], path);
      return { type: "compact", request: { revision: int(r["revision"], `${path}.revision`) } };
    }
    case "leaseGrant": {
      const r = obj(o["request"], path);
      return { type: "leaseGrant", request: { id: int(r["id"], `${path}.id`), ttl: int(r["ttl"], `${path}.ttl`) } };
    }
    case "leaseRevoke": {
      const r = obj(o["request"], path);
      return { type: "leaseRevoke", request: { id: int(r["id"], `${path}.id`) } };
    }
    case "leaseExpire": {
      const r = obj(o["request"], path);
      const ids = arr(r["ids"], `${path}.ids`).map((v, i) => int(v, `${path}.ids[${i}]`));
      return { type: "leaseExpire", request: { ids } };
    }
    default:
      throw new CommandDecodeError(`command.type: unknown command type ${show(o["type"])}`);
  }
}

function rangeReq(v: unknown, path: string): RangeRequest {
  const o = obj(v, path);
  const r: RangeRequest = { key: bytes(o["key"], `${path}.key`) };
  setOpt(r, "rangeEnd", optBytes(o["rangeEnd"], `${path}.rangeEnd`));
  for (const f of ["limit", "revision", "minModRevision", "maxModRevision", "minCreateRevision", "maxCreateRevision"] as const) {
    setOpt(r, f, optInt(o[f], `${path}.${f}`));
  }
  setOpt(r, "sortOrder", optEnum<SortOrder>(o["sortOrder"], ["NONE", "ASCEND", "DESCEND"], `${path}.sortOrder`));
  setOpt(r, "sortTarget", optEnum<SortTarget>(o["sortTarget"], ["KEY", "VERSION", "CREATE", "MOD", "VALUE"], `${path}.sortTarget`));
  setOpt(r, "keysOnly", optBool(o["keysOnly"], `${path}.keysOnly`));
  setOpt(r, "countOnly", optBool(o["countOnly"], `${path}.countOnly`));
  return r;
}

function putReq(v: unknown, path: string): PutRequest {
  const o = obj(v, path);
  const r: PutRequest = { key: bytes(o["key"], `${path}.key`), value: bytes(o["value"], `${path}.value`) };
  setOpt(r, "lease", optInt(o["lease"], `${path}.lease`));
  setOpt(r, "prevKv", optBool(o["prevKv"], `${path}.prevKv`));
  setOpt(r, "ignoreValue", optBool(o["ignoreValue"], `${path}.ignoreValue`));
  setOpt(r, "ignoreLease", optBool(o["ignoreLease"], `${path}.ignoreLease`));
  return r;
}

function deleteReq(v: unknown, path: string): DeleteRangeRequest {
  const o = obj(v, path);
  const r: DeleteRangeRequest = { key: bytes(o["key"], `${path}.key`) };
  setOpt(r, "rangeEnd", optBytes(o["rangeEnd"], `${path}.rangeEnd`));
  setOpt(r, "prevKv", optBool(o["prevKv"], `${path}.prevKv`));
  return r;
}

function txnReq(v: unknown, path: string, depth: number): TxnRequest {
  if (depth > MAX_TXN_DEPTH) throw new CommandDecodeError(`${path}: txn nested deeper than ${MAX_TXN_DEPTH}`);
  const o = obj(v, path);
  return {
    compare: arr(o["compare"], `${path}.compare`).map((c, i) => compare(c, `${path}.compare[${i}]`)),
    success: arr(o["success"], `${path}.success`).map((op, i) => requestOp(op, `${path}.success[${i}]`, depth)),
    failure: arr(o["failure"], `${path}.failure`).map((op, i) => requestOp(op, `${path}.failure[${i}]`, depth)),
  };
}

function requestOp(v: unknown, path: string, depth: number): RequestOp {
  const o = obj(v, path);
  const rp = `${path}.request`;
  switch (o["type"]) {
    case "range":
      return { type: "range", request: rangeReq(o["request"], rp) };
    case "put":
      return { type: "put", request: putReq(o["request"], rp) };
    case "deleteRange":
      return { type: "deleteRange", request: deleteReq(o["request"], rp) };
    case "txn":
      return { type: "txn", request: txnReq(o["request"], rp, depth + 1) };
    default:
      throw new CommandDecodeError(`${path}.type: unknown op type ${show(o["type"])}`);
  }
}

function compare(v: unknown, path: string): Compare {
  const o = obj(v, path);
  const base = {
    result: enumOf<CompareResult>(o["result"], ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"], `${path}.result`),
    key: bytes(o["key"], `${path}.key`),
  };
  const rangeEnd = optBytes(o["rangeEnd"], `${path}.rangeEnd`);
  const withEnd = rangeEnd === undefined ? base : { ...base, rangeEnd };
  switch (o["target"]) {
    case "VERSION":
      return { ...withEnd, target: "VERSION", version: int(o["version"], `${path}.version`) };
    case "CREATE":
      return { ...withEnd, target: "CREATE", createRevision: int(o["createRevision"], `${path}.createRevision`) };
    case "MOD":
      return { ...withEnd, target: "MOD", modRevision: int(o["modRevision"], `${path}.modRevision`) };
    case "VALUE":
      return { ...withEnd, target: "VALUE", value: bytes(o["value"], `${path}.value`) };
    case "LEASE":
      return { ...withEnd, target: "LEASE", lease: int(o["lease"], `${path}.lease`) };
    default:
      throw new CommandDecodeError(`${path}.target: unknown compare target ${show(o["target"])}`);
  }
}

// ---------------------------------------------------------------- primitives

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function setOpt<T extends object, K extends keyof T>(target: T, field: K, value: T[K] | undefined): void {
  if (value !== undefined) target[field] = value;
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new CommandDecodeError(`${path}: expected an object`);
  }
  return v as Record<string, unknown>;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new CommandDecodeError(`${path}: expected an array`);
  return v;
}

function bytes(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CommandDecodeError(`${path}: expected bytes`);
  return v;
}

function optBytes(v: unknown, path: string): Uint8Array | undefined {
  return v === undefined || v === null ? undefined : bytes(v, path);
}

function int(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new CommandDecodeError(`${path}: expected a safe integer`);
  return v;
}

function optInt(v: unknown, path: string): number | undefined {
  return v === undefined || v === null ? undefined : int(v, path);
}

function optBool(v: unknown, path: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new CommandDecodeError(`${path}: expected a boolean`);
  return v;
}

function enumOf<T extends string>(v: unknown, allowed: readonly T[], path: string): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new CommandDecodeError(`${path}: expected one of ${allowed.join("|")}, got ${show(v)}`);
  }
  return v as T;
}

function optEnum<T extends string>(v: unknown, allowed: readonly T[], path: string): T | undefined {
  return v === undefined || v === null ? undefined : enumOf(v, allowed, path);
}
