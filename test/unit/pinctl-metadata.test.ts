// label/annotate argument forms and patches; which pods drain deletes.

import { describe, expect, it } from "vitest";
import type { Pod } from "../../src/api/types.js";
import { metadataPatch, parseMetadataChanges } from "../../src/cli/pinctl/metadata.js";
import { podsToDrain } from "../../src/cli/pinctl/nodes.js";

describe("label and annotate", () => {
  it("splits the object from key=value and key- changes", () => {
    expect(parseMetadataChanges(["pod", "web", "app=web", "old-"])).toEqual({ objectArgs: ["pod", "web"], changes: { set: { app: "web" }, remove: ["old"] } });
    expect(parseMetadataChanges(["deploy/web", "a=b=c"]).changes.set).toEqual({ a: "b=c" });
    expect(() => parseMetadataChanges(["app=web"])).toThrow("KIND NAME");
  });

  it("sets and removes with a merge patch, refusing to change a value without --overwrite", () => {
    const changes = { set: { app: "web", tier: "back" }, remove: ["gone"] };
    expect(metadataPatch("labels", { app: "web" }, changes, false)).toEqual({ metadata: { labels: { app: "web", tier: "back", gone: null } } });
    expect(() => metadataPatch("labels", { tier: "front" }, changes, false)).toThrow("'tier' already has a value (front), and --overwrite is false");
    expect(metadataPatch("annotations", { tier: "front" }, changes, true)).toEqual({ metadata: { annotations: { app: "web", tier: "back", gone: null } } });
  });
});

describe("drain", () => {
  const pod = (name: string, owned: boolean, phase = "Running"): Pod => ({
    metadata: { name, namespace: "default", ...(owned ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u", controller: true }] } : {}) },
    spec: { containers: [{ name: "c", image: "i" }] },
    status: { phase: phase as "Running" },
  });

  it("deletes controlled and finished pods, and stops at bare pods unless forced", () => {
    const r = podsToDrain([pod("a", true), pod("b", false), pod("c", false, "Succeeded")], false);
    expect(r.evict.map((p) => p.metadata.name)).toEqual(["a", "c"]);
    expect(r.blocking.map((p) => p.metadata.name)).toEqual(["b"]);
    expect(podsToDrain([pod("b", false)], true).evict).toHaveLength(1);
  });
});
