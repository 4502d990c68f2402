// Watches on an MvccStore: every change to a key range from a start revision
// on, in revision order, with no gap and no duplicate. A watcher is either
// "unsynced" (replaying history from the store, in bounded steps off the apply
// path) or "synced" (receiving each new revision synchronously from apply()).
// As in etcd, a start revision below the compact revision cancels the watch
// with the compact revision, and a consumer that falls too far behind is cut off.

import type { Logger } from "pino";
import { type KeyRange, inRange, toKeyRange } from "./keys.js";
import { MAX_PENDING_WATCH_EVENTS, MAX_WATCHERS, REPLAY_REVISIONS_PER_STEP } from "./limits.js";
import type { Change, MvccStore } from "./store.js";
import type { WatchCancelReason, WatchEvent, WatchRequest } from "./types.js";
import { validateWatch } from "./validate.js";

/**
 * Receives the events of ONE revision (never split, never empty). Return
 * `false` when the consumer cannot take more for now (like stream.write()):
 * the hub then holds further events until handle.resume(). A synced watcher
 * holds at most maxPendingEvents events that way before it is canceled as slow;
 * a replaying watcher just stops reading history.
 */
export type WatchListener = (events: WatchEvent[], revision: number) => boolean | void;
export type WatchCancelListener = (reason: WatchCancelReason) => void;

export interface WatchHandle {
  /** Unique within the hub. */
  readonly id: number;
  /** The next revision this watcher will deliver events of (for progress notifications). */
  readonly nextRevision: number;
  /** Events held for a paused consumer. */
  readonly pendingEvents: number;
  readonly canceled: boolean;
  /** Stops the watch; onCancel is called with code "canceled" (unless it already ended). */
  cancel(): void;
  /** The consumer can take events again (after onEvents returned false). */
  resume(): void;
}

export interface WatchHubOptions {
  maxWatchers?: number;
  maxPendingEvents?: number;
  replayRevisionsPerStep?: number;
  /**
   * "immediate" (default): history replay and deferred cancels run in
   * setImmediate steps. "manual": only when drain() is called (tests, simulator).
   */
  scheduling?: "immediate" | "manual";
  logger?: Logger;
}

type WatcherState = "unsynced" | "synced" | "canceled";

interface PendingBatch {
  events: WatchEvent[];
  revision: number;
}

class Watcher implements WatchHandle {
  state: WatcherState = "unsynced";
  paused = false;
  /** Unsynced: the next revision to replay. Synced: the first revision it may deliver. */
  nextRev = 0;
  pending: PendingBatch[] = [];
  pendingCount = 0;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;

  constructor(
    private readonly hub: WatchHub,
    readonly id: number,
    readonly range: KeyRange | null,
    req: WatchRequest,
    readonly onEvents: WatchListener,
    readonly onCancel: WatchCancelListener,
  ) {
    this.noPut = req.filters?.includes("NOPUT") ?? false;
    this.noDelete = req.filters?.includes("NODELETE") ?? false;
    this.prevKv = req.prevKv ?? false;
  }

  get nextRevision(): number {
    if (this.pending.length > 0) return this.pending[0]!.revision;
    return this.state === "synced" ? Math.max(this.nextRev, this.hub.storeRevision() + 1) : this.nextRev;
  }

  get pendingEvents(): number {
    return this.pendingCount;
  }

  get canceled(): boolean {
    return this.state === "canceled";
  }

  cancel(): void {
    this.hub.end(this, { code: "canceled", message: "watch canceled" });
  }

  resume(): void {
    this.hub.resume(this);
  }
}

export class WatchHub {
  private readonly maxWatchers: number;
  private readonly maxPendingEvents: number;
  private readonly replayRevisionsPerStep: number;
  private readonly manual: boolean;
  private readonly logger: Logger | undefined;

  private readonly watchers = new Map<number, Watcher>();
  /** Single-key watchers by skey; range watchers are checked one by one. */
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranged = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  /** Watchers refused at creation, told so in the next step (after watch() returned). */
  private refused: { w: Watcher; reason: WatchCancelReason }[] = [];
  private nextId = 1;
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;
  private readonly unobserve: () => void;

  constructor(
    private readonly store: MvccStore,
    options: WatchHubOptions = {},
  ) {
    this.maxWatchers = options.maxWatchers ?? MAX_WATCHERS;
    this.maxPendingEvents = options.maxPendingEvents ?? MAX_PENDING_WATCH_EVENTS;
    this.replayRevisionsPerStep = options.replayRevisionsPerStep ?? REPLAY_REVISIONS_PER_STEP;
    this.manual = options.scheduling === "manual";
    this.logger = options.logger;
    this.unobserve = store.observe({
      onCommit: (revision, changes) => this.onCommit(revision, changes),
      onRestore: (previousRevision) => this.onRestore(previousRevision),
    });
  }

  /** Live watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /**
   * Starts a watch. Never throws and never calls back before returning: a
   * refused watch (invalid request, too many watchers, compacted start
   * revision) is reported through onCancel from the next step.
   */
  watch(req: WatchRequest, onEvents: WatchListener, onCancel: WatchCancelListener): WatchHandle {
    const id = this.nextId++;
    const invalid = validateWatch(req);
    if (invalid || this.closed || this.watchers.size >= this.maxWatchers) {
      const w = new Watcher(this, id, null, req, onEvents, onCancel);
      const reason: WatchCancelReason = invalid
        ? { code: "invalidArgument", message: invalid.message }
        : this.closed
          ? { code: "closed", message: "watch hub closed" }
          : { code: "tooManyWatchers", message: `too many watchers (limit ${this.maxWatchers})` };
      this.refused.push({ w, reason });
      this.schedule();
      return w;
    }
    const range = toKeyRange(req.key, req.rangeEnd);
    const w = new Watcher(this, id, range, req, onEvents, onCancel);
    const start = req.startRevision ?? 0;
    w.nextRev = start > 0 ? start : this.store.revision + 1;
    this.watchers.set(id, w);
    if (range.kind === "key") {
      let set = this.byKey.get(range.key);
      if (!set) this.byKey.set(range.key, (set = new Set()));
      set.add(w);
    } else {
      this.ranged.add(w);
    }
    if (w.nextRev <= this.store.revision) {
      this.unsynced.add(w);
      this.schedule();
    } else {
      w.state = "synced";
    }
    return w;
  }

  /** Runs all pending catch-up work now (paused watchers wait for resume()). */
  drain(): void {
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    while (this.runOnce(Infinity));
  }

  /** Cancels every watch (code "closed") and detaches from the store. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    this.unobserve();
    for (const w of [...this.watchers.values(), ...this.refused.map((r) => r.w)]) this.end(w, { code: "closed", message: "watch hub closed" });
    this.refused = [];
  }

  // ---------------------------------------------------------------- internal (used by Watcher)

  storeRevision(): number {
    return this.store.revision;
  }

  end(w: Watcher, reason: WatchCancelReason): void {
    if (w.state === "canceled") return;
    w.state = "canceled";
    w.pending = [];
    w.pendingCount = 0;
    this.watchers.delete(w.id);
    this.unsynced.delete(w);
    this.ranged.delete(w);
    if (w.range?.kind === "key") {
      const set = this.byKey.get(w.range.key);
      set?.delete(w);
      if (set?.size === 0) this.byKey.delete(w.range.key);
    }
    try {
      w.onCancel(reason);
    } catch (err) {
      this.logger?.error({ err, watchId: w.id }, "watch onCancel callback threw");
    }
  }

  resume(w: Watcher): void {
    if (w.state === "canceled" || !w.paused) return;
    w.paused = false;
    while (w.pending.length > 0 && !w.paused && !w.canceled) {
      const batch = w.pending.shift()!;
      w.pendingCount -= batch.events.length;
      if (!this.invoke(w, batch.events, batch.revision)) w.paused = true;
    }
    if (w.state === "unsynced" && !w.paused) this.schedule();
  }

  // ---------------------------------------------------------------- live delivery

  private onCommit(revision: number, changes: readonly Change[]): void {
    if (this.watchers.size === 0) return;
    const batches = new Map<Watcher, WatchEvent[]>();
    const collect = (w: Watcher, c: Change): void => {
      if (w.state !== "synced" || revision < w.nextRev) return;
      const ev = toEvent(w, c);
      if (!ev) return;
      const list = batches.get(w);
      if (list) list.push(ev);
      else batches.set(w, [ev]);
    };
    for (const c of changes) {
      const set = this.byKey.get(c.skey);
      if (set) for (const w of set) collect(w, c);
      for (const w of this.ranged) if (inRange(w.range!, c.skey)) collect(w, c);
    }
    for (const [w, events] of batches) {
      // An earlier callback in this loop may have canceled it.
      if (w.state !== "synced") continue;
      if (w.paused) {
        w.pending.push({ events, revision });
        w.pendingCount += events.length;
        if (w.pendingCount > this.maxPendingEvents) {
          this.end(w, { code: "slowWatcher", message: `watcher fell more than ${this.maxPendingEvents} events behind` });
        }
      } else if (!this.invoke(w, events, revision)) {
        w.paused = true;
      }
    }
  }

  /** Calls the consumer; false when it asked to pause or threw (then the watch is ended). */
  private invoke(w: Watcher, events: WatchEvent[], revision: number): boolean {
    try {
      return w.onEvents(events, revision) !== false;
    } catch (err) {
      this.logger?.error({ err, watchId: w.id }, "watch onEvents callback threw; watch canceled");
      this.end(w, { code: "callbackFailed", message: `onEvents threw: ${(err as Error).message}` });
      return false;
    }
  }

  private onRestore(previousRevision: number): void {
    // The state was replaced (a follower installed a snapshot). Synced watchers
    // have seen up to previousRevision; they continue from the restored history.
    for (const w of this.watchers.values()) {
      if (w.state !== "synced") continue;
      w.state = "unsynced";
      w.nextRev = Math.max(w.nextRev, previousRevision + 1);
      this.unsynced.add(w);
    }
    this.schedule();
  }

  // ---------------------------------------------------------------- catch-up

  private schedule(): void {
    if (this.manual || this.closed || this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      if (this.runOnce(this.replayRevisionsPerStep)) this.schedule();
    });
  }

  /** One step of deferred work; true if runnable work is left. */
  private runOnce(budget: number): boolean {
    const refused = this.refused;
    this.refused = [];
    for (const { w, reason } of refused) this.end(w, reason);
    for (const w of [...this.unsynced]) {
      if (budget <= 0) break;
      budget -= this.catchUp(w, budget);
    }
    if (this.refused.length > 0) return true;
    for (const w of this.unsynced) if (!w.paused) return true;
    return false;
  }

  /** Replays history to one watcher; returns the number of revisions read. */
  private catchUp(w: Watcher, budget: number): number {
    let read = 0;
    while (w.state === "unsynced" && !w.paused) {
      if (w.nextRev < this.store.compactRevision) {
        this.end(w, {
          code: "compacted",
          compactRevision: this.store.compactRevision,
          message: "etcdserver: mvcc: required revision has been compacted",
        });
        break;
      }
      if (w.nextRev > this.store.revision) {
        w.state = "synced";
        this.unsynced.delete(w);
        break;
      }
      if (read >= budget) break;
      const revision = w.nextRev++;
      read++;
      const changes = this.store.changesAt(revision, w.range!)!;
      const events: WatchEvent[] = [];
      for (const c of changes) {
        const ev = toEvent(w, c);
        if (ev) events.push(ev);
      }
      if (events.length > 0 && !this.invoke(w, events, revision)) w.paused = true;
    }
    return read;
  }
}

function toEvent(w: Watcher, c: Change): WatchEvent | null {
  const put = c.kv.version > 0;
  if (put ? w.noPut : w.noDelete) return null;
  const ev: WatchEvent = { type: put ? "PUT" : "DELETE", kv: c.kv };
  if (w.prevKv && c.prevKv) ev.prevKv = c.prevKv;
  return ev;
}
