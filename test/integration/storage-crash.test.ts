// A member killed at a random moment keeps every entry it acknowledged.
// A child process appends to a LevelDB Raft log (synced saves, several in
// flight, periodic compaction) and prints "ack N" after each save resolves;
// the test SIGKILLs it at seeded random moments, reopens the log and checks
// that every acknowledged index is there with the right content, that the
// log is contiguous, and that each save landed whole (the hard state's commit
// and the last entry are written in one batch, so they must agree).

import { execFile, spawn } from "node:child_process";
import { existsSync, statSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LevelLogStorage } from "../../raft/storage/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHILD = join(ROOT, "test", "integration", "fixtures", "storage-crash-child.mjs");
const COMPILED = join(ROOT, "dist", "raft", "storage", "leveldb.js");
const SEED = Number(process.env.STORAGE_CRASH_SEED ?? 0x5eed) >>> 0;
const ROUNDS = 15;
// Generous: on a loaded shared machine a child needs seconds just to start.
const READY_TIMEOUT_MS = 30_000;

/** mulberry32, as in the child. */
function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** The payload the child writes for entry (index, term). */
function payload(index: number, term: number): Uint8Array {
  const length = ((index * 31 + term * 7) % 200) + 1;
  const data = new Uint8Array(length);
  for (let j = 0; j < length; j++) data[j] = (index + j * term + 13) & 0xff;
  return data;
}

/** The compiled storage must be at least as new as its sources (npm test builds first; this covers a bare vitest run). */
async function ensureCompiled(): Promise<void> {
  const sources = readdirSync(join(ROOT, "raft", "storage")).map((f) => join(ROOT, "raft", "storage", f));
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const fresh = () => existsSync(COMPILED) && statSync(COMPILED).mtimeMs >= newest;
  if (fresh()) return;
  let output = "";
  try {
    await promisify(execFile)("npx", ["tsc", "-p", "."], { cwd: ROOT, timeout: 110_000 });
  } catch (err) {
    // Type errors elsewhere in the repo still emit; only a missing or stale output is fatal.
    output = String((err as { stdout?: string }).stdout ?? err);
  }
  if (!fresh()) throw new Error(`could not build ${COMPILED}:\n${output}`);
}

interface RunResult {
  /** Highest index whose save resolved, per "ack" lines (or the previous value). */
  acked: number;
  ackLines: number;
  /** Highest snapshot index whose compaction resolved. */
  snapped: number;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child as a member of `term` and SIGKILLs it `killAfterMs` after it is ready. */
function runAndKill(dir: string, term: number, acked: number, killAfterMs: number, seed: number, onAck: (from: number, to: number) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(term), String(acked), String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
    const result: RunResult = { acked, ackLines: 0, snapped: 0, signal: null, stderr: "" };
    let pending = "";
    let killTimer: NodeJS.Timeout | undefined;
    const readyTimer = setTimeout(() => child.kill("SIGKILL"), READY_TIMEOUT_MS);
    child.stderr.setEncoding("utf8").on("data", (d: string) => (result.stderr += d));
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      pending += d;
      const lines = pending.split("\n");
      pending = lines.pop()!; // a line cut by the kill is not an acknowledgement
      for (const line of lines) {
        const [word, n] = line.split(" ");
        const index = Number(n);
        if (word === "ready") {
          clearTimeout(readyTimer);
          killTimer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        } else if (word === "ack") {
          if (index <= result.acked) return reject(new Error(`acks out of order: ${index} after ${result.acked}`));
          onAck(result.acked + 1, index);
          result.acked = index;
          result.ackLines++;
        } else if (word === "snap") {
          result.snapped = Math.max(result.snapped, index);
        }
      }
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      clearTimeout(readyTimer);
      clearTimeout(killTimer);
      result.signal = signal;
      resolve(result);
    });
  });
}

describe("LevelLogStorage under SIGKILL", () => {
  const dirs: string[] = [];

  beforeAll(ensureCompiled, 120_000);

  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it(`every acknowledged entry survives a kill at a random moment (seed ${SEED})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "pinsetter-storage-crash-"));
    dirs.push(dir);
    const random = seeded(SEED);
    /** Term each acknowledged index was written with. */
    const ackedTerm = new Map<number, number>();
    let acked = 0;
    let snapped = 0;
    let totalAcks = 0;
    const log: string[] = [];

    for (let round = 1; round <= ROUNDS; round++) {
      const term = round;
      const killAfterMs = 5 + random(300);
      const run = await runAndKill(dir, term, acked, killAfterMs, random(2 ** 31), (from, to) => {
        for (let i = from; i <= to; i++) ackedTerm.set(i, term);
      });
      expect(run.signal, `child ended on its own in round ${round}: ${run.stderr}`).toBe("SIGKILL");
      acked = run.acked;
      snapped = Math.max(snapped, run.snapped);
      totalAcks += run.ackLines;

      // Reopen as the restarted member would, and check what the disk kept.
      const storage = await LevelLogStorage.open(dir);
      try {
        const state = await storage.load(); // throws on a bad checksum or a gap
        const snapIndex = state.snapshot?.metadata.index ?? 0;
        const last = state.entries.length > 0 ? state.entries[state.entries.length - 1].index : snapIndex;
        log.push(`round ${round}: killed after ${killAfterMs} ms, ${run.ackLines} acks, acked ${acked}, stored ${snapIndex + 1}..${last}`);

        expect(snapIndex, "a resolved compaction was lost").toBeGreaterThanOrEqual(snapped);
        expect(snapIndex, "snapshot beyond what was acknowledged").toBeLessThanOrEqual(acked);
        if (state.snapshot !== null) expect(new TextDecoder().decode(state.snapshot.data)).toBe(`snap ${snapIndex}`);
        expect(last, "acknowledged entries lost from the end").toBeGreaterThanOrEqual(acked);
        expect(state.hardState.commit, "a save landed partly: hard state and entries disagree").toBe(last);

        state.entries.forEach((e, k) => {
          expect(e.index).toBe(snapIndex + 1 + k);
          expect(e.term).toBeLessThanOrEqual(term);
          const want = ackedTerm.get(e.index);
          if (want !== undefined && e.index <= acked) expect(e.term, `term of acknowledged index ${e.index}`).toBe(want);
          expect(Buffer.from(e.data).equals(Buffer.from(payload(e.index, e.term))), `content of index ${e.index}`).toBe(true);
        });
      } finally {
        await storage.close();
      }
    }
    console.log(`[storage-crash] seed ${SEED}\n  ${log.join("\n  ")}`);
    // The test only means something if the kills landed among real work.
    expect(totalAcks).toBeGreaterThan(ROUNDS * 5);
    expect(snapped).toBeGreaterThan(0);
  }, 60_000);
});
