// The scheduler's public surface. The master starts it on the Raft leader
// only (startScheduler) and stops it when leadership is lost.

import type { Logger } from "pino";
import type { KubeClient } from "../client/kube-client.js";
import { Scheduler, type SchedulerOptions } from "./scheduler.js";

export interface RunningScheduler {
  stop(): Promise<void>;
}

/** Starts the loop; `opts` may also pick a profile or a placer (SchedulerOptions), e.g. a batch placer. */
export function startScheduler(opts: { client: KubeClient; logger: Logger; schedulerName?: string } & Partial<SchedulerOptions>): RunningScheduler {
  const s = new Scheduler(opts);
  const started = s.start().catch((err: unknown) => opts.logger.error({ err, component: "scheduler" }, "scheduler failed to start"));
  return {
    async stop() {
      await s.stop();
      await started;
    },
  };
}

export { Scheduler, DEFAULT_SCHEDULER_NAME, type SchedulerOptions } from "./scheduler.js";
export { Framework, FitError, defaultNormalize, type Profile, type Plugin, type FilterPlugin, type ScorePlugin, type PreFilterPlugin, type PreScorePlugin } from "./framework.js";
export { GreedyPlacer, evaluate, numFeasibleNodesToFind, type Placer, type Placement } from "./placer.js";
export { SchedulerCache } from "./cache.js";
export { SchedulingQueue } from "./queue.js";
export { EventRecorder, refTo, metaTime, type Recorder } from "./events.js";
export { defaultProfile } from "./plugins/index.js";
export * from "./types.js";
