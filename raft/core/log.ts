// The Raft log as the core sees it: a compacted prefix (represented by the
// index and term just before the first retained entry), the retained entries
// (persisted ones followed by not-yet-persisted ones), and the commit and
// apply cursors. The core owns this memory; storage is written from Readies.

import { assert } from "./assert.js";
import type { Entry, Snapshot } from "./types.js";

export class RaftLog {
  /** Index and term of the entry just before entries[0] (the compaction point). */
  private prevIndex: number;
  private prevTerm: number;
  private entries: Entry[];
  /** Highest index known to be on stable storage. */
  stableIndex: number;
  committed: number;
  /** Highest index handed to the state machine and acknowledged by advance(). */
  applied: number;
  /** Latest snapshot, kept for lagging followers. */
  snapshot: Snapshot | null;
  /** A snapshot received from the leader that is not yet persisted and applied. */
  pendingSnapshot: Snapshot | null = null;

  constructor(snapshot: Snapshot | null, entries: Entry[], committed: number, applied: number) {
    this.snapshot = snapshot;
    this.prevIndex = snapshot ? snapshot.metadata.index : 0;
    this.prevTerm = snapshot ? snapshot.metadata.term : 0;
    // Entries at or below the snapshot are redundant (storage may keep a tail).
    this.entries = entries.filter((e) => e.index > this.prevIndex);
    for (let i = 0; i < this.entries.length; i++) {
      assert(this.entries[i]!.index === this.prevIndex + 1 + i, () => `log not contiguous at ${this.prevIndex + 1 + i}`);
    }
    this.stableIndex = this.lastIndex();
    this.committed = Math.min(Math.max(committed, this.prevIndex), this.lastIndex());
    this.applied = Math.max(applied, this.prevIndex);
    assert(this.applied <= this.committed, () => `applied ${this.applied} > committed ${this.committed}`);
  }

  firstIndex(): number {
    return this.prevIndex + 1;
  }

  lastIndex(): number {
    return this.prevIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.term : this.prevTerm;
  }

  /** Term of the entry at `index`, or undefined when it is compacted away or beyond the log. */
  term(index: number): number | undefined {
    if (index === this.prevIndex) return this.prevTerm;
    if (index < this.prevIndex || index > this.lastIndex()) return index === 0 ? 0 : undefined;
    return this.entries[index - this.prevIndex - 1]!.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entryAt(index: number): Entry | undefined {
    if (index <= this.prevIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.prevIndex - 1];
  }

  /** Voting rule (§5.4.1): is a candidate's log at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in [lo, hi), at most `maxBytes` of payload (but at least one) and
   * `maxEntries`. Returns undefined if lo is compacted away.
   */
  slice(lo: number, hi: number, maxBytes: number, maxEntries: number): Entry[] | undefined {
    if (lo <= this.prevIndex) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1, lo + maxEntries);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entries[i - this.prevIndex - 1]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Appends on the leader. */
  append(entries: Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.lastIndex() + 1, () => `append at ${e.index} after ${this.lastIndex()}`);
      this.entries.push(e);
    }
  }

  /**
   * Follower side of AppendEntries. Returns the index of the last new entry,
   * or undefined when (prevIndex, prevTerm) does not match our log.
   * Truncates only at the first entry whose term really conflicts, so a
   * delayed, shorter message never cuts the log.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: Entry[]): number | undefined {
    this.lastTruncatedFrom = null;
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const existing = this.term(e.index);
      if (existing === e.term) continue;
      if (existing === undefined && e.index <= this.prevIndex) continue; // already compacted: committed, so equal
      assert(e.index > this.committed, () => `conflict at ${e.index} below commit ${this.committed}`);
      this.truncateFrom(e.index);
      for (let j = i; j < entries.length; j++) this.entries.push(entries[j]!);
      break;
    }
    return lastNew;
  }

  /** Set by maybeAppend when it cut the log at this index (a real conflict), else null. */
  lastTruncatedFrom: number | null = null;

  private truncateFrom(index: number): void {
    if (index <= this.lastIndex()) this.lastTruncatedFrom = index;
    this.entries.length = index - this.prevIndex - 1;
    this.stableIndex = Math.min(this.stableIndex, index - 1);
  }

  /**
   * Fast backtracking: the largest index <= `index` whose term is <= `term`.
   * Used by a follower to hint where to retry and by the leader to skip a
   * whole conflicting term at once.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.prevIndex; i--) {
      const t = this.term(i)!;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.prevIndex, term: this.prevTerm };
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Entries persisted-or-persisting now, not yet acknowledged by advance(). */
  unstableEntries(): Entry[] {
    if (this.stableIndex >= this.lastIndex()) return [];
    return this.entries.slice(this.stableIndex - this.prevIndex);
  }

  /** Committed entries not yet applied (bounded), empty while a snapshot is pending. */
  nextCommittedEntries(maxEntries: number): Entry[] {
    if (this.pendingSnapshot) return [];
    const lo = this.applied + 1;
    const hi = Math.min(this.committed, this.applied + maxEntries);
    if (hi < lo) return [];
    return this.entries.slice(lo - this.prevIndex - 1, hi - this.prevIndex);
  }

  hasNextCommittedEntries(): boolean {
    return !this.pendingSnapshot && this.committed > this.applied;
  }

  stableTo(index: number): void {
    this.stableIndex = Math.max(this.stableIndex, Math.min(index, this.lastIndex()));
  }

  appliedTo(index: number): void {
    assert(index <= this.committed, () => `applied ${index} beyond commit ${this.committed}`);
    this.applied = Math.max(this.applied, index);
  }

  /** Follower: replace the whole log with a snapshot from the leader. */
  restore(snapshot: Snapshot): void {
    this.prevIndex = snapshot.metadata.index;
    this.prevTerm = snapshot.metadata.term;
    this.entries = [];
    this.committed = snapshot.metadata.index;
    this.stableIndex = snapshot.metadata.index;
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
  }

  snapshotApplied(snapshot: Snapshot): void {
    if (this.pendingSnapshot === snapshot) this.pendingSnapshot = null;
    this.applied = Math.max(this.applied, snapshot.metadata.index);
  }

  /** The state machine took `snapshot`; forget entries up to `compactTo`. */
  compact(snapshot: Snapshot, compactTo: number): void {
    assert(snapshot.metadata.index <= this.applied, () => `snapshot ${snapshot.metadata.index} beyond applied ${this.applied}`);
    if (!this.snapshot || snapshot.metadata.index > this.snapshot.metadata.index) this.snapshot = snapshot;
    compactTo = Math.min(compactTo, snapshot.metadata.index, this.stableIndex);
    if (compactTo <= this.prevIndex) return;
    const term = this.term(compactTo)!;
    this.entries = this.entries.slice(compactTo - this.prevIndex);
    this.prevIndex = compactTo;
    this.prevTerm = term;
  }
}
