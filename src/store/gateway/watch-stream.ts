// One POST /v3/watch: a stream that carries any number of watches, as etcd's
// watch stream does. Each create_request answers `created` (watch_id left
// out when 0), then the events of each revision in one message, in revision
// order. A compacted start revision answers `canceled` with compact_revision
// and, like etcd, leaves the stream open. A client that stops reading pauses
// its watches (the hub holds their events) until the socket drains.

import type * as W from "../../client/etcd-types.js";
import { GrpcCode } from "../../client/etcd-types.js";
import { ApiError, type KvService, type ResponseHeaderData } from "../kv-service.js";
import type { WatchCancelReason, WatchEvent, WatchHandle, WatchRequest } from "../mvcc/index.js";
import { decodeWatchRequest, encodeEvent, encodeHeader, type JsonObject, type WatchCreate } from "./codec.js";
import { JsonLineStream, type StreamOptions } from "./stream.js";

export interface WatchStreamOptions extends StreamOptions {
  kv: KvService;
  maxWatches: number;
  progressNotifyMs: number;
  /** kv.header() shared by every watch that gets the same revision (the fan-out is hot). */
  eventHeader: () => ResponseHeaderData;
}

interface ActiveWatch {
  readonly id: number;
  /** Null for a watch on the empty key alone: etcd accepts it, and it never fires. */
  handle: WatchHandle | null;
  readonly progressNotify: boolean;
  /** Events went out since the last progress tick (then no progress message is due). */
  sentSinceTick: boolean;
}

function watchIdField(id: number): { watch_id?: string } {
  return id === 0 ? {} : { watch_id: String(id) };
}

export class WatchStream extends JsonLineStream {
  private readonly watches = new Map<number, ActiveWatch>();
  private nextId = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  /** A progress_request is waiting for every watch to catch up. */
  private deferredProgress = false;
  private progressCheckQueued = false;

  constructor(
    req: ConstructorParameters<typeof JsonLineStream>[0],
    res: ConstructorParameters<typeof JsonLineStream>[1],
    private readonly wopts: WatchStreamOptions,
  ) {
    super(req, res, wopts);
  }

  /** Watches open on this stream. */
  get size(): number {
    return this.watches.size;
  }

  protected onRequest(obj: JsonObject): void {
    const r = decodeWatchRequest(obj);
    switch (r.kind) {
      case "create":
        this.create(r.create);
        return;
      case "cancel":
        this.cancel(r.watchId);
        return;
      case "progress":
        this.requestProgress();
        return;
      case "none":
        this.start();
        return;
    }
  }

  private header(revision?: number | null): W.ResponseHeader {
    const h = this.wopts.kv.header();
    return revision === undefined ? encodeHeader(h) : encodeHeader(h, revision);
  }

  private create(c: WatchCreate): void {
    let id = c.watchId;
    if (id === 0) {
      while (this.watches.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watches.has(id)) {
      this.refuse("mvcc: duplicate watch ID provided on the WatchStream");
      return;
    }
    if (this.watches.size >= this.wopts.maxWatches) {
      this.refuse(`etcdserver: too many watches on one stream (limit ${this.wopts.maxWatches})`);
      return;
    }
    const w: ActiveWatch = { id, handle: null, progressNotify: c.progressNotify, sentSinceTick: false };
    this.watches.set(id, w);
    // No key can be empty, so [empty, end) is [\0, end); the empty key alone matches nothing.
    const dormant = c.key.length === 0 && !c.rangeEnd;
    if (!dormant) {
      const req: WatchRequest = { key: c.key.length === 0 ? Buffer.from([0]) : c.key };
      if (c.rangeEnd) req.rangeEnd = c.rangeEnd;
      if (c.startRevision !== 0) req.startRevision = c.startRevision;
      if (c.prevKv) req.prevKv = true;
      if (c.filters.length > 0) req.filters = c.filters;
      // The hub never calls back before watch() returns, so `created` goes out first.
      w.handle = this.wopts.kv.watch(
        req,
        (events, revision) => this.deliver(w, events, revision),
        (reason) => this.ended(w, reason),
      );
    }
    this.send({ header: this.header(), ...watchIdField(id), created: true });
    if (c.progressNotify) this.startProgressTimer();
  }

  /** etcd's answer to a create it refuses: created and canceled at once, watch_id -1. */
  private refuse(reason: string): void {
    this.send({ header: this.header(), watch_id: "-1", created: true, canceled: true, cancel_reason: reason });
  }

  private deliver(w: ActiveWatch, events: WatchEvent[], revision: number): boolean {
    if (this.closed) return false;
    w.sentSinceTick = true;
    const header = encodeHeader(this.wopts.eventHeader(), revision);
    const ok = this.send({ header, ...watchIdField(w.id), events: events.map(encodeEvent) });
    if (this.deferredProgress) this.queueProgressCheck();
    return ok;
  }

  private ended(w: ActiveWatch, reason: WatchCancelReason): void {
    if (this.watches.get(w.id) === w) this.watches.delete(w.id);
    if (this.closed) return;
    switch (reason.code) {
      case "canceled":
        this.send({ header: this.header(), ...watchIdField(w.id), canceled: true });
        return;
      case "compacted":
        // etcd's exact answer: no revision in the header, no cancel_reason.
        this.send({ header: this.header(null), ...watchIdField(w.id), canceled: true, compact_revision: String(reason.compactRevision) });
        return;
      case "closed":
        // The store is shutting down under us: what etcd's gateway sends then.
        this.fail(new ApiError(503, GrpcCode.Unavailable, "transport is closing"));
        return;
      case "callbackFailed":
        this.opts.log.error({ watchId: w.id, reason: reason.message }, "watch delivery failed; watch canceled");
        this.send({ header: this.header(), ...watchIdField(w.id), canceled: true, cancel_reason: reason.message });
        return;
      default:
        this.send({ header: this.header(), ...watchIdField(w.id), canceled: true, cancel_reason: reason.message });
    }
  }

  private cancel(id: number): void {
    const w = this.watches.get(id);
    // etcd answers nothing for an unknown watch ID.
    if (!w) {
      this.start();
      return;
    }
    if (w.handle) {
      w.handle.cancel();
    } else {
      this.watches.delete(id);
      this.send({ header: this.header(), ...watchIdField(id), canceled: true });
    }
  }

  /** Every watch has everything up to the store's revision and holds nothing back. */
  private allCaughtUp(): boolean {
    const revision = this.wopts.kv.header().revision;
    for (const w of this.watches.values()) {
      if (w.handle && (w.handle.pendingEvents > 0 || w.handle.nextRevision <= revision)) return false;
    }
    return true;
  }

  private requestProgress(): void {
    if (this.allCaughtUp()) this.sendProgress();
    else this.deferredProgress = true;
  }

  private sendProgress(): void {
    this.deferredProgress = false;
    this.send({ header: this.header(), watch_id: "-1" });
  }

  /** Checked after the store's apply step, when every synced watch got the revision. */
  private queueProgressCheck(): void {
    if (this.progressCheckQueued) return;
    this.progressCheckQueued = true;
    queueMicrotask(() => {
      this.progressCheckQueued = false;
      if (!this.closed && this.deferredProgress && this.allCaughtUp()) this.sendProgress();
    });
  }

  private startProgressTimer(): void {
    if (this.progressTimer) return;
    this.progressTimer = setInterval(() => this.progressTick(), this.wopts.progressNotifyMs);
  }

  /** etcd's progress_notify: an idle, caught-up watch hears the current revision now and then. */
  private progressTick(): void {
    if (this.closed) return;
    const revision = this.wopts.kv.header().revision;
    for (const w of [...this.watches.values()]) {
      if (!w.progressNotify || !w.handle) continue;
      if (w.sentSinceTick) {
        w.sentSinceTick = false;
        continue;
      }
      if (w.handle.pendingEvents === 0 && w.handle.nextRevision > revision) {
        this.send({ header: this.header(), ...watchIdField(w.id) });
      }
    }
  }

  protected override onDrain(): void {
    for (const w of [...this.watches.values()]) w.handle?.resume();
  }

  protected onClose(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = null;
    const open = [...this.watches.values()];
    this.watches.clear();
    for (const w of open) w.handle?.cancel();
  }
}
