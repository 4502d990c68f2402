// Snapshots of the MVCC store: an exact round trip (history, leases, counters,
// what the next write gets), determinism across stores fed the same commands,
// 100k keys, and refusal of malformed snapshots.

import { Buffer } from "node:buffer";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { type RequestOp, type StoreCommand, MvccStore, prefixRangeEnd } from "../../src/store/mvcc/index.js";

const b = (s: string): Buffer => Buffer.from(s);
const ALL = Buffer.from([0]);

/** A seeded generator of plausible commands, errors included (unknown leases, compacted revisions...). */
function commandSource(seed: number): (store: MvccStore) => StoreCommand {
  let state = seed >>> 0;
  const rnd = (n: number): number => {
    // xorshift32: deterministic and seedable.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % n;
  };
  const key = (): Buffer => b(`${["pods", "nodes", "leases"][rnd(3)]}/${rnd(30)}`);
  const put = (store: MvccStore): RequestOp & { type: "put" } => {
    const leases = store.leases();
    const lease = leases.length > 0 && rnd(3) === 0 ? leases[rnd(leases.length)]!.id : rnd(20) === 0 ? 424242 : 0;
    return { type: "put", request: { key: key(), value: b(`v${rnd(1000)}`), lease, prevKv: rnd(2) === 0 } };
  };
  return (store) => {
    const roll = rnd(100);
    if (roll < 45) return put(store);
    if (roll < 55) return { type: "deleteRange", request: { key: key() } };
    if (roll < 60) {
      const p = b(`${["pods", "nodes"][rnd(2)]}/1`);
      return { type: "deleteRange", request: { key: p, rangeEnd: prefixRangeEnd(p), prevKv: true } };
    }
    if (roll < 75) {
      const k = key();
      return {
        type: "txn",
        request: {
          compare: [{ key: k, target: "VERSION", result: rnd(2) === 0 ? "EQUAL" : "GREATER", version: rnd(3) }],
          success: [put(store), { type: "range", request: { key: b("pods/"), rangeEnd: prefixRangeEnd(b("pods/")), limit: 3 } }],
          failure: [{ type: "deleteRange", request: { key: k } }],
        },
      };
    }
    if (roll < 83) return { type: "leaseGrant", request: { id: rnd(4) === 0 ? 1 + rnd(50) : 0, ttl: rnd(60) } };
    if (roll < 88) {
      const leases = store.leases();
      return { type: "leaseRevoke", request: { id: leases.length > 0 ? leases[rnd(leases.length)]!.id : 7 } };
    }
    if (roll < 93) {
      const ids = store.leases().map((l) => l.id);
      return { type: "leaseExpire", request: { ids: ids.filter(() => rnd(2) === 0).concat([999_999]) } };
    }
    const { revision, compactRevision } = store;
    return { type: "compact", request: { revision: compactRevision + rnd(revision - compactRevision + 2) } };
  };
}

/** Every observable answer of a store, for comparing two of them. */
function observe(store: MvccStore): unknown {
  const reads: unknown[] = [];
  for (let rev = Math.max(1, store.compactRevision); rev <= store.revision; rev++) {
    const r = store.range({ key: b("\0"), rangeEnd: ALL, revision: rev });
    if (!r.ok) throw new Error(r.error.message);
    reads.push(r.value.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString(), kv.createRevision, kv.modRevision, kv.version, kv.lease]));
    reads.push(store.changesAt(rev)!.map((c) => [c.skey, c.kv.modRevision, c.prevKv?.modRevision ?? null]));
  }
  return { reads, leases: store.leases().map((l) => [l.id, l.ttl, l.keys.map((k) => Buffer.from(k).toString())]), status: store.status() };
}

describe("snapshot", () => {
  it("round-trips history, leases and counters; the restored store continues identically", () => {
    const a = new MvccStore();
    const next = commandSource(7);
    let index = 0;
    for (let i = 0; i < 600; i++) a.apply(next(a), ++index);
    const grant = a.apply({ type: "leaseGrant", request: { id: 0, ttl: 15 } }, ++index);
    if (!grant.ok) throw new Error(grant.error.message);
    for (const k of ["leases/held-1", "leases/held-2"]) {
      a.apply({ type: "put", request: { key: b(k), value: b("x"), lease: grant.value.id } }, ++index);
    }
    expect(a.compactRevision).toBeGreaterThan(0);
    expect(a.leases().some((l) => l.keys.length > 0)).toBe(true);

    const snap = a.snapshot();
    const r = MvccStore.restore(snap);
    expect(r.revision).toBe(a.revision);
    expect(r.compactRevision).toBe(a.compactRevision);
    expect(r.appliedIndex).toBe(index);
    expect(observe(r)).toEqual(observe(a));
    expect(Buffer.from(r.snapshot()).equals(Buffer.from(snap))).toBe(true);

    // Past the snapshot, both give the same answers to the same commands.
    for (let i = 0; i < 200; i++) {
      const cmd = next(a);
      ++index;
      expect(JSON.stringify(r.apply(cmd, index))).toBe(JSON.stringify(a.apply(cmd, index)));
    }
    expect(Buffer.from(r.snapshot()).equals(Buffer.from(a.snapshot()))).toBe(true);
  });

  it("restore() in place replaces the state", () => {
    const a = new MvccStore();
    a.apply({ type: "put", request: { key: b("a"), value: b("1") } }, 1);
    const other = new MvccStore();
    other.apply({ type: "put", request: { key: b("z"), value: b("9") } }, 1);
    other.apply({ type: "put", request: { key: b("z"), value: b("10") } }, 2);
    a.restore(other.snapshot());
    expect(a.revision).toBe(3);
    expect(a.range({ key: b("a") })).toMatchObject({ ok: true, value: { kvs: [] } });
    expect(a.appliedIndex).toBe(2);
  });

  it("is deterministic: stores fed the same random commands produce byte-identical snapshots", () => {
    for (const seed of [1, 2, 3, 99]) {
      const x = new MvccStore();
      const y = new MvccStore();
      const nextX = commandSource(seed);
      const nextY = commandSource(seed);
      let restoredMidway: MvccStore | null = null;
      const midCommands: StoreCommand[] = [];
      const outcomes = new Map<string, number>();
      for (let i = 1; i <= 800; i++) {
        const cx = nextX(x);
        const cy = nextY(y);
        const rx = x.apply(cx, i);
        expect(JSON.stringify(y.apply(cy, i))).toBe(JSON.stringify(rx));
        const outcome = `${cx.type}:${rx.ok ? "ok" : rx.error.code}`;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (i === 400) restoredMidway = MvccStore.restore(x.snapshot());
        if (i > 400) midCommands.push(cx);
      }
      // The sequence exercises every command, successes and refusals alike.
      for (const o of ["put:ok", "put:leaseNotFound", "deleteRange:ok", "txn:ok", "compact:ok", "compact:compacted", "leaseGrant:ok", "leaseRevoke:ok", "leaseExpire:ok"]) {
        expect(outcomes.get(o), `${o} with seed ${seed}`).toBeGreaterThan(0);
      }
      midCommands.forEach((cmd, j) => restoredMidway!.apply(cmd, 401 + j));
      const sx = Buffer.from(x.snapshot());
      expect(Buffer.from(y.snapshot()).equals(sx)).toBe(true);
      expect(Buffer.from(restoredMidway!.snapshot()).equals(sx)).toBe(true);
    }
  });

  it("a store restored from a snapshot revokes a lease exactly like the original (keys in key order)", () => {
    const leader = new MvccStore();
    let index = 0;
    const grant = leader.apply({ type: "leaseGrant", request: { id: 0, ttl: 10 } }, ++index);
    if (!grant.ok) throw new Error(grant.error.message);
    for (const k of ["z", "a", "m"]) leader.apply({ type: "put", request: { key: b(k), value: b(k), lease: grant.value.id } }, ++index);
    const follower = MvccStore.restore(leader.snapshot());
    const revoke: StoreCommand = { type: "leaseRevoke", request: { id: grant.value.id } };
    ++index;
    leader.apply(revoke, index);
    follower.apply(revoke, index);
    expect(leader.changesAt(leader.revision)!.map((c) => c.skey)).toEqual(["a", "m", "z"]);
    expect(Buffer.from(follower.snapshot()).equals(Buffer.from(leader.snapshot()))).toBe(true);
  });

  it("handles 100k keys", () => {
    const s = new MvccStore();
    const value = Buffer.alloc(256, 7);
    let index = 0;
    for (let i = 0; i < 100_000; i++) {
      s.apply({ type: "put", request: { key: b(`/registry/pods/default/p${i}`), value } }, ++index);
    }
    for (let i = 0; i < 1000; i++) s.apply({ type: "put", request: { key: b(`/registry/pods/default/p${i}`), value: b(`new${i}`) } }, ++index);
    const snap = s.snapshot();
    const r = MvccStore.restore(snap);
    expect(r.status()).toEqual(s.status());
    expect(r.range({ key: b("/registry/"), rangeEnd: prefixRangeEnd(b("/registry/")), countOnly: true })).toMatchObject({ ok: true, value: { count: 100_000 } });
    const old = r.range({ key: b("/registry/pods/default/p5"), revision: 100_001 });
    expect(old.ok && Buffer.from(old.value.kvs[0]!.value).equals(value)).toBe(true);
    expect(snap.byteLength).toBeLessThan(100_000 * 340);
  });

  it("refuses a malformed snapshot with a clear error", () => {
    const s = new MvccStore();
    s.apply({ type: "put", request: { key: b("a"), value: b("1") } }, 1);
    const good = Buffer.from(s.snapshot());
    expect(() => MvccStore.restore(Buffer.from([1, 2, 3]))).toThrow(/mvcc snapshot/);
    expect(() => MvccStore.restore(good.subarray(0, good.length - 3))).toThrow(/mvcc snapshot/);
    const packr = new Packr({ useRecords: false });
    const raw = packr.unpack(good) as unknown[];
    const bad = [...raw];
    bad[3] = 99; // revision no longer matches the log
    expect(() => MvccStore.restore(packr.pack(bad))).toThrow(/log does not cover/);
    const badLease = [...raw];
    badLease[5] = [[b("a"), 2, 2, 1, 12345, b("1")]]; // key on a lease that does not exist
    expect(() => MvccStore.restore(packr.pack(badLease))).toThrow(/missing lease 12345/);
  });
});
