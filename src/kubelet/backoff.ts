// Container restart back-off (kuberuntime's CrashLoopBackOff): the first
// restart is immediate, then each restart waits twice as long as the previous
// one, from 10 s up to 5 min; a container that ran for 10 min since its last
// restart starts over. Pure bookkeeping: the clock is passed in.

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  /** A container that ran this long after its last restart resets its back-off. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

interface Entry {
  delayMs: number;
  lastRestart: number;
}

export class RestartBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly settings: BackoffSettings = DEFAULT_BACKOFF) {}

  /**
   * When a container that finished at `finishedAt` may start again: null if
   * now, else the time (ms) until which it is in back-off.
   */
  backoffUntil(key: string, finishedAt: number, now: number): number | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (finishedAt - e.lastRestart >= this.settings.resetAfterMs) {
      this.entries.delete(key);
      return null;
    }
    const until = finishedAt + e.delayMs;
    return now < until ? until : null;
  }

  /** Records a restart at `now` and grows the next delay. */
  restarted(key: string, now: number): void {
    const e = this.entries.get(key);
    const delayMs = e ? Math.min(e.delayMs * 2, this.settings.maxMs) : this.settings.initialMs;
    this.entries.set(key, { delayMs, lastRestart: now });
  }

  /** The delay the next restart of `key` would wait (for messages). */
  currentDelay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  forgetPod(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Drops entries untouched for twice the maximum delay plus the reset window. */
  gc(now: number): void {
    for (const [k, e] of this.entries) if (now - e.lastRestart > 2 * this.settings.maxMs + this.settings.resetAfterMs) this.entries.delete(k);
  }
}

export function backoffKey(podUid: string, containerName: string, hash: string): string {
  return `${podUid}/${containerName}/${hash}`;
}
