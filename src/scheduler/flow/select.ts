// Which placer a scheduler runs, from the cluster config's `scheduler`
// section (issue 12): the default scheduler greedy or flow (a pod alone goes
// greedy either way), and a second scheduler for pods that ask for the flow
// placer by spec.schedulerName (default "flow-scheduler").

import type { Logger } from "pino";
import type { SchedulerSettings } from "../../config/types.js";
import type { Framework } from "../framework.js";
import type { Placer } from "../placer.js";
import { FlowPlacer } from "./flow-placer.js";

export const FLOW_SCHEDULER_NAME = "flow-scheduler";

/** The `placer` option of startScheduler for the default scheduler; {} keeps greedy. */
export function defaultSchedulerPlacer(settings: SchedulerSettings | undefined, logger?: Logger): { placer?: (fw: Framework) => Placer } {
  if (settings?.placer !== "flow") return {};
  return { placer: (fw) => new FlowPlacer(fw, { maxBatch: settings.batchSize, ...(logger ? { logger } : {}) }) };
}

/** startScheduler options for the flow scheduler, or null when the config turns it off. */
export function flowSchedulerOptions(
  settings: SchedulerSettings | undefined,
  logger?: Logger,
): { schedulerName: string; placer: (fw: Framework) => Placer } | null {
  const name = settings === undefined ? FLOW_SCHEDULER_NAME : settings.flowSchedulerName;
  if (!name) return null;
  const batchSize = settings?.batchSize ?? 1000;
  return { schedulerName: name, placer: (fw) => new FlowPlacer(fw, { maxBatch: batchSize, ...(logger ? { logger } : {}) }) };
}
