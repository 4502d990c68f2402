// pinctl config kubeconfig: a kubeconfig for this cluster, so that
// `kubectl --kubeconfig <(pinctl config kubeconfig) get nodes` works.
// kubectl (client-go) sends a bearer token only over TLS, and every master
// answers TLS on its apiPort with a self-signed certificate: the kubeconfig
// names the first master that answers as https:// and pins the certificate it
// presented (or skips verification with --insecure-skip-tls-verify). A master
// without TLS gets a plain http:// entry and a warning.

import type { Command } from "commander";
import { connect } from "node:tls";
import { stringify as toYaml } from "yaml";
import { UserError } from "../errors.js";
import { resolveContext, type GlobalOptions } from "./context.js";
import { runPlain } from "./kube.js";

export interface KubeconfigInput {
  clusterName: string;
  server: string;
  token?: string;
  namespace: string;
  /** PEM certificate the client should trust for this server. */
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
}

export function buildKubeconfig(opts: KubeconfigInput): Record<string, unknown> {
  const user = `${opts.clusterName}-admin`;
  const cluster: Record<string, unknown> = { server: opts.server };
  if (opts.insecureSkipTlsVerify) cluster["insecure-skip-tls-verify"] = true;
  else if (opts.caPem) cluster["certificate-authority-data"] = Buffer.from(opts.caPem).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: opts.clusterName, cluster }],
    users: [{ name: user, user: opts.token ? { token: opts.token } : {} }],
    contexts: [{ name: opts.clusterName, context: { cluster: opts.clusterName, user, namespace: opts.namespace } }],
    "current-context": opts.clusterName,
    preferences: {},
  };
}

/** The certificate a server presents on TLS, as PEM; null when it does not speak TLS. */
export function probeTls(host: string, port: number, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: /^[\d.]+$/.test(host) ? "" : host });
    const done = (v: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.once("secureConnect", () => {
      const raw = socket.getPeerCertificate()?.raw;
      if (!raw) return done(null);
      const b64 = raw.toString("base64").replace(/(.{64})/g, "$1\n");
      done(`-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`);
    });
    socket.once("error", () => done(null));
  });
}

export function registerConfig(program: Command): void {
  const config = program.command("config").description("client configuration");
  config
    .command("kubeconfig")
    .description("print a kubeconfig for this cluster (for kubectl)")
    .option("--insecure-skip-tls-verify", "do not pin the server's certificate")
    .action((opts: { insecureSkipTlsVerify?: boolean }) =>
      runPlain(async () => {
        const ctx = resolveContext(program.opts<GlobalOptions>());
        if (ctx.apiServers.length === 0) throw new UserError("no API server in the config");
        let server = ctx.apiServers[0]!;
        let caPem: string | null = null;
        // The first master that answers TLS; kubectl needs TLS to send the token.
        for (const candidate of ctx.apiServers) {
          const u = new URL(candidate);
          if (u.protocol === "https:") {
            caPem = await probeTls(u.hostname, Number(u.port || 443));
            server = candidate;
            break;
          }
          caPem = await probeTls(u.hostname, Number(u.port || 80));
          if (caPem) {
            server = `https://${u.host}`;
            break;
          }
        }
        if (!caPem && server.startsWith("http:")) {
          process.stderr.write(`warning: ${server} does not answer TLS; kubectl sends the token only over TLS, so it will be refused\n`);
        }
        const doc = buildKubeconfig({
          clusterName: ctx.config?.clusterName ?? "pinsetter",
          server,
          ...(ctx.apiToken ? { token: ctx.apiToken } : {}),
          namespace: ctx.namespace,
          ...(caPem ? { caPem } : {}),
          ...(opts.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}),
        });
        if (ctx.output === "json") process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        else process.stdout.write(toYaml(doc, { indentSeq: false }));
      }),
    );
}
