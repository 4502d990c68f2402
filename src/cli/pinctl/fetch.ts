// Requests the typed KubeClient verbs do not cover: server-side Tables
// (`Accept: ...;as=Table`) for get, through the client's failover.

import { resourcePath, type ResourceInfo } from "../../api/resources.js";
import type { KubeObject, ObjectList, Status } from "../../api/types.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { isTable, type Table } from "./printer.js";

export const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

export interface Selectors {
  labelSelector?: string;
  fieldSelector?: string;
}

export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** GET with an Accept header of our choice; non-2xx become KubeApiError. */
export async function getWithAccept(client: KubeClient, path: string, accept: string): Promise<unknown> {
  const res = await client.request("GET", path, undefined, "application/json", accept);
  const text = res.body.toString("utf8");
  if (res.status < 200 || res.status >= 300) {
    let st: Status | null = null;
    try {
      const parsed = JSON.parse(text) as Status;
      if (parsed?.kind === "Status") st = parsed;
    } catch {
      // not a Status body
    }
    const reason = st?.reason ?? (res.status === 404 ? "NotFound" : res.status === 401 ? "Unauthorized" : "Unknown");
    throw new KubeApiError(res.status, reason, st?.message ?? (text.trim().slice(0, 300) || `HTTP ${res.status}`), st);
  }
  return text ? (JSON.parse(text) as unknown) : {};
}

/**
 * A Table of a collection or of one object. When the server answers a plain
 * object or list instead (it may not render Tables for every resource), a
 * NAME/AGE table is built from it so that get still prints something useful.
 */
export async function fetchTable(client: KubeClient, info: ResourceInfo, namespace: string | undefined, name: string | undefined, sel: Selectors = {}): Promise<Table> {
  const q = name ? "" : queryString({ labelSelector: sel.labelSelector, fieldSelector: sel.fieldSelector });
  const body = await getWithAccept(client, resourcePath(info, namespace, name) + q, TABLE_ACCEPT);
  if (isTable(body)) return body;
  const items = Array.isArray((body as ObjectList).items) ? (body as ObjectList).items : [body as KubeObject];
  return fallbackTable(items, (body as ObjectList).metadata?.resourceVersion);
}

export function fallbackTable(items: KubeObject[], resourceVersion?: string): Table {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: resourceVersion ? { resourceVersion } : {},
    columnDefinitions: [
      { name: "Name", type: "string", format: "name", priority: 0 },
      { name: "Age", type: "string", format: "date", priority: 0 },
    ],
    rows: items.map((o) => ({ cells: [o.metadata?.name ?? "", o.metadata?.creationTimestamp ?? ""], object: { metadata: o.metadata } })),
  };
}
