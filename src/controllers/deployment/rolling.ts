// The arithmetic of a rollout as pure functions over small views of
// ReplicaSets (Kubernetes' rolling.go, recreate.go and deployment_util.go):
// how far maxSurge/maxUnavailable allow it to go, and which ReplicaSets to
// scale to what in one step. controller.ts applies the plan.

import type { IntOrString } from "../../api/types.js";

export interface RSView {
  name: string;
  /** spec.replicas */
  replicas: number;
  /** status.availableReplicas */
  available: number;
  /** ms since epoch, for oldest-first ordering */
  created: number;
  /** pods it has right now (status or cache), which lag behind a lowered spec */
  pods?: number;
}

export interface ScaleOp {
  name: string;
  from: number;
  to: number;
}

/** Kubernetes' GetScaledValueFromIntOrPercent. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean, dflt: IntOrString): number {
  const value = v ?? dflt;
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value.trim());
  if (!m) {
    const n = Number(value);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: ${value}`);
  }
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge rounds up, maxUnavailable down; both zero would deadlock, so unavailable becomes 1. */
export function resolveFenceposts(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true, "25%");
  let unavailable = scaledValue(maxUnavailable, desired, false, "25%");
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, desired) };
}

export interface RolloutParams {
  replicas: number;
  surge: number;
  unavailable: number;
}

const sum = (rs: RSView[], f: (r: RSView) => number) => rs.reduce((n, r) => n + f(r), 0);
/** What a ReplicaSet weighs against maxSurge: its spec, or more while surplus pods are still going. */
const weight = (r: RSView) => Math.max(r.replicas, r.pods ?? 0);
const oldestFirst = (a: RSView, b: RSView) => a.created - b.created || a.name.localeCompare(b.name);

/** NewRSNewReplicas for RollingUpdate: how big the new ReplicaSet may be now. */
export function newRSReplicas(p: RolloutParams, newRS: RSView | null, oldRSs: RSView[]): number {
  const current = newRS?.replicas ?? 0;
  if (current === p.replicas) return current;
  // Counting pods not yet deleted keeps the surge bound true of pods, not only of specs.
  const total = (newRS ? weight(newRS) : 0) + sum(oldRSs, weight);
  const maxTotal = p.replicas + p.surge;
  if (total >= maxTotal) return current;
  const scaleUp = maxTotal - total;
  return current + Math.min(scaleUp, Math.max(0, p.replicas - current));
}

/** One reconcile of the rolling update: scale the new ReplicaSet up if it may grow;
 *  otherwise scale old ones down (unhealthy replicas first) as far as
 *  maxUnavailable allows. At most one kind of move per step, as in Kubernetes. */
export function planRollingStep(p: RolloutParams, newRS: RSView, oldRSs: RSView[]): ScaleOp[] {
  // reconcileNewReplicaSet
  if (newRS.replicas > p.replicas) return [{ name: newRS.name, from: newRS.replicas, to: p.replicas }];
  if (newRS.replicas < p.replicas) {
    const to = newRSReplicas(p, newRS, oldRSs);
    if (to !== newRS.replicas) return [{ name: newRS.name, from: newRS.replicas, to }];
  }
  return planOldScaleDown(p, newRS, oldRSs);
}

/** reconcileOldReplicaSets: clean up unhealthy old replicas, then scale old down
 *  while keeping at least replicas - unavailable available. */
export function planOldScaleDown(p: RolloutParams, newRS: RSView, oldRSs: RSView[]): ScaleOp[] {
  const oldCount = sum(oldRSs, (r) => r.replicas);
  if (oldCount === 0) return [];
  const allCount = oldCount + newRS.replicas;
  const minAvailable = p.replicas - p.unavailable;
  const newUnavailable = Math.max(0, newRS.replicas - newRS.available);
  const maxScaledDown = allCount - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return [];

  const target = new Map(oldRSs.map((r) => [r.name, r.replicas]));
  const sorted = [...oldRSs].sort(oldestFirst);
  // cleanupUnhealthyReplicas: unavailable old pods cost no availability to remove.
  let cleaned = 0;
  for (const r of sorted) {
    if (cleaned >= maxScaledDown) break;
    const cur = target.get(r.name)!;
    if (cur === 0 || r.available >= cur) continue;
    const n = Math.min(maxScaledDown - cleaned, cur - r.available);
    target.set(r.name, cur - n);
    cleaned += n;
  }
  // scaleDownOldReplicaSetsForRollingUpdate: only what availability allows.
  const availableCount = newRS.available + sum(oldRSs, (r) => Math.min(r.available, target.get(r.name)!));
  let toScaleDown = availableCount - minAvailable;
  for (const r of sorted) {
    if (toScaleDown <= 0) break;
    const cur = target.get(r.name)!;
    if (cur === 0) continue;
    const n = Math.min(cur, toScaleDown);
    target.set(r.name, cur - n);
    toScaleDown -= n;
  }
  return sorted.filter((r) => target.get(r.name)! !== r.replicas).map((r) => ({ name: r.name, from: r.replicas, to: target.get(r.name)! }));
}

/** Scaling a Deployment with several active ReplicaSets (a rollout in progress or
 *  paused): spread the change over them in proportion to their size, as
 *  Kubernetes' proportional scaling does. The new ReplicaSet gets leftovers on
 *  scale-up, the oldest ones give first on scale-down. */
export function planProportionalScale(p: RolloutParams, newRS: RSView | null, oldRSs: RSView[]): ScaleOp[] {
  const all = [...(newRS ? [newRS] : []), ...oldRSs];
  const active = all.filter((r) => r.replicas > 0);
  if (active.length === 0) {
    const target = newRS ?? [...oldRSs].sort(oldestFirst).at(-1);
    return target && target.replicas !== p.replicas ? [{ name: target.name, from: target.replicas, to: p.replicas }] : [];
  }
  if (active.length === 1) {
    const r = active[0]!;
    return r.replicas !== p.replicas ? [{ name: r.name, from: r.replicas, to: p.replicas }] : [];
  }
  // The new ReplicaSet saturated: old ones can go.
  if (newRS && newRS.replicas === p.replicas && newRS.available >= p.replicas) {
    return oldRSs.filter((r) => r.replicas > 0).map((r) => ({ name: r.name, from: r.replicas, to: 0 }));
  }
  const total = sum(active, (r) => r.replicas);
  const allowed = p.replicas + p.surge;
  const delta = allowed - total;
  if (delta === 0) return [];
  const target = new Map(active.map((r) => [r.name, r.replicas]));
  let left = delta;
  // Largest first for the proportional share.
  const bySize = [...active].sort((a, b) => b.replicas - a.replicas || b.created - a.created);
  for (const r of bySize) {
    if (left === 0) break;
    const share = delta > 0 ? Math.floor((delta * r.replicas) / total) : -Math.floor((-delta * r.replicas) / total);
    const n = delta > 0 ? Math.min(share, left) : Math.max(share, left, -target.get(r.name)!);
    target.set(r.name, target.get(r.name)! + n);
    left -= n;
  }
  // Leftovers: up to the newest (the new RS), down from the oldest.
  const order = delta > 0 ? [...active].sort((a, b) => b.created - a.created) : [...active].sort(oldestFirst);
  for (const r of order) {
    if (left === 0) break;
    const cur = target.get(r.name)!;
    const n = delta > 0 ? left : Math.max(left, -cur);
    target.set(r.name, cur + n);
    left -= n;
  }
  return active.filter((r) => target.get(r.name)! !== r.replicas).map((r) => ({ name: r.name, from: r.replicas, to: target.get(r.name)! }));
}
