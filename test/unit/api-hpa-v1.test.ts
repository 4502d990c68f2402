// autoscaling/v1 <-> v2 conversion of HorizontalPodAutoscalers: the cpu
// target maps both ways, and what v1 cannot say (other metrics, behavior,
// conditions) survives a v1 read-modify-write through annotations, as in
// Kubernetes.

import { describe, expect, it } from "vitest";
import { HPA_V1_ANNOTATIONS, hpaV1ToV2, hpaV2ToV1, type HorizontalPodAutoscalerV1 } from "../../src/api/hpa-v1.js";
import type { HorizontalPodAutoscaler } from "../../src/api/types.js";

const v2: HorizontalPodAutoscaler = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "web", namespace: "default", annotations: { team: "a" } },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
    minReplicas: 2,
    maxReplicas: 9,
    metrics: [
      { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } },
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } },
    ],
    behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
  },
  status: {
    currentReplicas: 3,
    desiredReplicas: 4,
    currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 80, averageValue: "80m" } } }],
    conditions: [{ type: "AbleToScale", status: "True", reason: "SucceededRescale" }],
  },
};

describe("HPA autoscaling/v1", () => {
  it("shows the cpu target and current utilization in v1 fields", () => {
    const v1 = hpaV2ToV1(v2);
    expect(v1.apiVersion).toBe("autoscaling/v1");
    expect(v1.spec).toEqual({ scaleTargetRef: v2.spec.scaleTargetRef, minReplicas: 2, maxReplicas: 9, targetCPUUtilizationPercentage: 60 });
    expect(v1.status).toEqual({ currentReplicas: 3, desiredReplicas: 4, currentCPUUtilizationPercentage: 80 });
    expect(v1.metadata.annotations?.team).toBe("a");
    expect(JSON.parse(v1.metadata.annotations![HPA_V1_ANNOTATIONS.metrics]!)).toEqual([v2.spec.metrics![0]]);
  });

  it("round-trips v2 -> v1 -> v2 without losing metrics, behavior or conditions", () => {
    const back = hpaV1ToV2(hpaV2ToV1(v2));
    expect(back.spec.behavior).toEqual(v2.spec.behavior);
    expect(back.spec.metrics).toEqual(expect.arrayContaining(v2.spec.metrics!));
    expect(back.spec.metrics).toHaveLength(2);
    expect(back.status?.conditions).toEqual(v2.status!.conditions);
    expect(back.metadata.annotations).toEqual({ team: "a" });
  });

  it("turns what kubectl autoscale sends into a v2 cpu metric", () => {
    const v1: HorizontalPodAutoscalerV1 = {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
    };
    const out = hpaV1ToV2(v1);
    expect(out.apiVersion).toBe("autoscaling/v2");
    expect(out.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }]);
    expect(out.metadata.annotations).toBeUndefined();
    // no target: no metrics (the API server then defaults 80% cpu)
    expect(hpaV1ToV2({ ...v1, spec: { ...v1.spec, targetCPUUtilizationPercentage: undefined } }).spec.metrics).toBeUndefined();
  });

  it("drops a hand-edited annotation that is not JSON instead of failing", () => {
    const v1 = hpaV2ToV1(v2);
    v1.metadata.annotations![HPA_V1_ANNOTATIONS.behavior] = "{nope";
    const out = hpaV1ToV2(v1);
    expect(out.spec.behavior).toBeUndefined();
    expect(out.metadata.annotations).toEqual({ team: "a" });
  });
});
