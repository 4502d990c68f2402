// JSON <-> store types for the clientPort gateway, following etcd 3.4's
// grpc-gateway (jsonpb, OrigName, EmitDefaults=false): bytes as standard
// base64, 64-bit integers as decimal strings out and strings or numbers in,
// enums by name or number, zero values omitted on the way out and absent
// meaning zero on the way in. This is the one validation point for request
// bodies: every bad field answers 400 code 3 with the field's path.

import type * as W from "../../client/etcd-types.js";
import type { MemberInfo } from "../members.js";
import {
  MAX_TXN_DEPTH,
  type Compare,
  type CompareResult,
  type CompareTarget,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type SortOrder,
  type SortTarget,
  type TxnRequest,
  type TxnResponse,
  type WatchEvent,
  type WatchFilter,
} from "../mvcc/index.js";
import type { ResponseHeaderData } from "../kv-service.js";
import { invalidArgument } from "./errors.js";

export type JsonObject = { [key: string]: unknown };

// ---------------------------------------------------------------- primitives

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  const text = JSON.stringify(v);
  return text.length > 40 ? `${typeof v} ${text.slice(0, 40)}...` : `${typeof v} ${text}`;
}

function fieldError(path: string, expected: string, got: unknown): never {
  throw invalidArgument(`invalid value for field "${path}": expected ${expected}, got ${describe(got)}`);
}

function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

/** A request body or nested message; null or absent reads as {} (jsonpb does so). */
export function asObject(v: unknown, path: string): JsonObject {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    if (path === "") throw invalidArgument(`invalid request body: expected a JSON object, got ${describe(v)}`);
    fieldError(path, "an object", v);
  }
  return v as JsonObject;
}

/** Parses a whole request body. Empty means {} (etcd then reports the missing key, not bad JSON). */
export function parseBody(text: string): JsonObject {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`invalid JSON in request body: ${(err as Error).message}`);
  }
  return asObject(parsed, "");
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, as Go's encoding/json decodes []byte (it skips CR and LF). */
export function decodeBase64(text: string, path: string): Buffer {
  const s = text.includes("\n") || text.includes("\r") ? text.replace(/[\r\n]/g, "") : text;
  if (!BASE64.test(s)) {
    throw invalidArgument(`invalid value for field "${path}": not standard base64 with padding (illegal base64 data)`);
  }
  return Buffer.from(s, "base64");
}

export function bytesField(o: JsonObject, name: string, path: string): Buffer {
  const v = o[name];
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (typeof v !== "string") fieldError(join(path, name), "a base64 string", v);
  return decodeBase64(v, join(path, name));
}

const INT = /^-?(?:0|[1-9][0-9]*)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** A 64-bit integer, given as a JSON number or a decimal string, as a bigint. */
function bigIntField(v: unknown, path: string, unsigned: boolean): bigint {
  const kind = unsigned ? "uint64" : "int64";
  let n: bigint;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) fieldError(path, `an integer (${kind})`, v);
    if (!Number.isSafeInteger(v)) {
      throw invalidArgument(`invalid value for field "${path}": ${v} is not exact as a JSON number; send 64-bit integers as decimal strings`);
    }
    n = BigInt(v);
  } else if (typeof v === "string") {
    if (!INT.test(v)) fieldError(path, `an integer (${kind}) as a JSON number or decimal string`, v);
    n = BigInt(v);
  } else {
    fieldError(path, `an integer (${kind}) as a JSON number or decimal string`, v);
  }
  if (unsigned ? n < 0n || n > UINT64_MAX : n < INT64_MIN || n > INT64_MAX) {
    throw invalidArgument(`invalid value for field "${path}": ${n} is out of range for ${kind}`);
  }
  return n;
}

/** An int64 field as a JS number; absent or null is 0. Pinsetter's numbers stay below 2^53. */
export function int64Field(o: JsonObject, name: string, path: string): number {
  const v = o[name];
  if (v === undefined || v === null) return 0;
  const p = join(path, name);
  const n = bigIntField(v, p, false);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalidArgument(`invalid value for field "${p}": ${n} is beyond 2^53-1, which Pinsetter does not support here`);
  }
  return Number(n);
}

/** A 64-bit ID kept as its canonical decimal string (member IDs use all 64 bits). */
export function idField(o: JsonObject, name: string, path: string): string {
  const v = o[name];
  if (v === undefined || v === null) return "0";
  return bigIntField(v, join(path, name), true).toString();
}

export function boolField(o: JsonObject, name: string, path: string): boolean {
  const v = o[name];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") fieldError(join(path, name), "true or false", v);
  return v;
}

/** A proto enum: its name or its number; absent is the zero value (values[0]). */
export function enumField<T extends string>(
  o: JsonObject,
  name: string,
  path: string,
  values: readonly T[],
  protoName: string,
  fullPath = join(path, name),
): T {
  const v = o[name];
  if (v === undefined || v === null) return values[0]!;
  if (typeof v === "string" && (values as readonly string[]).includes(v)) return v as T;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < values.length) return values[v]!;
  throw invalidArgument(`invalid value for field "${fullPath}": unknown value ${JSON.stringify(v)} for enum ${protoName} (one of ${values.join(", ")})`);
}

function arrayField(o: JsonObject, name: string, path: string): unknown[] {
  const v = o[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fieldError(join(path, name), "an array", v);
  return v;
}

function stringArrayField(o: JsonObject, name: string, path: string): string[] {
  return arrayField(o, name, path).map((s, i) => {
    if (typeof s !== "string") fieldError(`${join(path, name)}[${i}]`, "a string", s);
    return s;
  });
}

function nonEmpty(b: Buffer): Buffer | undefined {
  return b.length > 0 ? b : undefined;
}

// ---------------------------------------------------------------- KV requests

const SORT_ORDERS = ["NONE", "ASCEND", "DESCEND"] as const satisfies readonly SortOrder[];
const SORT_TARGETS = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"] as const satisfies readonly SortTarget[];
const COMPARE_RESULTS = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"] as const satisfies readonly CompareResult[];
const COMPARE_TARGETS = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"] as const satisfies readonly CompareTarget[];
const WATCH_FILTERS = ["NOPUT", "NODELETE"] as const satisfies readonly WatchFilter[];

export interface DecodedRange {
  request: RangeRequest;
  serializable: boolean;
}

export function decodeRange(o: JsonObject, path = ""): DecodedRange {
  const request: RangeRequest = { key: bytesField(o, "key", path) };
  const rangeEnd = nonEmpty(bytesField(o, "range_end", path));
  if (rangeEnd) request.rangeEnd = rangeEnd;
  // etcd treats a limit or revision <= 0 as "none" / "current".
  const limit = int64Field(o, "limit", path);
  if (limit > 0) request.limit = limit;
  const revision = int64Field(o, "revision", path);
  if (revision > 0) request.revision = revision;
  const sortOrder = enumField(o, "sort_order", path, SORT_ORDERS, "etcdserverpb.RangeRequest_SortOrder");
  if (sortOrder !== "NONE") request.sortOrder = sortOrder;
  const sortTarget = enumField(o, "sort_target", path, SORT_TARGETS, "etcdserverpb.RangeRequest_SortTarget");
  if (sortTarget !== "KEY") request.sortTarget = sortTarget;
  if (boolField(o, "keys_only", path)) request.keysOnly = true;
  if (boolField(o, "count_only", path)) request.countOnly = true;
  for (const [wire, field] of [
    ["min_mod_revision", "minModRevision"],
    ["max_mod_revision", "maxModRevision"],
    ["min_create_revision", "minCreateRevision"],
    ["max_create_revision", "maxCreateRevision"],
  ] as const) {
    const v = int64Field(o, wire, path);
    if (v !== 0) request[field] = v;
  }
  return { request, serializable: boolField(o, "serializable", path) };
}

export function decodePut(o: JsonObject, path = ""): PutRequest {
  const request: PutRequest = { key: bytesField(o, "key", path), value: bytesField(o, "value", path) };
  const lease = int64Field(o, "lease", path);
  if (lease !== 0) request.lease = lease;
  if (boolField(o, "prev_kv", path)) request.prevKv = true;
  if (boolField(o, "ignore_value", path)) request.ignoreValue = true;
  if (boolField(o, "ignore_lease", path)) request.ignoreLease = true;
  return request;
}

export function decodeDeleteRange(o: JsonObject, path = ""): DeleteRangeRequest {
  const request: DeleteRangeRequest = { key: bytesField(o, "key", path) };
  const rangeEnd = nonEmpty(bytesField(o, "range_end", path));
  if (rangeEnd) request.rangeEnd = rangeEnd;
  if (boolField(o, "prev_kv", path)) request.prevKv = true;
  return request;
}

export function decodeCompare(o: JsonObject, path: string): Compare {
  const result = enumField(o, "result", path, COMPARE_RESULTS, "etcdserverpb.Compare_CompareResult");
  const target = enumField(o, "target", path, COMPARE_TARGETS, "etcdserverpb.Compare_CompareTarget");
  const key = bytesField(o, "key", path);
  const rangeEnd = nonEmpty(bytesField(o, "range_end", path));
  const base = rangeEnd ? { result, key, rangeEnd } : { result, key };
  // The field that goes with the target is the one compared; absent means zero (or empty).
  switch (target) {
    case "VERSION":
      return { ...base, target, version: int64Field(o, "version", path) };
    case "CREATE":
      return { ...base, target, createRevision: int64Field(o, "create_revision", path) };
    case "MOD":
      return { ...base, target, modRevision: int64Field(o, "mod_revision", path) };
    case "VALUE":
      return { ...base, target, value: bytesField(o, "value", path) };
    case "LEASE":
      return { ...base, target, lease: int64Field(o, "lease", path) };
  }
}

export function decodeRequestOp(o: JsonObject, path: string, depth: number): RequestOp {
  if (o.request_range !== undefined && o.request_range !== null) {
    return { type: "range", request: decodeRange(asObject(o.request_range, join(path, "request_range")), join(path, "request_range")).request };
  }
  if (o.request_put !== undefined && o.request_put !== null) {
    return { type: "put", request: decodePut(asObject(o.request_put, join(path, "request_put")), join(path, "request_put")) };
  }
  if (o.request_delete_range !== undefined && o.request_delete_range !== null) {
    const p = join(path, "request_delete_range");
    return { type: "deleteRange", request: decodeDeleteRange(asObject(o.request_delete_range, p), p) };
  }
  if (o.request_txn !== undefined && o.request_txn !== null) {
    const p = join(path, "request_txn");
    return { type: "txn", request: decodeTxn(asObject(o.request_txn, p), p, depth + 1) };
  }
  throw invalidArgument(`invalid value for field "${path}": a txn op needs one of request_range, request_put, request_delete_range, request_txn`);
}

export function decodeTxn(o: JsonObject, path = "", depth = 1): TxnRequest {
  if (depth > MAX_TXN_DEPTH) throw invalidArgument(`invalid value for field "${path}": txn nested deeper than ${MAX_TXN_DEPTH}`);
  const ops = (name: "success" | "failure"): RequestOp[] =>
    arrayField(o, name, path).map((op, i) => {
      const p = `${join(path, name)}[${i}]`;
      return decodeRequestOp(asObject(op, p), p, depth);
    });
  return {
    compare: arrayField(o, "compare", path).map((c, i) => {
      const p = `${join(path, "compare")}[${i}]`;
      return decodeCompare(asObject(c, p), p);
    }),
    success: ops("success"),
    failure: ops("failure"),
  };
}

export function decodeCompaction(o: JsonObject): { revision: number } {
  return { revision: int64Field(o, "revision", "") };
}

// ---------------------------------------------------------------- lease requests

export function decodeLeaseGrant(o: JsonObject): { id: number; ttl: number } {
  const id = int64Field(o, "ID", "");
  if (id < 0) throw invalidArgument(`invalid value for field "ID": lease IDs are positive, got ${id}`);
  // A TTL below the minimum (also 0 or negative) is raised by the store.
  return { id, ttl: int64Field(o, "TTL", "") };
}

/** The lease ID of revoke, keepalive and timetolive. */
export function decodeLeaseId(o: JsonObject): number {
  return int64Field(o, "ID", "");
}

export function decodeTimeToLive(o: JsonObject): { id: number; keys: boolean } {
  return { id: int64Field(o, "ID", ""), keys: boolField(o, "keys", "") };
}

// ---------------------------------------------------------------- watch requests

export interface WatchCreate {
  key: Buffer;
  rangeEnd: Buffer | undefined;
  startRevision: number;
  prevKv: boolean;
  progressNotify: boolean;
  filters: WatchFilter[];
  /** 0: the stream picks one. */
  watchId: number;
}

export type DecodedWatchRequest =
  | { kind: "create"; create: WatchCreate }
  | { kind: "cancel"; watchId: number }
  | { kind: "progress" }
  /** No known request in the object: etcd ignores it. */
  | { kind: "none" };

export function decodeWatchRequest(o: JsonObject): DecodedWatchRequest {
  if (o.create_request !== undefined && o.create_request !== null) {
    const p = "create_request";
    const c = asObject(o.create_request, p);
    const rangeEnd = nonEmpty(bytesField(c, "range_end", p));
    return {
      kind: "create",
      create: {
        key: bytesField(c, "key", p),
        rangeEnd,
        startRevision: int64Field(c, "start_revision", p),
        prevKv: boolField(c, "prev_kv", p),
        progressNotify: boolField(c, "progress_notify", p),
        filters: arrayField(c, "filters", p).map((f, i) => decodeFilter(f, `${p}.filters[${i}]`)),
        watchId: int64Field(c, "watch_id", p),
      },
    };
  }
  if (o.cancel_request !== undefined && o.cancel_request !== null) {
    return { kind: "cancel", watchId: int64Field(asObject(o.cancel_request, "cancel_request"), "watch_id", "cancel_request") };
  }
  if (o.progress_request !== undefined && o.progress_request !== null) {
    asObject(o.progress_request, "progress_request");
    return { kind: "progress" };
  }
  return { kind: "none" };
}

function decodeFilter(v: unknown, path: string): WatchFilter {
  return enumField({ v }, "v", "", WATCH_FILTERS, "etcdserverpb.WatchCreateRequest_FilterType", path);
}

// ---------------------------------------------------------------- cluster requests

export interface DecodedMemberAdd {
  peerURLs: string[];
  isLearner: boolean;
  /** Pinsetter's extension (pinctl sends it): the new master's name and other ports. */
  extra: { name?: string; clientPort?: number; apiPort?: number };
}

function validPeerUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "" && u.port !== "";
  } catch {
    return false;
  }
}

export function decodeMemberAdd(o: JsonObject): DecodedMemberAdd {
  const peerURLs = stringArrayField(o, "peerURLs", "");
  if (peerURLs.length === 0 || !peerURLs.every(validPeerUrl)) throw invalidArgument("etcdserver: given member URLs are invalid");
  const extra: DecodedMemberAdd["extra"] = {};
  if (o.name !== undefined && o.name !== null) {
    if (typeof o.name !== "string") fieldError("name", "a string", o.name);
    if (o.name !== "") extra.name = o.name;
  }
  const clientURLs = stringArrayField(o, "clientURLs", "");
  if (clientURLs.length > 0) {
    const u = validPeerUrl(clientURLs[0]!) ? new URL(clientURLs[0]!) : null;
    if (!u) throw invalidArgument(`invalid value for field "clientURLs[0]": expected a URL with a port, got ${JSON.stringify(clientURLs[0])}`);
    extra.clientPort = Number(u.port);
  }
  const apiPort = int64Field(o, "apiPort", "");
  if (apiPort < 0 || apiPort > 65535) throw invalidArgument(`invalid value for field "apiPort": ${apiPort} is not a port`);
  if (apiPort > 0) extra.apiPort = apiPort;
  return { peerURLs, isLearner: boolField(o, "isLearner", ""), extra };
}

export function decodeMemberId(o: JsonObject): string {
  return idField(o, "ID", "");
}

// ---------------------------------------------------------------- responses

/** The response header; zero values are left out as etcd does (revision is 0 on cluster calls). */
export function encodeHeader(h: ResponseHeaderData, revision: number | null = h.revision): W.ResponseHeader {
  const out: W.ResponseHeader = {};
  if (h.clusterId !== "0") out.cluster_id = h.clusterId;
  if (h.memberId !== "0") out.member_id = h.memberId;
  if (revision) out.revision = String(revision);
  if (h.raftTerm) out.raft_term = String(h.raftTerm);
  return out;
}

export function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

export function encodeKv(kv: KeyValue): W.KeyValue {
  const out: W.KeyValue = {};
  if (kv.key.byteLength > 0) out.key = b64(kv.key);
  if (kv.createRevision) out.create_revision = String(kv.createRevision);
  if (kv.modRevision) out.mod_revision = String(kv.modRevision);
  if (kv.version) out.version = String(kv.version);
  if (kv.value.byteLength > 0) out.value = b64(kv.value);
  if (kv.lease) out.lease = String(kv.lease);
  return out;
}

export function encodeRange(r: RangeResponse, header: W.ResponseHeader): W.RangeResponse {
  const out: W.RangeResponse = { header };
  if (r.kvs.length > 0) out.kvs = r.kvs.map(encodeKv);
  if (r.more) out.more = true;
  if (r.count) out.count = String(r.count);
  return out;
}

export function encodePut(r: PutResponse, header: W.ResponseHeader): W.PutResponse {
  const out: W.PutResponse = { header };
  if (r.prevKv) out.prev_kv = encodeKv(r.prevKv);
  return out;
}

export function encodeDeleteRange(r: DeleteRangeResponse, header: W.ResponseHeader): W.DeleteRangeResponse {
  const out: W.DeleteRangeResponse = { header };
  if (r.deleted) out.deleted = String(r.deleted);
  if (r.prevKvs.length > 0) out.prev_kvs = r.prevKvs.map(encodeKv);
  return out;
}

/** Ops inside a txn answer a header with the revision only; a nested txn's own header is
 *  empty (etcd 3.4 does so), while the ops inside it carry the revision again. */
export function encodeTxn(r: TxnResponse, header: W.ResponseHeader): W.TxnResponse {
  const out: W.TxnResponse = { header };
  if (r.succeeded) out.succeeded = true;
  if (r.responses.length > 0) out.responses = r.responses.map(encodeResponseOp);
  return out;
}

function encodeResponseOp(op: ResponseOp): W.ResponseOp {
  switch (op.type) {
    case "range":
      return { response_range: encodeRange(op.response, encodeHeaderRevision(op.response.revision)) };
    case "put":
      return { response_put: encodePut(op.response, encodeHeaderRevision(op.response.revision)) };
    case "deleteRange":
      return { response_delete_range: encodeDeleteRange(op.response, encodeHeaderRevision(op.response.revision)) };
    case "txn":
      return { response_txn: encodeTxn(op.response, {}) };
  }
}

function encodeHeaderRevision(revision: number): W.ResponseHeader {
  return revision ? { revision: String(revision) } : {};
}

export function encodeEvent(ev: WatchEvent): W.WatchEventWire {
  // PUT is the enum's zero value: etcd leaves `type` out.
  const out: W.WatchEventWire = ev.type === "DELETE" ? { type: "DELETE", kv: encodeKv(ev.kv) } : { kv: encodeKv(ev.kv) };
  if (ev.prevKv) out.prev_kv = encodeKv(ev.prevKv);
  return out;
}

function hostForUrl(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

export function encodeMember(m: MemberInfo): W.Member {
  const out: W.Member = {
    ID: m.id,
    name: m.name,
    peerURLs: [`http://${hostForUrl(m.host)}:${m.raftPort}`],
    clientURLs: [`http://${hostForUrl(m.host)}:${m.clientPort}`],
  };
  if (m.isLearner) out.isLearner = true;
  return out;
}
