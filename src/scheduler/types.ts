// The scheduler's view of the cluster and the vocabulary of its framework
// (kube-scheduler's framework/types.go and interface.go, in small): NodeInfo
// aggregates what is placed on a node, Status carries a plugin's verdict, and
// CycleState carries what PreFilter/PreScore computed for one pod's cycle.
// Everything here is plain data so that the greedy placer and a batch placer
// (issue 12) can share it.

import { toBytes, toMilli } from "../api/quantity.js";
import type { Node, Pod } from "../api/types.js";
import { podRequests, type Resources } from "./resources.js";

export type Code = "Success" | "Unschedulable" | "UnschedulableAndUnresolvable" | "Error" | "Skip";

/** A plugin's verdict. `reasons` feed the FitError histogram, word for word. */
export interface Status {
  code: Code;
  reasons: string[];
  plugin?: string;
}

export const success: Status = Object.freeze({ code: "Success", reasons: [] }) as Status;
export const skip: Status = Object.freeze({ code: "Skip", reasons: [] }) as Status;

export function unschedulable(...reasons: string[]): Status {
  return { code: "Unschedulable", reasons };
}

export function unresolvable(...reasons: string[]): Status {
  return { code: "UnschedulableAndUnresolvable", reasons };
}

export function isSuccess(s: Status | null | undefined): boolean {
  return !s || s.code === "Success";
}

/** Per-cycle scratch space, keyed by plugin. Cloneable for what-if placement (batch placer). */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins whose PreFilter or PreScore returned Skip: the framework leaves them out. */
  readonly skipFilter = new Set<string>();
  readonly skipScore = new Set<string>();

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }

  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v);
    for (const s of this.skipFilter) c.skipFilter.add(s);
    for (const s of this.skipScore) c.skipScore.add(s);
    return c;
  }
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** A pod as the scheduler accounts for it: its requests computed once. */
export interface PodInfo {
  pod: Pod;
  key: string;
  requests: Resources;
  /** Requests with kube-scheduler's non-zero defaults (100m cpu, 200Mi memory) for scoring. */
  nonZero: Resources;
  hostPorts: HostPort[];
  /** uid of the controller owner (ReplicaSet, ...), for spreading the pods of one owner. */
  ownerUid?: string;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name ?? ""}`;
}

export function newPodInfo(pod: Pod): PodInfo {
  const { requests, nonZero } = podRequests(pod);
  const hostPorts: HostPort[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.hostPort && p.hostPort > 0) hostPorts.push({ ip: p.hostIP || "0.0.0.0", protocol: p.protocol ?? "TCP", port: p.hostPort });
    }
  }
  const ownerUid = pod.metadata.ownerReferences?.find((o) => o.controller)?.uid;
  return { pod, key: podKey(pod), requests, nonZero, hostPorts, ...(ownerUid ? { ownerUid } : {}) };
}

/** A node and what is placed on it (bound or assumed). */
export class NodeInfo {
  readonly pods = new Map<string, PodInfo>();
  /** Sum of the pods' requests. */
  readonly requested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  readonly nonZeroRequested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  /** Pods on this node that carry (anti-)affinity terms: InterPodAffinity looks only at these. */
  readonly podsWithAffinity = new Set<string>();
  /** Pods not being deleted, per controller owner uid: spreading counts these without a scan. */
  readonly ownerCounts = new Map<string, number>();
  allocatable: Resources;
  /** Bumped on every change; lets a placer cache per-node results. */
  generation = 0;

  constructor(public node: Node) {
    this.allocatable = allocatableOf(node);
  }

  get name(): string {
    return this.node.metadata.name ?? "";
  }

  setNode(node: Node): void {
    this.node = node;
    this.allocatable = allocatableOf(node);
    this.generation++;
  }

  addPod(pi: PodInfo): void {
    if (this.pods.has(pi.key)) this.removePod(pi.key);
    this.pods.set(pi.key, pi);
    addTo(this.requested, pi.requests, 1);
    addTo(this.nonZeroRequested, pi.nonZero, 1);
    if (hasAffinityTerms(pi.pod)) this.podsWithAffinity.add(pi.key);
    this.countOwner(pi, 1);
    this.generation++;
  }

  removePod(key: string): boolean {
    const pi = this.pods.get(key);
    if (!pi) return false;
    this.pods.delete(key);
    addTo(this.requested, pi.requests, -1);
    addTo(this.nonZeroRequested, pi.nonZero, -1);
    this.podsWithAffinity.delete(key);
    this.countOwner(pi, -1);
    this.generation++;
    return true;
  }

  private countOwner(pi: PodInfo, by: 1 | -1): void {
    if (!pi.ownerUid || pi.pod.metadata.deletionTimestamp) return;
    const n = (this.ownerCounts.get(pi.ownerUid) ?? 0) + by;
    if (n === 0) this.ownerCounts.delete(pi.ownerUid);
    else this.ownerCounts.set(pi.ownerUid, n);
  }

  /** A copy that a batch placer may add pods to without touching the cache. */
  clone(): NodeInfo {
    const c = new NodeInfo(this.node);
    for (const pi of this.pods.values()) c.addPod(pi);
    c.generation = this.generation;
    return c;
  }
}

function addTo(acc: Resources, r: Resources, sign: 1 | -1): void {
  acc.milliCPU += sign * r.milliCPU;
  acc.memory += sign * r.memory;
  acc.pods += sign * r.pods;
}

export function hasAffinityTerms(pod: Pod): boolean {
  const a = pod.spec.affinity;
  return !!(a?.podAffinity || a?.podAntiAffinity);
}

function quantityOr(q: string | undefined, parse: (s: string) => number, dflt: number): number {
  if (q === undefined) return dflt;
  try {
    return parse(q);
  } catch {
    return dflt;
  }
}

export function allocatableOf(node: Node): Resources {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    milliCPU: quantityOr(a.cpu, toMilli, 0),
    memory: quantityOr(a.memory, toBytes, 0),
    pods: quantityOr(a.pods, (s) => Math.floor(Number(s)), 0),
  };
}

/** A read-only view of the cluster for one scheduling cycle. */
export interface Snapshot {
  /** Every node, in a stable order. */
  nodes: NodeInfo[];
  get(name: string): NodeInfo | undefined;
  /** Nodes holding at least one pod with (anti-)affinity terms. */
  nodesWithAffinityPods(): NodeInfo[];
}

export function snapshotOf(nodes: NodeInfo[]): Snapshot {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return {
    nodes,
    get: (name) => byName.get(name),
    nodesWithAffinityPods: () => nodes.filter((n) => n.podsWithAffinity.size > 0),
  };
}

export const MAX_NODE_SCORE = 100;
