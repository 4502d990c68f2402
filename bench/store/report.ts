// Turns the raw results of bench/store into bench/results/store.md (tables
// with both systems and the pinsetter/etcd ratio per cell) and store.svg
// (grouped bars of writes/s and reads/s per client count, hand-written SVG).

import type { FailoverResult } from "./failover.js";
import type { MemoryResult } from "./memory.js";
import type { MemorySample } from "./proc.js";
import type { SystemName } from "./systems.js";
import type { Op, ThroughputRow } from "./throughput.js";

export interface SystemResults {
  name: SystemName;
  version: string;
  /** Cores the 3 idle members use together (timers, heartbeats), measured over a few seconds. */
  idleCores?: number;
  throughput?: ThroughputRow[];
  failover?: FailoverResult;
  memory?: MemoryResult;
  /** Phase name -> error message, for phases that failed. */
  errors: Record<string, string>;
}

export interface BenchResults {
  measuredAt: string;
  mode: "quick" | "default" | "full";
  command: string;
  wallSeconds: number;
  machine: Record<string, string>;
  settings: {
    heartbeatMs: number;
    electionTimeoutMs: number;
    valueBytes: number;
    concurrency: number[];
    warmupMs: number;
    durationMs: number;
    failoverReps: number;
    failoverIntervalMs: number;
    memory: { liveKeys: number; overwrites: number; valueBytes: number; clients: number; batch: number; compactEvery: number; margin: number };
    pinsetter: string[];
    etcd: string[];
  };
  systems: Partial<Record<SystemName, SystemResults>>;
}

const f0 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(0));
const f2 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(2));
const f3 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(3));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? "–" : `${(a / b).toFixed(2)}x`;
const mib = (kib: number | undefined): string => (kib === undefined ? "–" : (kib / 1024).toFixed(0));

function cell(r: BenchResults, sys: SystemName, op: Op, clients: number): ThroughputRow | undefined {
  return r.systems[sys]?.throughput?.find((x) => x.op === op && x.clients === clients);
}

function throughputTable(r: BenchResults, op: Op): string[] {
  const lines = [
    `| clients | Pinsetter ${op}s/s | etcd ${op}s/s | P/E | Pinsetter p50 ms | etcd p50 ms | P/E | Pinsetter p99 ms | etcd p99 ms | P/E |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const c of r.settings.concurrency) {
    const p = cell(r, "pinsetter", op, c);
    const e = cell(r, "etcd", op, c);
    lines.push(
      `| ${c} | ${f0(p?.perSecond)} | ${f0(e?.perSecond)} | ${ratio(p?.perSecond, e?.perSecond)} | ` +
        `${f2(p?.latency.p50Ms)} | ${f2(e?.latency.p50Ms)} | ${ratio(p?.latency.p50Ms, e?.latency.p50Ms)} | ` +
        `${f2(p?.latency.p99Ms)} | ${f2(e?.latency.p99Ms)} | ${ratio(p?.latency.p99Ms, e?.latency.p99Ms)} |`,
    );
  }
  return lines;
}

function cpuTable(r: BenchResults): string[] {
  const lines = [
    "| op | clients | Pinsetter ms/op | etcd ms/op | P/E | Pinsetter cores busy | etcd cores busy | generator ms/op (P / E) | other processes, cores (P / E) | errors (P / E) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const op of ["write", "read"] as Op[]) {
    for (const c of r.settings.concurrency) {
      const p = cell(r, "pinsetter", op, c);
      const e = cell(r, "etcd", op, c);
      if (!p && !e) continue;
      lines.push(
        `| ${op} | ${c} | ${f3(p?.serverCpuMsPerOp)} | ${f3(e?.serverCpuMsPerOp)} | ${ratio(p?.serverCpuMsPerOp, e?.serverCpuMsPerOp)} | ` +
          `${f2(p?.serverCores)} | ${f2(e?.serverCores)} | ${f3(p?.generatorCpuMsPerOp)} / ${f3(e?.generatorCpuMsPerOp)} | ${f2(p?.otherCores)} / ${f2(e?.otherCores)} | ${p?.errors ?? "–"} / ${e?.errors ?? "–"} |`,
      );
    }
  }
  return lines;
}

function failoverTable(r: BenchResults): string[] {
  const lines = [
    "| system | reps | p50 ms | p90 ms | max ms | mean ms | no write within limit | rejoin p50 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const name of ["pinsetter", "etcd"] as SystemName[]) {
    const f = r.systems[name]?.failover;
    if (!f) {
      lines.push(`| ${name} | – | – | – | – | – | – | – |`);
      continue;
    }
    const rejoin = [...f.reps.map((x) => x.rejoinMs)].sort((a, b) => a - b);
    lines.push(
      `| ${name} | ${f.reps.length} | ${f0(f.recovery.p50Ms)} | ${f0(f.recovery.p90Ms)} | ${f0(f.recovery.maxMs)} | ${f0(f.recovery.meanMs)} | ` +
        `${f.unrecovered} | ${f0(rejoin[Math.max(0, Math.ceil(rejoin.length / 2) - 1)])} |`,
    );
  }
  const p = r.systems.pinsetter?.failover?.recovery;
  const e = r.systems.etcd?.failover?.recovery;
  if (p && e) lines.push("", `Pinsetter/etcd: p50 ${ratio(p.p50Ms, e.p50Ms)}, p90 ${ratio(p.p90Ms, e.p90Ms)}, max ${ratio(p.maxMs, e.maxMs)}.`);
  return lines;
}

function memoryTable(r: BenchResults): string[] {
  const lines = [
    "| system | member | baseline RSS | after load RSS (anon / file) | after overwrites RSS (anon / file) | peak RSS | after load / live data | (after load − baseline) / live data | growth over overwrites |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const fmt = (s: MemorySample | null | undefined): string => (s ? `${mib(s.rssKiB)} (${mib(s.anonKiB)} / ${mib(s.fileKiB)})` : "–");
  for (const name of ["pinsetter", "etcd"] as SystemName[]) {
    const m = r.systems[name]?.memory;
    if (!m) continue;
    const liveKiB = m.liveDataBytes / 1024;
    for (const mm of m.members) {
      const leader = m.leader === mm.member ? " (leader)" : "";
      const load = mm.afterLoad?.rssKiB;
      const after = mm.afterOverwrites?.rssKiB;
      lines.push(
        `| ${name} | ${mm.member}${leader} | ${mib(mm.baseline?.rssKiB)} | ${fmt(mm.afterLoad)} | ${fmt(mm.afterOverwrites)} | ${mib(mm.peakRssKiB)} | ` +
          `${load === undefined ? "–" : (load / liveKiB).toFixed(2)}x | ` +
          `${load === undefined || mm.baseline === null ? "–" : ((load - mm.baseline.rssKiB) / liveKiB).toFixed(2)}x | ${ratio(after, load)} |`,
      );
    }
  }
  const maxOf = (name: SystemName, k: "afterLoad" | "afterOverwrites"): number | undefined => {
    const m = r.systems[name]?.memory;
    const v = m?.members.map((x) => x[k]?.rssKiB ?? 0);
    return v && v.length ? Math.max(...v) : undefined;
  };
  const peak = (name: SystemName): number | undefined => {
    const m = r.systems[name]?.memory;
    return m ? Math.max(...m.members.map((x) => x.peakRssKiB)) : undefined;
  };
  lines.push(
    "",
    "Largest member, Pinsetter/etcd: " +
      `after load ${ratio(maxOf("pinsetter", "afterLoad"), maxOf("etcd", "afterLoad"))}, ` +
      `after overwrites ${ratio(maxOf("pinsetter", "afterOverwrites"), maxOf("etcd", "afterOverwrites"))}, ` +
      `peak ${ratio(peak("pinsetter"), peak("etcd"))}.`,
  );
  const rates = (["pinsetter", "etcd"] as SystemName[])
    .map((n) => r.systems[n]?.memory)
    .filter((m): m is MemoryResult => m !== undefined);
  if (rates.length) {
    lines.push(
      "",
      "| system | load puts/s (1 KiB, " + r.settings.memory.clients + " clients) | overwrite puts/s | compactions (failed) | raft term +, load and overwrites | requests retried | puts given up (after 5 retries) | first error |",
      "|---|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const name of ["pinsetter", "etcd"] as SystemName[]) {
      const m = r.systems[name]?.memory;
      if (!m) continue;
      lines.push(
        `| ${name} | ${f0(m.loadPerSecond)} | ${f0(m.overwritePerSecond)} | ${m.compactions.length} (${m.compactions.filter((c) => !c.ok).length}) | ` +
          `${m.elections} | ${m.retriedRequests} | ${m.failedWrites} | ${m.errorSamples[0] ? m.errorSamples[0].replace(/\|/g, "/").slice(0, 140) : "–"} |`,
      );
    }
  }
  return lines;
}

export function renderMarkdown(r: BenchResults, extra: { profileNote?: string; findings?: string[] } = {}): string {
  const s = r.settings;
  const m = s.memory;
  const errors = (["pinsetter", "etcd"] as SystemName[]).flatMap((n) =>
    Object.entries(r.systems[n]?.errors ?? {}).map(
      ([phase, msg]) => `- ${n}, ${phase}:\n\n  \`\`\`\n${msg.split("\n").slice(0, 8).map((l) => "  " + l.slice(0, 200)).join("\n")}\n  \`\`\``,
    ),
  );
  const measured = r.systems.pinsetter?.memory ?? r.systems.etcd?.memory;
  const liveMiB = (measured?.liveDataBytes ?? m.liveKeys * (12 + m.valueBytes)) / 2 ** 20;
  return [
    "# bench/store: Pinsetter vs etcd 3.4",
    "",
    `Measured ${r.measuredAt} (${r.mode} run, \`${r.command}\`, ${Math.round(r.wallSeconds)} s wall).`,
    "Both systems: 3 members on loopback, data dirs in temp dirs on the same disk, driven by the same Node.js harness over the",
    "same v3 JSON API (raw node:http, keep-alive), client *i* talking to member *i* mod 3. For throughput and failover both clusters",
    "are up and take turns cell by cell (who goes first alternates), so changes in the machine's background load hit both alike;",
    "memory runs on a fresh cluster of each, one after the other.",
    "",
    "## Machine and versions",
    "",
    ...Object.entries(r.machine).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "## Settings",
    "",
    `- Heartbeat ${s.heartbeatMs} ms, election timeout ${s.electionTimeoutMs} ms on both (both randomize the election timeout in [1x, 2x)).`,
    `- Throughput: ${s.valueBytes}-byte values; writes are \`/v3/kv/put\` over 10,000 keys; reads are linearizable \`/v3/kv/range\` of one of 1,000 keys`,
    `  (no \`serializable\`: ReadIndex on both). ${s.warmupMs / 1000} s warm-up, then ${s.durationMs / 1000} s measured per cell; one request in flight per client.`,
    "  Latency is per request, from send to the last byte of the answer, for requests started and finished in the window.",
    "- CPU per op: utime+stime of the 3 members from /proc over the window, divided by completed requests. The generator's",
    "  own CPU shares the same 2 cores.",
    `- Failover: open-loop writes, one every ${s.failoverIntervalMs} ms round-robin over the members (over the survivors once the kill is sent);`,
    "  kill -9 of the leader; time from the kill to the first write *sent after the kill* that a surviving member acknowledges (200).",
    `  ${s.failoverReps} repetitions per system; in between the killed member is restarted from its data dir and the cluster must agree on a leader`,
    "  with applied indexes within 100 entries, then 1 s of light load.",
    `- Memory: fresh cluster, ${m.liveKeys.toLocaleString("en")} keys of ${m.valueBytes} B (live data ${liveMiB.toFixed(0)} MiB with keys), then ${m.overwrites.toLocaleString("en")} overwrites`,
    `  of those keys, written by ${m.clients} clients ` +
      (m.batch > 1 ? `as \`/v3/kv/txn\` requests of ${m.batch} puts of distinct keys each (batching, to fit the time budget; one revision per txn).` : "as single puts."),
    `  \`/v3/kv/compaction\` every ${m.compactEvery.toLocaleString("en")} writes to (revision of that write − ${Math.ceil(m.margin / m.batch)} revisions, i.e. ~${m.margin} writes)`,
    "  and once more at the end, one at a time; RSS (VmRSS, split into RssAnon / RssFile) from /proc/<pid>/status",
    "  3 s after the load and 5 s after the last compaction; peak = largest VmRSS seen by a 1 s sampler. MiB throughout.",
    ...s.pinsetter.map((x) => `- Pinsetter: ${x}`),
    ...s.etcd.map((x) => `- etcd: ${x}`),
    ...(errors.length ? ["", "## Failures", "", ...errors] : []),
    "",
    "## Writes (256-byte values)",
    "",
    ...throughputTable(r, "write"),
    "",
    "## Linearizable reads",
    "",
    ...throughputTable(r, "read"),
    "",
    "P/E = Pinsetter / etcd (above 1x: Pinsetter does more per second, or takes longer). Chart: [store.svg](store.svg).",
    "",
    "## CPU per operation (3 members together)",
    "",
    `Idle (no requests, 3 s): Pinsetter ${f3(r.systems.pinsetter?.idleCores)} cores, etcd ${f3(r.systems.etcd?.idleCores)} cores for the 3 members.`,
    "",
    ...cpuTable(r),
    "",
    "## Failover (kill -9 of the leader)",
    "",
    ...failoverTable(r),
    "",
    "## Memory",
    "",
    ...memoryTable(r),
    "",
    `Product goal: at most 2x the live data (${liveMiB.toFixed(0)} MiB here) per master, and no growth over the overwrites.`,
    ...(extra.findings?.length ? ["", "## Findings", "", ...extra.findings] : []),
    ...(extra.profileNote ? ["", "## Profile", "", extra.profileNote] : []),
    "",
    "Raw data: [store.json](store.json).",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- SVG

const COLORS: Record<SystemName, string> = { pinsetter: "#2f6fb3", etcd: "#9a9a9a" };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function renderSvg(r: BenchResults): string {
  const W = 1000;
  const H = 440;
  const panelW = 410;
  const gap = 90;
  const top = 80;
  const plotH = 280;
  const left0 = 60;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">Pinsetter vs etcd ${esc(r.systems.etcd?.version ?? "3.4")}: 3 members, 256-byte values, ${esc(r.machine["CPU"]?.split(",")[0] ?? "")}</text>`,
  );
  // Legend.
  let lx = W / 2 - 90;
  for (const name of ["pinsetter", "etcd"] as SystemName[]) {
    out.push(`<rect x="${lx}" y="36" width="14" height="14" fill="${COLORS[name]}"/>`, `<text x="${lx + 20}" y="48">${name === "pinsetter" ? "Pinsetter" : "etcd"}</text>`);
    lx += 110;
  }
  (["write", "read"] as Op[]).forEach((op, pi) => {
    const x0 = left0 + pi * (panelW + gap);
    const values = r.settings.concurrency.flatMap((c) => (["pinsetter", "etcd"] as SystemName[]).map((s) => cell(r, s, op, c)?.perSecond ?? 0));
    const max = niceMax(Math.max(...values, 1));
    const y = (v: number): number => top + plotH - (v / max) * plotH;
    out.push(`<text x="${x0 + panelW / 2}" y="${top - 8}" text-anchor="middle" font-size="14" font-weight="bold">${op === "write" ? "writes/s" : "linearizable reads/s"}</text>`);
    for (let i = 0; i <= 5; i++) {
      const v = (max / 5) * i;
      out.push(
        `<line x1="${x0}" y1="${y(v).toFixed(1)}" x2="${x0 + panelW}" y2="${y(v).toFixed(1)}" stroke="${i === 0 ? "#333" : "#e3e3e3"}"/>`,
        `<text x="${x0 - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v >= 1000 ? `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k` : v.toFixed(0)}</text>`,
      );
    }
    const groupW = panelW / r.settings.concurrency.length;
    const barW = Math.min(38, (groupW - 24) / 2);
    r.settings.concurrency.forEach((c, gi) => {
      const gx = x0 + gi * groupW + groupW / 2;
      (["pinsetter", "etcd"] as SystemName[]).forEach((s, bi) => {
        const v = cell(r, s, op, c)?.perSecond;
        const bx = gx - barW + bi * barW;
        if (v === undefined) return;
        out.push(
          `<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${COLORS[s]}"><title>${s} ${op}s at ${c} clients: ${v.toFixed(0)}/s</title></rect>`,
          `<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#333">${v >= 10000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0)}</text>`,
        );
      });
      out.push(`<text x="${gx.toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${c}</text>`);
    });
    out.push(`<text x="${x0 + panelW / 2}" y="${top + plotH + 38}" text-anchor="middle" fill="#555">concurrent clients</text>`);
  });
  out.push(
    `<text x="${W - 10}" y="${H - 8}" text-anchor="end" font-size="10" fill="#777">bench/store ${r.mode} run, ${esc(r.measuredAt)}; ${r.settings.durationMs / 1000} s per bar, one request in flight per client</text>`,
    "</svg>",
    "",
  );
  return out.join("\n");
}
