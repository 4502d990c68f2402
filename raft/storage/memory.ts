// LogStorage in memory: the twin of LevelLogStorage that the simulator and
// unit tests use. Same rules (rules.ts), same contract test; it also models
// what a crash keeps (crashCopy) and disk faults (injectCorruption,
// injectLostEntry) so simulations can exercise recovery.

import type { Entry, HardState, Snapshot } from "../core/types.js";
import { EMPTY_HARD_STATE, LogChecker, LogCorruptionError, planCompact, planSave } from "./rules.js";
import type { LogShape, WritePlan } from "./rules.js";
import type { LogStorage, PersistBatch, StoredState } from "./types.js";

/** What a disk holds. Entries are private copies, never handed out or mutated. */
interface Disk {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  entries: Map<number, Entry>;
  /** Entries whose bytes were damaged (injectCorruption): load() fails on them. */
  damaged: Set<number>;
}

export interface CrashOptions {
  /**
   * false (default): a process crash, the OS still has every write that
   * resolved. true: a power loss, only writes up to the last synced save
   * survive (LevelDB's unsynced writes are ordered, so a suffix is lost).
   */
  loseUnsynced?: boolean;
}

export class MemoryLogStorage implements LogStorage {
  private shape: LogShape | null = null;
  /** Everything saved so far. */
  private readonly current: Disk;
  /** Everything saved up to the last synced save. */
  private readonly durable: Disk;
  /** Plans saved since the last synced save, oldest first. */
  private unsynced: WritePlan[] = [];
  private closed = false;

  constructor(disk?: Disk) {
    this.current = disk === undefined ? emptyDisk() : cloneDisk(disk);
    this.durable = cloneDisk(this.current);
  }

  async load(): Promise<StoredState> {
    this.checkOpen();
    return this.loadNow();
  }

  async save(batch: PersistBatch, sync: boolean): Promise<void> {
    this.checkOpen();
    const shape = this.shape ?? this.loadShape();
    this.write(planSave(shape, copyBatch(batch)), sync);
  }

  async loadSnapshot(): Promise<Snapshot | null> {
    const snapshot = this.current.snapshot;
    return snapshot === null ? null : copySnapshot(snapshot);
  }

  async saveSnapshotAndCompact(snapshot: Snapshot, compactTo: number): Promise<void> {
    this.checkOpen();
    const shape = this.shape ?? this.loadShape();
    this.write(planCompact(shape, copySnapshot(snapshot), compactTo), true);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * A new storage on this one's disk, as a restarted process would find it.
   * Works on a closed storage too (the disk outlives the process).
   */
  crashCopy(options: CrashOptions = {}): MemoryLogStorage {
    return new MemoryLogStorage(options.loseUnsynced === true ? this.durable : this.current);
  }

  /** Disk fault: the stored entry at `index` no longer matches its checksum. */
  injectCorruption(index: number): void {
    this.current.damaged.add(index);
    this.durable.damaged.add(index);
  }

  /** Disk fault: the stored entry at `index` is gone. */
  injectLostEntry(index: number): void {
    this.current.entries.delete(index);
    this.durable.entries.delete(index);
  }

  // -------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new Error("raft storage (memory) is closed");
  }

  private write(plan: WritePlan, sync: boolean): void {
    apply(this.current, plan);
    this.unsynced.push(plan);
    if (sync) {
      for (const p of this.unsynced) apply(this.durable, p);
      this.unsynced = [];
    }
    this.shape = plan.next;
  }

  private loadShape(): LogShape {
    this.loadNow();
    return this.shape!;
  }

  private loadNow(): StoredState {
    const disk = this.current;
    const snapshot = disk.snapshot === null ? null : copySnapshot(disk.snapshot);
    const checker = new LogChecker(snapshot?.metadata ?? null, entryName);
    const indexes = [...disk.entries.keys()].sort((a, b) => a - b);
    for (const i of indexes) {
      if (disk.damaged.has(i)) throw new LogCorruptionError(entryName(i), i, "checksum mismatch");
      checker.add(copyEntry(disk.entries.get(i)!));
    }
    this.shape = checker.finish();
    const hardState = disk.hardState === null ? { ...EMPTY_HARD_STATE } : { ...disk.hardState };
    return { hardState, snapshot, entries: checker.entries };
  }
}

function entryName(index: number): string {
  return `entry ${index}`;
}

function emptyDisk(): Disk {
  return { hardState: null, snapshot: null, entries: new Map(), damaged: new Set() };
}

function cloneDisk(d: Disk): Disk {
  return { hardState: d.hardState, snapshot: d.snapshot, entries: new Map(d.entries), damaged: new Set(d.damaged) };
}

function apply(disk: Disk, plan: WritePlan): void {
  for (const { from, to } of plan.deletes) {
    for (let i = from; i <= to; i++) {
      disk.entries.delete(i);
      disk.damaged.delete(i);
    }
  }
  if (plan.snapshot !== null) disk.snapshot = plan.snapshot;
  for (const e of plan.entries) {
    disk.entries.set(e.index, e);
    disk.damaged.delete(e.index);
  }
  if (plan.hardState !== null) disk.hardState = plan.hardState;
}

// Copies in and out, as a disk would: nothing the caller holds aliases what is stored.

function copyBatch(b: PersistBatch): PersistBatch {
  return {
    hardState: b.hardState == null ? null : { ...b.hardState },
    entries: b.entries?.map(copyEntry),
    snapshot: b.snapshot == null ? null : copySnapshot(b.snapshot),
  };
}

function copyEntry(e: Entry): Entry {
  return { index: e.index, term: e.term, type: e.type, data: new Uint8Array(e.data) };
}

function copySnapshot(s: Snapshot): Snapshot {
  const m = s.metadata;
  return {
    metadata: { index: m.index, term: m.term, conf: { voters: [...m.conf.voters], learners: [...m.conf.learners] } },
    data: new Uint8Array(s.data),
  };
}
