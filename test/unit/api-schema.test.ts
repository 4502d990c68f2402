import { describe, expect, it } from "vitest";
import { RESOURCES } from "../../src/api/resources.js";
import { allSchemas, findSchema, openApiComponentSchemas, openApiV2Definitions, schemaFor, UnknownSchemaError, type FieldSchema } from "../../src/api/schema.js";

type OpenApi = Record<string, { properties?: Record<string, Record<string, unknown>>; required?: string[]; [k: string]: unknown }>;

describe("schema", () => {
  it("has a schema for every served kind", () => {
    for (const r of RESOURCES) expect(schemaFor(r.kind).gvk).toEqual({ group: r.group, version: r.version, kind: r.kind });
  });

  it("throws for unknown kinds", () => {
    expect(() => schemaFor("Gizmo")).toThrow(UnknownSchemaError);
    expect(findSchema("Gizmo")).toBeUndefined();
  });

  it("every object reference resolves", () => {
    const refs = (f: FieldSchema): string[] =>
      f.kind === "object" ? [f.ref] : f.kind === "array" ? refs(f.items) : f.kind === "map" ? refs(f.values) : [];
    for (const s of allSchemas()) {
      for (const [name, f] of Object.entries(s.fields)) {
        for (const r of refs(f)) expect(findSchema(r), `${s.name}.${name} -> ${r}`).toBeDefined();
      }
    }
  });

  it.each([
    ["PodSpec", "containers", "name"],
    ["PodSpec", "initContainers", "name"],
    ["PodSpec", "volumes", "name"],
    ["PodSpec", "imagePullSecrets", "name"],
    ["Container", "ports", "containerPort"],
    ["Container", "env", "name"],
    ["Container", "volumeMounts", "mountPath"],
    ["ServiceSpec", "ports", "port"],
    ["PodStatus", "conditions", "type"],
    ["NodeStatus", "conditions", "type"],
    ["NodeStatus", "addresses", "type"],
    ["ObjectMeta", "ownerReferences", "uid"],
  ])("%s.%s merges by %s", (type, field, key) => {
    const f = schemaFor(type).fields[field];
    expect(f).toMatchObject({ kind: "array", strategy: "merge", mergeKey: key });
  });

  it("tolerations and command are atomic, finalizers a set", () => {
    expect(schemaFor("PodSpec").fields.tolerations).toMatchObject({ kind: "array", strategy: "replace" });
    expect(schemaFor("Container").fields.command).toMatchObject({ kind: "array", strategy: "replace" });
    expect(schemaFor("ObjectMeta").fields.finalizers).toMatchObject({ kind: "array", strategy: "merge" });
    expect(schemaFor("DeploymentSpec").fields.strategy).toMatchObject({ kind: "object", retainKeys: true });
  });

  it("marks required fields", () => {
    expect(schemaFor("Container").required).toContain("name");
    expect(schemaFor("PodSpec").required).toEqual(["containers"]);
    expect(schemaFor("DeploymentSpec").required).toEqual(expect.arrayContaining(["selector", "template"]));
  });
});

describe("openApiComponentSchemas", () => {
  const doc = openApiComponentSchemas() as OpenApi;

  it("names components as Kubernetes does, with group-version-kind", () => {
    for (const name of [
      "io.k8s.api.core.v1.Pod",
      "io.k8s.api.apps.v1.Deployment",
      "io.k8s.api.coordination.v1.Lease",
      "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
      "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
      "io.k8s.apimachinery.pkg.api.resource.Quantity",
      "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
      "io.k8s.api.apps.v1.DeploymentList",
    ]) {
      expect(doc[name], name).toBeDefined();
    }
    expect(doc["io.k8s.api.apps.v1.Deployment"]?.["x-kubernetes-group-version-kind"]).toEqual([{ group: "apps", version: "v1", kind: "Deployment" }]);
    expect(doc["io.k8s.api.core.v1.Pod"]?.["x-kubernetes-group-version-kind"]).toEqual([{ group: "", version: "v1", kind: "Pod" }]);
  });

  it("carries patch merge keys and strategies", () => {
    const containers = doc["io.k8s.api.core.v1.PodSpec"]?.properties?.containers;
    expect(containers).toMatchObject({
      type: "array",
      "x-kubernetes-patch-merge-key": "name",
      "x-kubernetes-patch-strategy": "merge",
      items: { allOf: [{ $ref: "#/components/schemas/io.k8s.api.core.v1.Container" }] },
    });
    expect(doc["io.k8s.api.core.v1.PodSpec"]?.properties?.volumes?.["x-kubernetes-patch-strategy"]).toBe("merge,retainKeys");
    expect(doc["io.k8s.api.apps.v1.DeploymentSpec"]?.properties?.strategy?.["x-kubernetes-patch-strategy"]).toBe("retainKeys");
    expect(doc["io.k8s.api.core.v1.PodSpec"]?.properties?.tolerations?.["x-kubernetes-list-type"]).toBe("atomic");
  });

  it("every $ref points at a component", () => {
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === "object") {
        for (const [k, c] of Object.entries(v)) {
          if (k === "$ref" && typeof c === "string") refs.push(c);
          else walk(c);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(100);
    for (const r of refs) expect(doc[r.replace("#/components/schemas/", "")], r).toBeDefined();
  });

  it("is plain JSON", () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});

describe("openApiV2Definitions", () => {
  const defs = openApiV2Definitions() as OpenApi;
  it("uses #/definitions refs with extensions beside them", () => {
    expect(defs["io.k8s.api.core.v1.PodSpec"]?.properties?.containers).toMatchObject({
      type: "array",
      items: { $ref: "#/definitions/io.k8s.api.core.v1.Container" },
      "x-kubernetes-patch-merge-key": "name",
      "x-kubernetes-patch-strategy": "merge",
    });
    expect(defs["io.k8s.api.apps.v1.DeploymentSpec"]?.properties?.strategy).toEqual({
      $ref: "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy",
      "x-kubernetes-patch-strategy": "retainKeys",
    });
    expect(defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]).toMatchObject({ type: "string" });
  });

  it("every $ref resolves and none points at components", () => {
    const text = JSON.stringify(defs);
    expect(text).not.toContain("#/components/");
    for (const m of text.matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) expect(defs[m[1] as string], m[1]).toBeDefined();
  });
});

describe("listPatchStrategy", () => {
  it.each([
    ["Deployment", ["spec", "template", "spec", "containers"], { type: "merge", key: "name" }],
    ["Deployment", ["spec", "template", "spec", "containers", "ports"], { type: "merge", key: "containerPort" }],
    ["Pod", ["spec", "containers", "env"], { type: "merge", key: "name" }],
    ["Pod", ["spec", "initContainers", "volumeMounts"], { type: "merge", key: "mountPath" }],
    ["Pod", ["spec", "tolerations"], { type: "atomic" }],
    ["Pod", ["spec", "containers", "command"], { type: "atomic" }],
    ["Pod", ["metadata", "finalizers"], { type: "primitive-merge" }],
    ["Service", ["spec", "ports"], { type: "merge", key: "port" }],
    ["Node", ["status", "addresses"], { type: "merge", key: "type" }],
    ["Pod", ["spec", "nope"], { type: "atomic" }],
    ["Gizmo", ["spec"], { type: "atomic" }],
  ] as const)("%s %j", async (kind, path, want) => {
    const { listPatchStrategy } = await import("../../src/api/schema.js");
    expect(listPatchStrategy(kind, path)).toEqual(want);
  });
});
