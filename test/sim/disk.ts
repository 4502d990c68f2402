// What a simulated member keeps across a crash (its "disk": hard state, log,
// latest snapshot) and what it rebuilds (a tiny state machine whose state is a
// digest chain over every applied entry, so two members' states can be
// compared at any index in O(1) and a snapshot carries a checkable image).

import type { ConfState, Entry, HardState, InitialState, Snapshot } from "../../raft/core/types.js";

/** FNV-1a over bytes, folded with the length. Good enough to tell entries apart. */
export function bytesHash(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ data.length) >>> 0;
}

/** Identity of an entry's content (type + data), independent of index and term. */
export function entryHash(e: Entry): number {
  return (bytesHash(e.data) ^ (e.type === "confChange" ? 0x5bd1e995 : 0)) >>> 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function textBytes(s: string): Uint8Array {
  return encoder.encode(s);
}

export function bytesText(b: Uint8Array): string {
  return decoder.decode(b);
}

function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: e.data };
}

/**
 * The persisted state of one member. `hardState` is what was last written;
 * `synced` what was last written with a sync. A crash loses the difference
 * (the core may ask for a commit-only hard state update without sync).
 */
export class SimDisk {
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  synced: HardState = { term: 0, vote: null, commit: 0 };
  snapshot: Snapshot | null = null;
  /** Contiguous; entries[0].index may be <= the snapshot index (a kept tail after compaction). */
  entries: Entry[] = [];

  snapshotIndex(): number {
    return this.snapshot === null ? 0 : this.snapshot.metadata.index;
  }

  snapshotTerm(): number {
    return this.snapshot === null ? 0 : this.snapshot.metadata.term;
  }

  firstIndex(): number {
    return this.entries.length > 0 ? (this.entries[0] as Entry).index : this.snapshotIndex() + 1;
  }

  lastIndex(): number {
    return this.entries.length > 0 ? (this.entries[this.entries.length - 1] as Entry).index : this.snapshotIndex();
  }

  entry(index: number): Entry | undefined {
    if (this.entries.length === 0) return undefined;
    return this.entries[index - (this.entries[0] as Entry).index];
  }

  /** The term at `index` if this disk knows it (an entry, the snapshot boundary or 0). */
  term(index: number): number | undefined {
    const e = this.entry(index);
    if (e !== undefined) return e.term;
    if (index === this.snapshotIndex()) return this.snapshotTerm();
    return undefined;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  writeHardState(hs: HardState, sync: boolean): void {
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
    if (sync) this.synced = this.hardState;
  }

  /** Appends, replacing the stored suffix from entries[0].index on. Callers validated contiguity. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    if (this.entries.length > 0) {
      const base = (this.entries[0] as Entry).index;
      if (first <= base) this.entries = [];
      else this.entries.length = Math.min(this.entries.length, first - base);
    }
    for (const e of entries) this.entries.push(copyEntry(e));
  }

  /**
   * A snapshot received from the leader. Stored entries after it are kept only
   * if the log matches it at its index (then they are a valid continuation);
   * otherwise the whole log is replaced, as in etcd's MemoryStorage.
   */
  installSnapshot(snap: Snapshot): void {
    const idx = snap.metadata.index;
    const keep = this.term(idx) === snap.metadata.term;
    this.snapshot = snap;
    this.entries = keep ? this.entries.filter((e) => e.index > idx) : [];
  }

  /** A snapshot taken locally: entries up to `compactTo` (<= its index) are dropped. */
  compact(snap: Snapshot, compactTo: number): void {
    this.snapshot = snap;
    this.entries = this.entries.filter((e) => e.index > compactTo);
    // A snapshot write is synced, and with it the hard state written so far.
    this.synced = this.hardState;
  }

  /** A crash: unsynced writes are lost. */
  crash(): void {
    this.hardState = this.synced;
  }

  /** What a restarted core is built from: the snapshot and the entries after it. */
  initialState(bootstrap: ConfState): InitialState {
    const snapIdx = this.snapshotIndex();
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot,
      entries: this.entries.filter((e) => e.index > snapIdx).map(copyEntry),
      conf: { voters: bootstrap.voters.slice(), learners: bootstrap.learners.slice() },
      applied: snapIdx,
    };
  }
}

/** Mixes one applied entry into the state digest. */
export function chainDigest(digest: number, e: Entry): number {
  let h = digest ^ Math.imul(e.index, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ e.term;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ entryHash(e);
  return (h ^ (h >>> 16)) >>> 0;
}

interface SnapshotImage {
  index: number;
  term: number;
  digest: number;
  count: number;
}

/**
 * The replicated state machine: an append log of client payloads reduced to a
 * digest chain (plus how many payloads it holds). Every applied entry, the
 * leader's empty no-ops and conf changes included, moves the digest, so equal
 * digests at equal indexes mean equal histories.
 */
export class SimStateMachine {
  index = 0;
  term = 0;
  digest = 0;
  /** Client payloads applied (non-empty normal entries). */
  count = 0;

  /** Applies one committed entry; returns the client payload it carried, if any. */
  apply(e: Entry): string | null {
    this.index = e.index;
    this.term = e.term;
    this.digest = chainDigest(this.digest, e);
    if (e.type === "normal" && e.data.length > 0) {
      this.count++;
      return bytesText(e.data);
    }
    return null;
  }

  image(): Uint8Array {
    const img: SnapshotImage = { index: this.index, term: this.term, digest: this.digest, count: this.count };
    return textBytes(JSON.stringify(img));
  }

  restore(snap: Snapshot): void {
    const img = JSON.parse(bytesText(snap.data)) as SnapshotImage;
    if (img.index !== snap.metadata.index || img.term !== snap.metadata.term) {
      throw new Error(
        `snapshot image is for (${img.index},${img.term}) but its metadata says (${snap.metadata.index},${snap.metadata.term})`,
      );
    }
    this.index = img.index;
    this.term = img.term;
    this.digest = img.digest;
    this.count = img.count;
  }
}
