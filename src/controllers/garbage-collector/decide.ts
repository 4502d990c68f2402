// The garbage collector's decision for one object, as a pure function of the
// object and what is known of its owners (Kubernetes' attemptToDeleteItem):
// keep it, drop references to owners that are gone, or delete it.

import type { KubeObject, OwnerReference } from "../../api/types.js";

export const FINALIZER_ORPHAN = "orphan";
export const FINALIZER_FOREGROUND = "foregroundDeletion";

/** What the collector found out about one owner reference. */
export type OwnerState =
  /** exists with this uid and is not being deleted in the foreground */
  | "solid"
  /** gone, or replaced by an object of another uid */
  | "dangling"
  /** being deleted with foregroundDeletion: waits for its dependents */
  | "waiting"
  /** its kind is unknown here: cannot judge, keep the reference */
  | "unknown";

export type Decision =
  | { action: "none" }
  | { action: "removeRefs"; uids: string[] }
  | { action: "delete"; propagation: "Background" | "Foreground" | "Orphan" };

export function decide(obj: KubeObject, owners: { ref: OwnerReference; state: OwnerState }[], hasDependents: boolean): Decision {
  if (owners.length === 0 || obj.metadata.deletionTimestamp) return { action: "none" };
  const solid = owners.filter((o) => o.state === "solid" || o.state === "unknown");
  const dangling = owners.filter((o) => o.state === "dangling");
  const waiting = owners.filter((o) => o.state === "waiting");
  if (solid.length > 0) {
    // Still owned: forget the owners that are gone or going, so none waits on us.
    const drop = [...dangling, ...waiting].map((o) => o.ref.uid);
    return drop.length ? { action: "removeRefs", uids: drop } : { action: "none" };
  }
  const fins = obj.metadata.finalizers ?? [];
  // An owner deleting in the foreground waits for us; if we have dependents of
  // our own, they go first (foreground again), so the chain unwinds bottom-up.
  if (waiting.length > 0 && hasDependents) return { action: "delete", propagation: "Foreground" };
  if (fins.includes(FINALIZER_ORPHAN)) return { action: "delete", propagation: "Orphan" };
  if (fins.includes(FINALIZER_FOREGROUND)) return { action: "delete", propagation: "Foreground" };
  return { action: "delete", propagation: "Background" };
}
