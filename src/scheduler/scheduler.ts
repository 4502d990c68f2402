// The scheduler loop (kube-scheduler's scheduleOne): pods of our
// schedulerName without a node come through the queue; the placer picks a
// node on the cache; the pod is assumed there at once and bound through
// POST pods/{name}/binding in the background. A pod that fits nowhere gets
// PodScheduled=False/Unschedulable with kube-scheduler's message and a
// FailedScheduling event, and waits for a change in the cluster.

import type { Logger } from "pino";
import type { Binding, Condition, Node, Pod } from "../api/types.js";
import { Informer } from "../client/informer.js";
import { KubeApiError, type KubeClient } from "../client/kube-client.js";
import { EventRecorder, metaTime, refTo, type Recorder } from "./events.js";
import { Framework, type Profile } from "./framework.js";
import { defaultProfile } from "./plugins/index.js";
import { GreedyPlacer, type Placement, type Placer } from "./placer.js";
import { SchedulerCache } from "./cache.js";
import { SchedulingQueue, type QueueOptions } from "./queue.js";
import { newPodInfo, podKey, type PodInfo } from "./types.js";

export const DEFAULT_SCHEDULER_NAME = "default-scheduler";

/** Plugins whose verdict another pod's placement can change. */
const PLACEMENT_SENSITIVE = ["InterPodAffinity", "PodTopologySpread"];

export interface SchedulerOptions {
  client: KubeClient;
  logger: Logger;
  schedulerName?: string;
  profile?: Profile;
  /** Builds the placer on the framework; greedy by default. */
  placer?: (fw: Framework) => Placer;
  queue?: QueueOptions;
  recorder?: Recorder;
  /** Bindings in flight at most (more pods wait in the queue). */
  maxInflightBindings?: number;
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

function nodeChangeMatters(a: Node, b: Node): boolean {
  // Heartbeat-only status updates change nothing a filter reads.
  const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === "Ready")?.status;
  return (
    JSON.stringify(a.status?.allocatable) !== JSON.stringify(b.status?.allocatable) ||
    JSON.stringify(a.metadata.labels) !== JSON.stringify(b.metadata.labels) ||
    JSON.stringify(a.spec?.taints) !== JSON.stringify(b.spec?.taints) ||
    a.spec?.unschedulable !== b.spec?.unschedulable ||
    ready(a) !== ready(b)
  );
}

export class Scheduler {
  readonly schedulerName: string;
  readonly framework: Framework;
  readonly placer: Placer;
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly recorder: Recorder;
  private readonly ownRecorder: EventRecorder | null = null;
  private readonly log: Logger;
  private running = false;
  private loop: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private signalStop!: () => void;
  private readonly stopped = new Promise<void>((r) => (this.signalStop = r));
  private readonly binds = new Set<Promise<void>>();
  private bindSlotWaiters: (() => void)[] = [];

  constructor(private readonly opts: SchedulerOptions) {
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.log = opts.logger.child({ component: "scheduler" });
    this.framework = new Framework(opts.profile ?? defaultProfile());
    this.placer = opts.placer ? opts.placer(this.framework) : new GreedyPlacer(this.framework);
    this.queue = new SchedulingQueue(opts.queue);
    if (opts.recorder) this.recorder = opts.recorder;
    else {
      this.ownRecorder = new EventRecorder(opts.client, this.schedulerName, this.log);
      this.recorder = this.ownRecorder;
    }
    const onError = (what: string) => (err: Error) => this.log.warn({ err: err.message }, `${what} watch failed; retrying`);
    this.pods = new Informer<Pod>(opts.client, "pods", { onError: onError("pods") });
    this.nodes = new Informer<Node>(opts.client, "nodes", { onError: onError("nodes") });
    this.nodes.addHandlers({
      onAdd: (n) => {
        this.cache.upsertNode(n);
        this.queue.moveAllToActiveOrBackoff();
      },
      onUpdate: (o, n) => {
        this.cache.upsertNode(n);
        if (nodeChangeMatters(o, n)) this.queue.moveAllToActiveOrBackoff();
      },
      onDelete: (n) => this.cache.removeNode(n.metadata.name ?? ""),
    });
    this.pods.addHandlers({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (o, p) => this.podChanged(p, JSON.stringify(o.spec) !== JSON.stringify(p.spec) || JSON.stringify(o.metadata.labels) !== JSON.stringify(p.metadata.labels)),
      onDelete: (p) => this.podDeleted(p),
    });
  }

  private responsibleFor(pod: Pod): boolean {
    return (pod.spec.schedulerName || DEFAULT_SCHEDULER_NAME) === this.schedulerName;
  }

  private podChanged(pod: Pod, specChanged = true): void {
    const key = podKey(pod);
    if (pod.spec.nodeName) {
      const placedNow = this.cache.podNode(key) === undefined || this.cache.isAssumed(key);
      this.queue.delete(key);
      this.cache.upsertBoundPod(pod);
      // A pod newly placed may satisfy a waiting pod's affinity or spreading.
      if (placedNow) this.queue.moveRejectedBy(PLACEMENT_SENSITIVE);
      return;
    }
    if (pod.metadata.deletionTimestamp || isTerminal(pod) || !this.responsibleFor(pod)) {
      this.queue.delete(key);
      return;
    }
    // Still pending. If we assumed it, our binding is in flight: leave it be.
    if (this.cache.isAssumed(key)) return;
    this.queue.addOrUpdate(newPodInfo(pod), specChanged);
  }

  private podDeleted(pod: Pod): void {
    const key = podKey(pod);
    this.queue.delete(key);
    if (this.cache.podNode(key) !== undefined) {
      this.cache.removePod(key);
      // Freed room may let a waiting pod fit.
      this.queue.moveAllToActiveOrBackoff();
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.nodes.start();
    this.pods.start();
    this.timer = setInterval(() => {
      for (const key of this.cache.expireAssumed()) {
        this.log.warn({ pod: key }, "assumed pod expired: its binding never showed up");
        const pod = this.pods.get(key);
        if (pod) this.podChanged(pod);
      }
      this.queue.flush();
    }, 500);
    // Nodes first: pods scheduled before nodes are known would fail for nothing.
    await Promise.race([Promise.all([this.nodes.waitForSync(), this.pods.waitForSync()]), this.stopped]);
    if (!this.running) return;
    this.log.info({ nodes: this.cache.nodeCount, schedulerName: this.schedulerName, placer: this.placer.name }, "scheduler started");
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.signalStop();
    this.queue.close();
    this.pods.stop();
    this.nodes.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.bindSlotWaiters.splice(0)) w();
    await this.loop;
    // Bindings in flight end on their own (the client times out); do not wait long.
    await Promise.race([Promise.allSettled([...this.binds]), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.ownRecorder?.close();
  }

  private async run(): Promise<void> {
    let sinceYield = Date.now();
    while (this.running) {
      await this.waitForBindSlot();
      if (!this.running) break;
      const first = await this.queue.pop();
      if (!first || !this.running) break;
      // A batch placer takes every pod ready now (up to its maxBatch); greedy takes one.
      const batch = [first];
      const max = this.placer.maxBatch ?? 1;
      while (batch.length < max) {
        const more = this.queue.popNow();
        if (!more) break;
        batch.push(more);
      }
      try {
        this.scheduleBatch(batch);
      } catch (err) {
        this.log.error({ err, pods: batch.map((p) => p.key) }, "scheduling cycle failed");
        for (const p of batch) if (!this.cache.isAssumed(p.key)) this.queue.requeueBackoff(p.key);
      }
      // pop() resolves on microtasks while pods are ready; let watches and replies in.
      if (Date.now() - sinceYield > 10) {
        await new Promise((r) => setImmediate(r));
        sinceYield = Date.now();
      }
    }
  }

  private waitForBindSlot(): Promise<void> {
    if (this.binds.size < (this.opts.maxInflightBindings ?? 256)) return Promise.resolve();
    return new Promise((r) => this.bindSlotWaiters.push(r));
  }

  private scheduleBatch(popped: PodInfo[]): void {
    const pods: PodInfo[] = [];
    for (const p of popped) {
      const current = this.pods.get(p.key);
      // Deleted, bound by someone else, or replaced by a new pod of the same name since it was queued.
      if (!current || current.spec.nodeName || current.metadata.uid !== p.pod.metadata.uid || current.metadata.deletionTimestamp) {
        this.queue.done(p.key);
        continue;
      }
      pods.push(current === p.pod ? p : newPodInfo(current));
    }
    if (pods.length === 0) return;
    const cycle = this.queue.schedulingCycle;
    this.placer.place(pods, this.cache.snapshot(), (p) => this.onPlaced(p, cycle));
  }

  private onPlaced(p: Placement, cycle: number): void {
    if (p.node === null) {
      this.failed(p, cycle);
      return;
    }
    this.cache.assume(p.pod, p.node);
    const bind = this.bind(p.pod, p.node);
    this.binds.add(bind);
    void bind.finally(() => {
      this.binds.delete(bind);
      this.bindSlotWaiters.shift()?.();
    });
  }

  private async bind(pi: PodInfo, node: string): Promise<void> {
    const pod = pi.pod;
    const binding: Binding = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
      target: { apiVersion: "v1", kind: "Node", name: node },
    };
    try {
      await this.opts.client.create("pods", binding, { namespace: pod.metadata.namespace ?? "default", subresource: "binding" });
      this.cache.finishBinding(pi.key);
      this.queue.done(pi.key);
      this.recorder.event(refTo(pod, "Pod"), "Normal", "Scheduled", `Successfully assigned ${pod.metadata.namespace ?? "default"}/${pod.metadata.name} to ${node}`);
    } catch (err) {
      this.cache.forget(pi.key);
      if (!this.running) return;
      // Gone, or 409: already bound (another scheduler, an older leader), being deleted, or a
      // new pod under the same name. None of these is ours to retry; a new pod comes back
      // through the watch.
      if (err instanceof KubeApiError && (err.notFound || err.conflict)) {
        this.log.debug({ pod: pi.key, node, err: err.message }, "binding refused");
        this.queue.done(pi.key);
        return;
      }
      this.log.warn({ pod: pi.key, node, err: (err as Error).message }, "binding failed; will retry");
      this.queue.requeueBackoff(pi.key);
      // The pod may have changed while we were binding (bound elsewhere, deleted).
      const now = this.pods.get(pi.key);
      if (now) this.podChanged(now);
    }
  }

  private failed(p: Placement, cycle: number): void {
    const pod = p.pod.pod;
    const message = p.fitError?.message ?? "scheduling failed";
    this.log.debug({ pod: p.pod.key, message }, "pod unschedulable");
    const rejectedBy = new Set<string>();
    for (const st of p.fitError?.nodeStatuses.values() ?? []) if (st.plugin) rejectedBy.add(st.plugin);
    this.queue.requeueUnschedulable(p.pod.key, cycle, rejectedBy);
    this.recorder.event(refTo(pod, "Pod"), "Warning", "FailedScheduling", message);
    void this.setUnschedulable(pod, message);
  }

  /** PodScheduled=False/Unschedulable, written only when the condition changes. */
  private async setUnschedulable(pod: Pod, message: string): Promise<void> {
    const conditions = pod.status?.conditions ?? [];
    const old = conditions.find((c) => c.type === "PodScheduled");
    if (old && old.status === "False" && old.reason === "Unschedulable" && old.message === message) return;
    const cond: Condition = {
      type: "PodScheduled",
      status: "False",
      lastProbeTime: null,
      lastTransitionTime: old && old.status === "False" ? old.lastTransitionTime ?? metaTime(Date.now()) : metaTime(Date.now()),
      reason: "Unschedulable",
      message,
    };
    try {
      // A strategic merge patch keyed by condition type (as kube-scheduler
      // sends): only PodScheduled changes, so a condition another writer
      // (the kubelet) set meanwhile is not overwritten by our stale copy.
      await this.opts.client.patch("pods", pod.metadata.namespace ?? "default", pod.metadata.name ?? "", { status: { conditions: [cond] } }, "strategic", {
        subresource: "status",
      });
    } catch (err) {
      if (this.running && !(err instanceof KubeApiError && err.notFound)) {
        this.log.warn({ pod: podKey(pod), err: (err as Error).message }, "could not record PodScheduled=False");
      }
    }
  }
}
