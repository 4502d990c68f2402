// The node lifecycle controller's decisions as pure functions of what it has
// observed and the time, so they can be tested with an injected clock:
// health from heartbeats (SwarmKit's one timer per node, as timestamps), the
// taints a node's Ready condition calls for, the disruption state of the
// cluster (Kubernetes' zone states, one zone) and when a pod on a NoExecute
// node must go.

import { Taints, type Pod, type Taint } from "../../api/types.js";
import type { NodeLifecycleSettings } from "../../config/types.js";
import { toleratesTaint } from "../../scheduler/plugins/tolerations.js";

export type ReadyStatus = "True" | "False" | "Unknown";

export const NODE_STATUS_UNKNOWN_REASON = "NodeStatusUnknown";
export const NODE_STATUS_UNKNOWN_MESSAGE = "Kubelet stopped posting node status.";

/** A node is silent when no heartbeat (lease renewal or status post) was seen for longer than the grace period. */
export function isSilent(lastProbeMs: number, nowMs: number, settings: Pick<NodeLifecycleSettings, "nodeMonitorGracePeriodSeconds">): boolean {
  return nowMs - lastProbeMs > settings.nodeMonitorGracePeriodSeconds * 1000;
}

/** The Ready status the controller holds true for a node: Unknown once silent, else what the kubelet posted. */
export function effectiveReady(posted: ReadyStatus | undefined, silent: boolean): ReadyStatus | undefined {
  if (silent) return "Unknown";
  return posted;
}

const CONTROLLED = new Set<string>([Taints.unreachable, Taints.notReady]);

/** The lifecycle taints a node should carry: unreachable for Unknown, not-ready for False, none for True. */
export function lifecycleTaints(ready: ReadyStatus | undefined, noExecute: boolean): { key: string; effect: Taint["effect"] }[] {
  const key = ready === "Unknown" ? Taints.unreachable : ready === "False" ? Taints.notReady : null;
  if (!key) return [];
  const out: { key: string; effect: Taint["effect"] }[] = [{ key, effect: "NoSchedule" }];
  if (noExecute) out.push({ key, effect: "NoExecute" });
  return out;
}

/**
 * The node's taints with the lifecycle ones made to match `want`; other taints
 * untouched; a lifecycle taint already present keeps its timeAdded. Returns
 * null when nothing changes.
 */
export function reconcileTaints(current: Taint[] | undefined, want: { key: string; effect: Taint["effect"] }[], nowIso: string): Taint[] | null {
  const cur = current ?? [];
  const isWanted = (t: Taint) => want.some((w) => w.key === t.key && w.effect === t.effect);
  const kept = cur.filter((t) => !CONTROLLED.has(t.key) || isWanted(t));
  const added: Taint[] = want.filter((w) => !cur.some((t) => t.key === w.key && t.effect === w.effect)).map((w) => ({ key: w.key, effect: w.effect, timeAdded: nowIso }));
  if (added.length === 0 && kept.length === cur.length) return null;
  return [...kept, ...added];
}

export type DisruptionState = "Normal" | "PartialDisruption" | "FullDisruption";

/**
 * Kubernetes' ComputeZoneState for one zone: every node not ready is full
 * disruption; at least `threshold` (unhealthyZoneThreshold, 0.55) of the
 * nodes not ready is partial. In both, the problem is more likely on the
 * masters' side (or the network around them) than on the nodes, so nothing is
 * evicted. Kubernetes also asks for more than 2 unhealthy nodes before it
 * calls a zone partially disrupted (and then still evicts in large clusters,
 * slowly); Pinsetter's clusters are small, so the fraction alone decides: 2
 * of 3 nodes silent at once evicts nothing.
 */
export function disruptionState(ready: number, notReady: number, threshold: number): DisruptionState {
  if (ready === 0 && notReady > 0) return "FullDisruption";
  if (notReady > 0 && notReady / (ready + notReady) >= threshold) return "PartialDisruption";
  return "Normal";
}

/**
 * When a pod on a node with NoExecute taints must be evicted (ms since the
 * epoch), or null if it tolerates them for ever. `taintedAt` gives, per taint
 * key, when this controller first saw the taint. A pod without a toleration
 * for unreachable or not-ready gets the configured default (what Kubernetes'
 * DefaultTolerationSeconds admission adds); any other untolerated NoExecute
 * taint evicts at once.
 */
export function evictionTime(
  pod: Pod,
  taints: Taint[],
  taintedAt: (key: string) => number,
  settings: Pick<NodeLifecycleSettings, "defaultUnreachableTolerationSeconds" | "defaultNotReadyTolerationSeconds">,
): number | null {
  let at: number | null = null;
  const tols = pod.spec.tolerations ?? [];
  for (const taint of taints) {
    if (taint.effect !== "NoExecute") continue;
    const since = taintedAt(taint.key);
    const matching = tols.filter((t) => toleratesTaint(t, taint));
    let seconds: number | null;
    if (matching.length === 0) {
      if (taint.key === Taints.unreachable) seconds = settings.defaultUnreachableTolerationSeconds;
      else if (taint.key === Taints.notReady) seconds = settings.defaultNotReadyTolerationSeconds;
      else seconds = 0;
    } else {
      // The shortest tolerationSeconds among matching tolerations; none set means for ever.
      seconds = null;
      for (const t of matching) {
        if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
        const s = Math.max(0, t.tolerationSeconds);
        seconds = seconds === null ? s : Math.min(seconds, s);
      }
    }
    if (seconds === null) continue;
    const when = since + seconds * 1000;
    at = at === null ? when : Math.min(at, when);
  }
  return at;
}

export function isLifecycleTaint(t: Taint): boolean {
  return CONTROLLED.has(t.key);
}
