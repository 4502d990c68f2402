#!/usr/bin/env node
// `pinctl`: the Pinsetter client, kubectl-like.

import { Command } from "commander";
import { PINSETTER_VERSION } from "../version.js";
import { registerCluster } from "./pinctl/cluster.js";
import { registerKv } from "./pinctl/kv.js";
import { registerApply } from "./pinctl/apply.js";
import { registerAutoscale } from "./pinctl/autoscale.js";
import { registerDelete } from "./pinctl/delete.js";
import { registerDescribe } from "./pinctl/describe.js";
import { registerEdit } from "./pinctl/edit.js";
import { registerMetadata } from "./pinctl/metadata.js";
import { registerNodes } from "./pinctl/nodes.js";
import { registerGet } from "./pinctl/get.js";
import { registerConfig } from "./pinctl/kubeconfig.js";
import { registerLogs } from "./pinctl/logs.js";
import { registerRollout } from "./pinctl/rollout.js";
import { registerScale } from "./pinctl/scale.js";
import { registerTop } from "./pinctl/top.js";

// `pinctl get ... | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const program = new Command();
program
  .name("pinctl")
  .description("command-line client for a Pinsetter cluster")
  .version(PINSETTER_VERSION)
  .option("--server <url>", "a master's URL (default: the config's masters, tried in turn)")
  .option("--config <file>", "cluster config (default: $PINSETTER_CONFIG or ./cluster.config.json)")
  .option("-n, --namespace <namespace>", "namespace", "default")
  .option("-o, --output <format>", "table|wide|json|yaml|name", "table")
  .option("--token <token>", "bearer token (default: the config's token or $PINSETTER_TOKEN)")
  // Usage errors too are one line, "Error: ...", with a pointer to --help (inherited by every subcommand).
  .configureOutput({
    outputError: (str, write) => write(`Error: ${str.trim().replace(/^error:\s*/i, "").split("\n")[0]} (see --help)\n`),
  });

registerCluster(program);
registerKv(program);
registerApply(program);
registerGet(program);
registerDescribe(program);
registerEdit(program);
registerMetadata(program);
registerNodes(program);
registerDelete(program);
registerScale(program);
registerRollout(program);
registerLogs(program);
registerAutoscale(program);
registerConfig(program);
registerTop(program);

program.exitOverride((err) => {
  // commander already printed its one-line message (unknown command, missing argument).
  process.exit(err.exitCode === 0 ? 0 : 1);
});

await program.parseAsync(process.argv);
