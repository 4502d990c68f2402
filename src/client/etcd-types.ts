// Wire types of etcd 3.4's v3 JSON gateway (grpc-gateway v1 over etcdserverpb),
// as spoken on a Pinsetter master's clientPort. Everything here was checked
// against a real etcd 3.4.23 with curl; the surprises are written down inline.
//
// General rules of the gateway's JSON (jsonpb with OrigName, EmitDefaults=false):
// - Field names are the proto names (snake_case), except where the proto itself
//   uses other names (lease `ID`/`TTL`, member `peerURLs`, status `dbSize`...).
// - 64-bit integers (revisions, counts, IDs, TTLs) are emitted as JSON strings
//   ("revision":"8"). On input the gateway accepts either a string or a number;
//   clients should send strings, since IDs do not fit in a double.
// - bytes fields (keys, values, range_end) are standard base64 with padding. The
//   gateway also accepts unpadded input, but not the URL-safe alphabet
//   (`_-8` -> 400 code 3 "illegal base64 data at input byte 0").
// - Zero values are OMITTED: `count` absent means 0, `kvs` absent means [],
//   `more`/`succeeded`/`created`/`canceled`/`isLearner` absent mean false, an
//   event `type` absent means PUT (enum zero), a compare `result` absent means
//   EQUAL and `target` absent means VERSION. Even `header.revision` is absent
//   where it is 0 (member list, the cancel message of a compacted watch). Every
//   field of every response type is therefore optional here.
// - Enums are emitted as their names; on input names or numbers are accepted.
// - Unknown request fields are ignored (no error).
// - Auth: with auth DISABLED, etcd 3.4 does not ignore an Authorization header.
//   It treats any non-empty value as a token and refuses it (401 code 16
//   "etcdserver: invalid auth token") on range, put, deleterange, txn,
//   compaction, lease grant and revoke; /v3/watch answers HTTP 200 and one
//   line {created: true, canceled: true, watch_id: "-1", cancel_reason:
//   "rpc error: code = Unauthenticated ..."}. Status, member list, keepalive and
//   timetolive do not check it. So a client must send no Authorization header
//   at all to a cluster without auth.

/** A decimal 64-bit integer as the gateway emits it. Sent as string or number. */
export type Int64String = string;
/** Input form of a 64-bit integer: the gateway parses both. */
export type Int64Input = string | number;
/** Standard base64 (with padding) of raw bytes. */
export type Base64 = string;

export interface ResponseHeader {
  cluster_id?: Int64String;
  member_id?: Int64String;
  /** Store revision. For writes: the revision the write created (or the
   *  current one when the write changed nothing, e.g. deleting no key). */
  revision?: Int64String;
  raft_term?: Int64String;
}

export interface KeyValue {
  key?: Base64;
  create_revision?: Int64String;
  mod_revision?: Int64String;
  version?: Int64String;
  /** Absent for keys_only ranges and for an empty value. */
  value?: Base64;
  /** Lease ID; absent when no lease is attached. */
  lease?: Int64String;
}

// ---------------------------------------------------------------- KV

export type SortOrder = "NONE" | "ASCEND" | "DESCEND";
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

export interface RangeRequest {
  key: Base64;
  /** [key, range_end). "\0" (AAA=) means "every key >= key". */
  range_end?: Base64;
  limit?: Int64Input;
  /** Read at this past revision; <= 0 means the current one. */
  revision?: Int64Input;
  sort_order?: SortOrder;
  sort_target?: SortTarget;
  serializable?: boolean;
  keys_only?: boolean;
  count_only?: boolean;
  min_mod_revision?: Int64Input;
  max_mod_revision?: Int64Input;
  min_create_revision?: Int64Input;
  max_create_revision?: Int64Input;
}

export interface RangeResponse {
  header?: ResponseHeader;
  kvs?: KeyValue[];
  /** True when `limit` cut the result short. */
  more?: boolean;
  /** Number of keys in the range, regardless of `limit`. */
  count?: Int64String;
}

export interface PutRequest {
  key: Base64;
  value?: Base64;
  lease?: Int64Input;
  prev_kv?: boolean;
  ignore_value?: boolean;
  ignore_lease?: boolean;
}

export interface PutResponse {
  header?: ResponseHeader;
  prev_kv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Base64;
  range_end?: Base64;
  prev_kv?: boolean;
}

export interface DeleteRangeResponse {
  header?: ResponseHeader;
  /** Absent when nothing was deleted; header.revision then does not move. */
  deleted?: Int64String;
  prev_kvs?: KeyValue[];
}

export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";

/** One compare of a txn. `result` defaults to EQUAL and `target` to VERSION
 *  (enum zero values), so `{key, version: "0"}` alone means "key absent". */
export interface Compare {
  result?: CompareResult;
  target?: CompareTarget;
  key: Base64;
  range_end?: Base64;
  version?: Int64Input;
  create_revision?: Int64Input;
  mod_revision?: Int64Input;
  value?: Base64;
  lease?: Int64Input;
}

export type RequestOp =
  | { request_range: RangeRequest }
  | { request_put: PutRequest }
  | { request_delete_range: DeleteRangeRequest }
  | { request_txn: TxnRequest };

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

/** Responses of the ops inside a txn carry a header with `revision` only. */
export type ResponseOp =
  | { response_range: RangeResponse }
  | { response_put: PutResponse }
  | { response_delete_range: DeleteRangeResponse }
  | { response_txn: TxnResponse };

export interface TxnResponse {
  header?: ResponseHeader;
  /** Absent when the failure branch ran. */
  succeeded?: boolean;
  /** Absent when the branch that ran had no ops. */
  responses?: ResponseOp[];
}

export interface CompactionRequest {
  revision: Int64Input;
  /** Wait until the compaction is physically applied before answering. */
  physical?: boolean;
}

export interface CompactionResponse {
  header?: ResponseHeader;
}

// ---------------------------------------------------------------- watch

export type WatchFilter = "NOPUT" | "NODELETE";

export interface WatchCreateRequest {
  key: Base64;
  range_end?: Base64;
  /** Inclusive; absent or 0 means "from now". */
  start_revision?: Int64Input;
  progress_notify?: boolean;
  filters?: WatchFilter[];
  prev_kv?: boolean;
  watch_id?: Int64Input;
  fragment?: boolean;
}

/** The body of POST /v3/watch. The stream stays open after this body ends;
 *  more request objects may be concatenated (a second create_request gets
 *  watch_id "1", a `{"progress_request":{}}` gets a reply with watch_id "-1"). */
export type WatchRequest =
  | { create_request: WatchCreateRequest }
  | { cancel_request: { watch_id: Int64Input } }
  | { progress_request: Record<string, never> };

export type EventType = "PUT" | "DELETE";

export interface WatchEventWire {
  /** Absent for PUT: it is the enum's zero value. */
  type?: EventType;
  /** For DELETE: only key and mod_revision (the deleting revision). */
  kv?: KeyValue;
  prev_kv?: KeyValue;
}

export interface WatchResponse {
  /** header.revision is the store revision when the batch was sent, which can
   *  be above the last event's mod_revision (a catch-up batch carries many
   *  revisions). Absent (0) on the cancel message of a compacted watch. */
  header?: ResponseHeader;
  /** The first watch of a stream has id 0, so `watch_id` is normally absent. */
  watch_id?: Int64String;
  created?: boolean;
  canceled?: boolean;
  /** Set (with canceled: true) when start_revision was compacted. The stream
   *  first answers created: true, then this cancel, and then stays open. */
  compact_revision?: Int64String;
  cancel_reason?: string;
  fragment?: boolean;
  events?: WatchEventWire[];
}

/** gRPC-gateway's mid-stream error chunk, a stream line in place of `result`.
 *  Seen when the serving member shuts down under an open watch:
 *  {"error":{"grpc_code":14,"http_code":503,"message":"transport is closing",
 *  "http_status":"Service Unavailable"}}, written WITHOUT a trailing newline,
 *  then the response ends. Decoding errors in a watch request also answer
 *  HTTP 500 with code 2 (not 400 code 3 as on unary paths). */
export interface StreamError {
  grpc_code?: number;
  http_code?: number;
  message?: string;
  http_status?: string;
  details?: unknown[];
}

/** One line of a streamed answer (/v3/watch, /v3/lease/keepalive). */
export type StreamLine<T> = { result: T; error?: undefined } | { error: StreamError; result?: undefined };

// ---------------------------------------------------------------- leases

export interface LeaseGrantRequest {
  /** Seconds. A TTL below the minimum (also 0 or negative) is raised to it:
   *  etcd's minimum is ceil(1.5 * election timeout), i.e. 2 s with the
   *  default 1000 ms election timeout. Above 9e9 s: 400 code 11. */
  TTL: Int64Input;
  /** 0 or absent: the server picks one. An ID in use: 412 code 9. */
  ID?: Int64Input;
}

export interface LeaseGrantResponse {
  header?: ResponseHeader;
  ID?: Int64String;
  TTL?: Int64String;
  error?: string;
}

export interface LeaseRevokeRequest {
  ID: Int64Input;
}

/** header.revision moves only when the lease had keys. Unknown ID: 404 code 5. */
export interface LeaseRevokeResponse {
  header?: ResponseHeader;
}

/** POST /v3/lease/keepalive; answered by a stream of `{"result": ...}` lines,
 *  one per request object in the body, and the stream then stays open. */
export interface LeaseKeepAliveRequest {
  ID: Int64Input;
}

/** An unknown or expired lease is NOT an error: HTTP 200 with TTL absent (0). */
export interface LeaseKeepAliveResponse {
  header?: ResponseHeader;
  ID?: Int64String;
  TTL?: Int64String;
}

export interface LeaseTimeToLiveRequest {
  ID: Int64Input;
  keys?: boolean;
}

/** An unknown or expired lease is NOT an error: HTTP 200 with TTL "-1" and
 *  grantedTTL absent. */
export interface LeaseTimeToLiveResponse {
  header?: ResponseHeader;
  ID?: Int64String;
  TTL?: Int64String;
  grantedTTL?: Int64String;
  keys?: Base64[];
}

export interface LeaseLeasesResponse {
  header?: ResponseHeader;
  leases?: { ID?: Int64String }[];
}

// ---------------------------------------------------------------- cluster

export interface Member {
  ID?: Int64String;
  /** Absent for a member that was added but has not started yet. */
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export interface MemberListRequest {
  linearizable?: boolean;
}

/** Note: header.revision is absent (0) on every cluster response. */
export interface MemberListResponse {
  header?: ResponseHeader;
  members?: Member[];
}

export interface MemberAddRequest {
  peerURLs: string[];
  isLearner?: boolean;
}

export interface MemberAddResponse {
  header?: ResponseHeader;
  member?: Member;
  members?: Member[];
}

/** Unknown ID: 404 code 5. */
export interface MemberRemoveRequest {
  ID: Int64Input;
}

export interface MemberRemoveResponse {
  header?: ResponseHeader;
  members?: Member[];
}

/** Promoting a learner that is not in sync, or a voter: 412 code 9. */
export interface MemberPromoteRequest {
  ID: Int64Input;
}

export interface MemberPromoteResponse {
  header?: ResponseHeader;
  members?: Member[];
}

// ---------------------------------------------------------------- maintenance

export interface StatusResponse {
  header?: ResponseHeader;
  version?: string;
  dbSize?: Int64String;
  /** Leader's member ID; absent ("0") when there is none. */
  leader?: Int64String;
  raftIndex?: Int64String;
  raftTerm?: Int64String;
  raftAppliedIndex?: Int64String;
  dbSizeInUse?: Int64String;
  errors?: string[];
  isLearner?: boolean;
}

// ---------------------------------------------------------------- errors

/**
 * The body of every non-200 unary answer from the gateway. `error` and
 * `message` carry the same text. HTTP status follows grpc-gateway v1's mapping:
 * 3 InvalidArgument and 11 OutOfRange -> 400, 5 NotFound -> 404, 9
 * FailedPrecondition -> 412, 16 Unauthenticated -> 401, 7 -> 403, 8 -> 429,
 * 1 Canceled -> 408, 2 Unknown/13 Internal -> 500, 14 Unavailable -> 503,
 * 4 DeadlineExceeded -> 504. Unknown paths (404) and wrong methods (405) answer
 * text/plain ("Not Found"), not this shape.
 */
export interface ErrorBody {
  error?: string;
  message?: string;
  code?: number;
  details?: unknown[];
}

/** gRPC status codes that appear in `ErrorBody.code`. */
export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** Paths of the JSON gateway, relative to an endpoint URL. */
export const EtcdPath = {
  range: "/v3/kv/range",
  put: "/v3/kv/put",
  deleteRange: "/v3/kv/deleterange",
  txn: "/v3/kv/txn",
  compaction: "/v3/kv/compaction",
  watch: "/v3/watch",
  leaseGrant: "/v3/lease/grant",
  leaseRevoke: "/v3/lease/revoke",
  leaseKeepAlive: "/v3/lease/keepalive",
  leaseTimeToLive: "/v3/lease/timetolive",
  leaseLeases: "/v3/lease/leases",
  memberList: "/v3/cluster/member/list",
  memberAdd: "/v3/cluster/member/add",
  memberRemove: "/v3/cluster/member/remove",
  memberPromote: "/v3/cluster/member/promote",
  status: "/v3/maintenance/status",
} as const;
export type EtcdPath = (typeof EtcdPath)[keyof typeof EtcdPath];
