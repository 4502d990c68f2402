// The LogStorage seam: where a member's Raft log, hard state and latest
// snapshot live. The core never reads storage; the driver loads it once at
// start-up and then writes each Ready to it before anything depends on it.
// Two implementations obey one contract test: LevelDB (real) and memory (sim).

import type { Entry, HardState, Snapshot } from "../core/types.js";

export interface StoredState {
  hardState: HardState;
  /** Latest snapshot, or null if none was ever taken or received. */
  snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous, in order. */
  entries: Entry[];
}

/** One Ready's worth of durable changes, written atomically. */
export interface PersistBatch {
  hardState?: HardState | null;
  /**
   * Entries to append. If entries[0].index is at or below the last stored
   * index, the stored suffix from that index on is replaced (a Raft conflict).
   */
  entries?: Entry[];
  /**
   * A snapshot received from the leader. Stored entries at or below its index
   * are discarded; if the stored log has the snapshot's (index, term), the
   * entries after it stay (Raft's InstallSnapshot rule), otherwise the whole
   * log goes. Applied before `entries`, which then continue after it.
   * Locally taken snapshots go through saveSnapshotAndCompact instead.
   */
  snapshot?: Snapshot | null;
}

export interface LogStorage {
  /**
   * Reads everything back. Throws a LogCorruptionError naming the index or key
   * on corruption (bad checksum, undecodable record, gap, log not reaching the
   * snapshot); never hands back a log it could not verify.
   */
  load(): Promise<StoredState>;
  /**
   * Writes the batch atomically; when `sync`, resolves only once it is on disk
   * (fsync). Calls are applied in call order. A batch that breaks the log's
   * rules (a gap, entries at or below the snapshot, a lower term, an older
   * snapshot) is a caller bug: it rejects and writes nothing.
   */
  save(batch: PersistBatch, sync: boolean): Promise<void>;
  /**
   * Stores a locally taken snapshot (synced) and drops entries at or below
   * `compactTo` (<= snapshot index). Entries between compactTo and the
   * snapshot index stay on disk, but load() returns only entries after the
   * snapshot, as InitialState expects.
   */
  saveSnapshotAndCompact(snapshot: Snapshot, compactTo: number): Promise<void>;
  /** The latest stored snapshot (data included), or null. Reads only that record. */
  loadSnapshot(): Promise<Snapshot | null>;
  close(): Promise<void>;
}
