// The container runtime seam of the kubelet (ARCHITECTURE §6): what the pod
// workers need from Docker (docker-runtime.ts) or from the in-memory hollow
// runtime (sim-runtime.ts). The kubelet decides (pod-actions.ts) and computes
// status (pod-status.ts) from what a runtime reports; a runtime only does.

import type { Pod, ProbeHandler } from "../api/types.js";
import type { RuntimeKind } from "../config/types.js";

/** Labels every container carries, so a restarted kubelet can adopt them. */
export const LABELS = {
  node: "io.pinsetter.node",
  podUid: "io.kubernetes.pod.uid",
  podNamespace: "io.kubernetes.pod.namespace",
  podName: "io.kubernetes.pod.name",
  containerName: "io.kubernetes.container.name",
  kind: "io.pinsetter.container.kind",
  attempt: "io.pinsetter.container.attempt",
  hash: "io.pinsetter.container.hash",
  /** On a host-network sandbox: the node address, which is the pod's IP. */
  hostNetworkIP: "io.pinsetter.pod.host-network-ip",
} as const;

/** sandbox: the pod's network holder; init and app: the pod's containers. */
export type ContainerKind = "sandbox" | "init" | "app";

export type RuntimeState = "created" | "running" | "exited" | "unknown";

/** One container instance as the runtime sees it. Each restart is a new instance (attempt + 1). */
export interface RuntimeContainer {
  id: string;
  podUid: string;
  podNamespace: string;
  podName: string;
  /** The container's name in the pod spec ("POD" for the sandbox). */
  name: string;
  kind: ContainerKind;
  attempt: number;
  /** Hash of the container's spec when it was created: a changed spec means restart. */
  hash: string;
  image: string;
  imageID: string;
  state: RuntimeState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Completed, Error, OOMKilled */
  reason?: string;
  message?: string;
  /** Sandbox only: the pod's IP. */
  ip?: string;
}

export interface PortBinding {
  containerPort: number;
  hostPort: number;
  hostIP: string;
  protocol: "TCP" | "UDP" | "SCTP";
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

interface PodRef {
  podUid: string;
  podNamespace: string;
  podName: string;
  /** The pod's annotations (the sim runtime reads its script there). */
  annotations: Record<string, string>;
}

export interface SandboxSpec extends PodRef {
  attempt: number;
  hostname: string;
  portBindings: PortBinding[];
  /** spec.hostNetwork: the pod shares the node's network; its IP is the node's. */
  hostNetwork: boolean;
  hostIP: string;
}

/** A container fully resolved by the kubelet: env expanded, volumes prepared. */
export interface ContainerSpec extends PodRef {
  name: string;
  kind: "init" | "app";
  attempt: number;
  hash: string;
  image: string;
  /** Overrides the image's Entrypoint when set (Kubernetes `command`). */
  entrypoint?: string[];
  /** Overrides the image's Cmd when set (Kubernetes `args`). */
  cmd?: string[];
  env: { name: string; value: string }[];
  workingDir?: string;
  mounts: Mount[];
  nanoCpus?: number;
  memoryBytes?: number;
  cpuShares?: number;
  sandboxId: string;
  tty: boolean;
  stdin: boolean;
}

export type PullPolicy = "Always" | "IfNotPresent" | "Never";

/** A failure to get an image; `reason` becomes the container's waiting reason. */
export class ImageError extends Error {
  override name = "ImageError";
  constructor(
    readonly reason: "ErrImagePull" | "ErrImageNeverPull" | "InvalidImageName",
    message: string,
  ) {
    super(message);
  }
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps: boolean;
}

export interface ContainerStats {
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageCoreNanoSeconds: number;
  memoryWorkingSetBytes: number;
  /** When the sample was taken (ms since epoch). */
  timestamp: number;
}

export interface RuntimeVersion {
  runtimeName: string;
  runtimeVersion: string;
  kernelVersion: string;
  osImage: string;
}

export interface ProbeTarget {
  kind: "liveness" | "readiness" | "startup";
  pod: Pod;
  container: RuntimeContainer;
  podIP: string;
  /** Named ports of the container spec, for probes with a named port. */
  namedPorts: Record<string, number>;
}

export interface ContainerRuntime {
  readonly kind: RuntimeKind;
  /** Prepares what the runtime needs (the pause image) and starts its event feed. */
  start(): Promise<void>;
  close(): Promise<void>;
  version(): Promise<RuntimeVersion>;
  /** A cheap liveness check of the runtime (Docker: _ping), for the node's Ready condition. */
  ping(): Promise<void>;
  /** Every container instance of this node, in every state. */
  listContainers(): Promise<RuntimeContainer[]>;
  /** The instances of one pod, with full details. */
  podContainers(podUid: string): Promise<RuntimeContainer[]>;
  /** Called with a pod uid when one of its containers starts or dies. */
  onContainerEvent(handler: (podUid: string) => void): void;
  ensureImage(image: string, policy: PullPolicy, signal?: AbortSignal): Promise<void>;
  runSandbox(spec: SandboxSpec): Promise<RuntimeContainer>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM (the image's stop signal), then SIGKILL after graceSeconds. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  exec(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
  /** Runs one probe; true for success. Throws nothing: a failure to probe is a failed probe. */
  probe(target: ProbeTarget, handler: ProbeHandler, timeoutMs: number): Promise<boolean>;
  /** Writes the container's log to `out` (stdout and stderr merged), following until `signal` aborts. */
  logs(id: string, opts: LogOptions, out: (chunk: Buffer) => void, signal: AbortSignal): Promise<void>;
  stats(id: string): Promise<ContainerStats | null>;
}
