// Autoscaling on hollow nodes (issue 11): three real masters run the metrics
// pipeline and the leader's HPA controller; two hollow nodes (`pinsetter
// node --hollow`) report synthetic cpu set per pod by an annotation. A high
// load scales the deployment to its maximum within the scale-up policy; a
// low load (a rollout to pods annotated idle) brings it back to the minimum
// after the short scale-down window; `pinctl top pods` shows the usage.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment, HorizontalPodAutoscaler } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { apiServers, ClusterProcesses, mastersOn, PINCTL, readyNodeNames, until as untilEvery } from "../lib/cluster-processes.js";

const TOKEN = "hpa-hollow-token";
const masters = mastersOn(["127.0.0.151", "127.0.0.152", "127.0.0.153"], { raftPort: 7151, clientPort: 2651, apiPort: 6651 });
const CPU = "sim.pinsetter.io/cpu";

let cluster: ClusterProcesses | null = null;
let config = "";
let client: KubeClient;

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000) => untilEvery(what, probe, timeoutMs, { everyMs: 250 });

beforeAll(async () => {
  cluster = new ClusterProcesses("hpa-hollow-it-", {
    clusterName: "hpa-hollow",
    dataDir: "data",
    token: TOKEN,
    autoscaling: { metricsScrapeIntervalSeconds: 1, syncPeriodSeconds: 1 },
    masters,
    nodes: [],
  });
  config = cluster.config;
  for (const m of masters) cluster.startMaster(m.name);
  client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 10_000 });
  await until("the API to answer", async () => client.get("namespaces", undefined, "default"), 45_000);
  cluster.spawn(["node", "--hollow", "2", "--prefix", "hpa", "--port-base", "25300", "--sim-start-delay-ms", "100", "--log-file", join(cluster.dir, "hollow.log")]);
  await until("2 ready hollow nodes", async () => (await readyNodeNames(client)).length === 2, 30_000);
}, 90_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

function deployment(cpu: string): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "load", namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "load" } },
      template: {
        metadata: { labels: { app: "load" }, annotations: { [CPU]: cpu, "sim.pinsetter.io/memory": "32Mi" } },
        spec: { containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu: "100m", memory: "32Mi" } } }] },
      },
    },
  };
}

const hpa = (): Promise<HorizontalPodAutoscaler> => client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "load");

describe("HPA on hollow nodes", () => {
  it("scales up to max under synthetic load and back to min when idle", async () => {
    await client.create("deployments", deployment("350m"));
    await client.create<HorizontalPodAutoscaler>("horizontalpodautoscalers", {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "load", namespace: "default" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "load" },
        minReplicas: 1,
        maxReplicas: 4,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 3 } },
      },
    });

    // 350% of request against a 50% target: the maximum, limited by maxReplicas.
    const up = await until(
      "scale-up to 4",
      async () => {
        const h = await hpa();
        return h.status?.desiredReplicas === 4 && h.status.conditions?.some((c) => c.type === "ScalingLimited" && c.reason === "TooManyReplicas") ? h : false;
      },
      60_000,
    );
    expect(up.status?.currentMetrics?.[0]?.resource?.current.averageUtilization).toBeGreaterThanOrEqual(300);
    await until("4 ready replicas", async () => ((await client.get<Deployment>("deployments", "default", "load")).status?.readyReplicas ?? 0) === 4, 30_000);

    const top = await until(
      "pinctl top pods shows the synthetic usage",
      async () => {
        const r = spawnSync(process.execPath, [PINCTL, "--config", config, "top", "pods", "-l", "app=load"], { encoding: "utf8" });
        return r.status === 0 && r.stdout.split("\n").filter((l) => / 3\d\dm /.test(l)).length >= 1 ? r.stdout : false;
      },
      20_000,
    );
    expect(top).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);

    // Idle: roll out pods that report 10m; after the 3 s window the HPA returns to 1.
    await client.patch("deployments", "default", "load", { spec: { template: { metadata: { annotations: { [CPU]: "10m" } } } } }, "merge");
    await until("scale-down to 1", async () => (await client.get<Deployment>("deployments", "default", "load")).spec.replicas === 1, 90_000);
    const down = await hpa();
    expect(down.spec.minReplicas).toBe(1);
    expect(down.status?.conditions?.find((c) => c.type === "AbleToScale")?.status).toBe("True");
    const events = await client.list("events", { namespace: "default", fieldSelector: "involvedObject.name=load" });
    const rescales = events.items.filter((e) => (e as { reason?: string }).reason === "SuccessfulRescale").map((e) => (e as { message?: string }).message ?? "");
    expect(rescales.some((m) => m.startsWith("New size: 4"))).toBe(true);
    expect(rescales.some((m) => m.startsWith("New size: 1"))).toBe(true);
  }, 200_000);

  it("serves autoscaling/v1 beside v2, so a stock `kubectl autoscale` creates an HPA the controller runs", async () => {
    const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
    if (kubectl.status !== 0) {
      // Without the binary, drive the v1 API as kubectl would (JSON instead of protobuf).
      process.stderr.write("kubectl not found: creating the v1 HPA over HTTP instead\n");
    }
    await client.create("deployments", { ...deployment("10m"), metadata: { name: "v1app", namespace: "default" }, spec: { ...deployment("10m").spec, selector: { matchLabels: { app: "v1app" } }, template: { ...deployment("10m").spec.template, metadata: { labels: { app: "v1app" }, annotations: { [CPU]: "10m" } } } } });
    if (kubectl.status === 0) {
      const kc = join(cluster!.dir, "kubeconfig");
      const made = spawnSync(process.execPath, [PINCTL, "--config", config, "config", "kubeconfig"], { encoding: "utf8" });
      expect(made.status, made.stderr).toBe(0);
      (await import("node:fs")).writeFileSync(kc, made.stdout);
      const r = spawnSync("kubectl", ["--kubeconfig", kc, "autoscale", "deployment", "v1app", "--min=1", "--max=3", "--cpu-percent=70"], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain("horizontalpodautoscaler.autoscaling/v1app autoscaled");
    } else {
      await client.json("POST", "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", {
        apiVersion: "autoscaling/v1",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "v1app" },
        spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "v1app" }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 70 },
      });
    }
    // Stored as v2 with the cpu target; the controller reports on it; v1 reads show the v1 fields.
    const stored = await client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "v1app");
    expect(stored.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }]);
    await until("the v1 HPA active", async () => (await client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "v1app")).status?.conditions?.some((c) => c.type === "ScalingActive" && c.status === "True"), 30_000);
    const v1 = await client.json<{ apiVersion: string; spec: { targetCPUUtilizationPercentage?: number }; status?: { currentCPUUtilizationPercentage?: number } }>(
      "GET",
      "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/v1app",
    );
    expect(v1.apiVersion).toBe("autoscaling/v1");
    expect(v1.spec.targetCPUUtilizationPercentage).toBe(70);
    expect(v1.status?.currentCPUUtilizationPercentage).toBeGreaterThanOrEqual(0);
  }, 90_000);
});
