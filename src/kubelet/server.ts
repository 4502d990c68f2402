// The kubelet's HTTP endpoints on host:kubeletPort (bearer token = cluster
// token): /healthz, /pods, /spec, /containerLogs/{ns}/{pod}/{container} and
// /stats/summary. The API server's pods/log proxies to /containerLogs.

import http from "node:http";
import type { Logger } from "pino";
import type { ObjectList, Pod } from "../api/types.js";
import type { LogOptions } from "./runtime.js";
import type { Summary } from "./stats.js";

/** What the server needs from a kubelet. */
export interface KubeletEndpoints {
  readonly nodeName: string;
  healthy(): boolean;
  pods(): Pod[];
  spec(): Record<string, unknown>;
  /** Resolves the container instance for logs; null when there is none. */
  logTarget(namespace: string, pod: string, container: string, previous: boolean): Promise<{ id: string } | { error: string; code: number }>;
  writeLogs(id: string, opts: LogOptions, out: (chunk: Buffer) => void, signal: AbortSignal): Promise<void>;
  summary(): Promise<Summary>;
}

export interface KubeletServerOptions {
  host: string;
  port: number;
  token: string;
  log: Logger;
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, { "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json" });
  res.end(text);
}

function intParam(q: URLSearchParams, name: string): number | undefined | null {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^\d+$/.test(v)) return null;
  return Number(v);
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "" || v === "1" || v === "true";
}

export class KubeletServer {
  private readonly server: http.Server;

  constructor(
    private readonly kubelet: KubeletEndpoints,
    private readonly opts: KubeletServerOptions,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.opts.log.warn({ err: err.message, url: req.url }, "kubelet request failed");
        if (!res.headersSent) send(res, 500, { error: err.message });
        else res.end();
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === "object" && a ? a.port : this.opts.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://kubelet");
    if (url.pathname === "/healthz" && req.method === "GET") return send(res, this.kubelet.healthy() ? 200 : 503, this.kubelet.healthy() ? "ok" : "unhealthy");
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) return send(res, 401, { error: "Unauthorized" });
    if (req.method !== "GET") return send(res, 405, { error: "method not allowed" });
    if (url.pathname === "/pods") {
      const list: ObjectList<Pod> = { apiVersion: "v1", kind: "PodList", metadata: {}, items: this.kubelet.pods() };
      return send(res, 200, list);
    }
    if (url.pathname === "/spec" || url.pathname === "/spec/") return send(res, 200, this.kubelet.spec());
    if (url.pathname === "/stats/summary") return send(res, 200, await this.kubelet.summary());
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
    if (m) return this.logs(req, res, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), decodeURIComponent(m[3]!), url.searchParams);
    return send(res, 404, { error: `no such endpoint ${url.pathname}` });
  }

  private async logs(req: http.IncomingMessage, res: http.ServerResponse, ns: string, pod: string, container: string, q: URLSearchParams): Promise<void> {
    const tailLines = intParam(q, "tailLines");
    const sinceSeconds = intParam(q, "sinceSeconds");
    if (tailLines === null || sinceSeconds === null) return send(res, 400, { error: "tailLines and sinceSeconds must be non-negative integers" });
    const target = await this.kubelet.logTarget(ns, pod, container, boolParam(q, "previous"));
    if ("error" in target) return send(res, target.code, { error: target.error });
    const opts: LogOptions = { follow: boolParam(q, "follow"), timestamps: boolParam(q, "timestamps") };
    if (tailLines !== undefined) opts.tailLines = tailLines;
    if (sinceSeconds !== undefined) opts.sinceSeconds = sinceSeconds;
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", ...(opts.follow ? { "Transfer-Encoding": "chunked" } : {}) });
    res.flushHeaders();
    const abort = new AbortController();
    req.on("close", () => abort.abort());
    res.on("close", () => abort.abort());
    await this.kubelet.writeLogs(target.id, opts, (chunk) => res.write(chunk), abort.signal);
    res.end();
  }
}
