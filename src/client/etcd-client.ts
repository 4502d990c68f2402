// A client of etcd v3's JSON gateway, as served by etcd 3.4 and by a Pinsetter
// master's clientPort (ARCHITECTURE.md section 4). Used by pinctl kv, the
// conformance suite, the chaos tests and the store benchmarks.
//
// The one thing callers must get right is EtcdError.outcome: 'failed' means the
// request was certainly not applied (nothing was sent, or the server answered
// 4xx); 'unknown' means it may have been (5xx, timeout or connection lost
// after the request went out). The linearizability checker relies on it.

import http from "node:http";
import type { Logger } from "pino";
import {
  EtcdPath,
  GrpcCode,
  type CompareResult,
  type ErrorBody,
  type Int64Input,
  type KeyValue as WireKeyValue,
  type Member as WireMember,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  type SortOrder,
  type SortTarget,
  type StreamError,
  type StreamLine,
  type WatchEventWire,
  type WatchFilter,
  type WatchResponse,
} from "./etcd-types.js";
import type * as W from "./etcd-types.js";

// ---------------------------------------------------------------- options

export interface EtcdClientOptions {
  /** Base URLs such as http://127.0.0.11:2379, tried in turn. */
  endpoints: string[];
  /** Sent as `Authorization: Bearer <token>`. Leave unset for a cluster
   *  without auth: etcd 3.4 then refuses any Authorization header. */
  token?: string;
  /** Local address to dial from (each master/node has its own 127.0.0.x). */
  localAddress?: string;
  /** Time for one attempt once connected, until the whole answer is in. */
  timeoutMs?: number;
  /** Time to establish a TCP connection before trying the next endpoint. */
  connectTimeoutMs?: number;
  /** Cap on concurrent sockets per endpoint (watches hold one each). */
  maxSocketsPerEndpoint?: number;
  logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_MAX_SOCKETS = 256;
/** A streamed line longer than this is a protocol error, not a reason to grow. */
const MAX_STREAM_LINE_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------- decoded types

/** Keys and values are accepted as UTF-8 strings or raw bytes. */
export type Bytes = string | Uint8Array;

export interface Header {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

export interface KeyValue {
  key: string;
  value: string;
  keyBytes: Buffer;
  valueBytes: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease ID, "0" when none. */
  lease: string;
}

export interface RangeOptions {
  /** Explicit [key, rangeEnd). */
  rangeEnd?: Bytes;
  /** Every key that starts with `key`. */
  prefix?: boolean;
  /** Every key >= `key`. */
  fromKey?: boolean;
  limit?: number;
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeResult {
  header: Header;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutOptions {
  lease?: string;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResult {
  header: Header;
  /** The revision this put created (header.revision). */
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteOptions {
  rangeEnd?: Bytes;
  prefix?: boolean;
  fromKey?: boolean;
  prevKv?: boolean;
}

export interface DeleteResult {
  header: Header;
  /** The revision this delete created; unchanged when nothing was deleted. */
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

interface CompareBase {
  key: Bytes;
  rangeEnd?: Bytes;
  prefix?: boolean;
  /** Defaults to EQUAL. */
  result?: CompareResult;
}

export type TxnCompare = CompareBase &
  (
    | { target: "VALUE"; value: Bytes }
    | { target: "VERSION"; version: number }
    | { target: "CREATE"; createRevision: number }
    | { target: "MOD"; modRevision: number }
    | { target: "LEASE"; lease: string }
  );

export type TxnOp =
  | { range: { key: Bytes } & RangeOptions }
  | { put: { key: Bytes; value: Bytes } & PutOptions }
  | { deleteRange: { key: Bytes } & DeleteOptions }
  | { txn: TxnSpec };

export interface TxnSpec {
  compare?: TxnCompare[];
  success?: TxnOp[];
  failure?: TxnOp[];
}

export type TxnOpResult =
  | { type: "range"; range: RangeResult }
  | { type: "put"; put: PutResult }
  | { type: "deleteRange"; deleteRange: DeleteResult }
  | { type: "txn"; txn: TxnResult };

export interface TxnResult {
  header: Header;
  revision: number;
  succeeded: boolean;
  responses: TxnOpResult[];
}

export interface WatchOptions {
  prefix?: boolean;
  rangeEnd?: Bytes;
  /** Inclusive. Unset: from now. */
  startRevision?: number;
  prevKv?: boolean;
  progressNotify?: boolean;
  filters?: WatchFilter[];
  /** Called for responses that carry no events (progress notifications). */
  onProgress?: (header: Header) => void;
}

export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  prevKv?: KeyValue;
}

export type WatchEndReason =
  | { reason: "cancelled" }
  | { reason: "compacted"; compactRevision: number }
  | { reason: "server-canceled"; message: string }
  | { reason: "error"; error: Error };

/** How a watch ended, and the revision to resume from without a gap. */
export type WatchEnd = WatchEndReason & { nextRevision: number };

export interface Watcher {
  /** Resolves with the creation header, or null if the watch ended first. */
  created: Promise<Header | null>;
  /** Never rejects. */
  done: Promise<WatchEnd>;
  cancel(): void;
}

export interface LeaseGrantResult {
  header: Header;
  id: string;
  ttl: number;
}

export interface LeaseKeepAliveResult {
  header: Header;
  id: string;
  ttl: number;
}

export interface LeaseTimeToLiveResult {
  header: Header;
  id: string;
  /** Remaining seconds; -1 when the lease does not exist (expired, revoked). */
  ttl: number;
  grantedTtl: number;
  keys: string[];
  keyBytes: Buffer[];
}

export interface Member {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberListResult {
  header: Header;
  members: Member[];
}

export interface StatusResult {
  header: Header;
  version: string;
  dbSize: number;
  dbSizeInUse: number;
  /** Leader's member ID, "0" when none. */
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  isLearner: boolean;
  errors: string[];
}

// ---------------------------------------------------------------- errors

export type Outcome = "failed" | "unknown";

export type EtcdErrorKind =
  /** The server answered with an error status. */
  | "http"
  /** No endpoint accepted a connection; nothing was sent. */
  | "connect"
  /** No full answer within timeoutMs after the request went out. */
  | "timeout"
  /** The connection broke after the request went out. */
  | "connection-lost"
  /** The answer could not be understood. */
  | "protocol";

export class EtcdError extends Error {
  override readonly name = "EtcdError";
  readonly kind: EtcdErrorKind;
  readonly outcome: Outcome;
  readonly httpStatus: number | undefined;
  readonly grpcCode: number | undefined;
  readonly endpoint: string | undefined;
  readonly path: string;

  constructor(init: {
    message: string;
    kind: EtcdErrorKind;
    outcome: Outcome;
    path: string;
    endpoint?: string;
    httpStatus?: number;
    grpcCode?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.outcome = init.outcome;
    this.path = init.path;
    this.endpoint = init.endpoint;
    this.httpStatus = init.httpStatus;
    this.grpcCode = init.grpcCode;
  }

  /** A read or watch at a revision that compaction removed. */
  get compacted(): boolean {
    return this.grpcCode === GrpcCode.OutOfRange && /compacted/.test(this.message);
  }

  get notFound(): boolean {
    return this.grpcCode === GrpcCode.NotFound;
  }
}

/** gRPC codes after which a request may or may not have been applied. */
const AMBIGUOUS_CODES: ReadonlySet<number> = new Set([
  GrpcCode.Canceled,
  GrpcCode.Unknown,
  GrpcCode.DeadlineExceeded,
  GrpcCode.Internal,
  GrpcCode.Unavailable,
  GrpcCode.DataLoss,
]);

/**
 * Whether an error answer means "not applied". 4xx says so, except 408, which
 * grpc-gateway uses for code 1 (Canceled): the server gave up waiting, which
 * says nothing about the write. 5xx (503 code 14, 504 code 4, 500) may have
 * been applied. Ambiguous gRPC codes win over the status, whatever it is.
 */
export function classifyHttpError(httpStatus: number, grpcCode: number | undefined): Outcome {
  if (grpcCode !== undefined && AMBIGUOUS_CODES.has(grpcCode)) return "unknown";
  if (httpStatus === 408) return "unknown";
  if (httpStatus >= 400 && httpStatus < 500) return "failed";
  return "unknown";
}

// ---------------------------------------------------------------- codecs

function toBuffer(b: Bytes): Buffer {
  return typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function b64(b: Bytes): string {
  return toBuffer(b).toString("base64");
}

const ZERO_BYTE = Buffer.from([0]);

/** The smallest key greater than every key that starts with `prefix`. */
export function prefixEnd(prefix: Bytes): Buffer {
  const end = Buffer.from(toBuffer(prefix));
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): no upper bound, "\0" means "to the end of the keyspace".
  return ZERO_BYTE;
}

/** [key, range_end) on the wire for the range-selecting options. */
function keyRange(key: Bytes, o: { rangeEnd?: Bytes; prefix?: boolean; fromKey?: boolean }): {
  key: string;
  range_end?: string;
} {
  let k = toBuffer(key);
  if (o.prefix) {
    // An empty prefix means every key; the empty key itself is invalid on the wire.
    if (k.length === 0) return { key: ZERO_BYTE.toString("base64"), range_end: ZERO_BYTE.toString("base64") };
    return { key: k.toString("base64"), range_end: prefixEnd(k).toString("base64") };
  }
  if (o.fromKey) {
    if (k.length === 0) k = ZERO_BYTE;
    return { key: k.toString("base64"), range_end: ZERO_BYTE.toString("base64") };
  }
  if (o.rangeEnd !== undefined) return { key: k.toString("base64"), range_end: b64(o.rangeEnd) };
  return { key: k.toString("base64") };
}

/** Absent means zero. Also accepts numbers, in case a server sends them. */
function int(v: string | number | undefined): number {
  if (v === undefined) return 0;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n)) throw new TypeError(`not an integer: ${String(v)}`);
  return n;
}

/** IDs stay decimal strings: they do not fit in a double. */
function id(v: string | number | undefined): string {
  return v === undefined ? "0" : String(v);
}

function decodeHeader(h: ResponseHeader | undefined): Header {
  return {
    clusterId: id(h?.cluster_id),
    memberId: id(h?.member_id),
    revision: int(h?.revision),
    raftTerm: int(h?.raft_term),
  };
}

function decodeKv(kv: WireKeyValue): KeyValue {
  const keyBytes = Buffer.from(kv.key ?? "", "base64");
  const valueBytes = Buffer.from(kv.value ?? "", "base64");
  return {
    key: keyBytes.toString("utf8"),
    value: valueBytes.toString("utf8"),
    keyBytes,
    valueBytes,
    createRevision: int(kv.create_revision),
    modRevision: int(kv.mod_revision),
    version: int(kv.version),
    lease: id(kv.lease),
  };
}

function decodeRange(r: W.RangeResponse): RangeResult {
  return { header: decodeHeader(r.header), kvs: (r.kvs ?? []).map(decodeKv), more: r.more ?? false, count: int(r.count) };
}

function decodePut(r: W.PutResponse): PutResult {
  const header = decodeHeader(r.header);
  const out: PutResult = { header, revision: header.revision };
  if (r.prev_kv) out.prevKv = decodeKv(r.prev_kv);
  return out;
}

function decodeDelete(r: W.DeleteRangeResponse): DeleteResult {
  const header = decodeHeader(r.header);
  return { header, revision: header.revision, deleted: int(r.deleted), prevKvs: (r.prev_kvs ?? []).map(decodeKv) };
}

function decodeTxn(r: W.TxnResponse): TxnResult {
  const header = decodeHeader(r.header);
  return {
    header,
    revision: header.revision,
    succeeded: r.succeeded ?? false,
    responses: (r.responses ?? []).map(decodeResponseOp),
  };
}

function decodeResponseOp(op: ResponseOp): TxnOpResult {
  if ("response_range" in op) return { type: "range", range: decodeRange(op.response_range) };
  if ("response_put" in op) return { type: "put", put: decodePut(op.response_put) };
  if ("response_delete_range" in op) return { type: "deleteRange", deleteRange: decodeDelete(op.response_delete_range) };
  if ("response_txn" in op) return { type: "txn", txn: decodeTxn(op.response_txn) };
  throw new TypeError(`unknown txn response op: ${JSON.stringify(op)}`);
}

function decodeEvent(e: WatchEventWire): WatchEvent {
  // PUT is the enum's zero value, so the gateway leaves `type` out for puts.
  const t = e.type as string | number | undefined;
  const type = t === "DELETE" || t === 1 ? "DELETE" : "PUT";
  const ev: WatchEvent = { type, kv: decodeKv(e.kv ?? {}) };
  if (e.prev_kv) ev.prevKv = decodeKv(e.prev_kv);
  return ev;
}

function decodeMember(m: WireMember): Member {
  return {
    id: id(m.ID),
    name: m.name ?? "",
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: m.isLearner ?? false,
  };
}

function encodeRange(key: Bytes, o: RangeOptions): W.RangeRequest {
  const req: W.RangeRequest = keyRange(key, o);
  if (o.limit) req.limit = String(o.limit);
  if (o.revision) req.revision = String(o.revision);
  if (o.sortOrder) req.sort_order = o.sortOrder;
  if (o.sortTarget) req.sort_target = o.sortTarget;
  if (o.serializable) req.serializable = true;
  if (o.keysOnly) req.keys_only = true;
  if (o.countOnly) req.count_only = true;
  return req;
}

function encodePut(key: Bytes, value: Bytes, o: PutOptions): W.PutRequest {
  const req: W.PutRequest = { key: b64(key), value: b64(value) };
  if (o.lease && o.lease !== "0") req.lease = o.lease;
  if (o.prevKv) req.prev_kv = true;
  if (o.ignoreValue) req.ignore_value = true;
  if (o.ignoreLease) req.ignore_lease = true;
  return req;
}

function encodeDelete(key: Bytes, o: DeleteOptions): W.DeleteRangeRequest {
  const req: W.DeleteRangeRequest = keyRange(key, o);
  if (o.prevKv) req.prev_kv = true;
  return req;
}

function encodeCompare(c: TxnCompare): W.Compare {
  const r = keyRange(c.key, { rangeEnd: c.rangeEnd, prefix: c.prefix });
  const out: W.Compare = { key: r.key, result: c.result ?? "EQUAL", target: c.target };
  if (r.range_end !== undefined) out.range_end = r.range_end;
  switch (c.target) {
    case "VALUE":
      out.value = b64(c.value);
      break;
    case "VERSION":
      out.version = String(c.version);
      break;
    case "CREATE":
      out.create_revision = String(c.createRevision);
      break;
    case "MOD":
      out.mod_revision = String(c.modRevision);
      break;
    case "LEASE":
      out.lease = c.lease;
      break;
    default: {
      const never: never = c;
      throw new TypeError(`unknown compare target: ${JSON.stringify(never)}`);
    }
  }
  return out;
}

function encodeOp(op: TxnOp): RequestOp {
  if ("range" in op) return { request_range: encodeRange(op.range.key, op.range) };
  if ("put" in op) return { request_put: encodePut(op.put.key, op.put.value, op.put) };
  if ("deleteRange" in op) return { request_delete_range: encodeDelete(op.deleteRange.key, op.deleteRange) };
  return { request_txn: encodeTxn(op.txn) };
}

function encodeTxn(t: TxnSpec): W.TxnRequest {
  return {
    compare: (t.compare ?? []).map(encodeCompare),
    success: (t.success ?? []).map(encodeOp),
    failure: (t.failure ?? []).map(encodeOp),
  };
}

function txnIsReadOnly(t: TxnSpec): boolean {
  const ro = (op: TxnOp): boolean => "range" in op || ("txn" in op && txnIsReadOnly(op.txn));
  return (t.success ?? []).every(ro) && (t.failure ?? []).every(ro);
}

// ---------------------------------------------------------------- transport

/** A failure below HTTP. `sent` tells whether the request may have reached the server. */
class TransportError extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
    readonly kind: "connect" | "timeout" | "connection-lost",
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface OpenedStream {
  endpoint: string;
  req: http.ClientRequest;
  res: http.IncomingMessage;
}

interface CallOptions {
  /** Safe to send again elsewhere even if it may have been applied. */
  idempotent: boolean;
}

interface SharedState {
  agent: http.Agent;
  watches: Set<() => void>;
  closed: boolean;
}

export class EtcdClient {
  readonly endpoints: readonly string[];
  private readonly token: string | undefined;
  private readonly localAddress: string | undefined;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly shared: SharedState;
  private readonly ownsAgent: boolean;
  /** Index of the endpoint that answered last; calls start there. */
  private current = 0;

  constructor(opts: EtcdClientOptions, shared?: SharedState) {
    if (opts.endpoints.length === 0) throw new TypeError("EtcdClient: endpoints must not be empty");
    for (const e of opts.endpoints) {
      const u = new URL(e);
      if (u.protocol !== "http:") throw new TypeError(`EtcdClient: only http:// endpoints are supported, got ${e}`);
    }
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.token = opts.token;
    this.localAddress = opts.localAddress;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.connectTimeoutMs = Math.min(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, this.timeoutMs);
    this.logger = opts.logger?.child({ component: "etcd-client" });
    this.ownsAgent = shared === undefined;
    this.shared = shared ?? {
      agent: new http.Agent({ keepAlive: true, maxSockets: opts.maxSocketsPerEndpoint ?? DEFAULT_MAX_SOCKETS }),
      watches: new Set(),
      closed: false,
    };
  }

  /** A client with the same settings and connection pool that talks only to `endpoints`. */
  withEndpoints(endpoints: string[]): EtcdClient {
    return new EtcdClient(
      {
        endpoints,
        token: this.token,
        localAddress: this.localAddress,
        timeoutMs: this.timeoutMs,
        connectTimeoutMs: this.connectTimeoutMs,
        logger: this.logger,
      },
      this.shared,
    );
  }

  /** Cancels every watch and closes pooled connections (of the client that made the pool). */
  close(): void {
    if (!this.ownsAgent) return;
    this.shared.closed = true;
    for (const cancel of [...this.shared.watches]) cancel();
    this.shared.agent.destroy();
  }

  // ------------------------------------------------------------ KV

  async range(key: Bytes, opts: RangeOptions = {}): Promise<RangeResult> {
    const r = await this.request<W.RangeResponse>(EtcdPath.range, encodeRange(key, opts), { idempotent: true });
    return decodeRange(r);
  }

  /** The value of `key` as a string, or undefined when absent. */
  async get(key: Bytes, opts: { revision?: number; serializable?: boolean } = {}): Promise<string | undefined> {
    return (await this.getKv(key, opts))?.value;
  }

  async getKv(key: Bytes, opts: { revision?: number; serializable?: boolean } = {}): Promise<KeyValue | undefined> {
    const r = await this.range(key, opts);
    return r.kvs[0];
  }

  /** Every key under `prefix`, in key order. */
  async getPrefix(prefix: Bytes, opts: Omit<RangeOptions, "prefix" | "rangeEnd" | "fromKey"> = {}): Promise<KeyValue[]> {
    return (await this.range(prefix, { ...opts, prefix: true })).kvs;
  }

  async put(key: Bytes, value: Bytes, opts: PutOptions = {}): Promise<PutResult> {
    const r = await this.request<W.PutResponse>(EtcdPath.put, encodePut(key, value, opts), { idempotent: false });
    return decodePut(r);
  }

  async deleteRange(key: Bytes, opts: DeleteOptions = {}): Promise<DeleteResult> {
    const r = await this.request<W.DeleteRangeResponse>(EtcdPath.deleteRange, encodeDelete(key, opts), {
      idempotent: false,
    });
    return decodeDelete(r);
  }

  /** Deletes `key` (or every key under it with prefix) and returns how many went. */
  async del(key: Bytes, opts: { prefix?: boolean } = {}): Promise<number> {
    return (await this.deleteRange(key, opts)).deleted;
  }

  async txn(spec: TxnSpec): Promise<TxnResult> {
    const r = await this.request<W.TxnResponse>(EtcdPath.txn, encodeTxn(spec), { idempotent: txnIsReadOnly(spec) });
    return decodeTxn(r);
  }

  async compact(revision: number, opts: { physical?: boolean } = {}): Promise<Header> {
    const body: W.CompactionRequest = { revision: String(revision) };
    if (opts.physical) body.physical = true;
    const r = await this.request<W.CompactionResponse>(EtcdPath.compaction, body, { idempotent: false });
    return decodeHeader(r.header);
  }

  // ------------------------------------------------------------ leases

  async leaseGrant(ttlSeconds: number, leaseId?: string): Promise<LeaseGrantResult> {
    const body: W.LeaseGrantRequest = { TTL: String(ttlSeconds) };
    if (leaseId !== undefined) body.ID = leaseId;
    const r = await this.request<W.LeaseGrantResponse>(EtcdPath.leaseGrant, body, { idempotent: false });
    if (r.error) {
      throw new EtcdError({ message: r.error, kind: "http", outcome: "failed", path: EtcdPath.leaseGrant, httpStatus: 200 });
    }
    return { header: decodeHeader(r.header), id: id(r.ID), ttl: int(r.TTL) };
  }

  async leaseRevoke(leaseId: string): Promise<Header> {
    const body: W.LeaseRevokeRequest = { ID: leaseId };
    const r = await this.request<W.LeaseRevokeResponse>(EtcdPath.leaseRevoke, body, { idempotent: false });
    return decodeHeader(r.header);
  }

  /**
   * One keepalive. etcd answers an unknown or expired lease with 200 and TTL 0;
   * like etcd's Go client this turns that into a NotFound EtcdError.
   */
  async leaseKeepAliveOnce(leaseId: string): Promise<LeaseKeepAliveResult> {
    const body: W.LeaseKeepAliveRequest = { ID: leaseId };
    const r = await this.streamFirst<W.LeaseKeepAliveResponse>(EtcdPath.leaseKeepAlive, body);
    const ttl = int(r.TTL);
    if (ttl <= 0) {
      throw new EtcdError({
        message: "etcdserver: requested lease not found",
        kind: "http",
        outcome: "failed",
        path: EtcdPath.leaseKeepAlive,
        httpStatus: 200,
        grpcCode: GrpcCode.NotFound,
      });
    }
    return { header: decodeHeader(r.header), id: id(r.ID), ttl };
  }

  async leaseTimeToLive(leaseId: string, opts: { keys?: boolean } = {}): Promise<LeaseTimeToLiveResult> {
    const body: W.LeaseTimeToLiveRequest = { ID: leaseId };
    if (opts.keys) body.keys = true;
    const r = await this.request<W.LeaseTimeToLiveResponse>(EtcdPath.leaseTimeToLive, body, { idempotent: true });
    const keyBytes = (r.keys ?? []).map((k) => Buffer.from(k, "base64"));
    return {
      header: decodeHeader(r.header),
      id: id(r.ID),
      ttl: int(r.TTL),
      grantedTtl: int(r.grantedTTL),
      keys: keyBytes.map((k) => k.toString("utf8")),
      keyBytes,
    };
  }

  // ------------------------------------------------------------ cluster and maintenance

  async memberList(opts: { linearizable?: boolean } = {}): Promise<MemberListResult> {
    const body: W.MemberListRequest = opts.linearizable ? { linearizable: true } : {};
    const r = await this.request<W.MemberListResponse>(EtcdPath.memberList, body, { idempotent: true });
    return { header: decodeHeader(r.header), members: (r.members ?? []).map(decodeMember) };
  }

  async memberAdd(peerURLs: string[], opts: { isLearner?: boolean } = {}): Promise<{ header: Header; member: Member; members: Member[] }> {
    const body: W.MemberAddRequest = { peerURLs };
    if (opts.isLearner) body.isLearner = true;
    const r = await this.request<W.MemberAddResponse>(EtcdPath.memberAdd, body, { idempotent: false });
    return { header: decodeHeader(r.header), member: decodeMember(r.member ?? {}), members: (r.members ?? []).map(decodeMember) };
  }

  async memberRemove(memberId: string): Promise<MemberListResult> {
    const body: W.MemberRemoveRequest = { ID: memberId };
    const r = await this.request<W.MemberRemoveResponse>(EtcdPath.memberRemove, body, { idempotent: false });
    return { header: decodeHeader(r.header), members: (r.members ?? []).map(decodeMember) };
  }

  async memberPromote(memberId: string): Promise<MemberListResult> {
    const body: W.MemberPromoteRequest = { ID: memberId };
    const r = await this.request<W.MemberPromoteResponse>(EtcdPath.memberPromote, body, { idempotent: false });
    return { header: decodeHeader(r.header), members: (r.members ?? []).map(decodeMember) };
  }

  /** Status of the first endpoint that answers (use withEndpoints to pick one). */
  async status(): Promise<StatusResult> {
    const r = await this.request<W.StatusResponse>(EtcdPath.status, {}, { idempotent: true });
    return {
      header: decodeHeader(r.header),
      version: r.version ?? "",
      dbSize: int(r.dbSize),
      dbSizeInUse: int(r.dbSizeInUse),
      leader: id(r.leader),
      raftIndex: int(r.raftIndex),
      raftTerm: int(r.raftTerm),
      raftAppliedIndex: int(r.raftAppliedIndex),
      isLearner: r.isLearner ?? false,
      errors: r.errors ?? [],
    };
  }

  // ------------------------------------------------------------ watch

  /**
   * Streams changes of `key` (or a range of keys) from POST /v3/watch. The
   * request body is one create_request; the answer stays open and carries one
   * `{"result": ...}` object per line. Connection failures before the stream
   * opens move on to the next endpoint; after that the watch ends, and `done`
   * says from which revision to start again.
   */
  watch(key: Bytes, opts: WatchOptions, onEvent: (event: WatchEvent, header: Header) => void): Watcher {
    const create: W.WatchCreateRequest = keyRange(key, opts);
    if (opts.startRevision) create.start_revision = String(opts.startRevision);
    if (opts.prevKv) create.prev_kv = true;
    if (opts.progressNotify) create.progress_notify = true;
    if (opts.filters && opts.filters.length > 0) create.filters = opts.filters;
    const body: W.WatchRequest = { create_request: create };

    let nextRevision = opts.startRevision ?? 0;
    let ended = false;
    let stream: OpenedStream | undefined;
    let resolveCreated!: (h: Header | null) => void;
    let resolveDone!: (e: WatchEnd) => void;
    const created = new Promise<Header | null>((r) => (resolveCreated = r));
    const done = new Promise<WatchEnd>((r) => (resolveDone = r));

    const end = (why: WatchEndReason): void => {
      if (ended) return;
      ended = true;
      this.shared.watches.delete(cancel);
      stream?.req.destroy();
      resolveCreated(null);
      resolveDone({ ...why, nextRevision });
    };
    const cancel = (): void => end({ reason: "cancelled" });
    this.shared.watches.add(cancel);

    const onResult = (r: WatchResponse): void => {
      const header = decodeHeader(r.header);
      if (r.canceled) {
        const compactRevision = int(r.compact_revision);
        if (compactRevision > 0) end({ reason: "compacted", compactRevision });
        else end({ reason: "server-canceled", message: r.cancel_reason ?? "watch canceled by server" });
        return;
      }
      if (r.created) {
        // Without a start revision the watch begins after the creation revision.
        if (!opts.startRevision) nextRevision = header.revision + 1;
        resolveCreated(header);
      }
      const events = r.events ?? [];
      for (const e of events) {
        if (ended) return;
        const ev = decodeEvent(e);
        nextRevision = Math.max(nextRevision, ev.kv.modRevision + 1);
        onEvent(ev, header);
      }
      if (events.length === 0 && !r.created && !ended) {
        // A progress notification: every change up to header.revision was sent.
        nextRevision = Math.max(nextRevision, header.revision + 1);
        opts.onProgress?.(header);
      }
    };

    const path = EtcdPath.watch;
    this.openStream(path, body)
      .then((s) => {
        stream = s;
        if (ended) {
          s.req.destroy();
          return;
        }
        readLines<WatchResponse>(
          s,
          path,
          (line) => {
            try {
              if (line.error) end({ reason: "error", error: streamErrorToEtcdError(line.error, path, s) });
              else onResult(line.result);
            } catch (err) {
              // A throwing onEvent is the caller's bug; end the watch and hand the error back.
              end({ reason: "error", error: err instanceof Error ? err : new Error(String(err)) });
            }
          },
          (err) => end({ reason: "error", error: err }),
        );
      })
      .catch((err: unknown) => end({ reason: "error", error: err instanceof Error ? err : new Error(String(err)) }));

    return { created, done, cancel };
  }

  // ------------------------------------------------------------ raw calls

  /**
   * POSTs `body` to `path` and returns the decoded JSON answer. Tries the next
   * endpoint when nothing was sent (connection refused, connect timeout), and
   * for idempotent calls also after ambiguous failures.
   */
  async request<T>(path: string, body: unknown, opts: CallOptions): Promise<T> {
    const payload = JSON.stringify(body);
    let lastError: EtcdError | undefined;
    let anySent = false;
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.current + i) % this.endpoints.length;
      const endpoint = this.endpoints[idx]!;
      let status: number;
      let text: string;
      try {
        ({ status, text } = await this.exchange(endpoint, path, payload));
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        anySent ||= err.sent;
        lastError = transportToEtcdError(err, path, endpoint, anySent);
        if (err.sent && !opts.idempotent) throw lastError;
        this.logger?.debug({ endpoint, path, err: err.message }, "etcd endpoint failed, trying the next");
        continue;
      }
      if (status === 200) {
        this.current = idx;
        try {
          return JSON.parse(text) as T;
        } catch (err) {
          throw new EtcdError({
            message: `invalid JSON from ${endpoint}${path}: ${text.slice(0, 200)}`,
            kind: "protocol",
            outcome: "unknown",
            path,
            endpoint,
            httpStatus: status,
            cause: err,
          });
        }
      }
      anySent = true;
      const e = httpError(status, text, path, endpoint);
      // A read may go elsewhere when this member cannot serve it (no leader...).
      if (opts.idempotent && e.outcome === "unknown") {
        lastError = e;
        this.logger?.debug({ endpoint, path, status, err: e.message }, "etcd read failed, trying the next endpoint");
        continue;
      }
      this.current = idx;
      throw e;
    }
    throw lastError ?? new EtcdError({ message: "no endpoint", kind: "connect", outcome: "failed", path });
  }

  private connectionOptions(endpoint: string, path: string, payload: string): http.RequestOptions {
    const u = new URL(endpoint);
    const headers: http.OutgoingHttpHeaders = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(payload),
    };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const o: http.RequestOptions = {
      host: u.hostname,
      port: u.port === "" ? 80 : Number(u.port),
      method: "POST",
      path,
      headers,
      agent: this.shared.agent,
    };
    if (this.localAddress !== undefined) o.localAddress = this.localAddress;
    return o;
  }

  /**
   * Sends one request and resolves when the response headers are in. The
   * request counts as sent once the socket is connected: from then on the
   * server may have acted on it.
   */
  private dial(
    endpoint: string,
    path: string,
    payload: string,
    onResponse: (req: http.ClientRequest, res: http.IncomingMessage, fail: (e: TransportError) => void) => void,
    onFail: (e: TransportError) => void,
    timeout: { ms: number; until: "end" | "headers" },
  ): void {
    if (this.shared.closed) {
      onFail(new TransportError("client closed", false, "connect", undefined));
      return;
    }
    let sent = false;
    let finished = false;
    const timers: NodeJS.Timeout[] = [];
    const clear = (): void => timers.forEach(clearTimeout);
    const fail = (e: TransportError): void => {
      if (finished) return;
      finished = true;
      clear();
      req.destroy();
      onFail(e);
    };
    const req = http.request(this.connectionOptions(endpoint, path, payload));
    req.on("socket", (s) => {
      if (s.connecting) s.once("connect", () => (sent = true));
      else sent = true;
    });
    timers.push(
      setTimeout(() => {
        if (!sent) fail(new TransportError(`connect to ${endpoint} timed out after ${this.connectTimeoutMs} ms`, false, "connect", "ETIMEDOUT"));
      }, this.connectTimeoutMs),
    );
    timers.push(
      setTimeout(
        () => fail(new TransportError(`${endpoint}${path} timed out after ${timeout.ms} ms`, sent, sent ? "timeout" : "connect", "ETIMEDOUT")),
        timeout.ms,
      ),
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      fail(new TransportError(`${endpoint}${path}: ${err.message}`, sent, sent ? "connection-lost" : "connect", err.code));
    });
    req.on("response", (res) => {
      if (finished) {
        res.resume();
        return;
      }
      // A stream may then stay quiet for hours; its reader owns it from here.
      if (timeout.until === "headers") clear();
      onResponse(req, res, (e) => {
        if (finished) return;
        finished = true;
        clear();
        req.destroy();
        onFail(e);
      });
      res.once("end", () => {
        finished = true;
        clear();
      });
    });
    req.end(payload);
  }

  /** One unary exchange with one endpoint. */
  private exchange(endpoint: string, path: string, payload: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      this.dial(
        endpoint,
        path,
        payload,
        (_req, res, fail) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (err: NodeJS.ErrnoException) => fail(new TransportError(`${endpoint}${path}: ${err.message}`, true, "connection-lost", err.code)));
          res.on("aborted", () => fail(new TransportError(`${endpoint}${path}: response aborted`, true, "connection-lost", "ECONNRESET")));
        },
        reject,
        { ms: this.timeoutMs, until: "end" },
      );
    });
  }

  /**
   * Opens a streamed answer (watch, keepalive): the first endpoint that accepts
   * a connection and answers 200. Anything but 200 is thrown as an EtcdError.
   */
  private async openStream(path: string, body: unknown): Promise<OpenedStream> {
    const payload = JSON.stringify(body);
    let lastError: EtcdError | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.current + i) % this.endpoints.length;
      const endpoint = this.endpoints[idx]!;
      try {
        const s = await new Promise<OpenedStream>((resolve, reject) => {
          this.dial(
            endpoint,
            path,
            payload,
            (req, res) => {
              req.setTimeout(0);
              resolve({ endpoint, req, res });
            },
            reject,
            { ms: this.timeoutMs, until: "headers" },
          );
        });
        if (s.res.statusCode === 200) {
          this.current = idx;
          return s;
        }
        const text = await readAll(s.res).catch(() => "");
        s.req.destroy();
        throw httpError(s.res.statusCode ?? 0, text, path, endpoint);
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastError = transportToEtcdError(err, path, endpoint, err.sent);
        // Opening a watch or a keepalive twice is harmless, so any transport failure moves on.
        this.logger?.debug({ endpoint, path, err: err.message }, "etcd stream failed to open, trying the next endpoint");
      }
    }
    throw lastError ?? new EtcdError({ message: "no endpoint", kind: "connect", outcome: "failed", path });
  }

  /** The first `result` of a streamed answer; the stream is closed afterwards. */
  private async streamFirst<T>(path: string, body: unknown): Promise<T> {
    const s = await this.openStream(path, body);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // etcd keeps the stream open for more requests: close it ourselves.
        s.req.destroy();
        f();
      };
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(new EtcdError({ message: `${path}: no answer within ${this.timeoutMs} ms`, kind: "timeout", outcome: "unknown", path })),
          ),
        this.timeoutMs,
      );
      readLines<T>(
        s,
        path,
        (line) =>
          settle(() => {
            if (line.error) reject(streamErrorToEtcdError(line.error, path, s));
            else resolve(line.result);
          }),
        (err) => settle(() => reject(err)),
      );
    });
  }
}

// ---------------------------------------------------------------- helpers

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

/**
 * Splits a streamed answer into JSON lines. Calls onEnd once when the stream
 * ends or breaks (not when the caller destroyed the request first).
 */
function readLines<T>(s: OpenedStream, path: string, onLine: (line: StreamLine<T>) => void, onEnd: (err: EtcdError) => void): void {
  const { req, res } = s;
  let buf = "";
  let over = false;
  const finish = (err: EtcdError): void => {
    if (over) return;
    over = true;
    onEnd(err);
  };
  const endpoint = s.endpoint;
  /** Returns false when the stream should not be read further. */
  const handle = (raw: string): boolean => {
    const line = raw.trim();
    if (line === "") return true;
    let parsed: StreamLine<T>;
    try {
      parsed = JSON.parse(line) as StreamLine<T>;
    } catch (err) {
      finish(new EtcdError({ message: `${path}: invalid stream line: ${line.slice(0, 200)}`, kind: "protocol", outcome: "unknown", path, endpoint, cause: err }));
      req.destroy();
      return false;
    }
    onLine(parsed);
    return !over && !req.destroyed;
  };
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    if (over) return;
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!handle(line)) return;
    }
    if (buf.length > MAX_STREAM_LINE_BYTES) {
      finish(new EtcdError({ message: `${path}: stream line over ${MAX_STREAM_LINE_BYTES} bytes`, kind: "protocol", outcome: "unknown", path, endpoint }));
      req.destroy();
    }
  });
  const lost = (why: string): void => {
    finish(new EtcdError({ message: `${path}: stream from ${endpoint} ${why}`, kind: "connection-lost", outcome: "unknown", path, endpoint }));
  };
  res.on("end", () => {
    // grpc-gateway writes its closing {"error": ...} chunk without a newline.
    if (!over && buf.trim() !== "" && !handle(buf)) return;
    buf = "";
    lost("ended");
  });
  res.on("aborted", () => lost("was aborted"));
  res.on("error", (err) => lost(`broke: ${err.message}`));
  res.on("close", () => lost("closed"));
}

function httpError(status: number, text: string, path: string, endpoint: string): EtcdError {
  let body: ErrorBody | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") body = parsed as ErrorBody;
  } catch {
    // Not JSON: unknown paths and methods answer text/plain.
  }
  const grpcCode = typeof body?.code === "number" ? body.code : undefined;
  const message = body?.message ?? body?.error ?? (text.trim() || `HTTP ${status}`);
  return new EtcdError({
    message,
    kind: "http",
    outcome: classifyHttpError(status, grpcCode),
    path,
    endpoint,
    httpStatus: status,
    grpcCode,
  });
}

function streamErrorToEtcdError(e: StreamError, path: string, s: OpenedStream): EtcdError {
  const httpStatus = e.http_code ?? 500;
  return new EtcdError({
    message: e.message ?? "stream error",
    kind: "http",
    outcome: classifyHttpError(httpStatus, e.grpc_code),
    path,
    endpoint: s.endpoint,
    httpStatus,
    grpcCode: e.grpc_code,
  });
}

function transportToEtcdError(e: TransportError, path: string, endpoint: string, anySent: boolean): EtcdError {
  return new EtcdError({
    message: e.message,
    kind: e.kind,
    outcome: anySent ? "unknown" : "failed",
    path,
    endpoint,
    cause: e,
  });
}

export { GrpcCode };
export type { Int64Input };
