// Parses a request path into what it addresses (kube-apiserver's
// RequestInfoFactory): group, version, namespace, resource, name,
// subresource, and whether it is a legacy /watch/ path.

import { RESOURCES, type ResourceInfo } from "../api/resources.js";
import { errors } from "./status.js";

export interface ResourceRequest {
  kind: "resource";
  info: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  /** A /watch/ path (legacy): always a watch. */
  legacyWatch: boolean;
}

export interface OtherRequest {
  kind: "other";
  path: string;
}

export type RequestTarget = ResourceRequest | OtherRequest;

/** Subresources of namespaces addressed as /namespaces/<name>/<sub>. */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

export function parseRequestPath(rawPath: string): RequestTarget {
  const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, "") : rawPath;
  let parts: string[];
  try {
    parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  } catch {
    throw errors.badRequest(`malformed path ${JSON.stringify(rawPath)}`);
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return { kind: "other", path };

  let legacyWatch = false;
  if (rest[0] === "watch") {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 2) {
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource) return { kind: "other", path };
  const gvKnown = RESOURCES.some((r) => r.group === group && r.version === version);
  const info = RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
  if (!info) {
    if (!gvKnown) throw errors.notFoundPath(`the server could not find the requested resource: no API group version ${group ? `${group}/` : ""}${version}`);
    throw errors.notFoundPath(`the server doesn't have a resource type "${resource}" in ${group ? `${group}/` : ""}${version}`);
  }
  if (extra.length > 0 || (subresource !== undefined && !info.subresources.includes(subresource) && !(info.resource === "namespaces" && subresource === "finalize")))
    throw errors.notFoundPath(`the server could not find the requested resource: ${info.resource} has no subresource ${JSON.stringify(subresource)}`);
  if (info.namespaced && namespace === undefined && name !== undefined) {
    throw errors.notFoundPath(`the server could not find the requested resource: ${info.resource} are namespaced; use /namespaces/<namespace>/${info.resource}/${name}`);
  }
  if (!info.namespaced && namespace !== undefined) throw errors.notFoundPath(`the server could not find the requested resource: ${info.resource} are not namespaced`);
  return { kind: "resource", info, namespace, name, subresource, legacyWatch };
}
