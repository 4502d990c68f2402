// What every pinctl command needs: the config (optional with --server), the
// endpoints to try in turn, the token, and the output format.

import { existsSync } from "node:fs";
import { loadClusterConfig, resolveConfigPath, type ClusterConfig } from "../../config/index.js";
import { EtcdClient } from "../../client/etcd-client.js";
import { UserError } from "../errors.js";

export type OutputFormat = "table" | "wide" | "json" | "yaml" | "name" | "jsonpath";

export interface GlobalOptions {
  server?: string;
  config?: string;
  namespace?: string;
  output?: string;
  token?: string;
}

export interface PinctlContext {
  config: ClusterConfig | null;
  /** Client URLs (clientPort) to try in turn. */
  endpoints: string[];
  /** API server URLs (http://<host>:<apiPort> of every master, or --server) for the resource commands. */
  apiServers: string[];
  token: string | undefined;
  /** The template of -o jsonpath=TEMPLATE (output is then "jsonpath"). */
  jsonpath?: string;
  /** Bearer token for the API (the cluster token, whatever the store's clientAuth). */
  apiToken: string | undefined;
  output: OutputFormat;
  namespace: string;
}

const FORMATS: OutputFormat[] = ["table", "wide", "json", "yaml", "name"];

export function resolveContext(opts: GlobalOptions): PinctlContext {
  const jsonpath = opts.output?.startsWith("jsonpath=") ? opts.output.slice("jsonpath=".length) : undefined;
  const output = (jsonpath !== undefined ? "jsonpath" : (opts.output ?? "table")) as OutputFormat;
  if (jsonpath === undefined && !FORMATS.includes(output)) throw new UserError(`unknown output format "${opts.output}"; use one of ${FORMATS.join(", ")}, jsonpath=TEMPLATE`);
  let config: ClusterConfig | null = null;
  const path = resolveConfigPath({ path: opts.config });
  if (opts.config || process.env.PINSETTER_CONFIG || existsSync(path.path)) {
    config = loadClusterConfig({ path: opts.config });
  }
  let endpoints: string[];
  let apiServers: string[];
  if (opts.server) {
    endpoints = [opts.server.replace(/\/+$/, "")];
    apiServers = endpoints;
  } else if (config) {
    endpoints = config.masters.map((m) => `http://${m.host}:${m.clientPort}`);
    apiServers = config.masters.map((m) => `http://${m.host}:${m.apiPort}`);
  } else {
    throw new UserError("no cluster to talk to: pass --server URL or --config FILE (or run where cluster.config.json is)");
  }
  const token = opts.token ?? process.env.PINSETTER_TOKEN ?? (config && config.clientAuth === "token" ? config.token : undefined);
  const apiToken = opts.token ?? process.env.PINSETTER_TOKEN ?? config?.token;
  return { config, endpoints, apiServers, token, apiToken, ...(jsonpath !== undefined ? { jsonpath } : {}), output, namespace: opts.namespace ?? "default" };
}

export function storeClient(ctx: PinctlContext, timeoutMs = 10_000): EtcdClient {
  return new EtcdClient({ endpoints: ctx.endpoints, ...(ctx.token ? { token: ctx.token } : {}), timeoutMs, connectTimeoutMs: 1000 });
}
