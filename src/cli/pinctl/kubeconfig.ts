// pinctl config kubeconfig: a kubeconfig for this cluster (first master's API,
// the cluster token), so `kubectl --kubeconfig <(pinctl config kubeconfig)` works.

import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { UserError } from "../errors.js";
import { runPlain } from "./kube.js";
import { resolveContext, type GlobalOptions } from "./context.js";

export function buildKubeconfig(opts: { clusterName: string; server: string; token?: string; namespace: string }): Record<string, unknown> {
  const user = `${opts.clusterName}-admin`;
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: opts.clusterName, cluster: { server: opts.server } }],
    users: [{ name: user, user: opts.token ? { token: opts.token } : {} }],
    contexts: [{ name: opts.clusterName, context: { cluster: opts.clusterName, user, namespace: opts.namespace } }],
    "current-context": opts.clusterName,
    preferences: {},
  };
}

export function registerConfig(program: Command): void {
  const config = program.command("config").description("client configuration");
  config
    .command("kubeconfig")
    .description("print a kubeconfig for this cluster (for kubectl)")
    .action(() =>
      runPlain(async () => {
        const ctx = resolveContext(program.opts<GlobalOptions>());
        const server = ctx.apiServers[0];
        if (!server) throw new UserError("no API server in the config");
        const doc = buildKubeconfig({
          clusterName: ctx.config?.clusterName ?? "pinsetter",
          server,
          ...(ctx.apiToken ? { token: ctx.apiToken } : {}),
          namespace: ctx.namespace,
        });
        if (ctx.output === "json") process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        else process.stdout.write(toYaml(doc));
      }),
    );
}
