// Phase 3: resident memory of each member with `liveKeys` keys of 1 KiB, then
// after `overwrites` overwrites of those keys with a compaction every
// `compactEvery` writes (to the revision just written minus `margin`), on a
// fresh cluster. RSS is read from /proc/<pid>/status; a sampler keeps each
// member's peak during the run.

import { HttpPool, b64, pseudoRandomBytes, type Reply } from "./load.js";
import { readMemory, type MemorySample } from "./proc.js";
import { CLIENT_ADDRESS, type StoreSystem } from "./systems.js";
import { runFixed } from "./throughput.js";

export interface MemoryOptions {
  liveKeys: number;
  overwrites: number;
  valueBytes: number;
  clients: number;
  /** Puts per request: each request is a txn of this many puts of distinct keys (1: plain puts). */
  batch: number;
  /** In writes (puts). */
  compactEvery: number;
  /** In writes (puts); turned into revisions by dividing by batch. */
  margin: number;
  log: (line: string) => void;
}

export interface MemberMemory {
  member: string;
  baseline: MemorySample | null;
  afterLoad: MemorySample | null;
  afterOverwrites: MemorySample | null;
  /** Largest VmRSS seen by the 1 s sampler during load and overwrites, KiB. */
  peakRssKiB: number;
}

export interface MemoryResult {
  liveKeys: number;
  overwrites: number;
  valueBytes: number;
  keyBytes: number;
  /** keys x (key + value) bytes. */
  liveDataBytes: number;
  loadPerSecond: number;
  overwritePerSecond: number;
  /** Puts per request (txn). */
  batch: number;
  compactions: { atWrite: number; revision: number; ok: boolean; error?: string }[];
  failedWrites: number;
  /** Requests retried (each up to 5 times) and the first few distinct errors. */
  retriedRequests: number;
  errorSamples: string[];
  /** Raft term increase from before the load to after the overwrites: leader elections (and failed ones). */
  elections: number;
  leader: string | null;
  members: MemberMemory[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const KEY = (i: number): string => `mem/${String(i).padStart(8, "0")}`;

export async function runMemory(sys: StoreSystem, o: MemoryOptions): Promise<MemoryResult> {
  // 251 distinct values, rotated, so consecutive versions of a key differ; bodies
  // are stitched from pre-encoded parts.
  const values = Array.from({ length: 251 }, (_, i) => b64(pseudoRandomBytes(o.valueBytes, 7000 + i)));
  const put = (key: number, version: number): string => `{"key":"${b64(KEY(key))}","value":"${values[(key + version * 31) % values.length]}"}`;
  // Write number w (0-based, over load then overwrites) puts key w mod liveKeys; a batch covers consecutive writes.
  const body = (firstWrite: number, count: number): Buffer => {
    if (o.batch === 1) return Buffer.from(put(firstWrite % o.liveKeys, Math.floor(firstWrite / o.liveKeys)));
    const ops: string[] = [];
    for (let w = firstWrite; w < firstWrite + count; w++) ops.push(`{"request_put":${put(w % o.liveKeys, Math.floor(w / o.liveKeys))}}`);
    return Buffer.from(`{"success":[${ops.join(",")}]}`);
  };
  const path = o.batch === 1 ? "/v3/kv/put" : "/v3/kv/txn";
  if (o.liveKeys % o.batch !== 0 || o.overwrites % o.batch !== 0) throw new Error("liveKeys and overwrites must be multiples of the batch size");
  const marginRevisions = Math.ceil(o.margin / o.batch);
  const compactEveryRequests = Math.max(1, Math.round(o.compactEvery / o.batch));

  const members = sys.memberNames.map((member) => ({ member, baseline: null, afterLoad: null, afterOverwrites: null, peakRssKiB: 0 }) as MemberMemory);
  const sample = (): (MemorySample | null)[] =>
    sys.memberNames.map((name, i) => {
      const pid = sys.pid(name);
      const m = pid === undefined ? null : readMemory(pid);
      if (m) members[i]!.peakRssKiB = Math.max(members[i]!.peakRssKiB, m.rssKiB);
      return m;
    });
  const sampler = setInterval(sample, 1000);

  const pool = new HttpPool({ endpoints: sys.endpoints, localAddress: CLIENT_ADDRESS, headers: sys.headers, timeoutMs: 30_000 });
  const compactions: MemoryResult["compactions"] = [];
  const pendingCompactions: Promise<void>[] = [];
  try {
    await sleep(2000);
    sample().forEach((m, i) => (members[i]!.baseline = m));
    const probe = async (): Promise<{ revision: number; raftTerm: number }> => {
      const r = await pool.post(0, "/v3/kv/range", Buffer.from(JSON.stringify({ key: b64(KEY(0)) })));
      if (r.status !== 200) throw new Error(`range on ${sys.memberNames[0]} failed: ${r.error ?? r.status}`);
      return headerOf(r.body);
    };
    const termBefore = (await probe()).raftTerm;

    const load = await runFixed(pool, o.clients, o.liveKeys / o.batch, (n) => body(n * o.batch, o.batch), undefined, path);
    const loadPerSecond = o.liveKeys / (load.ms / 1000);
    o.log(`${sys.name} memory: loaded ${o.liveKeys} keys of ${o.valueBytes} B in ${(load.ms / 1000).toFixed(1)} s (${loadPerSecond.toFixed(0)} puts/s, ${o.batch} per request)`);
    await sleep(3000);
    sample().forEach((m, i) => (members[i]!.afterLoad = m));
    o.log(`${sys.name} memory after load: ${describe(members.map((m) => m.afterLoad))}`);

    let done = 0;
    let lastTarget = 0;
    // One compaction at a time, each to a later revision than the one before.
    let chain: Promise<void> = Promise.resolve();
    const compact = (atWrite: number, revision: number): void => {
      const target = Math.max(1, revision - marginRevisions);
      if (target <= lastTarget) return;
      lastTarget = target;
      const ep = compactions.length % pool.size;
      const entry: MemoryResult["compactions"][number] = { atWrite, revision: target, ok: false };
      compactions.push(entry);
      chain = chain.then(() =>
        pool.post(ep, "/v3/kv/compaction", Buffer.from(JSON.stringify({ revision: String(target) }))).then((r: Reply) => {
          entry.ok = r.status === 200;
          if (!entry.ok) entry.error = r.error ?? `HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 200)}`;
        }),
      );
      pendingCompactions.push(chain);
    };
    const over = await runFixed(
      pool,
      o.clients,
      o.overwrites / o.batch,
      (n) => body(o.liveKeys + n * o.batch, o.batch),
      (_n, reply) => {
        done++;
        if (done % compactEveryRequests === 0) compact(done * o.batch, revisionOf(reply));
      },
      path,
    );
    const overwritePerSecond = o.overwrites / (over.ms / 1000);
    o.log(`${sys.name} memory: ${o.overwrites} overwrites in ${(over.ms / 1000).toFixed(1)} s (${overwritePerSecond.toFixed(0)}/s), ${compactions.length} compactions`);
    await Promise.all(pendingCompactions);
    // The final compaction, then time for GC / the Go scavenger to hand memory back.
    const now = await probe();
    compact(done * o.batch, now.revision);
    o.log(`${sys.name} memory: raft term went up by ${now.raftTerm - termBefore} during load and overwrites`);
    await Promise.all(pendingCompactions);
    await sleep(5000);
    sample().forEach((m, i) => (members[i]!.afterOverwrites = m));
    o.log(`${sys.name} memory after overwrites: ${describe(members.map((m) => m.afterOverwrites))}`);
    if (load.retried + over.retried > 0) {
      o.log(`${sys.name} memory: ${load.retried + over.retried} requests retried, ${load.failed + over.failed} gave up; e.g. ${[...load.errorSamples, ...over.errorSamples][0]}`);
    }
    const failedCompactions = compactions.filter((c) => !c.ok);
    if (failedCompactions.length > 0) o.log(`${sys.name} memory: ${failedCompactions.length} compactions failed: ${failedCompactions[0]!.error}`);
    return {
      liveKeys: o.liveKeys,
      overwrites: o.overwrites,
      valueBytes: o.valueBytes,
      keyBytes: KEY(0).length,
      liveDataBytes: o.liveKeys * (KEY(0).length + o.valueBytes),
      loadPerSecond,
      overwritePerSecond,
      compactions,
      batch: o.batch,
      failedWrites: (load.failed + over.failed) * o.batch,
      retriedRequests: load.retried + over.retried,
      elections: now.raftTerm - termBefore,
      errorSamples: [...new Set([...load.errorSamples, ...over.errorSamples])].slice(0, 5),
      leader: await sys.leader(),
      members,
    };
  } finally {
    clearInterval(sampler);
    pool.close();
  }
}

function headerOf(reply: Buffer): { revision: number; raftTerm: number } {
  const parsed = JSON.parse(reply.toString("utf8")) as { header?: { revision?: string | number; raft_term?: string | number } };
  return { revision: Number(parsed.header?.revision ?? 0), raftTerm: Number(parsed.header?.raft_term ?? 0) };
}

const revisionOf = (reply: Buffer): number => headerOf(reply).revision;

function describe(samples: (MemorySample | null)[]): string {
  return samples.map((s) => (s ? `${(s.rssKiB / 1024).toFixed(0)} MiB (anon ${(s.anonKiB / 1024).toFixed(0)}, file ${(s.fileKiB / 1024).toFixed(0)})` : "gone")).join(" | ");
}
