// A watch response: newline-delimited JSON watch events for one client, fed
// by the resource's watch cache, filtered by namespace, name and selectors
// (an object that stops matching leaves as DELETED, one that starts matching
// arrives as ADDED, as Kubernetes' cacher does), with bookmarks on request,
// a timeout, and 410 Gone as an ERROR event when the start is too old.

import type { ServerResponse } from "node:http";
import type { KubeObject } from "../api/types.js";
import { apiVersionOf, type ResourceInfo } from "../api/resources.js";
import { objectJson, type CacheWatcher, type WatchCache } from "./watch-cache.js";
import type { Matcher, TableData } from "./model.js";
import { StatusError } from "./status.js";

export interface WatchParams {
  info: ResourceInfo;
  cache: WatchCache;
  namespace?: string;
  name?: string;
  label?: Matcher;
  field?: Matcher;
  /** "" or "0": start with ADDED events for what exists; otherwise events after this revision. */
  resourceVersion: string;
  bookmarks: boolean;
  timeoutSeconds: number;
  /** Interval between bookmarks. */
  bookmarkEveryMs: number;
  /** Turns an object into what is sent (a Table for kubectl get -w). */
  render?: (obj: KubeObject) => string;
  /** Serves a start older than the cache's window (from the store); without it such a start is 410 Gone. */
  fallback?: (fromRev: number, w: CacheWatcher) => () => void;
}

/** A slow client holding more than this many unsent bytes is cut off (it resumes with its last resourceVersion). */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

export function serveWatch(res: ServerResponse, p: WatchParams): void {
  const { cache } = p;
  const matches = (o: KubeObject): boolean =>
    (p.namespace === undefined || !p.info.namespaced || o.metadata.namespace === p.namespace) &&
    (p.name === undefined || o.metadata.name === p.name) &&
    (!p.label || p.label(o)) &&
    (!p.field || p.field(o));

  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked", "cache-control": "no-cache" });
  res.flushHeaders();
  let ended = false;
  let lastSentRev = 0;
  let stop: (() => void) | null = null;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    if (ended) return;
    ended = true;
    stop?.();
    for (const t of timers) clearTimeout(t);
    res.end();
  };

  const send = (type: string, objectJson: string): void => {
    if (ended) return;
    res.write(`{"type":"${type}","object":${objectJson}}\n`);
    if (res.writableLength > MAX_BUFFERED_BYTES) finish();
  };
  const render = (o: KubeObject) => (p.render ? p.render(o) : objectJson(o));

  let startRev: number;
  if (p.resourceVersion === "" || p.resourceVersion === "0") {
    startRev = cache.revision();
    for (const o of cache.list()) if (matches(o)) send("ADDED", render(o));
  } else {
    startRev = Number(p.resourceVersion);
    if (!Number.isSafeInteger(startRev) || startRev < 0) {
      sendError(res, new StatusError({ apiVersion: "v1", kind: "Status", metadata: {}, status: "Failure", reason: "BadRequest", message: `invalid resourceVersion ${JSON.stringify(p.resourceVersion)}`, code: 400 }));
      return;
    }
  }
  lastSentRev = startRev;

  const watcher: CacheWatcher = {
    onEvent(ev) {
      if (ev.rev <= startRev) return;
      const now = matches(ev.obj);
      const before = ev.prev ? matches(ev.prev) : false;
      let type: string | null = null;
      if (ev.type === "DELETED") type = before ? "DELETED" : null;
      else if (now && before) type = "MODIFIED";
      else if (now) type = "ADDED";
      else if (before) type = "DELETED";
      if (type) {
        send(type, render(ev.obj));
        lastSentRev = ev.rev;
      }
    },
    onEnd(_reason, status) {
      if (status) send("ERROR", JSON.stringify(status));
      finish();
    },
  };
  // A watch served from the store replays history behind the cache: its
  // bookmarks may only claim what it has delivered.
  let fromStore = false;
  try {
    stop = cache.addWatcher(startRev, watcher);
  } catch (err) {
    if (err instanceof StatusError && err.code === 410 && p.fallback) {
      fromStore = true;
      stop = p.fallback(startRev, watcher);
    } else if (err instanceof StatusError) {
      send("ERROR", JSON.stringify(err.status));
      finish();
      return;
    } else throw err;
  }

  res.on("close", finish);
  timers.push(setTimeout(finish, p.timeoutSeconds * 1000));
  if (p.bookmarks) {
    const tick = (): void => {
      if (ended) return;
      const rv = fromStore ? lastSentRev : Math.max(lastSentRev, cache.revision());
      const bookmark = { kind: p.info.kind, apiVersion: apiVersionOf(p.info), metadata: { resourceVersion: String(rv) } };
      send("BOOKMARK", JSON.stringify(bookmark));
      timers.push(setTimeout(tick, p.bookmarkEveryMs));
    };
    timers.push(setTimeout(tick, p.bookmarkEveryMs));
  }
}

function sendError(res: ServerResponse, err: StatusError): void {
  res.write(`{"type":"ERROR","object":${JSON.stringify(err.status)}}\n`);
  res.end();
}

/** A Table of one object, for watch events of kubectl get -w. */
export function tableEvent(table: TableData, version: string, includeObject: string, rv: string): string {
  return JSON.stringify({
    kind: "Table",
    apiVersion: `meta.k8s.io/${version}`,
    metadata: { resourceVersion: rv },
    columnDefinitions: table.columnDefinitions,
    rows: table.rows.map((r) => ({ cells: r.cells, object: rowObject(r.object, includeObject) })),
  });
}

export function rowObject(o: KubeObject, includeObject: string): unknown {
  if (includeObject === "None") return undefined;
  if (includeObject === "Object") return o;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}
