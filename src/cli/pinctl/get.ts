// pinctl get KIND[,KIND...] [NAME...] | KIND/NAME: server-side Tables printed
// as kubectl prints them (aligned, NAMESPACE with -A, priority>0 columns with
// -o wide), or the objects as json, yaml or kind/name; -w prints a line per
// watch event until Ctrl-C.

import type { Command } from "commander";
import { apiVersionOf, type ResourceInfo } from "../../api/resources.js";
import type { KubeObject, WatchEvent } from "../../api/types.js";
import { KubeApiError } from "../../client/kube-client.js";
import { UserError } from "../errors.js";
import { parseResourceArgs, type ObjectRef } from "./args.js";
import type { OutputFormat } from "./context.js";
import { fetchTable, TABLE_ACCEPT, type Selectors } from "./fetch.js";
import { isNotFound, notFoundError, nsFor, objectName, runKube, type KubeCommandContext } from "./kube.js";
import { kubectlJson, kubectlYaml } from "./encode.js";
import { renderJsonPath } from "./jsonpath.js";
import { alignColumns, columnWidths, isTable, padRow, tableCells, type Table } from "./printer.js";

export interface GetOptions {
  selector?: string;
  fieldSelector?: string;
  allNamespaces?: boolean;
  watch?: boolean;
  watchOnly?: boolean;
  showKind?: boolean;
  showLabels?: boolean;
  headers?: boolean;
}

/** An object with apiVersion and kind filled in (list items often lack them). */
export function typed(info: ResourceInfo, obj: KubeObject): KubeObject {
  return { apiVersion: apiVersionOf(info), kind: info.kind, ...obj };
}

export function listObject(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: "v1", kind: "List", items, metadata: { resourceVersion: "" } };
}

export function printObjects(format: OutputFormat, objects: { info: ResourceInfo; obj: KubeObject }[], single: boolean, jsonpath?: string): void {
  const typedObjects = objects.map(({ info, obj }) => typed(info, obj));
  if (format === "jsonpath") {
    const value = single && typedObjects.length === 1 ? typedObjects[0] : listObject(typedObjects);
    process.stdout.write(renderJsonPath(jsonpath ?? "", value));
    return;
  }
  if (format === "name") {
    for (const { info, obj } of objects) process.stdout.write(`${objectName(info, obj.metadata.name ?? "")}\n`);
    return;
  }
  const value = single && typedObjects.length === 1 ? typedObjects[0] : listObject(typedObjects);
  process.stdout.write(format === "json" ? kubectlJson(value) : kubectlYaml(value));
}

function noResources(ctx: KubeCommandContext, info: ResourceInfo | undefined, all: boolean): void {
  const where = all || !info?.namespaced ? "" : ` in ${ctx.namespace} namespace`;
  process.stderr.write(`No resources found${where}.\n`);
}

async function getObjects(ctx: KubeCommandContext, refs: ObjectRef[], kinds: ResourceInfo[], sel: Selectors, all: boolean): Promise<{ found: { info: ResourceInfo; obj: KubeObject }[]; missing: Error[] }> {
  const found: { info: ResourceInfo; obj: KubeObject }[] = [];
  const missing: Error[] = [];
  if (refs.length > 0) {
    for (const { info, name } of refs) {
      try {
        found.push({ info, obj: await ctx.client.get(info, nsFor(info, ctx.namespace), name) });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        missing.push(notFoundError(info, name));
      }
    }
    return { found, missing };
  }
  for (const info of kinds) {
    const list = await ctx.client.listAll(info, { ...(all ? {} : { namespace: nsFor(info, ctx.namespace) }), ...sel });
    for (const obj of list.items) found.push({ info, obj });
  }
  return { found, missing };
}

async function getTables(ctx: KubeCommandContext, refs: ObjectRef[], kinds: ResourceInfo[], sel: Selectors, opts: GetOptions): Promise<{ tables: { info: ResourceInfo; table: Table }[]; missing: Error[] }> {
  const tables: { info: ResourceInfo; table: Table }[] = [];
  const missing: Error[] = [];
  const all = opts.allNamespaces ?? false;
  if (refs.length > 0) {
    for (const { info, name } of refs) {
      try {
        const table = await fetchTable(ctx.client, info, nsFor(info, ctx.namespace), name);
        const prev = tables.find((t) => t.info === info);
        if (prev) prev.table.rows.push(...table.rows);
        else tables.push({ info, table });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        missing.push(notFoundError(info, name));
      }
    }
  } else {
    for (const info of kinds) tables.push({ info, table: await fetchTable(ctx.client, info, all ? undefined : nsFor(info, ctx.namespace), undefined, sel) });
  }
  return { tables, missing };
}

async function get(ctx: KubeCommandContext, args: string[], opts: GetOptions): Promise<void> {
  const { kinds, refs } = parseResourceArgs(args);
  const sel: Selectors = { ...(opts.selector ? { labelSelector: opts.selector } : {}), ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}) };
  const all = opts.allNamespaces ?? false;
  const distinctKinds = new Set([...kinds, ...refs.map((r) => r.info)]);
  const kindPrefix = distinctKinds.size > 1 || args.some((a) => a.includes("/")) || opts.showKind === true;

  if (opts.watch || opts.watchOnly) {
    if (distinctKinds.size !== 1) throw new UserError("you may only specify a single resource type with --watch");
    const info = [...distinctKinds][0]!;
    const names = refs.map((r) => r.name);
    if (names.length > 1) throw new UserError("watch is only supported on a single object or a collection");
    return watch(ctx, info, names[0], sel, opts);
  }

  if (ctx.output === "json" || ctx.output === "yaml" || ctx.output === "name" || ctx.output === "jsonpath") {
    const { found, missing } = await getObjects(ctx, refs, kinds, sel, all);
    const single = refs.length === 1;
    if (found.length > 0 || ctx.output !== "name") {
      if (!(single && found.length === 0)) printObjects(ctx.output, found, single, ctx.jsonpath);
    }
    for (const err of missing) process.stderr.write(`Error: ${err.message}\n`);
    if (missing.length > 0) process.exitCode = 1;
    return;
  }

  const { tables, missing } = await getTables(ctx, refs, kinds, sel, opts);
  const wide = ctx.output === "wide";
  let printed = 0;
  for (const { info, table } of tables) {
    if (table.rows.length === 0) continue;
    const { header, rows } = tableCells(table, {
      wide,
      withNamespace: all && info.namespaced,
      showLabels: opts.showLabels === true,
      ...(kindPrefix ? { kindPrefix: `${info.singular}${info.group ? `.${info.group}` : ""}` } : {}),
    });
    const lines = alignColumns(opts.headers === false ? rows : [header, ...rows]);
    if (printed > 0) process.stdout.write("\n");
    process.stdout.write(`${lines.join("\n")}\n`);
    printed++;
  }
  if (printed === 0 && missing.length === 0) noResources(ctx, [...distinctKinds][0], all);
  for (const err of missing) process.stderr.write(`Error: ${err.message}\n`);
  if (missing.length > 0) process.exitCode = 1;
}

/** Prints the current state, then one line (or object) per event until Ctrl-C. */
async function watch(ctx: KubeCommandContext, info: ResourceInfo, name: string | undefined, sel: Selectors, opts: GetOptions): Promise<void> {
  const all = opts.allNamespaces ?? false;
  const namespace = all ? undefined : nsFor(info, ctx.namespace);
  const fieldSelector = [sel.fieldSelector, name ? `metadata.name=${name}` : undefined].filter(Boolean).join(",");
  const watchSel: Selectors = { ...(sel.labelSelector ? { labelSelector: sel.labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) };
  const tableMode = ctx.output === "table" || ctx.output === "wide";
  const wide = ctx.output === "wide";
  const withNamespace = all && info.namespaced;
  let widths: number[] = [];
  let headerPrinted = false;
  const lastRows = new Map<string, string[]>();
  const keyOf = (m: { namespace?: string; name?: string } | undefined) => `${m?.namespace ?? ""}/${m?.name ?? ""}`;

  const printRows = (table: Table) => {
    const { header, rows } = tableCells(table, { wide, withNamespace, showLabels: opts.showLabels === true });
    if (!headerPrinted) {
      widths = columnWidths([header, ...rows]);
      if (opts.headers !== false) process.stdout.write(`${padRow(header, widths)}\n`);
      headerPrinted = true;
    }
    rows.forEach((row, i) => {
      lastRows.set(keyOf(table.rows[i]?.object?.metadata), row);
      process.stdout.write(`${padRow(row, widths)}\n`);
    });
  };

  // One list gives the starting state and the resourceVersion to watch from,
  // so no event between the two is lost or printed twice.
  let resourceVersion = "";
  if (tableMode) {
    const table = await fetchTable(ctx.client, info, namespace, undefined, watchSel);
    if (name && table.rows.length === 0 && !opts.watchOnly) throw notFoundError(info, name);
    resourceVersion = table.metadata?.resourceVersion ?? "";
    if (!opts.watchOnly && table.rows.length > 0) printRows(table);
  }
  if (!resourceVersion) {
    const list = await ctx.client.list(info, { ...(namespace ? { namespace } : {}), ...watchSel });
    resourceVersion = list.metadata.resourceVersion ?? "";
    if (!tableMode && !opts.watchOnly) for (const obj of list.items) printEvent(ctx.output, info, obj, ctx.jsonpath);
  }

  const onEvent = async (ev: WatchEvent) => {
    const obj = ev.object;
    if (ev.type === "BOOKMARK") return;
    if (!tableMode) return printEvent(ctx.output, info, obj, ctx.jsonpath);
    // The server rendered the event's object as a Table row: print it as it was then.
    if (isTable(obj)) {
      if (obj.rows.length > 0) printRows(obj);
      return;
    }
    const key = keyOf(obj.metadata);
    if (ev.type === "DELETED") {
      const row = lastRows.get(key);
      if (row) process.stdout.write(`${padRow(row, widths)}\n`);
      lastRows.delete(key);
      return;
    }
    try {
      const one = await fetchTable(ctx.client, info, obj.metadata.namespace, obj.metadata.name);
      printRows(one);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  let stopped = false;
  let current: { stop(): void } | null = null;
  const onSigint = () => {
    stopped = true;
    current?.stop();
  };
  process.once("SIGINT", onSigint);
  process.once("SIGTERM", onSigint);
  try {
    while (!stopped) {
      // Events are printed in order: each waits for the one before it.
      let chain: Promise<void> = Promise.resolve();
      let failure: unknown = null;
      const handle = ctx.client.watch(info, { ...(namespace ? { namespace } : {}), ...watchSel, resourceVersion, ...(tableMode ? { accept: TABLE_ACCEPT } : {}) }, (ev) => {
        if (ev.object?.metadata?.resourceVersion) resourceVersion = ev.object.metadata.resourceVersion;
        chain = chain.then(() => onEvent(ev)).catch((err: unknown) => {
          failure = err;
          handle.stop();
        });
      });
      current = handle;
      const end = await handle.done;
      await chain;
      if (failure) throw failure;
      if (stopped) break;
      if (end instanceof KubeApiError && end.gone) throw new UserError(`watch expired (resourceVersion ${resourceVersion} is too old); run get -w again`);
      if (end instanceof KubeApiError && end.code >= 400 && end.code < 500) throw end;
      // A clean end (server timeout) or a lost master: resume where we were.
      await new Promise((r) => setTimeout(r, end ? 500 : 0));
    }
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
}

function printEvent(format: OutputFormat, info: ResourceInfo, obj: KubeObject, jsonpath?: string): void {
  const o = typed(info, obj);
  if (format === "jsonpath") process.stdout.write(renderJsonPath(jsonpath ?? "", o));
  else if (format === "name") process.stdout.write(`${objectName(info, obj.metadata.name ?? "")}\n`);
  else if (format === "json") process.stdout.write(kubectlJson(o));
  else process.stdout.write(`---\n${kubectlYaml(o)}`);
}

export function registerGet(program: Command): void {
  program
    .command("get")
    .description("list objects: KIND[,KIND...] [NAME...] or KIND/NAME")
    .argument("<resources...>", "kind(s) and optional names")
    .option("-l, --selector <selector>", "label selector (e.g. app=web,tier!=db)")
    .option("--field-selector <selector>", "field selector (e.g. status.phase=Running)")
    .option("-A, --all-namespaces", "list across all namespaces")
    .option("-w, --watch", "after listing, watch for changes")
    .option("--watch-only", "watch for changes without listing first")
    .option("--show-kind", "print the kind with each name")
    .option("--show-labels", "add a LABELS column")
    .option("--no-headers", "leave out the header line")
    .action((args: string[], opts: GetOptions) => runKube(program, (ctx) => get(ctx, args, opts)));
}
