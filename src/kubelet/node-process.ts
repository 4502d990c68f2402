// What `pinsetter node` runs: the kubelet (and, in the CLI, the service proxy)
// of one node from the cluster config, or N hollow nodes on the sim runtime
// in one process for scale tests.

import type { Logger } from "pino";
import { nodeDataDir, type ClusterConfig, type NodeConfig } from "../config/types.js";
import { DockerRuntime } from "./docker-runtime.js";
import { KubeClient } from "../client/kube-client.js";
import { Kubelet } from "./kubelet.js";
import { SharedPodSource } from "./pod-source.js";
import type { ContainerRuntime } from "./runtime.js";
import { SimRuntime } from "./sim-runtime.js";

export interface NodeTuning {
  /** Sim runtime: container start delay (ms). Default 0 for config nodes, 200 for hollow ones. */
  simStartDelayMs?: number;
  leaseRenewMs?: number;
  nodeStatusMs?: number;
}

export function apiServers(config: ClusterConfig): string[] {
  return config.masters.map((m) => `http://${m.host}:${m.apiPort}`);
}

/** Lease timings from the config's nodeLifecycle section (when present). */
export function leaseTimings(config: ClusterConfig): { leaseRenewMs: number; leaseDurationSeconds: number } {
  const nl = (config as { nodeLifecycle?: { leaseRenewIntervalSeconds?: number; nodeMonitorGracePeriodSeconds?: number } }).nodeLifecycle;
  const renew = nl?.leaseRenewIntervalSeconds ?? 1;
  const grace = nl?.nodeMonitorGracePeriodSeconds;
  return { leaseRenewMs: Math.max(50, Math.round(renew * 1000)), leaseDurationSeconds: Math.max(1, Math.ceil(grace ?? 40)) };
}

/** Distinct pod IP ranges for sim nodes: 10.<hi>.<lo>.x */
function simPrefix(index: number): string {
  return `10.${200 + ((index >> 8) % 50)}.${index & 255}.`;
}

export function runtimeFor(node: NodeConfig, index: number, logger: Logger, tuning: NodeTuning = {}): ContainerRuntime {
  if (node.runtime === "docker") return new DockerRuntime({ nodeName: node.name, logger });
  return new SimRuntime({ nodeName: node.name, startDelayMs: tuning.simStartDelayMs ?? 0, ipPrefix: simPrefix(index) });
}

/** Starts the kubelet of node `name` of the config. */
export async function startNodeKubelet(config: ClusterConfig, name: string, logger: Logger, tuning: NodeTuning = {}): Promise<Kubelet> {
  const index = config.nodes.findIndex((n) => n.name === name);
  const node = config.nodes[index];
  if (!node) throw new Error(`no node named ${JSON.stringify(name)} in the config`);
  const lease = leaseTimings(config);
  const kubelet = new Kubelet({
    nodeName: node.name,
    host: node.host,
    kubeletPort: node.kubeletPort,
    capacity: { cpu: node.capacity.cpu, memory: node.capacity.memory, pods: node.capacity.pods },
    servers: apiServers(config),
    token: config.token,
    runtime: runtimeFor(node, index, logger, tuning),
    nodeDir: nodeDataDir(config, node.name),
    logger,
    leaseRenewMs: tuning.leaseRenewMs ?? lease.leaseRenewMs,
    leaseDurationSeconds: lease.leaseDurationSeconds,
    ...(tuning.nodeStatusMs ? { nodeStatusMs: tuning.nodeStatusMs } : {}),
    localHealth: node.runtime === "docker",
  });
  await kubelet.start();
  return kubelet;
}

export interface HollowOptions {
  count: number;
  prefix: string;
  /** Hollow node i serves HTTP on 127.0.0.1:<portBase + i>. */
  portBase: number;
  capacity?: { cpu: string; memory: string; pods: number };
  tuning?: NodeTuning;
}

export const HOLLOW_LABEL = "pinsetter.io/hollow";

/** Starts `count` hollow nodes named <prefix>-0 .. <prefix>-<count-1>, in small batches. */
export interface HollowNodes {
  kubelets: Kubelet[];
  stop(): Promise<void>;
}

export async function startHollowNodes(config: ClusterConfig, opts: HollowOptions, logger: Logger): Promise<HollowNodes> {
  const lease = leaseTimings(config);
  const kubelets: Kubelet[] = [];
  // One client and one pod watch for all hollow nodes of this process.
  const client = new KubeClient({ servers: apiServers(config), token: config.token, localAddress: "127.0.0.1", userAgent: `kubelet/${opts.prefix}-hollow`, timeoutMs: 15_000 });
  const pods = new SharedPodSource(client, (err) => logger.warn({ err: err.message }, "hollow pod watch failed; retrying"));
  const BATCH = 25;
  for (let start = 0; start < opts.count; start += BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(opts.count, start + BATCH); i++) {
      const name = `${opts.prefix}-${i}`;
      const k = new Kubelet({
        nodeName: name,
        host: "127.0.0.1",
        kubeletPort: opts.portBase + i,
        capacity: opts.capacity ?? { cpu: "32", memory: "256Gi", pods: 110 },
        servers: apiServers(config),
        token: config.token,
        runtime: new SimRuntime({ nodeName: name, startDelayMs: opts.tuning?.simStartDelayMs ?? 200, ipPrefix: simPrefix(i) }),
        nodeDir: null,
        logger,
        leaseRenewMs: opts.tuning?.leaseRenewMs ?? lease.leaseRenewMs,
        leaseDurationSeconds: lease.leaseDurationSeconds,
        nodeStatusMs: opts.tuning?.nodeStatusMs ?? 60_000,
        resyncMs: 30_000,
        housekeepingMs: 60_000,
        labels: { [HOLLOW_LABEL]: "true" },
        localHealth: false,
        client,
        pods: pods.forNode(name),
        events: false,
      });
      kubelets.push(k);
      batch.push(k.start());
    }
    await Promise.all(batch);
  }
  pods.start();
  return {
    kubelets,
    stop: async () => {
      pods.stop();
      await Promise.allSettled(kubelets.map((k) => k.stop()));
      client.close();
    },
  };
}
