// pinctl delete KIND NAME... | KIND/NAME | -f FILE | KIND -l SEL: prints
// `pod "x" deleted` per object, as kubectl does; a missing object is an error
// (exit 1) unless --ignore-not-found, and the others are still deleted.

import type { Command } from "commander";
import { resourceForKind, type ResourceInfo } from "../../api/resources.js";
import { UserError } from "../errors.js";
import { parseDuration, parseResourceArgs } from "./args.js";
import { errorLine, isNotFound, notFoundError, nsFor, objectName, qualifiedResource, runKube, type KubeCommandContext } from "./kube.js";
import { readManifests } from "./manifests.js";

interface DeleteFlags {
  wait?: boolean;
  timeout?: string;
  filename?: string[];
  selector?: string;
  all?: boolean;
  ignoreNotFound?: boolean;
  cascade?: string;
  gracePeriod?: string;
  now?: boolean;
}

function deleteOptions(flags: DeleteFlags) {
  const cascade = flags.cascade ?? "background";
  const policy = cascade === "orphan" ? "Orphan" : cascade === "foreground" ? "Foreground" : cascade === "background" || cascade === "true" ? "Background" : null;
  if (!policy) throw new UserError(`invalid --cascade "${flags.cascade}": use background, foreground or orphan`);
  const grace = flags.now ? 1 : flags.gracePeriod !== undefined ? Number(flags.gracePeriod) : undefined;
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) throw new UserError(`invalid --grace-period "${flags.gracePeriod}"`);
  return { propagationPolicy: policy, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) } as const;
}

interface Deleted {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string;
  uid: string | undefined;
}

async function deleteOne(ctx: KubeCommandContext, info: ResourceInfo, namespace: string | undefined, name: string, flags: DeleteFlags, deleted: Deleted[]): Promise<boolean> {
  const ns = nsFor(info, namespace ?? ctx.namespace);
  try {
    const answer = await ctx.client.delete(info, ns, name, deleteOptions(flags));
    // The object (still there with a deletionTimestamp) or a Status; keep the uid so a successor of the same name does not count as "still there".
    const uid = (answer as { metadata?: { uid?: string } }).metadata?.uid ?? (answer as { details?: { uid?: string } }).details?.uid;
    deleted.push({ info, namespace: ns, name, uid });
    if (ctx.output === "name") process.stdout.write(`${objectName(info, name)}\n`);
    else process.stdout.write(`${info.singular}${info.group ? `.${info.group}` : ""} "${name}" deleted\n`);
    return true;
  } catch (err) {
    if (isNotFound(err)) {
      if (flags.ignoreNotFound) return true;
      process.stderr.write(`Error: ${notFoundError(info, name).message}\n`);
      return false;
    }
    process.stderr.write(`Error: ${errorLine(err)}\n`);
    return false;
  }
}

/** Waits until every deleted object is gone (graceful pod termination, finalizers), as kubectl delete does by default. */
async function waitGone(ctx: KubeCommandContext, deleted: Deleted[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = deleted;
  while (pending.length > 0) {
    const still: Deleted[] = [];
    for (const d of pending) {
      try {
        const obj = await ctx.client.get(d.info, d.namespace, d.name);
        if (!d.uid || obj.metadata.uid === d.uid) still.push(d);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() >= deadline) throw new UserError(`timed out waiting for ${pending.map((d) => `${qualifiedResource(d.info)} "${d.name}"`).join(", ")} to be deleted`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export function registerDelete(program: Command): void {
  program
    .command("delete")
    .description("delete objects by name, from manifests (-f) or by label (-l)")
    .argument("[resources...]", "KIND NAME... or KIND/NAME...")
    .option("-f, --filename <path...>", "delete the objects of these manifests")
    .option("-l, --selector <selector>", "delete every object of KIND that matches")
    .option("--all", "delete every object of KIND in the namespace")
    .option("--ignore-not-found", "treat a missing object as deleted")
    .option("--cascade <policy>", "background, foreground or orphan", "background")
    .option("--grace-period <seconds>", "seconds a pod gets to stop")
    .option("--now", "delete at once (grace period 1)")
    .option("--wait <bool>", "wait until the objects are gone", "true")
    .option("--timeout <duration>", "how long --wait waits", "5m")
    .action((args: string[], flags: DeleteFlags) =>
      runKube(program, async (ctx) => {
        let ok = true;
        const deleted: Deleted[] = [];
        const wait = String(flags.wait) !== "false";
        const timeoutMs = parseDuration(flags.timeout ?? "5m", "--timeout");
        if (flags.filename) {
          if (args.length > 0) throw new UserError("pass either -f or resources, not both");
          for (const m of await readManifests(flags.filename)) {
            const info = resourceForKind(m.object.apiVersion, m.object.kind ?? "");
            if (!info) throw new UserError(`${m.source}: no matches for kind "${m.object.kind}" in version "${m.object.apiVersion}"`);
            ok = (await deleteOne(ctx, info, ctx.namespaceExplicit ? ctx.namespace : (m.object.metadata.namespace ?? ctx.namespace), m.object.metadata.name!, flags, deleted)) && ok;
          }
        } else {
          if (args.length === 0) throw new UserError("you must specify the type of resource to delete, or -f FILE");
          const { kinds, refs } = parseResourceArgs(args);
          if (refs.length > 0) {
            if (flags.selector || flags.all) throw new UserError("names cannot be given together with --selector or --all");
            for (const { info, name } of refs) ok = (await deleteOne(ctx, info, undefined, name, flags, deleted)) && ok;
          } else {
            if (!flags.selector && !flags.all) throw new UserError(`resource(s) were provided, but no name was specified (use a name, -l SELECTOR or --all)`);
            let count = 0;
            for (const info of kinds) {
              const list = await ctx.client.listAll(info, { namespace: nsFor(info, ctx.namespace), ...(flags.selector ? { labelSelector: flags.selector } : {}) });
              for (const obj of list.items) {
                count++;
                ok = (await deleteOne(ctx, info, obj.metadata.namespace, obj.metadata.name!, flags, deleted)) && ok;
              }
            }
            if (count === 0) process.stderr.write(`No resources found${kinds.some((k) => k.namespaced) ? ` in ${ctx.namespace} namespace` : ""}.\n`);
          }
        }
        if (wait && deleted.length > 0) await waitGone(ctx, deleted, timeoutMs > 0 ? timeoutMs : 300_000);
        if (!ok) process.exitCode = 1;
      }),
    );
}
