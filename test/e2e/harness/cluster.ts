// A real cluster for the end-to-end tests: 3 masters and 2 docker nodes as
// separate `pinsetter` processes from a generated config (own loopback
// addresses, data in a temp dir), the built pinctl, kubectl, and a KubeClient.
// cleanup() kills every process and removes every container of the run's
// nodes (their names carry the run id), also when a test failed; an exit hook
// does the same if the test process dies first, and start() reaps what a
// killed earlier run left behind.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Node, Pod } from "../../../src/api/types.js";
import { KubeClient } from "../../../src/client/kube-client.js";
import { fetchMasterStatus } from "../../../src/client/master-status.js";
import { removeNodeContainersSync } from "./docker.js";
import { eventually } from "./wait.js";

/** The checkout (this file also runs compiled, from dist/test/e2e/harness). */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, "package.json")) || dir.endsWith("/dist")) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}
/**
 * The compiled CLIs. PINSETTER_E2E_DIST points at another build (for example
 * `tsc --outDir /tmp/x` with node_modules linked there) when dist/ is being
 * rebuilt by others at the same time.
 */
const DIST = process.env.PINSETTER_E2E_DIST ?? join(REPO_ROOT, "dist");
const PINSETTER = join(DIST, "src", "cli", "pinsetter.js");
const PINCTL = join(DIST, "src", "cli", "pinctl.js");
const RUN_PREFIX = "pinsetter-e2e-";

export interface E2EClusterOptions {
  /** Masters on 127.0.0.(hostBase+1..), nodes on 127.0.0.(hostBase+11..). Default 200 (bench uses its own). */
  hostBase?: number;
  masters?: number;
  nodes?: number;
  /** Extra top-level config fields (nodeLifecycle, raft, ...). */
  configExtra?: Record<string, unknown>;
}

export interface Member {
  name: string;
  host: string;
  kind: "master" | "node";
  /** Extra ports: apiPort/clientPort for masters, kubeletPort for nodes. */
  apiPort: number;
  clientPort: number;
  kubeletPort: number;
  logFile: string;
  child: ChildProcess | null;
  exits: { code: number | null; signal: string | null; at: string }[];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const live = new Set<E2ECluster>();
let exitHookInstalled = false;

export class E2ECluster {
  readonly id = randomBytes(3).toString("hex");
  readonly dir: string;
  readonly configPath: string;
  readonly token = randomBytes(12).toString("hex");
  readonly members: Member[] = [];
  readonly client: KubeClient;
  private cleaned = false;

  private constructor(readonly opts: E2EClusterOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `${RUN_PREFIX}${this.id}-`));
    writeFileSync(join(this.dir, "owner.pid"), String(process.pid));
    const base = opts.hostBase ?? 200;
    const masters = Array.from({ length: opts.masters ?? 3 }, (_, i) => ({
      name: `m${i + 1}`,
      host: `127.0.0.${base + 1 + i}`,
      raftPort: 7001,
      clientPort: 2379,
      apiPort: 6443,
    }));
    const nodes = Array.from({ length: opts.nodes ?? 2 }, (_, i) => ({
      name: `e2e-${this.id}-w${i + 1}`,
      host: `127.0.0.${base + 11 + i}`,
      kubeletPort: 10250,
      runtime: "docker",
      capacity: { cpu: "4", memory: "8Gi", pods: 110 },
    }));
    const config = {
      clusterName: `e2e-${this.id}`,
      dataDir: join(this.dir, "data"),
      token: this.token,
      raft: { heartbeatMs: 100, electionTimeoutMs: 1000, snapshotEvery: 10000 },
      masters,
      nodes,
      ...(opts.configExtra ?? {}),
    };
    this.configPath = join(this.dir, "cluster.config.json");
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
    mkdirSync(join(this.dir, "logs"));
    for (const m of masters)
      this.members.push({ name: m.name, host: m.host, kind: "master", apiPort: m.apiPort, clientPort: m.clientPort, kubeletPort: 0, logFile: join(this.dir, "logs", `${m.name}.log`), child: null, exits: [] });
    for (const n of nodes)
      this.members.push({ name: n.name, host: n.host, kind: "node", apiPort: 0, clientPort: 0, kubeletPort: n.kubeletPort, logFile: join(this.dir, "logs", `${n.name}.log`), child: null, exits: [] });
    this.client = new KubeClient({ servers: masters.map((m) => `http://${m.host}:${m.apiPort}`), token: this.token, timeoutMs: 10_000, userAgent: "pinsetter-e2e" });
  }

  /** Starts every master, waits for a leader and the API, then starts the nodes and waits until they are Ready. */
  static async start(opts: E2EClusterOptions = {}): Promise<E2ECluster> {
    if (!existsSync(PINSETTER) || !existsSync(PINCTL)) throw new Error(`${PINSETTER} or ${PINCTL} missing: run npm run build first (npm run test:e2e does)`);
    reapStaleRuns();
    installExitHook();
    const c = new E2ECluster(opts);
    live.add(c);
    try {
      for (const m of c.masterList) c.startMember(m.name);
      await c.waitForLeader(30_000);
      await eventually("the API answers a list of namespaces", async () => (await c.client.list("namespaces")).items !== undefined, 30_000);
      for (const n of c.nodeList) c.startMember(n.name);
      await c.waitForNodesReady(c.nodeList.map((n) => n.name), 45_000);
    } catch (err) {
      (err as Error).message += `\n${c.logTails()}`;
      await c.cleanup();
      throw err;
    }
    return c;
  }

  get masterList(): Member[] {
    return this.members.filter((m) => m.kind === "master");
  }

  get nodeList(): Member[] {
    return this.members.filter((m) => m.kind === "node");
  }

  get nodeNames(): string[] {
    return this.nodeList.map((n) => n.name);
  }

  member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  startMember(name: string): void {
    const m = this.member(name);
    if (m.child && m.child.exitCode === null && m.child.signalCode === null) throw new Error(`${name} is already running`);
    const fd = openSync(m.logFile, "a");
    const args = [PINSETTER, "--config", this.configPath, m.kind, "--name", m.name];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", fd, fd], env: { ...process.env, PINSETTER_LOG_LEVEL: process.env.PINSETTER_LOG_LEVEL ?? "info" } });
    closeSync(fd);
    m.child = child;
    child.on("exit", (code, signal) => m.exits.push({ code, signal, at: new Date().toISOString() }));
    this.writePids();
  }

  /** kill -9, as a crash would. */
  async kill(name: string): Promise<void> {
    const m = this.member(name);
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stopMember(name: string, graceMs = 10_000): Promise<void> {
    const child = this.member(name).child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(t);
  }

  isRunning(name: string): boolean {
    const c = this.member(name).child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  /** The leader's name as the masters report it, or null. */
  async leader(): Promise<string | null> {
    const answers = await Promise.all(
      this.masterList.filter((m) => this.isRunning(m.name)).map((m) => fetchMasterStatus({ host: m.host, port: m.clientPort, token: this.token, timeoutMs: 1000 })),
    );
    for (const s of answers) if (s && s !== "unauthorized" && s.role === "leader") return s.name;
    return null;
  }

  async waitForLeader(timeoutMs: number): Promise<string> {
    return eventually("a master is leader", () => this.leader(), timeoutMs);
  }

  async waitForNodesReady(names: string[], timeoutMs: number): Promise<void> {
    await eventually(
      `nodes ${names.join(", ")} registered and Ready`,
      async () => {
        const nodes = (await this.client.list<Node>("nodes")).items;
        const ready = names.filter((n) => nodes.find((x) => x.metadata.name === n)?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        return ready.length === names.length ? true : undefined;
      },
      timeoutMs,
      500,
    );
  }

  nodeUrl(nodeName: string, nodePort: number, path = "/"): string {
    return `http://${this.member(nodeName).host}:${nodePort}${path}`;
  }

  async pods(namespace = "default", labelSelector?: string): Promise<Pod[]> {
    return (await this.client.list<Pod>("pods", { namespace, labelSelector })).items;
  }

  pinctl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    return run(process.execPath, [PINCTL, "--config", this.configPath, ...args], opts);
  }

  /**
   * Stock kubectl with the kubeconfig `pinctl config kubeconfig` writes
   * (TLS: kubectl sends a bearer token only over TLS); without one, flags
   * for the first running master over https.
   */
  async kubectl(args: string[], opts: { timeoutMs?: number } = {}): Promise<CommandResult> {
    const kubeconfig = join(this.dir, "kubeconfig");
    if (!existsSync(kubeconfig)) {
      const r = await this.pinctl(["config", "kubeconfig"]);
      if (r.code === 0 && r.stdout.includes("server: https://")) writeFileSync(kubeconfig, r.stdout);
    }
    if (existsSync(kubeconfig)) return run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout", "10s", ...args], opts);
    const m = this.masterList.find((x) => this.isRunning(x.name)) ?? this.masterList[0]!;
    const empty = join(this.dir, "kubeconfig.empty");
    writeFileSync(empty, "apiVersion: v1\nkind: Config\n");
    const server = ["--server", `https://${m.host}:${m.apiPort}`, "--insecure-skip-tls-verify", "--token", this.token];
    return run("kubectl", ["--kubeconfig", empty, ...server, "--request-timeout", "10s", ...args], opts);
  }

  /** The last lines of every member's log, for a failure message. */
  logTails(lines = 15): string {
    const out: string[] = [];
    for (const m of this.members) {
      let text = "";
      try {
        text = readFileSync(m.logFile, "utf8");
      } catch {
        continue;
      }
      const tail = text.trimEnd().split("\n").slice(-lines).join("\n");
      out.push(`--- ${m.name} (${m.exits.map((e) => `exit ${e.code ?? e.signal}`).join(", ") || "running"}) ${m.logFile}\n${tail}`);
    }
    return out.join("\n");
  }

  /** Kills every process, removes every container of the run's nodes and the temp dir (logs kept when keepLogs). */
  async cleanup(opts: { keepLogs?: boolean } = {}): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    live.delete(this);
    this.client.close();
    await Promise.all(this.members.map((m) => this.kill(m.name)));
    removeNodeContainersSync(this.nodeNames);
    if (opts.keepLogs) {
      const keep = join(tmpdir(), `pinsetter-e2e-logs-${this.id}`);
      rmSync(keep, { recursive: true, force: true });
      spawnSync("cp", ["-r", join(this.dir, "logs"), keep]);
      process.stderr.write(`e2e: logs of the failed run kept in ${keep}\n`);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  killAllSync(): void {
    for (const m of this.members) if (m.child && m.child.exitCode === null) m.child.kill("SIGKILL");
    removeNodeContainersSync(this.nodeNames);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writePids(): void {
    const pids = this.members.map((m) => m.child?.pid).filter((p): p is number => typeof p === "number");
    writeFileSync(join(this.dir, "pids"), pids.join("\n"));
  }
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number }): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, stdout, stderr: stderr + err.message });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) c.killAllSync();
  });
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs whose test process died without cleaning up: kill their processes, remove their containers and dirs. */
function reapStaleRuns(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(RUN_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
    } catch {
      continue;
    }
    if (owner && alive(owner)) continue;
    let pids: number[] = [];
    try {
      pids = readFileSync(join(dir, "pids"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      /* no process was started */
    }
    // Only a process whose command line names this run's config is ours (pids get reused).
    for (const p of pids) if (alive(p) && cmdline(p).includes(dir)) process.kill(p, "SIGKILL");
    const id = entry.slice(RUN_PREFIX.length).split("-")[0]!;
    removeNodeContainersSync([1, 2, 3, 4].map((i) => `e2e-${id}-w${i}`));
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`e2e: reaped a stale run ${dir}\n`);
  }
}
