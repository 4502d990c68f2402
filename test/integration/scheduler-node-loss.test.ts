// Node loss with hollow nodes (the kubelet's sim runtime, `pinsetter node
// --hollow`) on three real masters: a Deployment's pods are spread over three
// nodes; kill -9 of the process of one node makes it Ready=Unknown and
// tainted, its pods are evicted, and the ReplicaSet's replacements run on
// the other nodes.

import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Deployment, Node, Pod, ReplicaSet } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { CONFIG_DEFAULTS, type NodeLifecycleSettings } from "../../src/config/types.js";
import { startControllers } from "../../src/controllers/index.js";
import { startNodeLifecycleController } from "../../src/controllers/node-lifecycle/index.js";
import { startScheduler } from "../../src/scheduler/index.js";
import { apiServers, ClusterProcesses, mastersOn, readyNodeNames, until } from "../lib/cluster-processes.js";

const TOKEN = "node-loss-test-token";
const masters = mastersOn(["127.0.0.194", "127.0.0.195", "127.0.0.196"], { raftPort: 7911, clientPort: 2989, apiPort: 7053 });
const SCHEDULER_NAME = "it-node-loss-scheduler";
const lifecycle: NodeLifecycleSettings = {
  ...CONFIG_DEFAULTS.nodeLifecycle,
  leaseRenewIntervalSeconds: 0.5,
  nodeMonitorGracePeriodSeconds: 2,
  nodeMonitorPeriodSeconds: 0.25,
  defaultUnreachableTolerationSeconds: 0,
};

let cluster: ClusterProcesses | null = null;
const loops: { stop(): Promise<void> }[] = [];
let client: KubeClient;

const readyNodes = () => readyNodeNames(client);

const runningPods = async () =>
  (await client.list<Pod>("pods", { namespace: "default", labelSelector: "app=loss" })).items.filter(
    (p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running",
  );

beforeAll(async () => {
  cluster = new ClusterProcesses("node-loss-it-", {
    clusterName: "node-loss-test",
    dataDir: "data",
    token: TOKEN,
    raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 1000 },
    nodeLifecycle: lifecycle,
    masters,
    nodes: [],
  });
  for (const m of masters) cluster.startMaster(m.name);
  client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 10_000 });
  await until("the API to answer", async () => client.get("namespaces", undefined, "default"), 45_000);
  cluster.spawn(["node", "--hollow", "2", "--prefix", "stay", "--port-base", "25000", "--log-file", join(cluster.dir, "stay.log")]);
  await until("2 ready hollow nodes", async () => (await readyNodes()).length >= 2, 30_000);

  const logger = pino({ level: process.env.IT_LOG_LEVEL ?? "silent" });
  loops.push(startScheduler({ client, logger, schedulerName: SCHEDULER_NAME }));
  loops.push(startNodeLifecycleController({ client, logger, settings: lifecycle }));
}, 90_000);

afterAll(async () => {
  for (const l of loops.splice(0)) await l.stop();
  client?.close();
  await cluster?.stop();
});

describe("node loss with hollow nodes", () => {
  it("the pods of a killed node are evicted and replaced on the others", async () => {
    const victim = cluster!.spawn(["node", "--hollow", "1", "--prefix", "victim", "--port-base", "25100", "--log-file", join(cluster!.dir, "victim.log")]);
    await until("victim-0 ready", async () => (await readyNodes()).includes("victim-0"), 30_000);

    const deployment: Deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "loss", namespace: "default" },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: "loss" } },
        template: {
          metadata: { labels: { app: "loss" } },
          spec: { schedulerName: SCHEDULER_NAME, containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu: "100m", memory: "32Mi" } } }] },
        },
      },
    };
    await client.create("deployments", deployment);
    // Once the leader master runs the controllers itself, starting them here too would double them.
    const mastersRunControllers = await until("a ReplicaSet from the masters", async () => (await client.list<ReplicaSet>("replicasets", { namespace: "default" })).items.length > 0, 3000).then(
      () => true,
      () => false,
    );
    if (!mastersRunControllers) loops.push(startControllers({ client, logger: pino({ level: "silent" }) }));

    const before = await until("6 pods running", async () => {
      const pods = await runningPods();
      return pods.length === 6 ? pods : null;
    }, 45_000);
    // Spread: the default constraint puts two of the owner's pods on each of the three nodes.
    const perNode = new Map<string, number>();
    for (const p of before) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    expect([...perNode.values()].sort()).toEqual([2, 2, 2]);
    const lost = before.filter((p) => p.spec.nodeName === "victim-0").map((p) => p.metadata.name);

    const killedAt = Date.now();
    victim.kill("SIGKILL");

    await until("victim-0 Ready=Unknown", async () => {
      const n = await client.get<Node>("nodes", undefined, "victim-0");
      return n.status?.conditions?.find((c) => c.type === "Ready")?.status === "Unknown";
    });
    const after = await until("6 pods running on the surviving nodes", async () => {
      const pods = await runningPods();
      return pods.length === 6 && pods.every((p) => p.spec.nodeName !== "victim-0") ? pods : null;
    }, 45_000);
    const healedMs = Date.now() - killedAt;
    for (const name of lost) expect(after.map((p) => p.metadata.name)).not.toContain(name);
    const victimNode = await client.get<Node>("nodes", undefined, "victim-0");
    expect((victimNode.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`)).toContain("node.kubernetes.io/unreachable:NoExecute");
    console.log(`node loss healed in ${healedMs} ms (grace ${lifecycle.nodeMonitorGracePeriodSeconds} s, toleration ${lifecycle.defaultUnreachableTolerationSeconds} s)`);
  }, 120_000);
});
