// One chaos scenario, start to verdict: start a cluster, run the workload,
// inject the scenario's faults, heal, check that the masters converge, then
// check every history (linearizability), every watcher (order, gaps,
// duplicates, final state) and the writes against the change log, and that
// the cluster made progress after every heal. Writes the history and the
// verdict under test-results/chaos/<scenario>/.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { CheckResult } from "../../lib/linearizability.js";
import { historyToJsonLines } from "../../lib/history.js";
import type { Change } from "../../lib/watch-check.js";
import { checkRun, type RunRecording } from "./check.js";
import { ChaosCluster, REPO_ROOT, type ChaosClusterOptions } from "./cluster.js";
import { Net, netAvailability, removeStaleRules } from "./net.js";
import { kvSnapshot, prng, readChangeLog, Workload } from "./workload.js";

export const RESULTS_DIR = join(REPO_ROOT, "test-results", "chaos");

export interface ScenarioContext {
  cluster: ChaosCluster;
  net: Net;
  workload: Workload;
  /** Seeded: the scenario's random choices follow from the seed. */
  rnd: () => number;
  seed: number;
  /** A line in the fault timeline (with the time since the workload started). */
  log(line: string): void;
  /** Marks the start of a fault (ends the previous heal window). */
  fault(what: string): void;
  /** Heals the network, resumes paused masters, and opens a heal window that must show progress. */
  heal(what?: string): void;
  sleep(ms: number): Promise<void>;
  /** Problems found by the scenario's own targeted checks. */
  fail(problem: string): void;
  pick<T>(xs: readonly T[]): T;
  /**
   * Waits for a leader agreed on by `among` (a side that holds a majority);
   * none within timeoutMs is a liveness failure. Returns it, or null.
   */
  expectLeader(among: string[], what: string, timeoutMs?: number): Promise<string | null>;
  /** The masters that are members at the end (after membership changes); default every founder. */
  setFinalMembers(names: string[]): void;
  /** Host (loopback address) of each named master. */
  hosts(names: readonly string[]): string[];
}

export interface ScenarioSpec {
  name: string;
  cluster: Omit<ChaosClusterOptions, "scenario">;
  /** The scenario uses iptables. */
  network: boolean;
  seed?: number;
  clients?: number;
  keys?: number;
  /** Masters the clients are pinned to (default: every founder). */
  pins?: string[];
  /** Masters the watchers use (default: the first three founders). */
  watchers?: string[];
  /** The fault schedule; must end with the faults in force healed or not (the runner heals). */
  faults(ctx: ScenarioContext): Promise<void>;
  /** Masters expected to be members at the end (default: every founder). */
  finalMembers?: string[];
  /** Minimum completed operations over the whole run. */
  minOk?: number;
  /** Minimum completed operations in each heal window. */
  minOkPerHeal?: number;
  /** Time the workload runs after the final heal. */
  settleMs?: number;
}

export interface ScenarioReport {
  name: string;
  seed: number;
  ok: boolean;
  failures: string[];
  skipped?: string;
  durations: { faultsMs: number; totalMs: number; checkMs: number };
  stats: ReturnType<Workload["summary"]>;
  historyOps: number;
  linearizability: { verdict: string; explanation?: string; key?: string; minimalIllegalIds?: number[] };
  watchers: { name: string; delivered: number; ends: string[]; ok: boolean; message?: string }[];
  healWindows: { label: string; fromMs: number; toMs: number; ok: number }[];
  timeline: string[];
  finalRevision: number;
  resultsDir: string;
  /** What was recorded (not written to verdict.json): for the control test, which doctors it. */
  recording?: RunRecording;
}

interface HealWindow {
  label: string;
  from: number;
  to: number | null;
}

export async function runScenario(spec: ScenarioSpec): Promise<ScenarioReport> {
  const seed = spec.seed ?? (Number(process.env.CHAOS_SEED ?? 0) || Math.floor(Math.random() * 1_000_000));
  const dir = join(RESULTS_DIR, spec.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const since = (): string => `${((performance.now() - t0) / 1000).toFixed(2).padStart(7)}s`;
  const timeline: string[] = [];
  const log = (line: string): void => {
    timeline.push(`${since()} ${line}`);
  };
  const failures: string[] = [];

  if (spec.network) {
    const avail = netAvailability();
    if (!avail.ok) {
      console.warn(`\n*** chaos scenario "${spec.name}" SKIPPED: ${avail.reason}. Partition scenarios need root and iptables. ***\n`);
      return skippedReport(spec.name, seed, dir, avail.reason);
    }
    removeStaleRules();
  }

  const cluster = new ChaosCluster({ ...spec.cluster, scenario: spec.name });
  const net = new Net({ log });
  const prefix = `/chaos/${spec.name}/`;
  const founders = cluster.founders.map((m) => m.name);
  const workload = new Workload({
    cluster,
    prefix,
    pins: spec.pins ?? founders,
    clients: spec.clients ?? 10,
    keys: spec.keys ?? 4,
    watchers: spec.watchers ?? founders.slice(0, 3),
    seed,
  });
  const rnd = prng(seed);
  let finalMembers = spec.finalMembers ?? founders;
  const windows: HealWindow[] = [];
  const openWindow = (label: string): void => {
    closeWindow();
    windows.push({ label, from: performance.now(), to: null });
  };
  const closeWindow = (): void => {
    const w = windows[windows.length - 1];
    if (w && w.to === null) w.to = performance.now();
  };
  const ctx: ScenarioContext = {
    cluster,
    net,
    workload,
    rnd,
    seed,
    log,
    fault(what) {
      closeWindow();
      log(`FAULT ${what}`);
    },
    heal(what = "heal") {
      net.healAll();
      for (const m of cluster.members) if (m.state === "paused") cluster.resume(m.name);
      log(`HEAL ${what}`);
      openWindow(what);
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    fail(problem) {
      log(`CHECK FAILED: ${problem}`);
      failures.push(problem);
    },
    pick: (xs) => xs[Math.floor(rnd() * xs.length)]!,
    async expectLeader(among, what, timeoutMs = 15_000) {
      try {
        const l = await cluster.waitLeader({ among, timeoutMs });
        log(`leader ${l} among ${among.join(",")} (${what})`);
        return l;
      } catch (err) {
        ctx.fail(`liveness: ${what}: ${(err as Error).message.split("\n")[0]}`);
        return null;
      }
    },
    hosts: (names) => names.map((n) => cluster.hostOf(n)),
    setFinalMembers(names) {
      finalMembers = [...names];
      log(`final members: ${names.join(",")}`);
    },
  };

  let faultsMs = 0;
  let finalRevision = 0;
  let checkMs = 0;
  let changes: Change[] = [];
  let allChanges: Change[] = [];
  let otherRevisions: number[] = [];
  let finalState: Record<string, string> = {};
  const watcherResults: ScenarioReport["watchers"] = [];
  try {
    const leader = await cluster.startAll();
    log(`cluster up: ${founders.join(",")} leader ${leader} (seed ${seed})`);
    workload.start();
    await ctx.sleep(1500);
    const tf = performance.now();
    await spec.faults(ctx);
    faultsMs = performance.now() - tf;

    // Final heal: network, paused processes, stopped members that belong to the cluster.
    net.healAll();
    for (const m of cluster.members) if (m.state === "paused") cluster.resume(m.name);
    for (const name of finalMembers) if (cluster.member(name).state === "stopped") cluster.start(name);
    log("HEAL final (network healed, every member running)");
    openWindow("final");
    await ctx.sleep(spec.settleMs ?? 4000);
    await workload.stop();
    closeWindow();
    log("workload stopped");

    // Convergence: same leader, commit, applied and revision; same data everywhere.
    const st = await cluster.waitConverged({ among: finalMembers, timeoutMs: 30_000 });
    finalRevision = [...st.values()][0]!.revision;
    log(`converged at revision ${finalRevision}: ${[...st].map(([n, s]) => `${n}=${s.role}/t${s.term}/c${s.commitIndex}`).join(" ")}`);
    const leaderName = [...st.values()][0]!.leader!;
    const leaderClient = cluster.client([leaderName], { timeoutMs: 10_000 });
    try {
      const final = await leaderClient.range(prefix, { prefix: true });
      if (final.header.revision !== finalRevision) failures.push(`final read at revision ${final.header.revision}, status said ${finalRevision}`);
      finalState = Object.fromEntries(final.kvs.map((kv) => [kv.key, kv.value]));
      const reference = kvSnapshot(final.kvs);
      for (const name of finalMembers) {
        const c = cluster.client([name], { timeoutMs: 10_000 });
        try {
          const local = await c.range(prefix, { prefix: true, serializable: true });
          if (kvSnapshot(local.kvs) !== reference)
            failures.push(`divergent data: ${name}'s serializable read of the prefix differs from the leader's:\n  ${name}: ${kvSnapshot(local.kvs)}\n  ${leaderName}: ${reference}`);
        } finally {
          c.close();
        }
      }

      // The change log, from every member: they must be identical.
      for (const name of [leaderName, ...finalMembers.filter((n) => n !== leaderName)]) {
        const c = cluster.client([name], { timeoutMs: 10_000 });
        try {
          // The whole keyspace: the masters write keys of their own (API
          // defaults, controllers) beside the run's prefix.
          const got = await readChangeLog(c, "", finalRevision);
          if (!got.complete) failures.push(`${name}: ${got.problem}`);
          if (name === leaderName) {
            allChanges = got.changes;
            changes = got.changes.filter((ch) => ch.key.startsWith(prefix));
            otherRevisions = got.changes.filter((ch) => !ch.key.startsWith(prefix)).map((ch) => ch.revision);
          } else if (JSON.stringify(got.changes) !== JSON.stringify(allChanges)) {
            const i = got.changes.findIndex((ch, k) => JSON.stringify(ch) !== JSON.stringify(allChanges[k]));
            failures.push(
              `divergent history: ${name}'s change log differs from ${leaderName}'s at entry ${i}: ${JSON.stringify(got.changes[i])} vs ${JSON.stringify(allChanges[i])}`,
            );
          }
        } finally {
          c.close();
        }
      }

      // Watchers: give each time to catch up (those on masters still in the cluster).
      for (const w of workload.watchers) {
        if (finalMembers.includes(w.master) && !(await w.waitFor(finalRevision, 10_000))) log(`watcher ${w.name} did not catch up to ${finalRevision}`);
        w.stop();
        await w.finished();
      }
    } finally {
      leaderClient.close();
    }
  } catch (err) {
    failures.push(`scenario aborted: ${(err as Error).stack ?? String(err)}`);
  } finally {
    workload.close();
    net.dispose();
    for (const e of cluster.unexpectedExits) failures.push(`master ${e.name} exited unexpectedly at ${e.at} (code ${e.code}, signal ${e.signal}):\n${cluster.logTail(e.name, 15)}`);
    cluster.archive(join(dir, "logs"));
    await cluster.destroy();
  }

  // Progress.
  const stats = workload.summary();
  const minOk = spec.minOk ?? 300;
  if (stats.ok < minOk) failures.push(`too little progress: ${stats.ok} operations completed, at least ${minOk} expected`);
  const healWindows = windows.map((w) => {
    const to = w.to ?? performance.now();
    return { label: w.label, fromMs: Math.round(w.from - t0), toMs: Math.round(to - t0), ok: workload.okBetween(w.from, to) };
  });
  const minPerHeal = spec.minOkPerHeal ?? 5;
  for (const w of healWindows) {
    if (w.ok < minPerHeal)
      failures.push(`no progress after heal "${w.label}" (${w.fromMs}-${w.toMs} ms): ${w.ok} operations completed, at least ${minPerHeal} expected`);
  }
  for (const e of workload.harnessErrors.slice(0, 5)) failures.push(`harness error: ${e}`);

  // The checks on what was recorded, once the processes are gone (the search needs the CPU).
  const ops = workload.recorder.history();
  writeFileSync(join(dir, "history.jsonl"), historyToJsonLines(ops));
  writeFileSync(join(dir, "changes.jsonl"), changes.map((c) => JSON.stringify(c)).join("\n") + "\n");
  writeFileSync(
    join(dir, "watchers.jsonl"),
    workload.watchers.map((w) => JSON.stringify({ name: w.name, master: w.master, ends: w.ends, events: w.events })).join("\n") + "\n",
  );
  const tc = performance.now();
  let lin: CheckResult | { ok: false; verdict: "not run" } = { ok: false, verdict: "not run" };
  let recording: RunRecording | undefined;
  if (finalRevision > 0) {
    recording = {
      prefix,
      history: ops,
      writes: workload.issuedWrites(),
      changes,
      watchers: workload.watchers.map((w) => {
        const member = finalMembers.includes(w.master);
        const reached = w.events.length > 0 ? Math.max(...w.events.map((e) => e.modRevision)) : w.startRevision - 1;
        if (!member) log(`watcher ${w.name}: its master left the cluster; checked up to revision ${reached}`);
        return { name: w.name, events: w.events, startRevision: w.startRevision, ...(member ? {} : { endRevision: Math.min(reached, finalRevision), complete: false }) };
      }),
      finalRevision,
      finalState,
      allWritesUnderPrefix: true,
      otherRevisions,
    };
    const verdict = checkRun(recording);
    failures.push(...verdict.failures);
    lin = verdict.linearizability;
    for (const w of verdict.watchers) {
      const rec = workload.watchers.find((x) => x.name === w.name)!;
      watcherResults.push({ ...w, ends: rec.ends });
    }
  }
  checkMs = performance.now() - tc;

  const report: ScenarioReport = {
    name: spec.name,
    seed,
    ok: failures.length === 0,
    failures,
    durations: { faultsMs: Math.round(faultsMs), totalMs: Math.round(performance.now() - t0), checkMs: Math.round(checkMs) },
    stats,
    historyOps: ops.length,
    linearizability:
      lin.verdict === "illegal"
        ? { verdict: lin.verdict, explanation: lin.explanation, key: lin.key, minimalIllegalIds: lin.minimalIllegal.map((o) => o.id) }
        : lin.verdict === "timeout"
          ? { verdict: lin.verdict, explanation: lin.explanation }
          : { verdict: lin.verdict },
    watchers: watcherResults,
    healWindows,
    timeline,
    finalRevision,
    resultsDir: dir,
  };
  writeFileSync(join(dir, "verdict.json"), JSON.stringify(report, null, 2) + "\n");
  if (recording) report.recording = recording;
  writeFileSync(join(dir, "timeline.log"), timeline.join("\n") + "\n");
  console.log(
    `chaos ${spec.name}: ${report.ok ? "PASS" : "FAIL"} seed=${seed} ops=${ops.length} ok=${stats.ok} unknown=${stats.unknown} failed=${stats.failed} ` +
      `rev=${finalRevision} faults=${(faultsMs / 1000).toFixed(1)}s total=${(report.durations.totalMs / 1000).toFixed(1)}s check=${(checkMs / 1000).toFixed(1)}s -> ${dir}`,
  );
  return report;
}

function skippedReport(name: string, seed: number, dir: string, reason: string): ScenarioReport {
  const report: ScenarioReport = {
    name,
    seed,
    ok: true,
    failures: [],
    skipped: reason,
    durations: { faultsMs: 0, totalMs: 0, checkMs: 0 },
    stats: { ok: 0, unknown: 0, failed: 0, byKind: {} },
    historyOps: 0,
    linearizability: { verdict: "skipped" },
    watchers: [],
    healWindows: [],
    timeline: [],
    finalRevision: 0,
    resultsDir: dir,
  };
  writeFileSync(join(dir, "verdict.json"), JSON.stringify(report, null, 2) + "\n");
  return report;
}

/** The failure message a test shows: every problem, with the seed to replay the schedule. */
export function describeFailures(r: ScenarioReport): string {
  return (
    `chaos scenario ${r.name} failed (seed ${r.seed}: CHAOS_SEED=${r.seed} repeats the run's random choices, though not its timing; files in ${r.resultsDir}):\n\n` +
    r.failures.map((f, i) => `${i + 1}. ${f}`).join("\n\n") +
    `\n\ntimeline:\n${r.timeline.join("\n")}`
  );
}
