// bench/scheduler: pods bound per second end to end (create -> bound, through
// the real API and Raft of 3 masters on this machine) with hollow nodes, as
// kube-scheduler's scheduler_perf measures it: the number of bound pods is
// sampled every second, and the per-second throughput is reported as average
// and percentiles. Also: create->bound latency, the leader's RSS, the lease
// renewal write load; with --node-loss, the time from kill -9 of a hollow
// node process until its pods are evicted and their replacements run on
// other nodes (with the default nodeLifecycle settings).
//
//   npm run build && node dist/bench/scheduler/run.js [--nodes 1000] [--pods 10000] [--owners 100] [--node-loss] [--in-process-loops]
//
// The leader master runs the scheduler, the controllers and the node
// lifecycle controller; --in-process-loops runs them in this process instead
// (on the masters' API, for profiling; the masters' own would then race them).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";

import type { Deployment, Node, Pod } from "../../src/api/types.js";
import { Informer } from "../../src/client/informer.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { fetchMasterStatus } from "../../src/client/master-status.js";
import { CONFIG_DEFAULTS } from "../../src/config/types.js";
import { startControllers } from "../../src/controllers/index.js";
import { startNodeLifecycleController } from "../../src/controllers/node-lifecycle/index.js";
import { startScheduler } from "../../src/scheduler/index.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const PINSETTER = join(ROOT, "dist", "src", "cli", "pinsetter.js");
const TOKEN = "bench-scheduler";
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const NODES = arg("nodes", 1000);
const PODS = arg("pods", 10_000);
const OWNERS = arg("owners", 100);
const CONCURRENCY = arg("concurrency", 64);
const masters = ["127.0.0.211", "127.0.0.212", "127.0.0.213"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 8001, clientPort: 3079, apiPort: 7143 }));

const children: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function pct(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summary(values: number[]): { avg: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const avg = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { avg: Math.round(avg), p50: pct(s, 0.5), p90: pct(s, 0.9), p99: pct(s, 0.99), max: s[s.length - 1] ?? NaN };
}

function hollow(config: string, dir: string, count: number, prefix: string, portBase: number): ChildProcess {
  const child = spawn(
    process.execPath,
    [PINSETTER, "--config", config, "node", "--hollow", String(count), "--prefix", prefix, "--port-base", String(portBase), "--log-file", join(dir, `${prefix}.log`), "--log-level", "warn"],
    { stdio: "ignore" },
  );
  children.push(child);
  return child;
}

function pod(i: number): Pod {
  const owner = `rs-${i % OWNERS}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `bench-${i}`,
      namespace: "default",
      labels: { app: owner, bench: "scheduler" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: owner, uid: `bench-owner-${owner}`, controller: true }],
    },
    spec: { containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] },
  };
}

/**
 * A Deployment whose pods prefer victim-0 (preferred node affinity, so the
 * replacements may go anywhere) is placed there; kill -9 of the victim's
 * process; the time until as many replicas run again, none on victim-0.
 */
async function nodeLossScenario(client: KubeClient, pods: Informer<Pod>, victim: ChildProcess, loops: { stop(): Promise<void> }[], logger: Logger): Promise<Record<string, unknown>> {
  const replicas = 10;
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "loss", namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "loss" } },
      template: {
        metadata: { labels: { app: "loss" } },
        spec: {
          affinity: {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, preference: { matchFields: [{ key: "metadata.name", operator: "In", values: ["victim-0"] }] } },
              ],
            },
          },
          containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
        },
      },
    },
  };
  await client.create("deployments", deployment);
  const mastersRunControllers = await until("a ReplicaSet", async () => (await client.list("replicasets", { namespace: "default" })).items.length > 0, 3000).then(
    () => true,
    () => false,
  );
  if (!mastersRunControllers) loops.push(startControllers({ client, logger }));
  // (With the loops on the masters, a ReplicaSet appears at once and nothing starts here.)
  const running = () => pods.list().filter((p) => p.metadata.labels?.app === "loss" && !p.metadata.deletionTimestamp && p.status?.phase === "Running");
  await until(`${replicas} loss pods running`, async () => running().length === replicas, 120_000);
  const onVictim = running().filter((p) => p.spec.nodeName === "victim-0").length;
  const killAt = Date.now();
  victim.kill("SIGKILL");
  let evictedMs = NaN;
  await until(
    "replacements running elsewhere",
    async () => {
      const r = running();
      if (Number.isNaN(evictedMs) && r.every((p) => p.spec.nodeName !== "victim-0")) evictedMs = Date.now() - killAt;
      return r.length === replicas && r.every((p) => p.spec.nodeName !== "victim-0");
    },
    120_000,
  );
  return { replicas, podsOnLostNode: onVictim, killToEvictedMs: evictedMs, killToAllRunningElsewhereMs: Date.now() - killAt, settings: CONFIG_DEFAULTS.nodeLifecycle };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-scheduler-"));
  const config = join(dir, "cluster.config.json");
  writeFileSync(config, JSON.stringify({ clusterName: "bench-scheduler", dataDir: "data", token: TOKEN, masters, nodes: [] }));
  const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? "warn" });
  const client = new KubeClient({ servers: masters.map((m) => `http://${m.host}:${m.apiPort}`), token: TOKEN, timeoutMs: 30_000 });
  const loops: { stop(): Promise<void> }[] = [];
  let loopClient: KubeClient | null = null;
  const result: Record<string, unknown> = { nodes: NODES, pods: PODS, owners: OWNERS, date: new Date().toISOString() };
  try {
    for (const m of masters) {
      children.push(spawn(process.execPath, [PINSETTER, "--config", config, "master", "--name", m.name, "--log-file", join(dir, `${m.name}.log`), "--log-level", "warn"], { stdio: "ignore" }));
    }
    await until("the API", async () => client.get("namespaces", undefined, "default"), 60_000);
    hollow(config, dir, NODES, "hollow", 21000);
    const nodeLoss = flag("node-loss");
    const victim = nodeLoss ? hollow(config, dir, 1, "victim", 24000) : null;
    const wantNodes = NODES + (nodeLoss ? 1 : 0);
    const t0 = Date.now();
    await until(
      `${wantNodes} ready nodes`,
      async () => {
        const nodes = (await client.listAll<Node>("nodes")).items;
        return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length >= wantNodes;
      },
      180_000,
    );
    result.nodesReadyAfterMs = Date.now() - t0;

    if (flag("in-process-loops")) {
      // Their own client, as on a master: the load generator's sockets must not queue their writes.
      loopClient = new KubeClient({ servers: masters.map((m) => `http://${m.host}:${m.apiPort}`), token: TOKEN, timeoutMs: 30_000 });
      loops.push(startScheduler({ client: loopClient, logger }));
      loops.push(startNodeLifecycleController({ client: loopClient, logger, settings: CONFIG_DEFAULTS.nodeLifecycle }));
    }

    // Watch for bindings.
    const createdAt = new Map<string, number>();
    const seenAt = new Map<string, number>();
    const boundAt = new Map<string, number>();
    const pods = new Informer<Pod>(client, "pods", { namespace: "default" });
    const seeBound = (p: Pod) => {
      const k = p.metadata.name!;
      if (!seenAt.has(k)) seenAt.set(k, Date.now());
      if (p.spec.nodeName && !boundAt.has(k) && k.startsWith("bench-")) boundAt.set(k, Date.now());
    };
    pods.addHandlers({ onAdd: seeBound, onUpdate: (_o, p) => seeBound(p) });
    pods.start();
    await pods.waitForSync();

    // Create every pod, CONCURRENCY at a time, while sampling bound pods each second.
    const samples: number[] = [];
    let lastBound = 0;
    const sampler = setInterval(() => {
      samples.push(boundAt.size - lastBound);
      lastBound = boundAt.size;
    }, 1000);
    const start = Date.now();
    let next = 0;
    let createErrors = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < PODS) {
          const i = next++;
          createdAt.set(`bench-${i}`, Date.now());
          try {
            await client.create("pods", pod(i));
          } catch {
            createErrors++;
          }
        }
      }),
    );
    result.createSeconds = (Date.now() - start) / 1000;
    await until("every pod bound", async () => boundAt.size >= PODS - createErrors, 600_000).catch((err: Error) => (result.error = err.message));
    clearInterval(sampler);
    const elapsed = (Date.now() - start) / 1000;
    // scheduler_perf drops the leading and trailing partial seconds; so do we (samples with 0 binds at the ends).
    while (samples.length > 0 && samples[0] === 0) samples.shift();
    while (samples.length > 0 && samples[samples.length - 1] === 0) samples.pop();
    const latencies = [...boundAt].map(([k, t]) => t - (createdAt.get(k) ?? t));
    Object.assign(result, {
      createErrors,
      bound: boundAt.size,
      elapsedSeconds: elapsed,
      podsPerSecondOverall: Math.round(boundAt.size / elapsed),
      throughputPerSecond: summary(samples),
      createToBoundMs: summary(latencies),
      // How late a watch shows a new pod at all: the part of createToBound the scheduler cannot help.
      createToWatchedMs: summary([...seenAt].filter(([k]) => k.startsWith("bench-")).map(([k, t]) => t - (createdAt.get(k) ?? t))),
      leaseWritesPerSecond: Math.round(wantNodes / CONFIG_DEFAULTS.nodeLifecycle.leaseRenewIntervalSeconds),
    });

    const statuses = await Promise.all(masters.map((m) => fetchMasterStatus({ host: m.host, port: m.clientPort, token: TOKEN }).catch(() => null)));
    result.masterRssMB = statuses.map((s, i) => ({ master: masters[i]!.name, role: s && s !== "unauthorized" ? s.role : "?", rssMB: s && s !== "unauthorized" ? Math.round(s.memory.rss / 2 ** 20) : null }));

    if (nodeLoss && victim) result.nodeLoss = await nodeLossScenario(loopClient ?? client, pods, victim, loops, logger);
    pods.stop();
  } finally {
    for (const l of loops) await l.stop();
    client.close();
    loopClient?.close();
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGKILL");
        await exited;
      }
    }
    if (!process.env.KEEP_BENCH_DIR) rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result, null, 2));
  const out = join(ROOT, "bench", "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `scheduler-${NODES}n-${PODS}p.json`), JSON.stringify(result, null, 2) + "\n");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
