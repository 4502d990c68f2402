// Greedy vs flow end to end: 3 real masters (127.0.0.241-243), hollow nodes
// in one `pinsetter node --hollow` process, pods created through the API
// (CONCURRENCY in flight) for the default scheduler (greedy) and then for
// "flow-scheduler" (the flow placer, batches up to scheduler.batchSize),
// both loops on the leader master. Reports pods bound per second from the
// first create to the last binding seen through a watch, and the flow
// batches the leader logged (a pod arriving alone goes greedy: not logged).
//
//   npm run build && node dist/bench/placement/e2e.js [--nodes 50] [--pods 1000] [--concurrency 64]

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Node, Pod } from "../../src/api/types.js";
import { Informer } from "../../src/client/informer.js";
import { KubeClient } from "../../src/client/kube-client.js";

const ROOT = path.join(import.meta.dirname, "..", "..", "..");
const PINSETTER = path.join(ROOT, "dist", "src", "cli", "pinsetter.js");
const TOKEN = "bench-placement";
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const NODES = arg("nodes", 50);
const PODS = arg("pods", 1000);
const CONCURRENCY = arg("concurrency", 64);
const masters = ["127.0.0.241", "127.0.0.242", "127.0.0.243"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7241, clientPort: 2741, apiPort: 6741 }));
const children: ChildProcess[] = [];

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
    await new Promise((r) => setTimeout(r, 250));
  }
}

function pod(i: number, schedulerName: string, prefix: string): Pod {
  const app = `${prefix}-app-${i % 10}`;
  const cpu = ["50m", "100m", "250m"][i % 3]!;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${prefix}-${i}`, namespace: "default", labels: { app } },
    spec: { schedulerName, containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu, memory: "32Mi" } } }] },
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-placement-"));
  const config = path.join(dir, "cluster.config.json");
  fs.writeFileSync(config, JSON.stringify({ clusterName: "bench-placement", dataDir: "data", token: TOKEN, scheduler: { batchSize: 1000 }, masters, nodes: [] }));
  const run = (args: string[]) => {
    const c = spawn(process.execPath, [PINSETTER, "--config", config, ...args], { stdio: "ignore" });
    children.push(c);
    return c;
  };
  // Debug: the flow placer logs every batch (info only from 100 pods), for the batch sizes below.
  for (const m of masters) run(["master", "--name", m.name, "--log-level", "debug", "--log-file", path.join(dir, `${m.name}.log`)]);
  const client = new KubeClient({ servers: masters.map((m) => `http://${m.host}:${m.apiPort}`), token: TOKEN, timeoutMs: 30_000 });
  const results: Record<string, unknown>[] = [];
  try {
    await until("the API", async () => client.get("namespaces", undefined, "default"), 60_000);
    run(["node", "--hollow", String(NODES), "--prefix", "bp", "--port-base", "25700", "--log-file", path.join(dir, "hollow.log")]);
    await until(
      `${NODES} ready nodes`,
      async () => (await client.list<Node>("nodes")).items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === NODES,
      120_000,
    );
    for (const [label, schedulerName] of [
      ["greedy", "default-scheduler"],
      ["flow", "flow-scheduler"],
    ] as const) {
      const boundAt = new Map<string, number>();
      const informer = new Informer<Pod>(client, "pods", { namespace: "default" });
      const seen = (p: Pod) => {
        const k = p.metadata.name ?? "";
        if (p.spec.nodeName && k.startsWith(`${label}-`) && !boundAt.has(k)) boundAt.set(k, Date.now());
      };
      informer.addHandlers({ onAdd: seen, onUpdate: (_o, p) => seen(p) });
      informer.start();
      await informer.waitForSync();
      const t0 = Date.now();
      let next = 0;
      let errors = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < PODS) {
            const i = next++;
            await client.create("pods", pod(i, schedulerName, label)).catch(() => errors++);
          }
        }),
      );
      const created = Date.now();
      await until(`${label}: every pod bound`, async () => boundAt.size >= PODS - errors, 600_000).catch(() => undefined);
      const last = Math.max(...boundAt.values());
      informer.stop();
      const r = {
        placer: label,
        pods: PODS,
        bound: boundAt.size,
        createErrors: errors,
        createSeconds: (created - t0) / 1000,
        firstCreateToLastBoundSeconds: (last - t0) / 1000,
        podsBoundPerSecond: Math.round(boundAt.size / ((last - t0) / 1000)),
      };
      console.log(JSON.stringify(r));
      results.push(r);
    }
    const flowLines = masters
      .flatMap((m) => fs.readFileSync(path.join(dir, `${m.name}.log`), "utf8").split("\n"))
      .filter((l) => l.includes('"flow placement"'))
      .map((l) => JSON.parse(l) as { pods: number; solveMs: number; placedByFlow: number });
    const batchPods = flowLines.map((l) => l.pods).sort((a, b) => a - b);
    results.push({
      flowBatches: flowLines.length,
      podsInFlowBatches: batchPods.reduce((a, b) => a + b, 0),
      placedByFlow: flowLines.reduce((a, l) => a + l.placedByFlow, 0),
      flowBatchPodsMedian: batchPods[Math.floor(batchPods.length / 2)] ?? 0,
      largestFlowBatch: batchPods[batchPods.length - 1] ?? 0,
      flowSolveMsMax: Math.max(0, ...flowLines.map((l) => l.solveMs)),
    });
  } finally {
    client.close();
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    if (!process.env.KEEP_BENCH_DIR) fs.rmSync(dir, { recursive: true, force: true });
  }
  const out = path.join(ROOT, "bench", "results");
  const report = { date: new Date().toISOString(), nodes: NODES, concurrency: CONCURRENCY, loadAverage: os.loadavg(), results };
  fs.writeFileSync(path.join(out, "placement-e2e.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify(report));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    process.exit(1);
  },
);
