// The LogStorage contract, run against both implementations: LevelDB (the
// real disk) and the memory twin the simulator uses. If one passes and the
// other does not, the simulator is lying about the real thing.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import type { Entry, HardState, Snapshot } from "../../raft/core/types.js";
import { LevelLogStorage, LogCorruptionError, MemoryLogStorage, crc32 } from "../../raft/storage/index.js";
import type { LogStorage } from "../../raft/storage/index.js";
import { crc32Table } from "../../raft/storage/crc32.js";
import { entryKey } from "../../raft/storage/leveldb.js";

// ---------------------------------------------------------------------------
// A "disk" each implementation can be opened on, reopened on, and damaged.

interface Disk {
  /** Opens the storage on this disk; a second open is a restart of the member. */
  open(): Promise<LogStorage>;
  /** Flips stored bytes of entry `index` (the storage must be closed). */
  damageEntry(index: number): Promise<void>;
  /** Removes stored entry `index` (the storage must be closed). */
  loseEntry(index: number): Promise<void>;
  dispose(): Promise<void>;
}

function memoryDisk(): Disk {
  let latest: MemoryLogStorage | null = null;
  return {
    async open() {
      latest = latest === null ? new MemoryLogStorage() : latest.crashCopy();
      return latest;
    },
    async damageEntry(index) {
      latest!.injectCorruption(index);
    },
    async loseEntry(index) {
      latest!.injectLostEntry(index);
    },
    async dispose() {},
  };
}

async function levelDisk(): Promise<Disk & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "pinsetter-storage-"));
  const raw = async <T>(fn: (db: Level<string, Buffer>) => Promise<T>): Promise<T> => {
    const db = new Level<string, Buffer>(dir, { keyEncoding: "utf8", valueEncoding: "buffer" });
    await db.open();
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  return {
    dir,
    open: () => LevelLogStorage.open(dir),
    damageEntry: (index) =>
      raw(async (db) => {
        const value = await db.get(entryKey(index));
        if (value === undefined) throw new Error(`no entry ${index} to damage`);
        value[value.length - 1] ^= 0x01;
        await db.put(entryKey(index), value);
      }),
    loseEntry: (index) => raw((db) => db.del(entryKey(index))),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------
// Helpers that read like the situations they build.

const text = new TextEncoder();

function entry(index: number, term: number, type: Entry["type"] = "normal"): Entry {
  return { index, term, type, data: text.encode(`payload ${index}@${term}`) };
}

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

function snapshot(index: number, term: number, voters = ["m1", "m2", "m3"], learners: string[] = []): Snapshot {
  return { metadata: { index, term, conf: { voters, learners } }, data: text.encode(`state machine at ${index}`) };
}

function indexes(es: Entry[]): number[] {
  return es.map((e) => e.index);
}

const implementations = [
  { name: "MemoryLogStorage", makeDisk: async (): Promise<Disk> => memoryDisk() },
  { name: "LevelLogStorage", makeDisk: levelDisk },
];

describe.each(implementations)("LogStorage contract: $name", ({ makeDisk }) => {
  let disk: Disk;
  const opened: LogStorage[] = [];

  async function open(): Promise<LogStorage> {
    const s = await disk.open();
    opened.push(s);
    return s;
  }

  /** Closes the member's storage and opens it again, as a restart does. */
  async function restart(s: LogStorage): Promise<LogStorage> {
    await s.close();
    return open();
  }

  async function fresh(): Promise<LogStorage> {
    disk = await makeDisk();
    return open();
  }

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await disk?.dispose();
  });

  it("a brand-new storage loads as term 0, no vote, nothing committed, no snapshot, no entries", async () => {
    const s = await fresh();
    expect(await s.load()).toEqual({ hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] });
  });

  it("appended entries and hard state come back in order after a restart", async () => {
    let s = await fresh();
    await s.load();
    const hs: HardState = { term: 2, vote: "m2", commit: 3 };
    const written = [...entries(1, 3, 1), entry(4, 2, "confChange"), entry(5, 2)];
    await s.save({ hardState: hs, entries: written }, true);
    s = await restart(s);
    const back = await s.load();
    expect(back.hardState).toEqual(hs);
    expect(back.snapshot).toBeNull();
    expect(back.entries).toEqual(written);
    expect(back.entries[3].type).toBe("confChange");
  });

  it("an append that conflicts replaces the stored suffix from its first index on", async () => {
    let s = await fresh();
    await s.save({ entries: entries(1, 5, 1) }, true);
    await s.save({ entries: entries(3, 4, 2) }, true);
    expect(await s.load()).toMatchObject({ entries: [...entries(1, 2, 1), ...entries(3, 4, 2)] });
    await s.save({ entries: entries(5, 6, 2) }, true);
    s = await restart(s);
    expect((await s.load()).entries).toEqual([...entries(1, 2, 1), ...entries(3, 6, 2)]);
  });

  it("an append that would leave a gap or lower the term is refused and writes nothing", async () => {
    const s = await fresh();
    await s.save({ entries: entries(1, 3, 2) }, true);
    await expect(s.save({ entries: entries(5, 6, 2) }, true)).rejects.toThrow(/gap after the last stored index 3/);
    await expect(s.save({ entries: entries(4, 4, 1) }, true)).rejects.toThrow(/lower than term 2/);
    await expect(s.save({ entries: [entry(4, 2), entry(6, 2)] }, true)).rejects.toThrow(/not contiguous/);
    expect((await s.load()).entries).toEqual(entries(1, 3, 2));
  });

  it("the latest hard state wins, and saving entries alone leaves it alone", async () => {
    let s = await fresh();
    await s.save({ hardState: { term: 1, vote: "m1", commit: 0 } }, true);
    await s.save({ hardState: { term: 3, vote: null, commit: 0 } }, true);
    await s.save({ entries: entries(1, 2, 3) }, false);
    s = await restart(s);
    expect(await s.load()).toMatchObject({ hardState: { term: 3, vote: null, commit: 0 }, entries: entries(1, 2, 3) });
  });

  it("a received snapshot discards the log up to its index and keeps what follows when the terms agree", async () => {
    let s = await fresh();
    await s.save({ entries: [...entries(1, 5, 1), ...entries(6, 10, 2)] }, true);
    const snap = snapshot(7, 2, ["m1", "m2", "m3"], ["m4"]);
    await s.save({ snapshot: snap, hardState: { term: 2, vote: null, commit: 7 } }, true);
    s = await restart(s);
    const back = await s.load();
    expect(back.snapshot).toEqual(snap);
    expect(back.entries).toEqual(entries(8, 10, 2));
    await s.save({ entries: entries(11, 11, 2) }, true);
    expect(indexes((await s.load()).entries)).toEqual([8, 9, 10, 11]);
  });

  it("a received snapshot discards the whole log when the terms disagree at its index", async () => {
    let s = await fresh();
    await s.save({ entries: entries(1, 10, 1) }, true);
    await s.save({ snapshot: snapshot(7, 3) }, true);
    s = await restart(s);
    expect(await s.load()).toMatchObject({ snapshot: snapshot(7, 3), entries: [] });
    await expect(s.save({ entries: entries(9, 9, 3) }, true)).rejects.toThrow(/gap/);
    await s.save({ entries: entries(8, 9, 3) }, true);
    expect((await s.load()).entries).toEqual(entries(8, 9, 3));
  });

  it("a snapshot beyond the log replaces it, and entries in the same batch follow the snapshot", async () => {
    let s = await fresh();
    await s.save({ entries: entries(1, 4, 1) }, true);
    await s.save({ snapshot: snapshot(20, 3), entries: entries(21, 22, 3), hardState: { term: 3, vote: null, commit: 20 } }, true);
    s = await restart(s);
    expect(await s.load()).toEqual({
      hardState: { term: 3, vote: null, commit: 20 },
      snapshot: snapshot(20, 3),
      entries: entries(21, 22, 3),
    });
  });

  it("an older snapshot, or entries at or below the snapshot, are refused", async () => {
    const s = await fresh();
    await s.save({ snapshot: snapshot(10, 2), entries: entries(11, 12, 2) }, true);
    await expect(s.save({ snapshot: snapshot(9, 2) }, true)).rejects.toThrow(/older than the stored snapshot at 10/);
    await expect(s.save({ entries: entries(10, 11, 2) }, true)).rejects.toThrow(/at or below the snapshot index 10/);
    expect(await s.load()).toMatchObject({ snapshot: snapshot(10, 2), entries: entries(11, 12, 2) });
  });

  it("compaction stores a local snapshot and forgets entries up to compactTo; load returns what follows the snapshot", async () => {
    let s = await fresh();
    await s.save({ entries: entries(1, 10, 1) }, true);
    await s.saveSnapshotAndCompact(snapshot(8, 1), 5);
    expect(await s.load()).toMatchObject({ snapshot: snapshot(8, 1), entries: entries(9, 10, 1) });
    s = await restart(s);
    // A save right after a restart, without load(), still knows the log.
    await s.save({ entries: entries(11, 12, 2) }, true);
    await s.saveSnapshotAndCompact(snapshot(11, 2), 11);
    s = await restart(s);
    expect(await s.load()).toMatchObject({ snapshot: snapshot(11, 2), entries: entries(12, 12, 2) });
  });

  it("compaction refuses a snapshot the log does not reach, or a compactTo beyond the snapshot", async () => {
    const s = await fresh();
    await s.save({ entries: entries(1, 5, 1) }, true);
    await expect(s.saveSnapshotAndCompact(snapshot(6, 1), 6)).rejects.toThrow(/beyond the last stored index 5/);
    await expect(s.saveSnapshotAndCompact(snapshot(4, 1), 5)).rejects.toThrow(/compactTo 5/);
    await expect(s.saveSnapshotAndCompact(snapshot(4, 2), 4)).rejects.toThrow(/the log has term 1/);
    expect(await s.load()).toMatchObject({ snapshot: null, entries: entries(1, 5, 1) });
  });

  it("saves issued without waiting are applied in call order", async () => {
    const s = await fresh();
    await Promise.all([
      s.save({ entries: entries(1, 5, 1) }, false),
      s.save({ entries: entries(4, 6, 2) }, false),
      s.save({ entries: entries(7, 7, 2), hardState: { term: 2, vote: "m1", commit: 6 } }, true),
    ]);
    expect(await s.load()).toMatchObject({
      hardState: { term: 2, vote: "m1", commit: 6 },
      entries: [...entries(1, 3, 1), ...entries(4, 7, 2)],
    });
  });

  it("what is stored is a copy: changing the caller's buffers after a save changes nothing", async () => {
    const s = await fresh();
    const e = entry(1, 1);
    await s.save({ entries: [e] }, true);
    e.data[0] ^= 0xff;
    expect((await s.load()).entries).toEqual([entry(1, 1)]);
    const back = await s.load();
    back.entries[0].data[0] ^= 0xff;
    expect((await s.load()).entries).toEqual([entry(1, 1)]);
    const snap = snapshot(1, 1);
    await s.save({ snapshot: snap }, true);
    snap.data[0] ^= 0xff;
    snap.metadata.conf.voters.push("m9");
    expect(await s.load()).toMatchObject({ snapshot: snapshot(1, 1), entries: [] });
  });

  it("a flipped byte in a stored entry makes load fail, naming the index", async () => {
    let s = await fresh();
    await s.save({ entries: entries(1, 50, 1) }, true);
    await s.close();
    await disk.damageEntry(42);
    s = await open();
    const err = await s.load().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LogCorruptionError);
    expect((err as LogCorruptionError).message).toMatch(/^raft log corrupted at index 42: checksum mismatch$/);
    expect((err as LogCorruptionError).index).toBe(42);
    // A save must not paper over it either: it needs the log's shape, which needs a good load.
    await expect(s.save({ entries: entries(51, 51, 1) }, true)).rejects.toThrow(/index 42/);
  });

  it("a missing entry in the middle of the log is reported as a gap", async () => {
    let s = await fresh();
    await s.save({ entries: entries(1, 10, 1) }, true);
    await s.close();
    await disk.loseEntry(6);
    s = await open();
    await expect(s.load()).rejects.toThrow(/^raft log corrupted at index 7: gap in the log, previous stored index is 5$/);
  });

  it("a log whose start was lost after the snapshot is reported, not silently shortened", async () => {
    let s = await fresh();
    await s.save({ snapshot: snapshot(10, 1), entries: entries(11, 15, 1) }, true);
    await s.close();
    await disk.loseEntry(11);
    s = await open();
    await expect(s.load()).rejects.toThrow(/raft log corrupted at index 12: the log must start at or before 11/);
  });

  it("loads a 100k-entry log in one pass (timing logged)", async () => {
    let s = await fresh();
    const count = 100_000;
    const payload = new Uint8Array(100).fill(7);
    for (let from = 1; from <= count; from += 2000) {
      const chunk: Entry[] = [];
      for (let i = from; i < from + 2000 && i <= count; i++) chunk.push({ index: i, term: 1 + Math.floor(i / 30_000), type: "normal", data: payload });
      await s.save({ entries: chunk, hardState: { term: 4, vote: "m1", commit: chunk[chunk.length - 1].index } }, false);
    }
    s = await restart(s);
    const started = performance.now();
    const back = await s.load();
    const ms = performance.now() - started;
    console.log(`[storage-contract] ${s.constructor.name}: load of ${count} entries took ${ms.toFixed(0)} ms`);
    expect(back.entries.length).toBe(count);
    expect(back.entries[count - 1]).toMatchObject({ index: count, term: 4 });
    expect(back.hardState.commit).toBe(count);
  });
});

describe("LevelLogStorage on disk", () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  async function rawKeys(d: string): Promise<string[]> {
    const db = new Level<string, Buffer>(d, { keyEncoding: "utf8", valueEncoding: "buffer" });
    await db.open();
    try {
      return await db.keys().all();
    } finally {
      await db.close();
    }
  }

  it("leaves exactly the entries it claims: conflicts, snapshots and compaction delete what they replace", async () => {
    const disk = await levelDisk();
    dir = disk.dir;
    const s = await LevelLogStorage.open(dir);
    try {
      await s.save({ entries: entries(1, 20, 1) }, true);
      await s.save({ entries: entries(15, 16, 2) }, true); // 17..20 must go
      await s.saveSnapshotAndCompact(snapshot(12, 1), 8); // 1..8 go, 9..12 stay as a tail
    } finally {
      await s.close();
    }
    const expected = [9, 10, 11, 12, 13, 14, 15, 16].map(entryKey);
    expect(await rawKeys(dir)).toEqual([...expected, "m:snapshot"]);
  });

  it("a flipped byte in the hard state makes load fail, naming the key", async () => {
    const disk = await levelDisk();
    dir = disk.dir;
    let s = await LevelLogStorage.open(dir);
    await s.save({ hardState: { term: 5, vote: "m3", commit: 0 } }, true);
    await s.close();
    const db = new Level<string, Buffer>(dir, { keyEncoding: "utf8", valueEncoding: "buffer" });
    await db.open();
    const value = (await db.get("m:hardState"))!;
    value[6] ^= 0x10;
    await db.put("m:hardState", value);
    await db.close();
    s = await LevelLogStorage.open(dir);
    try {
      await expect(s.load()).rejects.toThrow(/^raft storage corrupted at key "m:hardState": checksum mismatch$/);
    } finally {
      await s.close();
    }
  });

  it("crc32 matches the IEEE check value, native and table alike", () => {
    for (const f of [crc32, crc32Table]) {
      expect(f(text.encode("123456789"))).toBe(0xcbf43926);
      expect(f(new Uint8Array(0))).toBe(0);
      expect(f(text.encode("xx123456789yy"), 2, 11)).toBe(0xcbf43926);
    }
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) & 0xff);
    expect(crc32(bytes, 100, 3000)).toBe(crc32Table(bytes, 100, 3000));
  });
});

describe("MemoryLogStorage crash models", () => {
  it("a process crash keeps every resolved save; a power loss keeps only up to the last synced one", async () => {
    const s = new MemoryLogStorage();
    await s.save({ entries: entries(1, 3, 1), hardState: { term: 1, vote: "m1", commit: 0 } }, true);
    await s.save({ entries: entries(4, 5, 1), hardState: { term: 1, vote: "m1", commit: 5 } }, false);
    const afterProcessCrash = s.crashCopy();
    const afterPowerLoss = s.crashCopy({ loseUnsynced: true });
    expect(await afterProcessCrash.load()).toMatchObject({ hardState: { commit: 5 }, entries: entries(1, 5, 1) });
    expect(await afterPowerLoss.load()).toMatchObject({ hardState: { commit: 0 }, entries: entries(1, 3, 1) });
    // The next synced save makes everything before it durable too.
    await s.save({ entries: entries(6, 6, 1) }, true);
    expect((await s.crashCopy({ loseUnsynced: true }).load()).entries).toEqual(entries(1, 6, 1));
  });
});
