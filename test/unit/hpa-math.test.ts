// The HPA's replica calculation and behavior, case by case against what
// Kubernetes' replica_calculator.go and horizontal.go compute.

import { describe, expect, it } from "vitest";
import { recommendReplicas, MetricsUnavailableError, type PodSample } from "../../src/controllers/hpa/replica-calculator.js";
import {
  emptyBehaviorState,
  normalizeReplicas,
  recordScale,
  resolveBehavior,
  scaleDownLimit,
  scaleUpLimit,
} from "../../src/controllers/hpa/behavior.js";

const pod = (name: string, usage: number | undefined, request = 100, ready = true, ignored = false): PodSample => ({ name, usage, request, ready, ignored });

describe("recommendReplicas (cpu utilization)", () => {
  const target = { kind: "Utilization" as const, percent: 50 };

  it("scales up in proportion to the usage ratio", () => {
    // 3 pods at 90% of request against a 50% target: ceil(1.8 * 3) = 6
    const r = recommendReplicas(3, [pod("a", 90), pod("b", 90), pod("c", 90)], target);
    expect(r).toEqual({ replicas: 6, current: 90 });
  });

  it("keeps the count inside the 10% tolerance", () => {
    const r = recommendReplicas(3, [pod("a", 54), pod("b", 54), pod("c", 54)], target);
    expect(r.replicas).toBe(3);
    expect(r.current).toBe(54);
  });

  it("scales down when idle", () => {
    const r = recommendReplicas(4, [pod("a", 10), pod("b", 10), pod("c", 10), pod("d", 10)], target);
    expect(r.replicas).toBe(1);
  });

  it("counts a pod without metrics as fully busy when scaling down, so it damps the scale-down", () => {
    // ready: 2 pods at 20% -> ratio 0.4; the missing pod counts as 100%:
    // (20+20+100)/300 = 46.7% -> ratio 0.933 -> within tolerance: no change
    const r = recommendReplicas(3, [pod("a", 20), pod("b", 20), pod("c", undefined)], target);
    expect(r.replicas).toBe(3);
  });

  it("counts a pod without metrics as idle when scaling up", () => {
    // ready: 2 at 100% -> ratio 2; missing at 0: 200/300 = 66.7% -> 1.333 -> ceil(1.333*3) = 4
    const r = recommendReplicas(3, [pod("a", 100), pod("b", 100), pod("c", undefined)], target);
    expect(r.replicas).toBe(4);
  });

  it("counts unready pods as idle only when scaling up", () => {
    const up = recommendReplicas(3, [pod("a", 100), pod("b", 100), pod("c", 100, 100, false)], target);
    expect(up.replicas).toBe(4);
    // a pending pod without metrics is unready too, and counts as idle when scaling up
    const pending = recommendReplicas(3, [pod("a", 100), pod("b", 100), pod("c", undefined, 100, false)], target);
    expect(pending.replicas).toBe(4);
    // scaling down: the unready pod is left out entirely; ratio 0.2 * 2 ready pods
    const down = recommendReplicas(3, [pod("a", 10), pod("b", 10), pod("c", 100, 100, false)], target);
    expect(down.replicas).toBe(1);
  });

  it("never reverses direction because of the assumed values", () => {
    // measured says scale up (ratio 1.2) but with 3 missing pods at 0 the ratio falls under 1: keep the count
    const r = recommendReplicas(4, [pod("a", 60), pod("b", undefined), pod("c", undefined), pod("d", undefined)], target);
    expect(r.replicas).toBe(4);
  });

  it("ignores deleted or failed pods", () => {
    const r = recommendReplicas(2, [pod("a", 90), pod("b", 90), pod("x", 0, 100, true, true)], target);
    expect(r.replicas).toBe(4);
  });

  it("fails clearly without any metrics or without requests", () => {
    expect(() => recommendReplicas(2, [pod("a", undefined), pod("b", undefined)], target)).toThrow(MetricsUnavailableError);
    expect(() => recommendReplicas(2, [pod("a", 50, 100, false), pod("b", undefined)], target)).toThrow(/might be unready/);
    expect(() => recommendReplicas(2, [pod("a", 50, 0)], target)).toThrow(/missing request/);
    expect(() => recommendReplicas(2, [], target)).toThrow(/no pods/);
  });

  it("scales on an average value target", () => {
    const r = recommendReplicas(2, [pod("a", 300), pod("b", 300)], { kind: "AverageValue", value: 100 });
    expect(r).toEqual({ replicas: 6, current: 300 });
  });
});

describe("scaling policies", () => {
  const b = resolveBehavior(undefined);
  it("scale-up defaults allow max(4 pods, 100%) per 15 s", () => {
    expect(scaleUpLimit(2, [], b.scaleUp, 0)).toBe(6);
    expect(scaleUpLimit(10, [], b.scaleUp, 0)).toBe(20);
    // 4 pods were already added 5 s ago: the period started at 6
    expect(scaleUpLimit(10, [{ time: 10_000, change: 4 }], b.scaleUp, 15_000)).toBe(12);
  });
  it("scale-down default allows removing everything per 15 s", () => {
    expect(scaleDownLimit(10, [], b.scaleDown, 0)).toBe(0);
  });
  it("a Pods policy with Min select limits the change", () => {
    const rules = { stabilizationWindowSeconds: 0, selectPolicy: "Min" as const, policies: [{ type: "Pods" as const, value: 1, periodSeconds: 60 }, { type: "Percent" as const, value: 50, periodSeconds: 60 }] };
    expect(scaleDownLimit(10, [], rules, 0)).toBe(9);
    expect(scaleUpLimit(10, [], rules, 0)).toBe(11);
  });
  it("Disabled forbids scaling in that direction", () => {
    const rules = { stabilizationWindowSeconds: 0, selectPolicy: "Disabled" as const, policies: [{ type: "Pods" as const, value: 1, periodSeconds: 60 }] };
    expect(scaleDownLimit(10, [], rules, 0)).toBe(10);
  });
});

describe("normalizeReplicas", () => {
  it("holds a scale-down for the stabilization window, then takes it", () => {
    const behavior = resolveBehavior({ scaleDown: { stabilizationWindowSeconds: 60 } });
    const state = emptyBehaviorState();
    const base = { minReplicas: 1, maxReplicas: 10, behavior, state };
    expect(normalizeReplicas({ ...base, currentReplicas: 5, recommended: 5, now: 0 }).replicas).toBe(5);
    const held = normalizeReplicas({ ...base, currentReplicas: 5, recommended: 2, now: 30_000 });
    expect(held.replicas).toBe(5);
    expect(held.heldByWindow).toBe(true);
    const taken = normalizeReplicas({ ...base, currentReplicas: 5, recommended: 2, now: 61_000 });
    expect(taken.replicas).toBe(2);
  });

  it("clamps to min and max with the reasons Kubernetes reports", () => {
    const behavior = resolveBehavior({ scaleDown: { stabilizationWindowSeconds: 0 } });
    const high = normalizeReplicas({ currentReplicas: 3, recommended: 50, minReplicas: 1, maxReplicas: 5, behavior, now: 0, state: emptyBehaviorState() });
    expect(high).toMatchObject({ replicas: 5, limitReason: "TooManyReplicas" });
    const low = normalizeReplicas({ currentReplicas: 3, recommended: 0, minReplicas: 2, maxReplicas: 5, behavior, now: 0, state: emptyBehaviorState() });
    expect(low).toMatchObject({ replicas: 2, limitReason: "TooFewReplicas" });
  });

  it("rate-limits a scale-up by the policies and the events of the period", () => {
    const behavior = resolveBehavior(undefined);
    const state = emptyBehaviorState();
    const first = normalizeReplicas({ currentReplicas: 1, recommended: 100, minReplicas: 1, maxReplicas: 200, behavior, now: 0, state });
    expect(first).toMatchObject({ replicas: 5, limitReason: "ScaleUpLimit" });
    recordScale(state, behavior, 1, 5, 0);
    const second = normalizeReplicas({ currentReplicas: 5, recommended: 100, minReplicas: 1, maxReplicas: 200, behavior, now: 5_000, state });
    // the period started at 1: max(1 + 4, 1 * 2) = 5, no more room yet
    expect(second.replicas).toBe(5);
    const later = normalizeReplicas({ currentReplicas: 5, recommended: 100, minReplicas: 1, maxReplicas: 200, behavior, now: 16_000, state });
    expect(later.replicas).toBe(10);
  });
});
