// End-to-end autoscaling (issue 11): examples/hpa.yaml on a real cluster of
// 3 masters and 2 Docker nodes. Requests to /cgi-bin/burn spin the cpu, so a
// bounded load on the NodePort raises the pods' usage as the kubelets report
// it; the masters' metrics pipeline and the leader's HPA scale the
// deployment up, and back down once the load stops (scale-down window 30 s
// in the manifest). `kubectl top` and `kubectl get hpa` read the same API,
// and the Service answers every request throughout.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Deployment, HorizontalPodAutoscaler } from "../../src/api/types.js";
import { E2ECluster, REPO_ROOT } from "./harness/cluster.js";
import { dockerAnswers, imagePresent } from "./harness/docker.js";
import { Load } from "./harness/http.js";
import { eventually, notYet } from "./harness/wait.js";

const NODE_PORT = 30081;
let cluster: E2ECluster;

describe.skipIf(!dockerAnswers() || !imagePresent("pinsetter/busybox:1"))("autoscaling with real Docker pods", () => {
  beforeAll(async () => {
    cluster = await E2ECluster.start({ hostBase: 170, configExtra: { autoscaling: { metricsScrapeIntervalSeconds: 2, syncPeriodSeconds: 2 } } });
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
  }, 60_000);

  it("scales a cpu-bound deployment up under load and back down after, answering throughout", async () => {
    const manifest = readFileSync(join(REPO_ROOT, "examples", "hpa.yaml"), "utf8");
    const applied = await cluster.pinctl(["apply", "-f", "-"], { input: manifest });
    expect(applied.code, applied.stderr).toBe(0);
    const replicas = async () => (await cluster.client.get<Deployment>("deployments", "default", "burner")).status?.readyReplicas ?? 0;
    await eventually("burner ready", async () => ((await replicas()) >= 1 ? true : notYet(await replicas())), 90_000);

    // The HPA reports a metric before any load (ScalingActive once the pod has a sample).
    await eventually(
      "the HPA reads the pods' cpu",
      async () => {
        const hpa = await cluster.client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "burner");
        return hpa.status?.conditions?.some((c) => c.type === "ScalingActive" && c.status === "True") ? hpa : notYet(hpa.status);
      },
      60_000,
    );
    // Each master scrapes on its own: the one kubectl reaches may need a second sample.
    const top = await eventually(
      "kubectl top pods shows burner",
      async () => {
        const r = await cluster.kubectl(["top", "pods", "-l", "app=burner"]);
        return r.code === 0 ? r : notYet(r.stderr);
      },
      30_000,
    );
    expect(top.stdout).toMatch(/burner-\S+\s+\d+m\s+\d+Mi/);

    const urls = cluster.nodeNames.map((n) => cluster.nodeUrl(n, NODE_PORT, "/cgi-bin/burn"));
    const load = new Load(urls, 1);
    let peak = 1;
    try {
      peak = await eventually(
        "the HPA scales burner above 1 replica under load",
        async () => {
          const hpa = await cluster.client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "burner");
          const desired = hpa.status?.desiredReplicas ?? 1;
          return desired > 1 && (await replicas()) > 1 ? desired : notYet(hpa.status?.currentMetrics);
        },
        90_000,
        1000,
      );
      // Every burn takes a while: let some complete so "answered throughout" is measured.
      await eventually("burn requests answered under load", async () => (load.ok >= 3 ? true : notYet({ ok: load.ok, failures: load.failures.slice(-3) })), 60_000);
    } finally {
      await load.stop();
    }
    expect(peak).toBeGreaterThan(1);
    expect(load.ok).toBeGreaterThan(0);
    expect(load.failures, JSON.stringify(load.failures.slice(0, 5))).toEqual([]);

    const hpaTable = await cluster.kubectl(["get", "hpa", "burner"]);
    expect(hpaTable.stdout).toMatch(/Deployment\/burner\s+cpu: \d+%\/50%/);

    // Idle again: after the 30 s scale-down window, back to minReplicas, still answering.
    const idle = new Load([cluster.nodeUrl(cluster.nodeNames[0]!, NODE_PORT, "/")], 1);
    try {
      await eventually(
        "the HPA scales burner back to 1",
        async () => {
          const d = await cluster.client.get<Deployment>("deployments", "default", "burner");
          return d.spec.replicas === 1 ? true : notYet(d.spec.replicas);
        },
        120_000,
        1000,
      );
    } finally {
      await idle.stop();
    }
    expect(idle.failures, JSON.stringify(idle.failures.slice(0, 5))).toEqual([]);
    const events = await cluster.client.list("events", { namespace: "default", fieldSelector: "involvedObject.name=burner" });
    expect(events.items.some((e) => (e as { reason?: string }).reason === "SuccessfulRescale")).toBe(true);
  }, 360_000);
});
