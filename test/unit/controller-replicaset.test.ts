// The ReplicaSet controller's pure decisions: claiming pods, the deletion
// ranking, the replica diff, slow-start batches and the status it reports.

import { describe, expect, it } from "vitest";
import type { Pod, ReplicaSet } from "../../src/api/types.js";
import { claimPods, compareForDeletion, computeStatus, podFromTemplate, replicaDiff, slowStartBatches } from "../../src/controllers/replicaset/diff.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function rs(over: Partial<ReplicaSet["spec"]> = {}, meta: Partial<ReplicaSet["metadata"]> = {}): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "default", uid: "rs-uid", generation: 3, ...meta },
    spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web", tier: "fe" } }, spec: { containers: [{ name: "c", image: "i" }] } }, ...over },
  };
}

interface PodOpts {
  name: string;
  labels?: Record<string, string>;
  owner?: string | null;
  node?: string;
  phase?: Pod["status"] extends infer S ? (S extends { phase?: infer P } ? P : never) : never;
  readySince?: number | null;
  restarts?: number;
  created?: number;
  deleting?: boolean;
}

function pod(o: PodOpts): Pod {
  return {
    metadata: {
      name: o.name,
      namespace: "default",
      uid: `uid-${o.name}`,
      labels: o.labels ?? { app: "web", tier: "fe" },
      creationTimestamp: iso(o.created ?? T0),
      ...(o.owner === null ? {} : { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: o.owner ?? "rs-uid", controller: true }] }),
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: { containers: [{ name: "c" }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? "Running",
      conditions: o.readySince === null || o.readySince === undefined ? [{ type: "Ready", status: "False" }] : [{ type: "Ready", status: "True", lastTransitionTime: iso(o.readySince) }],
      containerStatuses: [{ name: "c", ready: true, restartCount: o.restarts ?? 0, image: "i", imageID: "" }],
    },
  };
}

describe("claiming pods", () => {
  it("owns its matching pods, adopts matching orphans, releases non-matching, ignores others' and inactive pods", () => {
    const pods = [
      pod({ name: "mine", node: "n" }),
      pod({ name: "orphan", owner: null }),
      pod({ name: "orphan-other-labels", owner: null, labels: { app: "db" } }),
      pod({ name: "relabelled", labels: { app: "other" } }),
      pod({ name: "theirs", owner: "other-uid" }),
      pod({ name: "terminating", deleting: true }),
      { ...pod({ name: "done" }), status: { phase: "Succeeded" as const } },
    ];
    const c = claimPods(rs(), pods);
    expect(c.owned.map((p) => p.metadata.name)).toEqual(["mine"]);
    expect(c.adopt.map((p) => p.metadata.name)).toEqual(["orphan"]);
    expect(c.release.map((p) => p.metadata.name)).toEqual(["relabelled"]);
  });

  it("a ReplicaSet being deleted neither adopts nor releases", () => {
    const c = claimPods(rs({}, { deletionTimestamp: iso(T0) }), [pod({ name: "orphan", owner: null }), pod({ name: "relabelled", labels: { app: "x" } })]);
    expect(c.adopt).toEqual([]);
    expect(c.release).toEqual([]);
  });

  it("an empty selector claims nothing", () => {
    const c = claimPods(rs({ selector: {} }), [pod({ name: "orphan", owner: null })]);
    expect(c.adopt).toEqual([]);
  });
});

describe("which pods go first on scale-down", () => {
  const cases: { name: string; first: PodOpts; second: PodOpts }[] = [
    { name: "unscheduled before scheduled", first: { name: "a" }, second: { name: "b", node: "n" } },
    { name: "pending before running", first: { name: "a", node: "n", phase: "Pending" }, second: { name: "b", node: "n", phase: "Running" } },
    { name: "unknown before running", first: { name: "a", node: "n", phase: "Unknown" }, second: { name: "b", node: "n", phase: "Running" } },
    { name: "not ready before ready", first: { name: "a", node: "n" }, second: { name: "b", node: "n", readySince: T0 } },
    { name: "ready more recently before ready longer", first: { name: "a", node: "n", readySince: T0 + 5000 }, second: { name: "b", node: "n", readySince: T0 } },
    { name: "more restarts first", first: { name: "a", node: "n", readySince: T0, restarts: 5 }, second: { name: "b", node: "n", readySince: T0, restarts: 1 } },
    { name: "newer before older", first: { name: "a", node: "n", readySince: T0, created: T0 + 10 }, second: { name: "b", node: "n", readySince: T0, created: T0 } },
  ];
  it.each(cases)("$name", ({ first, second }) => {
    expect(compareForDeletion(pod(first), pod(second))).toBeLessThan(0);
    expect(compareForDeletion(pod(second), pod(first))).toBeGreaterThan(0);
  });
});

describe("replica diff", () => {
  const active = [
    pod({ name: "running-ready", node: "n", readySince: T0 }),
    pod({ name: "unscheduled" }),
    pod({ name: "pending", node: "n", phase: "Pending" }),
    pod({ name: "running-not-ready", node: "n" }),
  ];
  const cases: { desired: number; burst?: number; create: number; deleted: string[] }[] = [
    { desired: 4, create: 0, deleted: [] },
    { desired: 7, create: 3, deleted: [] },
    { desired: 100, burst: 10, create: 10, deleted: [] },
    { desired: 3, create: 0, deleted: ["unscheduled"] },
    { desired: 1, create: 0, deleted: ["unscheduled", "pending", "running-not-ready"] },
    { desired: 0, create: 0, deleted: ["unscheduled", "pending", "running-not-ready", "running-ready"] },
  ];
  it.each(cases)("desired $desired from 4 active: create $create, delete $deleted", ({ desired, burst, create, deleted }) => {
    const d = replicaDiff(desired, active, burst);
    expect(d.create).toBe(create);
    expect(d.delete.map((p) => p.metadata.name)).toEqual(deleted);
  });
});

describe("slow-start batches", () => {
  it.each([
    [0, []],
    [1, [1]],
    [3, [1, 2]],
    [10, [1, 2, 4, 3]],
    [16, [1, 2, 4, 8, 1]],
  ])("%i creations go in batches %j", (n, want) => {
    expect(slowStartBatches(n as number)).toEqual(want);
  });
});

describe("status", () => {
  it("counts replicas, fully labelled, ready and available (after minReadySeconds) and the generation", () => {
    const r = rs({ minReadySeconds: 10 });
    const pods = [
      pod({ name: "a", readySince: T0 - 20_000 }),
      pod({ name: "b", readySince: T0 - 5_000 }),
      pod({ name: "c", labels: { app: "web" } }),
    ];
    const { status, recheckAfterMs } = computeStatus(r, pods, T0);
    expect(status).toMatchObject({ replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 3 });
    expect(recheckAfterMs).toBeGreaterThanOrEqual(5000);
    expect(recheckAfterMs).toBeLessThan(5200);
  });

  it("reports a failed create as ReplicaFailure", () => {
    const { status } = computeStatus(rs(), [], T0, "quota exceeded");
    expect(status.conditions).toEqual([expect.objectContaining({ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "quota exceeded" })]);
  });
});

describe("pods from the template", () => {
  it("carry generateName, the template's labels and a controller reference that blocks owner deletion", () => {
    const p = podFromTemplate(rs());
    expect(p.metadata.generateName).toBe("web-");
    expect(p.metadata.labels).toEqual({ app: "web", tier: "fe" });
    expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true, blockOwnerDeletion: true }]);
    expect(p.spec.containers[0]!.image).toBe("i");
  });
});
