// HorizontalPodAutoscaler in autoscaling/v1, converted to and from the stored
// autoscaling/v2 form as Kubernetes converts it: v1 knows only a cpu
// utilization target, so what it cannot say (other metrics, behavior,
// conditions, current metrics) rides in the annotations Kubernetes uses, and a
// v1 read-modify-write keeps it. `kubectl autoscale` speaks v1.

import type { Condition, HorizontalPodAutoscaler, MetricSpec, MetricStatus } from "./types.js";

export const HPA_V1_ANNOTATIONS = {
  metrics: "autoscaling.alpha.kubernetes.io/metrics",
  currentMetrics: "autoscaling.alpha.kubernetes.io/current-metrics",
  conditions: "autoscaling.alpha.kubernetes.io/conditions",
  behavior: "autoscaling.alpha.kubernetes.io/behavior",
} as const;

/** autoscaling/v1 HorizontalPodAutoscaler */
export interface HorizontalPodAutoscalerV1 {
  apiVersion: "autoscaling/v1";
  kind: "HorizontalPodAutoscaler";
  metadata: HorizontalPodAutoscaler["metadata"];
  spec: {
    scaleTargetRef: HorizontalPodAutoscaler["spec"]["scaleTargetRef"];
    minReplicas?: number;
    maxReplicas: number;
    targetCPUUtilizationPercentage?: number;
  };
  status?: {
    observedGeneration?: number;
    lastScaleTime?: string;
    currentReplicas: number;
    desiredReplicas: number;
    currentCPUUtilizationPercentage?: number;
  };
}

const isCpuUtilization = (m: MetricSpec): boolean => m.type === "Resource" && m.resource?.name === "cpu" && m.resource.target.type === "Utilization";
const isCpuUtilizationStatus = (m: MetricStatus): boolean => m.type === "Resource" && m.resource?.name === "cpu" && m.resource.current.averageUtilization !== undefined;

export function hpaV2ToV1(hpa: HorizontalPodAutoscaler): HorizontalPodAutoscalerV1 {
  const annotations: Record<string, string> = { ...(hpa.metadata.annotations ?? {}) };
  const metrics = hpa.spec.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => m !== cpu);
  if (others.length > 0) annotations[HPA_V1_ANNOTATIONS.metrics] = JSON.stringify(others);
  if (hpa.spec.behavior) annotations[HPA_V1_ANNOTATIONS.behavior] = JSON.stringify(hpa.spec.behavior);
  const current = hpa.status?.currentMetrics ?? [];
  const cpuNow = current.find(isCpuUtilizationStatus);
  const otherNow = current.filter((m) => m !== cpuNow);
  if (otherNow.length > 0) annotations[HPA_V1_ANNOTATIONS.currentMetrics] = JSON.stringify(otherNow);
  if (hpa.status?.conditions?.length) annotations[HPA_V1_ANNOTATIONS.conditions] = JSON.stringify(hpa.status.conditions);
  const out: HorizontalPodAutoscalerV1 = {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { ...hpa.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: {
      scaleTargetRef: hpa.spec.scaleTargetRef,
      ...(hpa.spec.minReplicas !== undefined ? { minReplicas: hpa.spec.minReplicas } : {}),
      maxReplicas: hpa.spec.maxReplicas,
      ...(cpu ? { targetCPUUtilizationPercentage: cpu.resource!.target.averageUtilization } : {}),
    },
  };
  if (hpa.status) {
    out.status = {
      ...(hpa.status.observedGeneration !== undefined ? { observedGeneration: hpa.status.observedGeneration } : {}),
      ...(hpa.status.lastScaleTime ? { lastScaleTime: hpa.status.lastScaleTime } : {}),
      currentReplicas: hpa.status.currentReplicas ?? 0,
      desiredReplicas: hpa.status.desiredReplicas,
      ...(cpuNow ? { currentCPUUtilizationPercentage: cpuNow.resource!.current.averageUtilization } : {}),
    };
  }
  return out;
}

function parseAnnotation<T>(annotations: Record<string, string>, key: string): T | undefined {
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  delete annotations[key];
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined; // a hand-edited annotation that is not JSON is dropped, as Kubernetes' conversion ignores it
  }
}

export function hpaV1ToV2(v1: HorizontalPodAutoscalerV1): HorizontalPodAutoscaler {
  const annotations: Record<string, string> = { ...(v1.metadata?.annotations ?? {}) };
  const others = parseAnnotation<MetricSpec[]>(annotations, HPA_V1_ANNOTATIONS.metrics) ?? [];
  const behavior = parseAnnotation<HorizontalPodAutoscaler["spec"]["behavior"]>(annotations, HPA_V1_ANNOTATIONS.behavior);
  const otherNow = parseAnnotation<MetricStatus[]>(annotations, HPA_V1_ANNOTATIONS.currentMetrics) ?? [];
  const conditions = parseAnnotation<Condition[]>(annotations, HPA_V1_ANNOTATIONS.conditions);
  const spec = v1.spec ?? ({} as HorizontalPodAutoscalerV1["spec"]);
  const metrics: MetricSpec[] = [];
  if (spec.targetCPUUtilizationPercentage !== undefined) {
    metrics.push({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: spec.targetCPUUtilizationPercentage } } });
  }
  metrics.push(...others);
  const metadata = { ...(v1.metadata ?? {}) };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const out: HorizontalPodAutoscaler = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata,
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...(metrics.length ? { metrics } : {}),
      ...(behavior ? { behavior } : {}),
    },
  };
  if (v1.status) {
    const currentMetrics: MetricStatus[] = [];
    if (v1.status.currentCPUUtilizationPercentage !== undefined) {
      currentMetrics.push({ type: "Resource", resource: { name: "cpu", current: { averageUtilization: v1.status.currentCPUUtilizationPercentage } } });
    }
    currentMetrics.push(...otherNow);
    out.status = {
      ...(v1.status.observedGeneration !== undefined ? { observedGeneration: v1.status.observedGeneration } : {}),
      ...(v1.status.lastScaleTime ? { lastScaleTime: v1.status.lastScaleTime } : {}),
      currentReplicas: v1.status.currentReplicas,
      desiredReplicas: v1.status.desiredReplicas,
      ...(currentMetrics.length ? { currentMetrics } : {}),
      ...(conditions ? { conditions } : {}),
    };
  }
  return out;
}
