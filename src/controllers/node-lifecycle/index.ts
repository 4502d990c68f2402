// The node lifecycle controller's public surface. The master starts it on
// the Raft leader only and stops it when leadership is lost.

import type { Logger } from "pino";
import type { KubeClient } from "../../client/kube-client.js";
import type { NodeLifecycleSettings } from "../../config/types.js";
import { NodeLifecycleController } from "./controller.js";

export function startNodeLifecycleController(opts: { client: KubeClient; logger: Logger; settings: NodeLifecycleSettings }): { stop(): Promise<void> } {
  const c = new NodeLifecycleController(opts);
  const started = c.start().catch((err: unknown) => opts.logger.error({ err, component: "node-lifecycle" }, "node lifecycle controller failed to start"));
  return {
    async stop() {
      await c.stop();
      await started;
    },
  };
}

export { NodeLifecycleController, type NodeLifecycleOptions, type Clock } from "./controller.js";
export * from "./decisions.js";
export type { NodeLifecycleSettings } from "../../config/types.js";
