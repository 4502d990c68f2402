// What the live "pinsetter and pins" view shows, as plain data: the masters
// (the pinsetter), every node as a lane of pins (one per pod), deployments,
// and recent events. Built from informer caches and /status polls by
// view.ts; rendered by render.ts. Pure functions only, so both are testable.

import type { Deployment, Event, Lease, Node, Pod } from "../../api/types.js";

export type PinState = "pending" | "running" | "ready" | "crashing" | "failed" | "succeeded" | "terminating";

export interface Pin {
  key: string;
  name: string;
  state: PinState;
  /** the owning deployment's name (or the pod's own name), for grouping and colour */
  app: string;
}

export interface Lane {
  node: string;
  ready: "True" | "False" | "Unknown";
  unschedulable: boolean;
  /** seconds since the node's Lease was renewed, null when it has none */
  leaseAgeSeconds: number | null;
  pins: Pin[];
  /** set by `pinsetter up` when it knows the node's process state */
  process?: "running" | "stopped" | "starting";
}

export interface MasterRow {
  name: string;
  role: string;
  term: number | null;
  commit: number | null;
  healthy: boolean;
  paused?: boolean;
  down?: boolean;
}

export interface DeploymentRow {
  namespace: string;
  name: string;
  desired: number;
  ready: number;
  updated: number;
  available: number;
  rollingOut: boolean;
}

export interface EventRow {
  time: string;
  type: string;
  reason: string;
  object: string;
  message: string;
}

export interface ClusterModel {
  clusterName: string;
  masters: MasterRow[];
  lanes: Lane[];
  /** pods not bound to any node yet */
  unscheduled: Pin[];
  deployments: DeploymentRow[];
  events: EventRow[];
}

/** The state of one pod's pin, as a user reads `kubectl get pods`. */
export function pinState(pod: Pod): PinState {
  if (pod.metadata.deletionTimestamp) return "terminating";
  const phase = pod.status?.phase;
  if (phase === "Succeeded") return "succeeded";
  if (phase === "Failed") return "failed";
  const statuses = pod.status?.containerStatuses ?? [];
  if (statuses.some((s) => s.state?.waiting?.reason === "CrashLoopBackOff" || s.state?.waiting?.reason === "ImagePullBackOff" || s.state?.waiting?.reason === "ErrImagePull")) {
    return "crashing";
  }
  if (!pod.spec.nodeName || phase === "Pending" || phase === undefined) return "pending";
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  return ready ? "ready" : "running";
}

function appOf(pod: Pod): string {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (owner?.kind === "ReplicaSet") {
    const hash = pod.metadata.labels?.["pod-template-hash"];
    return hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : owner.name;
  }
  return owner?.name ?? pod.metadata.name ?? "?";
}

export function buildModel(input: {
  clusterName: string;
  masters: MasterRow[];
  nodes: Node[];
  pods: Pod[];
  leases: Lease[];
  deployments: Deployment[];
  events: Event[];
  now: number;
  maxEvents?: number;
}): ClusterModel {
  const leaseByNode = new Map(input.leases.map((l) => [l.metadata.name!, l]));
  const lanes: Lane[] = input.nodes
    .map((n) => {
      const lease = leaseByNode.get(n.metadata.name!);
      const renew = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : NaN;
      const ready = (n.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown") as Lane["ready"];
      return {
        node: n.metadata.name!,
        ready,
        unschedulable: n.spec?.unschedulable === true,
        leaseAgeSeconds: Number.isNaN(renew) ? null : Math.max(0, (input.now - renew) / 1000),
        pins: [] as Pin[],
      };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
  const laneByNode = new Map(lanes.map((l) => [l.node, l]));
  const unscheduled: Pin[] = [];
  const sortedPods = [...input.pods].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const pod of sortedPods) {
    const pin: Pin = { key: `${pod.metadata.namespace}/${pod.metadata.name}`, name: pod.metadata.name!, state: pinState(pod), app: appOf(pod) };
    const lane = pod.spec.nodeName ? laneByNode.get(pod.spec.nodeName) : undefined;
    if (lane) lane.pins.push(pin);
    else unscheduled.push(pin);
  }
  const deployments: DeploymentRow[] = input.deployments
    .map((d) => {
      const desired = d.spec.replicas ?? 1;
      const st = d.status ?? {};
      const updated = st.updatedReplicas ?? 0;
      return {
        namespace: d.metadata.namespace ?? "default",
        name: d.metadata.name!,
        desired,
        ready: st.readyReplicas ?? 0,
        updated,
        available: st.availableReplicas ?? 0,
        rollingOut: (st.observedGeneration ?? 0) < (d.metadata.generation ?? 0) || updated < desired || (st.replicas ?? 0) > desired,
      };
    })
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const events: EventRow[] = input.events
    .map((e) => ({
      time: e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? "",
      type: e.type ?? "Normal",
      reason: e.reason ?? "",
      object: `${(e.involvedObject.kind ?? "").toLowerCase()}/${e.involvedObject.name ?? ""}`,
      message: e.message ?? "",
    }))
    .sort((a, b) => a.time.localeCompare(b.time))
    .slice(-(input.maxEvents ?? 8));
  return { clusterName: input.clusterName, masters: input.masters, lanes, unscheduled, deployments, events };
}
