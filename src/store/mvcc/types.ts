// Types of the MVCC store (src/store/mvcc): etcd v3 request and response
// shapes with raw byte keys and values, the StoreCommand union that is proposed
// through Raft, watch types, and the errors the store returns as values.
//
// Conventions:
// - Keys and values are Uint8Array (the store hands out Buffers it owns; never
//   mutate them). The gateway base64s them.
// - Revisions, versions, lease IDs and TTLs are JS numbers (safe integers).
//   Client-chosen lease IDs above 2^53-1 are refused (invalidArgument); the
//   store's own IDs are small (derived from the raft index).
// - Optional fields follow etcd: absent, 0 and false mean the same thing.

/** One version of a key. A tombstone (the kv of a DELETE event) has version 0,
 *  an empty value, createRevision 0 and lease 0; only key and modRevision are set. */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  /** 1 on creation, +1 per put; reset to 1 when the key is recreated after a delete. */
  readonly version: number;
  /** Lease ID, 0 for none. */
  readonly lease: number;
}

export type SortOrder = "NONE" | "ASCEND" | "DESCEND";
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

export interface RangeRequest {
  /** Must not be empty. Use key "\0" with rangeEnd "\0" for every key. */
  key: Uint8Array;
  /** Absent or empty: the single key. [0x00]: every key >= key. Otherwise [key, rangeEnd). */
  rangeEnd?: Uint8Array;
  /** 0 or absent: no limit. */
  limit?: number;
  /** Read at this past revision; 0 or absent: the current one. */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Filters (0 = off). Like etcd, `count` ignores them. */
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  kvs: KeyValue[];
  /** True when `limit` cut the result short. */
  more: boolean;
  /** Number of keys in the range at the read revision, regardless of limit and filters. */
  count: number;
  /** The store's current revision (also when reading at a past revision, as etcd). */
  revision: number;
}

export interface PutRequest {
  key: Uint8Array;
  value: Uint8Array;
  /** Lease to attach, 0 or absent for none. Must exist. */
  lease?: number;
  prevKv?: boolean;
  /** Keep the current value (the key must exist; `value` must be empty). */
  ignoreValue?: boolean;
  /** Keep the current lease (the key must exist; `lease` must be 0). */
  ignoreLease?: boolean;
}

export interface PutResponse {
  /** The revision this put created. */
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  /** The revision the delete created, or the current one when nothing was deleted. */
  revision: number;
  deleted: number;
  /** Filled only when prevKv was asked for. */
  prevKvs: KeyValue[];
}

export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";

interface CompareBase {
  result: CompareResult;
  key: Uint8Array;
  /** Same forms as RangeRequest.rangeEnd: every key in the range must satisfy the compare. */
  rangeEnd?: Uint8Array;
}

/** One condition of a txn. A missing key compares as version/create/mod/lease 0;
 *  a VALUE compare on a missing key is always false (as etcd). */
export type Compare =
  | (CompareBase & { target: "VERSION"; version: number })
  | (CompareBase & { target: "CREATE"; createRevision: number })
  | (CompareBase & { target: "MOD"; modRevision: number })
  | (CompareBase & { target: "VALUE"; value: Uint8Array })
  | (CompareBase & { target: "LEASE"; lease: number });

export type RequestOp =
  | { type: "range"; request: RangeRequest }
  | { type: "put"; request: PutRequest }
  | { type: "deleteRange"; request: DeleteRangeRequest }
  | { type: "txn"; request: TxnRequest };

export type ResponseOp =
  | { type: "range"; response: RangeResponse }
  | { type: "put"; response: PutResponse }
  | { type: "deleteRange"; response: DeleteRangeResponse }
  | { type: "txn"; response: TxnResponse };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  /** The revision the txn created (all its writes share it), or the current one if it wrote nothing.
   *  Every nested response carries this same revision. */
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  /** Keep the state at this revision and everything after it; drop older history. */
  revision: number;
}

export interface CompactionResponse {
  revision: number;
}

export interface LeaseGrantRequest {
  /** 0: the store picks an ID (derived from the raft index, so every master picks the same). */
  id: number;
  /** Seconds. Below MIN_LEASE_TTL_SECONDS (also 0 or negative) it is raised to it. */
  ttl: number;
}

export interface LeaseGrantResponse {
  id: number;
  /** The granted TTL (after raising to the minimum). */
  ttl: number;
  revision: number;
}

export interface LeaseRevokeRequest {
  id: number;
}

export interface LeaseRevokeResponse {
  /** Moves only when the lease had keys (they are all deleted in one revision). */
  revision: number;
}

/**
 * Proposed by the leader's lessor when leases ran out on its clock. Remaining
 * TTLs are not replicated: keepalives refresh the leader's timers only, and a
 * new leader restarts every lease at its full TTL (as etcd does). Applying it
 * revokes every listed lease that still exists and deletes all their keys in
 * ONE revision; IDs already gone are skipped (a revoke may have won the race).
 */
export interface LeaseExpireRequest {
  ids: number[];
}

export interface LeaseExpireResponse {
  revision: number;
  /** The IDs that existed and were revoked, in request order. */
  revoked: number[];
}

export interface LeaseTimeToLiveRequest {
  id: number;
  keys?: boolean;
}

/** The store knows the granted TTL only; the remaining TTL lives in the leader's lessor. */
export interface LeaseTimeToLiveResponse {
  id: number;
  grantedTtl: number;
  /** Attached keys in key order; empty unless `keys` was asked for. */
  keys: Uint8Array[];
  revision: number;
}

/** What the leader-side lessor needs to rebuild its timers (see MvccStore.leases()). */
export interface LeaseInfo {
  id: number;
  ttl: number;
  /** Attached keys in key order. */
  keys: Uint8Array[];
}

/** What is proposed through Raft. Reads and TimeToLive are not commands. */
export type StoreCommand =
  | { type: "put"; request: PutRequest }
  | { type: "deleteRange"; request: DeleteRangeRequest }
  | { type: "txn"; request: TxnRequest }
  | { type: "compact"; request: CompactionRequest }
  | { type: "leaseGrant"; request: LeaseGrantRequest }
  | { type: "leaseRevoke"; request: LeaseRevokeRequest }
  | { type: "leaseExpire"; request: LeaseExpireRequest };

export type StoreCommandType = StoreCommand["type"];

export interface CommandResponses {
  put: PutResponse;
  deleteRange: DeleteRangeResponse;
  txn: TxnResponse;
  compact: CompactionResponse;
  leaseGrant: LeaseGrantResponse;
  leaseRevoke: LeaseRevokeResponse;
  leaseExpire: LeaseExpireResponse;
}

/**
 * Errors a client can cause, as values. Suggested gateway mapping (etcd 3.4):
 * invalidArgument, duplicateKey, tooManyOps, keyNotFound -> 400 code 3;
 * compacted, futureRevision, leaseTtlTooLarge -> 400 code 11;
 * leaseNotFound -> 404 code 5; leaseExists -> 412 code 9.
 * `message` is etcd's text where etcd has one.
 */
export type StoreError =
  | { code: "compacted"; compactRevision: number; message: string }
  | { code: "futureRevision"; message: string }
  | { code: "leaseNotFound"; message: string }
  | { code: "leaseExists"; message: string }
  | { code: "leaseTtlTooLarge"; message: string }
  | { code: "invalidArgument"; message: string }
  | { code: "duplicateKey"; message: string }
  | { code: "tooManyOps"; message: string }
  | { code: "keyNotFound"; message: string };

export type StoreErrorCode = StoreError["code"];

export type Result<T> = { ok: true; value: T } | { ok: false; error: StoreError };

/** What apply() returns: the response type follows the command type. */
export type StoreResult<C extends StoreCommand = StoreCommand> = Result<CommandResponses[C["type"]]>;

// ---------------------------------------------------------------- watch

export type WatchFilter = "NOPUT" | "NODELETE";

export interface WatchRequest {
  key: Uint8Array;
  /** Same forms as RangeRequest.rangeEnd. */
  rangeEnd?: Uint8Array;
  /** First revision to deliver (inclusive). 0 or absent: from the next revision on. */
  startRevision?: number;
  prevKv?: boolean;
  filters?: WatchFilter[];
}

export interface WatchEvent {
  type: "PUT" | "DELETE";
  /** For DELETE: the tombstone (key and modRevision = the deleting revision). */
  kv: KeyValue;
  /** The key's previous live version, when asked for and still held (a version
   *  older than the compact revision is gone, as in etcd). */
  prevKv?: KeyValue;
}

/** Why a watch ended. onCancel is called exactly once. */
export type WatchCancelReason =
  /** The start revision (or a lagging replay) fell below the compact revision. */
  | { code: "compacted"; compactRevision: number; message: string }
  /** More than maxPendingEvents events were waiting for a paused consumer. */
  | { code: "slowWatcher"; message: string }
  | { code: "invalidArgument"; message: string }
  | { code: "tooManyWatchers"; message: string }
  /** The watch handle's cancel() was called. */
  | { code: "canceled"; message: string }
  /** The hub was closed. */
  | { code: "closed"; message: string }
  /** onEvents threw; the watcher is dropped so the store's apply loop is unaffected. */
  | { code: "callbackFailed"; message: string };
