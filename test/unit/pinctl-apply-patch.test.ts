// kubectl's client-side apply computed by pinctl: the 3-way strategic-merge
// patch sets what the file changed, deletes what an earlier apply set and the
// file no longer has, and leaves alone what others set.

import { describe, expect, it } from "vitest";
import { canonicalJson, lastApplied, threeWayMergePatch, withLastApplied, type JsonObject } from "../../src/cli/pinctl/apply-patch.js";
import type { KubeObject } from "../../src/api/types.js";

function deployment(containers: JsonObject[], extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", labels: { app: "web" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers } },
      ...extra,
    },
  };
}

describe("three-way apply patch", () => {
  it("is empty when the file has not changed since the last apply", () => {
    const file = deployment([{ name: "web", image: "nginx:1" }]);
    const live = structuredClone(file) as JsonObject & { status?: unknown };
    (live.metadata as JsonObject).uid = "u1";
    (live.metadata as JsonObject).resourceVersion = "7";
    live.status = { replicas: 2 };
    expect(threeWayMergePatch(file, file, live)).toEqual({});
  });

  it("sets a changed field, and a changed container by its name", () => {
    const before = deployment([{ name: "web", image: "nginx:1" }]);
    const after = deployment([{ name: "web", image: "nginx:2" }]);
    (after.spec as JsonObject).replicas = 3;
    expect(threeWayMergePatch(before, after, before)).toEqual({
      spec: { replicas: 3, template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } },
    });
  });

  it("deletes a field applied before and gone from the file, keeping fields others set", () => {
    const before = deployment([{ name: "web", image: "nginx:1" }], { minReadySeconds: 5 });
    const after = deployment([{ name: "web", image: "nginx:1" }]);
    const live = deployment([{ name: "web", image: "nginx:1", imagePullPolicy: "IfNotPresent" }], { minReadySeconds: 5, paused: true });
    ((live.metadata as JsonObject).annotations as unknown) = { "team/owner": "ops" };
    expect(threeWayMergePatch(before, after, live)).toEqual({ spec: { minReadySeconds: null } });
  });

  it("removes a container dropped from the file with $patch: delete, adds a new one whole", () => {
    const before = deployment([
      { name: "web", image: "nginx:1" },
      { name: "sidecar", image: "log:1" },
    ]);
    const after = deployment([
      { name: "web", image: "nginx:1" },
      { name: "cache", image: "redis:7" },
    ]);
    const patch = threeWayMergePatch(before, after, before);
    expect(patch).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              { name: "cache", image: "redis:7" },
              { name: "sidecar", $patch: "delete" },
            ],
          },
        },
      },
    });
  });

  it("merges container ports by containerPort and env by name", () => {
    const before = deployment([{ name: "web", image: "a", ports: [{ containerPort: 80 }, { containerPort: 443 }], env: [{ name: "A", value: "1" }] }]);
    const after = deployment([{ name: "web", image: "a", ports: [{ containerPort: 80 }], env: [{ name: "A", value: "2" }] }]);
    const live = deployment([{ name: "web", image: "a", ports: [{ containerPort: 80, protocol: "TCP" }, { containerPort: 443, protocol: "TCP" }], env: [{ name: "A", value: "1" }] }]);
    expect(threeWayMergePatch(before, after, live)).toEqual({
      spec: {
        template: {
          spec: {
            containers: [{ name: "web", ports: [{ containerPort: 443, $patch: "delete" }], env: [{ name: "A", value: "2" }] }],
          },
        },
      },
    });
  });

  it("replaces an atomic list as a whole when it differs", () => {
    const before = deployment([{ name: "web", image: "a", args: ["-v", "1"] }]);
    const after = deployment([{ name: "web", image: "a", args: ["-v", "2"] }]);
    expect(threeWayMergePatch(before, after, before)).toEqual({ spec: { template: { spec: { containers: [{ name: "web", args: ["-v", "2"] }] } } } });
  });

  it("with no earlier apply, only sets what the file says and deletes nothing", () => {
    const live = deployment([{ name: "web", image: "nginx:1" }], { minReadySeconds: 5 });
    const file = deployment([{ name: "web", image: "nginx:1" }]);
    (file.spec as JsonObject).replicas = 4;
    expect(threeWayMergePatch(null, file, live)).toEqual({ spec: { replicas: 4 } });
  });

  it("adds and removes finalizers with $deleteFromPrimitiveList", () => {
    const before = { ...deployment([]), metadata: { name: "web", finalizers: ["a", "b"] } };
    const after = { ...deployment([]), metadata: { name: "web", finalizers: ["a", "c"] } };
    expect(threeWayMergePatch(before, after, before)).toEqual({ metadata: { finalizers: ["c"], "$deleteFromPrimitiveList/finalizers": ["b"] } });
  });

  it("merges Service ports by port", () => {
    const svc = (ports: JsonObject[]): JsonObject => ({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports } });
    const patch = threeWayMergePatch(svc([{ port: 80 }, { port: 81 }]), svc([{ port: 80, targetPort: 8080 }]), svc([{ port: 80, protocol: "TCP" }, { port: 81, protocol: "TCP" }]));
    expect(patch).toEqual({ spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 81, $patch: "delete" }] } });
  });
});

describe("last-applied annotation", () => {
  it("records the file without the annotation itself, keys sorted, and reads it back", () => {
    const obj = deployment([{ name: "web", image: "nginx:1" }]) as unknown as KubeObject;
    const modified = withLastApplied(obj);
    const recorded = modified.metadata.annotations!["kubectl.kubernetes.io/last-applied-configuration"]!;
    expect(recorded.endsWith("\n")).toBe(true);
    expect(recorded.startsWith('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"labels"')).toBe(true);
    expect(lastApplied(modified)).toEqual(JSON.parse(canonicalJson({ ...obj, metadata: { ...obj.metadata, annotations: {} } })));
    // Applying the same file twice records the same text.
    expect(withLastApplied(modified).metadata.annotations).toEqual(modified.metadata.annotations);
  });
});
