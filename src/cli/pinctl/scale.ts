// pinctl scale deployment/NAME --replicas N (also `scale deployment NAME`):
// a merge patch of the /scale subresource, as kubectl scale sends.

import type { Command } from "commander";
import { UserError } from "../errors.js";
import { parseCount, parseOneObject } from "./args.js";
import { isNotFound, notFoundError, nsFor, objectName, runKube } from "./kube.js";

export function registerScale(program: Command): void {
  program
    .command("scale")
    .description("set the replicas of a deployment or replicaset")
    .argument("<resource...>", "deployment/NAME or deployment NAME")
    .requiredOption("--replicas <n>", "the new number of replicas")
    .option("--current-replicas <n>", "only scale when the current count is this")
    .action((args: string[], opts: { replicas: string; currentReplicas?: string }) =>
      runKube(program, async (ctx) => {
        const { info, name } = parseOneObject(args, "scale");
        if (!info.subresources.includes("scale")) throw new UserError(`${info.resource} cannot be scaled`);
        const replicas = parseCount(opts.replicas, "--replicas");
        const ns = nsFor(info, ctx.namespace);
        try {
          if (opts.currentReplicas !== undefined) {
            const want = parseCount(opts.currentReplicas, "--current-replicas");
            const scale = await ctx.client.get<{ metadata: object; spec?: { replicas?: number } }>(info, ns, name, "scale");
            if ((scale.spec?.replicas ?? 0) !== want) throw new UserError(`expected replicas to be ${want}, was ${scale.spec?.replicas ?? 0}`);
          }
          await ctx.client.patch(info, ns, name, { spec: { replicas } }, "merge", { subresource: "scale" });
        } catch (err) {
          if (isNotFound(err)) throw notFoundError(info, name);
          throw err;
        }
        process.stdout.write(`${objectName(info, name)} scaled\n`);
      }),
    );
}
