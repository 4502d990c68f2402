// The controllers that run on the Raft leader master: ReplicaSet, Deployment,
// Endpoints, GarbageCollector and Namespace, over one set of shared informers.
// The master starts them when it becomes leader (with a fenced client, so a
// deposed leader's writes are refused) and stops them when it loses leadership.

import type { Logger } from "pino";
import { EventRecorder } from "../client/event-recorder.js";
import type { KubeClient } from "../client/kube-client.js";
import { DeploymentController } from "./deployment/controller.js";
import { EndpointsController } from "./endpoints/controller.js";
import { SharedInformers } from "./framework/informers.js";
import { GarbageCollector } from "./garbage-collector/controller.js";
import { NamespaceController } from "./namespace/controller.js";
import { ReplicaSetController } from "./replicaset/controller.js";

export interface StartControllersOptions {
  client: KubeClient;
  logger: Logger;
  /** Reported as the Events' source host (the master's name). */
  host?: string;
}

export interface RunningControllers {
  stop(): Promise<void>;
}

export function startControllers(opts: StartControllersOptions): RunningControllers {
  const logger = opts.logger.child({ component: "controllers" });
  const informers = new SharedInformers(opts.client, logger);
  const recorder = new EventRecorder(opts.client, "controller-manager", opts.host, {
    onError: (err) => logger.debug({ err: err.message }, "event not recorded"),
  });
  const deploymentRecorder = new EventRecorder(opts.client, "deployment-controller", opts.host, {
    onError: (err) => logger.debug({ err: err.message }, "event not recorded"),
  });
  const controllers = [
    new ReplicaSetController({ client: opts.client, informers, logger, recorder }),
    new DeploymentController({ client: opts.client, informers, logger, recorder: deploymentRecorder }),
    new EndpointsController({ client: opts.client, informers, logger }),
    new GarbageCollector({ client: opts.client, informers, logger }),
    new NamespaceController({ client: opts.client, informers, logger }),
  ];
  informers.start();
  let stopped = false;
  for (const c of controllers) {
    void c.start().catch((err: Error) => logger.error({ err: err.message }, "controller failed to start"));
  }
  logger.info("controllers started");
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      // Stop the caches first so no new work arrives, then let workers finish their item.
      informers.stop();
      await Promise.all(controllers.map((c) => c.stop()));
      await Promise.all([recorder.close(500), deploymentRecorder.close(500)]);
      logger.info("controllers stopped");
    },
  };
}
