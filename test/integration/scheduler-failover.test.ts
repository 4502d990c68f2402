// The scheduler and node lifecycle controller as the masters run them: on
// the Raft leader only. Pods of the default scheduler are bound by the
// leader; kill -9 of the leader master while fake nodes keep renewing their
// Leases evicts nothing and marks no node (the new leader gives every node a
// fresh grace period), and the new leader's scheduler binds the next pod.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Lease, Node, Pod } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { fetchMasterStatus } from "../../src/client/master-status.js";
import { apiServers, ClusterProcesses, mastersOn, sleep, until } from "../lib/cluster-processes.js";

const TOKEN = "sched-failover-token";
const masters = mastersOn(["127.0.0.186", "127.0.0.187", "127.0.0.188"], { raftPort: 7921, clientPort: 2999, apiPort: 7063 });

let cluster: ClusterProcesses | null = null;
let client: KubeClient;
let renewTimer: NodeJS.Timeout | null = null;
const nodes = ["f1", "f2", "f3"];

async function leader(): Promise<string | null> {
  for (const m of masters) {
    if (!cluster!.has(m.name)) continue;
    const st = await fetchMasterStatus({ host: m.host, port: m.clientPort, token: TOKEN, timeoutMs: 1000 });
    if (st && st !== "unauthorized" && st.role === "leader") return m.name;
  }
  return null;
}

async function renewLeases(): Promise<void> {
  await Promise.all(
    nodes.map(async (name) => {
      try {
        const l = await client.get<Lease>("leases", "kube-node-lease", name);
        await client.update("leases", { ...l, spec: { ...l.spec, renewTime: new Date().toISOString() } });
      } catch {
        // During the election: the next round renews.
      }
    }),
  );
}

function podSpec(name: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu: "100m" } } }] },
  };
}

async function boundNode(name: string): Promise<string> {
  return until(`${name} bound`, async () => (await client.get<Pod>("pods", "default", name)).spec.nodeName);
}

beforeAll(async () => {
  cluster = new ClusterProcesses("sched-failover-it-", {
    clusterName: "sched-failover",
    dataDir: "data",
    token: TOKEN,
    raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 1000 },
    nodeLifecycle: { leaseRenewIntervalSeconds: 0.5, nodeMonitorGracePeriodSeconds: 3, nodeMonitorPeriodSeconds: 0.25, defaultUnreachableTolerationSeconds: 0 },
    masters,
    nodes: [],
  });
  for (const m of masters) cluster.startMaster(m.name);
  client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 5000 });
  await until("the API to answer", async () => client.get("namespaces", undefined, "kube-node-lease"), 45_000);
  const now = new Date().toISOString();
  for (const name of nodes) {
    await client.create<Node>("nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
      status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: now }] },
    });
    await client.create<Lease>("leases", { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace: "kube-node-lease" }, spec: { holderIdentity: name, renewTime: now } });
  }
  renewTimer = setInterval(() => void renewLeases(), 500);
}, 60_000);

afterAll(async () => {
  if (renewTimer) clearInterval(renewTimer);
  client?.close();
  await cluster?.stop();
});

describe("leader failover", () => {
  it("evicts nothing, marks no node, and the new leader schedules", async () => {
    for (let i = 0; i < 6; i++) await client.create("pods", podSpec(`before-${i}`));
    for (let i = 0; i < 6; i++) await boundNode(`before-${i}`);

    const old = await until("a leader", leader);
    await cluster!.kill(old, "SIGKILL");
    const next = await until("a new leader", leader, 20_000);
    expect(next).not.toBe(old);

    // Watch the nodes and pods for longer than a grace period after the new leader took over.
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      const ns = (await client.list<Node>("nodes")).items;
      for (const n of ns) {
        expect(n.status?.conditions?.find((c) => c.type === "Ready")?.status, `node ${n.metadata.name}`).toBe("True");
        expect(n.spec?.taints ?? [], `taints of ${n.metadata.name}`).toEqual([]);
      }
      const pods = (await client.list<Pod>("pods", { namespace: "default" })).items;
      expect(pods.filter((p) => p.metadata.name!.startsWith("before-") && !p.metadata.deletionTimestamp)).toHaveLength(6);
      await sleep(300);
    }

    await client.create("pods", podSpec("after"));
    expect(nodes).toContain(await boundNode("after"));
  }, 90_000);
});
