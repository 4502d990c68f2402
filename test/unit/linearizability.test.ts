// The linearizability checker (test/lib/linearizability.ts) on histories whose
// verdict is known, on random histories from a real register, and on the
// recorder (test/lib/history.ts) that produces them.

import { describe, expect, it } from "vitest";
import {
  HistoryRecorder,
  parseHistory,
  type CasOutput,
  type DeleteOutput,
  type GetOutput,
  type KvInput,
  type KvOperation,
  type KvOutput,
  type Operation,
} from "../lib/history.js";
import {
  checkKvHistory,
  checkLinearizable,
  kvRegisterModel,
  type CheckResult,
  type Model,
} from "../lib/linearizability.js";
import { prng } from "../lib/prng.js";

/** Builds a history by hand: times are arbitrary units, `null` as return means the outcome is unknown. */
class History {
  readonly ops: KvOperation[] = [];
  constructor(private readonly defaultKey = "k") {}

  put(client: string, value: string, call: number, ret: number | null, key = this.defaultKey): number {
    return this.add({ clientId: client, key, input: { kind: "put", value }, call, return: ret, output: ret === null ? null : {} });
  }
  get(client: string, value: string | null, call: number, ret: number | null, key = this.defaultKey): number {
    return this.add({ clientId: client, key, input: { kind: "get" }, call, return: ret, output: ret === null ? null : { value } });
  }
  cas(client: string, expect: string | null, value: string, succeeded: boolean | null, call: number, ret: number | null, key = this.defaultKey): number {
    return this.add({
      clientId: client,
      key,
      input: { kind: "cas", expect, value },
      call,
      return: ret,
      output: ret === null || succeeded === null ? null : { succeeded },
    });
  }
  del(client: string, deleted: number | null, call: number, ret: number | null, key = this.defaultKey): number {
    return this.add({
      clientId: client,
      key,
      input: { kind: "delete" },
      call,
      return: ret,
      output: ret === null || deleted === null ? null : { deleted },
    });
  }
  private add(op: Omit<KvOperation, "id">): number {
    const id = this.ops.length;
    this.ops.push({ id, ...op } as KvOperation);
    return id;
  }
}

function expectLinearizable(h: History): void {
  const result = checkKvHistory(h.ops);
  expect(result, result.ok ? "" : result.explanation).toEqual({ ok: true, verdict: "linearizable" });
}

function expectIllegal(h: History): Extract<CheckResult, { verdict: "illegal" }> {
  const result = checkKvHistory(h.ops);
  expect(result.ok).toBe(false);
  if (result.verdict !== "illegal") throw new Error(`expected "illegal", got ${JSON.stringify(result)}`);
  return result;
}

// ---------------------------------------------------------------------------
// A seeded source, so that a failing random history is a seed to keep.


interface GenOptions {
  ops: number;
  clients: number;
  keys: number;
  /** Share of operations whose outcome the client never learns. */
  unknownRate?: number;
}

/**
 * Runs a real register per key: operations take effect one at a time at
 * strictly increasing linearization points, each inside its own random
 * [call, return] interval, so the history is linearizable by construction.
 * Every written value is unique. An unknown-outcome write takes effect or
 * not at random, possibly after its client gave up.
 */
function generateHistory(seed: number, o: GenOptions): KvOperation[] {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const state = new Map<string, string | null>();
  const written = new Map<string, string[]>();
  const free = new Array<number>(o.clients).fill(0);
  const ops: KvOperation[] = [];
  let lastPoint = 0;
  for (let id = 0; id < o.ops; id++) {
    const c = int(o.clients);
    const key = `key${int(o.keys)}`;
    const call = free[c]! + 1 + int(4);
    const point = Math.max(call, lastPoint + 1) + int(3);
    lastPoint = point;
    const current = state.get(key) ?? null;
    const unknown = rnd() < (o.unknownRate ?? 0);
    const happens = !unknown || rnd() < 0.5;
    const value = `v${id}`;
    const r = rnd();
    let input: KvInput;
    let output: KvOutput;
    if (r < 0.4) {
      input = { kind: "get" };
      output = { value: current };
    } else if (r < 0.7) {
      input = { kind: "put", value };
      output = {};
      if (happens) state.set(key, value);
    } else if (r < 0.9) {
      const seen = written.get(key) ?? [];
      const expect = rnd() < 0.6 ? current : rnd() < 0.3 || seen.length === 0 ? null : seen[int(seen.length)]!;
      input = { kind: "cas", expect, value };
      output = { succeeded: expect === current };
      if (happens && expect === current) state.set(key, value);
    } else {
      input = { kind: "delete" };
      output = { deleted: current === null ? 0 : 1 };
      if (happens) state.set(key, null);
    }
    if (input.kind !== "get") written.set(key, [...(written.get(key) ?? []), value]);
    if (unknown) {
      // The client gives up somewhere around the linearization point, maybe before it.
      free[c] = call + int(point - call + 6);
      ops.push({ id, clientId: `c${c}`, key, input, call, return: null, output: null } as KvOperation);
    } else {
      const ret = point + int(6);
      free[c] = ret;
      ops.push({ id, clientId: `c${c}`, key, input, call, return: ret, output } as KvOperation);
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------

describe("linearizable histories pass", () => {
  it("a sequential history of puts, gets, cas and deletes", () => {
    const h = new History();
    h.get("c1", null, 0, 1);
    h.put("c1", "a", 2, 3);
    h.get("c2", "a", 4, 5);
    h.cas("c1", "a", "b", true, 6, 7);
    h.cas("c2", "a", "c", false, 8, 9);
    h.get("c1", "b", 10, 11);
    h.del("c2", 1, 12, 13);
    h.del("c1", 0, 14, 15);
    h.get("c2", null, 16, 17);
    h.cas("c1", null, "d", true, 18, 19);
    h.get("c2", "d", 20, 21);
    expectLinearizable(h);
  });

  it("two concurrent writes may take effect in either order, as reads then show", () => {
    for (const [first, second] of [
      ["a", "b"],
      ["b", "a"],
    ] as const) {
      const h = new History();
      h.put("c1", "a", 0, 10);
      h.put("c2", "b", 0, 10);
      h.get("c3", first, 1, 2);
      h.get("c3", second, 3, 4);
      h.get("c4", second, 11, 12);
      expectLinearizable(h);
    }
  });

  it("a read overlapping a write may see the old value or the new one", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    h.put("c1", "b", 2, 9);
    h.get("c2", "a", 3, 4);
    h.get("c3", "b", 3, 5);
    h.get("c2", "b", 10, 11);
    expectLinearizable(h);
  });

  it("a write with unknown outcome that a later read observes took effect", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    h.put("c2", "b", 2, null);
    h.get("c3", "a", 3, 4);
    h.get("c3", "b", 50, 51);
    h.get("c1", "b", 52, 53);
    expectLinearizable(h);
  });

  it("a write with unknown outcome that no read observes may never have happened", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    h.put("c2", "b", 2, null);
    h.cas("c3", "b", "x", null, 3, null);
    h.del("c3", null, 4, null);
    h.get("c1", "a", 5, 6);
    h.get("c1", "a", 100, 101);
    expectLinearizable(h);
  });

  it("many unknown writes never observed stay cheap", () => {
    const h = new History();
    h.put("c0", "a", 0, 1);
    for (let i = 0; i < 40; i++) h.put(`u${i}`, `lost${i}`, 2 + i, null);
    for (let i = 0; i < 200; i++) h.get("c1", "a", 100 + 2 * i, 101 + 2 * i);
    expectLinearizable(h);
  });

  it("compare-and-set: exactly one of two concurrent cas on the same expectation wins", () => {
    const h = new History();
    h.cas("c1", null, "x", true, 0, 5);
    h.cas("c2", null, "y", false, 1, 4);
    h.cas("c3", "x", "z", true, 6, 7);
    h.cas("c1", "x", "w", false, 8, 9);
    h.get("c2", "z", 10, 11);
    expectLinearizable(h);
  });

  it("keys are independent: each is checked on its own", () => {
    const h = new History();
    h.put("c1", "a", 0, 1, "k1");
    h.put("c2", "b", 0, 1, "k2");
    h.get("c1", "b", 2, 3, "k2");
    h.get("c2", "a", 2, 3, "k1");
    h.get("c2", null, 4, 5, "k3");
    expectLinearizable(h);
  });

  it("an operation that returns exactly when another is called counts as concurrent", () => {
    const h = new History();
    h.put("c1", "a", 0, 5);
    h.get("c2", null, 5, 6);
    expectLinearizable(h);
  });
});

describe("non-linearizable histories fail", () => {
  it("a stale read after a completed write", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    h.put("c2", "b", 2, 3);
    h.get("c3", "a", 4, 5);
    expectIllegal(h);
  });

  it("a read that sees a value never written", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    const bad = h.get("c2", "ghost", 2, 3);
    const r = expectIllegal(h);
    expect(r.minimalIllegal.map((o) => o.id)).toEqual([bad]);
    expect(r.explanation).toContain("cannot be explained by any order");
  });

  it("two cas on the same expectation both succeeding", () => {
    const h = new History();
    h.put("c0", "a", 0, 1);
    const one = h.cas("c1", "a", "x", true, 2, 6);
    const two = h.cas("c2", "a", "y", true, 3, 5);
    const r = expectIllegal(h);
    // The put matters: without it neither cas could succeed, a different story.
    expect(r.minimalIllegal.map((o) => o.id)).toEqual([0, one, two]);
    expect(r.explanation).toContain("cannot be explained by any order");
  });

  it("an acknowledged write that is lost", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    h.get("c2", "a", 2, 3);
    h.del("c1", 1, 4, 5);
    h.put("c2", "b", 6, 7);
    h.get("c3", null, 8, 9);
    expectIllegal(h);
  });

  it("a read that goes back in time between two sequential reads", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    h.put("c2", "b", 2, 20);
    h.get("c3", "b", 3, 4);
    h.get("c3", "a", 5, 6);
    const r = expectIllegal(h);
    expect(r.minimalIllegal).toHaveLength(4);
    // put("b") was still running at the cut, so its outcome counted as unknown there.
    expect(r.pendingAtCut).toEqual([1]);
    expect(r.explanation).toMatch(/#1\s+2 \.\. 20\s+put\("b"\) -> ok.*returned after the cut: treated as pending/);
  });

  it("a delete that reports a count the state does not allow", () => {
    const h = new History();
    h.put("c1", "a", 0, 1);
    h.del("c2", 0, 2, 3);
    expectIllegal(h);
  });

  it("names the failing key when other keys are fine", () => {
    const h = new History();
    h.put("c1", "a", 0, 1, "good");
    h.get("c1", "a", 2, 3, "good");
    h.put("c2", "a", 0, 1, "bad");
    h.put("c2", "b", 2, 3, "bad");
    h.get("c3", "a", 4, 5, "bad");
    expect(expectIllegal(h).key).toBe("bad");
  });

  it("a search that runs out of budget says so and never passes", () => {
    const ops = generateHistory(7, { ops: 300, clients: 8, keys: 1 });
    const result = checkKvHistory(ops, { maxStepsPerKey: 10 });
    expect(result).toMatchObject({ ok: false, verdict: "timeout", keys: ["key0"] });
  });
});

describe("the smallest illegal part of the history", () => {
  it("holds exactly the operations involved in a stale read, as a readable timeline", () => {
    const h = new History();
    // Noise: other clients' correct operations before, around and after.
    h.get("c4", null, 0, 1);
    const putA = h.put("c1", "a", 2, 3);
    h.get("c4", "a", 4, 5);
    h.get("c5", "a", 4, 8);
    const putB = h.put("c2", "b", 6, 7);
    h.get("c4", "b", 9, 10);
    h.put("c6", "z", 9, 40); // concurrent with the stale read, never observed
    const stale = h.get("c3", "a", 11, 12);
    h.get("c4", "b", 13, 14);
    h.put("c1", "c", 15, 16);

    const r = expectIllegal(h);
    expect(r.minimalIllegal.map((o) => o.id)).toEqual([putA, putB, stale]);
    expect(r.explanation).toContain('Operations on key "k" are not linearizable.');
    expect(r.explanation).toContain("3 of 10 operations");
    expect(r.explanation).toContain("real-time order is violated");
    expect(r.explanation).toMatch(/c1\s+#1\s+2 \.\. 3\s+put\("a"\) -> ok/);
    expect(r.explanation).toMatch(/c2\s+#4\s+6 \.\. 7\s+put\("b"\) -> ok/);
    expect(r.explanation).toMatch(/c3\s+#7\s+11 \.\. 12\s+get\(\) -> "a".*<- cut here/);
    expect(r.explanation).toContain('Longest legal order found: #1 put("a") -> ok ["a"], then #4 put("b") -> ok ["b"]');
    if (process.env.SHOW_EXPLANATION) console.log(r.explanation);
  });
});

describe("the smallest illegal part of a long history", () => {
  it("narrows a stale read deep in a 1,500-operation single-key history down to the three operations involved", () => {
    const ops = generateHistory(11, { ops: 1500, clients: 6, keys: 1 });
    // A read late in the history returns the value of the write two puts before the last one it could see.
    const read = ops.filter((o) => o.input.kind === "get" && o.return !== null && o.output !== null)[500]!;
    const puts = ops.filter((o) => o.input.kind === "put" && o.return !== null && o.return < read.call);
    const older = puts[puts.length - 2]!;
    const stale = (older.input as { value: string }).value;
    const corrupted = ops.map((o) => (o === read ? { ...o, output: { value: stale } } : o)) as KvOperation[];

    const r = checkKvHistory(corrupted);
    if (r.verdict !== "illegal") throw new Error(`expected illegal, got ${r.verdict}`);
    // The write of the stale value, one write that completed after it and before the read, and the read.
    expect(r.minimalIllegal).toHaveLength(3);
    const [first, overwrite, last] = r.minimalIllegal;
    expect([first!.id, last!.id]).toEqual([older.id, read.id]);
    expect(overwrite!.input.kind).not.toBe("get");
    expect(overwrite!.return).toBeLessThan(read.call);
    expect(r.explanation).not.toContain("budget ran out");
  });
});

describe("random histories from a real register", () => {
  it("are linearizable, with and without unknown outcomes", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const ops = generateHistory(seed, { ops: 200, clients: 5, keys: 2, unknownRate: seed % 2 === 0 ? 0.05 : 0 });
      const result = checkKvHistory(ops);
      expect(result.ok, `seed ${seed}: ${result.ok ? "" : result.explanation}`).toBe(true);
    }
  });

  it("a read corrupted to return a value written only after it returned is caught", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const ops = generateHistory(seed, { ops: 300, clients: 6, keys: 3 });
      // A completed get, and a write on its key called after the get returned.
      let read: KvOperation | undefined;
      let write: KvOperation | undefined;
      for (const g of ops) {
        if (g.input.kind !== "get" || g.return === null) continue;
        write = ops.find((w) => w.key === g.key && w.call > g.return! && (w.input.kind === "put" || w.input.kind === "cas"));
        if (write !== undefined) {
          read = g;
          break;
        }
      }
      if (read === undefined || write === undefined) throw new Error(`seed ${seed}: no read to corrupt`);
      const future = (write.input as { value: string }).value;
      const corrupted = ops.map((o) => (o === read ? { ...o, output: { value: future } } : o)) as KvOperation[];

      const result = checkKvHistory(corrupted);
      if (result.verdict !== "illegal") throw new Error(`seed ${seed}: expected illegal, got ${result.verdict}`);
      expect(result.key).toBe(read.key);
      // The shortest illegal prefix ends at the read, before the write was called: the read alone.
      expect(result.minimalIllegal.map((o) => o.id)).toEqual([read.id]);
    }
  });

  it("a random corruption of one output is usually caught", () => {
    const rnd = prng(99);
    let caught = 0;
    const trials = 60;
    for (let t = 0; t < trials; t++) {
      const ops = generateHistory(1000 + t, { ops: 150, clients: 4, keys: 2 });
      const completed = ops.filter((o) => o.return !== null);
      const victim = completed[Math.floor(rnd() * completed.length)]!;
      const corrupted = ops.map((o) => {
        if (o !== victim) return o;
        switch (o.input.kind) {
          case "get":
            return { ...o, output: { value: (o.output as GetOutput).value === null ? "v0" : null } };
          case "put":
            return { ...o, input: { kind: "put", value: `${o.input.value}-corrupt` } };
          case "cas":
            return { ...o, output: { succeeded: !(o.output as CasOutput).succeeded } };
          case "delete":
            return { ...o, output: { deleted: 1 - (o.output as DeleteOutput).deleted } };
        }
      }) as KvOperation[];
      if (!checkKvHistory(corrupted).ok) caught++;
    }
    expect(caught / trials).toBeGreaterThan(0.5);
  });

  it("a 2,000-operation, 8-client, 5-key history checks within the test timeout", () => {
    const ops = generateHistory(2024, { ops: 2000, clients: 8, keys: 5, unknownRate: 0.02 });
    const started = performance.now();
    const result = checkKvHistory(ops);
    const ms = performance.now() - started;
    expect(result.ok, result.ok ? "" : result.explanation).toBe(true);
    console.log(`2,000-op history checked in ${ms.toFixed(0)} ms`);
  });
});

describe("agrees with brute force on small random histories", () => {
  /** Tries every subset of the unknown-outcome operations and every order that respects real time. */
  function bruteForce(ops: readonly KvOperation[]): boolean {
    const pending = ops.filter((o) => o.return === null);
    const completed = ops.filter((o) => o.return !== null);
    const model = kvRegisterModel;
    const extend = (state: string | null, left: readonly KvOperation[]): boolean => {
      if (left.length === 0) return true;
      return left.some((o) => {
        // o may go next unless some other operation left returned before o was called.
        if (left.some((r) => r !== o && r.return !== null && r.return < o.call)) return false;
        const r = model.step(state, o.input, o.return === null ? null : o.output);
        return r.ok && extend(r.next, left.filter((x) => x !== o));
      });
    };
    for (let mask = 0; mask < 1 << pending.length; mask++) {
      if (extend(null, [...completed, ...pending.filter((_, i) => mask & (1 << i))])) return true;
    }
    return false;
  }

  function randomHistory(rnd: () => number, size: number): KvOperation[] {
    const int = (n: number): number => Math.floor(rnd() * n);
    const value = (): string | null => [null, "a", "b"][int(3)]!;
    const ops: KvOperation[] = [];
    for (let id = 0; id < size; id++) {
      const call = int(8);
      const ret = rnd() < 0.2 ? null : call + int(5);
      const kind = int(4);
      const base = { id, clientId: `c${id}`, key: "k", call, return: ret };
      if (kind === 0) ops.push({ ...base, input: { kind: "get" }, output: ret === null ? null : { value: value() } });
      else if (kind === 1) ops.push({ ...base, input: { kind: "put", value: value() ?? "a" }, output: ret === null ? null : {} });
      else if (kind === 2)
        ops.push({
          ...base,
          input: { kind: "cas", expect: value(), value: value() ?? "b" },
          output: ret === null ? null : { succeeded: rnd() < 0.5 },
        });
      else ops.push({ ...base, input: { kind: "delete" }, output: ret === null ? null : { deleted: int(2) } });
    }
    return ops;
  }

  it("gives the same verdict on 3,000 histories of up to 7 operations", () => {
    const rnd = prng(4242);
    let legal = 0;
    for (let t = 0; t < 3000; t++) {
      const ops = randomHistory(rnd, 1 + (t % 7));
      const expected = bruteForce(ops);
      const got = checkKvHistory(ops);
      if (got.ok !== expected) throw new Error(`case ${t}: checker says ${got.verdict}, brute force ${expected}\n${JSON.stringify(ops)}`);
      if (expected) legal++;
      else if (got.verdict === "illegal") {
        // The smallest illegal part is itself illegal, by brute force too.
        expect(bruteForce(got.minimalIllegal), `case ${t}`).toBe(false);
      }
    }
    // Both verdicts were well represented.
    expect(legal).toBeGreaterThan(500);
    expect(legal).toBeLessThan(2500);
  });
});

describe("a pluggable model", () => {
  // A counter: add(n) returns the new total.
  type CounterOp = Operation<{ add: number }, { total: number }>;
  const counter: Model<number, { add: number }, { total: number }> = {
    init: () => 0,
    step: (s, input, output) => ({ ok: output === null || output.total === s + input.add, next: s + input.add }),
    equal: (a, b) => a === b,
    describeOperation: (i, o) => `add(${i.add}) -> ${o === null ? "?" : o.total}`,
    describeState: (s) => String(s),
  };
  const op = (id: number, add: number, total: number, call: number, ret: number): CounterOp => ({
    id,
    clientId: `c${id}`,
    key: "n",
    input: { add },
    call,
    return: ret,
    output: { total },
  });

  it("checks histories of another data type", () => {
    expect(checkLinearizable([op(0, 1, 3, 0, 10), op(1, 2, 2, 0, 10)], counter).ok).toBe(true);
    const result = checkLinearizable([op(0, 1, 1, 0, 1), op(1, 2, 2, 2, 3)], counter);
    expect(result.ok).toBe(false);
    expect(result.verdict === "illegal" && result.explanation).toContain("add(2) -> 2");
  });
});

describe("HistoryRecorder", () => {
  it("records completed, unknown and still-open operations, drops failed ones, and round-trips as JSON lines", () => {
    let now = 0;
    const recorder = new HistoryRecorder({ clock: () => now++ });
    const put = recorder.begin("c1", "k", { kind: "put", value: "a" });
    recorder.ok(put, { revision: 2 });
    const failed = recorder.begin("c2", "k", { kind: "put", value: "rejected" });
    recorder.fail(failed);
    const lost = recorder.begin("c2", "k", { kind: "cas", expect: "a", value: "b" });
    recorder.unknown(lost);
    const get = recorder.begin("c1", "k", { kind: "get" });
    recorder.ok(get, { value: "b", revision: 3 });
    recorder.begin("c3", "k", { kind: "delete" }); // never finished
    expect(() => recorder.ok(put, { revision: 2 })).toThrow(/already finished/);

    const history = recorder.history();
    expect(history.map((o) => [o.id, o.clientId, o.input.kind, o.call, o.return])).toEqual([
      [0, "c1", "put", 0, 1],
      [2, "c2", "cas", 3, null], // fail and unknown read no clock
      [3, "c1", "get", 4, 5],
      [4, "c3", "delete", 6, null],
    ]);
    expect(parseHistory(recorder.toJsonLines())).toEqual(history);
    expect(checkKvHistory(history).ok).toBe(true);
  });

  it("rejects a malformed history file with the line number", () => {
    expect(() => parseHistory('{"id":0,"clientId":"c","key":"k","input":{"kind":"get"},"call":0,"return":1,"output":{}}\nnot json')).toThrow(
      /line 1: get output needs value/,
    );
    expect(() => parseHistory("\nnot json")).toThrow(/line 2: not JSON/);
  });
});
