// pinctl kv get|put|del|watch: a client of the masters' store (clientPort).

import type { Command } from "commander";
import type { KeyValue } from "../../client/etcd-client.js";
import { runAction } from "../errors.js";
import { resolveContext, storeClient, type GlobalOptions } from "./context.js";

function kvJson(kv: KeyValue) {
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease };
}

export function registerKv(program: Command): void {
  const kv = program.command("kv").description("read and write the replicated store directly");
  const globals = () => program.opts<GlobalOptions>();

  kv.command("get <key>")
    .description("print a key's value (or every key under a prefix)")
    .option("--prefix", "treat KEY as a prefix")
    .option("--rev <revision>", "read at a past revision")
    .option("--serializable", "read this master's local state (may be stale)")
    .action((key: string, opts: { prefix?: boolean; rev?: string; serializable?: boolean }) =>
      runAction(async () => {
        const ctx = resolveContext(globals());
        const client = storeClient(ctx);
        try {
          const r = await client.range(key, {
            ...(opts.prefix ? { prefix: true } : {}),
            ...(opts.rev ? { revision: Number(opts.rev) } : {}),
            ...(opts.serializable ? { serializable: true } : {}),
          });
          if (ctx.output === "json") {
            process.stdout.write(`${JSON.stringify({ revision: r.header.revision, kvs: r.kvs.map(kvJson) }, null, 2)}\n`);
            return;
          }
          if (!opts.prefix && r.kvs.length === 0) {
            process.stderr.write(`error: key "${key}" not found\n`);
            process.exitCode = 1;
            return;
          }
          for (const item of r.kvs) {
            if (opts.prefix) process.stdout.write(`${item.key}\n`);
            process.stdout.write(`${item.value}\n`);
          }
        } finally {
          client.close();
        }
      }),
    );

  kv.command("put <key> <value>")
    .description("write a key")
    .action((key: string, value: string) =>
      runAction(async () => {
        const ctx = resolveContext(globals());
        const client = storeClient(ctx);
        try {
          const r = await client.put(key, value);
          if (ctx.output === "json") process.stdout.write(`${JSON.stringify({ revision: r.revision })}\n`);
          else process.stdout.write(`OK (revision ${r.revision})\n`);
        } finally {
          client.close();
        }
      }),
    );

  kv.command("del <key>")
    .description("delete a key (or every key under a prefix)")
    .option("--prefix", "treat KEY as a prefix")
    .action((key: string, opts: { prefix?: boolean }) =>
      runAction(async () => {
        const ctx = resolveContext(globals());
        const client = storeClient(ctx);
        try {
          const deleted = await client.del(key, { prefix: opts.prefix ?? false });
          if (ctx.output === "json") process.stdout.write(`${JSON.stringify({ deleted })}\n`);
          else process.stdout.write(`${deleted}\n`);
        } finally {
          client.close();
        }
      }),
    );

  kv.command("watch <key>")
    .description("print every change to a key (or prefix) until Ctrl-C")
    .option("--prefix", "treat KEY as a prefix")
    .option("--rev <revision>", "start from this revision (replays history)")
    .action((key: string, opts: { prefix?: boolean; rev?: string }) =>
      runAction(async () => {
        const ctx = resolveContext(globals());
        const client = storeClient(ctx, 0);
        let next = opts.rev ? Number(opts.rev) : 0;
        const stop = new Promise<void>((resolve) => process.once("SIGINT", resolve));
        let stopped = false;
        void stop.then(() => {
          stopped = true;
        });
        // Resume from the next revision after any interruption (leader change,
        // master restart): no gap, no duplicate.
        while (!stopped) {
          const watcher = client.watch(key, { prefix: opts.prefix ?? false, ...(next > 0 ? { startRevision: next } : {}) }, (ev) => {
            next = ev.kv.modRevision + 1;
            if (ctx.output === "json") process.stdout.write(`${JSON.stringify({ type: ev.type, ...kvJson(ev.kv) })}\n`);
            else process.stdout.write(`${ev.type}\n${ev.kv.key}\n${ev.type === "PUT" ? `${ev.kv.value}\n` : ""}`);
          });
          const end = await Promise.race([watcher.done, stop.then(() => null)]);
          if (end === null) {
            watcher.cancel();
            break;
          }
          if (end.reason === "compacted") {
            throw new Error(`watch revision ${next} has been compacted (oldest available: ${end.compactRevision})`);
          }
          next = Math.max(next, end.nextRevision);
          await new Promise((r) => setTimeout(r, 300));
        }
        client.close();
      }),
    );
}
