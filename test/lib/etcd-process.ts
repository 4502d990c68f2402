// Starts a real etcd 3.4 cluster (1 or 3 members) on caller-chosen loopback
// addresses, for the conformance suite (test/integration) and the store
// benchmarks (bench/store). Whoever starts a cluster stops it: stopAll() kills
// the processes and removes their data and log directory.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../src/client/etcd-client.js";

export interface EtcdMemberSpec {
  name: string;
  /** Loopback address the member binds both ports on, e.g. 127.0.0.51. */
  host: string;
  clientPort?: number;
  peerPort?: number;
}

export interface EtcdClusterOptions {
  /** One or three members (any count works; etcd wants an odd one). */
  members: EtcdMemberSpec[];
  /** Milliseconds; etcd's default is 100. */
  heartbeatMs?: number;
  /** Milliseconds; etcd's default is 1000. etcd's minimum lease TTL is
   *  ceil(1.5 * electionMs / 1000) s, so keep it <= 1333 for the 2 s minimum
   *  that the conformance suite expects. */
  electionMs?: number;
  /** Time to wait for a leader that every member agrees on. */
  readyTimeoutMs?: number;
  /** Path of the etcd binary; default $ETCD_BIN, else `etcd` on PATH. */
  binary?: string;
  extraArgs?: string[];
}

export interface EtcdMember {
  readonly name: string;
  readonly host: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Member ID (decimal), known once the cluster was healthy once. */
  id: string | undefined;
  /** Pid of the running process, undefined while stopped. */
  pid: number | undefined;
}

export type EtcdStartResult = { cluster: EtcdCluster; reason?: undefined } | { cluster: null; reason: string };

const DEFAULT_CLIENT_PORT = 2379;
const DEFAULT_PEER_PORT = 2380;
const STOP_GRACE_MS = 5_000;

/** Where etcd is and which version, or why it cannot be used. */
export function findEtcd(binary?: string): { binary: string; version: string } | { reason: string } {
  const bin = binary ?? process.env.ETCD_BIN ?? "etcd";
  try {
    const out = execFileSync(bin, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
    const m = /etcd Version:\s*(\S+)/.exec(out);
    if (!m) return { reason: `could not read a version from \`${bin} --version\`: ${out.slice(0, 200)}` };
    return { binary: bin, version: m[1]! };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") return { reason: `etcd binary not found (${bin}); install etcd-server or set ETCD_BIN` };
    return { reason: `\`${bin} --version\` failed: ${e.message}` };
  }
}

/**
 * Starts the members and waits until they agree on a leader. Returns a null
 * cluster with a reason when the etcd binary is missing; throws (after
 * cleaning up) when etcd is there but the cluster does not come up.
 */
export async function startEtcdCluster(opts: EtcdClusterOptions): Promise<EtcdStartResult> {
  const found = findEtcd(opts.binary);
  if ("reason" in found) return { cluster: null, reason: found.reason };
  const cluster = new EtcdCluster(found.binary, found.version, opts);
  try {
    for (const m of cluster.members) cluster.start(m);
    await cluster.waitHealthy({ timeoutMs: opts.readyTimeoutMs ?? 30_000 });
  } catch (err) {
    const logs = cluster.members.map((m) => `--- ${m.name}:\n${cluster.logTail(m, 15)}`).join("\n");
    await cluster.stopAll();
    throw new Error(`etcd cluster did not start: ${(err as Error).message}\n${logs}`, { cause: err });
  }
  return { cluster };
}

export class EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Holds the data dirs and logs of every member; removed by stopAll(). */
  readonly rootDir: string;
  private readonly procs = new Map<string, { child: ChildProcess; exited: Promise<void> }>();
  private readonly args: Map<string, string[]>;
  private readonly onProcessExit = (): void => this.killAllSync();

  constructor(
    readonly binary: string,
    readonly version: string,
    opts: EtcdClusterOptions,
  ) {
    if (opts.members.length === 0) throw new TypeError("startEtcdCluster: no members");
    this.rootDir = mkdtempSync(join(tmpdir(), "pinsetter-etcd-"));
    this.members = opts.members.map((s) => {
      const clientPort = s.clientPort ?? DEFAULT_CLIENT_PORT;
      const peerPort = s.peerPort ?? DEFAULT_PEER_PORT;
      return {
        name: s.name,
        host: s.host,
        clientUrl: `http://${s.host}:${clientPort}`,
        peerUrl: `http://${s.host}:${peerPort}`,
        dataDir: join(this.rootDir, `${s.name}.etcd`),
        logFile: join(this.rootDir, `${s.name}.log`),
        id: undefined,
        pid: undefined,
      };
    });
    const initialCluster = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    const token = `pinsetter-test-${process.pid}-${Date.now()}`;
    this.args = new Map(
      this.members.map((m) => [
        m.name,
        [
          "--name", m.name,
          "--data-dir", m.dataDir,
          "--listen-client-urls", m.clientUrl,
          "--advertise-client-urls", m.clientUrl,
          "--listen-peer-urls", m.peerUrl,
          "--initial-advertise-peer-urls", m.peerUrl,
          // Ignored by etcd once the data dir exists, so restart() can reuse them.
          "--initial-cluster", initialCluster,
          "--initial-cluster-state", "new",
          "--initial-cluster-token", token,
          "--heartbeat-interval", String(opts.heartbeatMs ?? 100),
          "--election-timeout", String(opts.electionMs ?? 1000),
          "--logger", "zap",
          "--log-outputs", "stderr",
          "--log-level", "warn",
          ...(opts.extraArgs ?? []),
        ],
      ]),
    );
    process.once("exit", this.onProcessExit);
  }

  /** Client URLs of every member, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Pids of the running members by name (for kill -9 in failover benchmarks). */
  get pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.members.map((m) => [m.name, m.pid]));
  }

  member(nameOrIndex: string | number): EtcdMember {
    const m = typeof nameOrIndex === "number" ? this.members[nameOrIndex] : this.members.find((x) => x.name === nameOrIndex);
    if (!m) throw new Error(`no etcd member ${String(nameOrIndex)}`);
    return m;
  }

  isRunning(member: EtcdMember | string | number): boolean {
    return this.procs.has(this.resolve(member).name);
  }

  /** A client over every member (or the given ones). The caller closes it. */
  client(opts: { members?: (EtcdMember | string | number)[]; timeoutMs?: number } = {}): EtcdClient {
    const ms = opts.members?.map((m) => this.resolve(m)) ?? [...this.members];
    return new EtcdClient({ endpoints: ms.map((m) => m.clientUrl), timeoutMs: opts.timeoutMs ?? 5_000, connectTimeoutMs: 1_000 });
  }

  /** Starts a stopped member (with its existing data dir, if any). */
  start(member: EtcdMember | string | number): void {
    const m = this.resolve(member);
    if (this.procs.has(m.name)) throw new Error(`etcd member ${m.name} is already running`);
    const fd = openSync(m.logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(this.binary, this.args.get(m.name)!, { stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    child.once("exit", () => {
      if (this.procs.get(m.name)?.child === child) this.procs.delete(m.name);
      if (m.pid === child.pid) m.pid = undefined;
    });
    m.pid = child.pid;
    this.procs.set(m.name, { child, exited });
  }

  /** Sends `signal` and, unless it is SIGSTOP/SIGCONT, waits for the exit
   *  (SIGKILL after graceMs). */
  async stop(member: EtcdMember | string | number, opts: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
    const m = this.resolve(member);
    const p = this.procs.get(m.name);
    if (!p) return;
    const signal = opts.signal ?? "SIGTERM";
    p.child.kill(signal);
    if (signal === "SIGKILL") {
      await p.exited;
      return;
    }
    const timer = setTimeout(() => p.child.kill("SIGKILL"), opts.graceMs ?? STOP_GRACE_MS);
    await p.exited;
    clearTimeout(timer);
  }

  /** kill -9, as a crash would. */
  async kill(member: EtcdMember | string | number): Promise<void> {
    await this.stop(member, { signal: "SIGKILL" });
  }

  /** Sends a signal that does not end the process (SIGSTOP, SIGCONT). */
  signal(member: EtcdMember | string | number, signal: NodeJS.Signals): void {
    const p = this.procs.get(this.resolve(member).name);
    if (!p) throw new Error(`etcd member ${this.resolve(member).name} is not running`);
    p.child.kill(signal);
  }

  /** Stops a member (SIGTERM, or SIGKILL with crash: true) and starts it again
   *  from its data dir; waits until the cluster is healthy again. */
  async restart(member: EtcdMember | string | number, opts: { crash?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const m = this.resolve(member);
    await this.stop(m, { signal: opts.crash ? "SIGKILL" : "SIGTERM" });
    this.start(m);
    await this.waitHealthy({ timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /**
   * Waits until every running member answers status, all name the same leader
   * (not "0") and that leader is one of them, and a linearizable read works
   * on each. Records member IDs.
   */
  async waitHealthy(opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let lastProblem = "no member checked yet";
    const client = new EtcdClient({ endpoints: this.endpoints, timeoutMs: 1_000, connectTimeoutMs: 500 });
    try {
      while (Date.now() < deadline) {
        const running = this.members.filter((m) => this.procs.has(m.name));
        if (running.length === 0) throw new Error("no etcd member is running");
        try {
          const statuses = await Promise.all(running.map((m) => client.withEndpoints([m.clientUrl]).status()));
          const leaders = new Set(statuses.map((s) => s.leader));
          const ids = statuses.map((s) => s.header.memberId);
          if (leaders.size !== 1 || leaders.has("0")) {
            lastProblem = `leaders seen: ${[...leaders].join(", ")}`;
          } else if (!ids.includes([...leaders][0]!)) {
            lastProblem = `leader ${[...leaders][0]} is not a running member`;
          } else {
            await Promise.all(running.map((m) => client.withEndpoints([m.clientUrl]).range("pinsetter-health-check")));
            running.forEach((m, i) => (m.id = ids[i]));
            return;
          }
        } catch (err) {
          lastProblem = (err as Error).message;
        }
        const dead = running.find((m) => !this.procs.has(m.name));
        if (dead) throw new Error(`etcd member ${dead.name} exited`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      client.close();
    }
    throw new Error(`etcd cluster not healthy within ${opts.timeoutMs ?? 30_000} ms: ${lastProblem}`);
  }

  /** The current leader among the running members, if they agree on one. */
  async leader(): Promise<EtcdMember | undefined> {
    const client = new EtcdClient({ endpoints: this.endpoints, timeoutMs: 1_000, connectTimeoutMs: 500 });
    try {
      for (const m of this.members.filter((x) => this.procs.has(x.name))) {
        try {
          const s = await client.withEndpoints([m.clientUrl]).status();
          return this.members.find((x) => x.id === s.leader);
        } catch {
          // This member is down or cut off: ask the next one.
        }
      }
      return undefined;
    } finally {
      client.close();
    }
  }

  /** The last lines of a member's log, for failure messages. */
  logTail(member: EtcdMember | string | number, lines = 20): string {
    try {
      return readFileSync(this.resolve(member).logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Stops every member (SIGTERM, then SIGKILL) and removes all their files. */
  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stop(m)));
    process.removeListener("exit", this.onProcessExit);
    rmSync(this.rootDir, { recursive: true, force: true });
  }

  private resolve(member: EtcdMember | string | number): EtcdMember {
    return typeof member === "object" ? member : this.member(member);
  }

  /** Last resort when the test process exits without stopAll(): no orphans. */
  private killAllSync(): void {
    for (const { child } of this.procs.values()) child.kill("SIGKILL");
    rmSync(this.rootDir, { recursive: true, force: true });
  }
}
