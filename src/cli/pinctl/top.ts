// pinctl top: with no kind, the live "pinsetter and pins" view of any running
// cluster (scaling works from here; knocking nodes down and pausing masters
// need the processes, so only `pinsetter up` offers those). `top nodes` and
// `top pods` print resource usage from metrics.k8s.io as `kubectl top` does.

import type { Command } from "commander";
import type { Node } from "../../api/types.js";
import { toMilli, value as quantityValue } from "../../api/quantity.js";
import { fetchMasterStatus } from "../../client/master-status.js";
import type { KubeClient } from "../../client/kube-client.js";
import type { NodeMetrics, PodMetrics } from "../../metrics/types.js";
import { UserError } from "../errors.js";
import type { MasterRow } from "../live/model.js";
import { LiveView } from "../live/view.js";
import { runKube, type KubeCommandContext } from "./kube.js";

export function registerTop(program: Command): void {
  program
    .command("top")
    .description("no kind: the live view of the cluster; nodes|pods: cpu and memory usage")
    .argument("[kind]", "nodes or pods")
    .option("-l, --selector <selector>", "label selector")
    .option("-A, --all-namespaces", "pods of every namespace")
    .option("--containers", "one line per container (pods)")
    .action((kind: string | undefined, opts: { selector?: string; allNamespaces?: boolean; containers?: boolean }) =>
      runKube(program, async (ctx) => {
        if (kind === undefined) return liveView(ctx);
        const k = kind.toLowerCase();
        if (["nodes", "node", "no"].includes(k)) return topNodes(ctx.client, opts.selector);
        if (["pods", "pod", "po"].includes(k)) return topPods(ctx.client, opts.allNamespaces ? undefined : ctx.namespace, opts);
        throw new UserError(`unknown kind "${kind}" for top: use nodes or pods, or no kind for the live view`);
      }),
    );
}

async function liveView(ctx: KubeCommandContext): Promise<void> {
  const config = ctx.config;
  const view = new LiveView({
    client: ctx.client,
    host: {
      clusterName: config?.clusterName ?? ctx.apiServers.join(","),
      masters: async (): Promise<MasterRow[]> => {
        if (!config) return [];
        return Promise.all(
          config.masters.map(async (m) => {
            const s = await fetchMasterStatus({ host: m.host, port: m.clientPort, token: config.token, timeoutMs: 400 });
            if (s === null || s === "unauthorized") return { name: m.name, role: s === null ? "unreachable" : "401", term: null, commit: null, healthy: false, down: s === null };
            return { name: m.name, role: s.role, term: s.term, commit: s.commitIndex, healthy: s.healthy };
          }),
        );
      },
    },
  });
  view.start();
  const stop = () => view.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await view.finished;
}

async function getMetrics<T>(client: KubeClient, path: string): Promise<T> {
  try {
    return await client.json<T>("GET", path);
  } catch (err) {
    throw new UserError(`metrics not available yet (${(err as Error).message.split("\n")[0]})`);
  }
}

async function topNodes(client: KubeClient, selector: string | undefined): Promise<void> {
  const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : "";
  const metrics = await getMetrics<{ items: NodeMetrics[] }>(client, `/apis/metrics.k8s.io/v1beta1/nodes${q}`);
  const nodes = await client.listAll<Node>("nodes", selector ? { labelSelector: selector } : {});
  const allocatable = new Map(nodes.items.map((n) => [n.metadata.name!, n.status?.allocatable ?? {}]));
  if (metrics.items.length === 0) throw new UserError("metrics not available yet");
  const rows = [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]];
  for (const m of metrics.items) {
    const cpu = toMilli(m.usage.cpu);
    const mem = quantityValue(m.usage.memory);
    const alloc = allocatable.get(m.metadata.name) ?? {};
    const cpuPct = alloc.cpu ? `${Math.floor((cpu * 100) / Math.max(1, toMilli(alloc.cpu)))}%` : "<unknown>";
    const memPct = alloc.memory ? `${Math.floor((mem * 100) / Math.max(1, quantityValue(alloc.memory)))}%` : "<unknown>";
    rows.push([m.metadata.name, `${cpu}m`, cpuPct, `${Math.floor(mem / 1048576)}Mi`, memPct]);
  }
  process.stdout.write(align(rows));
}

async function topPods(client: KubeClient, namespace: string | undefined, opts: { selector?: string; containers?: boolean }): Promise<void> {
  const q = opts.selector ? `?labelSelector=${encodeURIComponent(opts.selector)}` : "";
  const path = namespace ? `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods${q}` : `/apis/metrics.k8s.io/v1beta1/pods${q}`;
  const metrics = await getMetrics<{ items: PodMetrics[] }>(client, path);
  if (metrics.items.length === 0) throw new UserError(`metrics not available yet${namespace ? ` in namespace ${namespace}` : ""}`);
  const head = [...(namespace ? [] : ["NAMESPACE"]), "NAME", ...(opts.containers ? ["CONTAINER"] : []), "CPU(cores)", "MEMORY(bytes)"];
  const rows = [head];
  for (const m of metrics.items) {
    const prefix = namespace ? [] : [m.metadata.namespace];
    if (opts.containers) {
      for (const c of m.containers) rows.push([...prefix, m.metadata.name, c.name, `${toMilli(c.usage.cpu)}m`, `${Math.floor(quantityValue(c.usage.memory) / 1048576)}Mi`]);
      continue;
    }
    const cpu = m.containers.reduce((s, c) => s + toMilli(c.usage.cpu), 0);
    const mem = m.containers.reduce((s, c) => s + quantityValue(c.usage.memory), 0);
    rows.push([...prefix, m.metadata.name, `${cpu}m`, `${Math.floor(mem / 1048576)}Mi`]);
  }
  process.stdout.write(align(rows));
}

/** Columns separated by three spaces, as kubectl's tabwriter prints them. */
function align(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("")).join("\n") + "\n";
}
