// Small writes kubectl users reach for: `create -f` (create only, no
// last-applied record), `patch KIND NAME -p PATCH [--type]`, and
// `set image deployment/NAME CONTAINER=IMAGE...` (a strategic-merge patch of
// the containers by name, which starts a rollout).

import type { Command } from "commander";
import { resourceForKind } from "../../api/resources.js";
import type { Deployment } from "../../api/types.js";
import type { PatchType } from "../../client/kube-client.js";
import { UserError } from "../errors.js";
import { withLastApplied } from "./apply-patch.js";
import { parseOneObject } from "./args.js";
import { errorLine, isNotFound, notFoundError, nsFor, objectName, runKube } from "./kube.js";
import { readManifests } from "./manifests.js";

const PATCH_TYPES: Record<string, PatchType> = { strategic: "strategic", merge: "merge", json: "json" };

/** `web=nginx:2 sidecar=log:1` into pairs; refuses anything else. */
export function parseImageAssignments(args: string[]): { container: string; image: string }[] {
  if (args.length === 0) throw new UserError("set image needs at least one CONTAINER=IMAGE");
  return args.map((a) => {
    const eq = a.indexOf("=");
    if (eq <= 0 || eq === a.length - 1) throw new UserError(`expected CONTAINER=IMAGE, got "${a}"`);
    return { container: a.slice(0, eq), image: a.slice(eq + 1) };
  });
}

export function registerEdit(program: Command): void {
  program
    .command("create")
    .description("create objects from manifests (fails for those that exist; see apply)")
    .requiredOption("-f, --filename <path...>", "file, directory or - (stdin)")
    .option("--save-config", "record the last-applied configuration, so that apply can manage the objects later")
    .action((opts: { filename: string[]; saveConfig?: boolean }) =>
      runKube(program, async (ctx) => {
        let failed = 0;
        for (const m of await readManifests(opts.filename)) {
          const info = resourceForKind(m.object.apiVersion, m.object.kind ?? "");
          if (!info) throw new UserError(`${m.source}: no matches for kind "${m.object.kind}" in version "${m.object.apiVersion}"`);
          const namespace = info.namespaced ? (ctx.namespaceExplicit ? ctx.namespace : (m.object.metadata.namespace ?? ctx.namespace)) : undefined;
          try {
            const obj = { ...m.object, metadata: { ...m.object.metadata, ...(namespace ? { namespace } : {}) } };
            await ctx.client.create(info, opts.saveConfig ? withLastApplied(obj) : obj, namespace ? { namespace } : {});
            process.stdout.write(ctx.output === "name" ? `${objectName(info, m.object.metadata.name!)}\n` : `${objectName(info, m.object.metadata.name!)} created\n`);
          } catch (err) {
            failed++;
            process.stderr.write(`Error: error when creating "${m.source}": ${errorLine(err)}\n`);
          }
        }
        if (failed > 0) process.exitCode = 1;
      }),
    );

  program
    .command("patch")
    .description("change fields of one object with a strategic-merge, merge or JSON patch")
    .argument("<resource...>", "KIND NAME or KIND/NAME")
    .requiredOption("-p, --patch <json>", "the patch, as JSON (or YAML)")
    .option("--type <type>", "strategic, merge or json", "strategic")
    .option("--subresource <name>", "status or scale")
    .action((args: string[], opts: { patch: string; type: string; subresource?: string }) =>
      runKube(program, async (ctx) => {
        const { info, name } = parseOneObject(args, "patch");
        const type = PATCH_TYPES[opts.type];
        if (!type) throw new UserError(`--type must be strategic, merge or json, not "${opts.type}"`);
        let body: unknown;
        try {
          body = JSON.parse(opts.patch);
        } catch {
          const { parse } = await import("yaml");
          try {
            body = parse(opts.patch);
          } catch (err) {
            throw new UserError(`the patch is neither JSON nor YAML: ${(err as Error).message.split("\n")[0]}`);
          }
        }
        try {
          await ctx.client.patch(info, nsFor(info, ctx.namespace), name, body, type, opts.subresource ? { subresource: opts.subresource } : {});
        } catch (err) {
          if (isNotFound(err)) throw notFoundError(info, name);
          throw err;
        }
        process.stdout.write(`${objectName(info, name)} patched\n`);
      }),
    );

  const set = program.command("set").description("set a field of a workload");
  set
    .command("image")
    .description("set container images of a deployment (starts a rollout)")
    .argument("<resource>", "deployment/NAME")
    .argument("<assignments...>", "CONTAINER=IMAGE ...")
    .action((resource: string, assignments: string[]) =>
      runKube(program, async (ctx) => {
        const { info, name } = parseOneObject([resource], "set image");
        if (info.kind !== "Deployment" && info.kind !== "ReplicaSet" && info.kind !== "Pod") throw new UserError(`set image supports deployments, replicasets and pods, not ${info.resource}`);
        const pairs = parseImageAssignments(assignments);
        let obj: Deployment;
        try {
          obj = await ctx.client.get<Deployment>(info, nsFor(info, ctx.namespace), name);
        } catch (err) {
          if (isNotFound(err)) throw notFoundError(info, name);
          throw err;
        }
        const containers = info.kind === "Pod" ? ((obj.spec as unknown as { containers?: { name: string }[] }).containers ?? []) : (obj.spec.template.spec?.containers ?? []);
        for (const p of pairs) {
          if (p.container !== "*" && !containers.some((c) => c.name === p.container)) throw new UserError(`unable to find container named "${p.container}"`);
        }
        const wanted = containers
          .map((c) => ({ name: c.name, image: pairs.find((p) => p.container === c.name || p.container === "*")?.image }))
          .filter((c): c is { name: string; image: string } => c.image !== undefined);
        const patch = info.kind === "Pod" ? { spec: { containers: wanted } } : { spec: { template: { spec: { containers: wanted } } } };
        await ctx.client.patch(info, nsFor(info, ctx.namespace), name, patch, "strategic");
        process.stdout.write(`${objectName(info, name)} image updated\n`);
      }),
    );
}
