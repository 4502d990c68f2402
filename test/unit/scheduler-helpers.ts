// Builders for scheduler unit tests: nodes and pods in a few words.

import type { Affinity, Node, Pod, Taint, Toleration, TopologySpreadConstraint } from "../../src/api/types.js";
import { NodeInfo, newPodInfo, snapshotOf, type PodInfo, type Snapshot } from "../../src/scheduler/types.js";

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  ready?: "True" | "False" | "Unknown" | null;
  unschedulable?: boolean;
}

export function node(name: string, o: NodeOpts = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      allocatable: { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi", pods: String(o.pods ?? 110) },
      conditions: o.ready === null ? [] : [{ type: "Ready", status: o.ready ?? "True" }],
    },
  };
}

export interface PodOpts {
  ns?: string;
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  hostPort?: number;
  owner?: string;
  spread?: TopologySpreadConstraint[];
  priority?: number;
}

export function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.ns ?? "default",
      uid: `uid-${name}`,
      labels: o.labels,
      ownerReferences: o.owner ? [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: o.owner, uid: `uid-${o.owner}`, controller: true }] : undefined,
    },
    spec: {
      containers: [{ name: "c", image: "x", resources: { requests }, ports: o.hostPort ? [{ containerPort: 80, hostPort: o.hostPort }] : undefined }],
      nodeName: o.nodeName,
      nodeSelector: o.nodeSelector,
      tolerations: o.tolerations,
      affinity: o.affinity,
      topologySpreadConstraints: o.spread,
      priority: o.priority,
    },
  };
}

/** A snapshot of `nodes` with `placed` pods already on them (by spec.nodeName). */
export function cluster(nodes: Node[], placed: Pod[] = []): { snapshot: Snapshot; infos: Map<string, NodeInfo> } {
  const infos = new Map(nodes.map((n) => [n.metadata.name!, new NodeInfo(n)]));
  for (const p of placed) infos.get(p.spec.nodeName!)!.addPod(newPodInfo(p));
  return { snapshot: snapshotOf([...infos.values()]), infos };
}

export function pi(p: Pod): PodInfo {
  return newPodInfo(p);
}
