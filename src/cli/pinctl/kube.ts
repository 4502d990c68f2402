// What the resource commands share: a KubeClient on every master's API (or
// --server), one-line `Error: ...` reporting with exit code 1, and the names
// kubectl prints for resources and objects.

import type { Command } from "commander";
import { KubeApiError, KubeClient } from "../../client/kube-client.js";
import { lookupResource, type ResourceInfo } from "../../api/resources.js";
import { UserError } from "../errors.js";
import { resolveContext, type GlobalOptions, type PinctlContext } from "./context.js";

export interface KubeCommandContext extends PinctlContext {
  client: KubeClient;
  /** True when -n was given on the command line (an object's own namespace wins otherwise). */
  namespaceExplicit: boolean;
}

/** Runs a resource command: builds the client, prints any error as one line, closes the client. */
export async function runKube(program: Command, action: (ctx: KubeCommandContext) => Promise<void>): Promise<void> {
  let client: KubeClient | null = null;
  try {
    const base = resolveContext(program.opts<GlobalOptions>());
    client = new KubeClient({ servers: base.apiServers, ...(base.apiToken ? { token: base.apiToken } : {}), timeoutMs: 30_000, userAgent: "pinctl" });
    const namespaceExplicit = program.getOptionValueSource("namespace") === "cli";
    await action({ ...base, client, namespaceExplicit });
  } catch (err) {
    process.stderr.write(`Error: ${errorLine(err)}\n`);
    if (process.env.PINSETTER_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ""}\n`);
    process.exitCode = 1;
  } finally {
    client?.close();
  }
}

/** Runs a command that needs no API client, with the same error reporting. */
export async function runPlain(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    process.stderr.write(`Error: ${errorLine(err)}\n`);
    if (process.env.PINSETTER_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ""}\n`);
    process.exitCode = 1;
  }
}

/** One line for the user: the server's message for API errors, ours for user errors. */
export function errorLine(err: unknown): string {
  if (err instanceof KubeApiError) {
    if (err.code === 401) return `unauthorized: ${err.message.split("\n")[0]} (wrong or missing token?)`;
    return err.message.split("\n")[0] ?? err.reason;
  }
  if (err instanceof UserError) return err.message.split("\n")[0] ?? "";
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0] ?? "";
}

/** "deployments.apps", "pods": how kubectl names a resource in messages. */
export function qualifiedResource(info: ResourceInfo): string {
  return info.group ? `${info.resource}.${info.group}` : info.resource;
}

/** "deployment.apps/web", "pod/x": kubectl's -o name and apply/scale output. */
export function objectName(info: ResourceInfo, name: string): string {
  return `${info.singular}${info.group ? `.${info.group}` : ""}/${name}`;
}

/** `pods "nope" not found`, as kubectl words it whatever the server says. */
export function notFoundError(info: ResourceInfo, name: string): UserError {
  return new UserError(`${qualifiedResource(info)} "${name}" not found`);
}

export function requireResource(kind: string): ResourceInfo {
  const info = lookupResource(kind);
  if (!info) throw new UserError(`the server doesn't have a resource type "${kind}"`);
  return info;
}

/** Namespace for a request: none for cluster-scoped resources. */
export function nsFor(info: ResourceInfo, namespace: string): string | undefined {
  return info.namespaced ? namespace : undefined;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 404;
}
