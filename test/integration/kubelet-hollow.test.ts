// Hollow nodes: `pinsetter node --hollow 3` against a real master. Each hollow
// node registers its own Node and Lease and runs its pods on the sim runtime:
// pods go Running with an IP, scripted exits and readiness take effect, and
// deletion completes; each serves its kubelet endpoints on its own port.

import { existsSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lease, Node, Pod } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { ClusterProcesses, PINSETTER } from "../lib/cluster-processes.js";
import { waitFor } from "./kubelet-helpers.js";

const TOKEN = "hollow-test-token";
const MASTER = { name: "m1", host: "127.0.0.181", raftPort: 7471, clientPort: 2571, apiPort: 6671 };
const PORT_BASE = 21_500;
const PREFIX = `hl${process.pid % 10000}`;

let cluster: ClusterProcesses | null = null;
let client: KubeClient;

function kubeletGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path, headers: { Authorization: `Bearer ${TOKEN}` }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

function simPod(name: string, node: string, annotations: Record<string, string>, extra: Partial<Pod["spec"]> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", annotations },
    spec: { nodeName: node, containers: [{ name: "app", image: "sim/app:1", readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 } }], ...extra },
  };
}

const get = (name: string) => client.get<Pod>("pods", "default", name);

describe.skipIf(!existsSync(PINSETTER))("hollow nodes", () => {
  beforeAll(async () => {
    cluster = new ClusterProcesses("pinsetter-hollow-", { clusterName: "hollow-test", dataDir: "data", token: TOKEN, raft: { heartbeatMs: 50, electionTimeoutMs: 500 }, masters: [MASTER], nodes: [] });
    cluster.startMaster("m1");
    client = new KubeClient({ servers: [`http://${MASTER.host}:${MASTER.apiPort}`], token: TOKEN, timeoutMs: 5000 });
    await waitFor("the API server", async () => (await client.list("namespaces")).items.length > 0, 60_000, 300);
    cluster.spawn(["node", "--hollow", "3", "--prefix", PREFIX, "--port-base", String(PORT_BASE), "--sim-start-delay-ms", "100", "--log-file", join(cluster.dir, "hollow.log")], { stdio: ["ignore", "ignore", "inherit"] });
  }, 120_000);

  afterAll(async () => {
    // SIGTERM, the hollow nodes first: they stop as on a real shutdown.
    await cluster?.stop({ signal: "SIGTERM" });
    client?.close();
  });

  it("registers N Ready nodes with their own Leases and kubelet ports", async () => {
    const nodes = await waitFor("3 Ready hollow nodes", async () => {
      const list = await client.list<Node>("nodes");
      const ours = list.items.filter((n) => n.metadata.name?.startsWith(`${PREFIX}-`) && n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True");
      return ours.length === 3 ? ours : null;
    }, 30_000);
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual([0, 1, 2].map((i) => `${PREFIX}-${i}`));
    for (const n of nodes) {
      const i = Number(n.metadata.name!.split("-").pop());
      expect(n.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(PORT_BASE + i);
      expect(n.metadata.labels?.["pinsetter.io/hollow"]).toBe("true");
      expect(n.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^sim:\/\//);
    }
    await waitFor("3 leases", async () => {
      const leases = await Promise.all([0, 1, 2].map((i) => client.get<Lease>("leases", "kube-node-lease", `${PREFIX}-${i}`)));
      return leases.every((l) => l.spec?.holderIdentity?.startsWith(PREFIX));
    });
  }, 60_000);

  it("runs pods on the sim runtime: Running and Ready with an IP, scripted exit and readiness, deletion", async () => {
    const node = `${PREFIX}-1`;
    await client.create("pods", simPod("sim-ok", node, {}));
    await client.create("pods", simPod("sim-done", node, { "sim.pinsetter.io/exit-after-ms": "300" }, { restartPolicy: "Never" }));
    await client.create("pods", simPod("sim-fail", node, { "sim.pinsetter.io/exit-after-ms": "300", "sim.pinsetter.io/exit-code": "3" }, { restartPolicy: "Never" }));
    await client.create("pods", simPod("sim-unready", node, { "sim.pinsetter.io/ready": "false", "sim.pinsetter.io/cpu": "250m" }));
    await client.create("pods", simPod("sim-other", `${PREFIX}-0`, {}));

    const ok = await waitFor("sim-ok Ready", async () => {
      const p = await get("sim-ok");
      return p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? p : null;
    }, 30_000);
    expect(ok.status?.phase).toBe("Running");
    expect(ok.status?.podIP).toMatch(/^10\.\d+\.1\.\d+$/);
    expect(ok.status?.containerStatuses?.[0]?.containerID).toMatch(/^sim:\/\//);

    await waitFor("sim-done Succeeded", async () => (await get("sim-done")).status?.phase === "Succeeded", 30_000);
    const failed = await waitFor("sim-fail Failed", async () => {
      const p = await get("sim-fail");
      return p.status?.phase === "Failed" ? p : null;
    }, 30_000);
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);

    const unready = await waitFor("sim-unready Running", async () => {
      const p = await get("sim-unready");
      return p.status?.phase === "Running" ? p : null;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await get("sim-unready")).status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
    expect(unready.spec.nodeName).toBe(node);

    // The nodes share one pod watch in the process; each sees only its own pods.
    const pods = JSON.parse(await kubeletGet(PORT_BASE + 1, "/pods")) as { items: Pod[] };
    expect(pods.items.map((p) => p.metadata.name).sort()).toEqual(["sim-done", "sim-fail", "sim-ok", "sim-unready"]);
    await waitFor("sim-other Running", async () => (await get("sim-other")).status?.phase === "Running");
    const pods0 = JSON.parse(await kubeletGet(PORT_BASE, "/pods")) as { items: Pod[] };
    expect(pods0.items.map((p) => p.metadata.name)).toEqual(["sim-other"]);
    const summary = JSON.parse(await kubeletGet(PORT_BASE + 1, "/stats/summary")) as { pods: { podRef: { name: string }; cpu: { usageNanoCores: number } }[] };
    const cpu = summary.pods.find((p) => p.podRef.name === "sim-unready")!.cpu.usageNanoCores;
    expect(cpu).toBeGreaterThan(200_000_000);
    expect(cpu).toBeLessThan(300_000_000);

    // Flip readiness through the annotation: the pod becomes Ready.
    await client.patch("pods", "default", "sim-unready", { metadata: { annotations: { "sim.pinsetter.io/ready": "true" } } }, "merge");
    await waitFor("sim-unready Ready", async () => (await get("sim-unready")).status?.conditions?.find((c) => c.type === "Ready")?.status === "True", 15_000);

    for (const name of ["sim-ok", "sim-done", "sim-fail", "sim-unready", "sim-other"]) await client.delete("pods", "default", name);
    await waitFor("pods gone", async () => (await client.list<Pod>("pods", { namespace: "default" })).items.filter((p) => p.metadata.name?.startsWith("sim-")).length === 0, 30_000);
  }, 90_000);
});
