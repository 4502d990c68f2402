// The node lifecycle controller (kube-controller-manager's
// nodelifecycle.Controller with its taint manager, in small). Kubelets renew a
// Lease in kube-node-lease; each renewal seen resets that node's timer. A node
// silent for the grace period turns Ready=Unknown and gets the unreachable
// taints (NoSchedule, and NoExecute unless most nodes went silent at once);
// pods on a NoExecute node are deleted once their toleration runs out, so
// their owners replace them elsewhere. A node that renews again loses the
// taints. Every node starts with a fresh grace period when this controller
// starts (a new leader); time this controller itself lost to a stall counts
// against no node.

import type { Logger } from "pino";
import { NODE_LEASE_NAMESPACE, Taints, type Condition, type Lease, type Node, type Pod, type Taint } from "../../api/types.js";
import type { NodeLifecycleSettings } from "../../config/types.js";
import { Informer } from "../../client/informer.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { EventRecorder, metaTime, refTo, type Recorder } from "../../scheduler/events.js";
import {
  NODE_STATUS_UNKNOWN_MESSAGE,
  NODE_STATUS_UNKNOWN_REASON,
  disruptionState,
  effectiveReady,
  evictionTime,
  isSilent,
  lifecycleTaints,
  reconcileTaints,
  type DisruptionState,
  type ReadyStatus,
} from "./decisions.js";

export interface Clock {
  now(): number;
}

export interface NodeLifecycleOptions {
  client: KubeClient;
  logger: Logger;
  settings: NodeLifecycleSettings;
  clock?: Clock;
  recorder?: Recorder;
  /** Tests drive tick() themselves when false. */
  autoTick?: boolean;
}

interface NodeState {
  /** Last heartbeat seen (local clock). */
  probeAt: number;
  /** Last lease renewTime seen, to tell a renewal from a resync. */
  renewTime?: string;
  /** Last Ready heartbeat posted by the kubelet. */
  heartbeat?: string;
  /** A renewal actually seen by this controller (not just the fresh start). */
  renewedAt?: number;
  /** When this controller marked the node Unknown, or first saw it so. */
  unknownSince?: number;
  /** When this controller first saw each lifecycle NoExecute taint. */
  taintSeen: Map<string, number>;
}

function readyCondition(node: Node): Condition | undefined {
  return node.status?.conditions?.find((c) => c.type === "Ready");
}

export class NodeLifecycleController {
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly state = new Map<string, NodeState>();
  private readonly busy = new Set<string>();
  /** Pods whose deletion we asked for, by uid. */
  private readonly evicted = new Set<string>();
  private readonly clock: Clock;
  private readonly recorder: Recorder;
  private readonly ownRecorder: EventRecorder | null = null;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private synced = false;
  private lastTick = 0;
  private disruption: DisruptionState = "Normal";
  private readonly inflight = new Set<Promise<unknown>>();
  private signalStop!: () => void;
  private readonly stopped = new Promise<void>((r) => (this.signalStop = r));

  constructor(private readonly opts: NodeLifecycleOptions) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.log = opts.logger.child({ component: "node-lifecycle" });
    if (opts.recorder) this.recorder = opts.recorder;
    else {
      this.ownRecorder = new EventRecorder(opts.client, "node-controller", this.log);
      this.recorder = this.ownRecorder;
    }
    const onError = (what: string) => (err: Error) => {
      this.log.warn({ err: err.message }, `${what} watch failed; retrying`);
      // While our view of heartbeats is broken, silence proves nothing.
      if (what === "leases") this.refreshAll();
    };
    this.nodes = new Informer<Node>(opts.client, "nodes", { onError: onError("nodes") });
    this.leases = new Informer<Lease>(opts.client, "leases", { namespace: NODE_LEASE_NAMESPACE, onError: onError("leases") });
    this.pods = new Informer<Pod>(opts.client, "pods", { onError: onError("pods") });
    this.nodes.addHandlers({
      onAdd: (n) => this.observeNode(n),
      onUpdate: (_o, n) => this.observeNode(n),
      onDelete: (n) => this.state.delete(n.metadata.name ?? ""),
    });
    this.leases.addHandlers({
      onAdd: (l) => this.observeLease(l),
      onUpdate: (_o, l) => this.observeLease(l),
    });
    this.pods.addHandlers({ onDelete: (p) => this.evicted.delete(p.metadata.uid ?? "") });
  }

  async start(): Promise<void> {
    this.running = true;
    this.nodes.start();
    this.leases.start();
    this.pods.start();
    await Promise.race([Promise.all([this.nodes.waitForSync(), this.leases.waitForSync(), this.pods.waitForSync()]), this.stopped]);
    if (!this.running) return;
    this.synced = true;
    // A new leader has seen no heartbeat yet: every node gets a full grace period from now.
    this.refreshAll();
    this.lastTick = this.clock.now();
    this.log.info({ nodes: this.state.size, settings: this.opts.settings }, "node lifecycle controller started");
    if (this.opts.autoTick !== false) {
      this.timer = setInterval(() => this.tick(), this.opts.settings.nodeMonitorPeriodSeconds * 1000);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.signalStop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.nodes.stop();
    this.leases.stop();
    this.pods.stop();
    this.ownRecorder?.close();
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  get disruptionState(): DisruptionState {
    return this.disruption;
  }

  /** Every node's timer restarts now. */
  private refreshAll(): void {
    const now = this.clock.now();
    for (const st of this.state.values()) st.probeAt = now;
  }

  private stateOf(name: string): NodeState {
    let st = this.state.get(name);
    if (!st) {
      st = { probeAt: this.clock.now(), taintSeen: new Map() };
      this.state.set(name, st);
    }
    return st;
  }

  private observeNode(node: Node): void {
    const st = this.stateOf(node.metadata.name ?? "");
    // A kubelet posting its status is a heartbeat too.
    const hb = readyCondition(node)?.lastHeartbeatTime;
    if (hb && hb !== st.heartbeat) {
      if (st.heartbeat !== undefined) {
        st.probeAt = this.clock.now();
        st.renewedAt = st.probeAt;
      }
      st.heartbeat = hb;
    }
  }

  private observeLease(lease: Lease): void {
    const name = lease.metadata.name ?? "";
    const st = this.stateOf(name);
    const renew = lease.spec?.renewTime ?? lease.metadata.resourceVersion;
    if (renew !== st.renewTime) {
      // The first sighting (the initial list) is not a renewal; the start gives a fresh grace anyway.
      if (st.renewTime !== undefined || this.synced) {
        st.probeAt = this.clock.now();
        st.renewedAt = st.probeAt;
      }
      st.renewTime = renew;
    }
  }

  /** One pass over every node (nodeMonitorPeriod). Public for tests with an injected clock. */
  tick(): void {
    if (!this.running || !this.synced) return;
    const now = this.clock.now();
    const s = this.opts.settings;
    // If this process stalled (GC, CPU starvation), the silence was ours: renewals that arrived
    // meanwhile are still unread (timers run before I/O callbacks). Every timer is set back by
    // the time lost, so the stall counts against no node, and only the stall: a leader that is
    // often late still notices a dead node, just that much later.
    const periodMs = s.nodeMonitorPeriodSeconds * 1000;
    const lateMs = this.lastTick > 0 ? now - this.lastTick - periodMs : 0;
    if (lateMs > Math.min(250, periodMs / 2)) {
      if (lateMs > periodMs) this.log.warn({ lateMs }, "node monitor ran late; the delay counts against no node");
      for (const st of this.state.values()) st.probeAt += lateMs;
    }
    this.lastTick = now;

    const nodes = this.nodes.list();
    const views = nodes.map((node) => {
      const name = node.metadata.name ?? "";
      const st = this.stateOf(name);
      const cond = readyCondition(node);
      const posted = cond?.status as ReadyStatus | undefined;
      const silent = isSilent(st.probeAt, now, s);
      if (posted !== "Unknown") st.unknownSince = undefined;
      else st.unknownSince ??= now;
      // A kubelet that renews its lease again but does not post status: its renewal speaks for it.
      // Only a renewal seen after the node went Unknown counts (a fresh grace period is not one).
      const renewedSinceUnknown =
        !silent && posted === "Unknown" && cond?.reason === NODE_STATUS_UNKNOWN_REASON && st.renewedAt !== undefined && st.renewedAt > (st.unknownSince ?? now);
      const ready: ReadyStatus | undefined = renewedSinceUnknown ? "True" : effectiveReady(posted, silent);
      return { node, name, st, cond, posted, silent, ready, renewedSinceUnknown };
    });

    let ready = 0;
    let notReady = 0;
    for (const v of views) {
      if (v.ready === "True" || v.ready === undefined) ready++;
      else notReady++;
    }
    const state = disruptionState(ready, notReady, s.unhealthyZoneThreshold);
    if (state !== this.disruption) {
      this.log.warn({ from: this.disruption, to: state, ready, notReady }, "disruption state changed");
      this.disruption = state;
    }
    const evict = state === "Normal";

    let podsByNode: Map<string, Pod[]> | null = null;
    const podsOn = (name: string): Pod[] => {
      if (!podsByNode) {
        podsByNode = new Map();
        for (const p of this.pods.list()) {
          const n = p.spec.nodeName;
          if (!n) continue;
          const list = podsByNode.get(n);
          if (list) list.push(p);
          else podsByNode.set(n, [p]);
        }
      }
      return podsByNode.get(name) ?? [];
    };

    for (const v of views) {
      if (this.busy.has(v.name)) continue;
      const wantTaints = lifecycleTaints(v.ready, evict);
      const newTaints = reconcileTaints(v.node.spec?.taints, wantTaints, metaTime(now));
      const markUnknown = v.silent && v.posted !== "Unknown" && v.posted !== undefined;
      const markUnknownNoCondition = v.silent && v.posted === undefined;
      if (markUnknown || markUnknownNoCondition || v.renewedSinceUnknown || newTaints) {
        if (markUnknown || markUnknownNoCondition) v.st.unknownSince = now;
        this.track(this.writeNode(v.node, { markUnknown: markUnknown || markUnknownNoCondition, restoreReady: v.renewedSinceUnknown, taints: newTaints }, now));
        if (markUnknown || markUnknownNoCondition) this.track(this.markPodsNotReady(podsOn(v.name)));
      }
      // NoExecute: only taints that landed on the node count (a failed write evicts nothing), and
      // not those on their way out. Keep when each was first seen; evict pods whose toleration ran out.
      const noExec = (v.node.spec?.taints ?? []).filter(
        (t) => t.effect === "NoExecute" && (newTaints === null || newTaints.some((n) => n.key === t.key && n.effect === t.effect)),
      );
      for (const key of [...v.st.taintSeen.keys()]) if (!noExec.some((t) => t.key === key)) v.st.taintSeen.delete(key);
      for (const t of noExec) if (!v.st.taintSeen.has(t.key)) v.st.taintSeen.set(t.key, now);
      if (!evict || noExec.length === 0) continue;
      for (const pod of podsOn(v.name)) {
        if (pod.metadata.deletionTimestamp || this.evicted.has(pod.metadata.uid ?? "")) continue;
        if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
        const at = evictionTime(pod, noExec, (k) => v.st.taintSeen.get(k) ?? now, s);
        if (at !== null && at <= now) this.track(this.evictPod(pod, v.name));
      }
    }
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async writeNode(node: Node, what: { markUnknown: boolean; restoreReady: boolean; taints: Taint[] | null }, now: number): Promise<void> {
    const name = node.metadata.name ?? "";
    this.busy.add(name);
    try {
      let cur = node;
      if (what.markUnknown || what.restoreReady) {
        const stamp = metaTime(now);
        const conds = (cur.status?.conditions ?? []).map((c): Condition => {
          if (what.markUnknown) {
            // Every condition the kubelet owns becomes Unknown: nobody knows any more.
            return { ...c, status: "Unknown", reason: NODE_STATUS_UNKNOWN_REASON, message: NODE_STATUS_UNKNOWN_MESSAGE, lastTransitionTime: stamp };
          }
          // lastHeartbeatTime stays the kubelet's: our own write must not look like a heartbeat.
          if (c.type === "Ready") return { ...c, status: "True", reason: "KubeletReady", message: "kubelet renews its lease again", lastTransitionTime: stamp };
          return c;
        });
        if (what.markUnknown && !conds.some((c) => c.type === "Ready")) {
          conds.push({ type: "Ready", status: "Unknown", reason: NODE_STATUS_UNKNOWN_REASON, message: NODE_STATUS_UNKNOWN_MESSAGE, lastTransitionTime: stamp, lastHeartbeatTime: stamp });
        }
        cur = await this.opts.client.update<Node>("nodes", { ...cur, status: { ...cur.status, conditions: conds } }, { subresource: "status" });
        if (what.markUnknown) {
          this.log.warn({ node: name }, "node stopped renewing its lease: Ready=Unknown");
          this.recorder.event(refTo(cur, "Node"), "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
        } else {
          this.log.info({ node: name }, "node renews its lease again: Ready=True");
          this.recorder.event(refTo(cur, "Node"), "Normal", "NodeReady", `Node ${name} status is now: NodeReady`);
        }
      }
      if (what.taints) {
        // Recompute on the object we just wrote so the other taints are current.
        const want = what.taints.filter((t) => t.key === Taints.unreachable || t.key === Taints.notReady);
        const others = (cur.spec?.taints ?? []).filter((t) => t.key !== Taints.unreachable && t.key !== Taints.notReady);
        await this.opts.client.update<Node>("nodes", { ...cur, spec: { ...cur.spec, taints: [...others, ...want] } });
        this.log.info({ node: name, taints: want.map((t) => `${t.key}:${t.effect}`) }, "node lifecycle taints updated");
      }
    } catch (err) {
      if (this.running) this.log.warn({ node: name, err: (err as Error).message }, "node update failed; will retry");
    } finally {
      this.busy.delete(name);
    }
  }

  /** Pods on a node that stopped answering are not ready (Endpoints drop them). */
  private async markPodsNotReady(pods: Pod[]): Promise<void> {
    for (const pod of pods) {
      if (!this.running) return;
      const conds = pod.status?.conditions ?? [];
      const ready = conds.find((c) => c.type === "Ready");
      if (!ready || ready.status === "False") continue;
      const next = conds.map((c) => (c.type === "Ready" ? { ...c, status: "False" as const, lastTransitionTime: metaTime(this.clock.now()) } : c));
      try {
        await this.opts.client.patch("pods", pod.metadata.namespace ?? "default", pod.metadata.name ?? "", { status: { conditions: next } }, "merge", { subresource: "status" });
        this.recorder.event(refTo(pod, "Pod"), "Warning", "NodeNotReady", "Node is not ready");
      } catch (err) {
        if (this.running && !(err instanceof KubeApiError && err.notFound)) this.log.debug({ pod: pod.metadata.name, err: (err as Error).message }, "could not mark pod not ready");
      }
    }
  }

  private async evictPod(pod: Pod, node: string): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    const ns = pod.metadata.namespace ?? "default";
    const name = pod.metadata.name ?? "";
    this.evicted.add(uid);
    try {
      await this.opts.client.delete("pods", ns, name, { preconditions: { uid } });
      this.log.info({ pod: `${ns}/${name}`, node }, "evicted pod from NoExecute node");
      this.recorder.event(refTo(pod, "Pod"), "Normal", "TaintManagerEviction", `Marking for deletion Pod ${ns}/${name}`);
    } catch (err) {
      if (err instanceof KubeApiError && (err.notFound || err.conflict)) return;
      this.evicted.delete(uid);
      if (this.running) this.log.warn({ pod: `${ns}/${name}`, err: (err as Error).message }, "eviction failed; will retry");
    }
  }
}
