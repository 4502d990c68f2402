// bench/autoscale/hollow: the autoscaling pipeline at scale with hollow
// nodes (issue 11). Three masters, N hollow nodes (`pinsetter node --hollow`)
// whose pods report synthetic usage (sim.pinsetter.io/cpu), P pods in
// deployments of 100. Measured: every master's RSS with the metrics pipeline
// scraping all nodes (and the size of what it serves), and a load step: a
// deployment whose pods' synthetic cpu goes from 10m to 400m (a rollout to
// pods annotated busy, since sim usage is fixed per container), timed to the
// HPA's scale-up decision and to the new replicas Ready.
//
//   npm run build && node dist/bench/autoscale/hollow.js [--nodes 100] [--pods 1000] [--scrape 2]

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Deployment, HorizontalPodAutoscaler } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { fetchMasterStatus } from "../../src/client/master-status.js";
import { apiServers, mastersOn, readyNodeNames, sleep, until } from "../../test/lib/cluster-processes.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const PINSETTER = join(ROOT, "dist", "src", "cli", "pinsetter.js");
const TOKEN = "bench-autoscale";
const CPU = "sim.pinsetter.io/cpu";
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const NODES = arg("nodes", 100);
const PODS = arg("pods", 1000);
const SCRAPE = arg("scrape", 2);
const masters = mastersOn(["127.0.0.241", "127.0.0.242", "127.0.0.243"], { raftPort: 8101, clientPort: 3179, apiPort: 7243 });
const children: ChildProcess[] = [];

function deployment(name: string, replicas: number, cpu: string): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { [CPU]: cpu, "sim.pinsetter.io/memory": "20Mi" } },
        spec: { containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu: "100m", memory: "32Mi" } } }] },
      },
    },
  };
}

async function rssMiB(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of masters) {
    const s = await fetchMasterStatus({ host: m.host, port: m.clientPort, token: TOKEN, timeoutMs: 3000 });
    if (s && s !== "unauthorized") out[`${m.name}${s.role === "leader" ? " (leader)" : ""}`] = Math.round(s.memory.rss / 1048576);
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-autoscale-"));
  const config = join(dir, "cluster.config.json");
  writeFileSync(config, JSON.stringify({ clusterName: "bench-autoscale", dataDir: "data", token: TOKEN, autoscaling: { metricsScrapeIntervalSeconds: SCRAPE, syncPeriodSeconds: 1 }, masters, nodes: [] }));
  const spawnTracked = (args: string[]) => {
    const c = spawn(process.execPath, [PINSETTER, "--config", config, ...args], { stdio: "ignore" });
    children.push(c);
  };
  const client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 30_000 });
  try {
    for (const m of masters) spawnTracked(["master", "--name", m.name, "--log-file", join(dir, `${m.name}.log`)]);
    await until("the API", async () => client.get("namespaces", undefined, "default"), 60_000);
    spawnTracked(["node", "--hollow", String(NODES), "--prefix", "h", "--port-base", "26000", "--sim-start-delay-ms", "50", "--log-file", join(dir, "hollow.log")]);
    await until(`${NODES} ready nodes`, async () => (await readyNodeNames(client)).length >= NODES, 300_000);
    const rssNoPods = await rssMiB();

    const groups = Math.max(1, Math.round(PODS / 100));
    for (let g = 0; g < groups; g++) await client.create("deployments", deployment(`fill-${g}`, Math.round(PODS / groups), `${10 + (g % 5) * 20}m`));
    const started = Date.now();
    await until(`${PODS} ready pods`, async () => {
      const ds = (await client.list<Deployment>("deployments", { namespace: "default" })).items;
      return ds.reduce((n, d) => n + (d.status?.readyReplicas ?? 0), 0) >= PODS;
    }, 900_000);
    const fillSeconds = (Date.now() - started) / 1000;
    await sleep(SCRAPE * 3000);
    const podMetrics = await client.json<{ items: unknown[] }>("GET", "/apis/metrics.k8s.io/v1beta1/pods");
    const rssWithPods = await rssMiB();

    // The load step.
    await client.create("deployments", deployment("step", 1, "10m"));
    await client.create<HorizontalPodAutoscaler>("horizontalpodautoscalers", {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "step", namespace: "default" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "step" }, minReplicas: 1, maxReplicas: 5, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }] },
    });
    await until("the HPA active", async () => (await client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "step")).status?.conditions?.some((c) => c.type === "ScalingActive" && c.status === "True"), 120_000);
    const t0 = Date.now();
    await client.patch("deployments", "default", "step", { spec: { template: { metadata: { annotations: { [CPU]: "400m" } } } } }, "merge");
    await until("scale-up decision", async () => ((await client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "step")).status?.desiredReplicas ?? 1) > 1, 120_000);
    const decisionMs = Date.now() - t0;
    await until("5 ready", async () => ((await client.get<Deployment>("deployments", "default", "step")).status?.readyReplicas ?? 0) >= 5, 120_000);
    const readyMs = Date.now() - t0;

    const report = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, loadavg: loadavg() },
      nodes: NODES,
      pods: PODS,
      scrapeSeconds: SCRAPE,
      fillSeconds,
      podMetricsServed: podMetrics.items.length,
      rssMiB: { nodesOnly: rssNoPods, withPods: rssWithPods },
      loadStep: { decisionMs, readyMs },
    };
    const out = join(ROOT, "bench", "results");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `autoscale-hollow-${NODES}n-${PODS}p.json`), JSON.stringify(report, null, 2));
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    client.close();
    for (const c of children) c.kill("SIGKILL");
    if (!process.env.KEEP_BENCH_DIR) rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    for (const c of children) c.kill("SIGKILL");
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
