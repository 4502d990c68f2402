// LogStorage on LevelDB (classic-level): the member's Raft log, hard state and
// latest snapshot (with its membership) in one database directory. Every save
// is one atomic batch; every record carries a CRC-32 checked on load.
//
// Keys (utf8, ordered so one range scan reads the log in index order):
//   e:<index as 16 hex digits>   one log entry
//   m:hardState                  term, vote, commit
//   m:snapshot                   snapshot metadata (index, term, conf) and data
// Values: [format 1][crc32 of payload, u32 big-endian][msgpack payload]
//   entry:     [index, term, type (0 normal, 1 confChange), data]
//   hardState: [term, vote, commit]
//   snapshot:  [index, term, voters, learners, data]

import { mkdir } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { Level } from "level";
import { Packr } from "msgpackr";
import { releaseLargePackBuffer } from "../codec/pack-buffer.js";
import type { Logger } from "pino";
import type { Entry, EntryType, HardState, Snapshot } from "../core/types.js";
import { crc32 } from "./crc32.js";
import { EMPTY_HARD_STATE, LogChecker, LogCorruptionError, planCompact, planSave } from "./rules.js";
import type { LogShape, WritePlan } from "./rules.js";
import type { LogStorage, PersistBatch, StoredState } from "./types.js";

const FORMAT = 1;
const HEADER = 5;
const KEY_HARD_STATE = "m:hardState";
const KEY_SNAPSHOT = "m:snapshot";
const ENTRY_PREFIX = "e:";
const ENTRY_KEY_LENGTH = ENTRY_PREFIX.length + 16;
/** Entries per iterator round trip on load: large enough that the native hop is amortized. */
const LOAD_CHUNK = 4096;
/** Bytes classic-level may buffer per round trip (its 16 KiB default makes a 100k log ~40% slower to read). */
const LOAD_CHUNK_BYTES = 4 * 1024 * 1024;

export function entryKey(index: number): string {
  return ENTRY_PREFIX + index.toString(16).padStart(16, "0");
}

export interface LevelLogStorageOptions {
  logger?: Logger;
}

type Op = { type: "put"; key: string; value: Buffer } | { type: "del"; key: string };

export class LevelLogStorage implements LogStorage {
  /** What is stored; null until the first load() (a save() before it loads first). */
  private shape: LogShape | null = null;
  /** Loads and writes run one at a time, in call order, so each plans on the state the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set when a write failed: what is on disk is then unknown, so no further writes. */
  private failed: Error | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly db: Level<string, Buffer>,
    readonly dir: string,
    private readonly log: Logger | null,
  ) {}

  /** Opens (creating if needed) the database in `dir`. */
  static async open(dir: string, options: LevelLogStorageOptions = {}): Promise<LevelLogStorage> {
    await mkdir(dir, { recursive: true });
    const db = new Level<string, Buffer>(dir, { keyEncoding: "utf8", valueEncoding: "buffer" });
    await db.open();
    const log = options.logger?.child({ component: "raft-storage" }) ?? null;
    return new LevelLogStorage(db, dir, log);
  }

  load(): Promise<StoredState> {
    return this.enqueue(() => this.loadNow());
  }

  save(batch: PersistBatch, sync: boolean): Promise<void> {
    return this.enqueue(async () => {
      const shape = this.shape ?? (await this.loadShape());
      await this.write(planSave(shape, batch), sync);
    });
  }

  saveSnapshotAndCompact(snapshot: Snapshot, compactTo: number): Promise<void> {
    return this.enqueue(async () => {
      const shape = this.shape ?? (await this.loadShape());
      const plan = planCompact(shape, snapshot, compactTo);
      await this.write(plan, true);
      this.log?.debug({ snapshotIndex: snapshot.metadata.index, compactTo, first: plan.next.first }, "raft log compacted");
    });
  }

  loadSnapshot(): Promise<Snapshot | null> {
    return this.enqueue(async () => {
      const value = await this.db.get(KEY_SNAPSHOT);
      return value === undefined ? null : decodeSnapshot(value);
    });
  }

  /** Waits for queued writes, then closes the database. Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.closing = this.queue.then(() => this.db.close());
    }
    return this.closing;
  }

  // -------------------------------------------------------------------------

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    if (this.closing !== null) return Promise.reject(new Error(`raft storage in ${this.dir} is closed`));
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(plan: WritePlan, sync: boolean): Promise<void> {
    if (this.failed !== null) {
      throw new Error(`raft storage in ${this.dir} refuses writes after a failed one; reopen it`, { cause: this.failed });
    }
    const ops: Op[] = [];
    for (const range of plan.deletes) {
      for (let i = range.from; i <= range.to; i++) ops.push({ type: "del", key: entryKey(i) });
    }
    if (plan.snapshot !== null) ops.push({ type: "put", key: KEY_SNAPSHOT, value: encodeSnapshot(plan.snapshot) });
    for (const e of plan.entries) ops.push({ type: "put", key: entryKey(e.index), value: encodeEntry(e) });
    if (plan.hardState !== null) ops.push({ type: "put", key: KEY_HARD_STATE, value: encodeHardState(plan.hardState) });
    if (ops.length > 0) {
      try {
        await this.db.batch(ops, { sync });
      } catch (err) {
        this.failed = err instanceof Error ? err : new Error(String(err));
        throw err;
      }
    }
    this.shape = plan.next;
  }

  private async loadShape(): Promise<LogShape> {
    await this.loadNow();
    return this.shape!;
  }

  private async loadNow(): Promise<StoredState> {
    const started = performance.now();
    const [hardStateValue, snapshotValue] = await this.db.getMany([KEY_HARD_STATE, KEY_SNAPSHOT]);
    const hardState = hardStateValue === undefined ? { ...EMPTY_HARD_STATE } : decodeHardState(hardStateValue);
    const snapshot = snapshotValue === undefined ? null : decodeSnapshot(snapshotValue);
    const checker = new LogChecker(snapshot?.metadata ?? null, entryKey);
    // One ordered scan of the whole log; fillCache off so it does not evict the block cache for nothing.
    const it = this.db.iterator({ gte: ENTRY_PREFIX, lt: "e;", highWaterMarkBytes: LOAD_CHUNK_BYTES, fillCache: false });
    try {
      for (;;) {
        const chunk = await it.nextv(LOAD_CHUNK);
        if (chunk.length === 0) break;
        for (const [key, value] of chunk) checker.add(decodeEntry(key, value));
      }
    } finally {
      await it.close();
    }
    const shape = checker.finish();
    this.shape = shape;
    this.log?.info(
      {
        entries: checker.entries.length,
        first: shape.first,
        last: shape.last,
        snapshotIndex: shape.snapshotIndex,
        term: hardState.term,
        ms: Math.round(performance.now() - started),
      },
      "raft log loaded",
    );
    return { hardState, snapshot, entries: checker.entries };
  }
}

// ---------------------------------------------------------------------------
// Records

const packr = new Packr({ useRecords: false });

function seal(payload: unknown): Buffer {
  // pack() returns a view into a buffer msgpackr reuses: copy it out at once.
  const body = packr.pack(payload);
  const out = Buffer.allocUnsafe(HEADER + body.length);
  out[0] = FORMAT;
  body.copy(out, HEADER);
  out.writeUInt32BE(crc32(out, HEADER), 1);
  releaseLargePackBuffer(body.length);
  return out;
}

/** The payload of a record, or the reason it cannot be trusted. */
function unseal(value: Buffer): unknown {
  if (value.length < HEADER) throw new Problem(`record too short (${value.length} bytes)`);
  if (value[0] !== FORMAT) throw new Problem(`unknown record format ${value[0]}`);
  if (crc32(value, HEADER) !== value.readUInt32BE(1)) throw new Problem("checksum mismatch");
  try {
    return packr.unpack(value.subarray(HEADER));
  } catch (err) {
    throw new Problem(`undecodable record (${err instanceof Error ? err.message : String(err)})`);
  }
}

class Problem extends Error {}

function encodeEntry(e: Entry): Buffer {
  return seal([e.index, e.term, e.type === "confChange" ? 1 : 0, e.data]);
}

function decodeEntry(key: string, value: Buffer): Entry {
  const keyIndex = key.length === ENTRY_KEY_LENGTH ? Number.parseInt(key.slice(ENTRY_PREFIX.length), 16) : Number.NaN;
  if (!Number.isSafeInteger(keyIndex)) throw new LogCorruptionError(key, null, "not an entry key");
  try {
    const r = unseal(value);
    if (!Array.isArray(r) || r.length !== 4) throw new Problem("malformed entry record");
    const [index, term, type, data] = r as unknown[];
    if (index !== keyIndex) throw new Problem(`record holds index ${String(index)}`);
    if (!isTerm(term)) throw new Problem(`invalid term ${String(term)}`);
    if (type !== 0 && type !== 1) throw new Problem(`invalid entry type ${String(type)}`);
    if (!(data instanceof Uint8Array)) throw new Problem("entry data is not bytes");
    const entryType: EntryType = type === 1 ? "confChange" : "normal";
    return { index: keyIndex, term, type: entryType, data: bytes(data) };
  } catch (err) {
    if (err instanceof Problem) throw new LogCorruptionError(key, keyIndex, err.message);
    throw err;
  }
}

function encodeHardState(h: HardState): Buffer {
  return seal([h.term, h.vote, h.commit]);
}

function decodeHardState(value: Buffer): HardState {
  return decodeRecord(KEY_HARD_STATE, value, (r) => {
    if (!Array.isArray(r) || r.length !== 3) throw new Problem("malformed hard state record");
    const [term, vote, commit] = r as unknown[];
    if (!isCount(term) || !isCount(commit) || !(vote === null || typeof vote === "string")) {
      throw new Problem("invalid hard state values");
    }
    return { term, vote, commit };
  });
}

function encodeSnapshot(s: Snapshot): Buffer {
  const m = s.metadata;
  return seal([m.index, m.term, m.conf.voters, m.conf.learners, s.data]);
}

function decodeSnapshot(value: Buffer): Snapshot {
  return decodeRecord(KEY_SNAPSHOT, value, (r) => {
    if (!Array.isArray(r) || r.length !== 5) throw new Problem("malformed snapshot record");
    const [index, term, voters, learners, data] = r as unknown[];
    if (!isTerm(index) || !isTerm(term)) throw new Problem("invalid snapshot index or term");
    if (!isNames(voters) || !isNames(learners)) throw new Problem("invalid snapshot membership");
    if (!(data instanceof Uint8Array)) throw new Problem("snapshot data is not bytes");
    return { metadata: { index, term, conf: { voters, learners } }, data: bytes(data) };
  });
}

function decodeRecord<T>(key: string, value: Buffer, check: (payload: unknown) => T): T {
  try {
    return check(unseal(value));
  } catch (err) {
    if (err instanceof Problem) throw new LogCorruptionError(key, null, err.message);
    throw err;
  }
}

/** A plain Uint8Array view (msgpackr hands out Buffers), so both storages return the same type. */
function bytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function isTerm(x: unknown): x is number {
  return isCount(x) && x >= 1;
}

function isNames(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((n) => typeof n === "string");
}
