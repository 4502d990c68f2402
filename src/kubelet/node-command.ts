// `pinsetter node --name W` (kubelet + service proxy of one node of the config)
// and `pinsetter node --hollow N` (N hollow sim nodes in one process). Stops on
// SIGTERM/SIGINT and leaves containers running: a restarted node adopts them.

import type { Logger } from "pino";
import { findNode } from "../config/load.js";
import type { ClusterConfig } from "../config/types.js";
import type { Kubelet } from "./kubelet.js";
import { startHollowNodes, startNodeKubelet } from "./node-process.js";

export interface NodeCommandOptions {
  name?: string;
  hollow?: string;
  prefix: string;
  portBase: string;
  simStartDelayMs?: string;
  leaseRenewMs?: string;
}

function positiveInt(v: string, flag: string, min = 1): number {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${flag} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

export async function runNodeProcess(config: ClusterConfig, opts: NodeCommandOptions, logger: Logger): Promise<void> {
  if (!!opts.name === !!opts.hollow) throw new Error("give either --name NAME or --hollow N");
  const tuning = {
    ...(opts.simStartDelayMs !== undefined ? { simStartDelayMs: positiveInt(opts.simStartDelayMs, "--sim-start-delay-ms", 0) } : {}),
    ...(opts.leaseRenewMs !== undefined ? { leaseRenewMs: positiveInt(opts.leaseRenewMs, "--lease-renew-ms", 50) } : {}),
  };
  const stops: (() => Promise<void>)[] = [];
  let kubelets: Kubelet[];
  if (opts.name) {
    const node = findNode(config, opts.name);
    const kubelet = await startNodeKubelet(config, node.name, logger, tuning);
    kubelets = [kubelet];
    const { startProxy } = await import("../proxy/index.js");
    const proxy = startProxy({ client: kubelet.client, nodeName: node.name, host: node.host, logger });
    stops.push(() => proxy.stop());
  } else {
    const count = positiveInt(opts.hollow!, "--hollow");
    const portBase = positiveInt(opts.portBase, "--port-base");
    if (portBase + count > 65535) throw new Error(`--port-base ${portBase} + --hollow ${count} exceeds port 65535`);
    const hollow = await startHollowNodes(config, { count, prefix: opts.prefix, portBase, tuning }, logger);
    kubelets = [];
    stops.push(() => hollow.stop());
    logger.info({ count, prefix: opts.prefix }, "hollow nodes started");
  }
  stops.push(...kubelets.map((k) => () => k.stop()));
  // A bug in one pod's handling must not take every pod of the node down with it: log loudly.
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection in the node process"));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping node");
    void Promise.allSettled(stops.map((s) => s())).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
