// Discovery documents for stock clients: /version, /api, /apis, each group
// version's APIResourceList (legacy discovery, which kubectl falls back to
// when aggregated discovery is not offered), and the OpenAPI v3 index and
// per-group-version documents kubectl reads to decide that the server
// validates fields itself (fieldValidation on each patch operation).

import { createHash } from "node:crypto";
import { RESOURCES, apiVersionOf, type ResourceInfo } from "../api/resources.js";
import { PINSETTER_VERSION } from "../version.js";
import { findSchema, openApiComponentSchemas } from "./model.js";

/** The Kubernetes version we present: kubectl 1.29 to 1.33 are within skew. */
export const KUBE_VERSION = { major: "1", minor: "32" };

export function versionInfo(): Record<string, string> {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: `v${KUBE_VERSION.major}.${KUBE_VERSION.minor}.0+pinsetter-${PINSETTER_VERSION}`,
    gitCommit: "pinsetter",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: `node${process.versions.node}`,
    compiler: "tsc",
    platform: `${process.platform}/${process.arch}`,
  };
}

export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupEntry(group: string): unknown {
  const versions = groupVersions()
    .filter((g) => g.group === group)
    .map((g) => ({ groupVersion: `${g.group}/${g.version}`, version: g.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): unknown {
  const groups = [...new Set(groupVersions().map((g) => g.group).filter((g) => g !== ""))];
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(groupEntry) };
}

export function apiGroup(group: string): unknown | null {
  if (!groupVersions().some((g) => g.group === group && group !== "")) return null;
  return { kind: "APIGroup", apiVersion: "v1", ...(groupEntry(group) as object) };
}

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ["get", "patch", "update"],
  scale: ["get", "patch", "update"],
  binding: ["create"],
  log: ["get"],
  finalize: ["update"],
};

const CATEGORY_ALL = new Set(["pods", "services", "deployments", "replicasets", "horizontalpodautoscalers"]);

export function resourceList(group: string, version: string): unknown | null {
  const infos = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (infos.length === 0) return null;
  const resources: unknown[] = [];
  for (const r of infos) {
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(CATEGORY_ALL.has(r.resource) ? { categories: ["all"] } : {}),
      storageVersionHash: createHash("sha256").update(`${apiVersionOf(r)}/${r.kind}`).digest("base64").slice(0, 11),
    });
    for (const sub of r.subresources) {
      const kind = sub === "scale" ? "Scale" : sub === "binding" ? "Binding" : sub === "log" ? "Pod" : r.kind;
      resources.push({
        name: `${r.resource}/${sub}`,
        singularName: "",
        namespaced: r.namespaced,
        kind,
        verbs: SUBRESOURCE_VERBS[sub] ?? ["get"],
        ...(sub === "scale" ? { group: "autoscaling", version: "v1" } : {}),
      });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group ? `${group}/${version}` : version, resources };
}

// ---------------------------------------------------------------- OpenAPI v3

function gvPath(g: { group: string; version: string }): string {
  return g.group === "" ? `api/${g.version}` : `apis/${g.group}/${g.version}`;
}

const docCache = new Map<string, { json: string; hash: string }>();

export function openApiV3Index(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of groupVersions()) {
    const doc = openApiV3Doc(gvPath(g))!;
    paths[gvPath(g)] = { serverRelativeURL: `/openapi/v3/${gvPath(g)}?hash=${doc.hash}` };
  }
  return { paths };
}

const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
];

function gvk(r: ResourceInfo): { group: string; version: string; kind: string }[] {
  return [{ group: r.group, version: r.version, kind: r.kind }];
}

function queryParam(name: string, description: string, schema: unknown = { type: "string" }): unknown {
  return { name, in: "query", description, schema, uniqueItems: true };
}

const FIELD_VALIDATION = queryParam(
  "fieldValidation",
  "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
);
const DRY_RUN = queryParam("dryRun", "When present, indicates that modifications should not be persisted. The only valid value is All.");
const FIELD_MANAGER = queryParam("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes.");

function schemaRef(r: ResourceInfo): string {
  const known = findSchema(r.kind)?.openApiName;
  const g = r.group === "" ? "core" : r.group.split(".")[0]!;
  return `#/components/schemas/${known ?? `io.k8s.api.${g}.${r.version}.${r.kind}`}`;
}

let componentSchemas: Record<string, unknown> | null = null;

/** The OpenAPI v3 document of one group version ("api/v1", "apis/apps/v1"), with its content hash. */
export function openApiV3Doc(path: string): { json: string; hash: string } | null {
  const cached = docCache.get(path);
  if (cached) return cached;
  const g = groupVersions().find((x) => gvPath(x) === path);
  if (!g) return null;
  const paths: Record<string, unknown> = {};
  // Every document carries every schema: kinds refer to meta and core types.
  const allSchemas = (componentSchemas ??= openApiComponentSchemas());
  for (const r of RESOURCES.filter((x) => x.group === g.group && x.version === g.version)) {
    const ref = schemaRef(r);
    const name = ref.slice("#/components/schemas/".length);
    const schema = allSchemas[name];
    const body = schema ? { $ref: ref } : { type: "object" };
    const content = (types: string[]) => Object.fromEntries(types.map((t) => [t, { schema: body }]));
    const base = `/${path}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.resource}`;
    const ok = { "200": { description: "OK", content: content(["application/json", "application/yaml"]) } };
    const pathParams = [
      ...(r.namespaced ? [{ name: "namespace", in: "path", required: true, schema: { type: "string" } }] : []),
      { name: "name", in: "path", required: true, schema: { type: "string" } },
    ];
    paths[base] = {
      get: { operationId: `list${r.kind}`, responses: ok, "x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk(r)[0] },
      post: {
        operationId: `create${r.kind}`,
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        requestBody: { content: content(["*/*"]), required: true },
        responses: ok,
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": gvk(r)[0],
      },
    };
    paths[`${base}/{name}`] = {
      parameters: pathParams,
      get: { operationId: `read${r.kind}`, responses: ok, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk(r)[0] },
      put: {
        operationId: `replace${r.kind}`,
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        requestBody: { content: content(["*/*"]), required: true },
        responses: ok,
        "x-kubernetes-action": "put",
        "x-kubernetes-group-version-kind": gvk(r)[0],
      },
      patch: {
        operationId: `patch${r.kind}`,
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, queryParam("force", "Force is going to force Apply requests.", { type: "boolean" })],
        requestBody: { content: content(PATCH_TYPES), required: true },
        responses: ok,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": gvk(r)[0],
      },
      delete: { operationId: `delete${r.kind}`, parameters: [DRY_RUN], responses: ok, "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk(r)[0] },
    };
    for (const sub of r.subresources) {
      if (sub === "log" || sub === "binding") continue;
      const sgvk = sub === "scale" ? { group: "autoscaling", version: "v1", kind: "Scale" } : gvk(r)[0];
      paths[`${base}/{name}/${sub}`] = {
        parameters: pathParams,
        get: { operationId: `read${r.kind}${sub}`, responses: ok, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": sgvk },
        put: {
          operationId: `replace${r.kind}${sub}`,
          parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
          requestBody: { content: content(["*/*"]), required: true },
          responses: ok,
          "x-kubernetes-action": "put",
          "x-kubernetes-group-version-kind": sgvk,
        },
        patch: {
          operationId: `patch${r.kind}${sub}`,
          parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
          requestBody: { content: content(PATCH_TYPES), required: true },
          responses: ok,
          "x-kubernetes-action": "patch",
          "x-kubernetes-group-version-kind": sgvk,
        },
      };
    }
  }
  const doc = {
    openapi: "3.0.0",
    info: { title: "Pinsetter", version: `v${KUBE_VERSION.major}.${KUBE_VERSION.minor}.0` },
    paths,
    components: { schemas: allSchemas },
  };
  const json = JSON.stringify(doc);
  const hash = createHash("sha512").update(json).digest("hex").slice(0, 64).toUpperCase();
  const entry = { json, hash };
  docCache.set(path, entry);
  return entry;
}
