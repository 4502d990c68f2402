#!/usr/bin/env node
// `pinsetter`: runs the cluster's processes.
//   pinsetter up                    every master (and node) of the config, with a live status
//   pinsetter master --name m1      one master
//   pinsetter node --name w1        one worker

import { Command } from "commander";
import { loadClusterConfig } from "../config/index.js";
import { createLogger } from "../master/logging.js";
import { Master, PINSETTER_VERSION } from "../master/master.js";
import { runAction } from "./errors.js";
import { runUp } from "./up.js";

const program = new Command();
program
  .name("pinsetter")
  .description("Pinsetter: a container orchestrator with its own Raft")
  .version(PINSETTER_VERSION)
  .option("--config <file>", "cluster config (default: $PINSETTER_CONFIG or ./cluster.config.json)");

program
  .command("up")
  .description("start every master and node of the config on this machine; Ctrl-C stops them all")
  .option("--no-live", "print status changes as lines instead of a live table")
  .action((opts: { live: boolean }) =>
    runAction(async () => {
      const config = loadClusterConfig({ path: program.opts().config });
      await runUp(config, { live: opts.live && process.stdout.isTTY === true });
    }),
  );

program
  .command("master")
  .description("run one master (starts a new cluster member or restarts one from its data dir)")
  .requiredOption("--name <name>", "the master's name in the config")
  .option("--log-file <file>", "write logs to this file instead of stderr")
  .option("--log-level <level>", "pino level (default info)")
  .action((opts: { name: string; logFile?: string; logLevel?: string }) =>
    runAction(async () => {
      const config = loadClusterConfig({ path: program.opts().config });
      const logger = createLogger({ level: opts.logLevel, file: opts.logFile ?? null, base: { pid: process.pid } });
      const master = await Master.start(config, opts.name, logger);
      master.onRemoved = () => {
        process.stderr.write(`${opts.name} was removed from the cluster; exiting\n`);
        process.exit(0);
      };
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, "stopping master");
        void master.stop().then(
          () => process.exit(0),
          (err: Error) => {
            logger.error({ err }, "error while stopping");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    }),
  );

program
  .command("node")
  .description("run one worker node (kubelet + service proxy), or N hollow nodes (sim runtime) with --hollow")
  .option("--name <name>", "the node's name in the config")
  .option("--hollow <n>", "run N hollow nodes (sim runtime) named <prefix>-0 .. <prefix>-<N-1>")
  .option("--prefix <prefix>", "name prefix of hollow nodes", "hollow")
  .option("--port-base <port>", "hollow node i serves its kubelet HTTP on 127.0.0.1:<port-base + i>", "20000")
  .option("--sim-start-delay-ms <ms>", "sim runtime: how long a container takes to start")
  .option("--lease-renew-ms <ms>", "renew each node's Lease this often (default: config nodeLifecycle.leaseRenewIntervalSeconds)")
  .option("--log-file <file>", "write logs to this file instead of stderr")
  .option("--log-level <level>", "pino level (default info)")
  .action((opts: { name?: string; hollow?: string; prefix: string; portBase: string; simStartDelayMs?: string; leaseRenewMs?: string; logFile?: string; logLevel?: string }) =>
    runAction(async () => {
      const config = loadClusterConfig({ path: program.opts().config });
      const logger = createLogger({ level: opts.logLevel, file: opts.logFile ?? null, base: { pid: process.pid } });
      const { runNodeProcess } = await import("../kubelet/node-command.js");
      await runNodeProcess(config, opts, logger);
    }),
  );

await program.parseAsync(process.argv);
