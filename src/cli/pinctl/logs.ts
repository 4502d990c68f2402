// pinctl logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [--timestamps]:
// streams GET pods/{name}/log to stdout as it arrives.

import type { Command } from "commander";
import { KubeApiError } from "../../client/kube-client.js";
import { UserError } from "../errors.js";
import type { ResourceInfo } from "../../api/resources.js";
import type { Deployment, Pod, ReplicaSet } from "../../api/types.js";
import { parseCount, parseOneObject } from "./args.js";
import { isNotFound, notFoundError, objectName, runKube, type KubeCommandContext } from "./kube.js";

/** kubectl logs deployment/NAME: the first pod (by name) its selector picks. */
async function firstPodOf(ctx: KubeCommandContext, info: ResourceInfo, name: string): Promise<string> {
  if (info.kind !== "Deployment" && info.kind !== "ReplicaSet") throw new UserError(`logs of a ${info.kind} are not supported; name a pod, deployment or replicaset`);
  let owner: Deployment | ReplicaSet;
  try {
    owner = await ctx.client.get<Deployment | ReplicaSet>(info, ctx.namespace, name);
  } catch (err) {
    if (isNotFound(err)) throw notFoundError(info, name);
    throw err;
  }
  const labels = owner.spec.selector.matchLabels ?? {};
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const pods = (await ctx.client.listAll<Pod>("pods", { namespace: ctx.namespace, ...(selector ? { labelSelector: selector } : {}) })).items
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const first = pods[0]?.metadata.name;
  if (!first) throw new UserError(`no pods found for ${objectName(info, name)}`);
  if (pods.length > 1) process.stderr.write(`Found ${pods.length} pods, using pod/${first}\n`);
  return first;
}

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("print a pod container's log")
    .argument("<pod>", "POD or pod/POD")
    .option("-c, --container <name>", "container (default: the only one)")
    .option("-f, --follow", "keep streaming new lines")
    .option("--tail <n>", "only the last N lines")
    .option("-p, --previous", "the previous (crashed) instance of the container")
    .option("--timestamps", "prefix each line with its timestamp")
    .option("--since <seconds>", "only lines newer than this many seconds")
    .action((podArg: string, opts: { container?: string; follow?: boolean; tail?: string; previous?: boolean; timestamps?: boolean; since?: string }) =>
      runKube(program, async (ctx) => {
        let pod = podArg;
        if (pod.includes("/")) {
          const { info, name } = parseOneObject([pod], "logs");
          pod = info.kind === "Pod" ? name : await firstPodOf(ctx, info, name);
        }
        const tail = opts.tail !== undefined && opts.tail !== "-1" ? parseCount(opts.tail, "--tail") : undefined;
        const since = opts.since !== undefined ? parseCount(opts.since, "--since") : undefined;
        const handle = ctx.client.logs(
          ctx.namespace,
          pod,
          {
            ...(opts.container ? { container: opts.container } : {}),
            ...(opts.follow ? { follow: true } : {}),
            ...(tail !== undefined ? { tailLines: tail } : {}),
            ...(opts.previous ? { previous: true } : {}),
            ...(opts.timestamps ? { timestamps: true } : {}),
            ...(since !== undefined ? { sinceSeconds: since } : {}),
          },
          (chunk) => process.stdout.write(chunk),
        );
        const stop = () => handle.stop();
        process.once("SIGINT", stop);
        try {
          const end = await handle.done;
          if (end instanceof KubeApiError && end.notFound && end.status?.details?.kind === "pods") throw new UserError(`pods "${pod}" not found`);
          if (end) throw end;
        } finally {
          process.off("SIGINT", stop);
        }
      }),
    );
}
