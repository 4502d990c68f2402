// Where a kubelet learns of the pods bound to its node. A real node watches
// them itself (an Informer with fieldSelector spec.nodeName=<node>). Hollow
// nodes in one process share one watch of all pods, split by spec.nodeName
// (SharedPodSource), so 1,000 hollow nodes cost the API server one watch, not
// 1,000: the scale tests measure the control plane, not our fan-out.

import type { Pod } from "../api/types.js";
import type { KubeClient } from "../client/kube-client.js";
import { Informer, objectKey, type InformerHandlers } from "../client/informer.js";

/** The subset of Informer<Pod> a kubelet uses. */
export interface PodSource {
  start(): unknown;
  stop(): void;
  readonly hasSynced: boolean;
  waitForSync(): Promise<void>;
  get(key: string): Pod | undefined;
  list(): Pod[];
  addHandlers(h: InformerHandlers<Pod>): unknown;
}

/** The pods of one node, out of a shared watch. */
class NodePods implements PodSource {
  readonly cache = new Map<string, Pod>();
  readonly handlers: InformerHandlers<Pod>[] = [];

  constructor(private readonly shared: SharedPodSource) {}

  start(): void {}
  stop(): void {}
  get hasSynced(): boolean {
    return this.shared.informer.hasSynced;
  }
  waitForSync(): Promise<void> {
    return this.shared.informer.waitForSync();
  }
  get(key: string): Pod | undefined {
    return this.cache.get(key);
  }
  list(): Pod[] {
    return [...this.cache.values()];
  }
  addHandlers(h: InformerHandlers<Pod>): void {
    this.handlers.push(h);
  }
}

export class SharedPodSource {
  readonly informer: Informer<Pod>;
  private readonly nodes = new Map<string, NodePods>();

  constructor(client: KubeClient, onError?: (err: Error) => void) {
    // Same idle limit as a node's own watch (kubelet.ts WATCH_IDLE_TIMEOUT_MS).
    this.informer = new Informer<Pod>(client, "pods", { idleTimeoutMs: 35_000, ...(onError ? { onError } : {}) });
    this.informer.addHandlers({
      onAdd: (pod) => this.route(undefined, pod),
      onUpdate: (old, pod) => this.route(old, pod),
      onDelete: (pod) => {
        const view = this.nodes.get(pod.spec?.nodeName ?? "");
        if (!view) return;
        const key = objectKey(pod);
        const last = view.cache.get(key) ?? pod;
        view.cache.delete(key);
        for (const h of view.handlers) h.onDelete?.(last);
      },
    });
  }

  /** The pod source of node `name` (register every node before start()). */
  forNode(name: string): PodSource {
    let v = this.nodes.get(name);
    if (!v) {
      v = new NodePods(this);
      this.nodes.set(name, v);
    }
    return v;
  }

  start(): void {
    this.informer.start();
  }

  stop(): void {
    this.informer.stop();
  }

  private route(old: Pod | undefined, pod: Pod): void {
    const prevNode = old?.spec?.nodeName ?? "";
    const node = pod.spec?.nodeName ?? "";
    const key = objectKey(pod);
    // nodeName only ever goes from unset to set, but be safe if it moves.
    if (prevNode && prevNode !== node) {
      const was = this.nodes.get(prevNode);
      const last = was?.cache.get(key);
      if (was && last) {
        was.cache.delete(key);
        for (const h of was.handlers) h.onDelete?.(last);
      }
    }
    const view = this.nodes.get(node);
    if (!view) return;
    const before = view.cache.get(key);
    view.cache.set(key, pod);
    for (const h of view.handlers) {
      if (before) h.onUpdate?.(before, pod);
      else h.onAdd?.(pod);
    }
  }
}
