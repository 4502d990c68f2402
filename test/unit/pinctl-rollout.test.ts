// The decisions behind `pinctl rollout`: kubectl's status messages, the
// revision history from ReplicaSets, and the rollback patch (the ReplicaSet's
// template minus pod-template-hash).

import { describe, expect, it } from "vitest";
import type { Deployment, ReplicaSet } from "../../src/api/types.js";
import { deploymentRolloutStatus, planRollback, rolloutHistory } from "../../src/cli/pinctl/rollout-logic.js";

function deployment(image: string, status: Deployment["status"] = {}, generation = 1, extra: Partial<Deployment["spec"]> = {}): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: "d-uid", generation, annotations: { "deployment.kubernetes.io/revision": "2" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
      ...extra,
    },
    status,
  };
}

function replicaSet(revision: number, image: string, hash: string, cause?: string, ownerUid = "d-uid"): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `web-${hash}`,
      namespace: "default",
      annotations: { "deployment.kubernetes.io/revision": String(revision), ...(cause ? { "kubernetes.io/change-cause": cause } : {}) },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: ownerUid, controller: true }],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "web", "pod-template-hash": hash } },
      template: { metadata: { labels: { app: "web", "pod-template-hash": hash } }, spec: { containers: [{ name: "web", image }] } },
    },
  };
}

describe("rollout status", () => {
  it("waits for the controller to observe the new generation", () => {
    expect(deploymentRolloutStatus(deployment("a", { observedGeneration: 1 }, 2)).message).toBe("Waiting for deployment spec update to be observed...");
  });

  it("counts updated, old and available replicas in kubectl's words", () => {
    expect(deploymentRolloutStatus(deployment("a", { observedGeneration: 1, updatedReplicas: 1, replicas: 3 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    );
    expect(deploymentRolloutStatus(deployment("a", { observedGeneration: 1, updatedReplicas: 3, replicas: 4 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    );
    expect(deploymentRolloutStatus(deployment("a", { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 1 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
    );
  });

  it("is done when every replica is updated and available", () => {
    const s = deploymentRolloutStatus(deployment("a", { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }));
    expect(s).toEqual({ done: true, message: 'deployment "web" successfully rolled out' });
  });

  it("fails when the progress deadline is exceeded", () => {
    const s = deploymentRolloutStatus(deployment("a", { observedGeneration: 1, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] }));
    expect(s.error).toBe('deployment "web" exceeded its progress deadline');
  });
});

describe("rollout history", () => {
  it("lists the deployment's own ReplicaSets by revision with their change-cause", () => {
    const history = rolloutHistory(deployment("b"), [replicaSet(2, "b", "h2", "set image b"), replicaSet(1, "a", "h1"), replicaSet(5, "x", "zz", undefined, "other-uid")]);
    expect(history.map((h) => [h.revision, h.changeCause])).toEqual([
      [1, "<none>"],
      [2, "set image b"],
    ]);
  });
});

describe("rollout undo", () => {
  const sets = [replicaSet(1, "a", "h1"), replicaSet(2, "b", "h2")];

  it("goes back to the previous revision's template without pod-template-hash", () => {
    const plan = planRollback(deployment("b"), sets, 0);
    expect(plan.kind).toBe("patch");
    if (plan.kind !== "patch") return;
    expect(plan.revision).toBe(1);
    expect(plan.patch[0]).toEqual({ op: "replace", path: "/spec/template", value: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "a" }] } } });
  });

  it("skips when the template already matches the revision", () => {
    expect(planRollback(deployment("a"), sets, 1)).toEqual({ kind: "skip", revision: 1 });
  });

  it("refuses an unknown revision, a missing history and a paused deployment", () => {
    expect(planRollback(deployment("b"), sets, 7)).toEqual({ kind: "error", message: "unable to find specified revision 7 in history" });
    expect(planRollback(deployment("b"), [sets[1]!], 0)).toEqual({ kind: "error", message: 'no rollout history found for deployment "web"' });
    expect(planRollback(deployment("b", {}, 1, { paused: true }), sets, 0)).toMatchObject({ kind: "error", message: expect.stringContaining("paused") });
  });
});
