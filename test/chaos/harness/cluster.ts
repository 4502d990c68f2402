// A cluster of real master processes for the chaos tests: writes the cluster
// config to a temp dir, runs `pinsetter master` (compiled, from dist/) per
// member, and injects process faults: kill -9, SIGSTOP/SIGCONT, restart from
// the data dir. Whoever creates a ChaosCluster destroys it (destroy() in
// afterEach); an exit hook kills leftovers if a test process dies first.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { EtcdClient } from "../../../src/client/etcd-client.js";
import { fetchMasterStatus, type MasterStatus } from "../../../src/client/master-status.js";

/** Test-process clients dial from here: not a master's address, so partitions never cut them. */
export const CLIENT_ADDRESS = "127.0.0.130";
/** Masters live on 127.0.0.(FIRST_HOST + i), i from 0; the brief reserves 127.0.0.100-140 for chaos. */
export const FIRST_HOST = 101;
const RAFT_PORT = 17401;
const CLIENT_PORT = 17402;
const API_PORT = 17403;
const STOP_GRACE_MS = 3_000;

export interface ChaosClusterOptions {
  /** Names the temp dir and the cluster. */
  scenario: string;
  /** Founding masters (3 or 5): m1..mN. */
  masters: number;
  /** Masters defined only in the extended config (m(N+1)...), for membership changes. */
  spares?: number;
  heartbeatMs?: number;
  electionTimeoutMs?: number;
  snapshotEvery?: number;
  /** Appended to each master's log level (default info). */
  logLevel?: string;
}

export interface MasterSpec {
  name: string;
  host: string;
  raftPort: number;
  clientPort: number;
  apiPort: number;
}

export type MemberState = "stopped" | "running" | "paused";

export interface ChaosMember extends MasterSpec {
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly logFile: string;
  /** stdout/stderr of the process (startup errors, crashes). */
  readonly outFile: string;
  readonly founder: boolean;
  state: MemberState;
  pid: number | undefined;
}

/** A process that ended without being asked to: always a finding. */
export interface UnexpectedExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  at: string;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "tsconfig.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("chaos: cannot find the repository root above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const REPO_ROOT = repoRoot();
/** The compiled CLI in the work tree (built by `npx tsc -p .`; npm run test:chaos builds first). */
export const BUILT_CLI = join(REPO_ROOT, "dist", "src", "cli", "pinsetter.js");

let cliSnapshot: string | null = null;

/**
 * The CLI the masters run. CHAOS_PINSETTER_CLI points elsewhere (e.g. a
 * deliberately broken build, to see a scenario fail). Otherwise a private
 * copy of dist/ taken once per test process, so that a rebuild during a run
 * (`tsc` writes dist/ file by file) can neither crash a restarting master
 * with half-old modules nor mix versions within one cluster.
 */
export function pinsetterCli(): string {
  if (process.env.CHAOS_PINSETTER_CLI) return process.env.CHAOS_PINSETTER_CLI;
  if (cliSnapshot) return cliSnapshot;
  if (!existsSync(BUILT_CLI)) throw new Error(`chaos: ${BUILT_CLI} is missing; build first (npx tsc -p . , or npm run test:chaos)`);
  // Copies of test processes that are gone (a vitest worker may end without running exit hooks).
  for (const name of readdirSync(tmpdir())) {
    const m = /^pinsetter-chaos-dist-(\d+)-/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  let problem = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const root = mkdtempSync(join(tmpdir(), `pinsetter-chaos-dist-${process.pid}-`));
    for (const dir of ["src", "raft"]) cpSync(join(REPO_ROOT, "dist", dir), join(root, "dist", dir), { recursive: true });
    copyFileSync(join(REPO_ROOT, "package.json"), join(root, "package.json"));
    symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"), "dir");
    const cli = join(root, "dist", "src", "cli", "pinsetter.js");
    // Loading the CLI links every module: a copy taken mid-build fails here.
    const check = spawnSync(process.execPath, [cli, "--version"], { encoding: "utf8", timeout: 20_000 });
    if (check.status === 0) {
      cliSnapshot = cli;
      process.once("exit", () => rmSync(root, { recursive: true, force: true }));
      return cli;
    }
    problem = (check.stderr || check.stdout || String(check.error)).trim().split("\n").slice(0, 6).join("\n");
    rmSync(root, { recursive: true, force: true });
    spawnSync("sleep", ["2"]);
  }
  throw new Error(`chaos: the build in dist/ does not load (rebuild with npx tsc -p .):\n${problem}`);
}

/** One file per running master: <pid>.json naming the test process that owns it. */
const PID_DIR = join(tmpdir(), "pinsetter-chaos-pids");

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Kills masters left running by a test process that died without cleaning up
 * (SIGKILL of a vitest worker): they would hold the chaos addresses' ports.
 */
export function reapOrphans(): number {
  if (!existsSync(PID_DIR)) return 0;
  let reaped = 0;
  for (const f of readdirSync(PID_DIR)) {
    const file = join(PID_DIR, f);
    try {
      const { owner, pid, rootDir } = JSON.parse(readFileSync(file, "utf8")) as { owner: number; pid: number; rootDir: string };
      if (processAlive(owner)) continue;
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        // Gone already.
      }
      if (cmdline.includes("pinsetter") && cmdline.includes(rootDir)) {
        process.kill(pid, "SIGKILL");
        reaped++;
      }
      rmSync(rootDir, { recursive: true, force: true });
      rmSync(file, { force: true });
    } catch {
      rmSync(file, { force: true });
    }
  }
  if (reaped > 0) console.warn(`chaos: killed ${reaped} master process(es) left by a test run that died`);
  return reaped;
}

const liveClusters = new Set<ChaosCluster>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of liveClusters) c.killAllSync();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ChaosCluster {
  readonly rootDir: string;
  readonly dataDir: string;
  readonly token: string;
  readonly clusterName: string;
  /** Config of the founding masters only. */
  readonly configPath: string;
  /** Founders plus spares: what a spare starts with and what adds it. */
  readonly extendedConfigPath: string;
  readonly members: readonly ChaosMember[];
  readonly unexpectedExits: UnexpectedExit[] = [];
  private readonly procs = new Map<string, { child: ChildProcess; exited: Promise<void>; expectExit: boolean }>();
  private readonly logLevel: string;
  private readonly cli: string;
  private destroyed = false;

  constructor(readonly opts: ChaosClusterOptions) {
    this.cli = pinsetterCli();
    reapOrphans();
    const spares = opts.spares ?? 0;
    if (opts.masters + spares > 140 - FIRST_HOST + 1) throw new Error("chaos: too many masters for the reserved addresses");
    this.clusterName = `chaos-${opts.scenario.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`.slice(0, 63);
    this.rootDir = mkdtempSync(join(tmpdir(), "pinsetter-chaos-"));
    this.dataDir = join(this.rootDir, "data");
    this.token = randomBytes(16).toString("hex");
    this.logLevel = opts.logLevel ?? "info";
    this.members = Array.from({ length: opts.masters + spares }, (_, i) => {
      const host = `127.0.0.${FIRST_HOST + i}`;
      return {
        name: `m${i + 1}`,
        host,
        raftPort: RAFT_PORT,
        clientPort: CLIENT_PORT,
        apiPort: API_PORT,
        clientUrl: `http://${host}:${CLIENT_PORT}`,
        peerUrl: `http://${host}:${RAFT_PORT}`,
        logFile: join(this.rootDir, `m${i + 1}.log`),
        outFile: join(this.rootDir, `m${i + 1}.out`),
        founder: i < opts.masters,
        state: "stopped" as MemberState,
        pid: undefined,
      };
    });
    const spec = (m: ChaosMember): MasterSpec => ({ name: m.name, host: m.host, raftPort: m.raftPort, clientPort: m.clientPort, apiPort: m.apiPort });
    const config = (masters: ChaosMember[]) => ({
      clusterName: this.clusterName,
      dataDir: this.dataDir,
      token: this.token,
      clientAuth: "token",
      raft: {
        heartbeatMs: opts.heartbeatMs ?? 50,
        electionTimeoutMs: opts.electionTimeoutMs ?? 750,
        snapshotEvery: opts.snapshotEvery ?? 1000,
      },
      // No automatic compaction during a run: watchers resume and the change log is read from revision 1.
      store: { retainMinutes: 100_000 },
      masters: masters.map(spec),
      nodes: [],
    });
    this.configPath = join(this.rootDir, "cluster.config.json");
    this.extendedConfigPath = join(this.rootDir, "cluster-extended.config.json");
    writeFileSync(this.configPath, JSON.stringify(config(this.members.filter((m) => m.founder)), null, 2));
    writeFileSync(this.extendedConfigPath, JSON.stringify(config([...this.members]), null, 2));
    liveClusters.add(this);
    installExitHook();
  }

  get founders(): ChaosMember[] {
    return this.members.filter((m) => m.founder);
  }

  member(name: string): ChaosMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`chaos: no master ${name}`);
    return m;
  }

  /** Members whose process is running and not paused. */
  running(): ChaosMember[] {
    return this.members.filter((m) => m.state === "running");
  }

  hostOf(name: string): string {
    return this.member(name).host;
  }

  /** Starts the founders and waits for a leader. */
  async startAll(opts: { timeoutMs?: number } = {}): Promise<string> {
    for (const m of this.founders) this.start(m.name);
    return this.waitLeader({ timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /** Starts a stopped master from its data dir (founders with the founders' config, spares with the extended one). */
  start(name: string): void {
    const m = this.member(name);
    if (this.destroyed) throw new Error("chaos: cluster destroyed");
    if (this.procs.has(name)) throw new Error(`chaos: ${name} is already running`);
    const config = m.founder ? this.configPath : this.extendedConfigPath;
    const fd = openSync(m.outFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [this.cli, "--config", config, "master", "--name", name, "--log-file", m.logFile, "--log-level", this.logLevel],
        { stdio: ["ignore", fd, fd], cwd: this.rootDir },
      );
    } finally {
      closeSync(fd);
    }
    const pidFile = join(PID_DIR, `${child.pid}.json`);
    if (child.pid !== undefined) {
      mkdirSync(PID_DIR, { recursive: true });
      writeFileSync(pidFile, JSON.stringify({ owner: process.pid, pid: child.pid, rootDir: this.rootDir }));
    }
    const entry = { child, exited: Promise.resolve(), expectExit: false };
    entry.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        rmSync(pidFile, { force: true });
        if (!entry.expectExit) {
          this.unexpectedExits.push({ name, code, signal, at: new Date().toISOString() });
          console.warn(`chaos: master ${name} exited unexpectedly (code ${code}, signal ${signal}); see ${m.outFile}`);
        }
        if (this.procs.get(name) === entry) this.procs.delete(name);
        if (m.pid === child.pid) {
          m.pid = undefined;
          m.state = "stopped";
        }
        resolve();
      });
      child.once("error", (err) => {
        this.unexpectedExits.push({ name, code: null, signal: null, at: `${new Date().toISOString()} spawn error: ${err.message}` });
        if (this.procs.get(name) === entry) this.procs.delete(name);
        m.state = "stopped";
        resolve();
      });
    });
    this.procs.set(name, entry);
    m.pid = child.pid;
    m.state = "running";
  }

  /**
   * The master may now exit on its own (a removed master shuts down, as in
   * etcd); resolves when it has, or false after timeoutMs.
   */
  async awaitOwnExit(name: string, timeoutMs: number): Promise<boolean> {
    const p = this.procs.get(name);
    if (!p) return true;
    p.expectExit = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const result = await Promise.race([p.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** kill -9, as a crash would. */
  async kill(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    p.expectExit = true;
    p.child.kill("SIGKILL");
    await p.exited;
  }

  /** SIGTERM (graceful stop), SIGKILL after a grace period. */
  async stop(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    p.expectExit = true;
    if (this.member(name).state === "paused") p.child.kill("SIGCONT");
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), STOP_GRACE_MS);
    await p.exited;
    clearTimeout(timer);
  }

  /** kill -9 and start again from the data dir. */
  async restart(name: string): Promise<void> {
    await this.kill(name);
    this.start(name);
  }

  /** SIGSTOP: the process freezes with its sockets open, as in a long GC pause or a VM stall. */
  pause(name: string): void {
    const m = this.member(name);
    const p = this.procs.get(name);
    if (!p || m.state !== "running") throw new Error(`chaos: cannot pause ${name} (${m.state})`);
    p.child.kill("SIGSTOP");
    m.state = "paused";
  }

  resume(name: string): void {
    const m = this.member(name);
    const p = this.procs.get(name);
    if (!p || m.state !== "paused") return;
    p.child.kill("SIGCONT");
    m.state = "running";
  }

  /** Undoes every process fault: resumes the paused, starts the stopped (of those that ran before). */
  restoreAll(names?: string[]): void {
    for (const m of this.members) {
      if (names && !names.includes(m.name)) continue;
      if (m.state === "paused") this.resume(m.name);
    }
  }

  /** GET /status of one master, or null when it does not answer within timeoutMs. */
  async status(name: string, timeoutMs = 1000): Promise<MasterStatus | null> {
    const m = this.member(name);
    const r = await fetchMasterStatus({ host: m.host, port: m.clientPort, token: this.token, localAddress: CLIENT_ADDRESS, timeoutMs });
    return r === "unauthorized" ? null : r;
  }


  async statuses(names: string[], timeoutMs = 1000): Promise<Map<string, MasterStatus | null>> {
    const all = await Promise.all(names.map(async (n) => [n, await this.status(n, timeoutMs)] as const));
    return new Map(all);
  }

  /**
   * Waits until every master of `among` (default: every running one) answers
   * and all name the same leader, which is one of them and says it leads.
   */
  async waitLeader(opts: { among?: string[]; timeoutMs?: number } = {}): Promise<string> {
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    let problem = "not checked yet";
    while (Date.now() < deadline) {
      const among = opts.among ?? this.running().map((m) => m.name);
      const st = await this.statuses(among);
      const leaders = new Set([...st.values()].map((s) => s?.leader ?? null));
      const silent = [...st].filter(([, s]) => s === null).map(([n]) => n);
      if (silent.length > 0) problem = `no status from ${silent.join(", ")}`;
      else if (leaders.size !== 1 || leaders.has(null)) problem = `leaders seen: ${[...st].map(([n, s]) => `${n}->${s?.leader}`).join(" ")}`;
      else {
        const leader = [...leaders][0]!;
        const ls = st.get(leader);
        if (!ls) problem = `leader ${leader} is not among ${among.join(",")}`;
        else if (ls.role !== "leader") problem = `${leader} is named leader but is ${ls.role}`;
        else return leader;
      }
      await sleep(100);
    }
    throw new Error(`chaos: no agreed leader within ${opts.timeoutMs ?? 20_000} ms: ${problem}\n${this.logTails()}`);
  }

  /** The leader as some running master sees it right now (no agreement required), or null. */
  async currentLeader(among?: string[]): Promise<string | null> {
    const st = await this.statuses(among ?? this.running().map((m) => m.name), 700);
    for (const [name, s] of st) if (s?.role === "leader" && s.name === name) return name;
    return null;
  }

  /**
   * Waits until the running masters agree on a leader and on the log: equal
   * commit index, everything applied, equal store revision, twice in a row.
   */
  async waitConverged(opts: { among?: string[]; timeoutMs?: number } = {}): Promise<Map<string, MasterStatus>> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let problem = "not checked yet";
    let previous = "";
    while (Date.now() < deadline) {
      const among = opts.among ?? this.running().map((m) => m.name);
      const st = await this.statuses(among);
      const silent = [...st].filter(([, s]) => s === null).map(([n]) => n);
      if (silent.length > 0) problem = `no status from ${silent.join(", ")}`;
      else {
        const all = [...st.values()] as MasterStatus[];
        const shape = all.map((s) => `${s.leader}/${s.commitIndex}/${s.appliedIndex}/${s.revision}`);
        const same = new Set(shape).size === 1 && all.every((s) => s.appliedIndex === s.commitIndex && s.leader !== null);
        const key = shape.join(" ");
        if (same && key === previous) return st as Map<string, MasterStatus>;
        problem = `leader/commit/applied/revision: ${[...st].map(([n, s]) => `${n}=${s!.leader}/${s!.commitIndex}/${s!.appliedIndex}/${s!.revision}`).join(" ")}`;
        previous = same ? key : "";
      }
      await sleep(200);
    }
    throw new Error(`chaos: masters did not converge within ${opts.timeoutMs ?? 30_000} ms: ${problem}`);
  }

  /** A client of the given masters (in that order). The caller closes it. */
  client(names: string[], opts: { timeoutMs?: number; connectTimeoutMs?: number } = {}): EtcdClient {
    return new EtcdClient({
      endpoints: names.map((n) => this.member(n).clientUrl),
      token: this.token,
      localAddress: CLIENT_ADDRESS,
      timeoutMs: opts.timeoutMs ?? 2_500,
      connectTimeoutMs: opts.connectTimeoutMs ?? Math.min(1_000, opts.timeoutMs ?? 2_500),
    });
  }

  logTail(name: string, lines = 20): string {
    const m = this.member(name);
    const read = (f: string): string => {
      try {
        return readFileSync(f, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
      } catch {
        return "";
      }
    };
    return [read(m.outFile), read(m.logFile)].filter((s) => s !== "").join("\n") || "(no log)";
  }

  logTails(lines = 8): string {
    return this.members
      .filter((m) => m.founder || m.state !== "stopped" || existsSync(m.logFile))
      .map((m) => `--- ${m.name} (${m.state}):\n${this.logTail(m.name, lines)}`)
      .join("\n");
  }

  /** Copies configs, logs and outputs (not data) to `dest`. */
  archive(dest: string): void {
    mkdirSync(dest, { recursive: true });
    for (const f of [this.configPath, this.extendedConfigPath]) if (existsSync(f)) cpSync(f, join(dest, f.slice(this.rootDir.length + 1)));
    for (const m of this.members) {
      for (const f of [m.logFile, m.outFile]) if (existsSync(f)) cpSync(f, join(dest, f.slice(this.rootDir.length + 1)));
    }
  }

  /** Kills every process (SIGKILL: the data is thrown away anyway) and removes the temp dir. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.members.map((m) => this.kill(m.name)));
    liveClusters.delete(this);
    rmSync(this.rootDir, { recursive: true, force: true });
  }

  /** Last resort from the exit hook. */
  killAllSync(): void {
    for (const { child } of this.procs.values()) {
      try {
        rmSync(join(PID_DIR, `${child.pid}.json`), { force: true });
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    rmSync(this.rootDir, { recursive: true, force: true });
  }
}
