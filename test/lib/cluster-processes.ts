// Scaffolding shared by the integration tests that run a real cluster: a
// config in a fresh temp dir, `pinsetter master` / `pinsetter node` child
// processes tracked by name so that stop() kills every one of them (SIGKILL,
// awaiting the exit) and removes the dir, and the polling helpers the tests
// wait with. Each test keeps its own addresses, ports, config and
// assertions; only the plumbing lives here.

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Node } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
/** PINSETTER_DIST points at another build of the same sources (default dist/), so a
 *  test can run against a private build while the shared dist/ is being rebuilt. */
export const DIST = process.env.PINSETTER_DIST ?? join(REPO_ROOT, "dist");
export const PINSETTER = join(DIST, "src", "cli", "pinsetter.js");
export const PINCTL = join(DIST, "src", "cli", "pinctl.js");

/** One `masters` entry of a cluster config. */
export interface MasterEntry {
  name: string;
  host: string;
  raftPort: number;
  clientPort: number;
  apiPort: number;
}

/** Masters m1..mN on the given loopback hosts, all with the same ports (each has its own address). */
export function mastersOn(hosts: readonly string[], ports: { raftPort: number; clientPort: number; apiPort: number }): MasterEntry[] {
  return hosts.map((host, i) => ({ name: `m${i + 1}`, host, ...ports }));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls probe until it returns something truthy; on timeout the error names what was
 *  awaited and the last error (or falsy value) the probe gave. */
export async function until<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
    await sleep(everyMs);
  }
}

export function apiServers(masters: readonly MasterEntry[]): string[] {
  return masters.map((m) => `http://${m.host}:${m.apiPort}`);
}

/** True once every master's own API server answers a GET of the default namespace. */
export async function everyMasterAnswers(masters: readonly MasterEntry[], token: string): Promise<boolean> {
  for (const m of masters) {
    const r = await fetch(`http://${m.host}:${m.apiPort}/api/v1/namespaces/default`, { headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) return false;
  }
  return true;
}

export function isNodeReady(n: Node): boolean {
  return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export async function readyNodeNames(client: KubeClient): Promise<string[]> {
  return (await client.list<Node>("nodes")).items.filter(isNodeReady).map((n) => n.metadata.name!);
}

/** Sends signal and resolves when the process has exited (at once if it already had). */
export async function killAndWait(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await exited;
}

/** A temp dir with a cluster config and the pinsetter processes started from it. */
export class ClusterProcesses {
  readonly dir: string;
  readonly config: string;
  private readonly children = new Map<string, ChildProcess>();
  private anon = 0;

  /** Makes a temp dir named after prefix and writes config to cluster.config.json in it. */
  constructor(prefix: string, config: object) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.config = join(this.dir, "cluster.config.json");
    writeFileSync(this.config, JSON.stringify(config));
  }

  /** `node pinsetter.js --config <config> ...args`, tracked under key (a fresh one if omitted). */
  spawn(args: readonly string[], opts: { key?: string; stdio?: StdioOptions } = {}): ChildProcess {
    const key = opts.key ?? `child-${++this.anon}`;
    if (this.children.has(key)) throw new Error(`a process ${key} is already tracked`);
    const child = spawn(process.execPath, [PINSETTER, "--config", this.config, ...args], { stdio: opts.stdio ?? "ignore" });
    this.children.set(key, child);
    return child;
  }

  /** `pinsetter master --name <name>` logging to <dir>/<name>.log, tracked under its name. */
  startMaster(name: string, stdio?: StdioOptions): ChildProcess {
    return this.spawn(["master", "--name", name, "--log-file", join(this.dir, `${name}.log`)], { key: name, stdio });
  }

  has(key: string): boolean {
    return this.children.has(key);
  }

  get(key: string): ChildProcess | undefined {
    return this.children.get(key);
  }

  /** Kills a tracked process, waits for its exit, and forgets it. */
  async kill(key: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.children.get(key);
    if (!child) throw new Error(`no process ${key} is tracked`);
    await killAndWait(child, signal);
    this.children.delete(key);
  }

  /** SIGKILLs every tracked process (awaiting each exit) and removes the dir unless KEEP_TEST_DIR is set. */
  async stop(): Promise<void> {
    for (const c of this.children.values()) await killAndWait(c);
    this.children.clear();
    if (!process.env.KEEP_TEST_DIR) rmSync(this.dir, { recursive: true, force: true });
  }
}
