// Checks what one watcher received against the authoritative list of changes
// (e.g. a full-history range read at the end of a chaos test): revision
// order, no duplicates, no gaps, matching contents, and a final view equal
// to the final state (ARCHITECTURE.md section 4; etcd #15271).

export interface WatchEvent {
  type: "PUT" | "DELETE";
  key: string;
  /** The value a PUT wrote. */
  value?: string;
  modRevision: number;
  createRevision?: number;
  version?: number;
}

/** One key changed by one revision, as the store really applied it. */
export interface Change {
  revision: number;
  key: string;
  type: "PUT" | "DELETE";
  value?: string | null;
}

/** Which keys the watch covers, as in etcd: one key, a prefix, or [key, rangeEnd) ("\0" = every key from `key` on). */
export type KeySelector = { prefix: string } | { key: string; rangeEnd?: string };

export interface WatchCheckInput {
  keys: KeySelector;
  /** The revision the watch started from: every change from it on is due. */
  startRevision: number;
  /** Events in the order the watcher received them. */
  events: readonly WatchEvent[];
  /** The authoritative changes; at least every change to the watched keys in [startRevision, endRevision]. */
  changes: readonly Change[];
  /** The last revision the watcher must have received; default the last revision in `changes`. */
  endRevision?: number;
  /**
   * The watched keys' values just before startRevision (what a list-then-watch
   * client listed). Default: replay of `changes` before startRevision, right
   * when `changes` goes back to revision 1.
   */
  initialState?: Readonly<Record<string, string>>;
  /** The watched keys' values at endRevision, e.g. from a final range read. Default: replay of `changes`. */
  finalState?: Readonly<Record<string, string>>;
  /** `changes` is the whole history from revision 1: also check createRevision and version of PUT events. */
  fullHistory?: boolean;
}

export type WatchProblemKind =
  | "out-of-order"
  | "duplicate"
  | "before-start"
  | "outside-range"
  | "unexpected"
  | "mismatch"
  | "gap"
  | "final-state";

export interface WatchProblem {
  kind: WatchProblemKind;
  message: string;
  revision?: number;
  key?: string;
  /** Index of the offending event in `events`. */
  eventIndex?: number;
}

export type WatchCheckResult =
  | { ok: true; delivered: number }
  | { ok: false; problems: WatchProblem[]; message: string };

/** Problems listed in full; the count of the rest is still reported. */
const MAX_PROBLEMS = 50;

export function keyMatcher(keys: KeySelector): (key: string) => boolean {
  if ("prefix" in keys) return (k) => k.startsWith(keys.prefix);
  const { key, rangeEnd } = keys;
  if (rangeEnd === undefined || rangeEnd === "") return (k) => k === key;
  if (rangeEnd === "\0") return (k) => k >= key;
  return (k) => k >= key && k < rangeEnd;
}

const idOf = (revision: number, key: string): string => `${revision}\u0000${key}`;

function describeChange(c: { type: string; key: string; value?: string | null }): string {
  return c.type === "PUT" ? `PUT ${JSON.stringify(c.key)}=${JSON.stringify(c.value ?? null)}` : `DELETE ${JSON.stringify(c.key)}`;
}

/** Replays changes with revision in [from, to] onto `state` (mutated), for keys that match. */
function replay(
  state: Map<string, string>,
  changes: readonly Change[],
  matches: (k: string) => boolean,
  from: number,
  to: number,
): Map<string, string> {
  for (const c of changes) {
    if (c.revision < from || c.revision > to || !matches(c.key)) continue;
    if (c.type === "PUT") state.set(c.key, c.value ?? "");
    else state.delete(c.key);
  }
  return state;
}

function fromRecord(record: Readonly<Record<string, string>>, matches: (k: string) => boolean): Map<string, string> {
  return new Map(Object.entries(record).filter(([k]) => matches(k)));
}

export function checkWatch(input: WatchCheckInput): WatchCheckResult {
  const matches = keyMatcher(input.keys);
  const start = input.startRevision;
  const changes = [...input.changes].sort((a, b) => a.revision - b.revision);
  const end = input.endRevision ?? (changes.length > 0 ? changes[changes.length - 1]!.revision : start - 1);

  const log = new Map<string, Change>();
  for (const c of changes) {
    const id = idOf(c.revision, c.key);
    if (log.has(id)) throw new Error(`watch-check: the change log has revision ${c.revision} for ${JSON.stringify(c.key)} twice`);
    log.set(id, c);
  }
  // createRevision and version of every PUT, when the log is the whole history.
  const versions = new Map<string, { createRevision: number; version: number }>();
  if (input.fullHistory) {
    const live = new Map<string, { createRevision: number; version: number }>();
    for (const c of changes) {
      if (c.type === "DELETE") {
        live.delete(c.key);
        continue;
      }
      const prev = live.get(c.key);
      const now = prev ? { createRevision: prev.createRevision, version: prev.version + 1 } : { createRevision: c.revision, version: 1 };
      live.set(c.key, now);
      versions.set(idOf(c.revision, c.key), now);
    }
  }

  const problems: WatchProblem[] = [];
  let dropped = 0;
  const report = (p: WatchProblem): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else dropped++;
  };

  // 1. The stream itself, in the order received.
  const seen = new Map<string, number>(); // id -> index of the first event with it
  let highest = -Infinity;
  let highestIndex = -1;
  input.events.forEach((e, i) => {
    const rev = e.modRevision;
    const where = `event #${i} (revision ${rev}, ${describeChange(e)})`;
    if (!matches(e.key)) {
      report({ kind: "outside-range", revision: rev, key: e.key, eventIndex: i, message: `${where} is for a key the watch does not cover` });
      return;
    }
    if (rev < start) {
      report({ kind: "before-start", revision: rev, key: e.key, eventIndex: i, message: `${where} is older than the start revision ${start}` });
      return;
    }
    const id = idOf(rev, e.key);
    const first = seen.get(id);
    if (first !== undefined) {
      report({ kind: "duplicate", revision: rev, key: e.key, eventIndex: i, message: `duplicate: ${where} was already delivered as event #${first}` });
      return;
    }
    seen.set(id, i);
    if (rev < highest) {
      report({
        kind: "out-of-order",
        revision: rev,
        key: e.key,
        eventIndex: i,
        message: `out of order: ${where} arrived after revision ${highest} (event #${highestIndex})`,
      });
    } else if (rev > highest) {
      highest = rev;
      highestIndex = i;
    }
    const change = log.get(id);
    if (change === undefined) {
      report({ kind: "unexpected", revision: rev, key: e.key, eventIndex: i, message: `${where} matches no change in the change log` });
      return;
    }
    if (change.type !== e.type || (e.type === "PUT" && (change.value ?? null) !== (e.value ?? null))) {
      report({
        kind: "mismatch",
        revision: rev,
        key: e.key,
        eventIndex: i,
        message: `${where} differs from the change log: ${describeChange(change)}`,
      });
      return;
    }
    const expected = versions.get(id);
    if (expected !== undefined && e.type === "PUT") {
      const wrong: string[] = [];
      if (e.createRevision !== undefined && e.createRevision !== expected.createRevision)
        wrong.push(`createRevision ${e.createRevision}, expected ${expected.createRevision}`);
      if (e.version !== undefined && e.version !== expected.version) wrong.push(`version ${e.version}, expected ${expected.version}`);
      if (wrong.length > 0)
        report({ kind: "mismatch", revision: rev, key: e.key, eventIndex: i, message: `${where} has ${wrong.join(" and ")}` });
    }
  });

  // 2. Gaps: every due change must have been delivered.
  const received = [...seen.keys()].map((id) => Number(id.slice(0, id.indexOf("\u0000")))).sort((a, b) => a - b);
  for (const c of changes) {
    if (c.revision < start || c.revision > end || !matches(c.key) || seen.has(idOf(c.revision, c.key))) continue;
    const before = lastBelow(received, c.revision);
    const after = firstAbove(received, c.revision);
    const context =
      before === undefined && after === undefined
        ? "nothing was delivered"
        : `the stream went from ${before === undefined ? "its start" : `revision ${before}`} to ${
            after === undefined ? "its end" : `revision ${after}`
          }`;
    report({
      kind: "gap",
      revision: c.revision,
      key: c.key,
      message: `gap: revision ${c.revision} (${describeChange(c)}) was never delivered; ${context}`,
    });
  }

  // 3. The watcher's view: its initial state plus every event, as it applied them.
  const view = input.initialState
    ? fromRecord(input.initialState, matches)
    : replay(new Map(), changes, matches, -Infinity, start - 1);
  for (const e of input.events) {
    if (!matches(e.key) || e.modRevision > end) continue;
    if (e.type === "PUT") view.set(e.key, e.value ?? "");
    else view.delete(e.key);
  }
  const expected = input.finalState
    ? fromRecord(input.finalState, matches)
    : replay(new Map(), changes, matches, -Infinity, end);
  for (const key of [...new Set([...view.keys(), ...expected.keys()])].sort()) {
    const got = view.get(key);
    const want = expected.get(key);
    if (got === want) continue;
    const show = (v: string | undefined): string => (v === undefined ? "absent" : JSON.stringify(v));
    report({
      kind: "final-state",
      key,
      message: `wrong final state: the watcher's view has ${JSON.stringify(key)} ${show(got)}, the final state has ${show(want)}`,
    });
  }

  if (problems.length === 0) return { ok: true, delivered: seen.size };
  const total = problems.length + dropped;
  return {
    ok: false,
    problems,
    message: `${total} problem${total === 1 ? "" : "s"} in the watch stream; first: ${problems[0]!.message}`,
  };
}

function lastBelow(sorted: readonly number[], x: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? sorted[lo - 1] : undefined;
}

function firstAbove(sorted: readonly number[], x: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length ? sorted[lo] : undefined;
}
