// Memory sanity check of the MVCC store: 100k live keys of 1 KiB, then 1M
// overwrites with a compaction every 10k writes; memory must come back to about
// the live set. Run after a build with: node --expose-gc dist/bench/store/mvcc-memory.js
// Prints one JSON line per phase (MiB) and exits non-zero if memory ran away.

import { Buffer } from "node:buffer";
import { MvccStore } from "../../src/store/mvcc/index.js";

const KEYS = Number(process.env["MVCC_BENCH_KEYS"] ?? 100_000);
const OVERWRITES = Number(process.env["MVCC_BENCH_OVERWRITES"] ?? 1_000_000);
const COMPACT_EVERY = 10_000;
const VALUE_BYTES = 1024;

const gc = (globalThis as { gc?: () => void }).gc;
const MiB = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;

function report(phase: string, store: MvccStore, extra: Record<string, unknown> = {}): number {
  gc?.();
  const m = process.memoryUsage();
  const st = store.status();
  const line = {
    phase,
    heapUsedMiB: MiB(m.heapUsed),
    arrayBuffersMiB: MiB(m.arrayBuffers),
    rssMiB: MiB(m.rss),
    liveKeys: st.liveKeys,
    records: st.records,
    dataMiB: MiB(st.bytes),
    revision: st.revision,
    ...extra,
  };
  console.log(JSON.stringify(line));
  return m.heapUsed + m.arrayBuffers;
}

if (!gc) console.error("note: run with --expose-gc for stable figures");

const store = new MvccStore();
let index = 0;
const key = (i: number): Buffer => Buffer.from(`/registry/pods/default/pod-${String(i).padStart(6, "0")}`);
const value = Buffer.alloc(VALUE_BYTES, 0x61);

report("empty", store);
let t = performance.now();
for (let i = 0; i < KEYS; i++) {
  value.writeUInt32BE(i, 0);
  store.apply({ type: "put", request: { key: key(i), value } }, ++index);
}
const loaded = report("loaded", store, { putsPerSec: Math.round(KEYS / ((performance.now() - t) / 1000)) });

t = performance.now();
let peak = 0;
for (let i = 0; i < OVERWRITES; i++) {
  value.writeUInt32BE(i, 4);
  store.apply({ type: "put", request: { key: key(i % KEYS), value } }, ++index);
  if ((i + 1) % COMPACT_EVERY === 0) {
    const r = store.apply({ type: "compact", request: { revision: store.revision } }, ++index);
    if (!r.ok) throw new Error(r.error.message);
  }
  if ((i + 1) % 200_000 === 0) peak = Math.max(peak, report(`overwrites ${i + 1}`, store));
}
const after = report("after overwrites", store, { putsPerSec: Math.round(OVERWRITES / ((performance.now() - t) / 1000)) });

t = performance.now();
const snap = store.snapshot();
const snapMs = Math.round(performance.now() - t);
t = performance.now();
const restored = MvccStore.restore(snap);
const restoreMs = Math.round(performance.now() - t);
console.log(JSON.stringify({ phase: "snapshot", snapshotMiB: MiB(snap.byteLength), snapshotMs: snapMs, restoreMs, restoredRevision: restored.revision }));

// Overwrites with compaction must not grow memory beyond the live set plus one compaction window.
const window = COMPACT_EVERY * (VALUE_BYTES + 400);
if (after > loaded * 1.25 + window) {
  console.error(`memory grew from ${MiB(loaded)} MiB to ${MiB(after)} MiB`);
  process.exit(1);
}
