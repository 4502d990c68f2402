// bench/store: Pinsetter (3 masters) against etcd 3.4 (3 members), side by
// side in one run, driven by the same harness over the same v3 JSON API:
// throughput and latency at 1/16/64/256 clients, leader failover, and memory
// with 100k live keys under overwrites and compaction. Writes
// bench/results/store.{md,svg,json}. See bench/store/README.md.
//
//   npx tsc -p . && node dist/bench/store/run.js [--quick | --full]
//   node dist/bench/store/run.js --profile DIR     (Pinsetter masters under --cpu-prof)
//
// Pinsetter is compiled from git HEAD (--rev REV for another commit,
// --worktree for the work tree's dist/): the work tree may be mid-edit.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { runFailover } from "./failover.js";
import { loadAverage, sumCpuMs } from "./proc.js";
import { runMemory } from "./memory.js";
import { PinsetterBuild, REPO_ROOT, type BuildSpec } from "./pinsetter-cluster.js";
import { renderSummary, summarizeProfile } from "./profile.js";
import { renderMarkdown, renderSvg, type BenchResults } from "./report.js";
import { startEtcd, startPinsetter, type StoreSystem, type SystemName } from "./systems.js";
import { runThroughput, type Op } from "./throughput.js";

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (name: string, dflt: number): number => {
  const v = option(name);
  if (v === undefined) return dflt;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} wants a positive number, got ${v}`);
  return n;
};

const mode: BenchResults["mode"] = flag("--quick") ? "quick" : flag("--full") ? "full" : "default";
const TIMING = { heartbeatMs: 100, electionTimeoutMs: 1000 };
const VALUE_BYTES = 256;
const CONCURRENCY = (option("--clients") ?? "1,16,64,256").split(",").map(Number);
const durationMs = num("--seconds", mode === "quick" ? 2 : 5) * 1000;
const warmupMs = mode === "quick" ? 500 : 1000;
const failoverReps = num("--reps", mode === "quick" ? 5 : 20);
const FAILOVER_INTERVAL_MS = 5;
/** Pinsetter's default raft.snapshotEvery; both keep 5,000 more entries for lagging followers. */
const ETCD_SNAPSHOT_COUNT = num("--etcd-snapshot-count", 10_000);
const memory = {
  liveKeys: num("--live-keys", mode === "quick" ? 20_000 : 100_000),
  overwrites: num("--overwrites", mode === "quick" ? 60_000 : mode === "full" ? 1_000_000 : 300_000),
  valueBytes: 1024,
  clients: 256,
  batch: num("--memory-batch", 10),
  compactEvery: num("--compact-every", mode === "quick" ? 20_000 : 50_000),
  margin: 1000,
};
const systemsToRun: SystemName[] = option("--only") ? [option("--only") as SystemName] : ["etcd", "pinsetter"];
const phases = new Set((option("--phases") ?? "throughput,failover,memory").split(","));
const partial = option("--only") !== undefined || option("--phases") !== undefined || option("--clients") !== undefined;
const writeReport = !partial || flag("--write");
const RESULTS_DIR = join(REPO_ROOT, "bench", "results");
const buildSpec: BuildSpec = flag("--worktree") ? { kind: "worktree" } : { kind: "commit", rev: option("--rev") ?? "HEAD" };
let build: PinsetterBuild | null = null;

const started = Date.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

// Children are killed by the clusters' exit hooks; make Ctrl-C and kill run them.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(130));

// ---------------------------------------------------------------- machine

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }).trim();
  } catch {
    return "?";
  }
}

function machine(versions: Partial<Record<SystemName, string>>): Record<string, string> {
  const c = cpus();
  return {
    CPU: `${c.length} x ${c[0]?.model.trim() ?? "?"}, shared by the 3 members and the load generator`,
    RAM: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    Kernel: `Linux ${release()}`,
    Disk: `${tmpdir()} on ${sh("findmnt", ["-no", "SOURCE,FSTYPE", "-T", tmpdir()]).replace(/\s+/, " ")} (both systems' data dirs)`,
    Node: process.version,
    Pinsetter: `${versions.pinsetter ?? "?"}, ${build?.description ?? "not run"}`,
    etcd: `${versions.etcd ?? "?"} (${sh("sh", ["-c", "dpkg-query -W -f='${Package} ${Version}' etcd-server 2>/dev/null"]) || "etcd on PATH"})`,
  };
}

// ---------------------------------------------------------------- phases

async function start(name: SystemName, execArgv?: string[]): Promise<StoreSystem> {
  log(`starting ${name} (3 members)`);
  if (name === "etcd") return startEtcd(TIMING, ETCD_SNAPSHOT_COUNT);
  if (!build) {
    build = PinsetterBuild.prepare(buildSpec);
    log(`Pinsetter build: ${build.description}`);
  }
  const level = option("--pinsetter-log-level");
  const keep = option("--keep-logs");
  return startPinsetter(TIMING, build, { ...(execArgv ? { execArgv } : {}), ...(level ? { logLevel: level } : {}), ...(keep ? { keepLogsDir: keep } : {}) });
}

/**
 * Throughput and failover with both clusters up, taking turns cell by cell and
 * repetition by repetition; then memory on a fresh cluster of each, one
 * after the other.
 */
async function benchAll(names: SystemName[]): Promise<BenchResults["systems"]> {
  const res: BenchResults["systems"] = {};
  for (const n of names) res[n] = { name: n, version: "?", errors: {} };
  const fail = (n: SystemName, phase: string, err: unknown): void => {
    res[n]!.errors[phase] = (err as Error).stack ?? String(err);
    log(`${n} ${phase} FAILED: ${(err as Error).message}`);
  };

  if (phases.has("throughput") || phases.has("failover")) {
    const running: StoreSystem[] = [];
    try {
      for (const n of names) {
        try {
          const sys = await start(n);
          res[n]!.version = sys.version;
          running.push(sys);
        } catch (err) {
          fail(n, "start", err);
        }
      }
      await sleep(1000);
      for (const sys of running) {
        const pids = sys.pids();
        const c0 = sumCpuMs(pids);
        await sleep(3000);
        res[sys.name]!.idleCores = (sumCpuMs(pids) - c0) / 3000;
        log(`${sys.name} idle: ${res[sys.name]!.idleCores!.toFixed(3)} cores`);
      }
      if (phases.has("throughput") && running.length > 0) {
        try {
          const rows = await runThroughput(running, { concurrency: CONCURRENCY, ops: ["write", "read"], warmupMs, durationMs, valueBytes: VALUE_BYTES, log });
          for (const [sys, r] of rows) res[sys.name]!.throughput = r;
        } catch (err) {
          for (const sys of running) fail(sys.name, "throughput", err);
        }
      }
      if (phases.has("failover") && running.length > 0) {
        const out = await runFailover(running, { reps: failoverReps, intervalMs: FAILOVER_INTERVAL_MS, valueBytes: VALUE_BYTES, limitMs: 30_000, log });
        for (const [sys, f] of out) {
          if (f instanceof Error) fail(sys.name, "failover", f);
          else {
            res[sys.name]!.failover = f;
            log(`${sys.name} failover: p50 ${f.recovery.p50Ms.toFixed(0)} ms, p90 ${f.recovery.p90Ms.toFixed(0)} ms, max ${f.recovery.maxMs.toFixed(0)} ms`);
          }
        }
      }
    } finally {
      for (const sys of running) {
        const exits = sys.unexpectedExits();
        if (exits.length) fail(sys.name, "unexpected exits (throughput/failover)", new Error(exits.join("\n")));
        await sys.stop();
      }
    }
  }

  if (phases.has("memory")) {
    for (const n of names) {
      let sys: StoreSystem | null = null;
      try {
        sys = await start(n);
        res[n]!.version = sys.version;
        res[n]!.memory = await runMemory(sys, { ...memory, log });
      } catch (err) {
        fail(n, "memory", err);
      } finally {
        const exits = sys?.unexpectedExits() ?? [];
        if (exits.length) fail(n, "unexpected exits (memory)", new Error(exits.join("\n")));
        await sys?.stop();
      }
    }
  }
  return res;
}

// ---------------------------------------------------------------- profile mode

/**
 * Runs Pinsetter's masters under --cpu-prof through a write cell, a read cell
 * and (with --profile-ops ...,memory) the memory phase, each on its own fresh
 * cluster so the profiles do not mix; stops them with SIGTERM so the profiles
 * are written, and summarizes each master.
 */
async function profile(dir: string): Promise<void> {
  const clients = num("--profile-clients", 256);
  const seconds = num("--seconds", 10);
  const ops = (option("--profile-ops") ?? "write,read").split(",") as (Op | "memory")[];
  mkdirSync(dir, { recursive: true });
  const sections: string[] = [];
  for (const op of ops) {
    const opDir = join(dir, op);
    rmSync(opDir, { recursive: true, force: true });
    mkdirSync(opDir, { recursive: true });
    const sys = (await start("pinsetter", ["--cpu-prof", `--cpu-prof-dir=${opDir}`])) as StoreSystem & { cluster: import("./pinsetter-cluster.js").PinsetterCluster };
    const roles = new Map<number, string>();
    let headline: string;
    try {
      if (op === "memory") {
        const m = await runMemory(sys, { ...memory, log });
        headline =
          `## memory phase under --cpu-prof: ${m.liveKeys} keys of ${m.valueBytes} B + ${m.overwrites} overwrites, txns of ${m.batch} puts, ${memory.clients} clients\n\n` +
          `load ${m.loadPerSecond.toFixed(0)} puts/s, overwrites ${m.overwritePerSecond.toFixed(0)} puts/s, raft term +${m.elections}, ` +
          `${m.retriedRequests} requests retried; RSS after overwrites ${m.members.map((x) => `${x.member} ${((x.afterOverwrites?.rssKiB ?? 0) / 1024).toFixed(0)} MiB`).join(", ")}.\n`;
      } else {
        const r = (await runThroughput([sys], { concurrency: [clients], ops: [op], warmupMs: 1000, durationMs: seconds * 1000, valueBytes: VALUE_BYTES, log })).get(sys)![0]!;
        headline =
          `## ${op}s at ${clients} clients, ${seconds} s (+1 s warm-up) under --cpu-prof\n\n` +
          `${r.perSecond.toFixed(0)}/s, p50 ${r.latency.p50Ms.toFixed(2)} ms, p99 ${r.latency.p99Ms.toFixed(2)} ms, ` +
          `${r.serverCpuMsPerOp.toFixed(3)} CPU ms/op over the 3 masters (profiling slows them down somewhat).\n`;
      }
      const leader = await sys.leader();
      for (const m of sys.cluster.members) if (m.pid) roles.set(m.pid, `${m.name}${m.name === leader ? " (leader at the end)" : ""}`);
    } finally {
      await sys.stop();
    }
    sections.push(headline);
    const files = readdirSync(opDir).filter((f) => f.endsWith(".cpuprofile"));
    files.sort((a, b) => (roles.get(pidOf(a)) ?? "").localeCompare(roles.get(pidOf(b)) ?? ""));
    for (const f of files) {
      const title = roles.get(pidOf(f)) ?? `pid ${pidOf(f)}`;
      sections.push(renderSummary(summarizeProfile(join(opDir, f)), `${op}: ${title}`));
      log(`profile of ${title}: ${join(opDir, f)}`);
    }
  }
  const md = [
    "# bench/store profile: Pinsetter masters under node --cpu-prof",
    "",
    `Measured ${new Date().toISOString()} with \`node dist/bench/store/run.js ${argv.join(" ")}\`, Pinsetter ${build?.description ?? "?"}.`,
    "Self time per function and per area; one fresh 3-master cluster per part; the profiles cover the masters' whole lives",
    "(start-up, warm-up, the load, stop). Time inside native code (LevelDB's binding, GC) is charged to the JS function that called it.",
    "",
    ...sections,
  ].join("\n");
  if (!partial || flag("--write")) {
    writeFileSync(join(RESULTS_DIR, "store-profile.md"), md);
    log(`profile summary written to ${join(RESULTS_DIR, "store-profile.md")}`);
  } else console.log(md);
}

function pidOf(file: string): number {
  // CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile
  return Number(file.split(".")[3]);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const profileDir = option("--profile");
  if (profileDir) {
    await profile(profileDir);
    return;
  }
  log(
    `bench/store, ${mode} run: ${durationMs / 1000} s per cell at ${CONCURRENCY.join("/")} clients, ${failoverReps} failovers, ` +
      `memory ${memory.liveKeys} keys + ${memory.overwrites} overwrites; systems ${systemsToRun.join(", ")}`,
  );
  const loadBefore = loadAverage();
  const systems = await benchAll(systemsToRun);
  const results: BenchResults = {
    measuredAt: new Date().toISOString(),
    mode,
    command: `node dist/bench/store/run.js${argv.length ? " " + argv.join(" ") : ""}`,
    wallSeconds: (Date.now() - started) / 1000,
    machine: {
      ...machine({ pinsetter: systems.pinsetter?.version, etcd: systems.etcd?.version }),
      "Background load": `1-min load average ${loadBefore.toFixed(1)} at the start, ${loadAverage().toFixed(1)} at the end (other users of the machine; see "others" per cell)`,
    },
    settings: {
      ...TIMING,
      valueBytes: VALUE_BYTES,
      concurrency: CONCURRENCY,
      warmupMs,
      durationMs,
      failoverReps,
      failoverIntervalMs: FAILOVER_INTERVAL_MS,
      memory,
      pinsetter: [
        'clientAuth "token": every request carries `Authorization: Bearer <token>` (the check is a string compare).',
        "raft.snapshotEvery 10000 (default), tick 50 ms derived from 100/1000 (heartbeat 2 ticks, election 20 ticks); " +
          "store.retainMinutes 5 (default; each cluster lives less long, so auto-compaction never fires); log level warn.",
        "Masters run `node dist/src/cli/pinsetter.js --config FILE master --name NAME --log-file FILE --log-level warn` from " +
          (buildSpec.kind === "commit" ? `git revision ${buildSpec.rev} compiled into a temp dir (\`--worktree\` benches the work tree's dist/ instead).` : "a private copy of the work tree's dist/ (`--worktree`)."),
      ],
      etcd: [
        `Debian's etcd 3.4 binary, no auth (no Authorization header), log level warn, --snapshot-count ${ETCD_SNAPSHOT_COUNT}` +
          (ETCD_SNAPSHOT_COUNT === 10_000
            ? " (etcd's default is 100000; set to Pinsetter's snapshotEvery so both keep the same number of raft entries in memory:" +
              " with 10-put txns in the memory phase, the default makes etcd hold 40,000 entries of 10 KiB, ~400 MiB, that Pinsetter would not)"
            : "") +
          "; defaults otherwise: --pre-vote false, no auto-compaction, request timeout 5 s + 2 x election.",
      ],
    },
    systems,
  };
  const md = renderMarkdown(results, {
    profileNote: existsSync(join(RESULTS_DIR, "store-profile.md"))
      ? "CPU profiles of the Pinsetter masters: [store-profile.md](store-profile.md) (`node dist/bench/store/run.js --profile DIR`); analysis in bench/store/README.md."
      : undefined,
  });
  if (writeReport) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, "store.json"), JSON.stringify(results, null, 2) + "\n");
    writeFileSync(join(RESULTS_DIR, "store.md"), md);
    writeFileSync(join(RESULTS_DIR, "store.svg"), renderSvg(results));
    log(`report written to ${join(RESULTS_DIR, "store.md")} (+ store.svg, store.json)`);
  } else {
    console.log(md);
    log("partial run (--only/--phases/--clients): nothing written; add --write to write bench/results/store.*");
  }
  const failed = Object.values(systems).some((s) => s && Object.keys(s.errors).length > 0);
  if (failed) process.exitCode = 1;
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => build?.dispose());
