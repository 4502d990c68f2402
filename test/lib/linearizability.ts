// Linearizability checker for recorded client histories (history.ts), used by
// the chaos tests. Wing & Gong's search with Lowe's memoization, run per key
// (P-compositionality), as Porcupine does; written from the papers.

import { performance } from "node:perf_hooks";
import type { CasOutput, DeleteOutput, GetOutput, KvInput, KvOperation, KvOutput, Operation } from "./history.js";

export interface StepResult<S> {
  ok: boolean;
  next: S;
}

/**
 * A sequential specification. `step` must be deterministic. With
 * `output === null` (outcome unknown) it must accept whenever some output
 * would be accepted, and give the same next state.
 */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | null): StepResult<S>;
  equal(a: S, b: S): boolean;
  /** Optional: a string such that equal states hash alike; narrows the memo buckets for models with many states. */
  hash?(state: S): string;
  describeOperation(input: I, output: O | null): string;
  describeState(state: S): string;
}

export interface CheckOptions {
  /** Search steps allowed for one key before giving up with verdict "timeout". */
  maxStepsPerKey?: number;
  /** Wall time allowed for one key's search. */
  timeoutMsPerKey?: number;
  /** Wall time allowed for finding and shrinking the smallest illegal part once a key fails. */
  explainTimeoutMs?: number;
}

export type CheckResult<Op = KvOperation> =
  | { ok: true; verdict: "linearizable" }
  | {
      ok: false;
      verdict: "illegal";
      key: string;
      /** The smallest illegal part of the key's history, ordered by call. */
      minimalIllegal: Op[];
      /** Ids of operations in minimalIllegal that completed only after the cut and were treated as pending. */
      pendingAtCut: number[];
      explanation: string;
      /** Keys checked before this one whose search ran out of budget. */
      timedOutKeys: string[];
    }
  // A timeout is `ok: false` on purpose: a search that gave up must never read as a pass.
  | { ok: false; verdict: "timeout"; keys: string[]; explanation: string };

const DEFAULTS: Required<CheckOptions> = {
  maxStepsPerKey: 20_000_000,
  timeoutMsPerKey: 30_000,
  explainTimeoutMs: 10_000,
};

/** Checks a history against a model, key by key. Bugs in the history (bad times, duplicate ids) throw. */
export function checkLinearizable<S, I, O, Op extends Operation<I, O> = Operation<I, O>>(
  history: readonly Op[],
  model: Model<S, I, O>,
  options: CheckOptions = {},
): CheckResult<Op> {
  const opts = { ...DEFAULTS, ...options };
  validateHistory(history);
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    let ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, (ops = []));
    ops.push(op);
  }
  const timedOut: string[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    const verdict = search(asRecorded(ops), model, limitsFor(opts)).verdict;
    if (verdict === "illegal") return explainIllegal(key, ops, model, opts, timedOut);
    if (verdict === "timeout") timedOut.push(key);
  }
  if (timedOut.length > 0) {
    return {
      ok: false,
      verdict: "timeout",
      keys: timedOut,
      explanation:
        `the search ran out of budget (${opts.maxStepsPerKey} steps or ${opts.timeoutMsPerKey} ms per key) ` +
        `on key(s) ${timedOut.map((k) => JSON.stringify(k)).join(", ")}: linearizability is unknown there`,
    };
  }
  return { ok: true, verdict: "linearizable" };
}

function validateHistory<I, O>(history: readonly Operation<I, O>[]): void {
  const ids = new Set<number>();
  for (const op of history) {
    if (ids.has(op.id)) throw new Error(`history: duplicate operation id ${op.id}`);
    ids.add(op.id);
    if (!Number.isFinite(op.call)) throw new Error(`history: operation ${op.id} has call time ${op.call}`);
    if (op.return !== null && !(op.return >= op.call))
      throw new Error(`history: operation ${op.id} returns (${op.return}) before its call (${op.call})`);
  }
}

// ---------------------------------------------------------------------------
// The search.

/** An operation as the search sees it: its interval, and whether it must be linearized. */
interface Candidate<I, O> {
  op: Operation<I, O>;
  call: number;
  /** null: pending (outcome unknown): optional, linearizable any time after call, output unchecked. */
  ret: number | null;
}

interface Limits {
  maxSteps: number;
  deadline: number;
}

type SearchOutcome =
  | { verdict: "linearizable" }
  | { verdict: "illegal"; longest: number[] }
  | { verdict: "timeout" };

interface EventNode {
  index: number;
  time: number;
  isCall: boolean;
  match: EventNode | null;
  prev: EventNode | null;
  next: EventNode | null;
}

function asRecorded<I, O>(ops: readonly Operation<I, O>[]): Candidate<I, O>[] {
  return ops.map((op) => ({ op, call: op.call, ret: op.return }));
}

function limitsFor(opts: Required<CheckOptions>, deadline = Infinity): Limits {
  return { maxSteps: opts.maxStepsPerKey, deadline: Math.min(deadline, performance.now() + opts.timeoutMsPerKey) };
}

function compareEvents(
  a: { time: number; isCall: boolean; index: number },
  b: { time: number; isCall: boolean; index: number },
): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  // At equal times a call sorts first: the two operations count as concurrent.
  if (a.isCall !== b.isCall) return a.isCall ? -1 : 1;
  return a.index - b.index;
}

/** 32-bit keys for Zobrist hashing of the linearized set; fixed seed, so runs repeat exactly. */
function zobristKeys(n: number, seed: number): Uint32Array {
  const keys = new Uint32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    keys[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return keys;
}

/**
 * Visited configurations: (set of linearized operations, model state). A
 * configuration seen before was, or is being, explored: seeing it again
 * cannot lead anywhere new (Lowe).
 */
class ConfigCache<S> {
  private readonly buckets = new Map<number | string, { bits: Uint32Array; state: S }[]>();
  constructor(private readonly model: Model<S, unknown, unknown>) {}

  /** Adds the configuration; false if it was already there. */
  add(bits: Uint32Array, h1: number, h2: number, state: S): boolean {
    const zob = (h1 >>> 0) * 0x200000 + (h2 >>> 11);
    const key = this.model.hash ? `${zob}:${this.model.hash(state)}` : zob;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, (bucket = []));
    for (const entry of bucket) {
      if (sameBits(entry.bits, bits) && this.model.equal(entry.state, state)) return false;
    }
    bucket.push({ bits: bits.slice(), state });
    return true;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Builds a doubly linked list of events behind a sentinel head. */
function eventList(events: readonly { time: number; isCall: boolean; index: number }[]): {
  head: EventNode;
  nodes: EventNode[];
} {
  const head: EventNode = { index: -1, time: -Infinity, isCall: false, match: null, prev: null, next: null };
  const nodes: EventNode[] = [];
  let last = head;
  for (const e of [...events].sort(compareEvents)) {
    const node: EventNode = { index: e.index, time: e.time, isCall: e.isCall, match: null, prev: last, next: null };
    last.next = node;
    last = node;
    nodes.push(node);
  }
  return { head, nodes };
}

function unlink(node: EventNode): void {
  node.prev!.next = node.next;
  if (node.next) node.next.prev = node.prev;
}

function relink(node: EventNode): void {
  node.prev!.next = node;
  if (node.next) node.next.prev = node;
}

/**
 * Wing & Gong's search with Lowe's memoization. Completed operations sit in
 * one list of call and return events; linearizing one lifts both out and
 * backtracking puts them back (dancing links). An operation may come next
 * when its call precedes the first remaining return, the "boundary": the
 * operation that returns there must be linearized before anything called
 * after it. Pending operations (outcome unknown) have no return and stay
 * candidates forever, in a list of their own.
 *
 * Each level of the depth-first search keeps its own ordered candidates:
 * first the boundary operation if it is legal now, then operations after
 * which it becomes legal, then the rest (completed before pending). The
 * order changes only speed, never the verdict.
 */
function search<S, I, O>(
  items: readonly Candidate<I, O>[],
  model: Model<S, I, O>,
  limits: Limits,
  trackLongest = false,
): SearchOutcome {
  const n = items.length;
  const completedEvents: { time: number; isCall: boolean; index: number }[] = [];
  const pendingEvents: { time: number; isCall: boolean; index: number }[] = [];
  items.forEach((item, index) => {
    if (item.ret === null) pendingEvents.push({ time: item.call, isCall: true, index });
    else completedEvents.push({ time: item.call, isCall: true, index }, { time: item.ret, isCall: false, index });
  });
  let remaining = completedEvents.length / 2; // completed operations not yet linearized
  if (remaining === 0) return { verdict: "linearizable" };
  const main = eventList(completedEvents);
  const pend = eventList(pendingEvents);
  const callOf: EventNode[] = [];
  for (const node of main.nodes) if (node.isCall) callOf[node.index] = node;
  for (const node of main.nodes) if (!node.isCall) callOf[node.index]!.match = node;

  const z1 = zobristKeys(n, 0x5eed1);
  const z2 = zobristKeys(n, 0x5eed2);
  let h1 = 0;
  let h2 = 0;
  const bits = new Uint32Array(Math.ceil(n / 32) || 1);
  const flip = (i: number): void => {
    bits[i >>> 5] ^= 1 << (i & 31);
    h1 ^= z1[i]!;
    h2 ^= z2[i]!;
  };
  const cache = new ConfigCache<S>(model as Model<S, unknown, unknown>);
  const outputOf = (i: number): O | null => (items[i]!.ret === null ? null : items[i]!.op.output);
  const stepOf = (state: S, i: number): StepResult<S> => model.step(state, items[i]!.op.input, outputOf(i));

  interface Frame {
    state: S;
    candidates: EventNode[];
    pos: number;
    /** The candidate linearized to reach the frame above, while there is one. */
    chosen: EventNode | null;
  }
  const candidatesFor = (state: S): EventNode[] => {
    const completed: EventNode[] = [];
    let boundary = main.head.next!;
    for (; boundary.isCall; boundary = boundary.next!) completed.push(boundary);
    const pending: EventNode[] = [];
    for (let p = pend.head.next; p !== null && compareEvents(p, boundary) < 0; p = p.next) pending.push(p);
    const urgent = boundary.index;
    if (stepOf(state, urgent).ok) {
      // Linearizing it now is right whenever it is read-only, and a good guess otherwise.
      const first = callOf[urgent]!;
      return [first, ...completed.filter((c) => c !== first), ...pending];
    }
    const enabling: EventNode[] = [];
    const rest: EventNode[] = [];
    for (const c of [...completed, ...pending]) {
      const r = stepOf(state, c.index);
      (r.ok && stepOf(r.next, urgent).ok ? enabling : rest).push(c);
    }
    return [...enabling, ...rest];
  };

  let state = model.init();
  cache.add(bits, h1, h2, state);
  const stack: Frame[] = [{ state, candidates: candidatesFor(state), pos: 0, chosen: null }];
  let longest: number[] = [];
  let steps = 0;

  for (;;) {
    if (++steps > limits.maxSteps) return { verdict: "timeout" };
    if ((steps & 0xfff) === 0 && performance.now() > limits.deadline) return { verdict: "timeout" };
    const frame = stack[stack.length - 1]!;
    if (frame.pos >= frame.candidates.length) {
      // No candidate leads to a linearization: undo the choice that led here.
      stack.pop();
      const parent = stack[stack.length - 1];
      if (parent === undefined) return { verdict: "illegal", longest };
      const undo = parent.chosen!;
      parent.chosen = null;
      state = parent.state;
      flip(undo.index);
      if (undo.match) {
        remaining++;
        relink(undo.match);
      }
      relink(undo);
      continue;
    }
    const node = frame.candidates[frame.pos++]!;
    const i = node.index;
    const pending = items[i]!.ret === null;
    const r = stepOf(state, i);
    if (!r.ok) continue;
    // A pending operation that leaves the state as it is gains nothing:
    // skipping it (it may never have happened) reaches the same state.
    if (pending && model.equal(r.next, state)) continue;
    // A pending operation just linearized whose effect this one erases (a
    // write over an unknown write) is the same as never having done it, and
    // that path is explored from the level below. Without this, k unknown
    // writes cost 2^k.
    if (stack.length > 1) {
      const below = stack[stack.length - 2]!;
      if (items[below.chosen!.index]!.ret === null) {
        const skipped = stepOf(below.state, i);
        if (skipped.ok && model.equal(skipped.next, r.next)) continue;
      }
    }
    flip(i);
    if (!cache.add(bits, h1, h2, r.next)) {
      flip(i);
      continue;
    }
    frame.chosen = node;
    state = r.next;
    unlink(node);
    if (node.match) {
      unlink(node.match);
      if (--remaining === 0) return { verdict: "linearizable" };
    }
    if (trackLongest && stack.length > longest.length) longest = stack.map((f) => f.chosen!.index);
    stack.push({ state, candidates: candidatesFor(state), pos: 0, chosen: null });
  }
}

// ---------------------------------------------------------------------------
// The smallest illegal part of a failing key's history.

function explainIllegal<S, I, O, Op extends Operation<I, O>>(
  key: string,
  ops: readonly Op[],
  model: Model<S, I, O>,
  opts: Required<CheckOptions>,
  timedOutKeys: string[],
): CheckResult<Op> {
  const explainDeadline = performance.now() + opts.explainTimeoutMs;
  let complete = true; // false if a budget ran out, so the result may not be smallest
  const verdict = (items: readonly Candidate<I, O>[]): SearchOutcome["verdict"] => {
    if (performance.now() > explainDeadline) {
      complete = false;
      return "timeout";
    }
    const v = search(items, model, limitsFor(opts, explainDeadline)).verdict;
    if (v === "timeout") complete = false;
    return v;
  };

  // 1. The shortest prefix that is already illegal. Cutting the history at
  // the i-th return (by time) keeps the first i completed operations; those
  // called before the cut and returning after it become pending. Prefixes of
  // a linearizable history are linearizable, so binary search finds it.
  const completed = ops.filter((op) => op.return !== null).sort((a, b) => a.return! - b.return! || a.id - b.id);
  const prefix = (i: number): Candidate<I, O>[] => {
    const cut = completed[i - 1]!.return!;
    const kept = new Set(completed.slice(0, i));
    return ops.filter((op) => op.call <= cut).map((op) => ({ op, call: op.call, ret: kept.has(op) ? op.return : null }));
  };
  let lo = 0; // the empty prefix is legal
  let hi = completed.length; // the whole history is illegal
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (verdict(prefix(mid)) === "illegal") hi = mid;
    else lo = mid;
  }
  const culprit = completed[hi - 1]!;
  let members = prefix(hi);

  // 2. What shrinking must preserve. Staying illegal is not enough: drop the
  // write a stale read saw and what is left is "read a value never written",
  // a different and misleading story. So shrinking also keeps what holds
  // for the whole prefix:
  // - the rest is consistent once the culprit's output is ignored (true of
  //   the prefix by construction, as the prefix before it is legal);
  // - if the culprit's output is possible at some other time, it stays so:
  //   the violation is one of real-time order (a stale read, a lost write).
  const withCulprit = (items: readonly Candidate<I, O>[], call: number, ret: number | null): Candidate<I, O>[] =>
    items.map((c) => (c.op === culprit ? { op: c.op, call, ret } : c));
  const ignored = (items: readonly Candidate<I, O>[]): Candidate<I, O>[] => withCulprit(items, culprit.call, null);
  const relaxed = (items: readonly Candidate<I, O>[]): Candidate<I, O>[] => withCulprit(items, -Infinity, Infinity);
  const restConsistent = verdict(ignored(members)) === "linearizable";
  const realTime = verdict(relaxed(members)) === "linearizable";
  const stillIllegal = (items: readonly Candidate<I, O>[]): boolean =>
    verdict(items) === "illegal" &&
    (!restConsistent || verdict(ignored(items)) === "linearizable") &&
    (!realTime || verdict(relaxed(items)) === "linearizable");

  // 3. Most violations are local: first try the culprit with only the last
  // few operations before it (by call), doubling the window. Windows are
  // small, so these checks are cheap, and shrinking then starts small.
  members.sort((a, b) => a.op.call - b.op.call || a.op.id - b.op.id);
  for (let size = 2; size < members.length; size *= 2) {
    const window = members.slice(-size);
    if (!window.some((c) => c.op === culprit)) window.push(members.find((c) => c.op === culprit)!);
    if (stillIllegal(window)) {
      members = window.sort((a, b) => a.op.call - b.op.call || a.op.id - b.op.id);
      break;
    }
  }

  // 4. Greedy shrinking: drop chunks of operations, then single ones, while
  // the rest stays illegal; repeat until no single operation can go.
  for (let chunk = Math.ceil((members.length - 1) / 2); chunk >= 1; chunk = chunk === 1 ? 0 : Math.ceil(chunk / 2)) {
    let changed = true;
    while (changed) {
      changed = false;
      let start = 0;
      while (start < members.length) {
        const removable = new Set(members.slice(start, start + chunk).filter((c) => c.op !== culprit));
        if (removable.size === 0) {
          start += chunk;
          continue;
        }
        const candidate = members.filter((c) => !removable.has(c));
        if (stillIllegal(candidate)) {
          members = candidate;
          changed = chunk === 1;
        } else start += chunk;
      }
    }
  }

  const longest = search(members, model, limitsFor(opts), true);
  const explanation = render(key, ops.length, members, culprit, realTime, complete, longest, model);
  return {
    ok: false,
    verdict: "illegal",
    key,
    minimalIllegal: members.map((c) => c.op as Op),
    pendingAtCut: members.filter((c) => c.ret === null && c.op.return !== null).map((c) => c.op.id),
    explanation,
    timedOutKeys,
  };
}

// ---------------------------------------------------------------------------
// Rendering.

function formatTime(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(3);
}

function render<S, I, O>(
  key: string,
  total: number,
  members: readonly Candidate<I, O>[],
  culprit: Operation<I, O>,
  realTime: boolean,
  complete: boolean,
  longest: SearchOutcome,
  model: Model<S, I, O>,
): string {
  const describe = (c: Candidate<I, O>): string =>
    `#${c.op.id} ${model.describeOperation(c.op.input, c.ret === null ? null : c.op.output)}`;
  const lines: string[] = [];
  lines.push(`Operations on key ${JSON.stringify(key)} are not linearizable.`);
  lines.push(
    `Smallest illegal part of the history: ${members.length} of ${total} operations ` +
      `(cut at the return of #${culprit.id}, t=${formatTime(culprit.return!)})` +
      (complete ? "." : "; a search budget ran out, so it may not be the smallest."),
  );
  const culpritItem = members.find((c) => c.op === culprit)!;
  lines.push(
    realTime
      ? `${describe(culpritItem)} is possible only at another time than when it ran: ` +
          `real-time order is violated (a stale read, a lost or early write).`
      : `${describe(culpritItem)} cannot be explained by any order of these operations.`,
  );
  lines.push("");
  lines.push(...renderTimeline(members, culprit, model));
  lines.push("");
  if (longest.verdict === "illegal") {
    let state = model.init();
    const steps: string[] = [];
    for (const index of longest.longest) {
      const c = members[index]!;
      state = model.step(state, c.op.input, c.ret === null ? null : c.op.output).next;
      steps.push(`${describe(c)} [${model.describeState(state)}]`);
    }
    const placed = new Set(longest.longest);
    const left = members.filter((c, i) => !placed.has(i) && c.ret !== null).map(describe);
    lines.push(
      steps.length === 0
        ? `No operation can be linearized first (initial state ${model.describeState(model.init())}).`
        : `Longest legal order found: ${steps.join(", then ")}.`,
    );
    lines.push(`It cannot be extended to: ${left.join("; ")}.`);
  }
  return lines.join("\n");
}

/** A text timeline, one line per operation, bars placed by event order. */
function renderTimeline<S, I, O>(
  members: readonly Candidate<I, O>[],
  culprit: Operation<I, O>,
  model: Model<S, I, O>,
): string[] {
  const times = [...new Set(members.flatMap((c) => (c.op.return === null ? [c.op.call] : [c.op.call, c.op.return])))].sort(
    (a, b) => a - b,
  );
  const rank = new Map(times.map((t, i) => [t, i]));
  const spacing = times.length <= 25 ? 4 : times.length <= 60 ? 2 : 1;
  const width = (times.length - 1) * spacing + 1;
  const rows = members.map((c) => {
    const op = c.op;
    const interval =
      op.return === null
        ? `${formatTime(op.call)} .. ?`
        : `${formatTime(op.call)} .. ${formatTime(op.return)}`;
    const outcome =
      op.return === null
        ? "outcome unknown"
        : c.ret === null
          ? "returned after the cut: treated as pending"
          : "";
    const from = rank.get(op.call)! * spacing;
    let bar: string;
    if (op.return === null || c.ret === null) bar = " ".repeat(from) + "|" + "-".repeat(Math.max(0, width - from)) + ">";
    else {
      const to = rank.get(op.return)! * spacing;
      bar = " ".repeat(from) + (to === from ? "|" : "|" + "-".repeat(to - from - 1) + "|");
    }
    return {
      client: op.clientId,
      id: `#${op.id}`,
      interval,
      what: model.describeOperation(op.input, op.return === null ? null : op.output),
      note: [outcome, op === culprit ? "<- cut here" : ""].filter((s) => s !== "").join("; "),
      bar,
    };
  });
  const w = (f: (r: (typeof rows)[number]) => string, header: string): number =>
    Math.max(header.length, ...rows.map((r) => f(r).length));
  const wc = w((r) => r.client, "client");
  const wi = w((r) => r.id, "op");
  const wt = w((r) => r.interval, "call .. return");
  const ww = w((r) => r.what, "operation -> output");
  const wb = times.length > 150 ? 0 : w((r) => r.bar, "");
  const line = (c: string, i: string, t: string, what: string, bar: string, note: string): string =>
    `  ${c.padEnd(wc)}  ${i.padEnd(wi)}  ${t.padEnd(wt)}  ${what.padEnd(ww)}  ${wb > 0 ? bar.padEnd(wb) + "  " : ""}${note}`.trimEnd();
  return [
    line("client", "op", "call .. return", "operation -> output", "", ""),
    ...rows.map((r) => line(r.client, r.id, r.interval, r.what, r.bar, r.note)),
  ];
}

// ---------------------------------------------------------------------------
// The etcd key register: one key's value, or null when absent.

export type RegisterState = string | null;

function showValue(v: string | null): string {
  if (v === null) return "absent";
  const s = JSON.stringify(v);
  return s.length > 34 ? s.slice(0, 30) + '..."' : s;
}

export const kvRegisterModel: Model<RegisterState, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.kind) {
      case "get": {
        if (output === null) return { ok: true, next: state };
        return { ok: ((output as GetOutput).value ?? null) === state, next: state };
      }
      case "put":
        return { ok: true, next: input.value };
      case "cas": {
        const applies = state === input.expect;
        const next = applies ? input.value : state;
        if (output === null) return { ok: true, next };
        return { ok: (output as CasOutput).succeeded === applies, next };
      }
      case "delete": {
        if (output === null) return { ok: true, next: null };
        return { ok: (output as DeleteOutput).deleted === (state === null ? 0 : 1), next: null };
      }
      default:
        return assertNever(input);
    }
  },
  equal: (a, b) => a === b,
  describeOperation(input, output) {
    const unknown = "?";
    switch (input.kind) {
      case "get":
        return `get() -> ${output === null ? unknown : showValue((output as GetOutput).value ?? null)}`;
      case "put":
        return `put(${showValue(input.value)}) -> ${output === null ? unknown : "ok"}`;
      case "cas":
        return `cas(${showValue(input.expect)} => ${showValue(input.value)}) -> ${
          output === null ? unknown : (output as CasOutput).succeeded ? "succeeded" : "failed"
        }`;
      case "delete":
        return `delete() -> ${output === null ? unknown : `deleted ${(output as DeleteOutput).deleted}`}`;
      default:
        return assertNever(input);
    }
  },
  describeState: (s) => showValue(s),
};

function assertNever(x: never): never {
  throw new Error(`unexpected input ${JSON.stringify(x)}`);
}

/** checkLinearizable with the etcd key register model. */
export function checkKvHistory<Op extends Operation<KvInput, KvOutput> = KvOperation>(
  history: readonly Op[],
  options: CheckOptions = {},
): CheckResult<Op> {
  return checkLinearizable(history, kvRegisterModel, options);
}
