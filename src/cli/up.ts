// `pinsetter up`: starts every master and node of the config as a child
// process (each on its own loopback address, logs to <dataDir>/<name>/*.log),
// shows a live status table (role, term, commit per master, the leader
// marked; health per node), and on Ctrl-C stops them all. A second `up` on the
// same data dir restarts the same members from their data.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { masterDataDir, type ClusterConfig, type MasterConfig, type NodeConfig } from "../config/index.js";
import { fetchMasterStatus, type MasterStatus } from "../client/master-status.js";
import { KubeClient } from "../client/kube-client.js";
import type { MasterRow } from "./live/model.js";
import { LiveView, type LiveHost } from "./live/view.js";

const PINSETTER_SCRIPT = fileURLToPath(new URL("./pinsetter.js", import.meta.url));
const STOP_GRACE_MS = 10_000;

interface NodeChild {
  node: NodeConfig;
  process: ChildProcess | null;
  exitCode: number | string | null;
  logFile: string;
  healthy: boolean;
  error: string | null;
}

interface Child {
  master: MasterConfig;
  process: ChildProcess | null;
  exitCode: number | string | null;
  logFile: string;
  status: MasterStatus | null;
  error: string | null;
  paused?: boolean;
}

export async function runUp(config: ClusterConfig, opts: { live: boolean }): Promise<void> {
  const children: Child[] = config.masters.map((m) => ({
    master: m,
    process: null,
    exitCode: null,
    logFile: join(masterDataDir(config, m.name), "master.log"),
    status: null,
    error: null,
  }));

  const nodes: NodeChild[] = config.nodes.map((n) => ({
    node: n,
    process: null,
    exitCode: null,
    logFile: join(masterDataDir(config, n.name), "node.log"),
    healthy: false,
    error: null,
  }));

  for (const child of children) startChild(config, child);
  for (const node of nodes) startNode(config, node);
  process.stdout.write(`started ${children.length} masters and ${nodes.length} nodes; logs under ${config.dataDir}; Ctrl-C stops them all\n`);

  let stopping = false;
  let view: LiveView | null = null;
  let poller: NodeJS.Timeout | null = null;
  if (opts.live) {
    // The live "pinsetter and pins" view; its keys act on these child processes.
    const client = new KubeClient({ servers: config.masters.map((m) => `http://${m.host}:${m.apiPort}`), token: config.token, timeoutMs: 5000 });
    view = new LiveView({ client, host: upHost(config, children, nodes) });
    view.start();
  } else {
    const render = lineRenderer();
    poller = setInterval(() => {
      void Promise.all([pollAll(config, children), pollNodes(config, nodes)]).then(() => {
        if (!stopping) render(config, children, nodes);
      });
    }, 500);
  }

  await new Promise<void>((resolve) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      if (poller) clearInterval(poller);
      view?.stop();
      process.stdout.write("\nstopping all nodes and masters...\n");
      // A paused master cannot stop; let it run again first.
      for (const c of children) if (c.paused) c.process?.kill("SIGCONT");
      void stopAll(nodes).then(() => stopAll(children)).then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    void view?.finished.then(stop);
  });
  process.stdout.write("all masters and nodes stopped\n");
}

/** What the live view may do to this cluster's processes. */
function upHost(config: ClusterConfig, children: Child[], nodes: NodeChild[]): LiveHost {
  return {
    clusterName: config.clusterName,
    masters: async (): Promise<MasterRow[]> => {
      await pollAll(config, children);
      return children.map((c) => ({
        name: c.master.name,
        role: c.status?.role ?? (c.process ? "starting" : "down"),
        term: c.status?.term ?? null,
        commit: c.status?.commitIndex ?? null,
        healthy: c.status?.healthy ?? false,
        paused: c.paused === true,
        down: c.process === null,
      }));
    },
    nodeProcess: (name) => {
      const n = nodes.find((x) => x.node.name === name);
      if (!n) return undefined;
      return n.process ? "running" : "stopped";
    },
    knockDown: async (name) => {
      const n = nodes.find((x) => x.node.name === name);
      if (!n?.process) return `${name} is already down`;
      n.process.kill("SIGKILL");
      return `knocked down ${name} (kill -9); watch its pins fall and be set up on the other lanes`;
    },
    setUp: async (name) => {
      const n = nodes.find((x) => x.node.name === name);
      if (!n) return `${name} is not a node of this cluster`;
      if (n.process) return `${name} is already running`;
      startNode(config, n);
      return `set ${name} up again`;
    },
    togglePause: async (name) => {
      const c = children.find((x) => x.master.name === name);
      if (!c?.process) return `${name} is not running`;
      c.paused = !c.paused;
      c.process.kill(c.paused ? "SIGSTOP" : "SIGCONT");
      return c.paused ? `paused ${name} (SIGSTOP)` : `resumed ${name} (SIGCONT)`;
    },
  };
}

function startNode(config: ClusterConfig, child: NodeChild): void {
  spawnMember(config, "node", child.node.name, child);
}

/** A node is healthy when its kubelet answers /healthz. */
async function pollNodes(config: ClusterConfig, nodes: NodeChild[]): Promise<void> {
  await Promise.all(
    nodes.map(async (child) => {
      child.healthy = child.process !== null && (await kubeletHealthy(config, child.node));
    }),
  );
}

function kubeletHealthy(config: ClusterConfig, node: NodeConfig): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: node.host, port: node.kubeletPort, path: "/healthz", headers: { Authorization: `Bearer ${config.token}` }, timeout: 400 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

function startChild(config: ClusterConfig, child: Child): void {
  spawnMember(config, "master", child.master.name, child);
}

/** Runs `pinsetter master|node --name NAME` as a child; remembers its last stderr line for when it exits. */
function spawnMember(
  config: ClusterConfig,
  kind: "master" | "node",
  name: string,
  child: { process: ChildProcess | null; exitCode: number | string | null; logFile: string; error: string | null },
): void {
  mkdirSync(masterDataDir(config, name), { recursive: true });
  const proc = spawn(process.execPath, [PINSETTER_SCRIPT, "--config", config.configPath, kind, "--name", name, "--log-file", child.logFile], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  child.process = proc;
  child.exitCode = null;
  proc.on("exit", (code, signal) => {
    child.process = null;
    child.exitCode = code ?? signal ?? "?";
    child.error = stderr.trim().split("\n").pop() ?? null;
  });
}

async function pollAll(config: ClusterConfig, children: Child[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (!child.process) {
        child.status = null;
        return;
      }
      const r = await fetchMasterStatus({ host: child.master.host, port: child.master.clientPort, token: config.token, timeoutMs: 400 });
      child.status = r === "unauthorized" ? null : r;
      if (r === "unauthorized") child.error = "status 401";
    }),
  );
}

function describe(child: Child): string[] {
  const s = child.status;
  const name = child.master.name;
  const addr = `${child.master.host}:${child.master.clientPort}`;
  if (!child.process) return [name, addr, `exited (${String(child.exitCode)})`, "-", "-", "-", child.error ?? ""];
  if (!s) return [name, addr, "starting", "-", "-", "-", ""];
  const role = s.role === "leader" ? "LEADER *" : s.role;
  return [name, addr, role, String(s.term), String(s.commitIndex), String(s.appliedIndex), s.leader ? `leader: ${s.leader}` : "no leader"];
}

function describeNode(child: NodeChild): string[] {
  const addr = `${child.node.host}:${child.node.kubeletPort}`;
  if (!child.process) return [child.node.name, addr, `exited (${String(child.exitCode)})`, "-", "-", "-", child.error ?? ""];
  return [child.node.name, addr, child.healthy ? "node ready" : "node starting", "-", "-", "-", child.node.runtime];
}


/** Prints one line whenever leadership or a member's state changes (logs, pipes). */
function lineRenderer(): (config: ClusterConfig, children: Child[], nodes: NodeChild[]) => void {
  let last = "";
  return (_config, children, nodes) => {
    // An exited process shows its last line of stderr: why it stopped.
    const brief = (cols: string[], n: number, exited: boolean) => (exited ? [...cols.slice(0, 3), cols[6] ?? ""] : cols.slice(0, n)).join(" ").trim();
    const summary = [
      ...children.map((c) => brief(describe(c), 4, c.process === null)),
      ...nodes.map((n) => brief(describeNode(n), 3, n.process === null)),
    ].join(" | ");
    if (summary === last) return;
    last = summary;
    process.stdout.write(`${new Date().toISOString()} ${summary}\n`);
  };
}

async function stopAll(children: { process: ChildProcess | null }[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          const proc = child.process;
          if (!proc) return resolve();
          const killer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
          proc.once("exit", () => {
            clearTimeout(killer);
            resolve();
          });
          proc.kill("SIGTERM");
        }),
    ),
  );
}
