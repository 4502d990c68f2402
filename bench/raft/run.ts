// bench/raft: proposals/s and latency of 3 real member processes (synced
// LevelDB, WebSockets on loopback), 256-byte payloads, at 1, 16 and 256
// proposals in flight, driven inside the leader so the figures are Raft's own.
//
//   npm run bench:raft [-- --seconds 5]

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RaftProcessCluster } from "./cluster.js";
import type { BenchResult } from "./member.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = /[\\/]dist[\\/]/.test(here) ? join(here, "..", "..", "..") : join(here, "..", "..");
const secondsArg = process.argv.indexOf("--seconds");
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 5;

async function main(): Promise<void> {
  const cluster = new RaftProcessCluster({
    members: [
      { id: "n1", host: "127.0.0.71", port: 17201 },
      { id: "n2", host: "127.0.0.72", port: 17201 },
      { id: "n3", host: "127.0.0.73", port: 17201 },
    ],
    tickMs: 10,
    heartbeatTicks: 10,
    electionTicks: 100,
    snapshotEvery: 10_000,
  });
  const rows: { inflight: number; result: BenchResult }[] = [];
  try {
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    // Warm up the JIT and the sockets.
    await cluster.request(leader, { op: "bench", inflight: 16, durationMs: 1000, payloadBytes: 256 });
    for (const inflight of [1, 16, 256]) {
      const r = await cluster.request(leader, { op: "bench", inflight, durationMs: seconds * 1000, payloadBytes: 256 });
      if (r.error) throw new Error(`bench at ${inflight} in flight failed: ${String(r.error)}`);
      const result = r.bench as BenchResult;
      rows.push({ inflight, result });
      console.log(`${inflight} in flight: ${result.perSecond.toFixed(0)} proposals/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
    }
  } finally {
    await cluster.stopAll();
  }
  const md = [
    "# bench/raft",
    "",
    `3 member processes on loopback, LevelDB synced per batch, 256-byte payloads, ${seconds} s per row, measured ${new Date().toISOString()}.`,
    "",
    "| in flight | proposals/s | p50 ms | p99 ms |",
    "|---:|---:|---:|---:|",
    ...rows.map(({ inflight, result: r }) => `| ${inflight} | ${r.perSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |`),
    "",
  ].join("\n");
  const out = join(repoRoot, "bench", "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "raft.md"), md);
  writeFileSync(join(out, "raft.json"), JSON.stringify(rows, null, 2));
  console.log(`report written to ${join(out, "raft.md")}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
