// The MVCC state machine every master applies committed Raft entries to: one
// global revision, per-key history since the last compaction, txns, leases,
// snapshots. In memory and deterministic: the same commands in the same order
// give the same state and results on every master (no clock, no randomness).
// The Raft driver, the lessor and the gateway sit on top; watch.ts observes it.

import { Buffer } from "node:buffer";
import { Packr } from "msgpackr";
import { fail, ok, storeErrors } from "./errors.js";
import { type KeyRange, emptyBytes, inRange, ownBytes, toKeyRange, toSkey } from "./keys.js";
import { MIN_LEASE_TTL_SECONDS } from "./limits.js";
import { OrderedIndex } from "./ordered-index.js";
import type {
  Compare,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  LeaseExpireResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseInfo,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  Result,
  StoreCommand,
  StoreError,
  StoreResult,
  TxnRequest,
  TxnResponse,
} from "./types.js";
import { validateCommand, validateRange } from "./validate.js";

/** One write of a revision, as observers and watch replays see it. */
export interface Change {
  readonly skey: string;
  /** The new version, or the tombstone (version 0) of a delete. */
  readonly kv: KeyValue;
  /** The key's previous live version, if it is still held. */
  readonly prevKv: KeyValue | undefined;
}

export interface StoreObserver {
  /** Called once per new revision, after the state is updated, with its writes in order. */
  onCommit(revision: number, changes: readonly Change[]): void;
  /** Called after restore() replaced the state in place. */
  onRestore(previousRevision: number): void;
}

export interface StoreStatus {
  revision: number;
  compactRevision: number;
  appliedIndex: number;
  /** Keys with a live latest version. */
  liveKeys: number;
  /** Keys held in the index (live, or deleted with history not yet compacted). */
  indexedKeys: number;
  /** Versions held (including tombstones). */
  records: number;
  /** Bytes of keys and values held (each version counted; a shared value once per version). */
  bytes: number;
  leases: number;
}

/** Every version of one key since the compact revision, oldest first. A
 *  tombstone (version 0) ends a generation; each key has at most one version per revision. */
interface KeyHistory {
  readonly skey: string;
  readonly key: Buffer;
  revs: KeyValue[];
  /** Compaction visit mark (not state: never snapshotted). */
  mark: number;
}

interface Lease {
  readonly id: number;
  readonly ttl: number;
  /** skeys of the keys whose latest version carries this lease. */
  readonly keys: Set<string>;
}

/** The writes of one revision in progress; nested txns share it. */
interface WriteBatch {
  readonly rev: number;
  readonly changes: Change[];
  readonly touched: KeyHistory[];
}

/** The txn branches chosen by the compares, evaluated on the state before the txn (as etcd). */
interface TxnPath {
  readonly succeeded: boolean;
  readonly ops: readonly RequestOp[];
  readonly nested: ReadonlyMap<number, TxnPath>;
}

/** All of the store's state, swapped as a whole by restore(). */
class State {
  readonly byKey = new Map<string, KeyHistory>();
  readonly index = new OrderedIndex<KeyHistory>();
  /** log[i]: the keys written at revision logStart + i, in write order. Covers [logStart, revision]. */
  log: KeyHistory[][] = [[]];
  logStart = 1;
  /** etcd's numbering: an empty store is at revision 1, the first write creates 2. */
  revision = 1;
  compactRevision = 0;
  appliedIndex = 0;
  readonly leases = new Map<number, Lease>();
  liveKeys = 0;
  records = 0;
  bytes = 0;
}

const SNAPSHOT_TAG = "pinsetter-mvcc";
const SNAPSHOT_FORMAT = 1;
/** Fields per version in a snapshot's flat key entry: modRevision, createRevision, version, lease, value. */
const REC_FIELDS = 5;

const snapshotPackr = new Packr({ useRecords: false, moreTypes: false });

const ZERO_KV: KeyValue = { key: emptyBytes(), value: emptyBytes(), createRevision: 0, modRevision: 0, version: 0, lease: 0 };

export class MvccStore {
  private s = new State();
  private readonly observers = new Set<StoreObserver>();
  private applying = false;
  private compactions = 0;
  private pendingCommit: WriteBatch | null = null;

  /** The current revision (1 for an empty store). */
  get revision(): number {
    return this.s.revision;
  }

  /** Reads below this revision are refused; 0 when never compacted. */
  get compactRevision(): number {
    return this.s.compactRevision;
  }

  /** The raft index of the last entry applied (or marked applied). */
  get appliedIndex(): number {
    return this.s.appliedIndex;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Applies one committed command. raftIndex must be above every index applied
   * before (a repeat is a bug in the driver and throws). Errors a client can
   * cause come back as values; the entry still counts as applied.
   */
  apply<C extends StoreCommand>(cmd: C, raftIndex: number): StoreResult<C> {
    if (this.applying) throw new Error("mvcc: apply() called re-entrantly (from a watch or observer callback?)");
    this.advanceApplied(raftIndex);
    this.applying = true;
    try {
      const result = this.execute(cmd, raftIndex);
      const commit = this.pendingCommit;
      if (commit !== null) {
        this.pendingCommit = null;
        for (const o of [...this.observers]) o.onCommit(commit.rev, commit.changes);
      }
      return result as StoreResult<C>;
    } finally {
      this.pendingCommit = null;
      this.applying = false;
    }
  }

  /** Records an entry that carries no store command (leader no-op, membership change). */
  markApplied(raftIndex: number): void {
    if (this.applying) throw new Error("mvcc: markApplied() called during apply()");
    this.advanceApplied(raftIndex);
  }

  private advanceApplied(raftIndex: number): void {
    if (!Number.isSafeInteger(raftIndex) || raftIndex <= this.s.appliedIndex) {
      throw new Error(`mvcc: raft index ${raftIndex} is not after the last applied index ${this.s.appliedIndex}`);
    }
    this.s.appliedIndex = raftIndex;
  }

  private execute(cmd: StoreCommand, raftIndex: number): Result<unknown> {
    const invalid = validateCommand(cmd);
    if (invalid) return fail(invalid);
    switch (cmd.type) {
      case "put":
        return this.execPut(cmd.request);
      case "deleteRange":
        return this.execDeleteRange(cmd.request);
      case "txn":
        return this.execTxn(cmd.request);
      case "compact":
        return this.execCompact(cmd.request);
      case "leaseGrant":
        return this.execLeaseGrant(cmd.request, raftIndex);
      case "leaseRevoke": {
        if (!this.s.leases.has(cmd.request.id)) return fail(storeErrors.leaseNotFound());
        const revision = this.revokeLeases([cmd.request.id]).revision;
        return ok<LeaseRevokeResponse>({ revision });
      }
      case "leaseExpire":
        return ok<LeaseExpireResponse>(this.revokeLeases(cmd.request.ids));
    }
  }

  private execPut(req: PutRequest): Result<PutResponse> {
    const bad = this.checkPut(req);
    if (bad) return fail(bad);
    const w = this.beginWrite();
    const prev = this.writePut(w, req);
    const revision = this.endWrite(w);
    return ok(req.prevKv && prev ? { revision, prevKv: prev } : { revision });
  }

  private execDeleteRange(req: DeleteRangeRequest): Result<DeleteRangeResponse> {
    const w = this.beginWrite();
    const prevs = this.writeDelete(w, req);
    const revision = this.endWrite(w);
    return ok({ revision, deleted: prevs.length, prevKvs: req.prevKv ? prevs : [] });
  }

  private execTxn(req: TxnRequest): Result<TxnResponse> {
    const path = this.choosePath(req);
    const bad = this.checkPath(path);
    if (bad) return fail(bad);
    const w = this.beginWrite();
    const resp = this.runPath(w, path);
    stampRevision(resp, this.endWrite(w));
    return ok(resp);
  }

  private execCompact(req: CompactionRequest): Result<CompactionResponse> {
    const s = this.s;
    const at = req.revision;
    if (at <= s.compactRevision) return fail(storeErrors.compacted(s.compactRevision));
    if (at > s.revision) return fail(storeErrors.futureRevision());
    // Only keys written in [logStart, at] can hold versions that `at` makes
    // unreachable: every other key was already trimmed by an earlier compaction.
    const mark = ++this.compactions;
    for (let r = s.logStart; r <= at; r++) {
      for (const h of s.log[r - s.logStart]!) {
        if (h.mark === mark) continue;
        h.mark = mark;
        this.trimHistory(h, at);
      }
    }
    s.log.splice(0, at - s.logStart);
    s.logStart = at;
    s.compactRevision = at;
    return ok({ revision: s.revision });
  }

  /** Keeps the latest version at or below `at` and everything after it. A
   *  tombstone below `at` goes too (nobody can read that generation any more);
   *  one exactly at `at` stays, so a watch from `at` still sees that delete. */
  private trimHistory(h: KeyHistory, at: number): void {
    const s = this.s;
    const revs = h.revs;
    let keepFrom = lastAtOrBelow(revs, at);
    if (keepFrom < 0) return;
    if (revs[keepFrom]!.version === 0 && revs[keepFrom]!.modRevision < at) keepFrom++;
    if (keepFrom === 0) return;
    for (let i = 0; i < keepFrom; i++) {
      s.records--;
      s.bytes -= recordBytes(revs[i]!);
    }
    h.revs = revs.slice(keepFrom);
    if (h.revs.length === 0) {
      s.byKey.delete(h.skey);
      s.index.remove(h.skey);
    }
  }

  private execLeaseGrant(req: LeaseGrantRequest, raftIndex: number): Result<LeaseGrantResponse> {
    const s = this.s;
    let id = req.id;
    if (id !== 0) {
      if (s.leases.has(id)) return fail(storeErrors.leaseExists());
    } else {
      // Raft indexes never repeat, so this is unique unless a client chose the same ID.
      id = raftIndex;
      while (s.leases.has(id)) id++;
    }
    const ttl = Math.max(req.ttl, MIN_LEASE_TTL_SECONDS);
    s.leases.set(id, { id, ttl, keys: new Set() });
    return ok({ id, ttl, revision: s.revision });
  }

  /** Revokes the listed leases that exist; all their keys are deleted in one revision, in key order. */
  private revokeLeases(ids: readonly number[]): LeaseExpireResponse {
    const s = this.s;
    const revoked = new Set<number>();
    const keys: string[] = [];
    for (const id of ids) {
      const lease = s.leases.get(id);
      if (!lease || revoked.has(id)) continue;
      revoked.add(id);
      keys.push(...lease.keys);
    }
    keys.sort();
    const w = this.beginWrite();
    for (const skey of keys) {
      const h = s.byKey.get(skey);
      assert(h !== undefined && isLive(last(h)), "a leased key is live");
      this.writeTombstone(w, h);
    }
    for (const id of revoked) {
      assert(s.leases.get(id)!.keys.size === 0, "revoked lease has no keys left");
      s.leases.delete(id);
    }
    return { revision: this.endWrite(w), revoked: [...revoked] };
  }

  private beginWrite(): WriteBatch {
    return { rev: this.s.revision + 1, changes: [], touched: [] };
  }

  /** Ends a write: a revision is created only if something was written. */
  private endWrite(w: WriteBatch): number {
    const s = this.s;
    if (w.changes.length === 0) return s.revision;
    s.revision = w.rev;
    s.log.push(w.touched);
    assert(s.log.length === s.revision - s.logStart + 1, "log covers [logStart, revision]");
    this.pendingCommit = w;
    return w.rev;
  }

  private checkPut(req: PutRequest): StoreError | null {
    if (req.ignoreValue || req.ignoreLease) {
      const h = this.s.byKey.get(toSkey(req.key));
      if (!h || !isLive(last(h))) return storeErrors.keyNotFound();
    }
    const lease = req.lease ?? 0;
    if (lease !== 0 && !this.s.leases.has(lease)) return storeErrors.leaseNotFound();
    return null;
  }

  /** Writes a put (already checked); returns the previous live version. */
  private writePut(w: WriteBatch, req: PutRequest): KeyValue | undefined {
    const s = this.s;
    const skey = toSkey(req.key);
    let h = s.byKey.get(skey);
    if (!h) {
      h = { skey, key: ownBytes(req.key), revs: [], mark: 0 };
      s.byKey.set(skey, h);
      s.index.insert(h);
    }
    const latest = h.revs.length > 0 ? last(h) : undefined;
    assert(latest === undefined || latest.modRevision < w.rev, "one write per key per revision");
    const prev = latest !== undefined && isLive(latest) ? latest : undefined;
    const lease = req.ignoreLease ? prev!.lease : (req.lease ?? 0);
    const kv: KeyValue = {
      key: h.key,
      value: req.ignoreValue ? prev!.value : ownBytes(req.value),
      createRevision: prev ? prev.createRevision : w.rev,
      modRevision: w.rev,
      version: prev ? prev.version + 1 : 1,
      lease,
    };
    h.revs.push(kv);
    s.records++;
    s.bytes += recordBytes(kv);
    if (!prev) s.liveKeys++;
    const oldLease = prev ? prev.lease : 0;
    if (oldLease !== lease) {
      if (oldLease !== 0) s.leases.get(oldLease)!.keys.delete(skey);
      if (lease !== 0) s.leases.get(lease)!.keys.add(skey);
    }
    w.changes.push({ skey, kv, prevKv: prev });
    w.touched.push(h);
    return prev;
  }

  /** Deletes every live key of the range; returns their previous versions in key order. */
  private writeDelete(w: WriteBatch, req: DeleteRangeRequest): KeyValue[] {
    const targets: KeyHistory[] = [];
    this.forEachInRange(toKeyRange(req.key, req.rangeEnd), (h) => {
      if (isLive(last(h))) targets.push(h);
    });
    return targets.map((h) => this.writeTombstone(w, h));
  }

  private writeTombstone(w: WriteBatch, h: KeyHistory): KeyValue {
    const s = this.s;
    const prev = last(h);
    assert(isLive(prev) && prev.modRevision < w.rev, "tombstone follows a live version of an earlier revision");
    const kv: KeyValue = { key: h.key, value: emptyBytes(), createRevision: 0, modRevision: w.rev, version: 0, lease: 0 };
    h.revs.push(kv);
    s.records++;
    s.bytes += recordBytes(kv);
    s.liveKeys--;
    if (prev.lease !== 0) s.leases.get(prev.lease)!.keys.delete(h.skey);
    w.changes.push({ skey: h.skey, kv, prevKv: prev });
    w.touched.push(h);
    return prev;
  }

  // ---------------------------------------------------------------- txn

  private choosePath(req: TxnRequest): TxnPath {
    const succeeded = req.compare.every((c) => this.evalCompare(c));
    const ops = succeeded ? req.success : req.failure;
    const nested = new Map<number, TxnPath>();
    ops.forEach((op, i) => {
      if (op.type === "txn") nested.set(i, this.choosePath(op.request));
    });
    return { succeeded, ops, nested };
  }

  /** State-dependent checks of the ops that will run, so a txn fails before writing anything. */
  private checkPath(path: TxnPath): StoreError | null {
    for (let i = 0; i < path.ops.length; i++) {
      const op = path.ops[i]!;
      let bad: StoreError | null = null;
      if (op.type === "range") bad = this.checkReadRevision(op.request.revision ?? 0);
      else if (op.type === "put") bad = this.checkPut(op.request);
      else if (op.type === "txn") bad = this.checkPath(path.nested.get(i)!);
      if (bad) return bad;
    }
    return null;
  }

  private runPath(w: WriteBatch, path: TxnPath): TxnResponse {
    const responses = path.ops.map((op, i): ResponseOp => {
      switch (op.type) {
        case "range": {
          const at = op.request.revision ? op.request.revision : w.rev;
          return { type: "range", response: this.readRange(op.request, at, 0) };
        }
        case "put": {
          const prev = this.writePut(w, op.request);
          return { type: "put", response: op.request.prevKv && prev ? { revision: 0, prevKv: prev } : { revision: 0 } };
        }
        case "deleteRange": {
          const prevs = this.writeDelete(w, op.request);
          return { type: "deleteRange", response: { revision: 0, deleted: prevs.length, prevKvs: op.request.prevKv ? prevs : [] } };
        }
        case "txn":
          return { type: "txn", response: this.runPath(w, path.nested.get(i)!) };
      }
    });
    return { revision: 0, succeeded: path.succeeded, responses };
  }

  /** True when every live key of the compare's range satisfies it (etcd semantics for missing keys). */
  private evalCompare(c: Compare): boolean {
    let any = false;
    let all = true;
    this.forEachInRange(toKeyRange(c.key, c.rangeEnd), (h) => {
      const kv = last(h);
      if (!isLive(kv)) return true;
      any = true;
      if (!compareKv(c, kv)) all = false;
      return all;
    });
    if (any) return all;
    // No key: nil and empty value cannot be told apart, so a VALUE compare fails.
    return c.target === "VALUE" ? false : compareKv(c, ZERO_KV);
  }

  // ---------------------------------------------------------------- reads

  /** A read at the current revision or at a past one (revision in [compactRevision, revision]). */
  range(req: RangeRequest): Result<RangeResponse> {
    const bad = validateRange(req) ?? this.checkReadRevision(req.revision ?? 0);
    if (bad) return fail(bad);
    const at = req.revision ? req.revision : this.s.revision;
    return ok(this.readRange(req, at, this.s.revision));
  }

  private checkReadRevision(rev: number): StoreError | null {
    if (rev > this.s.revision) return storeErrors.futureRevision();
    if (rev > 0 && rev < this.s.compactRevision) return storeErrors.compacted(this.s.compactRevision);
    return null;
  }

  private readRange(req: RangeRequest, at: number, reportRevision: number): RangeResponse {
    const limit = req.limit ?? 0;
    const target = req.sortTarget ?? "KEY";
    // As etcd: a non-KEY sort target without an order sorts ascending.
    const order = req.sortOrder && req.sortOrder !== "NONE" ? req.sortOrder : target !== "KEY" ? "ASCEND" : "NONE";
    const filtered = !!(req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision);
    // Count needs the whole range; values are collected only as far as the answer needs.
    const fetch = req.countOnly ? 0 : order !== "NONE" || filtered || limit === 0 ? Infinity : limit + 1;
    let count = 0;
    let kvs: KeyValue[] = [];
    this.forEachInRange(toKeyRange(req.key, req.rangeEnd), (h) => {
      const kv = versionAt(h, at);
      if (kv === undefined || !isLive(kv)) return;
      count++;
      if (kvs.length < fetch) kvs.push(kv);
    });
    if (filtered) {
      kvs = kvs.filter(
        (kv) =>
          (!req.minModRevision || kv.modRevision >= req.minModRevision) &&
          (!req.maxModRevision || kv.modRevision <= req.maxModRevision) &&
          (!req.minCreateRevision || kv.createRevision >= req.minCreateRevision) &&
          (!req.maxCreateRevision || kv.createRevision <= req.maxCreateRevision),
      );
    }
    if (order !== "NONE") {
      const sign = order === "ASCEND" ? 1 : -1;
      const key = sortKey[target];
      kvs.sort((a, b) => sign * key(a, b));
    }
    let more = false;
    if (limit > 0 && kvs.length > limit) {
      kvs.length = limit;
      more = true;
    }
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: emptyBytes() }));
    return { kvs, more, count, revision: reportRevision };
  }

  private forEachInRange(r: KeyRange, visit: (h: KeyHistory) => boolean | void): void {
    if (r.kind === "key") {
      const h = this.s.byKey.get(r.key);
      if (h) visit(h);
      return;
    }
    if (r.end !== null && r.end <= r.start) return;
    this.s.index.scan(r.start, r.end, visit);
  }

  /** The writes of one revision in write order (optionally only those in a range);
   *  undefined if the revision is compacted away or not written yet. */
  changesAt(revision: number, range?: KeyRange): Change[] | undefined {
    const s = this.s;
    if (revision < s.logStart || revision > s.revision) return undefined;
    const out: Change[] = [];
    for (const h of s.log[revision - s.logStart]!) {
      if (range && !inRange(range, h.skey)) continue;
      const i = lastAtOrBelow(h.revs, revision);
      const kv = h.revs[i]!;
      assert(kv.modRevision === revision, "log entry matches a version");
      const prev = i > 0 ? h.revs[i - 1]! : undefined;
      out.push({ skey: h.skey, kv, prevKv: prev && isLive(prev) ? prev : undefined });
    }
    return out;
  }

  // ---------------------------------------------------------------- leases

  timeToLive(req: LeaseTimeToLiveRequest): Result<LeaseTimeToLiveResponse> {
    const lease = this.s.leases.get(req.id);
    if (!lease) return fail(storeErrors.leaseNotFound());
    return ok({ id: lease.id, grantedTtl: lease.ttl, keys: req.keys ? this.leaseKeys(lease) : [], revision: this.s.revision });
  }

  lease(id: number): LeaseInfo | undefined {
    const lease = this.s.leases.get(id);
    return lease ? { id: lease.id, ttl: lease.ttl, keys: this.leaseKeys(lease) } : undefined;
  }

  /** Every lease in ID order, for the leader's lessor to (re)build its timers. */
  leases(): LeaseInfo[] {
    return [...this.s.leases.values()].sort((a, b) => a.id - b.id).map((l) => ({ id: l.id, ttl: l.ttl, keys: this.leaseKeys(l) }));
  }

  private leaseKeys(lease: Lease): Uint8Array[] {
    return [...lease.keys].sort().map((skey) => this.s.byKey.get(skey)!.key);
  }

  // ---------------------------------------------------------------- observers, status

  /** Registers an observer (the watch hub); returns the function that removes it. */
  observe(o: StoreObserver): () => void {
    this.observers.add(o);
    return () => {
      this.observers.delete(o);
    };
  }

  status(): StoreStatus {
    const s = this.s;
    return {
      revision: s.revision,
      compactRevision: s.compactRevision,
      appliedIndex: s.appliedIndex,
      liveKeys: s.liveKeys,
      indexedKeys: s.index.size,
      records: s.records,
      bytes: s.bytes,
      leases: s.leases.size,
    };
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * The whole state: every version since the compact revision, the per-revision
   * write order, leases, revision, compact revision and applied raft index.
   * Canonical: two stores with the same state give the same bytes.
   */
  snapshot(): Uint8Array {
    const s = this.s;
    const position = new Map<KeyHistory, number>();
    const keys: unknown[][] = [];
    for (const h of s.index) {
      position.set(h, keys.length);
      const flat: unknown[] = [h.key];
      for (const kv of h.revs) flat.push(kv.modRevision, kv.createRevision, kv.version, kv.lease, isLive(kv) ? kv.value : null);
      keys.push(flat);
    }
    const log = s.log.map((hs) => hs.map((h) => position.get(h)!));
    const leases: number[] = [];
    for (const l of [...s.leases.values()].sort((a, b) => a.id - b.id)) leases.push(l.id, l.ttl);
    return snapshotPackr.pack([SNAPSHOT_TAG, SNAPSHOT_FORMAT, s.appliedIndex, s.revision, s.compactRevision, keys, log, leases]);
  }

  /** A new store from a snapshot. Throws a clear error on a malformed one. */
  static restore(data: Uint8Array): MvccStore {
    const store = new MvccStore();
    store.s = decodeSnapshot(data);
    return store;
  }

  /** Replaces this store's state with a snapshot's (a follower installing the
   *  leader's snapshot); observers are told so watches can catch up. */
  restore(data: Uint8Array): void {
    if (this.applying) throw new Error("mvcc: restore() called during apply()");
    const next = decodeSnapshot(data);
    const previousRevision = this.s.revision;
    this.s = next;
    for (const o of [...this.observers]) o.onRestore(previousRevision);
  }
}

// ---------------------------------------------------------------- helpers

function assert(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`mvcc invariant violated: ${what}`);
}

function last(h: KeyHistory): KeyValue {
  return h.revs[h.revs.length - 1]!;
}

function isLive(kv: KeyValue): boolean {
  return kv.version > 0;
}

function recordBytes(kv: KeyValue): number {
  return kv.key.byteLength + kv.value.byteLength;
}

/** Index of the last version with modRevision <= rev, or -1. */
function lastAtOrBelow(revs: readonly KeyValue[], rev: number): number {
  let lo = 0;
  let hi = revs.length;
  if (hi > 0 && revs[hi - 1]!.modRevision <= rev) return hi - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (revs[mid]!.modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function versionAt(h: KeyHistory, rev: number): KeyValue | undefined {
  const i = lastAtOrBelow(h.revs, rev);
  return i < 0 ? undefined : h.revs[i];
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  let d: number;
  switch (c.target) {
    case "VALUE":
      d = Buffer.compare(kv.value, c.value);
      break;
    case "VERSION":
      d = kv.version - c.version;
      break;
    case "CREATE":
      d = kv.createRevision - c.createRevision;
      break;
    case "MOD":
      d = kv.modRevision - c.modRevision;
      break;
    case "LEASE":
      d = kv.lease - c.lease;
      break;
  }
  switch (c.result) {
    case "EQUAL":
      return d === 0;
    case "NOT_EQUAL":
      return d !== 0;
    case "GREATER":
      return d > 0;
    case "LESS":
      return d < 0;
  }
}

const byKeyOrder = (a: KeyValue, b: KeyValue): number => Buffer.compare(a.key, b.key);

/** Sort comparators; ties fall back to key order, which is also the scan order. */
const sortKey: Record<"KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE", (a: KeyValue, b: KeyValue) => number> = {
  KEY: byKeyOrder,
  VERSION: (a, b) => a.version - b.version,
  CREATE: (a, b) => a.createRevision - b.createRevision,
  MOD: (a, b) => a.modRevision - b.modRevision,
  VALUE: (a, b) => Buffer.compare(a.value, b.value),
};

function stampRevision(resp: TxnResponse, revision: number): void {
  resp.revision = revision;
  for (const r of resp.responses) {
    if (r.type === "txn") stampRevision(r.response, revision);
    else r.response.revision = revision;
  }
}

// ---------------------------------------------------------------- snapshot decoding

class SnapshotError extends Error {
  override name = "SnapshotError";
}

function decodeSnapshot(data: Uint8Array): State {
  let raw: unknown;
  try {
    raw = snapshotPackr.unpack(data);
  } catch (e) {
    throw new SnapshotError(`mvcc snapshot: not valid msgpack (${(e as Error).message})`);
  }
  const bad = (what: string): never => {
    throw new SnapshotError(`mvcc snapshot: ${what}`);
  };
  if (!Array.isArray(raw) || raw.length !== 8 || raw[0] !== SNAPSHOT_TAG) bad("not a pinsetter MVCC snapshot");
  const [, format, appliedIndex, revision, compactRevision, keys, log, leases] = raw as unknown[];
  if (format !== SNAPSHOT_FORMAT) bad(`unknown format ${String(format)}`);
  const int = (v: unknown, what: string): number => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : bad(`${what} is not a non-negative integer`));
  const s = new State();
  s.appliedIndex = int(appliedIndex, "appliedIndex");
  s.revision = int(revision, "revision");
  s.compactRevision = int(compactRevision, "compactRevision");
  if (s.revision < 1 || s.compactRevision > s.revision) bad("compactRevision is above revision");
  s.logStart = Math.max(1, s.compactRevision);

  if (!Array.isArray(leases) || leases.length % 2 !== 0) bad("leases is not a flat [id, ttl] list");
  const leaseList = leases as unknown[];
  for (let i = 0; i < leaseList.length; i += 2) {
    const id = int(leaseList[i], "lease id");
    if (s.leases.has(id)) bad(`lease ${id} appears twice`);
    s.leases.set(id, { id, ttl: int(leaseList[i + 1], "lease ttl"), keys: new Set() });
  }

  if (!Array.isArray(keys)) bad("keys is not a list");
  const histories: KeyHistory[] = [];
  let prevSkey: string | null = null;
  for (const entry of keys as unknown[]) {
    if (!Array.isArray(entry) || entry.length < 1 + REC_FIELDS || (entry.length - 1) % REC_FIELDS !== 0) bad("malformed key entry");
    const e = entry as unknown[];
    if (!(e[0] instanceof Uint8Array) || e[0].byteLength === 0) bad("key is not non-empty bytes");
    const key = ownBytes(e[0] as Uint8Array);
    const skey = toSkey(key);
    if (prevSkey !== null && skey <= prevSkey) bad("keys are not in strictly ascending order");
    prevSkey = skey;
    const h: KeyHistory = { skey, key, revs: [], mark: 0 };
    let prevMod = 0;
    for (let i = 1; i < e.length; i += REC_FIELDS) {
      const modRevision = int(e[i], "modRevision");
      const createRevision = int(e[i + 1], "createRevision");
      const version = int(e[i + 2], "version");
      const lease = int(e[i + 3], "lease");
      const v = e[i + 4];
      if (modRevision <= prevMod || modRevision > s.revision) bad(`versions of a key are not ascending within the revision`);
      prevMod = modRevision;
      let kv: KeyValue;
      if (version === 0) {
        if (v !== null || createRevision !== 0 || lease !== 0) bad("malformed tombstone");
        kv = { key, value: emptyBytes(), createRevision: 0, modRevision, version: 0, lease: 0 };
      } else {
        if (!(v instanceof Uint8Array)) bad("value is not bytes");
        if (createRevision < 1 || createRevision > modRevision) bad("createRevision out of range");
        kv = { key, value: ownBytes(v as Uint8Array), createRevision, modRevision, version, lease };
      }
      h.revs.push(kv);
      s.records++;
      s.bytes += recordBytes(kv);
    }
    const latest = last(h);
    if (isLive(latest)) {
      s.liveKeys++;
      if (latest.lease !== 0) {
        const lease = s.leases.get(latest.lease);
        if (!lease) bad(`key refers to missing lease ${latest.lease}`);
        lease!.keys.add(skey);
      }
    }
    histories.push(h);
    s.byKey.set(skey, h);
    s.index.insert(h);
  }

  if (!Array.isArray(log) || log.length !== s.revision - s.logStart + 1) bad("log does not cover [compactRevision, revision]");
  let logged = 0;
  s.log = (log as unknown[]).map((entry, i) => {
    const rev = s.logStart + i;
    if (!Array.isArray(entry)) bad("log entry is not a list");
    return (entry as unknown[]).map((p) => {
      const h = histories[int(p, "log position")] ?? bad("log position out of range");
      const j = lastAtOrBelow(h.revs, rev);
      if (j < 0 || h.revs[j]!.modRevision !== rev) bad(`log names a key with no version at revision ${rev}`);
      logged++;
      return h;
    });
  });
  let expected = 0;
  for (const h of histories) for (const kv of h.revs) if (kv.modRevision >= s.logStart) expected++;
  if (logged !== expected) bad("log and key versions disagree");
  return s;
}
