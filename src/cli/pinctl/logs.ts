// pinctl logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [--timestamps]:
// streams GET pods/{name}/log to stdout as it arrives.

import type { Command } from "commander";
import { KubeApiError } from "../../client/kube-client.js";
import { UserError } from "../errors.js";
import { parseCount } from "./args.js";
import { runKube } from "./kube.js";

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
          const [kind, name] = [pod.slice(0, pod.indexOf("/")), pod.slice(pod.indexOf("/") + 1)];
          if (!["pod", "pods", "po"].includes(kind.toLowerCase())) throw new UserError(`logs of a ${kind} are not supported; name a pod`);
          pod = name;
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
