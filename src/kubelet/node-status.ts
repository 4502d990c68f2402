// The Node object a kubelet registers and keeps fresh (kubelet_node_status.go)
// and its heartbeat Lease in kube-node-lease (nodelease controller). The Node
// is built by a pure function; NodeHeartbeat owns the two timers.

import fs from "node:fs";
import os from "node:os";
import type { Logger } from "pino";
import { Labels, NODE_LEASE_NAMESPACE, type Condition, type Lease, type Node, type NodeSystemInfo } from "../api/types.js";
import { KubeApiError, type KubeClient } from "../client/kube-client.js";
import { PINSETTER_VERSION } from "../version.js";

export interface NodeIdentity {
  name: string;
  host: string;
  kubeletPort: number;
  capacity: { cpu: string; memory: string; pods: number };
  /** Extra labels (hollow nodes mark themselves). */
  labels?: Record<string, string>;
}

export interface NodeHealth {
  runtimeUp: boolean;
  runtimeMessage?: string;
  memoryPressure: boolean;
  diskPressure: boolean;
  pidPressure: boolean;
}

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function goArch(): string {
  const a = os.arch();
  return a === "x64" ? "amd64" : a === "ia32" ? "386" : a;
}

export function nodeConditions(health: NodeHealth, old: Condition[] | undefined, now: string): Condition[] {
  const make = (type: string, isTrue: boolean, reason: string, message: string): Condition => {
    const prev = old?.find((c) => c.type === type);
    const status = isTrue ? "True" : "False";
    return {
      type,
      status,
      lastHeartbeatTime: now,
      lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
      reason,
      message,
    };
  };
  return [
    make("MemoryPressure", health.memoryPressure, health.memoryPressure ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory", health.memoryPressure ? "kubelet has insufficient memory available" : "kubelet has sufficient memory available"),
    make("DiskPressure", health.diskPressure, health.diskPressure ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure", health.diskPressure ? "kubelet has disk pressure" : "kubelet has no disk pressure"),
    make("PIDPressure", health.pidPressure, health.pidPressure ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID", health.pidPressure ? "kubelet has insufficient PID available" : "kubelet has sufficient PID available"),
    make("Ready", health.runtimeUp, health.runtimeUp ? "KubeletReady" : "KubeletNotReady", health.runtimeUp ? "kubelet is posting ready status" : (health.runtimeMessage ?? "container runtime is down")),
  ];
}

export function buildNode(id: NodeIdentity, info: NodeSystemInfo, health: NodeHealth, old: Node | null): Node {
  const capacity = { cpu: id.capacity.cpu, memory: id.capacity.memory, pods: String(id.capacity.pods) };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.name,
      labels: {
        ...(old?.metadata.labels ?? {}),
        [Labels.hostname]: id.name,
        [Labels.os]: "linux",
        [Labels.arch]: goArch(),
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": goArch(),
        ...(id.labels ?? {}),
      },
      ...(old?.metadata.annotations ? { annotations: old.metadata.annotations } : {}),
    },
    spec: old?.spec ?? {},
    status: {
      capacity,
      allocatable: { ...capacity },
      conditions: nodeConditions(health, old?.status?.conditions, nowIso()),
      addresses: [
        { type: "InternalIP", address: id.host },
        { type: "Hostname", address: id.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
      nodeInfo: info,
    },
  };
}

export function systemInfo(runtime: { runtimeName: string; runtimeVersion: string; kernelVersion: string; osImage: string }, nodeName: string): NodeSystemInfo {
  let machineID = "";
  try {
    machineID = fs.readFileSync("/etc/machine-id", "utf8").trim();
  } catch {
    machineID = os.hostname();
  }
  let bootID = "";
  try {
    bootID = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    bootID = "";
  }
  return {
    machineID,
    systemUUID: `${machineID}-${nodeName}`,
    bootID,
    kernelVersion: runtime.kernelVersion || os.release(),
    osImage: runtime.osImage || `${os.type()} ${os.release()}`,
    containerRuntimeVersion: `${runtime.runtimeName}://${runtime.runtimeVersion}`,
    kubeletVersion: `v${PINSETTER_VERSION}-pinsetter`,
    kubeProxyVersion: `v${PINSETTER_VERSION}-pinsetter`,
    operatingSystem: "linux",
    architecture: goArch(),
  };
}

export interface HeartbeatOptions {
  leaseRenewMs: number;
  leaseDurationSeconds: number;
  nodeStatusMs: number;
}

/**
 * Registers the Node, then renews the Lease every leaseRenewMs and refreshes
 * the Node's status every nodeStatusMs. Failures are logged and retried on the
 * next tick; the client moves to another master by itself.
 */
export class NodeHeartbeat {
  private leaseTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private lease: Lease | null = null;
  private stopped = false;
  private lastHealthKey = "";
  registered = false;

  constructor(
    private readonly client: KubeClient,
    private readonly id: NodeIdentity,
    private readonly info: () => Promise<NodeSystemInfo>,
    private readonly health: () => Promise<NodeHealth>,
    private readonly opts: HeartbeatOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.register();
    await this.renewLease();
    this.scheduleLease();
    this.scheduleStatus();
  }

  stop(): void {
    this.stopped = true;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
  }

  private scheduleLease(): void {
    if (this.stopped) return;
    // Up to 10% jitter, as client-go's JitterUntil: nodes started together do not renew in bursts.
    const delay = this.opts.leaseRenewMs * (0.9 + Math.random() * 0.1);
    this.leaseTimer = setTimeout(() => {
      void this.renewLease().finally(() => this.scheduleLease());
    }, delay);
  }

  private scheduleStatus(): void {
    if (this.stopped) return;
    this.statusTimer = setTimeout(() => {
      void this.updateStatus(false).finally(() => this.scheduleStatus());
    }, Math.min(this.opts.nodeStatusMs, 2000));
  }

  /** Creates the Node, or takes over an existing one (a restarted kubelet). */
  async register(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const [info, health] = await Promise.all([this.info(), this.health()]);
        let existing: Node | null = null;
        try {
          existing = await this.client.get<Node>("nodes", undefined, this.id.name);
        } catch (err) {
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
        const node = buildNode(this.id, info, health, existing);
        if (!existing) {
          try {
            await this.client.create<Node>("nodes", node);
          } catch (err) {
            if (!(err instanceof KubeApiError && err.code === 409)) throw err;
          }
        } else {
          await this.client.patch("nodes", undefined, this.id.name, { metadata: { labels: node.metadata.labels } }, "merge");
        }
        await this.client.patch("nodes", undefined, this.id.name, { status: node.status }, "merge", { subresource: "status" });
        this.registered = true;
        this.lastStatusAt = Date.now();
        this.log.info({ node: this.id.name }, "node registered");
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, attempt }, "node registration failed; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  private lastStatusAt = 0;

  /** Patches the Node's status when health changed or nodeStatusMs passed. */
  async updateStatus(force: boolean): Promise<void> {
    try {
      const health = await this.health();
      const key = JSON.stringify(health);
      if (!force && key === this.lastHealthKey && Date.now() - this.lastStatusAt < this.opts.nodeStatusMs) return;
      const existing = await this.client.get<Node>("nodes", undefined, this.id.name).catch((err) => {
        if (err instanceof KubeApiError && err.notFound) return null;
        throw err;
      });
      if (!existing) {
        // Deleted under us (or never registered): register again.
        await this.register();
        return;
      }
      const node = buildNode(this.id, await this.info(), health, existing);
      await this.client.patch("nodes", undefined, this.id.name, { status: { conditions: node.status!.conditions, capacity: node.status!.capacity, allocatable: node.status!.allocatable, addresses: node.status!.addresses, daemonEndpoints: node.status!.daemonEndpoints } }, "merge", { subresource: "status" });
      this.lastHealthKey = key;
      this.lastStatusAt = Date.now();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "node status update failed");
    }
  }

  async renewLease(): Promise<void> {
    const now = new Date().toISOString().replace("Z", "000Z").replace(/(\.\d{6})\d*Z$/, "$1Z");
    try {
      if (this.lease) {
        const next: Lease = { ...this.lease, spec: { ...this.lease.spec, holderIdentity: this.id.name, leaseDurationSeconds: this.opts.leaseDurationSeconds, renewTime: now } };
        try {
          this.lease = await this.client.update<Lease>("leases", next);
          return;
        } catch (err) {
          if (!(err instanceof KubeApiError && (err.conflict || err.notFound))) throw err;
          this.lease = null; // someone else wrote it, or it was deleted: read again
        }
      }
      let current: Lease | null = null;
      try {
        current = await this.client.get<Lease>("leases", NODE_LEASE_NAMESPACE, this.id.name);
      } catch (err) {
        if (!(err instanceof KubeApiError && err.notFound)) throw err;
      }
      if (current) {
        this.lease = await this.client.update<Lease>("leases", { ...current, spec: { ...current.spec, holderIdentity: this.id.name, leaseDurationSeconds: this.opts.leaseDurationSeconds, renewTime: now } });
      } else {
        this.lease = await this.client.create<Lease>("leases", {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.id.name, namespace: NODE_LEASE_NAMESPACE, ownerReferences: [] },
          spec: { holderIdentity: this.id.name, leaseDurationSeconds: this.opts.leaseDurationSeconds, renewTime: now, acquireTime: now },
        });
      }
    } catch (err) {
      this.lease = null;
      this.log.warn({ err: (err as Error).message }, "lease renewal failed");
    }
  }
}

/** Node-local health: memory, disk (of the data dir) and PIDs. */
export function localHealth(dataDir: string | null): Omit<NodeHealth, "runtimeUp" | "runtimeMessage"> {
  const memoryPressure = os.freemem() < 100 * 1024 * 1024;
  let diskPressure = false;
  if (dataDir) {
    try {
      const s = fs.statfsSync(dataDir);
      diskPressure = s.blocks > 0 && s.bavail / s.blocks < 0.05;
    } catch {
      diskPressure = false;
    }
  }
  let pidPressure = false;
  try {
    const max = Number(fs.readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    const used = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).length;
    pidPressure = max > 0 && used / max > 0.9;
  } catch {
    pidPressure = false;
  }
  return { memoryPressure, diskPressure, pidPressure };
}
