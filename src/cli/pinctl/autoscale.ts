// pinctl autoscale deployment/NAME --min N --max M --cpu-percent P: creates an
// autoscaling/v2 HorizontalPodAutoscaler aimed at the deployment.

import type { Command } from "commander";
import { apiVersionOf } from "../../api/resources.js";
import type { HorizontalPodAutoscaler } from "../../api/types.js";
import { UserError } from "../errors.js";
import { parseCount, parseOneObject } from "./args.js";
import { isNotFound, notFoundError, nsFor, runKube } from "./kube.js";

export interface AutoscaleSpec {
  namespace: string;
  name: string;
  targetApiVersion: string;
  targetKind: string;
  targetName: string;
  min?: number;
  max: number;
  cpuPercent?: number;
}

export function buildHpa(s: AutoscaleSpec): HorizontalPodAutoscaler {
  if (s.min !== undefined && s.min > s.max) throw new UserError(`--max=${s.max} must be at least --min=${s.min}`);
  if (s.max < 1) throw new UserError("--max must be at least 1");
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      scaleTargetRef: { apiVersion: s.targetApiVersion, kind: s.targetKind, name: s.targetName },
      ...(s.min !== undefined ? { minReplicas: s.min } : {}),
      maxReplicas: s.max,
      ...(s.cpuPercent !== undefined
        ? { metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: s.cpuPercent } } }] }
        : {}),
    },
  };
}

export function registerAutoscale(program: Command): void {
  program
    .command("autoscale")
    .description("create a HorizontalPodAutoscaler for a deployment")
    .argument("<resource...>", "deployment/NAME or deployment NAME")
    .requiredOption("--max <n>", "most replicas")
    .option("--min <n>", "fewest replicas")
    .option("--cpu-percent <p>", "target average CPU utilization (percent of requests)")
    .option("--name <name>", "name of the autoscaler (default: the deployment's)")
    .action((args: string[], opts: { max: string; min?: string; cpuPercent?: string; name?: string }) =>
      runKube(program, async (ctx) => {
        const { info, name } = parseOneObject(args, "autoscale");
        if (!info.subresources.includes("scale")) throw new UserError(`cannot autoscale a ${info.kind}`);
        const ns = nsFor(info, ctx.namespace) ?? "default";
        try {
          await ctx.client.get(info, ns, name);
        } catch (err) {
          if (isNotFound(err)) throw notFoundError(info, name);
          throw err;
        }
        const hpa = buildHpa({
          namespace: ns,
          name: opts.name ?? name,
          targetApiVersion: apiVersionOf(info),
          targetKind: info.kind,
          targetName: name,
          max: parseCount(opts.max, "--max", 1),
          ...(opts.min !== undefined ? { min: parseCount(opts.min, "--min", 1) } : {}),
          ...(opts.cpuPercent !== undefined ? { cpuPercent: parseCount(opts.cpuPercent, "--cpu-percent", 1) } : {}),
        });
        await ctx.client.create("horizontalpodautoscalers", hpa, { namespace: ns });
        process.stdout.write(`horizontalpodautoscaler.autoscaling/${hpa.metadata.name} autoscaled\n`);
      }),
    );
}
