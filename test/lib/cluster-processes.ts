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
import type { KubeObject, Node } from "../../src/api/types.js";
import { KubeApiError, type KubeClient } from "../../src/client/kube-client.js";

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

export interface UntilOptions {
  /** pause between probes (default 200 ms) */
  everyMs?: number;
  /** a probe that throws fails the wait at once instead of being retried */
  failFast?: boolean;
}

/** Polls probe until it returns something truthy; on timeout the error names what was
 *  awaited and the last error the probe threw. */
export async function until<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  opts: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      if (opts.failFast) throw err;
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
    await sleep(opts.everyMs ?? 200);
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

/** The object, or null when the API answers 404. */
export async function getOrNull<T extends KubeObject>(client: KubeClient, resource: string, ns: string | undefined, name: string): Promise<T | null> {
  try {
    return await client.get<T>(resource, ns, name);
  } catch (err) {
    if (err instanceof KubeApiError && err.notFound) return null;
    throw err;
  }
}

export function isNodeReady(n: Node): boolean {
  return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export async function readyNodeNames(client: KubeClient): Promise<string[]> {
  return (await client.list<Node>("nodes")).items.filter(isNodeReady).map((n) => n.metadata.name!);
}

/** Sends signal and resolves when the process has exited (at once if it already had);
 *  a process that ignores a gentler signal gets SIGKILL after killAfterMs. */
export async function stopProcess(child: ChildProcess | null | undefined, signal: NodeJS.Signals = "SIGTERM", killAfterMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  const timer = signal === "SIGKILL" ? null : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  await exited;
  if (timer) clearTimeout(timer);
}

/** kill -9 and wait for the exit. */
export function killAndWait(child: ChildProcess): Promise<void> {
  return stopProcess(child, "SIGKILL");
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
    if (opts.key !== undefined && this.children.has(opts.key)) throw new Error(`a process ${opts.key} is already tracked`);
    return this.track(spawn(process.execPath, [PINSETTER, "--config", this.config, ...args], { stdio: opts.stdio ?? "ignore" }), opts.key);
  }

  /** Tracks a process started elsewhere (a pinctl -w, say) so that stop() kills it too. */
  track(child: ChildProcess, key = `child-${++this.anon}`): ChildProcess {
    if (this.children.has(key)) throw new Error(`a process ${key} is already tracked`);
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

  /** Stops a tracked process (SIGKILL unless told otherwise), waits for its exit, and forgets it. */
  async kill(key: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.children.get(key);
    if (!child) throw new Error(`no process ${key} is tracked`);
    await stopProcess(child, signal);
    this.children.delete(key);
  }

  /** Stops every tracked process, newest first so that nodes go before the masters they
   *  report to (SIGKILL unless told otherwise, awaiting each exit), and removes the dir
   *  unless keepDir (default: KEEP_TEST_DIR is set). */
  async stop(opts: { signal?: NodeJS.Signals; keepDir?: boolean } = {}): Promise<void> {
    for (const c of [...this.children.values()].reverse()) await stopProcess(c, opts.signal ?? "SIGKILL");
    this.children.clear();
    if (!(opts.keepDir ?? !!process.env.KEEP_TEST_DIR)) rmSync(this.dir, { recursive: true, force: true });
  }
}
