// The two systems under test behind one small interface, so that every phase
// of the bench drives etcd and Pinsetter with the same code: 3 members on
// loopback, data dirs in a temp dir on the same disk, heartbeat 100 ms and
// election timeout 1000 ms.

import { EtcdClient } from "../../src/client/etcd-client.js";
import { startEtcdCluster, type EtcdCluster } from "../../test/lib/etcd-process.js";
import type { Endpoint } from "./load.js";
import { PinsetterCluster, type PinsetterBuild } from "./pinsetter-cluster.js";

export type SystemName = "pinsetter" | "etcd";

/** Addresses: the bench owns 127.0.0.150-179. */
export const CLIENT_ADDRESS = "127.0.0.150";
const PINSETTER_HOSTS = ["127.0.0.151", "127.0.0.152", "127.0.0.153"];
const ETCD_HOSTS = ["127.0.0.161", "127.0.0.162", "127.0.0.163"];

export interface Timing {
  heartbeatMs: number;
  electionTimeoutMs: number;
}

export interface StoreSystem {
  readonly name: SystemName;
  readonly version: string;
  /** Client endpoints in member order. */
  readonly endpoints: Endpoint[];
  readonly memberNames: string[];
  /** Headers every request carries (Pinsetter's bearer token; none for etcd). */
  readonly headers: Record<string, string>;
  pid(member: string): number | undefined;
  /** Pids of the running members. */
  pids(): number[];
  /** The leader every running member agrees on, or null. */
  leader(): Promise<string | null>;
  /** kill -9; resolves once the process is gone. */
  kill(member: string): Promise<void>;
  /** Starts a stopped member from its data dir. */
  start(member: string): void;
  /** Every running member names one leader, and their applied indexes are close. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Members that exited without being killed or stopped by the bench, with their last log lines. */
  unexpectedExits(): string[];
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface PinsetterExtras {
  execArgv?: string[];
  logLevel?: string;
  keepLogsDir?: string;
}

export async function startPinsetter(t: Timing, build: PinsetterBuild, extra: PinsetterExtras = {}): Promise<StoreSystem & { cluster: PinsetterCluster }> {
  const cluster = new PinsetterCluster({
    cli: build.cli,
    hosts: PINSETTER_HOSTS,
    raftPort: 17501,
    clientPort: 17502,
    apiPort: 17503,
    heartbeatMs: t.heartbeatMs,
    electionTimeoutMs: t.electionTimeoutMs,
    clientAuth: "token",
    clientAddress: CLIENT_ADDRESS,
    logLevel: extra.logLevel ?? "warn",
    ...(extra.execArgv ? { execArgv: extra.execArgv } : {}),
    ...(extra.keepLogsDir ? { keepLogsDir: extra.keepLogsDir } : {}),
  });
  try {
    await cluster.startAll();
  } catch (err) {
    await cluster.stopAll();
    throw err;
  }
  return {
    name: "pinsetter",
    cluster,
    version: build.version,
    endpoints: cluster.members.map((m) => ({ host: m.host, port: cluster.opts.clientPort })),
    memberNames: cluster.members.map((m) => m.name),
    headers: cluster.authHeaders,
    pid: (member) => cluster.member(member).pid,
    pids: () => cluster.running().map((m) => m.pid!).filter((p) => p !== undefined),
    leader: () => cluster.leader(),
    kill: (member) => cluster.kill(member),
    start: (member) => cluster.start(member),
    waitHealthy: async (timeoutMs) => {
      await cluster.waitHealthy({ timeoutMs: timeoutMs ?? 30_000 });
    },
    unexpectedExits: () => cluster.unexpectedExits.map((e) => `${e.name} exited at ${e.at} (code ${e.code}, signal ${e.signal}): ${e.tail}`),
    stop: () => cluster.stopAll(),
  };
}

/**
 * `snapshotCount`: etcd's --snapshot-count, the raft entries between snapshots
 * (etcd keeps them, plus 5,000 for catching up followers, in memory).
 */
export async function startEtcd(t: Timing, snapshotCount: number): Promise<StoreSystem & { cluster: EtcdCluster }> {
  const started = await startEtcdCluster({
    members: ETCD_HOSTS.map((host, i) => ({ name: `e${i + 1}`, host, clientPort: 17602, peerPort: 17601 })),
    heartbeatMs: t.heartbeatMs,
    electionMs: t.electionTimeoutMs,
    extraArgs: ["--snapshot-count", String(snapshotCount)],
  });
  if (!started.cluster) throw new Error(`etcd is not available: ${started.reason}`);
  const cluster = started.cluster;
  const control = new EtcdClient({ endpoints: cluster.endpoints, localAddress: CLIENT_ADDRESS, timeoutMs: 1_000, connectTimeoutMs: 500 });
  const running = () => cluster.members.filter((m) => cluster.isRunning(m));
  const killed = new Set<string>();
  return {
    name: "etcd",
    cluster,
    version: cluster.version,
    endpoints: cluster.members.map((m) => {
      const u = new URL(m.clientUrl);
      return { host: u.hostname, port: Number(u.port) };
    }),
    memberNames: cluster.members.map((m) => m.name),
    headers: {},
    pid: (member) => cluster.member(member).pid,
    pids: () => running().map((m) => m.pid!).filter((p) => p !== undefined),
    leader: async () => (await cluster.leader())?.name ?? null,
    kill: async (member) => {
      killed.add(member);
      await cluster.kill(member);
    },
    start: (member) => {
      killed.delete(member);
      cluster.start(member);
    },
    waitHealthy: async (timeoutMs) => {
      const deadline = Date.now() + (timeoutMs ?? 30_000);
      await cluster.waitHealthy({ timeoutMs: timeoutMs ?? 30_000 });
      // etcd-process checks the leader; also wait for the restarted member to catch up.
      let problem = "";
      while (Date.now() < deadline) {
        try {
          const st = await Promise.all(running().map((m) => control.withEndpoints([m.clientUrl]).status()));
          const applied = st.map((s) => s.raftAppliedIndex);
          const leaders = new Set(st.map((s) => s.leader));
          if (leaders.size === 1 && !leaders.has("0") && Math.max(...applied) - Math.min(...applied) <= 100) return;
          problem = `leaders ${[...leaders].join(",")}, applied ${applied.join(", ")}`;
        } catch (err) {
          problem = (err as Error).message;
        }
        await sleep(100);
      }
      throw new Error(`etcd not caught up within ${timeoutMs ?? 30_000} ms: ${problem}`);
    },
    unexpectedExits: () => {
      // etcd-process forgets a member once it exits; one the bench did not kill shows up as not running.
      return cluster.members.filter((m) => !cluster.isRunning(m) && !killed.has(m.name)).map((m) => `${m.name} is not running: ${cluster.logTail(m, 15)}`);
    },
    stop: async () => {
      control.close();
      await cluster.stopAll();
    },
  };
}
