// The metrics.k8s.io/v1beta1 API (nodes and pods), served from the scraper's
// memory on every master, as metrics-server serves it: `kubectl top` and the
// HPA controller read it. Label selectors are resolved against the real
// objects through the API (the metrics themselves carry no labels).

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Node, Pod } from "../api/types.js";
import type { KubeClient } from "../client/kube-client.js";
import { KubeApiError } from "../client/kube-client.js";
import type { MetricsScraper } from "./scraper.js";
import { METRICS_GROUP, METRICS_GROUP_VERSION, METRICS_VERSION } from "./types.js";

export const METRICS_API_GROUP = {
  name: METRICS_GROUP,
  versions: [{ groupVersion: METRICS_GROUP_VERSION, version: METRICS_VERSION }],
  preferredVersion: { groupVersion: METRICS_GROUP_VERSION, version: METRICS_VERSION },
};

export const METRICS_RESOURCE_LIST = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: METRICS_GROUP_VERSION,
  resources: [
    { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] },
    { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] },
  ],
};

export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Returns a handler that answers metrics.k8s.io paths (true) and leaves the rest (false). */
export function createMetricsHandler(scraper: MetricsScraper, client: KubeClient): MetricsHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname.replace(/\/+$/, "");
    if (!path.startsWith(`/apis/${METRICS_GROUP}`)) return false;
    if (req.method !== "GET") {
      send(res, 405, status(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`));
      return true;
    }
    const parts = path.split("/").slice(1); // apis, metrics.k8s.io, v1beta1, ...
    const selector = url.searchParams.get("labelSelector") ?? undefined;
    try {
      if (parts.length === 2) return send(res, 200, { kind: "APIGroup", apiVersion: "v1", ...METRICS_API_GROUP });
      if (parts[2] !== METRICS_VERSION) return send(res, 404, status(404, "NotFound", `the server could not find the requested resource`));
      const rest = parts.slice(3);
      if (rest.length === 0) return send(res, 200, METRICS_RESOURCE_LIST);
      if (rest[0] === "nodes") {
        let items = scraper.nodeMetrics();
        if (rest[1]) {
          const one = items.find((m) => m.metadata.name === rest[1]);
          return one ? send(res, 200, one) : send(res, 404, notFound("nodes", rest[1]));
        }
        if (selector) {
          const nodes = (await client.listAll<Node>("nodes", { labelSelector: selector })).items;
          const labels = new Map(nodes.map((n) => [n.metadata.name!, n.metadata.labels]));
          items = items.filter((m) => labels.has(m.metadata.name)).map((m) => ({ ...m, metadata: { ...m.metadata, labels: labels.get(m.metadata.name) ?? {} } }));
        }
        return send(res, 200, { kind: "NodeMetricsList", apiVersion: METRICS_GROUP_VERSION, metadata: {}, items });
      }
      let namespace: string | undefined;
      let podPath = rest;
      if (rest[0] === "namespaces" && rest[1] && rest[2] === "pods") {
        namespace = rest[1];
        podPath = rest.slice(2);
      }
      if (podPath[0] === "pods") {
        let items = scraper.podMetrics(namespace);
        if (podPath[1]) {
          const one = items.find((m) => m.metadata.name === podPath[1]);
          return one ? send(res, 200, one) : send(res, 404, notFound("pods", podPath[1]));
        }
        if (selector) {
          const pods = (await client.listAll<Pod>("pods", { namespace, labelSelector: selector })).items;
          const labels = new Map(pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.metadata.labels]));
          items = items
            .filter((m) => labels.has(`${m.metadata.namespace}/${m.metadata.name}`))
            .map((m) => ({ ...m, metadata: { ...m.metadata, labels: labels.get(`${m.metadata.namespace}/${m.metadata.name}`) ?? {} } }));
        }
        return send(res, 200, { kind: "PodMetricsList", apiVersion: METRICS_GROUP_VERSION, metadata: {}, items });
      }
      return send(res, 404, status(404, "NotFound", `the server could not find the requested resource`));
    } catch (err) {
      if (err instanceof KubeApiError && err.code >= 400) return send(res, err.code, status(err.code, err.reason, err.message));
      return send(res, 503, status(503, "ServiceUnavailable", `metrics unavailable: ${(err as Error).message}`));
    }
  };
}

function notFound(resource: "nodes" | "pods", name: string) {
  return { ...status(404, "NotFound", `${resource === "nodes" ? "nodemetrics" : "podmetrics"}.metrics.k8s.io "${name}" not found`), details: { name, group: METRICS_GROUP, kind: resource } };
}

function status(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function send(res: ServerResponse, code: number, body: unknown): true {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
  return true;
}
