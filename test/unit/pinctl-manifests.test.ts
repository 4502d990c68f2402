// Reading manifests for apply and delete -f: multi-document YAML, JSON,
// List objects, directories, and parse errors that name the line.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseManifests, readManifests } from "../../src/cli/pinctl/manifests.js";
import { buildHpa } from "../../src/cli/pinctl/autoscale.js";
import { buildKubeconfig } from "../../src/cli/pinctl/kubeconfig.js";

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

describe("manifests", () => {
  it("reads every document of a multi-document YAML, skipping empty ones", () => {
    const text = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n";
    expect(parseManifests(text, "f.yaml").map((m) => `${m.object.kind}/${m.object.metadata.name}`)).toEqual(["Service/a", "Deployment/b"]);
  });

  it("expands List objects and reads JSON", () => {
    const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }] });
    expect(parseManifests(list, "l.json").map((m) => m.object.metadata.name)).toEqual(["c"]);
  });

  it("names the file, line and column of a syntax error", () => {
    expect(() => parseManifests("apiVersion: v1\nkind: [Pod\nmetadata: {}\n", "bad.yaml")).toThrow(/bad\.yaml \(line \d+, column \d+\)/);
  });

  it("refuses an object without kind or name", () => {
    expect(() => parseManifests("apiVersion: v1\nmetadata:\n  name: x\n", "f.yaml")).toThrow("object has no kind");
    expect(() => parseManifests("apiVersion: v1\nkind: Pod\n", "f.yaml")).toThrow("has no metadata.name");
  });

  it("reads a directory's manifests in name order and stdin for -", async () => {
    dir = mkdtempSync(join(tmpdir(), "pinctl-manifests-"));
    writeFileSync(join(dir, "b.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n");
    writeFileSync(join(dir, "a.json"), '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}');
    writeFileSync(join(dir, "notes.txt"), "not a manifest");
    const objs = await readManifests([dir, "-"], async () => "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n");
    expect(objs.map((m) => m.object.metadata.name)).toEqual(["a", "b", "s"]);
    await expect(readManifests([join(dir, "missing.yaml")])).rejects.toThrow('the path "');
  });
});

describe("autoscale and kubeconfig", () => {
  it("builds an autoscaling/v2 HPA with a CPU utilization target", () => {
    const hpa = buildHpa({ namespace: "default", name: "web", targetApiVersion: "apps/v1", targetKind: "Deployment", targetName: "web", min: 2, max: 5, cpuPercent: 70 });
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
    });
    expect(() => buildHpa({ namespace: "d", name: "w", targetApiVersion: "apps/v1", targetKind: "Deployment", targetName: "w", min: 5, max: 2 })).toThrow("--max=2");
  });

  it("builds a kubeconfig whose current context points at the server with the token", () => {
    const kc = buildKubeconfig({ clusterName: "demo", server: "http://127.0.0.11:6443", token: "t", namespace: "default" });
    expect(kc["current-context"]).toBe("demo");
    expect(kc.clusters).toEqual([{ name: "demo", cluster: { server: "http://127.0.0.11:6443" } }]);
    expect(kc.users).toEqual([{ name: "demo-admin", user: { token: "t" } }]);
    const pinned = buildKubeconfig({ clusterName: "demo", server: "https://127.0.0.11:6443", namespace: "default", caPem: "PEM" });
    expect(pinned.clusters).toEqual([{ name: "demo", cluster: { server: "https://127.0.0.11:6443", "certificate-authority-data": Buffer.from("PEM").toString("base64") } }]);
  });
});
