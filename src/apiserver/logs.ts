// pods/log: finds the pod's node and proxies the request to that node's
// kubelet (/containerLogs/{ns}/{pod}/{container}), streaming its answer back.
// A kubelet that cannot be reached answers a clear 503.

import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Node, Pod } from "../api/types.js";
import { errors, StatusError } from "./status.js";

const PASSED_PARAMS = ["follow", "tailLines", "sinceSeconds", "sinceTime", "timestamps", "previous", "limitBytes"];

export interface LogTarget {
  url: URL;
  node: string;
}

/** Where the logs of this pod's container are; throws 400 when the container is ambiguous or unknown. */
export function logTarget(pod: Pod, node: Node | null, query: URLSearchParams): LogTarget {
  const name = pod.metadata.name!;
  const containers = pod.spec?.containers ?? [];
  const initContainers = pod.spec?.initContainers ?? [];
  let container = query.get("container") ?? "";
  if (!container) {
    if (containers.length === 1) container = containers[0]!.name;
    else
      throw errors.badRequest(
        `a container name must be specified for pod ${name}, choose one of: [${containers.map((c) => c.name).join(" ")}]${initContainers.length ? ` or one of the init containers: [${initContainers.map((c) => c.name).join(" ")}]` : ""}`,
      );
  } else if (![...containers, ...initContainers].some((c) => c.name === container)) {
    throw errors.badRequest(`container ${container} is not valid for pod ${name}`);
  }
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  if (!node) throw errors.unavailable(`the node "${nodeName}" of pod ${name} is not registered; its kubelet is not reachable`);
  const ip = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!ip || !port) throw errors.unavailable(`the kubelet of node "${nodeName}" has not reported its address yet`);
  const url = new URL(`http://${ip.includes(":") ? `[${ip}]` : ip}:${port}/containerLogs/${encodeURIComponent(pod.metadata.namespace ?? "default")}/${encodeURIComponent(name)}/${encodeURIComponent(container)}`);
  for (const p of PASSED_PARAMS) {
    const v = query.get(p);
    if (v !== null && v !== "") url.searchParams.set(p, v);
  }
  return { url, node: nodeName };
}

/** Streams the kubelet's answer to res; rejects with a StatusError before anything was written. */
export function proxyLogs(target: LogTarget, token: string | null, _req: IncomingMessage, res: ServerResponse, localAddress?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      target.url,
      {
        method: "GET",
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(localAddress ? { localAddress } : {}),
        timeout: 10_000,
      },
      (up) => {
        upstream.setTimeout(0);
        const status = up.statusCode ?? 502;
        if (status >= 400) {
          const chunks: Buffer[] = [];
          up.on("data", (c: Buffer) => chunks.length < 64 && chunks.push(c));
          up.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8").trim();
            try {
              const parsed = JSON.parse(text) as { kind?: string };
              if (parsed.kind === "Status") {
                reject(new StatusError(parsed as StatusError["status"]));
                return;
              }
            } catch {
              // not a Status: wrap the text
            }
            reject(status === 404 ? errors.badRequest(text || "container not found") : errors.unavailable(`kubelet on node "${target.node}" answered ${status}: ${text}`));
          });
          return;
        }
        res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked", "cache-control": "no-cache" });
        up.pipe(res);
        up.on("end", () => resolve());
        up.on("error", () => {
          res.destroy();
          resolve();
        });
        res.on("close", () => {
          up.destroy();
          resolve();
        });
      },
    );
    upstream.on("timeout", () => upstream.destroy(new Error("timed out connecting")));
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        resolve();
        return;
      }
      reject(errors.unavailable(`the kubelet on node "${target.node}" is not reachable at ${target.url.host}: ${err.code ?? err.message}`));
    });
    res.on("close", () => upstream.destroy());
    upstream.end();
  });
}
