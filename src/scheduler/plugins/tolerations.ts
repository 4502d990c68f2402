// Taint/toleration matching (core/v1 helpers ToleratesTaint and
// TolerationsTolerateTaint), shared by the scheduler and the node lifecycle
// controller's eviction decisions.

import type { Taint, Toleration } from "../../api/types.js";

/** Does one toleration tolerate one taint? */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator ?? "Equal";
  // An empty key with Exists tolerates every taint; an empty key with Equal is invalid.
  if (!t.key && op !== "Exists") return false;
  if (op === "Exists") return true;
  return (t.value ?? "") === (taint.value ?? "");
}

export function tolerationsTolerate(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/** The first taint of `taints` (with an effect in `effects`) that no toleration tolerates. */
export function firstUntolerated(
  taints: Taint[] | undefined,
  tolerations: Toleration[] | undefined,
  effects: readonly Taint["effect"][],
): Taint | undefined {
  for (const taint of taints ?? []) {
    if (!effects.includes(taint.effect)) continue;
    if (!tolerationsTolerate(tolerations, taint)) return taint;
  }
  return undefined;
}
