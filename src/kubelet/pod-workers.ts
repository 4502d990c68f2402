// One worker per pod UID (pkg/kubelet/pod_workers.go): updates for a pod are
// handled one at a time, in the order they matter. A new update replaces the
// pending one (latest wins, nothing queues). A worker only moves forward:
// syncing -> terminating -> terminated; terminating aborts the sync in flight.

import type { Logger } from "pino";
import type { Pod } from "../api/types.js";
import type { SyncResult } from "./pod-sync.js";

export type WorkerState = "syncing" | "terminating" | "terminated";

export interface PodWorkerHooks {
  sync(pod: Pod, signal: AbortSignal): Promise<SyncResult>;
  /** `removed`: the pod is gone from the API already (no delete to send). */
  terminate(pod: Pod, removed: boolean): Promise<void>;
  /** The latest pod object for a uid, for timed resyncs. */
  current(uid: string): Pod | undefined;
}

interface Update {
  pod: Pod;
  terminate: boolean;
  removed: boolean;
}

const RETRY_MS = 2000;

class PodWorker {
  state: WorkerState = "syncing";
  private pending: Update | null = null;
  private running = false;
  private abort: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Resolves when the worker is idle (for shutdown and tests). */
  idle: Promise<void> = Promise.resolve();

  constructor(
    readonly uid: string,
    private readonly hooks: PodWorkerHooks,
    private readonly log: Logger,
    private readonly onTerminated: (uid: string) => void,
  ) {}

  update(u: Update): void {
    if (this.state === "terminated") return;
    if (u.terminate && this.state === "syncing") {
      this.state = "terminating";
      this.abort?.abort();
    }
    // Termination is sticky: a late sync update cannot undo it.
    if (this.pending?.terminate && !u.terminate) u = { ...u, terminate: true, removed: this.pending.removed };
    if (this.pending?.removed) u = { ...u, removed: true };
    this.pending = u;
    if (!this.running) this.idle = this.run();
  }

  resyncAfter(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const pod = this.hooks.current(this.uid);
      if (pod && this.state === "syncing") this.update({ pod, terminate: false, removed: false });
    }, ms);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort?.abort();
    this.pending = null;
    this.state = "terminated";
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.pending && this.state !== "terminated") {
        const u = this.pending;
        this.pending = null;
        if (this.state === "syncing") {
          const abort = new AbortController();
          this.abort = abort;
          try {
            const r = await this.hooks.sync(u.pod, abort.signal);
            if (r.requeueAfterMs !== null && this.state === "syncing") this.resyncAfter(r.requeueAfterMs);
          } catch (err) {
            if (!abort.signal.aborted) {
              this.log.warn({ pod: `${u.pod.metadata.namespace}/${u.pod.metadata.name}`, err: (err as Error).message }, "pod sync failed; retrying");
              this.resyncAfter(RETRY_MS);
            }
          } finally {
            this.abort = null;
          }
        } else if (this.state === "terminating") {
          if (this.timer) clearTimeout(this.timer);
          try {
            await this.hooks.terminate(u.pod, u.removed);
            this.state = "terminated";
            this.onTerminated(this.uid);
          } catch (err) {
            this.log.warn({ pod: `${u.pod.metadata.namespace}/${u.pod.metadata.name}`, err: (err as Error).message }, "pod termination failed; retrying");
            await new Promise((r) => setTimeout(r, RETRY_MS));
            if (!this.pending) this.pending = u;
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}

export class PodWorkers {
  private readonly workers = new Map<string, PodWorker>();
  /** Uids that finished terminating: a late event for them must not start a new worker. */
  private readonly finished = new Set<string>();

  constructor(
    private readonly hooks: PodWorkerHooks,
    private readonly log: Logger,
  ) {}

  /** A pod was added or changed in the API. */
  update(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (!uid || this.finished.has(uid)) return;
    const terminate = !!pod.metadata.deletionTimestamp;
    this.worker(uid).update({ pod, terminate, removed: false });
  }

  /** A pod vanished from the API. */
  removed(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (!uid || this.finished.has(uid)) return;
    this.worker(uid).update({ pod, terminate: true, removed: true });
  }

  /** Something about a pod's containers changed: sync it again with its latest object. */
  resync(uid: string): void {
    const w = this.workers.get(uid);
    const pod = this.hooks.current(uid);
    if (w && pod && w.state === "syncing") w.update({ pod, terminate: !!pod.metadata.deletionTimestamp, removed: false });
  }

  has(uid: string): boolean {
    return this.workers.has(uid);
  }

  state(uid: string): WorkerState | undefined {
    return this.workers.get(uid)?.state;
  }

  uids(): string[] {
    return [...this.workers.keys()];
  }

  /** Waits for every worker to go idle. */
  async drain(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.idle));
  }

  stop(): void {
    for (const w of this.workers.values()) w.stop();
  }

  private worker(uid: string): PodWorker {
    let w = this.workers.get(uid);
    if (!w) {
      w = new PodWorker(uid, this.hooks, this.log, (done) => {
        this.workers.delete(done);
        this.finished.add(done);
        // Bounded memory: uids are unique, remembering the recent ones is enough.
        if (this.finished.size > 10_000) this.finished.delete(this.finished.values().next().value!);
      });
      this.workers.set(uid, w);
    }
    return w;
  }
}
