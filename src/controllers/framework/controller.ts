// The controller runner (sample-controller's shape): informer handlers only
// enqueue keys; workers take a key and run reconcile(key), which reads the
// informer caches, computes the difference and writes the smallest change.
// Success forgets the key's failures, an error re-queues it rate-limited,
// NotFound is success (the object is gone, nothing to do). Workers never see
// the same key at once.

import type { Logger } from "pino";
import { KubeApiError } from "../../client/kube-client.js";
import type { Informer } from "../../client/informer.js";
import { WorkQueue } from "./workqueue.js";

export interface ReconcileResult {
  /** Look again after this long even if nothing changes (timeouts, minReadySeconds). */
  requeueAfterMs?: number;
}

export interface ControllerOptions {
  name: string;
  logger: Logger;
  reconcile(key: string): Promise<ReconcileResult | void>;
  /** Caches that must be filled before the first reconcile. */
  informers: Pick<Informer, "waitForSync">[];
  workers?: number;
  queue?: WorkQueue;
  /** Start anyway after this long if some cache has not filled (default: wait for all). */
  syncTimeoutMs?: number;
  /** Look at every key again now and then (what no event announces, e.g. an unwatched owner gone). */
  resync?: { everyMs: number; keys(): Iterable<string> };
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly workers: Promise<void>[] = [];
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private abortStart: (() => void) | null = null;

  constructor(private readonly opts: ControllerOptions) {
    this.queue = opts.queue ?? new WorkQueue();
    this.log = opts.logger.child({ controller: opts.name });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /** Waits for the caches, then starts the workers; returns once they run. */
  async start(): Promise<void> {
    // Resolves with "synced", "timeout" or "stopped" (stop() must not wait on caches that never fill).
    const outcome = await new Promise<string>((resolve) => {
      this.abortStart = () => resolve("stopped");
      void Promise.all(this.opts.informers.map((i) => i.waitForSync())).then(() => resolve("synced"));
      if (this.opts.syncTimeoutMs !== undefined) this.startTimer = setTimeout(() => resolve("timeout"), this.opts.syncTimeoutMs);
    });
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
    this.abortStart = null;
    if (outcome === "timeout") this.log.warn("starting before every cache synced");
    if (this.stopped) return;
    for (let i = 0; i < (this.opts.workers ?? 2); i++) this.workers.push(this.worker());
    const resync = this.opts.resync;
    if (resync) {
      this.resyncTimer = setInterval(() => {
        for (const key of resync.keys()) this.queue.add(key);
      }, resync.everyMs);
      this.resyncTimer.unref?.();
    }
    this.log.debug("started");
  }

  /** Shuts the queue; waits for items in flight at most graceMs (a request
   *  stuck on a dead server must not hold up a leadership change). */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
    this.abortStart?.();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = null;
    this.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.workers), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.opts.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        if (err instanceof KubeApiError && err.notFound) {
          this.queue.forget(key);
        } else if (!this.queue.isShuttingDown) {
          const retries = this.queue.retries(key);
          // Conflicts are routine ("look again"); others deserve a warning.
          const level = err instanceof KubeApiError && err.conflict ? "debug" : retries > 3 ? "warn" : "info";
          this.log[level]({ key, retries, err: (err as Error).message }, "reconcile failed; retrying");
          this.queue.addRateLimited(key);
        }
      } finally {
        this.queue.done(key);
      }
    }
  }
}
