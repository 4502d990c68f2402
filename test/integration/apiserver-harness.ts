// Real master processes (the dist/ build) serving the API on loopback, for
// the API server's integration tests: start, stop, kill, restart one master,
// and a KubeClient on all of them.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../src/client/kube-client.js";

const ROOT = join(import.meta.dirname, "..", "..");
export const PINSETTER = join(ROOT, "dist", "src", "cli", "pinsetter.js");

export interface MasterSpec {
  name: string;
  host: string;
  raftPort: number;
  clientPort: number;
  apiPort: number;
}

export interface TestCluster {
  dir: string;
  config: string;
  token: string;
  masters: MasterSpec[];
  apiUrl(m: MasterSpec, tls?: boolean): string;
  client(which?: MasterSpec[]): KubeClient;
  kill(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function until<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** A raw request: status, headers and body text. */
export function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error("timeout")));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export async function startCluster(opts: { clusterName: string; masters: MasterSpec[]; token?: string; env?: Record<string, string> }): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), `${opts.clusterName}-`));
  const token = opts.token ?? `${opts.clusterName}-token`;
  const config = join(dir, "cluster.config.json");
  writeFileSync(
    config,
    JSON.stringify({
      clusterName: opts.clusterName,
      dataDir: "data",
      token,
      raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 5000 },
      masters: opts.masters,
      nodes: [],
    }),
  );
  const children = new Map<string, ChildProcess>();
  const launch = (m: MasterSpec) => {
    const child = spawn(process.execPath, [PINSETTER, "--config", config, "master", "--name", m.name, "--log-file", join(dir, `${m.name}.log`)], {
      stdio: "ignore",
      env: { ...process.env, ...(opts.env ?? {}) },
    });
    children.set(m.name, child);
  };
  const apiUrl = (m: MasterSpec, tls = false) => `${tls ? "https" : "http"}://${m.host}:${m.apiPort}`;
  const ready = (m: MasterSpec) =>
    until(`${m.name}'s API`, async () => {
      const r = await raw(`${apiUrl(m)}/api/v1/namespaces/default`, { headers: { authorization: `Bearer ${token}` } });
      return r.status === 200;
    }, 90_000);
  const kill = async (name: string) => {
    const c = children.get(name);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };
  for (const m of opts.masters) launch(m);
  try {
    await Promise.all(opts.masters.map(ready));
  } catch (err) {
    await Promise.all([...children.keys()].map(kill));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    config,
    token,
    masters: opts.masters,
    apiUrl,
    client: (which = opts.masters) => new KubeClient({ servers: which.map((m) => apiUrl(m)), token, timeoutMs: 15_000 }),
    kill,
    async restart(name) {
      await kill(name);
      const m = opts.masters.find((x) => x.name === name)!;
      launch(m);
      try {
        await ready(m);
      } catch (err) {
        const log = existsSync(join(dir, `${name}.log`)) ? readFileSync(join(dir, `${name}.log`), "utf8").trim().split("\n").slice(-15).join("\n") : "(no log)";
        throw new Error(`${(err as Error).message}; last lines of ${name}.log:\n${log}`);
      }
    },
    async stop() {
      await Promise.all([...children.keys()].map(kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
