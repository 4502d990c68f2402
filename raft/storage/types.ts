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
   * A snapshot (received from the leader or taken locally). Stored entries at
   * or below snapshot.metadata.index are discarded, unless `keepEntriesAfter`
   * of compact says otherwise for locally taken snapshots (see compact()).
   */
  snapshot?: Snapshot | null;
}

export interface LogStorage {
  /** Reads everything back. Throws a clear error on corruption (bad checksum, gap in the log). */
  load(): Promise<StoredState>;
  /** Writes the batch atomically; when `sync`, resolves only once it is on disk (fsync). */
  save(batch: PersistBatch, sync: boolean): Promise<void>;
  /**
   * Stores a locally taken snapshot and drops entries at or below
   * `compactTo` (<= snapshot index), keeping a tail for slow followers.
   */
  saveSnapshotAndCompact(snapshot: Snapshot, compactTo: number): Promise<void>;
  close(): Promise<void>;
}
