// The user's path through the CLIs, with real processes on loopback:
// `pinsetter up` brings up the masters of a config, pinctl reads and writes,
// Ctrl-C stops everything, a second `up` recovers the data; a master is added
// (as a learner that catches up from a snapshot, then a voter) and the leader
// is removed; a bad config is refused before anything is written.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EtcdClient } from "../../src/client/etcd-client.js";
import { killAndWait, PINCTL, PINSETTER, sleep, until as untilShared } from "../lib/cluster-processes.js";


const hosts = ["127.0.0.81", "127.0.0.82", "127.0.0.83", "127.0.0.84"];
const masters = hosts.map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7301, clientPort: 2479, apiPort: 6543 }));

let dir = "";
const children: ChildProcess[] = [];

function writeConfig(name: string, count: number, extra: Record<string, unknown> = {}): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      clusterName: "cli-test",
      dataDir: "data",
      token: "cli-test-token",
      raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 40 },
      masters: masters.slice(0, count),
      nodes: [],
      ...extra,
    }),
  );
  return path;
}

function pinctl(config: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PINCTL, "--config", config, ...args], { encoding: "utf8", timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function spawnTracked(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return child;
}

// The probes here only fail by a real fault, which should fail the test at once.
const until = <T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 20_000) => untilShared(what, probe, timeoutMs, { failFast: true });

interface StatusView {
  leader: string | null;
  members: { name: string; role: string; healthy: boolean; commitIndex: number; appliedIndex: number }[];
}

function status(config: string): StatusView | null {
  const r = pinctl(config, "cluster", "status", "-o", "json");
  try {
    return JSON.parse(r.stdout) as StatusView;
  } catch {
    return null;
  }
}

/** Many writes through the store API (spawning pinctl per write would be slow). */
async function bulkPut(prefix: string, count: number): Promise<void> {
  const client = new EtcdClient({ endpoints: masters.slice(0, 3).map((m) => `http://${m.host}:${m.clientPort}`), token: "cli-test-token" });
  try {
    for (let i = 0; i < count; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => client.put(`${prefix}${i + j}`, `v${i + j}`)));
    }
  } finally {
    client.close();
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGINT"): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill(signal);
  return exited;
}

afterEach(async () => {
  for (const c of children.splice(0)) await killAndWait(c);
  // `up` children are in their own processes: make sure none outlives the test.
  spawnSync("pkill", ["-9", "-f", `--config ${dir}`]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("pinsetter up and pinctl", () => {
  it("brings up the config's masters, serves pinctl, stops on Ctrl-C and recovers on the next up", async () => {
    dir = mkdtempSync(join(tmpdir(), "pinsetter-cli-"));
    const config = writeConfig("cluster.config.json", 3);
    const up = spawnTracked([PINSETTER, "--config", config, "up", "--no-live"]);
    let upOutput = "";
    up.stdout!.on("data", (d: Buffer) => (upOutput += d.toString()));

    const view = await until("a leader", () => {
      const s = status(config);
      return s?.leader && s.members.every((m) => m.healthy) ? s : null;
    });
    expect(view.members.map((m) => m.name)).toEqual(["m1", "m2", "m3"]);
    expect(view.members.filter((m) => m.role === "leader")).toHaveLength(1);

    expect(pinctl(config, "kv", "put", "/cli/greeting", "hello").code).toBe(0);
    await bulkPut(`/cli/n/`, 60);
    const got = pinctl(config, "kv", "get", "/cli/greeting");
    expect(got).toMatchObject({ code: 0, stdout: "hello\n" });
    const missing = pinctl(config, "kv", "get", "/cli/nothing-here");
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);

    // pinctl tries the config's masters in turn: with the first one killed it still answers.
    const m1 = (await (await fetch(`http://${masters[0]!.host}:2479/status`, { headers: { authorization: "Bearer cli-test-token" } })).json()) as { pid: number };
    process.kill(m1.pid, "SIGKILL");
    await until("a read with m1 down", () => pinctl(config, "kv", "get", "/cli/greeting").stdout === "hello\n");
    expect(pinctl(config, "kv", "put", "/cli/while-m1-down", "yes").code).toBe(0);

    await until("up to show the leader", () => /LEADER/.test(upOutput));
    expect(await stopChild(up)).toBe(0);
    expect(upOutput).toMatch(/all masters and nodes stopped/);
    expect(existsSync(join(dir, "data", "m1", "master.log"))).toBe(true);
    // Nothing answers once up has stopped.
    expect(status(config)?.members.every((m) => m.role === "unreachable")).toBe(true);

    const again = spawnTracked([PINSETTER, "--config", config, "up", "--no-live"]);
    await until("a leader after restart", () => status(config)?.leader);
    await until("the data after restart", () => pinctl(config, "kv", "get", "/cli/greeting").stdout === "hello\n");
    const all = pinctl(config, "kv", "get", "/cli/n/", "--prefix", "-o", "json");
    expect((JSON.parse(all.stdout) as { kvs: unknown[] }).kvs).toHaveLength(60);
    expect(await stopChild(again)).toBe(0);
  });

  it("adds a master that catches up from a snapshot, then removes the leader", async () => {
    dir = mkdtempSync(join(tmpdir(), "pinsetter-cli-"));
    const founders = writeConfig("founders.json", 3);
    const extended = writeConfig("extended.json", 4);
    for (const m of masters.slice(0, 3)) spawnTracked([PINSETTER, "--config", founders, "master", "--name", m.name, "--log-file", join(dir, `${m.name}.log`)]);
    await until("a leader", () => status(founders)?.leader);
    // Enough writes that the log is compacted behind a snapshot (snapshotEvery 40).
    await bulkPut(`/grow/`, 120);

    // The founders' config does not list m4: pinctl sends its addresses from the extended config.
    const added = pinctl(extended, "cluster", "add-master", "m4");
    expect(added.stderr).toBe("");
    expect(added.stdout).toMatch(/added m4 .* as a learner/);
    spawnTracked([PINSETTER, "--config", extended, "master", "--name", "m4", "--log-file", join(dir, "m4.log")]);

    await until("m4 to become a voter", () => {
      const r = pinctl(extended, "cluster", "status", "-o", "json");
      const v = JSON.parse(r.stdout || "null") as StatusView | null;
      const m4 = v?.members.find((m) => m.name === "m4");
      return m4 && m4.role === "follower" && m4.appliedIndex > 120;
    }, 30_000);
    // The leader promotes the learner once it has caught up.
    const votersOf = async (): Promise<string[]> => {
      const res = await fetch(`http://${masters[0]!.host}:2479/status`, { headers: { authorization: "Bearer cli-test-token" } });
      return ((await res.json()) as { voters: string[] }).voters;
    };
    const deadline = Date.now() + 20_000;
    while ((await votersOf()).length < 4 && Date.now() < deadline) await sleep(200);
    expect(await votersOf()).toEqual(["m1", "m2", "m3", "m4"]);
    // m4 serves the data it got through the snapshot.
    const onM4 = spawnSync(process.execPath, [PINCTL, "--server", `http://${masters[3]!.host}:2479`, "--token", "cli-test-token", "kv", "get", "/grow/0", "--serializable"], { encoding: "utf8" });
    expect(onM4.stdout).toBe("v0\n");
    expect(await until("m4 to have installed a snapshot", () => /installing snapshot from leader/.test(spawnSync("cat", [join(dir, "m4.log")], { encoding: "utf8" }).stdout))).toBe(true);

    const leader = status(extended)!.leader!;
    const removed = pinctl(extended, "cluster", "remove-master", leader);
    expect(removed).toMatchObject({ code: 0 });
    const after = await until("a new leader", () => {
      const s = status(extended);
      return s?.leader && s.leader !== leader ? s : null;
    }, 30_000);
    expect(after.leader).not.toBe(leader);
    await until("writes after removing the leader", () => pinctl(extended, "kv", "put", "/after", "yes").code === 0);
  });

  it("refuses a bad config with one line naming the field, before writing anything", () => {
    dir = mkdtempSync(join(tmpdir(), "pinsetter-cli-"));
    const bad = writeConfig("bad.json", 3, { raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 0 } });
    const r = spawnSync(process.execPath, [PINSETTER, "--config", bad, "master", "--name", "m1"], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/raft\.snapshotEvery/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(dir, "data"))).toBe(false);

    const unknown = spawnSync(process.execPath, [PINSETTER, "--config", writeConfig("ok.json", 3), "master", "--name", "m9"], { encoding: "utf8", timeout: 10_000 });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/m9/);
    expect(existsSync(join(dir, "data"))).toBe(false);
  });
});
