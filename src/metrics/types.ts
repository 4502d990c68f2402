// Wire shapes of resource metrics: the kubelet's Summary API
// (/stats/summary, Kubernetes' stats/v1alpha1, the fields we use) and the
// metrics.k8s.io/v1beta1 objects the masters serve, as metrics-server does.

export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  workingSetBytes?: number;
  usageBytes?: number;
  availableBytes?: number;
}

export interface ContainerStats {
  name: string;
  startTime?: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  startTime?: string;
  containers?: ContainerStats[];
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface Summary {
  node: { nodeName: string; startTime?: string; cpu?: CpuStats; memory?: MemoryStats };
  pods?: PodStats[];
}

export interface ResourceUsage {
  /** nanocores, e.g. "12345678n" */
  cpu: string;
  /** bytes as Ki, e.g. "10240Ki" */
  memory: string;
}

export interface NodeMetrics {
  kind: "NodeMetrics";
  apiVersion: "metrics.k8s.io/v1beta1";
  metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  usage: ResourceUsage;
}

export interface PodMetrics {
  kind: "PodMetrics";
  apiVersion: "metrics.k8s.io/v1beta1";
  metadata: { name: string; namespace: string; creationTimestamp: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  containers: { name: string; usage: ResourceUsage }[];
}

export const METRICS_GROUP = "metrics.k8s.io";
export const METRICS_VERSION = "v1beta1";
export const METRICS_GROUP_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;
