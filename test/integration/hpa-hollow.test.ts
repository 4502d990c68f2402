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
});
