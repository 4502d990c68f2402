// pinctl rollout status|history|undo|pause|resume|restart deployment/NAME.
// Decisions live in rollout-logic.ts; this file talks to the API.

import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import type { Deployment, ReplicaSet } from "../../api/types.js";
import type { KubeClient } from "../../client/kube-client.js";
import { UserError } from "../errors.js";
import { parseCount, parseDuration, parseOneObject, type ObjectRef } from "./args.js";
import { isNotFound, notFoundError, objectName, runKube, type KubeCommandContext } from "./kube.js";
import { deploymentRolloutStatus, planRollback, rolloutHistory } from "./rollout-logic.js";

function deploymentRef(args: string[], verb: string): ObjectRef {
  const ref = parseOneObject(args, `rollout ${verb}`);
  if (ref.info.kind !== "Deployment") throw new UserError(`rollout ${verb} supports deployments, not ${ref.info.resource}`);
  return ref;
}

async function getDeployment(ctx: KubeCommandContext, ref: ObjectRef): Promise<Deployment> {
  try {
    return await ctx.client.get<Deployment>(ref.info, ctx.namespace, ref.name);
  } catch (err) {
    if (isNotFound(err)) throw notFoundError(ref.info, ref.name);
    throw err;
  }
}

async function replicaSets(client: KubeClient, namespace: string): Promise<ReplicaSet[]> {
  return (await client.listAll<ReplicaSet>("replicasets", { namespace })).items;
}

/** Prints each new status line until the rollout is done, fails, or the timeout passes. */
async function status(ctx: KubeCommandContext, ref: ObjectRef, opts: { timeout?: string; watch?: boolean }): Promise<void> {
  const timeoutMs = opts.timeout ? parseDuration(opts.timeout, "--timeout") : 0;
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let last = "";
  const report = (d: Deployment): boolean => {
    const s = deploymentRolloutStatus(d);
    if (s.error) throw new UserError(s.error);
    if (s.message !== last) process.stdout.write(`${s.message}\n`);
    last = s.message;
    return s.done;
  };
  let d = await getDeployment(ctx, ref);
  if (report(d) || opts.watch === false) return;
  let interrupted = false;
  const onSigint = () => (interrupted = true);
  process.once("SIGINT", onSigint);
  try {
    while (!interrupted) {
      if (Date.now() >= deadline) throw new UserError("timed out waiting for the condition");
      let done = false;
      let failure: unknown = null;
      const handle = ctx.client.watch<Deployment>(
        ref.info,
        { namespace: ctx.namespace, fieldSelector: `metadata.name=${ref.name}`, resourceVersion: d.metadata.resourceVersion ?? "" },
        (ev) => {
          if (ev.type === "DELETED") {
            failure = new UserError(`deployment "${ref.name}" was deleted`);
            handle.stop();
            return;
          }
          if (ev.type !== "ADDED" && ev.type !== "MODIFIED") return;
          d = ev.object;
          try {
            if (report(d)) {
              done = true;
              handle.stop();
            }
          } catch (err) {
            failure = err;
            handle.stop();
          }
        },
      );
      const remaining = deadline - Date.now();
      const timer = Number.isFinite(remaining) ? setTimeout(() => handle.stop(), Math.max(0, remaining)) : null;
      const poll = setInterval(() => interrupted && handle.stop(), 200);
      await handle.done;
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      if (failure) throw failure;
      if (done) return;
      // The watch ended (server timeout, lost master, 410): look again, then resume.
      d = await getDeployment(ctx, ref);
      if (report(d)) return;
      if (!interrupted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
}

async function history(ctx: KubeCommandContext, ref: ObjectRef, opts: { revision?: string }): Promise<void> {
  const d = await getDeployment(ctx, ref);
  const entries = rolloutHistory(d, await replicaSets(ctx.client, ctx.namespace));
  const name = objectName(ref.info, ref.name);
  if (opts.revision !== undefined && opts.revision !== "0") {
    const revision = parseCount(opts.revision, "--revision", 1);
    const entry = entries.find((e) => e.revision === revision);
    if (!entry) throw new UserError(`unable to find the specified revision`);
    const tmpl = entry.replicaSet.spec.template;
    process.stdout.write(`${name} with revision #${revision}\nPod Template:\n${toYaml(tmpl).replace(/^/gm, "  ")}`);
    return;
  }
  if (entries.length === 0) {
    process.stdout.write(`No rollout history found.\n`);
    return;
  }
  const rows = [["REVISION", "CHANGE-CAUSE"], ...entries.map((e) => [String(e.revision), e.changeCause])];
  const width = Math.max(...rows.map((r) => r[0]!.length));
  process.stdout.write(`${name} \n${rows.map((r) => `${r[0]!.padEnd(width)}  ${r[1]}`).join("\n")}\n\n`);
}

async function undo(ctx: KubeCommandContext, ref: ObjectRef, opts: { toRevision?: string }): Promise<void> {
  const d = await getDeployment(ctx, ref);
  const toRevision = opts.toRevision !== undefined ? parseCount(opts.toRevision, "--to-revision") : 0;
  const plan = planRollback(d, await replicaSets(ctx.client, ctx.namespace), toRevision);
  const name = objectName(ref.info, ref.name);
  if (plan.kind === "error") throw new UserError(plan.message);
  if (plan.kind === "skip") {
    process.stdout.write(`${name} skipped rollback (current template already matches revision ${plan.revision})\n`);
    return;
  }
  await ctx.client.patch(ref.info, ctx.namespace, ref.name, plan.patch, "json");
  process.stdout.write(`${name} rolled back\n`);
}

async function setPaused(ctx: KubeCommandContext, ref: ObjectRef, paused: boolean): Promise<void> {
  const d = await getDeployment(ctx, ref);
  const word = paused ? "paused" : "resumed";
  if ((d.spec.paused ?? false) === paused) throw new UserError(`${ref.info.resource}.${ref.info.group} "${ref.name}" is ${paused ? "already paused" : "not paused"}`);
  await ctx.client.patch(ref.info, ctx.namespace, ref.name, { spec: { paused } }, "merge");
  process.stdout.write(`${objectName(ref.info, ref.name)} ${word}\n`);
}

async function restart(ctx: KubeCommandContext, ref: ObjectRef): Promise<void> {
  const d = await getDeployment(ctx, ref);
  if (d.spec.paused) throw new UserError(`can't restart paused deployment (run rollout resume first)`);
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await ctx.client.patch(ref.info, ctx.namespace, ref.name, { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": now } } } } }, "strategic");
  process.stdout.write(`${objectName(ref.info, ref.name)} restarted\n`);
}

export function registerRollout(program: Command): void {
  const rollout = program.command("rollout").description("manage the rollout of a deployment");
  rollout
    .command("status")
    .description("wait until the rollout finishes, printing its progress")
    .argument("<resource...>", "deployment/NAME")
    .option("--timeout <duration>", "give up after this long (e.g. 60s, 5m; 0 waits forever)")
    .option("-w, --watch <bool>", "keep watching until done (false: print once)", "true")
    .action((args: string[], opts: { timeout?: string; watch?: string }) =>
      runKube(program, (ctx) => status(ctx, deploymentRef(args, "status"), { ...(opts.timeout ? { timeout: opts.timeout } : {}), watch: opts.watch !== "false" })),
    );
  rollout
    .command("history")
    .description("list the revisions of a deployment")
    .argument("<resource...>", "deployment/NAME")
    .option("--revision <n>", "show the pod template of one revision")
    .action((args: string[], opts: { revision?: string }) => runKube(program, (ctx) => history(ctx, deploymentRef(args, "history"), opts)));
  rollout
    .command("undo")
    .description("roll a deployment back to the previous (or a given) revision")
    .argument("<resource...>", "deployment/NAME")
    .option("--to-revision <n>", "the revision to go back to (default: the previous one)")
    .action((args: string[], opts: { toRevision?: string }) => runKube(program, (ctx) => undo(ctx, deploymentRef(args, "undo"), opts)));
  rollout
    .command("pause")
    .description("stop rolling out template changes")
    .argument("<resource...>", "deployment/NAME")
    .action((args: string[]) => runKube(program, (ctx) => setPaused(ctx, deploymentRef(args, "pause"), true)));
  rollout
    .command("resume")
    .description("resume a paused deployment")
    .argument("<resource...>", "deployment/NAME")
    .action((args: string[]) => runKube(program, (ctx) => setPaused(ctx, deploymentRef(args, "resume"), false)));
  rollout
    .command("restart")
    .description("replace every pod of a deployment with a rolling update")
    .argument("<resource...>", "deployment/NAME")
    .action((args: string[]) => runKube(program, (ctx) => restart(ctx, deploymentRef(args, "restart"))));
}
