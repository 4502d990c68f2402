// Events of the scheduler and the node controller, addressed by an
// ObjectReference: a thin face on the shared recorder
// (src/client/event-recorder.ts), which aggregates repeats into count and
// lastTimestamp, rate-limits per object and writes in the background.

import type { Logger } from "pino";
import type { KubeObject, ObjectReference } from "../api/types.js";
import { EventRecorder as SharedRecorder } from "../client/event-recorder.js";
import type { KubeClient } from "../client/kube-client.js";

export type EventType = "Normal" | "Warning";

export interface Recorder {
  event(ref: ObjectReference, type: EventType, reason: string, message: string): void;
}

/** metav1.Time: RFC 3339 in whole seconds. */
export function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class EventRecorder implements Recorder {
  private readonly shared: SharedRecorder;

  constructor(client: KubeClient, component: string, logger: Logger, opts: { host?: string; maxPending?: number; now?: () => number } = {}) {
    this.shared = new SharedRecorder(client, component, opts.host, {
      ...(opts.maxPending !== undefined ? { maxPending: opts.maxPending } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      onError: (err) => logger.debug({ err: err.message, component }, "event write failed"),
    });
  }

  event(ref: ObjectReference, type: EventType, reason: string, message: string): void {
    const obj: KubeObject = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { namespace: ref.namespace, name: ref.name, uid: ref.uid, resourceVersion: ref.resourceVersion },
    };
    this.shared.event(obj, type, reason, message);
  }

  /** Stops recording; writes still queued are given a moment. */
  close(): void {
    void this.shared.close(500);
  }
}

/** An ObjectReference to a stored object. */
export function refTo(obj: { apiVersion?: string; kind?: string; metadata: { namespace?: string; name?: string; uid?: string; resourceVersion?: string } }, kind: string, apiVersion = "v1"): ObjectReference {
  return {
    apiVersion: obj.apiVersion ?? apiVersion,
    kind: obj.kind ?? kind,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    resourceVersion: obj.metadata.resourceVersion,
  };
}
