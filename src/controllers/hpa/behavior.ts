// The HPA's `behavior`: stabilization windows and scaling policies, as
// Kubernetes' horizontal.go applies them after the metrics recommend a count.
// Stabilization keeps the most conservative recommendation of the window
// (the highest when scaling down, the lowest when scaling up); policies cap
// how many pods may be added or removed per period, counting the scale
// events already made in that period. Pure: state is passed in and returned.

import type { HPAScalingPolicy, HPAScalingRules } from "../../api/types.js";

export interface ResolvedRules {
  stabilizationWindowSeconds: number;
  selectPolicy: "Max" | "Min" | "Disabled";
  policies: HPAScalingPolicy[];
}

export interface ResolvedBehavior {
  scaleUp: ResolvedRules;
  scaleDown: ResolvedRules;
}

export const DEFAULT_SCALE_UP: ResolvedRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
};

export const DEFAULT_SCALE_DOWN: ResolvedRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

export function resolveBehavior(b: { scaleUp?: HPAScalingRules; scaleDown?: HPAScalingRules } | undefined): ResolvedBehavior {
  const resolve = (r: HPAScalingRules | undefined, d: ResolvedRules): ResolvedRules => ({
    stabilizationWindowSeconds: r?.stabilizationWindowSeconds ?? d.stabilizationWindowSeconds,
    selectPolicy: r?.selectPolicy ?? d.selectPolicy,
    policies: r?.policies && r.policies.length > 0 ? r.policies : d.policies,
  });
  return { scaleUp: resolve(b?.scaleUp, DEFAULT_SCALE_UP), scaleDown: resolve(b?.scaleDown, DEFAULT_SCALE_DOWN) };
}

export interface TimedRecommendation {
  /** ms since epoch */
  time: number;
  replicas: number;
}

export interface ScaleEvent {
  time: number;
  /** replicas added (up) or removed (down), always positive */
  change: number;
}

/** What one HPA remembers between reconciles (in memory on the leader). */
export interface BehaviorState {
  recommendations: TimedRecommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

export function emptyBehaviorState(): BehaviorState {
  return { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
}

export type LimitReason = "DesiredWithinRange" | "TooManyReplicas" | "TooFewReplicas" | "ScaleUpLimit" | "ScaleDownLimit";

export interface NormalizedReplicas {
  replicas: number;
  /** The recommendation after stabilization, before limits. */
  stabilized: number;
  /** True when the stabilization window held back the metrics' recommendation. */
  heldByWindow: boolean;
  limitReason: LimitReason;
  limitMessage: string;
}

export interface NormalizeInput {
  currentReplicas: number;
  /** From the metrics. */
  recommended: number;
  minReplicas: number;
  maxReplicas: number;
  behavior: ResolvedBehavior;
  now: number;
  state: BehaviorState;
}

export function normalizeReplicas(input: NormalizeInput): NormalizedReplicas {
  const { currentReplicas, recommended, behavior, now, state } = input;
  const stabilized = stabilize(input);
  const heldByWindow = stabilized !== recommended;
  if (stabilized > currentReplicas) {
    let limit = scaleUpLimit(currentReplicas, state.scaleUpEvents, behavior.scaleUp, now);
    if (limit < currentReplicas) limit = currentReplicas;
    let maximum = input.maxReplicas;
    let reason: LimitReason = "TooManyReplicas";
    let message = "the desired replica count is more than the maximum replica count";
    if (maximum > limit) {
      maximum = limit;
      reason = "ScaleUpLimit";
      message = "the desired replica count is increasing faster than the maximum scale rate";
    }
    if (stabilized > maximum) return { replicas: maximum, stabilized, heldByWindow, limitReason: reason, limitMessage: message };
  } else if (stabilized < currentReplicas) {
    let limit = scaleDownLimit(currentReplicas, state.scaleDownEvents, behavior.scaleDown, now);
    if (limit > currentReplicas) limit = currentReplicas;
    let minimum = input.minReplicas;
    let reason: LimitReason = "TooFewReplicas";
    let message = "the desired replica count is less than the minimum replica count";
    if (minimum < limit) {
      minimum = limit;
      reason = "ScaleDownLimit";
      message = "the desired replica count is decreasing faster than the maximum scale rate";
    }
    if (stabilized < minimum) return { replicas: minimum, stabilized, heldByWindow, limitReason: reason, limitMessage: message };
  }
  // Within the rate limits: still clamp to [min, max] (a count the user lowered the max under).
  if (stabilized > input.maxReplicas) {
    return { replicas: input.maxReplicas, stabilized, heldByWindow, limitReason: "TooManyReplicas", limitMessage: "the desired replica count is more than the maximum replica count" };
  }
  if (stabilized < input.minReplicas) {
    return { replicas: input.minReplicas, stabilized, heldByWindow, limitReason: "TooFewReplicas", limitMessage: "the desired replica count is less than the minimum replica count" };
  }
  return { replicas: stabilized, stabilized, heldByWindow, limitReason: "DesiredWithinRange", limitMessage: "the desired count is within the acceptable range" };
}

/** Records the recommendation and returns the stabilized one. Mutates state.recommendations. */
function stabilize(input: NormalizeInput): number {
  const { recommended, currentReplicas, behavior, now, state } = input;
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds * 1000;
  let up = recommended;
  let down = recommended;
  for (const r of state.recommendations) {
    if (r.time > upCutoff) up = Math.min(up, r.replicas);
    if (r.time > downCutoff) down = Math.max(down, r.replicas);
  }
  const keepFrom = Math.min(upCutoff, downCutoff);
  state.recommendations = state.recommendations.filter((r) => r.time > keepFrom);
  state.recommendations.push({ time: now, replicas: recommended });
  let result = currentReplicas;
  if (result < up) result = up;
  if (result > down) result = down;
  return result;
}

function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.time > cutoff).reduce((s, e) => s + e.change, 0);
}

export function scaleUpLimit(current: number, events: ScaleEvent[], rules: ResolvedRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Min" ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  for (const p of rules.policies) {
    const periodStart = current - changeInPeriod(events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? periodStart + p.value : Math.ceil(periodStart * (1 + p.value / 100));
    result = rules.selectPolicy === "Min" ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

export function scaleDownLimit(current: number, events: ScaleEvent[], rules: ResolvedRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Min" ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const p of rules.policies) {
    const periodStart = current + changeInPeriod(events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? periodStart - p.value : Math.trunc(periodStart * (1 - p.value / 100));
    // "Max" picks the policy that allows the biggest change: the fewest replicas.
    result = rules.selectPolicy === "Min" ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/** Records a scale made at `now` and forgets events older than every policy period. */
export function recordScale(state: BehaviorState, behavior: ResolvedBehavior, from: number, to: number, now: number): void {
  const longest = (r: ResolvedRules) => Math.max(0, ...r.policies.map((p) => p.periodSeconds)) * 1000;
  state.scaleUpEvents = state.scaleUpEvents.filter((e) => e.time > now - longest(behavior.scaleUp));
  state.scaleDownEvents = state.scaleDownEvents.filter((e) => e.time > now - longest(behavior.scaleDown));
  if (to > from) state.scaleUpEvents.push({ time: now, change: to - from });
  if (to < from) state.scaleDownEvents.push({ time: now, change: from - to });
}
