// bench/autoscale: how fast the cluster answers a load step (issue 11). On a
// real cluster (3 masters, 2 Docker nodes) running examples/hpa.yaml, a
// bounded load starts on the NodePort; measured from the load step: the
// HPA's scale-up decision (status.desiredReplicas > 1, as a watch on the HPA
// sees it) and the new pods Ready; then from the load's end, the scale-down
// decision (after the manifest's 30 s window). Repeated --rounds times.
// Also each master's RSS at the end (metrics live in memory on every master).
//
//   npm run bench:autoscale [-- --rounds 3 --scrape 2 --sync 2]

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import type { Deployment, HorizontalPodAutoscaler } from "../../src/api/types.js";
import { fetchMasterStatus } from "../../src/client/master-status.js";
import { E2ECluster, REPO_ROOT } from "../../test/e2e/harness/cluster.js";
import { Load } from "../../test/e2e/harness/http.js";
import { eventually, notYet } from "../../test/e2e/harness/wait.js";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

interface Round {
  decisionMs: number;
  readyMs: number;
  peakReplicas: number;
  scaleDownDecisionMs: number;
  failedRequests: number;
  requests: number;
}

async function main(): Promise<void> {
  const rounds = arg("rounds", 3);
  const scrape = arg("scrape", 2);
  const sync = arg("sync", 2);
  const cluster = await E2ECluster.start({ hostBase: 140, configExtra: { autoscaling: { metricsScrapeIntervalSeconds: scrape, syncPeriodSeconds: sync } } });
  const results: Round[] = [];
  try {
    const applied = await cluster.pinctl(["apply", "-f", "-"], { input: readFileSync(join(REPO_ROOT, "examples", "hpa.yaml"), "utf8") });
    if (applied.code !== 0) throw new Error(applied.stderr);
    const deployment = () => cluster.client.get<Deployment>("deployments", "default", "burner");
    const hpa = () => cluster.client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "burner");
    for (let r = 0; r < rounds; r++) {
      await eventually("burner idle at 1 ready replica with metrics", async () => {
        const [d, h] = await Promise.all([deployment(), hpa()]);
        const idle = d.spec.replicas === 1 && d.status?.readyReplicas === 1 && (h.status?.currentMetrics?.length ?? 0) > 0;
        return idle ? true : notYet({ replicas: d.spec.replicas, ready: d.status?.readyReplicas });
      }, 240_000, 500);
      const urls = cluster.nodeNames.map((n) => cluster.nodeUrl(n, 30081, "/cgi-bin/burn"));
      const t0 = Date.now();
      const load = new Load(urls, 1);
      let decisionMs = NaN;
      let peak = 1;
      try {
        peak = await eventually("scale-up decision", async () => {
          const h = await hpa();
          return (h.status?.desiredReplicas ?? 1) > 1 ? h.status!.desiredReplicas : notYet(h.status?.currentMetrics);
        }, 120_000, 100);
        decisionMs = Date.now() - t0;
        await eventually("new pods ready", async () => {
          const d = await deployment();
          return (d.status?.readyReplicas ?? 0) >= peak ? true : notYet(d.status?.readyReplicas);
        }, 120_000, 100);
      } finally {
        await load.stop();
      }
      const readyMs = Date.now() - t0;
      const t1 = Date.now();
      await eventually("scale-down decision", async () => ((await hpa()).status?.desiredReplicas === 1 ? true : notYet(null)), 240_000, 250);
      results.push({ decisionMs, readyMs, peakReplicas: peak, scaleDownDecisionMs: Date.now() - t1, failedRequests: load.failures.length, requests: load.ok + load.failures.length });
      process.stdout.write(`round ${r + 1}: ${JSON.stringify(results[results.length - 1])}\n`);
    }
    const rss: Record<string, number> = {};
    for (const m of cluster.masterList) {
      const s = await fetchMasterStatus({ host: m.host, port: m.clientPort, token: cluster.token, timeoutMs: 2000 });
      if (s && s !== "unauthorized") rss[m.name] = Math.round(s.memory.rss / 1048576);
    }
    const report = { when: new Date().toISOString(), machine: { cpus: cpus().length, loadavg: loadavg() }, settings: { scrapeSeconds: scrape, syncSeconds: sync, scaleDownWindowSeconds: 30 }, rounds: results, masterRssMiB: rss };
    const dir = join(REPO_ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "autoscale.json"), JSON.stringify(report, null, 2));
    const row = (r: Round, i: number) => `| ${i + 1} | ${(r.decisionMs / 1000).toFixed(1)} | ${(r.readyMs / 1000).toFixed(1)} | ${r.peakReplicas} | ${(r.scaleDownDecisionMs / 1000).toFixed(1)} | ${r.failedRequests}/${r.requests} |`;
    writeFileSync(
      join(dir, "autoscale.md"),
      [
        "# Autoscaling: load step to decision and to Ready pods",
        "",
        `${report.when}, ${report.machine.cpus} cores, load average ${report.machine.loadavg.map((l) => l.toFixed(1)).join(" ")}. Real Docker pods (examples/hpa.yaml), metrics scraped every ${scrape} s, HPA sync every ${sync} s, scale-down window 30 s.`,
        "",
        "| round | load → scale-up decision (s) | load → new pods Ready (s) | peak replicas | load end → scale-down decision (s) | failed requests |",
        "|---:|---:|---:|---:|---:|---:|",
        ...results.map(row),
        "",
        `Masters' RSS at the end (MiB): ${Object.entries(rss).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
        "",
      ].join("\n"),
    );
  } finally {
    await cluster.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
