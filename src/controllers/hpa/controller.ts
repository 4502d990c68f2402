// The HorizontalPodAutoscaler controller (autoscaling/v2, resource metrics):
// a level-triggered reconcile per HPA, every sync period and on every change
// of the HPA. It reads the target's /scale, the pods its selector picks and
// their usage from metrics.k8s.io, computes the desired count
// (replica-calculator.ts), applies `behavior` (behavior.ts), writes /scale
// when the count changes, and reports status and conditions as Kubernetes
// does. The only memory between reconciles is the behavior state
// (recommendations and scale events of the windows), which a new leader
// starts afresh, as kube-controller-manager does after a restart.

import type { Logger } from "pino";
import type { Condition, HorizontalPodAutoscaler, MetricSpec, MetricStatus, Pod, Scale } from "../../api/types.js";
import { toMilli, value as quantityValue } from "../../api/quantity.js";
import { lookupResource } from "../../api/resources.js";
import { EventRecorder } from "../../client/event-recorder.js";
import { Informer, objectKey } from "../../client/informer.js";
import type { KubeClient } from "../../client/kube-client.js";
import type { PodMetrics } from "../../metrics/types.js";
import { Controller } from "../framework/controller.js";
import { emptyBehaviorState, normalizeReplicas, recordScale, resolveBehavior, type BehaviorState } from "./behavior.js";
import { MetricsUnavailableError, recommendReplicas, type PodSample, type ResourceTarget } from "./replica-calculator.js";

export interface HpaControllerOptions {
  client: KubeClient;
  logger: Logger;
  /** How often every HPA is reconciled (Kubernetes: 15 s). */
  syncPeriodMs?: number;
  /** Kubernetes' --horizontal-pod-autoscaler-cpu-initialization-period (5 min). */
  cpuInitializationPeriodMs?: number;
  /** Kubernetes' --horizontal-pod-autoscaler-initial-readiness-delay (30 s). */
  initialReadinessDelayMs?: number;
  tolerance?: number;
  now?: () => number;
}

const DEFAULT_CPU_UTILIZATION = 80;

export function startHpaController(opts: HpaControllerOptions): { stop(): Promise<void> } {
  const hpas = new Informer<HorizontalPodAutoscaler>(opts.client, "horizontalpodautoscalers").start();
  const recorder = new EventRecorder(opts.client, "horizontal-pod-autoscaler");
  const states = new Map<string, BehaviorState>();
  const syncPeriodMs = opts.syncPeriodMs ?? 15_000;
  const now = opts.now ?? Date.now;
  const log = opts.logger;

  const controller = new Controller({
    name: "horizontal-pod-autoscaler",
    logger: log,
    informers: [hpas],
    reconcile: async (key) => {
      const hpa = hpas.get(key);
      if (!hpa) {
        states.delete(key);
        return;
      }
      if (hpa.metadata.deletionTimestamp) return;
      let state = states.get(key);
      if (!state) states.set(key, (state = emptyBehaviorState()));
      await reconcileHpa(hpa, state);
      return { requeueAfterMs: syncPeriodMs };
    },
  });
  hpas.addHandlers({
    onAdd: (o) => controller.enqueue(objectKey(o)),
    // Our own status writes come back here too; only spec changes need an
    // immediate look (the sync period covers the rest).
    onUpdate: (a, b) => {
      if (a.metadata.generation !== b.metadata.generation) controller.enqueue(objectKey(b));
    },
    onDelete: (o) => controller.enqueue(objectKey(o)),
  });
  void controller.start();

  async function reconcileHpa(hpa: HorizontalPodAutoscaler, state: BehaviorState): Promise<void> {
    const ns = hpa.metadata.namespace ?? "default";
    const ref = hpa.spec.scaleTargetRef;
    const conditions: Condition[] = [];
    const setCondition = (type: string, status: Condition["status"], reason: string, message: string) =>
      conditions.push({ type, status, reason, message, lastTransitionTime: transitionTime(hpa, type, status) });
    const targetResource = lookupResource(ref.kind);
    if (!targetResource || !targetResource.subresources.includes("scale")) {
      setCondition("AbleToScale", "False", "FailedGetScale", `the HPA controller was unable to get the target's current scale: no scale subresource for ${ref.kind}`);
      recorder.event(hpa, "Warning", "FailedGetScale", `no scale subresource for kind ${ref.kind}`);
      await writeStatus(hpa, { currentReplicas: hpa.status?.currentReplicas ?? 0, desiredReplicas: hpa.status?.desiredReplicas ?? 0 }, conditions);
      return;
    }
    let scale: Scale;
    try {
      scale = await opts.client.get<Scale>(targetResource, ns, ref.name, "scale");
    } catch (err) {
      setCondition("AbleToScale", "False", "FailedGetScale", `the HPA controller was unable to get the target's current scale: ${(err as Error).message}`);
      recorder.event(hpa, "Warning", "FailedGetScale", (err as Error).message);
      await writeStatus(hpa, { currentReplicas: 0, desiredReplicas: hpa.status?.desiredReplicas ?? 0 }, conditions);
      return;
    }
    const currentReplicas = scale.spec.replicas ?? 0;
    const minReplicas = hpa.spec.minReplicas ?? 1;
    const maxReplicas = hpa.spec.maxReplicas;
    setCondition("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale");

    if (currentReplicas === 0 && minReplicas !== 0) {
      // Kubernetes: scaling to and from zero is the user's decision.
      setCondition("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero");
      await writeStatus(hpa, { currentReplicas, desiredReplicas: 0 }, conditions);
      return;
    }

    const selector = scale.status?.selector ?? "";
    let recommended = 0;
    let metricStatuses: MetricStatus[] = [];
    let metricName = "";
    try {
      const pods = (await opts.client.listAll<Pod>("pods", { namespace: ns, labelSelector: selector })).items;
      const metrics = await fetchPodMetrics(ns, selector);
      const specs: MetricSpec[] = hpa.spec.metrics?.length
        ? hpa.spec.metrics
        : [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
      const results: { replicas: number; status: MetricStatus; name: string }[] = [];
      for (const spec of specs) {
        if (spec.type !== "Resource" || !spec.resource) {
          throw new MetricsUnavailableError(`metric type ${spec.type} is not supported (only Resource metrics are)`);
        }
        const resourceName = spec.resource.name;
        const target = toTarget(spec);
        const samples = pods.map((p) => sample(p, resourceName, metrics.get(p.metadata.name!)));
        const r = recommendReplicas(currentReplicas, samples, target, opts.tolerance);
        log.debug({ hpa: objectKey(hpa), resource: resourceName, samples, recommended: r.replicas, current: r.current }, "metric evaluated");
        results.push({ replicas: r.replicas, name: `${resourceName} resource${target.kind === "Utilization" ? " utilization (percentage of request)" : ""}`, status: metricStatus(resourceName, target, r.current, samples) });
      }
      // The largest recommendation of all metrics wins, as in Kubernetes.
      const best = results.reduce((a, b) => (b.replicas > a.replicas ? b : a));
      recommended = best.replicas;
      metricName = best.name;
      metricStatuses = results.map((r) => r.status);
      setCondition("ScalingActive", "True", "ValidMetricFound", `the HPA was able to successfully calculate a replica count from ${best.name}`);
    } catch (err) {
      const message = `the HPA was unable to compute the replica count: ${(err as Error).message}`;
      setCondition("ScalingActive", "False", "FailedGetResourceMetric", message);
      recorder.event(hpa, "Warning", "FailedGetResourceMetric", (err as Error).message);
      await writeStatus(hpa, { currentReplicas, desiredReplicas: hpa.status?.desiredReplicas ?? currentReplicas, currentMetrics: hpa.status?.currentMetrics }, conditions);
      return;
    }

    const t = now();
    const behavior = resolveBehavior(hpa.spec.behavior);
    const normalized = normalizeReplicas({ currentReplicas, recommended, minReplicas, maxReplicas, behavior, now: t, state });
    const desired = normalized.replicas;
    if (normalized.heldByWindow && desired === currentReplicas && recommended < currentReplicas) {
      conditions[0] = { ...conditions[0]!, reason: "ScaleDownStabilized", message: "recent recommendations were higher than current one, applying the highest recent recommendation" };
    }
    setCondition(
      "ScalingLimited",
      normalized.limitReason === "DesiredWithinRange" ? "False" : "True",
      normalized.limitReason,
      normalized.limitMessage,
    );

    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== currentReplicas) {
      // A patch, as kubectl scale sends: the target's resourceVersion moves
      // with every status write of its own controller, and the next sync
      // looks again anyway (level-triggered).
      await opts.client.patch<Scale>(targetResource, ns, ref.name, { spec: { replicas: desired } }, "merge", { subresource: "scale" });
      recordScale(state, behavior, currentReplicas, desired, t);
      lastScaleTime = new Date(t).toISOString();
      const direction = desired > currentReplicas ? "above" : "below";
      recorder.event(hpa, "Normal", "SuccessfulRescale", `New size: ${desired}; reason: ${metricName} ${direction} target`);
      conditions[0] = { ...conditions[0]!, reason: "SucceededRescale", message: `the HPA controller was able to update the target scale to ${desired}` };
      log.info({ hpa: objectKey(hpa), from: currentReplicas, to: desired }, "rescaled");
    }
    await writeStatus(hpa, { currentReplicas, desiredReplicas: desired, currentMetrics: metricStatuses, lastScaleTime }, conditions);
  }

  async function fetchPodMetrics(ns: string, selector: string): Promise<Map<string, PodMetrics>> {
    const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : "";
    const list = await opts.client.json<{ items: PodMetrics[] }>("GET", `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(ns)}/pods${q}`);
    return new Map(list.items.map((m) => [m.metadata.name, m]));
  }

  function sample(pod: Pod, resource: string, metrics: PodMetrics | undefined): PodSample {
    const ignored = pod.metadata.deletionTimestamp !== undefined || pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";
    let request = 0;
    for (const c of pod.spec.containers) {
      const r = c.resources?.requests?.[resource];
      if (r === undefined) {
        request = 0;
        break;
      }
      request += resource === "cpu" ? toMilli(r) : quantityValue(r);
    }
    let usage: number | undefined;
    if (metrics) {
      usage = 0;
      for (const c of metrics.containers) {
        const u = c.usage[resource as "cpu" | "memory"];
        if (u === undefined) {
          usage = undefined;
          break;
        }
        usage += resource === "cpu" ? toMilli(u) : quantityValue(u);
      }
    }
    return { name: pod.metadata.name!, request, usage, ready: isTrustworthy(pod, resource, metrics), ignored };
  }

  /** Kubernetes' groupPods: when a pod's usage may be counted as that of a ready pod. */
  function isTrustworthy(pod: Pod, resource: string, metrics: PodMetrics | undefined): boolean {
    if (pod.status?.phase === "Pending") return false;
    if (resource !== "cpu") return true;
    const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
    const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined;
    if (!ready || start === undefined) return false;
    const transition = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : start;
    if (start + (opts.cpuInitializationPeriodMs ?? 300_000) > now()) {
      // Still initializing: count it only if it is ready and its sample was taken after it became ready.
      const windowMs = metrics ? parseWindowMs(metrics.window) : 0;
      const sampled = metrics ? Date.parse(metrics.timestamp) : 0;
      return ready.status === "True" && sampled >= transition + windowMs;
    }
    return !(ready.status === "False" && start + (opts.initialReadinessDelayMs ?? 30_000) > transition);
  }

  async function writeStatus(
    hpa: HorizontalPodAutoscaler,
    s: { currentReplicas: number; desiredReplicas: number; currentMetrics?: MetricStatus[] | undefined; lastScaleTime?: string | undefined },
    conditions: Condition[],
  ): Promise<void> {
    const status = {
      observedGeneration: hpa.metadata.generation,
      currentReplicas: s.currentReplicas,
      desiredReplicas: s.desiredReplicas,
      ...(s.currentMetrics ? { currentMetrics: s.currentMetrics } : {}),
      ...(s.lastScaleTime ? { lastScaleTime: s.lastScaleTime } : {}),
      conditions,
    };
    if (JSON.stringify(status) === JSON.stringify(hpa.status)) return;
    await opts.client.update<HorizontalPodAutoscaler>("horizontalpodautoscalers", { ...hpa, status }, { subresource: "status" });
  }

  return {
    stop: async () => {
      await controller.stop();
      hpas.stop();
      await recorder.close();
    },
  };
}

function toTarget(spec: MetricSpec): ResourceTarget {
  const t = spec.resource!.target;
  if (t.type === "Utilization") return { kind: "Utilization", percent: t.averageUtilization ?? DEFAULT_CPU_UTILIZATION };
  if (t.type === "AverageValue" && t.averageValue !== undefined) {
    return { kind: "AverageValue", value: spec.resource!.name === "cpu" ? toMilli(t.averageValue) : quantityValue(t.averageValue) };
  }
  throw new MetricsUnavailableError(`target type ${t.type} is not supported for resource metrics (use Utilization or AverageValue)`);
}

function metricStatus(resource: string, target: ResourceTarget, current: number, samples: PodSample[]): MetricStatus {
  if (target.kind === "Utilization") {
    const measured = samples.filter((s) => s.ready && s.usage !== undefined && !s.ignored);
    const avg = measured.length ? measured.reduce((a, s) => a + s.usage!, 0) / measured.length : 0;
    const averageValue = resource === "cpu" ? `${Math.round(avg)}m` : `${Math.round(avg)}`;
    return { type: "Resource", resource: { name: resource, current: { averageUtilization: current, averageValue } } };
  }
  const averageValue = resource === "cpu" ? `${Math.round(current)}m` : `${Math.round(current)}`;
  return { type: "Resource", resource: { name: resource, current: { averageValue } } };
}

function parseWindowMs(window: string): number {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(window);
  return m ? Math.round(Number(m[1]) * 1000) : 0;
}

/** Keeps a condition's lastTransitionTime while its status stays the same. */
function transitionTime(hpa: HorizontalPodAutoscaler, type: string, status: Condition["status"]): string {
  const old = hpa.status?.conditions?.find((c) => c.type === type);
  return old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : new Date().toISOString();
}
