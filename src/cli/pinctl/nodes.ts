// Node maintenance as kubectl does it: cordon/uncordon set
// spec.unschedulable; drain cordons, then deletes the node's pods (those with
// a controller come back elsewhere) and waits until they are gone.

import type { Command } from "commander";
import type { Node, Pod } from "../../api/types.js";
import { UserError } from "../errors.js";
import { parseDuration } from "./args.js";
import { isNotFound, notFoundError, runKube, requireResource, type KubeCommandContext } from "./kube.js";

async function setUnschedulable(ctx: KubeCommandContext, name: string, unschedulable: boolean): Promise<void> {
  const info = requireResource("nodes");
  let node: Node;
  try {
    node = await ctx.client.get<Node>(info, undefined, name);
  } catch (err) {
    if (isNotFound(err)) throw notFoundError(info, name);
    throw err;
  }
  const word = unschedulable ? "cordoned" : "uncordoned";
  if ((node.spec?.unschedulable ?? false) === unschedulable) {
    process.stdout.write(`node/${name} already ${word}\n`);
    return;
  }
  await ctx.client.patch(info, undefined, name, { spec: { unschedulable } }, "strategic");
  process.stdout.write(`node/${name} ${word}\n`);
}

/** Pods drain may delete: not finished, and either owned by a controller or allowed by --force. */
export function podsToDrain(pods: Pod[], force: boolean): { evict: Pod[]; blocking: Pod[] } {
  const evict: Pod[] = [];
  const blocking: Pod[] = [];
  for (const p of pods) {
    if (p.status?.phase === "Succeeded" || p.status?.phase === "Failed") {
      evict.push(p);
      continue;
    }
    const owned = (p.metadata.ownerReferences ?? []).some((o) => o.controller);
    if (owned || force) evict.push(p);
    else blocking.push(p);
  }
  return { evict, blocking };
}

async function drain(ctx: KubeCommandContext, name: string, opts: { force?: boolean; timeout?: string; gracePeriod?: string }): Promise<void> {
  await setUnschedulable(ctx, name, true);
  const pods = (await ctx.client.listAll<Pod>("pods", { fieldSelector: `spec.nodeName=${name}` })).items;
  const { evict, blocking } = podsToDrain(pods, opts.force === true);
  if (blocking.length > 0) {
    throw new UserError(`cannot delete pods not managed by a controller (use --force to override): ${blocking.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(", ")}`);
  }
  const grace = opts.gracePeriod !== undefined ? Number(opts.gracePeriod) : undefined;
  for (const p of evict) {
    process.stdout.write(`evicting pod ${p.metadata.namespace}/${p.metadata.name}\n`);
    try {
      await ctx.client.delete("pods", p.metadata.namespace, p.metadata.name!, grace !== undefined && grace >= 0 ? { gracePeriodSeconds: grace } : {});
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  const deadline = Date.now() + parseDuration(opts.timeout ?? "5m", "--timeout");
  let left = evict;
  while (left.length > 0) {
    const still: Pod[] = [];
    for (const p of left) {
      try {
        const cur = await ctx.client.get<Pod>("pods", p.metadata.namespace, p.metadata.name!);
        if (cur.metadata.uid === p.metadata.uid) still.push(p);
        else process.stdout.write(`pod/${p.metadata.name} evicted\n`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        process.stdout.write(`pod/${p.metadata.name} evicted\n`);
      }
    }
    left = still;
    if (left.length === 0) break;
    if (Date.now() > deadline) throw new UserError(`drain did not complete within ${opts.timeout ?? "5m"}: ${left.length} pods left`);
    await new Promise((r) => setTimeout(r, 300));
  }
  process.stdout.write(`node/${name} drained\n`);
}

export function registerNodes(program: Command): void {
  program
    .command("cordon")
    .description("mark a node unschedulable")
    .argument("<node>", "node name")
    .action((name: string) => runKube(program, (ctx) => setUnschedulable(ctx, name.replace(/^(node|nodes|no)\//, ""), true)));
  program
    .command("uncordon")
    .description("mark a node schedulable again")
    .argument("<node>", "node name")
    .action((name: string) => runKube(program, (ctx) => setUnschedulable(ctx, name.replace(/^(node|nodes|no)\//, ""), false)));
  program
    .command("drain")
    .description("cordon a node and delete its pods so their controllers place them elsewhere")
    .argument("<node>", "node name")
    .option("--force", "also delete pods no controller will replace")
    .option("--ignore-daemonsets", "accepted for kubectl habits (Pinsetter has no DaemonSets)")
    .option("--delete-emptydir-data", "accepted for kubectl habits (emptyDir data goes with the pod)")
    .option("--grace-period <seconds>", "seconds each pod gets to stop")
    .option("--timeout <duration>", "give up after this long", "5m")
    .action((name: string, opts: { force?: boolean; timeout?: string; gracePeriod?: string }) => runKube(program, (ctx) => drain(ctx, name.replace(/^(node|nodes|no)\//, ""), opts)));
}
