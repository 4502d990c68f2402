// A kubelet survives a master going down: three masters, one `pinsetter node`
// (sim runtime, so no Docker is needed), kill -9 of the master the node talks
// to first. The node's Lease keeps being renewed through the others, and a pod
// bound to it afterwards still runs and reports its status.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lease, Pod } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { waitFor } from "./kubelet-helpers.js";

const ROOT = join(import.meta.dirname, "..", "..");
const PINSETTER = join(ROOT, "dist", "src", "cli", "pinsetter.js");
const TOKEN = "failover-test-token";
const MASTERS = [1, 2, 3].map((i) => ({ name: `m${i}`, host: `127.0.0.${150 + i}`, raftPort: 7491, clientPort: 2591, apiPort: 6691 }));
const NODE = { name: "fw1", host: "127.0.0.155", kubeletPort: 10391, runtime: "sim" };

let dir = "";
let configPath = "";
const masters = new Map<string, ChildProcess>();
let node: ChildProcess | null = null;
let client: KubeClient;

async function stop(child: ChildProcess | null | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

describe.skipIf(!existsSync(PINSETTER))("kubelet and a master going down", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pinsetter-kfail-"));
    configPath = join(dir, "cluster.config.json");
    writeFileSync(configPath, JSON.stringify({ clusterName: "kfail", dataDir: "data", token: TOKEN, raft: { heartbeatMs: 50, electionTimeoutMs: 500 }, masters: MASTERS, nodes: [NODE] }));
    for (const m of MASTERS) {
      masters.set(m.name, spawn(process.execPath, [PINSETTER, "--config", configPath, "master", "--name", m.name, "--log-file", join(dir, `${m.name}.log`)], { stdio: "ignore" }));
    }
    client = new KubeClient({ servers: MASTERS.map((m) => `http://${m.host}:${m.apiPort}`), token: TOKEN, timeoutMs: 5000 });
    await waitFor("the API server", async () => (await client.list("namespaces")).items.length > 0, 90_000, 300);
    node = spawn(process.execPath, [PINSETTER, "--config", configPath, "node", "--name", NODE.name, "--log-file", join(dir, "node.log")], { stdio: ["ignore", "ignore", "inherit"] });
  }, 120_000);

  afterAll(async () => {
    await stop(node);
    for (const m of masters.values()) await stop(m);
    client?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps renewing its Lease and running pods after kill -9 of the first master", async () => {
    const renewTime = async () => (await client.get<Lease>("leases", "kube-node-lease", NODE.name)).spec?.renewTime ?? "";
    await waitFor("the node's Lease", renewTime, 30_000);
    await client.create<Pod>("pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "before", namespace: "default" }, spec: { nodeName: NODE.name, containers: [{ name: "a", image: "sim/a:1" }] } });
    await waitFor("pod before Running", async () => (await client.get<Pod>("pods", "default", "before")).status?.phase === "Running", 30_000);

    // The node's client starts with the first master of the config.
    await stop(masters.get("m1"), "SIGKILL");
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
