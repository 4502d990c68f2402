// A kubelet survives a master going down: three masters, one `pinsetter node`
// (sim runtime, so no Docker is needed), kill -9 of the master the node talks
// to first. The node's Lease keeps being renewed through the others, and a pod
// bound to it afterwards still runs and reports its status.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lease, Pod } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { apiServers, ClusterProcesses, PINSETTER } from "../lib/cluster-processes.js";
import { waitFor } from "./kubelet-helpers.js";

const TOKEN = "failover-test-token";
const MASTERS = [1, 2, 3].map((i) => ({ name: `m${i}`, host: `127.0.0.${150 + i}`, raftPort: 7491, clientPort: 2591, apiPort: 6691 }));
const NODE = { name: "fw1", host: "127.0.0.155", kubeletPort: 10391, runtime: "sim" };

let cluster: ClusterProcesses | null = null;
let client: KubeClient;

describe.skipIf(!existsSync(PINSETTER))("kubelet and a master going down", () => {
  beforeAll(async () => {
    cluster = new ClusterProcesses("pinsetter-kfail-", { clusterName: "kfail", dataDir: "data", token: TOKEN, raft: { heartbeatMs: 50, electionTimeoutMs: 500 }, masters: MASTERS, nodes: [NODE] });
    for (const m of MASTERS) cluster.startMaster(m.name);
    client = new KubeClient({ servers: apiServers(MASTERS), token: TOKEN, timeoutMs: 5000 });
    await waitFor("the API server", async () => (await client.list("namespaces")).items.length > 0, 90_000, 300);
    cluster.spawn(["node", "--name", NODE.name, "--log-file", join(cluster.dir, "node.log")], { key: "node", stdio: ["ignore", "ignore", "inherit"] });
  }, 120_000);

  afterAll(async () => {
    // SIGTERM, the node first: it stops as on a real shutdown.
    await cluster?.stop({ signal: "SIGTERM" });
    client?.close();
  });

  it("keeps renewing its Lease and running pods after kill -9 of the first master", async () => {
    const renewTime = async () => (await client.get<Lease>("leases", "kube-node-lease", NODE.name)).spec?.renewTime ?? "";
    await waitFor("the node's Lease", renewTime, 30_000);
    await client.create<Pod>("pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "before", namespace: "default" }, spec: { nodeName: NODE.name, containers: [{ name: "a", image: "sim/a:1" }] } });
    await waitFor("pod before Running", async () => (await client.get<Pod>("pods", "default", "before")).status?.phase === "Running", 30_000);

    // The node's client starts with the first master of the config.
    await cluster!.kill("m1", "SIGKILL");
    const first = await waitFor("a renewal after the kill", renewTime, 30_000);
    await waitFor("the Lease renewed again", async () => (await renewTime()) > first, 30_000);

    await client.create<Pod>("pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "after", namespace: "default" }, spec: { nodeName: NODE.name, containers: [{ name: "a", image: "sim/a:1" }] } });
    const after = await waitFor("pod after Running", async () => {
      const p = await client.get<Pod>("pods", "default", "after");
      return p.status?.phase === "Running" ? p : null;
    }, 30_000);
    expect(after.status?.podIP).toBeTruthy();
    expect(after.status?.hostIP).toBe(NODE.host);
  }, 150_000);
});
