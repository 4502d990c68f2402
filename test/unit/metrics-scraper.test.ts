// The metrics pipeline around a stand-in kubelet and API on loopback: cpu
// rates come from usageCoreNanoSeconds between scrapes (a kubelet whose
// usageNanoCores says 0 is not believed), memory is the working set, pods
// with an unmeasured container are left out, label selectors pick pods, and
// a node that stops answering loses its metrics.

import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../src/client/kube-client.js";
import { createMetricsHandler } from "../../src/metrics/api.js";
import { MetricsScraper } from "../../src/metrics/scraper.js";
import type { Summary } from "../../src/metrics/types.js";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r((server.address() as AddressInfo).port)));
}

describe("metrics scraper", () => {
  it("turns cumulative cpu into nanocores, serves metrics.k8s.io, and forgets a silent node", async () => {
    const t0 = Date.now();
    let kubeletUp = true;
    const kubeletPort = await listen((req, res) => {
      if (!kubeletUp || req.headers.authorization !== "Bearer tok") {
        res.writeHead(kubeletUp ? 401 : 503).end();
        return;
      }
      const busy = ((Date.now() - t0) * 1e6) / 2; // half a core since t0
      const now = new Date(t0).toISOString(); // a kubelet whose sample time never advances
      const summary: Summary = {
        node: { nodeName: "n1", cpu: { time: now, usageNanoCores: 0, usageCoreNanoSeconds: busy * 2 }, memory: { time: now, workingSetBytes: 64 * 1048576 } },
        pods: [
          {
            podRef: { name: "web-1", namespace: "default", uid: "u1" },
            containers: [{ name: "c", cpu: { time: now, usageNanoCores: 0, usageCoreNanoSeconds: busy }, memory: { time: now, workingSetBytes: 8 * 1048576 } }],
          },
          { podRef: { name: "half", namespace: "default", uid: "u2" }, containers: [{ name: "c" }] },
        ],
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(summary));
    });
    const apiPort = await listen((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/api/v1/nodes") {
        const node = { metadata: { name: "n1", labels: { zone: "a" } }, status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } } } };
        res.writeHead(200).end(JSON.stringify({ kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: [node] }));
        return;
      }
      if (url.pathname === "/api/v1/namespaces/default/pods") {
        const sel = url.searchParams.get("labelSelector");
        const items = sel === "app=web" ? [{ metadata: { name: "web-1", namespace: "default", labels: { app: "web" } }, spec: { containers: [] } }] : [];
        res.writeHead(200).end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items }));
        return;
      }
      res.writeHead(404).end();
    });
    const client = new KubeClient({ servers: [`http://127.0.0.1:${apiPort}`] });
    closers.push(() => client.close());
    const scraper = new MetricsScraper({ client, token: "tok", logger: pino({ level: "silent" }) });
    closers.push(() => scraper.stop());

    await scraper.scrapeOnce();
    // One sample gives no rate yet, and the kubelet's own 0 is not believed.
    expect(scraper.nodeMetrics()).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    await scraper.scrapeOnce();

    const [node] = scraper.nodeMetrics();
    const nodeCores = Number(node!.usage.cpu.slice(0, -1)) / 1e9;
    expect(nodeCores).toBeGreaterThan(0.9);
    expect(nodeCores).toBeLessThan(1.1);
    expect(node!.usage.memory).toBe(`${64 * 1024}Ki`);

    const pods = scraper.podMetrics("default");
    expect(pods.map((p) => p.metadata.name)).toEqual(["web-1"]); // "half" has an unmeasured container
    const podCores = Number(pods[0]!.containers[0]!.usage.cpu.slice(0, -1)) / 1e9;
    expect(podCores).toBeGreaterThan(0.45);
    expect(podCores).toBeLessThan(0.55);

    // Served as metrics-server serves it, selectors resolved against the pods.
    const handler = createMetricsHandler(scraper, client);
    const metricsPort = await listen((req, res) => {
      void handler(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
      return { status: r.status, body: (await r.json()) as { items?: { metadata: { name: string } }[]; reason?: string } };
    };
    expect((await get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb")).body.items?.map((i) => i.metadata.name)).toEqual(["web-1"]);
    expect((await get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dother")).body.items).toEqual([]);
    expect((await get("/apis/metrics.k8s.io/v1beta1/nodes/n1")).status).toBe(200);
    const missing = await get("/apis/metrics.k8s.io/v1beta1/nodes/nope");
    expect(missing.status).toBe(404);
    expect(missing.body.reason).toBe("NotFound");

    kubeletUp = false;
    await scraper.scrapeOnce();
    expect(scraper.nodeMetrics()).toEqual([]);
  });
});
