// Checks that depend only on a request, not on the store's state: empty keys,
// numbers out of range, too many txn ops, and a txn that writes one key twice.
// apply() runs them (so every master returns the same error); the gateway may
// run them before proposing, to refuse a bad request without a Raft round.

import { storeErrors } from "./errors.js";
import { type KeyRange, inRange, toKeyRange, toSkey } from "./keys.js";
import { MAX_LEASE_EXPIRE_IDS, MAX_LEASE_TTL_SECONDS, MAX_TXN_DEPTH, MAX_TXN_OPS } from "./limits.js";
import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  StoreCommand,
  StoreError,
  TxnRequest,
  WatchRequest,
} from "./types.js";

const SORT_ORDERS = new Set(["NONE", "ASCEND", "DESCEND"]);
const SORT_TARGETS = new Set(["KEY", "VERSION", "CREATE", "MOD", "VALUE"]);
const COMPARE_RESULTS = new Set(["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]);
const WATCH_FILTERS = new Set(["NOPUT", "NODELETE"]);

export function validateCommand(cmd: StoreCommand): StoreError | null {
  switch (cmd.type) {
    case "put":
      return validatePut(cmd.request);
    case "deleteRange":
      return validateDeleteRange(cmd.request);
    case "txn":
      return validateTxn(cmd.request);
    case "compact":
      return nonNegative(cmd.request.revision, "revision");
    case "leaseGrant": {
      const { id, ttl } = cmd.request;
      const bad = nonNegative(id, "lease ID");
      if (bad) return bad;
      if (!Number.isSafeInteger(ttl)) return storeErrors.invalid("lease TTL must be an integer number of seconds");
      if (ttl > MAX_LEASE_TTL_SECONDS) return storeErrors.leaseTtlTooLarge();
      return null;
    }
    case "leaseRevoke":
      return nonNegative(cmd.request.id, "lease ID");
    case "leaseExpire": {
      const { ids } = cmd.request;
      if (ids.length > MAX_LEASE_EXPIRE_IDS) return storeErrors.invalid(`at most ${MAX_LEASE_EXPIRE_IDS} leases per expire command`);
      for (const id of ids) {
        const bad = nonNegative(id, "lease ID");
        if (bad) return bad;
      }
      return null;
    }
  }
}

export function validateRange(req: RangeRequest): StoreError | null {
  if (req.key.byteLength === 0) return storeErrors.emptyKey();
  for (const [name, v] of [
    ["limit", req.limit],
    ["revision", req.revision],
    ["minModRevision", req.minModRevision],
    ["maxModRevision", req.maxModRevision],
    ["minCreateRevision", req.minCreateRevision],
    ["maxCreateRevision", req.maxCreateRevision],
  ] as const) {
    const bad = optionalNonNegative(v, name);
    if (bad) return bad;
  }
  if (req.sortOrder !== undefined && !SORT_ORDERS.has(req.sortOrder)) return storeErrors.invalid(`invalid sortOrder ${String(req.sortOrder)}`);
  if (req.sortTarget !== undefined && !SORT_TARGETS.has(req.sortTarget)) return storeErrors.invalid(`invalid sortTarget ${String(req.sortTarget)}`);
  return null;
}

export function validatePut(req: PutRequest): StoreError | null {
  if (req.key.byteLength === 0) return storeErrors.emptyKey();
  const bad = optionalNonNegative(req.lease, "lease");
  if (bad) return bad;
  if (req.ignoreValue && req.value.byteLength > 0) return storeErrors.invalid("etcdserver: value is provided");
  if (req.ignoreLease && (req.lease ?? 0) !== 0) return storeErrors.invalid("etcdserver: lease is provided");
  return null;
}

export function validateDeleteRange(req: DeleteRangeRequest): StoreError | null {
  if (req.key.byteLength === 0) return storeErrors.emptyKey();
  return null;
}

export function validateTxn(req: TxnRequest): StoreError | null {
  const bad = validateTxnShape(req, 1);
  if (bad) return bad;
  return writeSetOf(req.success) === CONFLICT || writeSetOf(req.failure) === CONFLICT ? storeErrors.duplicateKey() : null;
}

export function validateWatch(req: WatchRequest): StoreError | null {
  if (req.key.byteLength === 0) return storeErrors.emptyKey();
  const bad = optionalNonNegative(req.startRevision, "startRevision");
  if (bad) return bad;
  for (const f of req.filters ?? []) if (!WATCH_FILTERS.has(f)) return storeErrors.invalid(`invalid watch filter ${String(f)}`);
  return null;
}

function validateTxnShape(req: TxnRequest, depth: number): StoreError | null {
  if (depth > MAX_TXN_DEPTH) return storeErrors.invalid(`txn nested deeper than ${MAX_TXN_DEPTH}`);
  if (req.compare.length > MAX_TXN_OPS || req.success.length > MAX_TXN_OPS || req.failure.length > MAX_TXN_OPS) return storeErrors.tooManyOps();
  for (const c of req.compare) {
    const bad = validateCompare(c);
    if (bad) return bad;
  }
  for (const op of [...req.success, ...req.failure]) {
    const bad = validateOp(op, depth);
    if (bad) return bad;
  }
  return null;
}

function validateOp(op: RequestOp, depth: number): StoreError | null {
  switch (op.type) {
    case "range":
      return validateRange(op.request);
    case "put":
      return validatePut(op.request);
    case "deleteRange":
      return validateDeleteRange(op.request);
    case "txn":
      return validateTxnShape(op.request, depth + 1);
  }
}

function validateCompare(c: Compare): StoreError | null {
  if (c.key.byteLength === 0) return storeErrors.emptyKey();
  if (!COMPARE_RESULTS.has(c.result)) return storeErrors.invalid(`invalid compare result ${String(c.result)}`);
  switch (c.target) {
    case "VERSION":
      return integer(c.version, "compare version");
    case "CREATE":
      return integer(c.createRevision, "compare createRevision");
    case "MOD":
      return integer(c.modRevision, "compare modRevision");
    case "LEASE":
      return integer(c.lease, "compare lease");
    case "VALUE":
      return null;
    default:
      return storeErrors.invalid(`invalid compare target ${String((c as { target: unknown }).target)}`);
  }
}

// ---------------------------------------------------------------- duplicate keys
//
// Within one txn a key may be written at most once: two puts of one key, or a
// put inside a range that is deleted, are refused (etcd's "duplicate key").
// Overlapping deletes are fine (the second finds nothing). The success and
// failure branches of a nested txn are exclusive, so they may overlap each
// other, but both are held against their siblings since either may run.
// This keeps "one write per key per revision", which the history relies on.

const CONFLICT = Symbol("conflict");

interface WriteSet {
  puts: Set<string>;
  dels: KeyRange[];
}

function writeSetOf(ops: readonly RequestOp[]): WriteSet | typeof CONFLICT {
  const acc: WriteSet = { puts: new Set(), dels: [] };
  for (const op of ops) {
    let w: WriteSet;
    switch (op.type) {
      case "range":
        continue;
      case "put":
        w = { puts: new Set([toSkey(op.request.key)]), dels: [] };
        break;
      case "deleteRange":
        w = { puts: new Set(), dels: [toKeyRange(op.request.key, op.request.rangeEnd)] };
        break;
      case "txn": {
        const a = writeSetOf(op.request.success);
        const b = writeSetOf(op.request.failure);
        if (a === CONFLICT || b === CONFLICT) return CONFLICT;
        w = { puts: new Set([...a.puts, ...b.puts]), dels: [...a.dels, ...b.dels] };
        break;
      }
    }
    for (const k of w.puts) {
      if (acc.puts.has(k) || acc.dels.some((d) => inRange(d, k))) return CONFLICT;
    }
    for (const d of w.dels) {
      for (const k of acc.puts) if (inRange(d, k)) return CONFLICT;
    }
    for (const k of w.puts) acc.puts.add(k);
    acc.dels.push(...w.dels);
  }
  return acc;
}

function integer(v: number, name: string): StoreError | null {
  return Number.isSafeInteger(v) ? null : storeErrors.invalid(`${name} must be an integer`);
}

function nonNegative(v: number, name: string): StoreError | null {
  return Number.isSafeInteger(v) && v >= 0 ? null : storeErrors.invalid(`${name} must be a non-negative integer`);
}

function optionalNonNegative(v: number | undefined, name: string): StoreError | null {
  return v === undefined ? null : nonNegative(v, name);
}
