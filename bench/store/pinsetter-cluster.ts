// Three (or more) real Pinsetter masters for bench/store: writes a cluster
// config into a temp dir, runs `pinsetter master` from a PinsetterBuild (a
// compiled git commit, or a private copy of the work tree's dist/, so that a
// rebuild by someone else during a run cannot hand a restarting master
// half-written modules), kills and restarts members, and removes everything
// on stopAll() or, as a last resort, when the bench process exits.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fetchMasterStatus, type MasterStatus } from "../../src/client/master-status.js";

export interface PinsetterClusterOptions {
  /** One loopback address per master: m1, m2, ... */
  hosts: string[];
  raftPort: number;
  clientPort: number;
  apiPort: number;
  heartbeatMs: number;
  electionTimeoutMs: number;
  snapshotEvery?: number;
  clientAuth: "token" | "none";
  /** Where the bench's own requests come from. */
  clientAddress: string;
  logLevel?: string;
  /** Extra node flags for the masters, e.g. --cpu-prof. */
  execArgv?: string[];
  /** The compiled CLI to run (PinsetterBuild.cli). */
  cli: string;
  /** Copy each master's log here when the cluster stops (the temp dir is removed). */
  keepLogsDir?: string;
}

export interface PinsetterMember {
  name: string;
  host: string;
  clientUrl: string;
  logFile: string;
  outFile: string;
  pid: number | undefined;
}

const STOP_GRACE_MS = 5_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "tsconfig.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("bench/store: cannot find the repository root");
    dir = up;
  }
}

export const REPO_ROOT = repoRoot();

/**
 * Which Pinsetter the masters run. `commit`: that git revision, exported with
 * `git archive` and compiled into a temp dir (reproducible, and immune to a
 * work tree that others are editing). `worktree`: a private copy of the work
 * tree's dist/ (what `npx tsc -p .` built last), for benchmarking uncommitted code.
 */
export type BuildSpec = { kind: "commit"; rev: string } | { kind: "worktree" };

export class PinsetterBuild {
  private readonly onExit = (): void => this.dispose();

  private constructor(
    readonly dir: string,
    /** The compiled CLI: dist/src/cli/pinsetter.js. */
    readonly cli: string,
    readonly description: string,
    readonly version: string,
  ) {
    process.once("exit", this.onExit);
  }

  static prepare(spec: BuildSpec): PinsetterBuild {
    const dir = mkdtempSync(join(tmpdir(), "pinsetter-bench-store-build-"));
    try {
      let description: string;
      if (spec.kind === "commit") {
        const sha = git(["rev-parse", "--verify", `${spec.rev}^{commit}`]).trim();
        const archive = spawnSync("sh", ["-c", `git -C '${REPO_ROOT}' archive ${sha} raft src package.json tsconfig.json | tar -x -C '${dir}'`], { encoding: "utf8" });
        if (archive.status !== 0) throw new Error(`git archive ${sha} failed: ${archive.stderr}`);
        symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
        writeFileSync(join(dir, "tsconfig.bench.json"), JSON.stringify({ extends: "./tsconfig.json", include: ["raft/**/*.ts", "src/**/*.ts"] }));
        const tsc = spawnSync(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.bench.json")], {
          encoding: "utf8",
          cwd: dir,
          timeout: 300_000,
        });
        const cli = join(dir, "dist", "src", "cli", "pinsetter.js");
        if (!existsSync(cli)) throw new Error(`compiling ${sha} failed:\n${(tsc.stdout + tsc.stderr).slice(0, 2000)}`);
        const subject = git(["log", "-1", "--format=%s", sha]).trim();
        description = `commit ${sha.slice(0, 7)} ("${subject.length > 70 ? subject.slice(0, 67) + "..." : subject}"), compiled from git into a temp dir`;
      } else {
        snapshotDist(dir);
        const dirty = git(["status", "--porcelain", "--untracked-files=no", "--", "raft", "src"]).trim() !== "";
        description = `work tree dist/ at commit ${git(["rev-parse", "--short", "HEAD"]).trim()}${dirty ? " with uncommitted changes in raft/ or src/" : ""}`;
      }
      const cli = join(dir, "dist", "src", "cli", "pinsetter.js");
      const check = spawnSync(process.execPath, [cli, "--version"], { encoding: "utf8", timeout: 20_000 });
      if (check.status !== 0) throw new Error(`the Pinsetter build does not load:\n${(check.stderr || check.stdout).slice(0, 1000)}`);
      return new PinsetterBuild(dir, cli, description, check.stdout.trim());
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  dispose(): void {
    process.removeListener("exit", this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function git(args: string[]): string {
  const r = spawnSync("git", ["-C", REPO_ROOT, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Copies the work tree's dist/src and dist/raft into `dir`, retrying while a rebuild leaves it unloadable. */
function snapshotDist(dir: string): void {
  let problem = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    for (const d of ["src", "raft"]) cpSync(join(REPO_ROOT, "dist", d), join(dir, "dist", d), { recursive: true });
    copyFileSync(join(REPO_ROOT, "package.json"), join(dir, "package.json"));
    if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    const check = spawnSync(process.execPath, [join(dir, "dist", "src", "cli", "pinsetter.js"), "--version"], { encoding: "utf8", timeout: 20_000 });
    if (check.status === 0) return;
    problem = (check.stderr || check.stdout || String(check.error)).trim().split("\n").slice(0, 6).join("\n");
    rmSync(join(dir, "dist"), { recursive: true, force: true });
    spawnSync("sleep", ["2"]);
  }
  throw new Error(`bench/store: the build in dist/ does not load (rebuild with npx tsc -p .):\n${problem}`);
}

export class PinsetterCluster {
  readonly rootDir: string;
  readonly token: string;
  readonly configPath: string;
  readonly members: PinsetterMember[];
  /** Masters that ended without being asked to (kill() or stop()): always a finding. */
  readonly unexpectedExits: { name: string; code: number | null; signal: string | null; at: string; tail: string }[] = [];
  private readonly procs = new Map<string, { child: ChildProcess; exited: Promise<void>; expected: boolean }>();
  private readonly onExit = (): void => this.killAllSync();

  constructor(readonly opts: PinsetterClusterOptions) {
    this.rootDir = mkdtempSync(join(tmpdir(), "pinsetter-bench-store-"));
    process.once("exit", this.onExit);
    this.token = randomBytes(16).toString("hex");
    this.members = opts.hosts.map((host, i) => ({
      name: `m${i + 1}`,
      host,
      clientUrl: `http://${host}:${opts.clientPort}`,
      logFile: join(this.rootDir, `m${i + 1}.log`),
      outFile: join(this.rootDir, `m${i + 1}.out`),
      pid: undefined,
    }));
    const config = {
      clusterName: "bench-store",
      dataDir: join(this.rootDir, "data"),
      token: this.token,
      clientAuth: opts.clientAuth,
      raft: {
        heartbeatMs: opts.heartbeatMs,
        electionTimeoutMs: opts.electionTimeoutMs,
        ...(opts.snapshotEvery ? { snapshotEvery: opts.snapshotEvery } : {}),
      },
      masters: this.members.map((m) => ({ name: m.name, host: m.host, raftPort: opts.raftPort, clientPort: opts.clientPort, apiPort: opts.apiPort })),
      nodes: [],
    };
    this.configPath = join(this.rootDir, "cluster.config.json");
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
  }

  /** Headers the bench's requests carry. */
  get authHeaders(): Record<string, string> {
    return this.opts.clientAuth === "token" ? { authorization: `Bearer ${this.token}` } : {};
  }

  member(name: string): PinsetterMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no master ${name}`);
    return m;
  }

  running(): PinsetterMember[] {
    return this.members.filter((m) => this.procs.has(m.name));
  }

  async startAll(): Promise<void> {
    for (const m of this.members) this.start(m.name);
    await this.waitHealthy({ timeoutMs: 30_000 });
  }

  start(name: string): void {
    const m = this.member(name);
    if (this.procs.has(name)) throw new Error(`master ${name} is already running`);
    const fd = openSync(m.outFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          ...(this.opts.execArgv ?? []),
          this.opts.cli,
          "--config",
          this.configPath,
          "master",
          "--name",
          name,
          "--log-file",
          m.logFile,
          "--log-level",
          this.opts.logLevel ?? "warn",
        ],
        { stdio: ["ignore", fd, fd], cwd: this.rootDir },
      );
    } finally {
      closeSync(fd);
    }
    const entry = { child, exited: Promise.resolve(), expected: false };
    entry.exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    child.once("exit", (code, signal) => {
      if (!entry.expected) {
        this.unexpectedExits.push({ name, code, signal, at: new Date().toISOString(), tail: this.logTail(m, 15) });
        console.warn(`bench/store: master ${name} exited unexpectedly (code ${code}, signal ${signal}):\n${this.logTail(m, 15)}`);
      }
      if (this.procs.get(name)?.child === child) this.procs.delete(name);
      if (m.pid === child.pid) m.pid = undefined;
    });
    m.pid = child.pid;
    this.procs.set(name, entry);
  }

  /** kill -9. Returns once the process is gone. */
  async kill(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    p.expected = true;
    p.child.kill("SIGKILL");
    await p.exited;
  }

  /** SIGTERM (lets --cpu-prof write its profile), SIGKILL after a grace period. */
  async stop(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    p.expected = true;
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), STOP_GRACE_MS);
    await p.exited;
    clearTimeout(timer);
  }

  /** GET /status, or null when the master does not answer in time. */
  async status(name: string, timeoutMs = 1000): Promise<MasterStatus | null> {
    const m = this.member(name);
    const r = await fetchMasterStatus({ host: m.host, port: this.opts.clientPort, token: this.token, localAddress: this.opts.clientAddress, timeoutMs });
    return r === "unauthorized" ? null : r;
  }


  /** The master that says it leads and that every running master names, or null. */
  async leader(): Promise<string | null> {
    const st = await Promise.all(this.running().map(async (m) => [m.name, await this.status(m.name)] as const));
    const named = new Set(st.map(([, s]) => s?.leader ?? null));
    if (named.size !== 1 || named.has(null)) return null;
    const l = [...named][0]!;
    return st.find(([n, s]) => n === l && s?.role === "leader") ? l : null;
  }

  /**
   * Waits until every running master answers, all name the same leader (which
   * says it leads), and their applied indexes are within `maxLag` entries.
   */
  async waitHealthy(opts: { timeoutMs?: number; maxLag?: number } = {}): Promise<string> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    const maxLag = opts.maxLag ?? 100;
    let problem = "not checked yet";
    while (Date.now() < deadline) {
      const running = this.running();
      if (running.length === 0) throw new Error("no master is running");
      const st = await Promise.all(running.map(async (m) => [m.name, await this.status(m.name)] as const));
      const silent = st.filter(([, s]) => s === null).map(([n]) => n);
      const named = new Set(st.map(([, s]) => s?.leader ?? null));
      if (silent.length > 0) problem = `no status from ${silent.join(", ")}`;
      else if (named.size !== 1 || named.has(null)) problem = `leaders seen: ${st.map(([n, s]) => `${n}->${s?.leader}`).join(" ")}`;
      else {
        const l = [...named][0]!;
        const applied = st.map(([, s]) => s!.appliedIndex);
        if (!st.find(([n, s]) => n === l && s?.role === "leader")) problem = `${l} is named leader but does not lead`;
        else if (Math.max(...applied) - Math.min(...applied) > maxLag) problem = `applied indexes ${applied.join(", ")}`;
        else return l;
      }
      await sleep(100);
    }
    throw new Error(`pinsetter cluster not healthy within ${opts.timeoutMs ?? 30_000} ms: ${problem}\n${this.logTails()}`);
  }

  logTail(m: PinsetterMember, lines: number): string {
    const read = (f: string): string => {
      try {
        return readFileSync(f, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
      } catch {
        return "";
      }
    };
    return [read(m.outFile), read(m.logFile)].filter(Boolean).join("\n") || "(no log)";
  }

  logTails(lines = 8): string {
    return this.members.map((m) => `--- ${m.name}:\n${this.logTail(m, lines)}`).join("\n");
  }

  /** Stops every master (SIGTERM, SIGKILL after a grace period) and removes the temp dir. */
  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stop(m.name)));
    process.removeListener("exit", this.onExit);
    if (this.opts.keepLogsDir) {
      mkdirSync(this.opts.keepLogsDir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      for (const m of this.members) {
        for (const f of [m.logFile, m.outFile]) if (existsSync(f)) copyFileSync(f, join(this.opts.keepLogsDir, `${stamp}-${basename(f)}`));
      }
    }
    rmSync(this.rootDir, { recursive: true, force: true });
  }

  private killAllSync(): void {
    for (const { child } of this.procs.values()) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    rmSync(this.rootDir, { recursive: true, force: true });
  }
}
