// In-process throughput of the greedy placer on the default profile: N nodes,
// M pods in deployments of equal size, placed one by one on the scheduler's
// cache with each decision assumed before the next (what the scheduler loop
// does, minus the API). The ceiling for pods bound per second end to end.
//
//   npm run build && node dist/bench/scheduler/placer.js [nodes=1000] [pods=10000] [perOwner=100]

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Node, Pod } from "../../src/api/types.js";
import { SchedulerCache } from "../../src/scheduler/cache.js";
import { Framework } from "../../src/scheduler/framework.js";
import { GreedyPlacer } from "../../src/scheduler/placer.js";
import { defaultProfile } from "../../src/scheduler/plugins/index.js";
import { newPodInfo } from "../../src/scheduler/types.js";

const [nodesN = 1000, podsN = 10_000, perOwner = 100] = process.argv.slice(2).map(Number);

function node(i: number): Node {
  const name = `hollow-${i}`;
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: {},
    status: { allocatable: { cpu: "4", memory: "16Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
  };
}

function pod(i: number): Pod {
  const owner = `rs-${Math.floor(i / perOwner)}`;
  return {
    metadata: {
      name: `p-${i}`,
      namespace: "default",
      uid: `uid-${i}`,
      labels: { app: owner },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: owner, uid: `uid-${owner}`, controller: true }],
    },
    spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu: "100m", memory: "128Mi" } } }] },
  };
}

const cache = new SchedulerCache();
for (let i = 0; i < nodesN; i++) cache.upsertNode(node(i));
const placer = new GreedyPlacer(new Framework(defaultProfile()));
const pods = Array.from({ length: podsN }, (_, i) => newPodInfo(pod(i)));

const latencies: number[] = [];
let placed = 0;
const t0 = performance.now();
for (const pi of pods) {
  const s = performance.now();
  placer.place([pi], cache.snapshot(), (p) => {
    if (p.node) {
      cache.assume(p.pod, p.node);
      placed++;
    }
  });
  latencies.push(performance.now() - s);
}
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(3);

// How evenly did the deployments spread? Max pods of one owner on one node.
let worst = 0;
for (const ni of cache.snapshot().nodes) for (const n of ni.ownerCounts.values()) worst = Math.max(worst, n);

const report = {
    date: new Date().toISOString(),
    nodes: nodesN,
    pods: podsN,
    placed,
    seconds: Number(seconds.toFixed(2)),
    podsPerSecond: Math.round(placed / seconds),
    decisionMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99) },
    maxPodsOfOneOwnerOnOneNode: worst,
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    loadAverage: os.loadavg()[0],
};
console.log(JSON.stringify(report));
const out = path.join(import.meta.dirname, "..", "..", "..", "bench", "results");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, `scheduler-placer-${nodesN}n-${podsN}p.json`), JSON.stringify(report, null, 2) + "\n");
