// Objects in the store: JSON values at /registry/<resource>/<ns>/<name>, the
// resourceVersion taken from the key's modRevision on the way out (never
// stored), and the conditional writes (create if absent, update or delete if
// unchanged) that give the API its optimistic concurrency.

import type { KubeObject } from "../api/types.js";
import type { KvService } from "../store/kv-service.js";
import { ApiError } from "../store/kv-service.js";
import type { Compare, KeyValue, RequestOp } from "../store/mvcc/index.js";
import { prefixRangeEnd } from "../store/mvcc/index.js";
import { errors, StatusError } from "./status.js";

export const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");

export interface Stored {
  obj: KubeObject;
  modRevision: number;
}

export function encodeObject(obj: KubeObject): Uint8Array {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata: meta }), "utf8");
}

export function decodeKv(kv: KeyValue): KubeObject {
  const obj = JSON.parse(Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString("utf8")) as KubeObject;
  obj.metadata = { ...obj.metadata, resourceVersion: String(kv.modRevision) };
  return obj;
}

/** A store failure as a Status: 410 for compacted, 503/504 for no leader or unknown outcome. */
export function storeFailure(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof ApiError) {
    if (/compacted/.test(err.message)) return errors.gone(`too old resource version: ${err.message}`);
    if (err.httpStatus === 403) return errors.forbidden(null, "", err.message);
    if (err.httpStatus === 504) return errors.timeout(err.message);
    if (err.httpStatus >= 500) return errors.unavailable(err.message);
    if (/future revision/.test(err.message)) return errors.timeout(`Too large resource version: ${err.message}`);
    return errors.badRequest(err.message);
  }
  return errors.internal((err as Error)?.message ?? String(err));
}

export interface WriteOpts {
  fenceTerm?: number;
}

/** Extra ops and compares that ride along a write in the same txn (port and IP reservations). */
export interface TxnExtras {
  compare: Compare[];
  ops: RequestOp[];
}

export class ObjectStorage {
  constructor(private readonly kv: KvService) {}

  async get(key: string, serializable = false): Promise<Stored | null> {
    try {
      const r = await this.kv.range({ key: enc(key) }, serializable);
      const kv = r.kvs[0];
      return kv ? { obj: decodeKv(kv), modRevision: kv.modRevision } : null;
    } catch (err) {
      throw storeFailure(err);
    }
  }

  /** Whether a raw key (a reservation) exists. */
  async exists(key: string): Promise<boolean> {
    try {
      return (await this.kv.range({ key: enc(key), countOnly: true }, false)).count > 0;
    } catch (err) {
      throw storeFailure(err);
    }
  }

  /** Keys under prefix from startKey on, at revision (0 = now). */
  async list(
    prefix: string,
    opts: { startKey?: string; limit?: number; revision?: number; serializable?: boolean } = {},
  ): Promise<{ items: Stored[]; more: boolean; revision: number; count: number }> {
    try {
      const r = await this.kv.range(
        {
          key: enc(opts.startKey ?? prefix),
          rangeEnd: prefixRangeEnd(enc(prefix)),
          ...(opts.limit ? { limit: opts.limit } : {}),
          ...(opts.revision ? { revision: opts.revision } : {}),
        },
        opts.serializable ?? false,
      );
      return {
        items: r.kvs.map((kv) => ({ obj: decodeKv(kv), modRevision: kv.modRevision })),
        more: r.more,
        revision: opts.revision || r.revision,
        count: r.count,
      };
    } catch (err) {
      throw storeFailure(err);
    }
  }

  /** The store's revision after a linearizable read (what a consistent list must reflect). */
  async currentRevision(): Promise<number> {
    try {
      const r = await this.kv.range({ key: enc("/registry/\u0000none") , countOnly: true }, false);
      return r.revision;
    } catch (err) {
      throw storeFailure(err);
    }
  }

  /** Creates key unless it exists. Returns the new revision, or null when it existed (or an extra compare failed). */
  async create(key: string, obj: KubeObject, extras: TxnExtras | null, opts: WriteOpts): Promise<number | null> {
    const k = enc(key);
    return this.txn(
      [{ key: k, target: "CREATE", result: "EQUAL", createRevision: 0 }, ...(extras?.compare ?? [])],
      [{ type: "put", request: { key: k, value: encodeObject(obj) } }, ...(extras?.ops ?? [])],
      opts,
    );
  }

  /** Replaces key if its modRevision is still `modRevision`. Null on a lost race. */
  async update(key: string, modRevision: number, obj: KubeObject, extras: TxnExtras | null, opts: WriteOpts): Promise<number | null> {
    const k = enc(key);
    return this.txn(
      [{ key: k, target: "MOD", result: "EQUAL", modRevision }, ...(extras?.compare ?? [])],
      [{ type: "put", request: { key: k, value: encodeObject(obj) } }, ...(extras?.ops ?? [])],
      opts,
    );
  }

  /** Deletes key if its modRevision is still `modRevision`. */
  async delete(key: string, modRevision: number, extras: TxnExtras | null, opts: WriteOpts): Promise<number | null> {
    const k = enc(key);
    return this.txn(
      [{ key: k, target: "MOD", result: "EQUAL", modRevision }, ...(extras?.compare ?? [])],
      [{ type: "deleteRange", request: { key: k } }, ...(extras?.ops ?? [])],
      opts,
    );
  }

  async txn(compare: Compare[], success: RequestOp[], opts: WriteOpts): Promise<number | null> {
    try {
      const r = await this.kv.write({ type: "txn", request: { compare, success, failure: [] } }, opts.fenceTerm !== undefined ? { fenceTerm: opts.fenceTerm } : {});
      return r.succeeded ? r.revision : null;
    } catch (err) {
      throw storeFailure(err);
    }
  }
}
