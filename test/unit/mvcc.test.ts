// The MVCC state machine: revisions, versions, ranges, past reads, compaction,
// txns, leases and the command codec, checked against etcd v3 semantics.

import { Buffer } from "node:buffer";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  type Compare,
  type DeleteRangeRequest,
  type KeyValue,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type StoreCommand,
  type StoreResult,
  CommandDecodeError,
  MIN_LEASE_TTL_SECONDS,
  MvccStore,
  decodeCommand,
  encodeCommand,
  prefixRangeEnd,
} from "../../src/store/mvcc/index.js";
import { OrderedIndex } from "../../src/store/mvcc/ordered-index.js";

const b = (s: string): Buffer => Buffer.from(s);
const str = (u: Uint8Array): string => Buffer.from(u).toString();
const ALL = Buffer.from([0]);

/** A store plus a raft index counter, with one-line helpers for each command. */
class Cluster {
  readonly store = new MvccStore();
  private index = 0;

  apply<C extends StoreCommand>(cmd: C): StoreResult<C> {
    return this.store.apply(cmd, ++this.index);
  }
  put(key: string, value: string, opts: Omit<PutRequest, "key" | "value"> = {}) {
    return unwrap(this.apply({ type: "put", request: { key: b(key), value: b(value), ...opts } }));
  }
  del(key: string, rangeEnd?: Uint8Array, opts: Omit<DeleteRangeRequest, "key" | "rangeEnd"> = {}) {
    return unwrap(this.apply({ type: "deleteRange", request: { key: b(key), ...(rangeEnd ? { rangeEnd } : {}), ...opts } }));
  }
  get(key: string, opts: Omit<RangeRequest, "key"> = {}) {
    return unwrap(this.store.range({ key: b(key), ...opts }));
  }
  one(key: string, revision?: number): KeyValue | undefined {
    return this.get(key, revision ? { revision } : {}).kvs[0];
  }
  txn(compare: Compare[], success: RequestOp[], failure: RequestOp[] = []) {
    return this.apply({ type: "txn", request: { compare, success, failure } });
  }
  compact(revision: number) {
    return this.apply({ type: "compact", request: { revision } });
  }
  grant(ttl: number, id = 0) {
    return this.apply({ type: "leaseGrant", request: { id, ttl } });
  }
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`unexpected store error ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function errorCode(r: { ok: boolean; error?: { code: string } }): string | undefined {
  return r.ok ? undefined : r.error!.code;
}

const keysOf = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => str(kv.key));
const putOp = (key: string, value: string, extra: Partial<PutRequest> = {}): RequestOp => ({ type: "put", request: { key: b(key), value: b(value), ...extra } });
const delOp = (key: string, rangeEnd?: Uint8Array): RequestOp => ({ type: "deleteRange", request: { key: b(key), ...(rangeEnd ? { rangeEnd } : {}) } });
const rangeOp = (key: string, extra: Partial<RangeRequest> = {}): RequestOp => ({ type: "range", request: { key: b(key), ...extra } });

describe("revisions and versions", () => {
  it("an empty store is at revision 1 and every put creates the next revision", () => {
    const c = new Cluster();
    expect(c.store.revision).toBe(1);
    expect(c.put("a", "1").revision).toBe(2);
    expect(c.put("a", "1").revision).toBe(3); // a put always bumps, even with the same value
    expect(c.put("b", "x").revision).toBe(4);
    expect(c.store.revision).toBe(4);
  });

  it("createRevision stays, modRevision and version move with each put", () => {
    const c = new Cluster();
    c.put("a", "1");
    c.put("a", "2");
    c.put("a", "3");
    const kv = c.one("a")!;
    expect([kv.createRevision, kv.modRevision, kv.version, str(kv.value)]).toEqual([2, 4, 3, "3"]);
  });

  it("a key deleted and recreated starts a new generation: version 1, new createRevision", () => {
    const c = new Cluster();
    c.put("a", "1");
    c.put("a", "2");
    const del = c.del("a", undefined, { prevKv: true });
    expect(del).toMatchObject({ revision: 4, deleted: 1 });
    expect(str(del.prevKvs[0]!.value)).toBe("2");
    expect(c.one("a")).toBeUndefined();
    c.put("a", "new");
    const kv = c.one("a")!;
    expect([kv.createRevision, kv.modRevision, kv.version]).toEqual([5, 5, 1]);
    // The old generation is still readable in the past.
    expect(str(c.one("a", 3)!.value)).toBe("2");
    expect(c.one("a", 4)).toBeUndefined();
  });

  it("a deleteRange that deletes nothing does not create a revision", () => {
    const c = new Cluster();
    c.put("a", "1");
    expect(c.del("zzz")).toEqual({ revision: 2, deleted: 0, prevKvs: [] });
    expect(c.del("x", b("y"))).toMatchObject({ revision: 2, deleted: 0 });
    expect(c.store.revision).toBe(2);
  });

  it("a deleteRange of several keys deletes them all in one revision", () => {
    const c = new Cluster();
    for (const k of ["k1", "k2", "k3", "l1"]) c.put(k, k);
    const r = c.del("k", prefixRangeEnd(b("k")), { prevKv: true });
    expect(r.revision).toBe(6);
    expect(r.deleted).toBe(3);
    expect(keysOf(r.prevKvs)).toEqual(["k1", "k2", "k3"]);
    expect(keysOf(c.get("\0", { rangeEnd: ALL }).kvs)).toEqual(["l1"]);
  });

  it("put returns the previous version when asked, and ignoreValue/ignoreLease keep the current ones", () => {
    const c = new Cluster();
    expect(c.put("a", "1", { prevKv: true }).prevKv).toBeUndefined();
    const r = c.put("a", "2", { prevKv: true });
    expect(str(r.prevKv!.value)).toBe("1");
    c.put("a", "", { ignoreValue: true });
    expect(str(c.one("a")!.value)).toBe("2");
    expect(c.one("a")!.version).toBe(3);
    expect(errorCode(c.apply({ type: "put", request: { key: b("missing"), value: b(""), ignoreValue: true } }))).toBe("keyNotFound");
    expect(errorCode(c.apply({ type: "put", request: { key: b("a"), value: b("x"), ignoreValue: true } }))).toBe("invalidArgument");
  });

  it("an empty key is an invalid argument for every request, and the entry still counts as applied", () => {
    const c = new Cluster();
    expect(errorCode(c.apply({ type: "put", request: { key: b(""), value: b("v") } }))).toBe("invalidArgument");
    expect(errorCode(c.apply({ type: "deleteRange", request: { key: b("") } }))).toBe("invalidArgument");
    expect(errorCode(c.store.range({ key: b("") }))).toBe("invalidArgument");
    expect(c.store.revision).toBe(1);
    expect(c.store.appliedIndex).toBe(2);
  });

  it("the raft index must move forward: applying an index twice is a driver bug and throws", () => {
    const s = new MvccStore();
    s.apply({ type: "put", request: { key: b("a"), value: b("1") } }, 5);
    expect(() => s.apply({ type: "put", request: { key: b("a"), value: b("2") } }, 5)).toThrow(/not after the last applied index 5/);
    s.markApplied(6);
    expect(s.appliedIndex).toBe(6);
  });
});

describe("range forms", () => {
  /** Eight keys, written at revisions 2..9 in this order. */
  function fixture(): Cluster {
    const c = new Cluster();
    for (const k of ["a", "b", "ba", "bb", "bc", "c", "d\xff", "e"]) c.put(k, `v-${k}`);
    return c;
  }

  it("reads a single key, and nothing for a missing one", () => {
    const c = fixture();
    expect(keysOf(c.get("bb").kvs)).toEqual(["bb"]);
    expect(c.get("bb").count).toBe(1);
    expect(c.get("nope")).toMatchObject({ kvs: [], count: 0, more: false, revision: 9 });
  });

  it("reads a prefix (key + 1 as rangeEnd)", () => {
    const c = fixture();
    expect(keysOf(c.get("b", { rangeEnd: prefixRangeEnd(b("b")) }).kvs)).toEqual(["b", "ba", "bb", "bc"]);
    expect(str(prefixRangeEnd(Buffer.from([0x61, 0x62, 0xff])))).toBe("ac");
    expect([...prefixRangeEnd(Buffer.from([0xff, 0xff]))]).toEqual([0]);
  });

  it("reads [key, rangeEnd) and nothing when rangeEnd <= key", () => {
    const c = fixture();
    expect(keysOf(c.get("ba", { rangeEnd: b("c") }).kvs)).toEqual(["ba", "bb", "bc"]);
    expect(c.get("c", { rangeEnd: b("b") }).kvs).toEqual([]);
  });

  it("reads every key >= key with rangeEnd \\0, and every key with key \\0 too", () => {
    const c = fixture();
    expect(keysOf(c.get("c", { rangeEnd: ALL }).kvs)).toEqual(["c", "d\xff", "e"]);
    expect(c.get("\0", { rangeEnd: ALL }).count).toBe(8);
  });

  it("limit cuts the answer, sets more and keeps the full count", () => {
    const c = fixture();
    const r = c.get("b", { rangeEnd: b("c"), limit: 2 });
    expect(keysOf(r.kvs)).toEqual(["b", "ba"]);
    expect(r.more).toBe(true);
    expect(r.count).toBe(4);
    const exact = c.get("b", { rangeEnd: b("c"), limit: 4 });
    expect(exact.more).toBe(false);
    expect(exact.kvs).toHaveLength(4);
  });

  it("countOnly gives the count without kvs; keysOnly gives kvs without values", () => {
    const c = fixture();
    expect(c.get("\0", { rangeEnd: ALL, countOnly: true })).toMatchObject({ kvs: [], count: 8, more: false });
    const r = c.get("b", { rangeEnd: b("c"), keysOnly: true });
    expect(keysOf(r.kvs)).toEqual(["b", "ba", "bb", "bc"]);
    expect(r.kvs.every((kv) => kv.value.byteLength === 0 && kv.modRevision > 0)).toBe(true);
  });

  it("sorts by key descending, and by a non-key target ascending by default", () => {
    const c = fixture();
    expect(keysOf(c.get("b", { rangeEnd: b("c"), sortOrder: "DESCEND" }).kvs)).toEqual(["bc", "bb", "ba", "b"]);
    const d = new Cluster();
    d.put("x", "1");
    d.put("y", "1");
    d.put("x", "2");
    expect(keysOf(d.get("\0", { rangeEnd: ALL, sortTarget: "MOD" }).kvs)).toEqual(["y", "x"]);
    expect(keysOf(d.get("\0", { rangeEnd: ALL, sortTarget: "VERSION", sortOrder: "DESCEND", limit: 1 }).kvs)).toEqual(["x"]);
  });

  it("filters on mod and create revision without changing count", () => {
    const c = fixture();
    const r = c.get("\0", { rangeEnd: ALL, minModRevision: 4, maxModRevision: 6 });
    expect(keysOf(r.kvs)).toEqual(["ba", "bb", "bc"]);
    expect(r.count).toBe(8);
  });
});

describe("reads at past revisions", () => {
  it("answer with the state as it was, and the current revision in the header", () => {
    const c = new Cluster();
    c.put("a", "1"); // 2
    c.put("b", "1"); // 3
    c.put("a", "2"); // 4
    c.del("b"); // 5
    expect(c.get("\0", { rangeEnd: ALL, revision: 1 }).kvs).toEqual([]);
    expect(keysOf(c.get("\0", { rangeEnd: ALL, revision: 3 }).kvs)).toEqual(["a", "b"]);
    expect(str(c.one("a", 3)!.value)).toBe("1");
    const at5 = c.get("\0", { rangeEnd: ALL, revision: 5 });
    expect(keysOf(at5.kvs)).toEqual(["a"]);
    expect(at5.revision).toBe(5);
    expect(c.get("a", { revision: 2 }).revision).toBe(5);
  });

  it("refuse a future revision", () => {
    const c = new Cluster();
    c.put("a", "1");
    expect(errorCode(c.store.range({ key: b("a"), revision: 3 }))).toBe("futureRevision");
  });
});

describe("compaction", () => {
  function history(): Cluster {
    const c = new Cluster();
    c.put("a", "1"); // 2
    c.put("a", "2"); // 3
    c.put("gone", "x"); // 4
    c.del("gone"); // 5
    c.put("a", "3"); // 6
    c.put("b", "1"); // 7
    return c;
  }

  it("refuses reads below the compact revision and keeps every live key's latest version", () => {
    const c = history();
    expect(unwrap(c.compact(6)).revision).toBe(7);
    expect(c.store.compactRevision).toBe(6);
    const r = c.store.range({ key: b("a"), revision: 5 });
    expect(r).toMatchObject({ ok: false, error: { code: "compacted", compactRevision: 6 } });
    expect(str(c.one("a", 6)!.value)).toBe("3");
    expect(keysOf(c.get("\0", { rangeEnd: ALL, revision: 6 }).kvs)).toEqual(["a"]);
    expect(keysOf(c.get("\0", { rangeEnd: ALL }).kvs)).toEqual(["a", "b"]);
    // The deleted key's history is gone, the overwritten versions too.
    expect(c.store.status()).toMatchObject({ indexedKeys: 2, liveKeys: 2, records: 2 });
  });

  it("keeps the latest version of a key that was not written since", () => {
    const c = history();
    unwrap(c.compact(3));
    unwrap(c.compact(7));
    expect(str(c.one("a")!.value)).toBe("3");
    expect(c.one("a")!.createRevision).toBe(2);
    expect(c.one("a")!.version).toBe(3);
    expect(c.store.status().records).toBe(2);
  });

  it("refuses a revision already compacted and a future one", () => {
    const c = history();
    unwrap(c.compact(4));
    expect(c.compact(4)).toMatchObject({ ok: false, error: { code: "compacted", compactRevision: 4 } });
    expect(c.compact(3)).toMatchObject({ ok: false, error: { code: "compacted" } });
    expect(errorCode(c.compact(8))).toBe("futureRevision");
    expect(c.store.revision).toBe(7); // compaction never creates a revision
  });

  it("frees old versions: many overwrites with periodic compaction hold one version per key", () => {
    const c = new Cluster();
    for (let i = 0; i < 2000; i++) {
      c.put(`k${i % 50}`, `v${i}`);
      if (i % 300 === 299) unwrap(c.compact(c.store.revision));
    }
    unwrap(c.compact(c.store.revision));
    expect(c.store.status()).toMatchObject({ liveKeys: 50, indexedKeys: 50, records: 50 });
  });
});

describe("txn", () => {
  const v = (key: string, result: Compare["result"], value: string): Compare => ({ key: b(key), target: "VALUE", result, value: b(value) });
  const ver = (key: string, result: Compare["result"], version: number): Compare => ({ key: b(key), target: "VERSION", result, version });

  it("runs success when every compare holds; its writes share one new revision", () => {
    const c = new Cluster();
    c.put("a", "1"); // 2
    const r = unwrap(c.txn([v("a", "EQUAL", "1")], [putOp("a", "2"), putOp("b", "2"), delOp("zz")]));
    expect(r.succeeded).toBe(true);
    expect(r.revision).toBe(3);
    expect(r.responses.map((x) => [x.type, x.response.revision])).toEqual([
      ["put", 3],
      ["put", 3],
      ["deleteRange", 3],
    ]);
    expect(c.one("a")!.modRevision).toBe(3);
    expect(c.one("b")!.modRevision).toBe(3);
    expect(c.store.revision).toBe(3);
  });

  it("runs failure when a compare fails", () => {
    const c = new Cluster();
    c.put("a", "1");
    const r = unwrap(c.txn([v("a", "EQUAL", "nope")], [putOp("a", "s")], [putOp("a", "f"), rangeOp("a")]));
    expect(r.succeeded).toBe(false);
    expect(str(c.one("a")!.value)).toBe("f");
    // A range after a put in the same txn sees the put.
    const range = r.responses[1]!;
    expect(range.type === "range" && str(range.response.kvs[0]!.value)).toBe("f");
  });

  it("does not create a revision when its branch writes nothing", () => {
    const c = new Cluster();
    c.put("a", "1");
    expect(unwrap(c.txn([ver("a", "GREATER", 0)], [rangeOp("a"), delOp("missing")])).revision).toBe(2);
    expect(unwrap(c.txn([ver("a", "EQUAL", 9)], [putOp("a", "x")])).revision).toBe(2);
    expect(c.store.revision).toBe(2);
  });

  it("compares version, createRevision, modRevision and lease; a missing key counts as zeros", () => {
    const c = new Cluster();
    c.put("a", "1"); // 2
    c.put("a", "2"); // 3
    const check = (cmp: Compare): boolean => unwrap(c.txn([cmp], [])).succeeded;
    expect(check(ver("a", "EQUAL", 2))).toBe(true);
    expect(check(ver("a", "LESS", 2))).toBe(false);
    expect(check(ver("a", "GREATER", 2))).toBe(false);
    expect(check({ key: b("a"), target: "CREATE", result: "EQUAL", createRevision: 2 })).toBe(true);
    expect(check({ key: b("a"), target: "MOD", result: "GREATER", modRevision: 2 })).toBe(true);
    expect(check({ key: b("a"), target: "MOD", result: "NOT_EQUAL", modRevision: 3 })).toBe(false);
    expect(check({ key: b("a"), target: "LEASE", result: "EQUAL", lease: 0 })).toBe(true);
    expect(check(v("a", "GREATER", "1"))).toBe(true);
    expect(check(v("a", "LESS", "10"))).toBe(false);
    // "create if absent": version == 0 on a missing key holds; a VALUE compare on it never does.
    expect(check(ver("missing", "EQUAL", 0))).toBe(true);
    expect(check({ key: b("missing"), target: "CREATE", result: "EQUAL", createRevision: 0 })).toBe(true);
    expect(check(v("missing", "EQUAL", ""))).toBe(false);
    expect(check(v("missing", "NOT_EQUAL", "x"))).toBe(false);
  });

  it("a compare over a range must hold for every key in it", () => {
    const c = new Cluster();
    c.put("p/1", "x");
    c.put("p/2", "x");
    const all = (value: string): Compare => ({ key: b("p/"), rangeEnd: prefixRangeEnd(b("p/")), target: "VALUE", result: "EQUAL", value: b(value) });
    expect(unwrap(c.txn([all("x")], [])).succeeded).toBe(true);
    c.put("p/3", "y");
    expect(unwrap(c.txn([all("x")], [])).succeeded).toBe(false);
  });

  it("nested txns choose their branch on the state before the outer txn", () => {
    const c = new Cluster();
    const inner: RequestOp = { type: "txn", request: { compare: [ver("n", "EQUAL", 0)], success: [putOp("inner", "absent")], failure: [putOp("inner", "present")] } };
    const r = unwrap(c.txn([], [putOp("n", "1"), inner]));
    expect(r.revision).toBe(2);
    expect(str(c.one("inner")!.value)).toBe("absent");
    const nested = r.responses[1]!;
    expect(nested.type === "txn" && nested.response).toMatchObject({ succeeded: true, revision: 2 });
  });

  it("refuses a txn that writes one key twice (duplicateKey), also across nesting", () => {
    const c = new Cluster();
    expect(errorCode(c.txn([], [putOp("a", "1"), putOp("a", "2")]))).toBe("duplicateKey");
    expect(errorCode(c.txn([], [delOp("a", b("c")), putOp("b", "1")]))).toBe("duplicateKey");
    const nestedPut: RequestOp = { type: "txn", request: { compare: [], success: [putOp("a", "x")], failure: [] } };
    expect(errorCode(c.txn([], [putOp("a", "1"), nestedPut]))).toBe("duplicateKey");
    // Overlapping deletes are fine, and so are the two branches of one nested txn.
    c.put("a", "1");
    expect(unwrap(c.txn([], [delOp("a", b("c")), delOp("a")])).responses.map((x) => x.type === "deleteRange" && x.response.deleted)).toEqual([1, 0]);
    const both: RequestOp = { type: "txn", request: { compare: [], success: [putOp("k", "s")], failure: [putOp("k", "f")] } };
    expect(unwrap(c.txn([], [both])).succeeded).toBe(true);
  });

  it("fails as a whole, writing nothing, when an op of the chosen branch is refused", () => {
    const c = new Cluster();
    c.put("a", "1");
    const r = c.txn([], [putOp("a", "2"), putOp("b", "1", { lease: 777 })]);
    expect(errorCode(r)).toBe("leaseNotFound");
    expect(str(c.one("a")!.value)).toBe("1");
    expect(c.store.revision).toBe(2);
    expect(errorCode(c.txn([], [rangeOp("a", { revision: 99 })]))).toBe("futureRevision");
    // The branch that does not run is not checked.
    expect(unwrap(c.txn([ver("a", "EQUAL", 5)], [putOp("b", "1", { lease: 777 })], [])).succeeded).toBe(false);
  });

  it("refuses more than MAX_TXN_OPS ops", () => {
    const c = new Cluster();
    const ops = Array.from({ length: 129 }, (_, i) => putOp(`k${i}`, "v"));
    expect(errorCode(c.txn([], ops))).toBe("tooManyOps");
  });
});

describe("leases", () => {
  it("grant picks an ID from the raft index, raises a short TTL and does not create a revision", () => {
    const c = new Cluster();
    c.put("x", "1"); // raft index 1
    const g = unwrap(c.grant(1)); // raft index 2
    expect(g).toEqual({ id: 2, ttl: MIN_LEASE_TTL_SECONDS, revision: 2 });
    expect(unwrap(c.grant(30, 2 ** 40)).id).toBe(2 ** 40);
    expect(errorCode(c.grant(30, 2))).toBe("leaseExists");
    expect(errorCode(c.grant(10_000_000_000))).toBe("leaseTtlTooLarge");
    expect(c.store.revision).toBe(2);
  });

  it("keys attached to a lease are listed, and move when re-put with another lease or none", () => {
    const c = new Cluster();
    const l1 = unwrap(c.grant(10)).id;
    const l2 = unwrap(c.grant(20)).id;
    c.put("n/b", "1", { lease: l1 });
    c.put("n/a", "1", { lease: l1 });
    c.put("n/c", "1", { lease: l2 });
    expect(c.store.leases().map((l) => [l.id, l.ttl, l.keys.map(str)])).toEqual([
      [l1, 10, ["n/a", "n/b"]],
      [l2, 20, ["n/c"]],
    ]);
    c.put("n/b", "2", { lease: l2 });
    c.put("n/a", "2", { ignoreLease: true });
    expect(c.one("n/a")!.lease).toBe(l1);
    c.put("n/a", "3");
    expect(c.store.lease(l1)!.keys).toEqual([]);
    expect(unwrap(c.store.timeToLive({ id: l2, keys: true })).keys.map(str)).toEqual(["n/b", "n/c"]);
    expect(unwrap(c.store.timeToLive({ id: l2 }))).toMatchObject({ id: l2, grantedTtl: 20, keys: [] });
    expect(errorCode(c.store.timeToLive({ id: 12345 }))).toBe("leaseNotFound");
  });

  it("revoke deletes every attached key in one revision", () => {
    const c = new Cluster();
    const id = unwrap(c.grant(10)).id;
    c.put("a", "1", { lease: id }); // 2
    c.put("b", "1", { lease: id }); // 3
    c.put("c", "1"); // 4
    const r = unwrap(c.apply({ type: "leaseRevoke", request: { id } }));
    expect(r.revision).toBe(5);
    expect(keysOf(c.get("\0", { rangeEnd: ALL }).kvs)).toEqual(["c"]);
    expect(c.one("a", 4)).toBeDefined();
    expect(c.store.leases()).toEqual([]);
    expect(errorCode(c.apply({ type: "leaseRevoke", request: { id } }))).toBe("leaseNotFound");
    // A lease without keys is revoked without a revision.
    const empty = unwrap(c.grant(10)).id;
    expect(unwrap(c.apply({ type: "leaseRevoke", request: { id: empty } })).revision).toBe(5);
  });

  it("expire revokes several leases in one revision and skips IDs already gone", () => {
    const c = new Cluster();
    const l1 = unwrap(c.grant(10)).id;
    const l2 = unwrap(c.grant(10)).id;
    const l3 = unwrap(c.grant(10)).id;
    c.put("x", "1", { lease: l1 });
    c.put("y", "1", { lease: l2 });
    c.put("z", "1", { lease: l3 });
    const r = unwrap(c.apply({ type: "leaseExpire", request: { ids: [l2, 999, l1, l2] } }));
    expect(r).toEqual({ revision: 5, revoked: [l2, l1] });
    expect(keysOf(c.get("\0", { rangeEnd: ALL }).kvs)).toEqual(["z"]);
    expect(c.store.leases().map((l) => l.id)).toEqual([l3]);
  });

  it("a put with an unknown lease is refused", () => {
    const c = new Cluster();
    expect(errorCode(c.apply({ type: "put", request: { key: b("a"), value: b("1"), lease: 42 } }))).toBe("leaseNotFound");
    expect(c.store.revision).toBe(1);
  });
});

describe("command codec", () => {
  const commands: StoreCommand[] = [
    { type: "put", request: { key: b("a"), value: b("\x00\xff binary"), lease: 7, prevKv: true } },
    { type: "deleteRange", request: { key: b("a"), rangeEnd: ALL, prevKv: false } },
    {
      type: "txn",
      request: {
        compare: [
          { key: b("a"), target: "VALUE", result: "EQUAL", value: b("x") },
          { key: b("a"), rangeEnd: b("b"), target: "MOD", result: "LESS", modRevision: 2 ** 40 },
        ],
        success: [putOp("a", "y"), rangeOp("a", { limit: 3, sortOrder: "DESCEND", sortTarget: "MOD", keysOnly: true })],
        failure: [{ type: "txn", request: { compare: [], success: [delOp("q")], failure: [] } }],
      },
    },
    { type: "compact", request: { revision: 12 } },
    { type: "leaseGrant", request: { id: 0, ttl: 30 } },
    { type: "leaseRevoke", request: { id: 5 } },
    { type: "leaseExpire", request: { ids: [1, 2, 3] } },
  ];

  it("round-trips every command type", () => {
    for (const cmd of commands) {
      const back = decodeCommand(encodeCommand(cmd));
      expect(JSON.parse(JSON.stringify(back))).toEqual(JSON.parse(JSON.stringify(cmd)));
      expect(encodeCommand(back)).toEqual(encodeCommand(cmd));
    }
  });

  it("rejects malformed commands with an error naming the field", () => {
    const raw = (x: unknown): Uint8Array => new Packr({ useRecords: false }).pack(x);
    expect(() => decodeCommand(Buffer.from([0xc1]))).toThrow(CommandDecodeError);
    expect(() => decodeCommand(raw({ type: "put" }))).toThrow(/expected \[format, type, request\]/);
    expect(() => decodeCommand(raw([2, "put", {}]))).toThrow(/unknown format 2/);
    expect(() => decodeCommand(raw([1, "explode", {}]))).toThrow(/unknown command type "explode"/);
    expect(() => decodeCommand(raw([1, "put", { key: "a", value: b("1") }]))).toThrow(/command\.request\.key: expected bytes/);
    expect(() => decodeCommand(raw([1, "compact", { revision: 1.5 }]))).toThrow(/revision: expected a safe integer/);
    expect(() =>
      decodeCommand(raw([1, "txn", { compare: [], success: [{ type: "put", request: { key: b("k"), value: b("v"), lease: "x" } }], failure: [] }])),
    ).toThrow(/command\.request\.success\[0\]\.request\.lease/);
    expect(() => decodeCommand(raw([1, "txn", { compare: [{ key: b("k"), target: "COLOR", result: "EQUAL" }], success: [], failure: [] }]))).toThrow(
      /compare\[0\]\.target: unknown compare target/,
    );
  });
});

describe("key index", () => {
  it("stays in key order under random inserts and removes, and scans [start, end) exactly", () => {
    const index = new OrderedIndex<{ skey: string }>();
    const model = new Set<string>();
    let seed = 5;
    const rnd = (n: number): number => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    const keyOf = (n: number): string => `k${String(n).padStart(5, "0")}`;
    for (let step = 0; step < 30_000; step++) {
      const k = keyOf(rnd(5000));
      // Grow first, then shrink hard, so blocks split and merge.
      if (rnd(100) < (step < 15_000 ? 70 : 5)) {
        if (!model.has(k)) {
          index.insert({ skey: k });
          model.add(k);
        }
      } else {
        expect(index.remove(k)).toBe(model.delete(k));
      }
    }
    const sorted = [...model].sort();
    expect([...index].map((x) => x.skey)).toEqual(sorted);
    expect(index.size).toBe(sorted.length);
    for (let i = 0; i < 200; i++) {
      const start = keyOf(rnd(5200));
      const end = rnd(4) === 0 ? null : keyOf(rnd(5200));
      const got: string[] = [];
      index.scan(start, end, (x) => void got.push(x.skey));
      expect(got).toEqual(sorted.filter((k) => k >= start && (end === null || k < end)));
    }
  });
});
