// The Deployment controller's arithmetic: maxSurge/maxUnavailable rounding,
// one rolling step at a time (and a whole simulated rollout that must stay
// within both bounds), proportional scaling, the pod-template hash, status
// and the Progressing/Available conditions.

import { describe, expect, it } from "vitest";
import type { Deployment, IntOrString, ReplicaSet } from "../../src/api/types.js";
import { computeHash, fnv1a32, templatesEqualIgnoringHash } from "../../src/controllers/deployment/hash.js";
import { planProportionalScale, planRollingStep, resolveFenceposts, type RSView } from "../../src/controllers/deployment/rolling.js";
import { calculateStatus, deploymentStatusEqual, isComplete, progressingCondition } from "../../src/controllers/deployment/status.js";

describe("maxSurge and maxUnavailable", () => {
  const cases: { replicas: number; surge?: IntOrString; unavailable?: IntOrString; want: [number, number] }[] = [
    { replicas: 10, want: [3, 2] }, // defaults 25%/25%: 2.5 rounds up for surge, down for unavailable
    { replicas: 3, surge: "25%", unavailable: "25%", want: [1, 0] },
    { replicas: 4, surge: "50%", unavailable: "30%", want: [2, 1] },
    { replicas: 10, surge: 1, unavailable: 0, want: [1, 0] },
    { replicas: 5, surge: 0, unavailable: 2, want: [0, 2] },
    { replicas: 1, surge: "0%", unavailable: "0%", want: [0, 1] }, // both zero would never progress
    { replicas: 3, surge: "10%", unavailable: "10%", want: [1, 0] },
    { replicas: 2, surge: 0, unavailable: 5, want: [0, 2] },
    { replicas: 7, surge: "100%", unavailable: "0%", want: [7, 0] },
  ];
  it.each(cases)("replicas $replicas, surge $surge, unavailable $unavailable -> $want", ({ replicas, surge, unavailable, want }) => {
    const f = resolveFenceposts(surge, unavailable, replicas);
    expect([f.surge, f.unavailable]).toEqual(want);
  });
});

const rsv = (name: string, replicas: number, available: number, created = 0): RSView => ({ name, replicas, available, created });

describe("one rolling step", () => {
  const cases: { name: string; p: { replicas: number; surge: number; unavailable: number }; newRS: RSView; old: RSView[]; want: { name: string; to: number }[] }[] = [
    { name: "surges the new ReplicaSet first", p: { replicas: 3, surge: 1, unavailable: 0 }, newRS: rsv("new", 0, 0, 9), old: [rsv("old", 3, 3)], want: [{ name: "new", to: 1 }] },
    { name: "waits while the surge pod is not available", p: { replicas: 3, surge: 1, unavailable: 0 }, newRS: rsv("new", 1, 0, 9), old: [rsv("old", 3, 3)], want: [] },
    { name: "scales old down once the new pod is available", p: { replicas: 3, surge: 1, unavailable: 0 }, newRS: rsv("new", 1, 1, 9), old: [rsv("old", 3, 3)], want: [{ name: "old", to: 2 }] },
    { name: "removes unhealthy old replicas first", p: { replicas: 4, surge: 1, unavailable: 1 }, newRS: rsv("new", 1, 1, 9), old: [rsv("old", 4, 2)], want: [{ name: "old", to: 2 }] },
    { name: "scales a too-big new ReplicaSet down", p: { replicas: 2, surge: 1, unavailable: 0 }, newRS: rsv("new", 3, 3, 9), old: [], want: [{ name: "new", to: 2 }] },
    { name: "scales the oldest old ReplicaSet down first", p: { replicas: 4, surge: 0, unavailable: 2 }, newRS: rsv("new", 0, 0, 9), old: [rsv("b", 2, 2, 2), rsv("a", 2, 2, 1)], want: [{ name: "a", to: 0 }] },
    { name: "never below minimum availability", p: { replicas: 4, surge: 0, unavailable: 1 }, newRS: rsv("new", 1, 0, 9), old: [rsv("old", 3, 3)], want: [] },
    {
      name: "waits for an old ReplicaSet's surplus pods to go before surging again",
      p: { replicas: 3, surge: 1, unavailable: 0 },
      newRS: rsv("new", 1, 1, 9),
      old: [{ ...rsv("old", 2, 3), pods: 3 }],
      want: [],
    },
    { name: "nothing left to do", p: { replicas: 3, surge: 1, unavailable: 0 }, newRS: rsv("new", 3, 3, 9), old: [rsv("old", 0, 0)], want: [] },
  ];
  it.each(cases)("$name", ({ p, newRS, old, want }) => {
    expect(planRollingStep(p, newRS, old).map((o) => ({ name: o.name, to: o.to }))).toEqual(want);
  });
});

describe("a whole rolling update stays within maxSurge and maxUnavailable", () => {
  const cases: [number, IntOrString, IntOrString][] = [
    [1, 1, 0],
    [3, 1, 0],
    [3, 0, 1],
    [10, "25%", "25%"],
    [10, "50%", 0],
    [7, 2, 3],
    [5, "0%", "20%"],
    [20, "100%", "0%"],
  ];
  it.each(cases)("replicas %i, maxSurge %s, maxUnavailable %s", (replicas, maxSurge, maxUnavailable) => {
    const f = resolveFenceposts(maxSurge, maxUnavailable, replicas);
    const p = { replicas, ...f };
    // Two old ReplicaSets from earlier rollouts, all pods available.
    const old = [rsv("old1", replicas - 1, replicas - 1, 1), rsv("old2", 1, 1, 2)];
    let newRS = rsv("new", 0, 0, 3);
    for (let step = 0; step < 200; step++) {
      const ops = planRollingStep(p, newRS, old);
      if (ops.length === 0) break;
      for (const op of ops) {
        if (op.name === "new") newRS = { ...newRS, replicas: op.to, available: Math.min(newRS.available, op.to) };
        else {
          const i = old.findIndex((r) => r.name === op.name);
          old[i] = { ...old[i]!, replicas: op.to, available: Math.min(old[i]!.available, op.to) };
        }
      }
      const total = newRS.replicas + old.reduce((n, r) => n + r.replicas, 0);
      const available = newRS.available + old.reduce((n, r) => n + r.available, 0);
      expect(total).toBeLessThanOrEqual(replicas + f.surge);
      expect(available).toBeGreaterThanOrEqual(replicas - f.unavailable);
      // The ReplicaSet controller and kubelets catch up: new pods become available.
      newRS = { ...newRS, available: newRS.replicas };
    }
    expect(newRS.replicas).toBe(replicas);
    expect(old.every((r) => r.replicas === 0)).toBe(true);
  });
});

describe("proportional scaling of several active ReplicaSets", () => {
  it("spreads a scale-up in proportion, leftovers to the newest", () => {
    const ops = planProportionalScale({ replicas: 20, surge: 5, unavailable: 5 }, rsv("new", 5, 5, 2), [rsv("old", 5, 5, 1)]);
    expect(Object.fromEntries(ops.map((o) => [o.name, o.to]))).toEqual({ new: 13, old: 12 });
  });
  it("takes a scale-down from both, leftovers from the oldest", () => {
    const ops = planProportionalScale({ replicas: 4, surge: 1, unavailable: 1 }, rsv("new", 4, 2, 2), [rsv("old", 5, 5, 1)]);
    const to = Object.fromEntries(ops.map((o) => [o.name, o.to]));
    expect(to.new! + to.old!).toBe(5);
    expect(to.old).toBeLessThanOrEqual(to.new!);
  });
  it("with one active ReplicaSet simply sets its size", () => {
    expect(planProportionalScale({ replicas: 7, surge: 2, unavailable: 1 }, rsv("new", 3, 3, 2), [rsv("old", 0, 0, 1)])).toEqual([{ name: "new", from: 3, to: 7 }]);
  });
});

const template = (image: string, labels: Record<string, string> = { app: "web" }) => ({ metadata: { labels }, spec: { containers: [{ name: "c", image }] } });

describe("pod-template-hash", () => {
  it("is FNV-1a 32 (known vectors)", () => {
    expect(fnv1a32(new TextEncoder().encode(""))).toBe(0x811c9dc5);
    expect(fnv1a32(new TextEncoder().encode("a"))).toBe(0xe40c292c);
    expect(fnv1a32(new TextEncoder().encode("foobar"))).toBe(0xbf9cf968);
  });
  it("is stable, safe to use in names, and changes with the template and the collision count", () => {
    const h = computeHash(template("a"));
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(computeHash(template("a"))).toBe(h);
    expect(computeHash({ spec: { containers: [{ image: "a", name: "c" }] }, metadata: { labels: { app: "web" } } })).toBe(h);
    expect(computeHash(template("b"))).not.toBe(h);
    expect(computeHash(template("a"), 1)).not.toBe(h);
    expect(computeHash(template("a"), 1)).not.toBe(computeHash(template("a"), 2));
  });
  it("templates equal apart from the hash label are the same template (rollback finds its old ReplicaSet)", () => {
    expect(templatesEqualIgnoringHash(template("a", { app: "web", "pod-template-hash": "xyz" }), template("a"))).toBe(true);
    expect(templatesEqualIgnoringHash(template("a"), template("b"))).toBe(false);
  });
});

function deployment(over: Partial<Deployment["spec"]> = {}, status: Deployment["status"] = {}): Deployment {
  return { metadata: { name: "web", namespace: "default", generation: 2, uid: "d" }, spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: template("a"), ...over }, status };
}
function replicaSet(name: string, replicas: number, ready: number, available: number): ReplicaSet {
  return { metadata: { name }, spec: { replicas, selector: {}, template: template("a") }, status: { replicas, readyReplicas: ready, availableReplicas: available } };
}

describe("deployment status and conditions", () => {
  const NOW = Date.parse("2026-01-01T00:10:00Z");
  it("sums the ReplicaSets and reports Available against maxUnavailable", () => {
    const d = deployment();
    const s = calculateStatus(d, replicaSet("new", 2, 2, 1), [replicaSet("new", 2, 2, 1), replicaSet("old", 2, 2, 2)], NOW);
    expect(s).toMatchObject({ replicas: 4, updatedReplicas: 2, readyReplicas: 4, availableReplicas: 3, unavailableReplicas: 0, observedGeneration: 2 });
    expect(s.conditions!.find((c) => c.type === "Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    const low = calculateStatus(d, replicaSet("new", 3, 0, 0), [replicaSet("new", 3, 0, 0)], NOW);
    expect(low.conditions!.find((c) => c.type === "Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable" });
    expect(low.unavailableReplicas).toBe(3);
  });

  it("complete rollout: Progressing NewReplicaSetAvailable", () => {
    const d = deployment();
    const s = calculateStatus(d, replicaSet("web-abc", 3, 3, 3), [replicaSet("web-abc", 3, 3, 3)], NOW);
    expect(isComplete(d, s)).toBe(true);
    const p = progressingCondition(d, s, replicaSet("web-abc", 3, 3, 3), NOW);
    expect(p.status.conditions!.find((c) => c.type === "Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable", message: 'ReplicaSet "web-abc" has successfully progressed.' });
  });

  it("a settled deployment's status does not change with time (no rewrite on every sync)", () => {
    const d = deployment();
    const rs = replicaSet("web-abc", 3, 3, 3);
    const first = progressingCondition(d, calculateStatus(d, rs, [rs], NOW), rs, NOW).status;
    const settled = { ...d, status: first };
    const later = progressingCondition(settled, calculateStatus(settled, rs, [rs], NOW + 5000), rs, NOW + 5000).status;
    expect(deploymentStatusEqual(first, later)).toBe(true);
    expect(later.conditions).toEqual(first.conditions);
  });

  it("progress: ReplicaSetUpdated; no progress past the deadline: ProgressDeadlineExceeded", () => {
    const stuckSince = new Date(NOW - 601_000).toISOString();
    const d = deployment({ progressDeadlineSeconds: 600 }, {
      replicas: 3,
      updatedReplicas: 1,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [{ type: "Progressing", status: "True", reason: "ReplicaSetUpdated", lastUpdateTime: stuckSince, lastTransitionTime: stuckSince }],
    });
    const rsNew = replicaSet("web-abc", 1, 0, 0);
    const all = [rsNew, replicaSet("old", 2, 2, 2)];
    const stuck = progressingCondition(d, calculateStatus(d, rsNew, all, NOW), rsNew, NOW);
    expect(stuck.status.conditions!.find((c) => c.type === "Progressing")).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded" });
    const moving = [replicaSet("web-abc", 2, 1, 1), replicaSet("old", 2, 2, 2)];
    const progressed = progressingCondition(d, calculateStatus(d, moving[0]!, moving, NOW), moving[0]!, NOW);
    const c = progressed.status.conditions!.find((x) => x.type === "Progressing")!;
    expect(c).toMatchObject({ status: "True", reason: "ReplicaSetUpdated" });
    expect(c.lastTransitionTime).toBe(stuckSince); // still True: the transition time stays
    expect(progressed.recheckAfterMs).toBeGreaterThan(600_000);
  });

  it("a new rollout long after the last one completed starts a fresh deadline", () => {
    const longAgo = new Date(NOW - 3600_000).toISOString();
    const d = deployment({ progressDeadlineSeconds: 600 }, {
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", lastUpdateTime: longAgo, lastTransitionTime: longAgo }],
    });
    const rsNew = replicaSet("web-new", 1, 0, 0);
    const all = [rsNew, replicaSet("web-old", 3, 3, 3)];
    const c = progressingCondition(d, calculateStatus(d, rsNew, all, NOW), rsNew, NOW).status.conditions!.find((x) => x.type === "Progressing")!;
    expect(c).toMatchObject({ status: "True", reason: "ReplicaSetUpdated", lastUpdateTime: new Date(NOW).toISOString() });
  });

  it("paused: Progressing Unknown DeploymentPaused, then DeploymentResumed", () => {
    const d = deployment({ paused: true });
    const s = progressingCondition(d, calculateStatus(d, null, [], NOW), null, NOW).status;
    expect(s.conditions!.find((c) => c.type === "Progressing")).toMatchObject({ status: "Unknown", reason: "DeploymentPaused" });
    const resumed = deployment({ paused: false }, s);
    const r = progressingCondition(resumed, calculateStatus(resumed, null, [], NOW), null, NOW).status;
    expect(r.conditions!.find((c) => c.type === "Progressing")).toMatchObject({ reason: "DeploymentResumed" });
  });
});
