// The scheduler's cache (kube-scheduler's internal/cache): nodes and the pods
// placed on them, from the informers, plus pods "assumed" on a node the moment
// the placer chose it, so the next decision counts them before the binding is
// written and seen back through the watch. An assumed pod is confirmed when
// the watch shows it bound, forgotten when its binding fails, and expires if
// its binding succeeded but the watch never showed it.

import type { Node, Pod } from "../api/types.js";
import { NodeInfo, newPodInfo, podKey, snapshotOf, type PodInfo, type Snapshot } from "./types.js";

interface PodState {
  pi: PodInfo;
  node: string;
  assumed: boolean;
  /** Set when an assumed pod's binding succeeded: expire after this (ms). */
  deadline?: number;
}

export class SchedulerCache {
  /** Present nodes, and placeholders for nodes pods name but we have not seen. */
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly present = new Set<string>();
  private readonly pods = new Map<string, PodState>();
  private snap: Snapshot | null = null;

  constructor(
    private readonly now: () => number = Date.now,
    /** How long a bound-but-unseen assumed pod counts. */
    private readonly assumeTtlMs = 30_000,
  ) {}

  // ------------------------------------------------------------- nodes

  upsertNode(node: Node): void {
    const name = node.metadata.name ?? "";
    const ni = this.nodes.get(name);
    if (ni) ni.setNode(node);
    else this.nodes.set(name, new NodeInfo(node));
    if (!this.present.has(name)) {
      this.present.add(name);
      this.snap = null;
    }
  }

  removeNode(name: string): void {
    if (!this.present.delete(name)) return;
    this.snap = null;
    const ni = this.nodes.get(name);
    // Keep the NodeInfo while pods still point at it (they are deleted next).
    if (ni && ni.pods.size === 0) this.nodes.delete(name);
  }

  nodeInfo(name: string): NodeInfo | undefined {
    return this.present.has(name) ? this.nodes.get(name) : undefined;
  }

  get nodeCount(): number {
    return this.present.size;
  }

  /** The live view the placers work on (rebuilt only when the set of nodes changes). */
  snapshot(): Snapshot {
    if (!this.snap) {
      const list = [...this.present].sort().map((n) => this.nodes.get(n)!);
      this.snap = snapshotOf(list);
    }
    return this.snap;
  }

  // ------------------------------------------------------------- pods

  /** A pod the watch shows bound (or updated). Confirms a matching assumption. */
  upsertBoundPod(pod: Pod): void {
    const node = pod.spec.nodeName;
    if (!node) return;
    const key = podKey(pod);
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
      // Terminal pods free their resources.
      this.removePod(key);
      return;
    }
    const pi = newPodInfo(pod);
    const old = this.pods.get(key);
    if (old) this.ensureNode(old.node).removePod(key);
    this.ensureNode(node).addPod(pi);
    this.pods.set(key, { pi, node, assumed: false });
  }

  removePod(key: string): void {
    const st = this.pods.get(key);
    if (!st) return;
    this.pods.delete(key);
    const ni = this.nodes.get(st.node);
    if (!ni) return;
    ni.removePod(key);
    if (!this.present.has(st.node) && ni.pods.size === 0) this.nodes.delete(st.node);
  }

  assume(pi: PodInfo, node: string): void {
    const assumedPod: Pod = { ...pi.pod, spec: { ...pi.pod.spec, nodeName: node } };
    const assumed: PodInfo = { ...pi, pod: assumedPod };
    this.removePod(pi.key);
    this.ensureNode(node).addPod(assumed);
    this.pods.set(pi.key, { pi: assumed, node, assumed: true });
  }

  /** The binding was written: start the expiry clock (the watch should confirm soon). */
  finishBinding(key: string): void {
    const st = this.pods.get(key);
    if (st?.assumed) st.deadline = this.now() + this.assumeTtlMs;
  }

  /** The binding failed: undo the assumption. */
  forget(key: string): void {
    const st = this.pods.get(key);
    if (st?.assumed) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed === true;
  }

  /** Drops assumptions whose binding succeeded long ago but never showed up. Returns their keys. */
  expireAssumed(): string[] {
    const now = this.now();
    const gone: string[] = [];
    for (const [key, st] of this.pods) {
      if (st.assumed && st.deadline !== undefined && st.deadline <= now) gone.push(key);
    }
    for (const key of gone) this.removePod(key);
    return gone;
  }

  podNode(key: string): string | undefined {
    return this.pods.get(key)?.node;
  }

  private ensureNode(name: string): NodeInfo {
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo({ metadata: { name } });
      this.nodes.set(name, ni);
    }
    return ni;
  }
}
