// pinctl label|annotate KIND NAME key=value... key-: a merge patch of
// metadata.labels or metadata.annotations; changing an existing value needs
// --overwrite, as with kubectl.

import type { Command } from "commander";
import { UserError } from "../errors.js";
import { parseOneObject } from "./args.js";
import { isNotFound, notFoundError, nsFor, objectName, runKube } from "./kube.js";

export interface MetadataChanges {
  set: Record<string, string>;
  remove: string[];
}

/** `k=v` sets, `k-` removes; the object argument(s) come first. */
export function parseMetadataChanges(args: string[]): { objectArgs: string[]; changes: MetadataChanges } {
  const firstChange = args.findIndex((a) => a.includes("=") || (a.endsWith("-") && a.length > 1));
  if (firstChange <= 0) throw new UserError("expected KIND NAME (or KIND/NAME) followed by key=value or key- changes");
  const changes: MetadataChanges = { set: {}, remove: [] };
  for (const a of args.slice(firstChange)) {
    const eq = a.indexOf("=");
    if (eq > 0) changes.set[a.slice(0, eq)] = a.slice(eq + 1);
    else if (a.endsWith("-") && a.length > 1) changes.remove.push(a.slice(0, -1));
    else throw new UserError(`invalid change "${a}": use key=value or key-`);
  }
  return { objectArgs: args.slice(0, firstChange), changes };
}

/** The merge patch of one map, refusing to change values without overwrite. */
export function metadataPatch(field: "labels" | "annotations", current: Record<string, string> | undefined, changes: MetadataChanges, overwrite: boolean): Record<string, unknown> {
  const map: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(changes.set)) {
    const old = current?.[k];
    if (old !== undefined && old !== v && !overwrite) throw new UserError(`'${k}' already has a value (${old}), and --overwrite is false`);
    map[k] = v;
  }
  for (const k of changes.remove) map[k] = null;
  return { metadata: { [field]: map } };
}

function register(program: Command, verb: "label" | "annotate", field: "labels" | "annotations", done: string): void {
  program
    .command(verb)
    .description(`update the ${field} of an object (key=value sets, key- removes)`)
    .argument("<args...>", "KIND NAME key=value... or KIND/NAME key=value...")
    .option("--overwrite", "allow changing existing values")
    .action((args: string[], opts: { overwrite?: boolean }) =>
      runKube(program, async (ctx) => {
        const { objectArgs, changes } = parseMetadataChanges(args);
        const { info, name } = parseOneObject(objectArgs, verb);
        const ns = nsFor(info, ctx.namespace);
        try {
          const obj = await ctx.client.get(info, ns, name);
          const patch = metadataPatch(field, obj.metadata[field], changes, opts.overwrite === true);
          await ctx.client.patch(info, ns, name, patch, "merge");
        } catch (err) {
          if (isNotFound(err)) throw notFoundError(info, name);
          throw err;
        }
        process.stdout.write(`${objectName(info, name)} ${done}\n`);
      }),
    );
}

export function registerMetadata(program: Command): void {
  register(program, "label", "labels", "labeled");
  register(program, "annotate", "annotations", "annotated");
}
