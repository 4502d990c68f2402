// pinctl apply -f FILE|DIR|-: create what is absent, patch what is there with
// kubectl's 3-way strategic merge (see apply-patch.ts), print
// `deployment.apps/web created|configured|unchanged` per object.

import type { Command } from "commander";
import { resourceForKind } from "../../api/resources.js";
import type { KubeObject } from "../../api/types.js";
import { UserError } from "../errors.js";
import { lastApplied, threeWayMergePatch, withLastApplied, type JsonObject } from "./apply-patch.js";
import { errorLine, isNotFound, objectName, qualifiedResource, runKube, type KubeCommandContext } from "./kube.js";
import { readManifests, type Manifest } from "./manifests.js";

export type ApplyOutcome = "created" | "configured" | "unchanged";

async function applyOne(ctx: KubeCommandContext, m: Manifest): Promise<{ name: string; outcome: ApplyOutcome }> {
  const obj = m.object;
  const info = resourceForKind(obj.apiVersion, obj.kind ?? "");
  if (!info) throw new UserError(`${m.source}: no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
  const name = obj.metadata.name!;
  let namespace: string | undefined;
  if (info.namespaced) {
    const own = obj.metadata.namespace;
    if (own && ctx.namespaceExplicit && own !== ctx.namespace) {
      throw new UserError(`the namespace from the provided object "${own}" does not match the namespace "${ctx.namespace}"`);
    }
    namespace = own ?? ctx.namespace;
    obj.metadata.namespace = namespace;
  } else {
    delete obj.metadata.namespace;
  }
  const modified = withLastApplied(obj);
  let current: KubeObject;
  try {
    current = await ctx.client.get(info, namespace, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await ctx.client.create(info, modified, namespace ? { namespace } : {}).catch((e: unknown) => {
      throw new UserError(`error when creating "${m.source}": ${errorLine(e)}`);
    });
    return { name: objectName(info, name), outcome: "created" };
  }
  const original = lastApplied(current);
  if (!original) {
    // kubectl's warning, word for word: the first apply cannot know what to delete.
    process.stderr.write(
      `Warning: resource ${qualifiedResource(info)}/${name} is missing the kubectl.kubernetes.io/last-applied-configuration annotation which is required by pinctl apply. pinctl apply should only be used on resources created declaratively by either pinctl create --save-config or pinctl apply. The missing annotation will be patched automatically.\n`,
    );
  }
  const patch = threeWayMergePatch(original, modified as unknown as JsonObject, current as unknown as JsonObject);
  if (Object.keys(patch).length === 0) return { name: objectName(info, name), outcome: "unchanged" };
  await ctx.client.patch(info, namespace, name, patch, "strategic").catch((e: unknown) => {
    throw new UserError(`error when patching "${m.source}": ${errorLine(e)}`);
  });
  return { name: objectName(info, name), outcome: "configured" };
}

export function registerApply(program: Command): void {
  program
    .command("apply")
    .description("create or update objects from manifests (multi-document YAML or JSON, directories, - for stdin)")
    .requiredOption("-f, --filename <path...>", "file, directory or - (stdin); may be repeated")
    .action((opts: { filename: string[] }) =>
      runKube(program, async (ctx) => {
        const manifests = await readManifests(opts.filename);
        let failed = 0;
        // kubectl goes on after a failed object and reports each failure.
        for (const m of manifests) {
          try {
            const r = await applyOne(ctx, m);
            if (ctx.output === "name") process.stdout.write(`${r.name}\n`);
            else process.stdout.write(`${r.name} ${r.outcome}\n`);
          } catch (err) {
            failed++;
            process.stderr.write(`Error: ${errorLine(err)}\n`);
          }
        }
        if (failed > 0) process.exitCode = 1;
      }),
    );
}
