// The horizontal pod autoscaler's replica calculation for resource metrics,
// as Kubernetes' replica_calculator.go defines it: usage ratio against the
// target, a tolerance band, and the conservative treatment of pods without
// metrics or not yet ready (assume the worst for the direction of the change,
// and never reverse the direction because of them). Pure: the controller
// gathers the inputs and applies the result.

export const DEFAULT_TOLERANCE = 0.1;

/** One pod as the calculation sees it. */
export interface PodSample {
  name: string;
  /** Sum of the containers' requests for the resource (millicores or bytes); 0 when some container has none. */
  request: number;
  /** Usage from the metrics API (same unit), or undefined when the pod has no metrics yet. */
  usage: number | undefined;
  /** Ready and counted; false for pods still starting (cpu: not Ready, or ready too recently to trust its usage). */
  ready: boolean;
  /** Pods being deleted or failed are left out entirely. */
  ignored: boolean;
}

export interface UtilizationTarget {
  kind: "Utilization";
  /** averageUtilization, percent of requests */
  percent: number;
}

export interface AverageValueTarget {
  kind: "AverageValue";
  /** per-pod average usage (same unit as usage) */
  value: number;
}

export type ResourceTarget = UtilizationTarget | AverageValueTarget;

export interface ReplicaRecommendation {
  replicas: number;
  /** Current utilization percent (Utilization) or average value (AverageValue), over ready pods with metrics. */
  current: number;
}

export class MetricsUnavailableError extends Error {
  override name = "MetricsUnavailableError";
}

/**
 * Desired replicas for one resource metric. `currentReplicas` is the scale
 * target's current spec.replicas.
 */
export function recommendReplicas(
  currentReplicas: number,
  pods: PodSample[],
  target: ResourceTarget,
  tolerance = DEFAULT_TOLERANCE,
): ReplicaRecommendation {
  const considered = pods.filter((p) => !p.ignored);
  if (considered.length === 0) throw new MetricsUnavailableError("no pods matched the scale target's selector");

  // As Kubernetes groups them: unready pods (pending, or cpu not yet
  // trustworthy) whatever their metrics; ready pods with and without metrics.
  const withMetrics = considered.filter((p) => p.ready && p.usage !== undefined);
  const missing = considered.filter((p) => p.ready && p.usage === undefined);
  const unready = considered.filter((p) => !p.ready);
  if (withMetrics.length === 0) throw new MetricsUnavailableError("did not receive metrics for targeted pods (pods might be unready)");

  if (target.kind === "Utilization") {
    if (considered.some((p) => p.request <= 0)) {
      throw new MetricsUnavailableError("missing request for the resource on some container");
    }
  }

  const ratioOf = (sample: { usage: number; request: number }[], podCount: number): { ratio: number; current: number } => {
    const usage = sample.reduce((s, p) => s + p.usage, 0);
    if (target.kind === "Utilization") {
      const requests = sample.reduce((s, p) => s + p.request, 0);
      const current = requests > 0 ? Math.floor((usage * 100) / requests) : 0;
      return { ratio: requests > 0 ? (usage * 100) / requests / target.percent : 0, current };
    }
    const average = podCount > 0 ? usage / podCount : 0;
    return { ratio: average / target.value, current: average };
  };

  const ready = withMetrics.map((p) => ({ usage: p.usage!, request: p.request }));
  const base = ratioOf(ready, ready.length);
  // Kubernetes reports the utilization of the ready pods with metrics.
  const current = base.current;
  const readyCount = ready.length;

  const rebalanceUnready = unready.length > 0 && base.ratio > 1.0;
  if (missing.length === 0 && !rebalanceUnready) {
    if (Math.abs(1.0 - base.ratio) <= tolerance) return { replicas: currentReplicas, current };
    return { replicas: Math.ceil(base.ratio * readyCount), current };
  }

  // Fill in the pods we could not measure with the assumption least likely
  // to cause a scale the real numbers would not justify: scaling down, a pod
  // without metrics counts as fully busy; scaling up, as idle. Unready pods
  // count (as idle) only when scaling up; otherwise they are left out.
  const filled = [...ready];
  for (const p of missing) {
    let assumed = 0;
    if (base.ratio < 1.0) assumed = target.kind === "Utilization" ? (p.request * Math.max(100, target.percent)) / 100 : target.value;
    filled.push({ usage: assumed, request: p.request });
  }
  if (rebalanceUnready) for (const p of unready) filled.push({ usage: 0, request: p.request });

  const next = ratioOf(filled, filled.length);
  if (Math.abs(1.0 - next.ratio) <= tolerance || (base.ratio < 1.0 && next.ratio > 1.0) || (base.ratio > 1.0 && next.ratio < 1.0)) {
    return { replicas: currentReplicas, current };
  }
  const replicas = Math.ceil(next.ratio * filled.length);
  // A change in the direction opposite to the measured one is never taken.
  if ((next.ratio < 1.0 && replicas > currentReplicas) || (next.ratio > 1.0 && replicas < currentReplicas)) {
    return { replicas: currentReplicas, current };
  }
  return { replicas, current };
}
