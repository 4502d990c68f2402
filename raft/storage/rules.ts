// The rule book both LogStorage implementations share: what a save() or a
// compaction does to the stored log, computed from an index of what is stored
// (no entry bodies, so planning needs no reads), and the checks a load()
// applies to what it reads back. LevelDB turns a plan into one batch, the
// memory twin applies it to a Map: one set of rules, two disks.

import type { Entry, HardState, Snapshot, SnapshotMetadata } from "../core/types.js";
import type { PersistBatch } from "./types.js";

/** What is stored, without the bodies. Kept in memory so a save needs no reads. */
export interface LogShape {
  /**
   * First and last stored entry indexes; first === last + 1 when none are
   * stored. Always first <= snapshotIndex + 1 and last >= snapshotIndex:
   * compaction may keep a tail at or below the snapshot index, but the log
   * never has a hole between the snapshot and the entries after it.
   */
  first: number;
  last: number;
  snapshotIndex: number;
  snapshotTerm: number;
  /** Where each term starts among the stored entries, ascending; covers [first, last]. */
  runs: readonly TermRun[];
}

export interface TermRun {
  start: number;
  term: number;
}

/** The stored changes one save (or compaction) makes, applied in this order. */
export interface WritePlan {
  /** Stored entries to delete, inclusive ranges of indexes, none overlapping `entries`. */
  deletes: { from: number; to: number }[];
  snapshot: Snapshot | null;
  /** Entries to write, contiguous; they overwrite whatever is stored at their index. */
  entries: Entry[];
  hardState: HardState | null;
  /** The shape once the plan is on disk. */
  next: LogShape;
}

export const EMPTY_SHAPE: LogShape = { first: 1, last: 0, snapshotIndex: 0, snapshotTerm: 0, runs: [] };

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

/**
 * Thrown by load() when the stored log cannot be trusted: a checksum that does
 * not match, an undecodable record, a gap. Never repaired silently; an
 * operator must restore the member (or remove and re-add it).
 */
export class LogCorruptionError extends Error {
  override readonly name = "LogCorruptionError";

  /**
   * @param key   the storage key at fault (a LevelDB key, or "entry 42" in the memory twin)
   * @param index the entry index at fault, or null when the fault is in another record
   */
  constructor(
    readonly key: string,
    readonly index: number | null,
    problem: string,
  ) {
    super(index !== null ? `raft log corrupted at index ${index}: ${problem}` : `raft storage corrupted at key "${key}": ${problem}`);
  }
}

/** Term of the entry at `index`, or undefined when it is neither stored nor the snapshot's. */
export function termAt(shape: LogShape, index: number): number | undefined {
  if (index === shape.snapshotIndex) return shape.snapshotTerm;
  if (index < shape.first || index > shape.last) return undefined;
  const runs = shape.runs;
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (runs[mid].start <= index) lo = mid;
    else hi = mid - 1;
  }
  return runs[lo].term;
}

/** Plans one save(). Throws (a bug in the caller) when the batch breaks the log's rules. */
export function planSave(shape: LogShape, batch: PersistBatch): WritePlan {
  let first = shape.first;
  let last = shape.last;
  let snapshotIndex = shape.snapshotIndex;
  let snapshotTerm = shape.snapshotTerm;
  let runs: TermRun[] = shape.runs.slice();
  const snapshot = batch.snapshot ?? null;
  const entries = batch.entries ?? [];

  if (snapshot !== null) {
    const { index, term } = snapshot.metadata;
    checkSnapshotMetadata(shape, snapshot.metadata);
    if (index <= last && termAt(shape, index) === term) {
      // Raft's InstallSnapshot rule: the log agrees with the snapshot at its
      // index, so the entries after it stay.
      runs = dropRunsBelow(runs, index + 1, last);
      first = index + 1;
    } else {
      runs = [];
      first = index + 1;
      last = index;
    }
    snapshotIndex = index;
    snapshotTerm = term;
  }

  if (entries.length > 0) {
    checkContiguous(entries);
    const e0 = entries[0];
    if (e0.index <= snapshotIndex) {
      throw new Error(`raft storage: cannot write entry ${e0.index} at or below the snapshot index ${snapshotIndex}`);
    }
    if (e0.index > last + 1) {
      throw new Error(`raft storage: entry ${e0.index} would leave a gap after the last stored index ${last}`);
    }
    const prevTerm = e0.index - 1 === snapshotIndex ? snapshotTerm : termAtRuns(runs, e0.index - 1);
    if (e0.term < prevTerm) {
      throw new Error(`raft storage: entry ${e0.index} has term ${e0.term}, lower than term ${prevTerm} before it`);
    }
    runs = runs.filter((r) => r.start < e0.index);
    for (const e of entries) {
      if (runs.length === 0 || runs[runs.length - 1].term !== e.term) runs.push({ start: e.index, term: e.term });
    }
    last = entries[entries.length - 1].index;
  }

  const next: LogShape = { first, last, snapshotIndex, snapshotTerm, runs };
  assertShape(next);
  return { deletes: dropped(shape, next), snapshot, entries, hardState: batch.hardState ?? null, next };
}

/** Plans saveSnapshotAndCompact(): store a locally taken snapshot, forget entries <= compactTo. */
export function planCompact(shape: LogShape, snapshot: Snapshot, compactTo: number): WritePlan {
  const { index, term } = snapshot.metadata;
  checkSnapshotMetadata(shape, snapshot.metadata);
  if (!Number.isSafeInteger(compactTo) || compactTo < 0 || compactTo > index) {
    throw new Error(`raft storage: compactTo ${compactTo} must be within [0, snapshot index ${index}]`);
  }
  if (index > shape.last) {
    throw new Error(`raft storage: local snapshot at ${index} is beyond the last stored index ${shape.last}`);
  }
  const stored = termAt(shape, index);
  if (stored !== undefined && stored !== term) {
    throw new Error(`raft storage: local snapshot at ${index} has term ${term} but the log has term ${stored} there`);
  }
  const first = Math.max(shape.first, compactTo + 1);
  const next: LogShape = {
    first,
    last: shape.last,
    snapshotIndex: index,
    snapshotTerm: term,
    runs: dropRunsBelow(shape.runs, first, shape.last),
  };
  assertShape(next);
  return { deletes: dropped(shape, next), snapshot, entries: [], hardState: null, next };
}

/**
 * Checks entries as load() reads them back, in index order, and builds the
 * shape. Every fault is a LogCorruptionError naming the index.
 */
export class LogChecker {
  private readonly snapshotIndex: number;
  private readonly snapshotTerm: number;
  private readonly runs: TermRun[] = [];
  private first = 0;
  private prev: Entry | null = null;
  /** Entries after the snapshot: what load() hands back. */
  readonly entries: Entry[] = [];

  constructor(
    snapshot: SnapshotMetadata | null,
    /** The storage key of an entry, for error messages. */
    private readonly keyOf: (index: number) => string,
  ) {
    this.snapshotIndex = snapshot?.index ?? 0;
    this.snapshotTerm = snapshot?.term ?? 0;
  }

  add(e: Entry): void {
    const prev = this.prev;
    if (prev === null) {
      if (e.index < 1 || e.index > this.snapshotIndex + 1) {
        const expected = this.snapshotIndex === 0 ? "at index 1 (no snapshot)" : `at or before ${this.snapshotIndex + 1}, right after the snapshot`;
        throw this.corrupt(e.index, `the log must start ${expected}`);
      }
      this.first = e.index;
    } else {
      if (e.index !== prev.index + 1) {
        throw this.corrupt(e.index, `gap in the log, previous stored index is ${prev.index}`);
      }
      if (e.term < prev.term) {
        throw this.corrupt(e.index, `term ${e.term} is lower than term ${prev.term} of the entry before`);
      }
    }
    if (e.index === this.snapshotIndex && e.term !== this.snapshotTerm) {
      throw this.corrupt(e.index, `term ${e.term} differs from the snapshot's term ${this.snapshotTerm}`);
    }
    if (e.index === this.snapshotIndex + 1 && e.term < this.snapshotTerm) {
      throw this.corrupt(e.index, `term ${e.term} is lower than the snapshot's term ${this.snapshotTerm}`);
    }
    if (prev === null || prev.term !== e.term) this.runs.push({ start: e.index, term: e.term });
    if (e.index > this.snapshotIndex) this.entries.push(e);
    this.prev = e;
  }

  private corrupt(index: number, problem: string): LogCorruptionError {
    return new LogCorruptionError(this.keyOf(index), index, problem);
  }

  /** The shape of what was read; throws if the log ends below the snapshot. */
  finish(): LogShape {
    const prev = this.prev;
    if (prev === null) {
      return { first: this.snapshotIndex + 1, last: this.snapshotIndex, snapshotIndex: this.snapshotIndex, snapshotTerm: this.snapshotTerm, runs: [] };
    }
    if (prev.index < this.snapshotIndex) {
      throw this.corrupt(prev.index, `the log ends below the snapshot index ${this.snapshotIndex}`);
    }
    const shape: LogShape = { first: this.first, last: prev.index, snapshotIndex: this.snapshotIndex, snapshotTerm: this.snapshotTerm, runs: this.runs };
    assertShape(shape);
    return shape;
  }
}

// ---------------------------------------------------------------------------

function checkSnapshotMetadata(shape: LogShape, meta: SnapshotMetadata): void {
  if (!Number.isSafeInteger(meta.index) || meta.index < 1 || !Number.isSafeInteger(meta.term) || meta.term < 1) {
    throw new Error(`raft storage: invalid snapshot metadata (index ${meta.index}, term ${meta.term})`);
  }
  if (meta.index < shape.snapshotIndex) {
    throw new Error(`raft storage: snapshot at ${meta.index} is older than the stored snapshot at ${shape.snapshotIndex}`);
  }
}

function checkContiguous(entries: Entry[]): void {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!Number.isSafeInteger(e.index) || e.index < 1 || !Number.isSafeInteger(e.term) || e.term < 1) {
      throw new Error(`raft storage: invalid entry (index ${e.index}, term ${e.term})`);
    }
    if (i > 0) {
      const p = entries[i - 1];
      if (e.index !== p.index + 1) throw new Error(`raft storage: entries not contiguous (${p.index} then ${e.index})`);
      if (e.term < p.term) throw new Error(`raft storage: entry ${e.index} has term ${e.term}, lower than ${p.term} before it`);
    }
  }
}

function termAtRuns(runs: readonly TermRun[], index: number): number {
  for (let i = runs.length - 1; i >= 0; i--) if (runs[i].start <= index) return runs[i].term;
  return 0;
}

/** The runs for entries [from, last] out of runs covering more. */
function dropRunsBelow(runs: readonly TermRun[], from: number, last: number): TermRun[] {
  if (from > last) return [];
  const out: TermRun[] = [];
  for (let i = 0; i < runs.length; i++) {
    const end = i + 1 < runs.length ? runs[i + 1].start - 1 : last;
    if (end < from) continue;
    out.push(runs[i].start < from ? { start: from, term: runs[i].term } : runs[i]);
  }
  return out;
}

/** Stored indexes in `before` that are not in `after`: at most one range below and one above. */
function dropped(before: LogShape, after: LogShape): { from: number; to: number }[] {
  if (before.first > before.last) return [];
  const out: { from: number; to: number }[] = [];
  const empty = after.first > after.last;
  const lowEnd = empty ? before.last : Math.min(before.last, after.first - 1);
  if (lowEnd >= before.first) out.push({ from: before.first, to: lowEnd });
  if (!empty && before.last > after.last) {
    const from = Math.max(before.first, after.last + 1);
    out.push({ from, to: before.last });
  }
  return out;
}

function assertShape(s: LogShape): void {
  const ok =
    s.first <= s.last + 1 &&
    s.first <= s.snapshotIndex + 1 &&
    s.last >= s.snapshotIndex &&
    (s.first > s.last ? s.runs.length === 0 : s.runs.length > 0 && s.runs[0].start === s.first);
  if (!ok) throw new Error(`raft storage: broken log shape ${JSON.stringify(s)}`);
}
