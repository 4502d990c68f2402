// A watch served straight from the store, for a start revision older than
// the watch cache's window but not yet compacted (a master that restarted
// holds a short window): the client still resumes without a gap, and 410
// Gone is answered only after compaction, as the store itself would.

import type { ResourceInfo } from "../api/resources.js";
import type { KvService } from "../store/kv-service.js";
import { prefixRangeEnd } from "../store/mvcc/index.js";
import { errors } from "./status.js";
import { decodeKv, enc } from "./storage.js";
import { CacheEvent, type CacheWatcher } from "./watch-cache.js";

/** Starts the watch; returns the function that stops it. Events after `fromRev` go to `w`. */
export function watchFromStore(kv: KvService, info: ResourceInfo, fromRev: number, w: CacheWatcher): () => void {
  const prefix = enc(info.registryPrefix);
  let ended = false;
  const handle = kv.watch(
    { key: prefix, rangeEnd: prefixRangeEnd(prefix), startRevision: fromRev + 1, prevKv: true },
    (events, revision) => {
      if (ended) return true;
      for (const e of events) {
        const key = Buffer.from(e.kv.key).toString("utf8");
        const prev = e.prevKv ? decodeKv(e.prevKv) : null;
        if (e.type === "DELETE") {
          if (!prev) continue;
          const gone = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(e.kv.modRevision) } };
          w.onEvent(new CacheEvent("DELETED", key, gone, prev, revision));
        } else {
          w.onEvent(new CacheEvent(e.kv.createRevision === e.kv.modRevision ? "ADDED" : "MODIFIED", key, decodeKv(e.kv), prev, revision));
        }
      }
      return true;
    },
    (reason) => {
      if (ended) return;
      ended = true;
      if (reason.code === "compacted") w.onEnd("compacted", errors.gone(`too old resource version: ${fromRev} (${reason.compactRevision})`).status);
      else w.onEnd(reason.message);
    },
  );
  return () => {
    if (ended) return;
    ended = true;
    handle.cancel();
  };
}
