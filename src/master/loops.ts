// Which loops run on the Raft leader only, and how each is started from the
// leader's fenced API client (see leader-loops.ts).

import type { ClusterConfig } from "../config/index.js";
import { startControllers } from "../controllers/index.js";
import { startHpaController } from "../controllers/hpa/controller.js";
import { startNodeLifecycleController } from "../controllers/node-lifecycle/index.js";
import { startScheduler } from "../scheduler/index.js";
import { defaultSchedulerPlacer, flowSchedulerOptions } from "../scheduler/flow/select.js";
import type { LeaderLoopStarter } from "./leader-loops.js";

export function leaderLoopStarters(config: ClusterConfig): LeaderLoopStarter[] {
  return [
    { name: "scheduler", start: ({ client, logger }) => startScheduler({ client, logger, ...defaultSchedulerPlacer(config.scheduler, logger) }) },
    // Pods with spec.schedulerName "flow-scheduler" (config scheduler.flowSchedulerName): batches by min-cost flow (issue 12).
    ...flowSchedulerStarters(config),
    { name: "controllers", start: ({ client, logger }) => startControllers({ client, logger }) },
    { name: "node-lifecycle", start: ({ client, logger }) => startNodeLifecycleController({ client, logger, settings: config.nodeLifecycle }) },
    {
      name: "horizontal-pod-autoscaler",
      start: ({ client, logger }) => startHpaController({ client, logger, syncPeriodMs: config.autoscaling.syncPeriodSeconds * 1000 }),
    },
  ];
}

function flowSchedulerStarters(config: ClusterConfig): LeaderLoopStarter[] {
  const name = flowSchedulerOptions(config.scheduler)?.schedulerName;
  if (!name) return [];
  return [{ name, start: ({ client, logger }) => startScheduler({ client, logger, ...flowSchedulerOptions(config.scheduler, logger)! }) }];
}
