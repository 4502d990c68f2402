// bench/api: the HTTP API of three masters on this machine. Creates/s and
// update latency at 1, 16 and 64 clients; list latency with 10,000 pods
// (whole, label-selected, paginated by 500); watch fan-out to 100 watchers
// (events/s delivered, delay from write to delivery). Writes
// bench/results/api.json and api.md.
//
//   npm run build && node dist/bench/api/run.js [--pods 10000] [--watchers 100]

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigMap, Pod } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const PINSETTER = join(ROOT, "dist", "src", "cli", "pinsetter.js");
const TOKEN = "bench-api-token";
const masters = ["127.0.0.191", "127.0.0.192", "127.0.0.193"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7731, clientPort: 2809, apiPort: 6873 }));

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const PODS = arg("pods", 10_000);
const WATCHERS = arg("watchers", 100);
const OPS = arg("ops", 2000);

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function clients(): KubeClient[] {
  return masters.map((m) => new KubeClient({ servers: [`http://${m.host}:${m.apiPort}`], token: TOKEN, timeoutMs: 30_000 }));
}

/** Runs `total` operations with `concurrency` workers spread over the masters; returns latencies (ms) and wall time. */
async function load(cs: KubeClient[], concurrency: number, total: number, op: (c: KubeClient, i: number) => Promise<unknown>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const c = cs[w % cs.length]!;
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = performance.now();
        await op(c, i);
        lat.push(performance.now() - s);
      }
    }),
  );
  return { lat, seconds: (performance.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-api-"));
  const config = join(dir, "cluster.config.json");
  writeFileSync(config, JSON.stringify({ clusterName: "bench-api", dataDir: "data", token: TOKEN, raft: { heartbeatMs: 100, electionTimeoutMs: 1000, snapshotEvery: 20000 }, masters, nodes: [] }));
  const children: ChildProcess[] = masters.map((m) =>
    spawn(process.execPath, [PINSETTER, "--config", config, "master", "--name", m.name, "--log-file", join(dir, `${m.name}.log`)], { stdio: "ignore", env: { ...process.env, PINSETTER_LOG_LEVEL: "warn" } }),
  );
  const cs = clients();
  const results: Record<string, unknown> = { date: new Date().toISOString(), masters: masters.length, machine: `${process.platform}/${process.arch} node ${process.version}` };
  try {
    await until("the API on every master", async () => {
      for (const c of cs) await c.get("namespaces", undefined, "default");
      return true;
    });

    // ---------------------------------------------------------- writes
    const writes: Record<string, unknown>[] = [];
    for (const conc of [1, 16, 64]) {
      const n = conc === 1 ? Math.min(OPS, 500) : OPS;
      const created = await load(cs, conc, n, (c, i) =>
        c.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `w${conc}-${i}` }, data: { v: "0" } }),
      );
      const updated = await load(cs, conc, n, (c, i) => c.patch("configmaps", "default", `w${conc}-${i}`, { data: { v: "1" } }));
      const row = {
        clients: conc,
        createsPerSec: Math.round(n / created.seconds),
        createP50: round(percentile(created.lat, 50)),
        createP99: round(percentile(created.lat, 99)),
        updatesPerSec: Math.round(n / updated.seconds),
        updateP50: round(percentile(updated.lat, 50)),
        updateP99: round(percentile(updated.lat, 99)),
      };
      writes.push(row);
      console.log("writes", row);
    }
    results.writes = writes;

    // ---------------------------------------------------------- lists
    const fill = await load(cs, 64, PODS, (c, i) =>
      c.create<Pod>("pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `pod-${i}`, labels: { app: `app-${i % 100}`, tier: i % 2 ? "web" : "db" } },
        spec: { nodeName: `node-${i % 50}`, containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "100m", memory: "64Mi" } } }] },
      }),
    );
    console.log(`created ${PODS} pods at ${Math.round(PODS / fill.seconds)}/s`);
    const timeList = async (what: string, runs: number, f: (c: KubeClient) => Promise<number>) => {
      const lat: number[] = [];
      let items = 0;
      for (let i = 0; i < runs; i++) {
        const c = cs[i % cs.length]!;
        const s = performance.now();
        items = await f(c);
        lat.push(performance.now() - s);
      }
      const row = { what, items, p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)) };
      console.log("list", row);
      return row;
    };
    results.lists = [
      await timeList("all pods (consistent read)", 20, async (c) => (await c.list("pods", { namespace: "default" })).items.length),
      await timeList("all pods (resourceVersion=0)", 20, async (c) => (await c.list("pods", { namespace: "default", resourceVersion: "0" })).items.length),
      await timeList("label-selected (app=app-7)", 20, async (c) => (await c.list("pods", { namespace: "default", labelSelector: "app=app-7" })).items.length),
      await timeList("field-selected (spec.nodeName=node-3)", 20, async (c) => (await c.list("pods", { namespace: "default", fieldSelector: "spec.nodeName=node-3" })).items.length),
      await timeList("paginated by 500 (all pages)", 5, async (c) => (await c.listAll("pods", { namespace: "default", limit: 500 })).items.length),
    ];

    // ---------------------------------------------------------- watch fan-out
    const delays: number[] = [];
    let delivered = 0;
    const streams: http.ClientRequest[] = [];
    const rv = (await cs[0]!.list("configmaps", { namespace: "default", limit: 1 })).metadata.resourceVersion!;
    for (let w = 0; w < WATCHERS; w++) {
      const m = masters[w % masters.length]!;
      const req = http.request(`http://${m.host}:${m.apiPort}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&labelSelector=fan=out`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        agent: false,
      });
      req.on("response", (res) => {
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const ev = JSON.parse(line) as { object: ConfigMap };
            const sent = Number(ev.object.data?.t ?? NaN);
            if (!Number.isNaN(sent)) delays.push(Date.now() - sent);
            delivered++;
          }
        });
      });
      req.on("error", () => {});
      req.end();
      streams.push(req);
    }
    await sleep(1000);
    const EVENTS = 500;
    const t0 = performance.now();
    await load(cs, 16, EVENTS, (c, i) =>
      c.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `fan-${i}`, labels: { fan: "out" } }, data: { t: String(Date.now()) } }),
    );
    const want = EVENTS * WATCHERS;
    const deadline = Date.now() + 30_000;
    while (delivered < want && Date.now() < deadline) await sleep(50);
    const seconds = (performance.now() - t0) / 1000;
    for (const s of streams) s.destroy();
    results.watch = {
      watchers: WATCHERS,
      events: EVENTS,
      delivered,
      deliveredPerSec: Math.round(delivered / seconds),
      delayP50: round(percentile(delays, 50)),
      delayP99: round(percentile(delays, 99)),
    };
    console.log("watch", results.watch);
  } finally {
    for (const c of cs) c.close();
    for (const ch of children) ch.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
  const outDir = join(ROOT, "bench", "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "api.json"), JSON.stringify(results, null, 2));
  writeFileSync(join(outDir, "api.md"), report(results));
  console.log(`wrote ${join(outDir, "api.md")}`);
}

function report(r: Record<string, unknown>): string {
  const writes = r.writes as Record<string, number>[];
  const lists = r.lists as { what: string; items: number; p50: number; p99: number }[];
  const w = r.watch as Record<string, number>;
  return [
    `# bench/api (${r.date}, ${r.masters} masters on one machine, ${r.machine})`,
    "",
    "Writes (configmaps; creates, then a merge patch of each), clients spread over the masters:",
    "",
    "| clients | creates/s | create p50 ms | create p99 ms | updates/s | update p50 ms | update p99 ms |",
    "|---|---|---|---|---|---|---|",
    ...writes.map((x) => `| ${x.clients} | ${x.createsPerSec} | ${x.createP50} | ${x.createP99} | ${x.updatesPerSec} | ${x.updateP50} | ${x.updateP99} |`),
    "",
    `Lists with ${PODS} pods:`,
    "",
    "| list | items | p50 ms | p99 ms |",
    "|---|---|---|---|",
    ...lists.map((x) => `| ${x.what} | ${x.items} | ${x.p50} | ${x.p99} |`),
    "",
    `Watch fan-out: ${w.watchers} watchers over the masters, ${w.events} creates: ${w.delivered} events delivered, ${w.deliveredPerSec} events/s, delay from write to delivery p50 ${w.delayP50} ms, p99 ${w.delayP99} ms.`,
    "",
  ].join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
