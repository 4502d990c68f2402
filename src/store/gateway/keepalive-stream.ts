// One POST /v3/lease/keepalive: each {"ID": ...} in the body is answered, in
// order, by one `{"result": {"header", "ID", "TTL"}}` line; the stream stays
// open for more while the request body does, and once the body has ended and
// every keepalive asked is answered the response ends, as etcd's gateway does
// (its LeaseKeepAlive returns at the client's EOF). An unknown or expired lease is not an
// error: etcd answers it with TTL left out (0). Keepalives are refreshed on
// the leader (KvService forwards them from a follower).

import { GrpcCode } from "../../client/etcd-types.js";
import type * as W from "../../client/etcd-types.js";
import { ApiError, type KvService } from "../kv-service.js";
import { decodeLeaseId, encodeHeader, type JsonObject } from "./codec.js";
import { toApiError } from "./errors.js";
import { MAX_QUEUED_KEEPALIVES } from "./limits.js";
import { JsonLineStream, type StreamOptions } from "./stream.js";

export interface KeepAliveStreamOptions extends StreamOptions {
  kv: KvService;
}

export class KeepAliveStream extends JsonLineStream {
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    req: ConstructorParameters<typeof JsonLineStream>[0],
    res: ConstructorParameters<typeof JsonLineStream>[1],
    private readonly kopts: KeepAliveStreamOptions,
  ) {
    super(req, res, kopts);
  }

  protected onRequest(obj: JsonObject): void {
    const id = decodeLeaseId(obj);
    if (this.queued >= MAX_QUEUED_KEEPALIVES) {
      this.fail(new ApiError(429, GrpcCode.ResourceExhausted, `etcdserver: too many keepalives waiting on one stream (limit ${MAX_QUEUED_KEEPALIVES})`));
      return;
    }
    this.queued++;
    // One at a time, so the answers come in request order.
    this.queue = this.queue.then(() => this.keepAlive(id)).finally(() => this.queued--);
  }

  private async keepAlive(id: number): Promise<void> {
    if (this.closed) return;
    const { kv } = this.kopts;
    let ttl = 0;
    try {
      ttl = await kv.leaseKeepAlive(id);
    } catch (err) {
      const api = toApiError(err, this.opts.log, { path: "/v3/lease/keepalive", lease: id });
      if (api.grpcCode !== GrpcCode.NotFound) {
        this.fail(api);
        return;
      }
    }
    const result: W.LeaseKeepAliveResponse = { header: encodeHeader(kv.header()) };
    if (id !== 0) result.ID = String(id);
    if (ttl > 0) result.TTL = String(ttl);
    this.send(result);
  }

  protected override onBodyEnd(): void {
    // Answer everything already asked, then end (keepAlive never rejects).
    void this.queue.then(() => this.finish());
  }

  protected onClose(): void {
    // Keepalives in flight finish on the leader; their answers are dropped.
  }
}
