// Watches: replay from a past revision then live, in revision order with no
// gap and no duplicate; range filtering; compacted start revisions; cancel;
// slow consumers; a store restored under a watch.

import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import {
  type CommandResponses,
  type StoreCommand,
  type WatchCancelReason,
  type WatchEvent,
  type WatchHandle,
  type WatchRequest,
  MvccStore,
  WatchHub,
  prefixRangeEnd,
} from "../../src/store/mvcc/index.js";

const b = (s: string): Buffer => Buffer.from(s);
const str = (u: Uint8Array): string => Buffer.from(u).toString();

/** A store fed through a raft-index counter, a manual-step hub, and recorders. */
class Fixture {
  readonly store = new MvccStore();
  readonly hub: WatchHub;
  private index = 0;

  constructor(opts: { maxPendingEvents?: number; replayRevisionsPerStep?: number } = {}) {
    this.hub = new WatchHub(this.store, { scheduling: "manual", ...opts });
  }
  apply<C extends StoreCommand>(cmd: C): CommandResponses[C["type"]] {
    const r = this.store.apply(cmd, ++this.index);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  }
  put(key: string, value: string): CommandResponses["put"] {
    return this.apply({ type: "put", request: { key: b(key), value: b(value) } });
  }
  del(key: string, rangeEnd?: Uint8Array): CommandResponses["deleteRange"] {
    return this.apply({ type: "deleteRange" as const, request: { key: b(key), ...(rangeEnd ? { rangeEnd } : {}) } });
  }
  watch(req: Partial<WatchRequest> & { key: Uint8Array }, consumer?: (events: WatchEvent[], revision: number) => boolean | void): Recorder {
    const rec = new Recorder();
    rec.handle = this.hub.watch(
      req,
      (events, revision) => {
        rec.batches.push({ revision, events });
        return consumer?.(events, revision);
      },
      (reason) => rec.cancels.push(reason),
    );
    return rec;
  }
}

class Recorder {
  handle!: WatchHandle;
  batches: { revision: number; events: WatchEvent[] }[] = [];
  cancels: WatchCancelReason[] = [];
  /** "rev:TYPE:key=value" per event, in delivery order. */
  lines(): string[] {
    return this.batches.flatMap((bt) => bt.events.map((e) => `${e.kv.modRevision}:${e.type}:${str(e.kv.key)}=${str(e.kv.value)}`));
  }
}

describe("watch", () => {
  it("replays history from a past revision, then continues live", () => {
    const f = new Fixture();
    f.put("a", "1"); // 2
    f.put("b", "1"); // 3
    f.del("a"); // 4
    const w = f.watch({ key: b("\0"), rangeEnd: Buffer.from([0]), startRevision: 3 });
    expect(w.batches).toEqual([]); // nothing is delivered from inside watch()
    f.hub.drain();
    f.put("c", "1"); // 5
    expect(w.lines()).toEqual(["3:PUT:b=1", "4:DELETE:a=", "5:PUT:c=1"]);
    expect(w.handle.nextRevision).toBe(6);
  });

  it("from revision 0 delivers only what comes next", () => {
    const f = new Fixture();
    f.put("a", "1");
    const w = f.watch({ key: b("a") });
    f.hub.drain();
    f.put("a", "2");
    expect(w.lines()).toEqual(["3:PUT:a=2"]);
  });

  it("delivers all events of one revision together, and filters by key range", () => {
    const f = new Fixture();
    const pods = f.watch({ key: b("pods/"), rangeEnd: prefixRangeEnd(b("pods/")) });
    const single = f.watch({ key: b("pods/x") });
    f.apply({
      type: "txn",
      request: {
        compare: [],
        success: [
          { type: "put", request: { key: b("pods/x"), value: b("1") } },
          { type: "put", request: { key: b("nodes/n1"), value: b("1") } },
          { type: "put", request: { key: b("pods/y"), value: b("1") } },
        ],
        failure: [],
      },
    });
    f.put("podsX", "outside the prefix");
    expect(pods.batches).toHaveLength(1);
    expect(pods.batches[0]!.revision).toBe(2);
    expect(pods.lines()).toEqual(["2:PUT:pods/x=1", "2:PUT:pods/y=1"]);
    expect(single.lines()).toEqual(["2:PUT:pods/x=1"]);
  });

  it("includes prevKv on request and applies NOPUT/NODELETE filters", () => {
    const f = new Fixture();
    const withPrev = f.watch({ key: b("k"), prevKv: true });
    const deletesOnly = f.watch({ key: b("k"), filters: ["NOPUT"] });
    f.put("k", "1");
    f.put("k", "2");
    f.del("k");
    expect(withPrev.batches.map((bt) => bt.events[0]!.prevKv && str(bt.events[0]!.prevKv.value))).toEqual([undefined, "1", "2"]);
    expect(deletesOnly.lines()).toEqual(["4:DELETE:k="]);
  });

  it("never gaps or duplicates: watchers started anywhere see exactly the history after their start", () => {
    const f = new Fixture({ replayRevisionsPerStep: 7 });
    const expected: string[] = []; // every event, in order
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const watchers: { start: number; rec: ReturnType<Fixture["watch"]> }[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = `k${rnd(40)}`;
      if (rnd(5) === 0) {
        const r = f.del(key);
        if (r.deleted > 0) expected.push(`${r.revision}:DELETE:${key}=`);
      } else {
        const r = f.put(key, `v${i}`);
        expected.push(`${r.revision}:PUT:${key}=v${i}`);
      }
      if (i % 97 === 0) {
        const start = 1 + rnd(f.store.revision + 3);
        watchers.push({ start, rec: f.watch({ key: b("k"), rangeEnd: prefixRangeEnd(b("k")), startRevision: start }) });
      }
      if (rnd(10) === 0) f.hub.drain(); // catch-up steps interleave with live writes
      else if (rnd(3) === 0) f.hub["runOnce"](7);
    }
    f.hub.drain();
    for (const { start, rec } of watchers) {
      const want = expected.filter((e) => Number(e.split(":")[0]) >= start);
      expect(rec.lines()).toEqual(want);
      expect(rec.cancels).toEqual([]);
      const revs = rec.batches.map((bt) => bt.revision);
      expect(new Set(revs).size).toBe(revs.length);
    }
    expect(watchers.length).toBeGreaterThan(25);
  });

  it("a watch from a compacted revision is canceled with the compact revision; from the compact revision it works", () => {
    const f = new Fixture();
    f.put("a", "1"); // 2
    f.put("a", "2"); // 3
    f.del("a"); // 4
    f.put("b", "1"); // 5
    f.apply({ type: "compact", request: { revision: 4 } });
    const old = f.watch({ key: b("a"), startRevision: 3 });
    const atCompact = f.watch({ key: b("\0"), rangeEnd: Buffer.from([0]), startRevision: 4 });
    expect(old.cancels).toEqual([]); // reported after watch() returns
    f.hub.drain();
    expect(old.cancels).toEqual([expect.objectContaining({ code: "compacted", compactRevision: 4 })]);
    expect(old.handle.canceled).toBe(true);
    // The delete at exactly the compact revision is still delivered.
    expect(atCompact.lines()).toEqual(["4:DELETE:a=", "5:PUT:b=1"]);
  });

  it("a replay overtaken by compaction is canceled as compacted", () => {
    const f = new Fixture({ replayRevisionsPerStep: 2 });
    for (let i = 0; i < 10; i++) f.put("a", `${i}`);
    const w = f.watch({ key: b("a"), startRevision: 2 });
    f.hub["runOnce"](2);
    expect(w.lines()).toEqual(["2:PUT:a=0", "3:PUT:a=1"]);
    f.apply({ type: "compact", request: { revision: 8 } });
    f.hub.drain();
    expect(w.cancels.map((c) => c.code)).toEqual(["compacted"]);
  });

  it("cancel stops delivery and reports once", () => {
    const f = new Fixture();
    const w = f.watch({ key: b("a") });
    f.put("a", "1");
    w.handle.cancel();
    w.handle.cancel();
    f.put("a", "2");
    expect(w.lines()).toEqual(["2:PUT:a=1"]);
    expect(w.cancels.map((c) => c.code)).toEqual(["canceled"]);
    expect(f.hub.size).toBe(0);
  });

  it("a paused consumer gets its held events on resume, in order", () => {
    const f = new Fixture({ maxPendingEvents: 10 });
    let ready = false;
    const w = f.watch({ key: b("a") }, () => ready);
    f.put("a", "1"); // delivered; consumer says "full"
    f.put("a", "2");
    f.put("a", "3");
    expect(w.lines()).toEqual(["2:PUT:a=1"]);
    expect(w.handle.pendingEvents).toBe(2);
    expect(w.handle.nextRevision).toBe(3);
    ready = true;
    w.handle.resume();
    f.put("a", "4");
    expect(w.lines()).toEqual(["2:PUT:a=1", "3:PUT:a=2", "4:PUT:a=3", "5:PUT:a=4"]);
  });

  it("a consumer that stays paused past maxPendingEvents is canceled as slow", () => {
    const f = new Fixture({ maxPendingEvents: 5 });
    const w = f.watch({ key: b("a") }, () => false);
    for (let i = 0; i < 10; i++) f.put("a", `${i}`);
    expect(w.cancels).toEqual([expect.objectContaining({ code: "slowWatcher" })]);
    expect(w.batches).toHaveLength(1);
    expect(f.hub.size).toBe(0);
  });

  it("refuses invalid requests and too many watchers through onCancel", () => {
    const f = new Fixture();
    const hub = new WatchHub(f.store, { scheduling: "manual", maxWatchers: 1 });
    const cancels: string[] = [];
    hub.watch({ key: b("a") }, () => {}, (r) => cancels.push(r.code));
    hub.watch({ key: b("b") }, () => {}, (r) => cancels.push(r.code));
    hub.watch({ key: b("") }, () => {}, (r) => cancels.push(r.code));
    expect(cancels).toEqual([]); // never from inside watch()
    hub.drain();
    expect(cancels).toEqual(["tooManyWatchers", "invalidArgument"]);
    hub.close();
    expect(cancels).toEqual(["tooManyWatchers", "invalidArgument", "closed"]);
  });

  it("a watch callback that throws is canceled without disturbing apply", () => {
    const f = new Fixture();
    const bad = f.watch({ key: b("a") }, () => {
      throw new Error("boom");
    });
    const good = f.watch({ key: b("a") });
    f.put("a", "1");
    f.put("a", "2");
    expect(bad.cancels).toEqual([expect.objectContaining({ code: "callbackFailed" })]);
    expect(good.lines()).toEqual(["2:PUT:a=1", "3:PUT:a=2"]);
  });

  it("continues without gap when the store is restored from a newer snapshot", () => {
    const f = new Fixture();
    const leader = new MvccStore();
    const cmds: StoreCommand[] = [1, 2, 3, 4, 5].map((i) => ({ type: "put", request: { key: b(`k${i}`), value: b(`${i}`) } }));
    cmds.forEach((cmd, i) => leader.apply(cmd, i + 1));
    f.apply(cmds[0]!);
    f.apply(cmds[1]!);
    const w = f.watch({ key: b("k"), rangeEnd: b("l") });
    f.hub.drain();
    f.store.restore(leader.snapshot()); // the follower jumps from revision 3 to 6
    f.hub.drain();
    expect(w.lines()).toEqual(["4:PUT:k3=3", "5:PUT:k4=4", "6:PUT:k5=5"]);
  });

  it("with immediate scheduling, replay happens on its own after watch() returns", async () => {
    const store = new MvccStore();
    store.apply({ type: "put", request: { key: b("a"), value: b("1") } }, 1);
    const hub = new WatchHub(store);
    const seen: number[] = [];
    hub.watch({ key: b("a"), startRevision: 1 }, (_e, rev) => void seen.push(rev), () => {});
    expect(seen).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([2]);
    hub.close();
  });
});
