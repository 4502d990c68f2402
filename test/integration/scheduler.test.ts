// The scheduler and the node lifecycle controller on three real masters (the
// built `pinsetter master` processes on loopback), with fake nodes: Node
// objects and Leases this test writes through the API, as hollow kubelets
// would. Pods get bound and spread; a pod too big for every node reports
// kube-scheduler's reason and lands once a big enough node joins; a node
// whose lease stops is marked Unknown, tainted, and loses its pods.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { pino } from "pino";

import type { Event, Lease, Node, Pod } from "../../src/api/types.js";
import { KubeApiError, KubeClient } from "../../src/client/kube-client.js";
import { CONFIG_DEFAULTS, type NodeLifecycleSettings } from "../../src/config/types.js";
import { startNodeLifecycleController } from "../../src/controllers/node-lifecycle/index.js";
import { startScheduler } from "../../src/scheduler/index.js";
import { apiServers, ClusterProcesses, mastersOn, until } from "../lib/cluster-processes.js";

const TOKEN = "scheduler-test-token";
const masters = mastersOn(["127.0.0.191", "127.0.0.192", "127.0.0.193"], { raftPort: 7901, clientPort: 2979, apiPort: 7043 });

let cluster: ClusterProcesses | null = null;
let client: KubeClient;
const renewing = new Set<string>();
let renewTimer: NodeJS.Timeout | null = null;
const loops: { stop(): Promise<void> }[] = [];
/**
 * The loops run in this process against the masters' API (real HTTP, Raft
 * and store), through the same entry points the masters use on their leader.
 * Pods name their own scheduler, so a default-scheduler running on the
 * leader master never races this one.
 */
const SCHEDULER_NAME = "it-scheduler";
const lifecycle: NodeLifecycleSettings = {
  ...CONFIG_DEFAULTS.nodeLifecycle,
  leaseRenewIntervalSeconds: 0.5,
  nodeMonitorGracePeriodSeconds: 2,
  nodeMonitorPeriodSeconds: 0.25,
  defaultUnreachableTolerationSeconds: 0,
};

/** A fake node: a Node with capacity and Ready=True, and a Lease this test renews. */
async function addNode(name: string, cpu: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const node: Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: {},
    status: {
      capacity: { cpu, memory: "4Gi", pods: "110" },
      allocatable: { cpu, memory: "4Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: now, lastTransitionTime: now }],
    },
  };
  await client.create("nodes", node);
  const lease: Lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: "kube-node-lease" },
    spec: { holderIdentity: name, leaseDurationSeconds: 2, renewTime: new Date().toISOString() },
  };
  await client.create("leases", lease, { namespace: "kube-node-lease" });
  renewing.add(name);
}

async function renewLeases(): Promise<void> {
  for (const name of renewing) {
    try {
      const l = await client.get<Lease>("leases", "kube-node-lease", name);
      await client.update("leases", { ...l, spec: { ...l.spec, renewTime: new Date().toISOString() } });
    } catch {
      // A conflict or a leader change: the next round renews.
    }
  }
}

function podSpec(name: string, cpu: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "sched-test" } },
    spec: { schedulerName: SCHEDULER_NAME, containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu, memory: "64Mi" } } }] },
  };
}

async function eventsFor(name: string): Promise<Event[]> {
  const list = await client.list<Event>("events", { namespace: "default" });
  return list.items.filter((e) => e.involvedObject.name === name);
}

beforeAll(async () => {
  cluster = new ClusterProcesses("scheduler-it-", {
    clusterName: "scheduler-test",
    dataDir: "data",
    token: TOKEN,
    raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 1000 },
    nodeLifecycle: lifecycle,
    masters,
    nodes: [],
  });
  for (const m of masters) cluster.startMaster(m.name);
  client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 10_000 });
  await until("the API to answer", async () => (await client.get("namespaces", undefined, "kube-node-lease")) !== null, 45_000);
  renewTimer = setInterval(() => void renewLeases(), 500);
  const logger = pino({ level: process.env.IT_LOG_LEVEL ?? "silent" });
  loops.push(startScheduler({ client, logger, schedulerName: SCHEDULER_NAME }));
  loops.push(startNodeLifecycleController({ client, logger, settings: lifecycle }));
}, 60_000);

afterAll(async () => {
  if (renewTimer) clearInterval(renewTimer);
  for (const l of loops.splice(0)) await l.stop();
  client?.close();
  await cluster?.stop();
});

describe("scheduler on real masters", () => {
  it("binds pods to fake nodes, spreading them, and records Scheduled events", async () => {
    await addNode("w1", "2");
    await addNode("w2", "2");
    for (let i = 0; i < 4; i++) await client.create("pods", podSpec(`small-${i}`, "500m"));
    const bound = await until("4 pods bound", async () => {
      const pods = (await client.list<Pod>("pods", { namespace: "default" })).items.filter((p) => p.metadata.name?.startsWith("small-"));
      return pods.length === 4 && pods.every((p) => p.spec.nodeName) ? pods : null;
    });
    const perNode = new Map<string, number>();
    for (const p of bound) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ w1: 2, w2: 2 });
    const ev = await until("a Scheduled event", async () => (await eventsFor("small-0")).find((e) => e.reason === "Scheduled"));
    expect(ev.type).toBe("Normal");
    expect(ev.message).toBe(`Successfully assigned default/small-0 to ${bound.find((p) => p.metadata.name === "small-0")!.spec.nodeName}`);
  }, 60_000);

  it("an unschedulable pod reports kube-scheduler's reason and lands when a big enough node joins", async () => {
    await client.create("pods", podSpec("big", "3"));
    const expected =
      "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.";
    const cond = await until("PodScheduled=False", async () => {
      const p = await client.get<Pod>("pods", "default", "big");
      return p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
    });
    expect(cond.reason).toBe("Unschedulable");
    expect(cond.message).toBe(expected);
    const ev = await until("a FailedScheduling event", async () => (await eventsFor("big")).find((e) => e.reason === "FailedScheduling"));
    expect(ev.type).toBe("Warning");
    expect(ev.message).toBe(expected);

    await addNode("w3", "4");
    const p = await until("big bound", async () => {
      const pod = await client.get<Pod>("pods", "default", "big");
      return pod.spec.nodeName ? pod : null;
    });
    expect(p.spec.nodeName).toBe("w3");
  }, 60_000);

  it("a node whose lease stops turns Unknown, is tainted unreachable and loses its pods", async () => {
    const onW1 = (await client.list<Pod>("pods", { namespace: "default", fieldSelector: "spec.nodeName=w1" })).items.map((p) => p.metadata.name);
    expect(onW1.length).toBeGreaterThan(0);
    renewing.delete("w1");

    const node = await until("w1 Ready=Unknown with taints", async () => {
      const n = await client.get<Node>("nodes", undefined, "w1");
      const ready = n.status?.conditions?.find((c) => c.type === "Ready");
      const taints = (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`);
      return ready?.status === "Unknown" && taints.includes("node.kubernetes.io/unreachable:NoExecute") ? n : null;
    });
    const ready = node.status!.conditions!.find((c) => c.type === "Ready")!;
    expect(ready.reason).toBe("NodeStatusUnknown");
    expect(ready.message).toBe("Kubelet stopped posting node status.");
    expect((node.spec!.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort()).toEqual([
      "node.kubernetes.io/unreachable:NoExecute",
      "node.kubernetes.io/unreachable:NoSchedule",
    ]);

    // No kubelet answers for w1, so its pods stay Terminating (as in Kubernetes) or are gone.
    await until("w1's pods evicted", async () => {
      for (const name of onW1) {
        try {
          const p = await client.get<Pod>("pods", "default", name!);
          if (!p.metadata.deletionTimestamp) return false;
        } catch (err) {
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
      }
      return true;
    });
    const ev = await until("a TaintManagerEviction event", async () => (await eventsFor(onW1[0]!)).find((e) => e.reason === "TaintManagerEviction"));
    expect(ev.message).toBe(`Marking for deletion Pod default/${onW1[0]}`);
    // w2's pods stay.
    const onW2 = (await client.list<Pod>("pods", { namespace: "default", fieldSelector: "spec.nodeName=w2" })).items;
    expect(onW2.every((p) => !p.metadata.deletionTimestamp)).toBe(true);

    // A new pod avoids the tainted node.
    await client.create("pods", podSpec("after", "100m"));
    const after = await until("after bound", async () => {
      const p = await client.get<Pod>("pods", "default", "after");
      return p.spec.nodeName ? p : null;
    });
    expect(after.spec.nodeName).not.toBe("w1");

    // The lease renews again: the taints go.
    renewing.add("w1");
    await until("w1 untainted", async () => {
      const n = await client.get<Node>("nodes", undefined, "w1");
      return (n.spec?.taints ?? []).length === 0 && n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    });
  }, 60_000);
});
