// Starts and drives a cluster of bench/raft/member.js processes over IPC.
// Shared by bench/raft/run.ts and the raft integration tests.

import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MemberRequest } from "./member.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled member script (tests run from TS sources, children run compiled JS). */
export const MEMBER_SCRIPT = /[\\/]dist[\\/]/.test(here)
  ? join(here, "member.js")
  : join(here, "..", "..", "dist", "bench", "raft", "member.js");

export interface MemberSpec {
  id: string;
  host: string;
  port: number;
  /** Not a founding member: starts with no bootstrap and waits to be added. */
  join?: boolean;
}

export interface ClusterOptions {
  members: MemberSpec[];
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  snapshotEvery?: number;
  /** Extra node flags for the member processes (e.g. --cpu-prof when profiling). */
  execArgv?: string[];
  /** Keep every large payload in the state machine (live data for snapshots). */
  keepPayloads?: boolean;
  /** Entries kept behind a snapshot (default: the driver's 5000). */
  catchUpEntries?: number;
}

interface Member {
  spec: MemberSpec;
  dir: string;
  child: ChildProcess | null;
  nextRid: number;
  waiting: Map<number, (m: Record<string, unknown>) => void>;
}

export class RaftProcessCluster {
  private readonly members = new Map<string, Member>();
  private readonly root = mkdtempSync(join(tmpdir(), "pinsetter-raft-"));

  constructor(private readonly opts: ClusterOptions) {
    for (const spec of opts.members) {
      this.members.set(spec.id, { spec, dir: join(this.root, spec.id), child: null, nextRid: 1, waiting: new Map() });
    }
  }

  ids(): string[] {
    return [...this.members.keys()];
  }

  async startAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.start(id)));
  }

  async start(id: string): Promise<void> {
    const m = this.members.get(id)!;
    const peers = this.opts.members.map((s) => `${s.id}=${s.host}:${s.port}`).join(",");
    const args = ["--id", id, "--dir", m.dir, "--peers", peers, "--tickMs", String(this.opts.tickMs ?? 10),
      "--heartbeatTicks", String(this.opts.heartbeatTicks ?? 10), "--electionTicks", String(this.opts.electionTicks ?? 100),
      "--snapshotEvery", String(this.opts.snapshotEvery ?? 10_000),
      "--founders", this.opts.members.filter((s) => !s.join).map((s) => s.id).join(",")];
    if (m.spec.join) args.push("--join", "1");
    if (this.opts.keepPayloads) args.push("--keepPayloads", "1");
    if (this.opts.catchUpEntries !== undefined) args.push("--catchUpEntries", String(this.opts.catchUpEntries));
    const child = fork(MEMBER_SCRIPT, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: this.opts.execArgv ?? [] });
    m.child = child;
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: Record<string, unknown>) => {
        if (msg.ready) {
          resolve();
          return;
        }
        const rid = msg.rid as number;
        const waiter = m.waiting.get(rid);
        if (waiter) {
          m.waiting.delete(rid);
          waiter(msg);
        }
      };
      child.on("message", onMessage);
      child.once("exit", (code) => {
        reject(new Error(`member ${id} exited with ${code} before it was ready`));
        for (const [, w] of m.waiting) w({ error: "member exited", kind: "Exited" });
        m.waiting.clear();
        if (m.child === child) m.child = null;
      });
    });
  }

  request(id: string, req: MemberRequest): Promise<Record<string, unknown>> {
    const m = this.members.get(id)!;
    if (!m.child) return Promise.resolve({ error: "member not running", kind: "Exited" });
    const rid = m.nextRid++;
    return new Promise((resolve) => {
      m.waiting.set(rid, resolve);
      m.child!.send({ ...req, rid });
    });
  }

  running(id: string): boolean {
    return this.members.get(id)!.child !== null;
  }

  pid(id: string): number | undefined {
    return this.members.get(id)!.child?.pid;
  }

  /** SIGSTOP / SIGCONT: the process freezes with its sockets open, then resumes where it was. */
  signal(id: string, sig: "SIGSTOP" | "SIGCONT"): void {
    this.members.get(id)!.child?.kill(sig);
  }

  /** kill -9: no chance to flush anything. */
  async kill(id: string): Promise<void> {
    const m = this.members.get(id)!;
    const child = m.child;
    if (!child) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }

  /** The leader as agreed by a majority of running members, or null. */
  async leader(): Promise<string | null> {
    const votes = new Map<string, number>();
    for (const id of this.ids()) {
      if (!this.running(id)) continue;
      const r = await this.request(id, { op: "status" });
      const st = r.status as { leader: string | null; role: string } | undefined;
      if (st?.role === "leader") votes.set(id, (votes.get(id) ?? 0) + 1);
    }
    const leaders = [...votes.keys()];
    return leaders.length === 1 ? leaders[0]! : null;
  }

  async waitForLeader(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const l = await this.leader();
      if (l) return l;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.kill(id)));
    rmSync(this.root, { recursive: true, force: true });
  }
}
