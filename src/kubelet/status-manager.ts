// Pushes pod status to the API (pods/status) only when it changed, the
// kubelet's status_manager in small. Remembers what it pushed so an informer
// that lags behind its own write does not cause a second push.

import type { Logger } from "pino";
import type { Pod, PodStatus } from "../api/types.js";
import { KubeApiError, type KubeClient } from "../client/kube-client.js";
import { sameStatus } from "./pod-status.js";

export class StatusManager {
  private readonly pushed = new Map<string, PodStatus>();
  /** Statuses by uid as last computed, for /pods. */
  readonly latest = new Map<string, PodStatus>();

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
  ) {}

  async push(pod: Pod, status: PodStatus): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    this.latest.set(uid, status);
    const last = this.pushed.get(uid);
    if (last && sameStatus(last, status)) return;
    if (!last && sameStatus(pod.status, status)) {
      this.pushed.set(uid, status);
      return;
    }
    try {
      await this.client.patch("pods", pod.metadata.namespace, pod.metadata.name ?? "", { status }, "merge", { subresource: "status" });
      this.pushed.set(uid, status);
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return; // deleted meanwhile
      if (err instanceof KubeApiError && (err.code === 405 || err.code === 415)) {
        // A server without merge patch on status: replace it.
        await this.client.update("pods", { ...pod, status }, { subresource: "status" });
        this.pushed.set(uid, status);
        return;
      }
      this.log.warn({ err: (err as Error).message, pod: `${pod.metadata.namespace}/${pod.metadata.name}` }, "status update failed; will retry on next sync");
      throw err;
    }
  }

  forget(uid: string): void {
    this.pushed.delete(uid);
    this.latest.delete(uid);
  }
}
