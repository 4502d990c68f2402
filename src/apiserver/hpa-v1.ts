// autoscaling/v1 HorizontalPodAutoscalers, served beside the stored v2 form
// (as kube-apiserver serves both versions of one resource): every request is
// answered through this master's own v2 API with the conversions of
// src/api/hpa-v1.ts. `kubectl autoscale` creates v1 objects.

import type { IncomingMessage, ServerResponse } from "node:http";
import { hpaV1ToV2, hpaV2ToV1, type HorizontalPodAutoscalerV1 } from "../api/hpa-v1.js";
import { applyJsonPatch, jsonMergePatch } from "../api/patch.js";
import type { HorizontalPodAutoscaler, Status } from "../api/types.js";
import { KubeApiError, type KubeClient } from "../client/kube-client.js";
import { readBody } from "./body.js";
import { decodeProtobufBody, PROTOBUF_TYPE } from "./protobuf.js";
import { StatusError } from "./status.js";

const RESOURCE = "horizontalpodautoscalers";
const PREFIX = "/apis/autoscaling/v1";

export const HPA_V1_GROUP = {
  name: "autoscaling",
  versions: [{ groupVersion: "autoscaling/v1", version: "v1" }],
  preferredVersion: { groupVersion: "autoscaling/v2", version: "v2" },
};

const RESOURCE_LIST = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: "autoscaling/v1",
  resources: [
    { name: RESOURCE, singularName: "horizontalpodautoscaler", namespaced: true, kind: "HorizontalPodAutoscaler", verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"], shortNames: ["hpa"], categories: ["all"] },
    { name: `${RESOURCE}/status`, singularName: "", namespaced: true, kind: "HorizontalPodAutoscaler", verbs: ["get", "patch", "update"] },
  ],
};

function send(res: ServerResponse, code: number, body: unknown): true {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
  return true;
}

function failure(code: number, reason: string, message: string): Status {
  return { apiVersion: "v1", kind: "Status", metadata: {}, status: "Failure", message, reason, code };
}

/** A JSON body, or the protobuf body kubectl's typed clients send. */
function parseBody(req: IncomingMessage, buf: Buffer): unknown {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
  if (type === PROTOBUF_TYPE) return decodeProtobufBody(buf);
  return parseJson(buf);
}

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch (err) {
    throw new KubeApiError(400, "BadRequest", `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Answers /apis/autoscaling/v1/... (true), leaves every other path (false). */
export function createHpaV1Handler(client: KubeClient): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname.replace(/\/+$/, "");
    if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return false;
    const method = req.method ?? "GET";
    try {
      if (path === PREFIX) return send(res, 200, RESOURCE_LIST);
      const parts = path.slice(PREFIX.length + 1).split("/");
      let namespace: string | undefined;
      if (parts[0] === "namespaces" && parts.length >= 3) {
        namespace = decodeURIComponent(parts[1]!);
        parts.splice(0, 2);
      }
      if (parts[0] !== RESOURCE || parts.length > 3 || (parts.length === 3 && parts[2] !== "status")) {
        return send(res, 404, failure(404, "NotFound", `the server could not find the requested resource (${method} ${path})`));
      }
      const name = parts[1] ? decodeURIComponent(parts[1]) : undefined;
      const subresource = parts[2];
      const q = url.searchParams;
      const dryRun = q.get("dryRun") === "All";

      if (!name) {
        if (method === "GET" && (q.get("watch") === "1" || q.get("watch") === "true")) return watch(client, req, res, namespace, q);
        if (method === "GET") {
          const list = await client.list<HorizontalPodAutoscaler>(RESOURCE, {
            namespace,
            labelSelector: q.get("labelSelector") ?? undefined,
            fieldSelector: q.get("fieldSelector") ?? undefined,
            limit: q.get("limit") ? Number(q.get("limit")) : undefined,
            continue: q.get("continue") ?? undefined,
            resourceVersion: q.get("resourceVersion") ?? undefined,
          });
          return send(res, 200, { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscalerList", metadata: list.metadata, items: list.items.map(hpaV2ToV1) });
        }
        if (method === "POST") {
          if (!namespace) return send(res, 405, failure(405, "MethodNotAllowed", "create needs a namespace"));
          const v1 = parseBody(req, await readBody(req)) as HorizontalPodAutoscalerV1;
          const created = await client.create(RESOURCE, hpaV1ToV2({ ...v1, metadata: { ...v1.metadata, namespace } }), { namespace, dryRun });
          return send(res, 201, hpaV2ToV1(created));
        }
        return send(res, 405, failure(405, "MethodNotAllowed", `the server does not allow ${method} on the collection`));
      }

      if (method === "GET") return send(res, 200, hpaV2ToV1(await client.get<HorizontalPodAutoscaler>(RESOURCE, namespace, name)));
      if (method === "DELETE") {
        req.resume();
        return send(res, 200, await client.delete(RESOURCE, namespace, name));
      }
      if (method === "PUT" || method === "PATCH") {
        const body = await readBody(req);
        let v1: HorizontalPodAutoscalerV1;
        if (method === "PUT") v1 = parseBody(req, body) as HorizontalPodAutoscalerV1;
        else {
          const current = hpaV2ToV1(await client.get<HorizontalPodAutoscaler>(RESOURCE, namespace, name));
          const patch = parseJson(body);
          const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
          // v1 HPAs have no merge-keyed lists: a strategic patch merges as a JSON merge patch.
          v1 = (type === "application/json-patch+json" ? applyJsonPatch(current, patch as never) : jsonMergePatch(current, patch)) as HorizontalPodAutoscalerV1;
        }
        const v2 = hpaV1ToV2({ ...v1, metadata: { ...v1.metadata, name, namespace } });
        const updated = await client.update(RESOURCE, v2, { ...(subresource ? { subresource } : {}), dryRun });
        return send(res, 200, hpaV2ToV1(updated));
      }
      return send(res, 405, failure(405, "MethodNotAllowed", `the server does not allow ${method} here`));
    } catch (err) {
      if (res.headersSent) {
        res.end();
        return true;
      }
      if (err instanceof KubeApiError && err.code > 0) return send(res, err.code, err.status ?? failure(err.code, err.reason, err.message));
      if (err instanceof StatusError) return send(res, err.code, err.status);
      const message = err instanceof Error ? err.message : String(err);
      return send(res, 500, failure(500, "InternalError", message));
    }
  };
}

/** A v2 watch relayed as v1 events, one JSON object per line. */
function watch(client: KubeClient, req: IncomingMessage, res: ServerResponse, namespace: string | undefined, q: URLSearchParams): true {
  res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
  const handle = client.watch<HorizontalPodAutoscaler>(
    RESOURCE,
    {
      namespace,
      labelSelector: q.get("labelSelector") ?? undefined,
      fieldSelector: q.get("fieldSelector") ?? undefined,
      resourceVersion: q.get("resourceVersion") ?? undefined,
      allowWatchBookmarks: q.get("allowWatchBookmarks") === "true",
      timeoutSeconds: q.get("timeoutSeconds") ? Number(q.get("timeoutSeconds")) : undefined,
    },
    (e) => {
      const object = e.type === "BOOKMARK" ? { ...e.object, apiVersion: "autoscaling/v1" } : hpaV2ToV1(e.object);
      res.write(`${JSON.stringify({ type: e.type, object })}\n`);
    },
  );
  req.on("close", () => handle.stop());
  void handle.done.then((err) => {
    if (err instanceof KubeApiError && err.status) res.write(`${JSON.stringify({ type: "ERROR", object: err.status })}\n`);
    res.end();
  });
  return true;
}
