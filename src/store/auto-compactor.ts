// Periodic compaction on the leader: keeps at least the last `retainMinutes`
// of revisions (etcd's "periodic" auto-compaction mode). The leader samples
// (time, revision) pairs and compacts to the newest revision that is older
// than the retention window, so history younger than that always stays.

import type { Logger } from "pino";
import type { StoreCommand } from "./mvcc/index.js";

export interface AutoCompactorOptions {
  retainMinutes: number;
  currentRevision: () => number;
  compactRevision: () => number;
  isLeader: () => boolean;
  propose: (command: StoreCommand) => Promise<unknown>;
  logger: Logger;
  clock?: () => number;
  /** How often to sample and check; defaults to a tenth of the window (5 s..60 s). */
  sampleEveryMs?: number;
}

export class AutoCompactor {
  private samples: { at: number; revision: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly clock: () => number;
  private inFlight = false;

  constructor(private readonly opts: AutoCompactorOptions) {
    this.clock = opts.clock ?? Date.now;
    const windowMs = opts.retainMinutes * 60_000;
    const every = opts.sampleEveryMs ?? Math.min(60_000, Math.max(5_000, windowMs / 10));
    this.timer = setInterval(() => this.check(), every);
    this.timer.unref();
  }

  check(): void {
    const now = this.clock();
    if (!this.opts.isLeader()) {
      // Samples are only meaningful while we lead; a new leader starts a fresh window.
      this.samples = [];
      return;
    }
    this.samples.push({ at: now, revision: this.opts.currentRevision() });
    const cutoff = now - this.opts.retainMinutes * 60_000;
    let target = 0;
    while (this.samples.length > 1 && this.samples[0]!.at <= cutoff) {
      target = this.samples.shift()!.revision;
    }
    if (target <= this.opts.compactRevision() || this.inFlight) return;
    this.inFlight = true;
    this.opts
      .propose({ type: "compact", request: { revision: target } })
      .then(() => this.opts.logger.info({ revision: target }, "auto-compacted"))
      .catch((err: Error) => this.opts.logger.warn({ err: err.message, revision: target }, "auto-compaction failed; will retry"))
      .finally(() => {
        this.inFlight = false;
      });
  }

  close(): void {
    clearInterval(this.timer);
  }
}
