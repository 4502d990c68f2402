// Reads the .cpuprofile files that `node --cpu-prof` writes and reduces each
// to self time per function and per area (our raft, our store, node's http,
// msgpackr, LevelDB, GC...). Used by `run.js --profile DIR`, and on its own:
//   node dist/bench/store/profile.js FILE.cpuprofile [...]

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  area: string;
  selfMs: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled wall time, ms. */
  totalMs: number;
  idleMs: number;
  /** Not idle. */
  busyMs: number;
  top: FunctionTime[];
  /** Our own functions (dist/raft, dist/src) by inclusive time: self plus everything they call synchronously. */
  inclusive: { name: string; where: string; totalMs: number }[];
  areas: { area: string; selfMs: number }[];
}

/** Which part of the system a script belongs to. */
export function areaOf(url: string, name: string): string {
  if (name === "(garbage collector)") return "GC";
  if (name === "(idle)") return "idle";
  if (name === "(program)") return "(program: native, not attributed)";
  if (url === "") return `native: ${name}`;
  if (url.includes("/node_modules/")) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    return `npm: ${m?.[1] ?? "?"}`;
  }
  if (url.startsWith("node:")) {
    if (/node:(_http|http|internal\/http|internal\/streams\/|stream|net|internal\/stream_base|internal\/net)/.test(url)) return "node: http/net/streams";
    if (/node:(buffer|internal\/buffer|internal\/util|string_decoder)/.test(url)) return "node: buffer/util";
    if (/timers|async_hooks|task_queues|process\//.test(url)) return "node: timers/microtasks";
    if (/crypto/.test(url)) return "node: crypto";
    if (/fs/.test(url)) return "node: fs";
    return "node: other";
  }
  const m = /\/dist\/((?:raft|src)\/[^/]+(?:\/[^/]+)?)\//.exec(url);
  if (m) return m[1]!;
  const f = /\/dist\/((?:raft|src)\/[^/]+)/.exec(url);
  return f ? f[1]! : url;
}

function shortUrl(url: string): string {
  const d = url.indexOf("/dist/");
  if (d >= 0) return url.slice(d + 6);
  const n = url.lastIndexOf("/node_modules/");
  if (n >= 0) return url.slice(n + 14);
  return url;
}

export function summarizeProfile(file: string, topN = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfById = new Map<number, number>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; charge it to the sample that ends it.
    const dt = Math.max(0, p.timeDeltas[i] ?? 0);
    selfById.set(p.samples[i]!, (selfById.get(p.samples[i]!) ?? 0) + dt);
    totalUs += dt;
  }
  const fns = new Map<string, FunctionTime>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfById) {
    const cf = byId.get(id)!.callFrame;
    const name = cf.functionName || "(anonymous)";
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : "";
    const area = areaOf(cf.url, name);
    if (area === "idle") idleUs += us;
    const key = `${name}@${where}`;
    const f = fns.get(key) ?? { name, where, area, selfMs: 0 };
    f.selfMs += us / 1000;
    fns.set(key, f);
    areas.set(area, (areas.get(area) ?? 0) + us / 1000);
  }
  const top = [...fns.values()].filter((f) => f.area !== "idle").sort((a, b) => b.selfMs - a.selfMs).slice(0, topN);

  // Inclusive time: charge each sample to every distinct function of ours on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ours = (cf: CallFrame): boolean => /\/dist\/(raft|src)\//.test(cf.url);
  const incl = new Map<string, { name: string; where: string; totalMs: number }>();
  for (const [id, us] of selfById) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (!ours(cf)) continue;
      const name = cf.functionName || "(anonymous)";
      const where = `${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = incl.get(key) ?? { name, where, totalMs: 0 };
      e.totalMs += us / 1000;
      incl.set(key, e);
    }
  }
  const inclusive = [...incl.values()].sort((a, b) => b.totalMs - a.totalMs).slice(0, topN);
  return {
    file,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    top,
    inclusive,
    areas: [...areas].filter(([a]) => a !== "idle").map(([area, selfMs]) => ({ area, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function renderSummary(s: ProfileSummary, title: string, topN = 20, areasN = 14): string {
  const pct = (ms: number): string => `${((100 * ms) / s.busyMs).toFixed(1)}%`;
  return [
    `### ${title}`,
    "",
    `${basename(s.file)}: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (${((100 * s.busyMs) / s.totalMs).toFixed(0)}% of one core). Percentages are of busy time.`,
    "",
    "| self ms | % busy | function | where | area |",
    "|---:|---:|---|---|---|",
    ...s.top.slice(0, topN).map((f) => `| ${f.selfMs.toFixed(0)} | ${pct(f.selfMs)} | \`${f.name}\` | ${f.where} | ${f.area} |`),
    "",
    "Our functions by inclusive time (self + synchronous callees):",
    "",
    "| total ms | % busy | function | where |",
    "|---:|---:|---|---|",
    ...s.inclusive.slice(0, 12).map((f) => `| ${f.totalMs.toFixed(0)} | ${pct(f.totalMs)} | \`${f.name}\` | ${f.where} |`),
    "",
    "| area | self ms | % busy |",
    "|---|---:|---:|",
    ...s.areas.slice(0, areasN).map((a) => `| ${a.area} | ${a.selfMs.toFixed(0)} | ${pct(a.selfMs)} |`),
    "",
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const f of process.argv.slice(2)) console.log(renderSummary(summarizeProfile(f), basename(f)));
}
