// Scrapes every node's kubelet (/stats/summary) every few seconds and keeps
// the latest usage of each node and pod in memory, as metrics-server does.
// Runs on every master, so any master answers metrics.k8s.io; nothing goes
// through Raft. Memory is bounded by what the cluster has now: only the last
// sample per node is kept and nodes that left are forgotten.

import http from "node:http";
import type { Logger } from "pino";
import type { KubeClient } from "../client/kube-client.js";
import type { Node } from "../api/types.js";
import type { NodeMetrics, PodMetrics, ResourceUsage, Summary } from "./types.js";
import { METRICS_GROUP_VERSION } from "./types.js";

export interface ScraperOptions {
  client: KubeClient;
  /** Bearer token for the kubelets (the cluster token). */
  token: string;
  localAddress?: string;
  intervalMs?: number;
  /** Kubelets scraped at once. */
  concurrency?: number;
  timeoutMs?: number;
  logger: Logger;
}

/** Largest summary body accepted from a kubelet. */
const MAX_SUMMARY_BYTES = 16 * 1024 * 1024;

interface NodeSample {
  scrapedAt: number;
  summary: Summary;
  /** cumulative cpu per "node" or "ns/pod/container" at the previous scrape, for nodes that only report usageCoreNanoSeconds */
  cumulative: Map<string, { t: number; ns: number }>;
  /** nanocores per "node" or "ns/pod/container", from the previous sample */
  rates: Map<string, number>;
}

export class MetricsScraper {
  private readonly samples = new Map<string, NodeSample>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly agent: http.Agent;
  private stopped = false;

  constructor(private readonly opts: ScraperOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 32, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  }

  get intervalMs(): number {
    return this.opts.intervalMs ?? 5000;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.inFlight = this.scrapeOnce()
        .catch((err: unknown) => this.opts.logger.debug({ err }, "metrics scrape failed"))
        .finally(() => {
          this.inFlight = null;
          if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, 500);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
    this.agent.destroy();
  }

  /** One pass over every node of the cluster. */
  async scrapeOnce(): Promise<void> {
    const nodes = (await this.opts.client.listAll<Node>("nodes")).items;
    const names = new Set(nodes.map((n) => n.metadata.name!));
    for (const name of this.samples.keys()) if (!names.has(name)) this.samples.delete(name);
    const queue = [...nodes];
    const workers = Array.from({ length: Math.min(this.opts.concurrency ?? 32, queue.length) }, async () => {
      for (let node = queue.shift(); node; node = queue.shift()) await this.scrapeNode(node);
    });
    await Promise.all(workers);
  }

  private async scrapeNode(node: Node): Promise<void> {
    const name = node.metadata.name!;
    const address = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!address || !port) return;
    try {
      const summary = await this.fetchSummary(address, port);
      const scrapedAt = Date.now();
      this.samples.set(name, { scrapedAt, summary, ...computeRates(summary, scrapedAt, this.samples.get(name)) });
    } catch (err) {
      // A node that stopped answering keeps no stale usage.
      this.samples.delete(name);
      this.opts.logger.debug({ err, node: name }, "kubelet summary unavailable");
    }
  }

  private fetchSummary(host: string, port: number): Promise<Summary> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host, port, path: "/stats/summary", agent: this.agent, headers: { Authorization: `Bearer ${this.opts.token}` }, timeout: this.opts.timeoutMs ?? 3000 },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_SUMMARY_BYTES) req.destroy(new Error("summary too large"));
            else chunks.push(c);
          });
          res.on("end", () => {
            if (res.statusCode !== 200) return reject(new Error(`kubelet answered ${res.statusCode}`));
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Summary);
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("kubelet summary timed out")));
      req.on("error", reject);
    });
  }

  // ------------------------------------------------------------------ reads

  nodeMetrics(): NodeMetrics[] {
    const out: NodeMetrics[] = [];
    for (const [name, s] of this.samples) {
      const n = s.summary.node;
      const cpu = this.cpuNanoCores(s, "node", n.cpu);
      const memory = n.memory?.workingSetBytes;
      if (cpu === undefined || memory === undefined) continue;
      out.push({
        kind: "NodeMetrics",
        apiVersion: METRICS_GROUP_VERSION,
        metadata: { name, creationTimestamp: new Date().toISOString() },
        // The window ends when this master took the sample: the rate is computed
        // between its own scrapes, and kubelets may not advance their sample times.
        timestamp: new Date(s.scrapedAt).toISOString(),
        window: `${Math.round(this.intervalMs / 1000)}s`,
        usage: usage(cpu, memory),
      });
    }
    return out.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  podMetrics(namespace?: string): PodMetrics[] {
    const out: PodMetrics[] = [];
    for (const s of this.samples.values()) {
      for (const p of s.summary.pods ?? []) {
        if (namespace && p.podRef.namespace !== namespace) continue;
        const containers: PodMetrics["containers"] = [];
        let complete = true;
        for (const c of p.containers ?? []) {
          const cpu = this.cpuNanoCores(s, `${p.podRef.namespace}/${p.podRef.name}/${c.name}`, c.cpu);
          const memory = c.memory?.workingSetBytes;
          if (cpu === undefined || memory === undefined) {
            complete = false;
            break;
          }
          containers.push({ name: c.name, usage: usage(cpu, memory) });
        }
        // metrics-server leaves out pods with a container it could not measure.
        if (!complete || containers.length === 0) continue;
        out.push({
          kind: "PodMetrics",
          apiVersion: METRICS_GROUP_VERSION,
          metadata: { name: p.podRef.name, namespace: p.podRef.namespace, creationTimestamp: new Date().toISOString() },
          timestamp: new Date(s.scrapedAt).toISOString(),
          window: `${Math.round(this.intervalMs / 1000)}s`,
          containers,
        });
      }
    }
    return out.sort((a, b) => (a.metadata.namespace + "/" + a.metadata.name).localeCompare(b.metadata.namespace + "/" + b.metadata.name));
  }

  /** The cpu rate computed when the sample was taken, or the kubelet's own figure. */
  private cpuNanoCores(s: NodeSample, key: string, cpu: Summary["node"]["cpu"]): number | undefined {
    if (!cpu) return undefined;
    const rate = s.rates.get(key);
    if (rate !== undefined) return rate;
    return typeof cpu.usageNanoCores === "number" && typeof cpu.usageCoreNanoSeconds !== "number" ? cpu.usageNanoCores : undefined;
  }
}

/**
 * CPU rates from usageCoreNanoSeconds between two scrapes, by this master's
 * clock (a kubelet's sample times may not advance, and its usageNanoCores
 * may be computed over an interval of its own choosing).
 */
function computeRates(summary: Summary, scrapedAt: number, previous: NodeSample | undefined): { cumulative: NodeSample["cumulative"]; rates: Map<string, number> } {
  const cumulative: NodeSample["cumulative"] = new Map();
  const rates = new Map<string, number>();
  const track = (key: string, cpu: Summary["node"]["cpu"]) => {
    if (!cpu || typeof cpu.usageCoreNanoSeconds !== "number") return;
    cumulative.set(key, { t: scrapedAt, ns: cpu.usageCoreNanoSeconds });
    const prev = previous?.cumulative.get(key);
    if (prev && scrapedAt > prev.t && cpu.usageCoreNanoSeconds >= prev.ns) {
      rates.set(key, ((cpu.usageCoreNanoSeconds - prev.ns) / (scrapedAt - prev.t)) * 1000);
    }
  };
  track("node", summary.node.cpu);
  for (const p of summary.pods ?? []) {
    for (const c of p.containers ?? []) track(`${p.podRef.namespace}/${p.podRef.name}/${c.name}`, c.cpu);
  }
  return { cumulative, rates };
}

function usage(nanoCores: number, workingSetBytes: number): ResourceUsage {
  return { cpu: `${Math.round(nanoCores)}n`, memory: `${Math.round(workingSetBytes / 1024)}Ki` };
}
