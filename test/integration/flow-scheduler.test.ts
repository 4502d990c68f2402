// The flow placer on three real masters (`pinsetter master`, built) with
// hollow nodes (`pinsetter node --hollow`): the leader master runs the
// "flow-scheduler" loop (config scheduler section), a burst of pods asking
// for it by spec.schedulerName is placed in batches by min-cost flow, bound
// through the API and run by the hollow kubelets; pods too large for every
// node get the greedy scheduler's FitError message.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Node, Pod } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";

const ROOT = join(import.meta.dirname, "..", "..");
const PINSETTER = join(ROOT, "dist", "src", "cli", "pinsetter.js");
const TOKEN = "flow-scheduler-token";
const masters = ["127.0.0.231", "127.0.0.232", "127.0.0.233"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7231, clientPort: 2731, apiPort: 6731 }));
const NODES = 8;
const BURST = 200;

let dir = "";
let config = "";
const children: ChildProcess[] = [];
let client: KubeClient;

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function spawnTracked(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [PINSETTER, "--config", config, ...args], { stdio: "ignore" });
  children.push(child);
  return child;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flow-scheduler-it-"));
  config = join(dir, "cluster.config.json");
  writeFileSync(
    config,
    JSON.stringify({ clusterName: "flow-it", dataDir: "data", token: TOKEN, scheduler: { batchSize: 500 }, masters, nodes: [] }),
  );
  for (const m of masters) spawnTracked(["master", "--name", m.name, "--log-level", "debug", "--log-file", join(dir, `${m.name}.log`)]);
  client = new KubeClient({ servers: masters.map((m) => `http://${m.host}:${m.apiPort}`), token: TOKEN, timeoutMs: 10_000 });
  await until("the API to answer", async () => client.get("namespaces", undefined, "default"), 45_000);
  spawnTracked(["node", "--hollow", String(NODES), "--prefix", "flowit", "--port-base", "25600", "--sim-start-delay-ms", "50", "--log-file", join(dir, "hollow.log")]);
  await until(
    `${NODES} ready hollow nodes`,
    async () => (await client.list<Node>("nodes")).items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === NODES,
    45_000,
  );
}, 120_000);

afterAll(async () => {
  client?.close();
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGKILL");
      await exited;
    }
  }
  if (dir && !process.env.KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

function pod(name: string, app: string, cpu: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app } },
    spec: { schedulerName: "flow-scheduler", containers: [{ name: "c", image: "pinsetter/busybox:1", resources: { requests: { cpu, memory: "64Mi" } } }] },
  };
}

describe("flow scheduler on real masters and hollow nodes", () => {
  it("places a burst of pods in batches by min-cost flow; pods too large keep greedy's reason", async () => {
    const sizes = ["100m", "250m", "500m"];
    const burst = Array.from({ length: BURST }, (_, i) => pod(`burst-${i}`, `app-${i % 3}`, sizes[i % 3]!));
    const huge = [0, 1, 2].map((i) => pod(`huge-${i}`, "huge", "64"));
    // All at once, 50 in flight: the scheduler's queue fills faster than one pod per cycle.
    const all = [...burst, ...huge];
    for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((p) => client.create("pods", p)));

    const bound = await until(
      `${BURST} pods bound`,
      async () => {
        const pods = (await client.list<Pod>("pods", { namespace: "default" })).items.filter((p) => p.metadata.name?.startsWith("burst-"));
        return pods.length === BURST && pods.every((p) => p.spec.nodeName) ? pods : null;
      },
      90_000,
    );
    const perNode = new Map<string, number>();
    for (const p of bound) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    // Every node used, none near its 110 pod slots: the flow evens the load out.
    expect(perNode.size).toBe(NODES);
    expect(Math.max(...perNode.values())).toBeLessThanOrEqual((2 * BURST) / NODES);

    const expected = `0/${NODES} nodes are available: ${NODES} Insufficient cpu. preemption: 0/${NODES} nodes are available: ${NODES} No preemption victims found for incoming pod.`;
    for (const h of huge) {
      const cond = await until(`${h.metadata.name} PodScheduled=False`, async () => {
        const p = await client.get<Pod>("pods", "default", h.metadata.name!);
        return p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
      });
      expect(cond.message).toBe(expected);
    }

    // The hollow kubelets run what was bound.
    await until("burst pods Running", async () => {
      const pods = (await client.list<Pod>("pods", { namespace: "default" })).items.filter((p) => p.metadata.name?.startsWith("burst-"));
      return pods.filter((p) => p.status?.phase === "Running").length === BURST;
    }, 60_000);

    // The leader's flow scheduler placed batches of more than one pod by flow.
    const lines = masters
      .flatMap((m) => readFileSync(join(dir, `${m.name}.log`), "utf8").split("\n"))
      .filter((l) => l.includes('"flow placement"'))
      .map((l) => JSON.parse(l) as { pods: number; placedByFlow: number; unschedulable: number });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.reduce((n, l) => n + l.placedByFlow, 0)).toBeGreaterThan(0);
    expect(Math.max(...lines.map((l) => l.pods))).toBeGreaterThan(1);
  }, 180_000);
});
