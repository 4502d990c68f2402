// A typed client of the Kubernetes-shaped API (ARCHITECTURE §5), used by
// pinctl, the kubelet, the proxy, and the leader-only loops on the masters.
// It tries the configured API servers in turn and sticks to the one that
// answered; a request is retried on another server only when it certainly did
// not reach the first (connection refused/reset before sending), or when the
// server answered 503 (no leader there yet). Errors are KubeApiError with the
// server's Status object, so callers can switch on `reason` (NotFound,
// AlreadyExists, Conflict, Gone, ...).

import http from "node:http";
import type { KubeObject, ObjectList, Status, WatchEvent } from "../api/types.js";
import { lookupResource, resourcePath, type ResourceInfo } from "../api/resources.js";

export interface KubeClientOptions {
  /** API base URLs such as http://127.0.0.11:6443, tried in turn. */
  servers: string[];
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Local address to dial from (each master/node has its own 127.0.0.x). */
  localAddress?: string;
  /** Time for one non-streaming request, until the whole answer is in. */
  timeoutMs?: number;
  /** Extra headers sent with every request (for example a fencing term). */
  headers?: Record<string, string>;
  userAgent?: string;
}

export type PatchType = "merge" | "strategic" | "json" | "apply";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions extends Omit<ListOptions, "limit" | "continue"> {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  /** Accept header of the stream (pinctl get -w asks for meta/v1 Table rows). */
  accept?: string;
}

export interface DeleteOptions {
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WriteOptions {
  subresource?: string;
  fieldValidation?: "Strict" | "Warn" | "Ignore";
  dryRun?: boolean;
}

/** An answer of the API other than 2xx, or a failure to get one. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  constructor(
    /** HTTP status; 0 when no server could be reached. */
    readonly code: number,
    /** Status.reason: NotFound, AlreadyExists, Conflict, Invalid, Gone, Unauthorized, ... */
    readonly reason: string,
    message: string,
    readonly status: Status | null = null,
  ) {
    super(message);
  }
  get notFound(): boolean {
    return this.code === 404;
  }
  get conflict(): boolean {
    return this.code === 409;
  }
  get gone(): boolean {
    return this.code === 410;
  }
}

/** A running watch. `done` settles when the stream ends: null for a clean end
 *  (server timeout), an error otherwise (410 Gone as KubeApiError). */
export interface WatchHandle {
  stop(): void;
  readonly done: Promise<KubeApiError | Error | null>;
}

type ResourceRef = ResourceInfo | string;

function resolve(ref: ResourceRef): ResourceInfo {
  if (typeof ref !== "string") return ref;
  const info = lookupResource(ref);
  if (!info) throw new KubeApiError(404, "NotFound", `the server doesn't have a resource type "${ref}"`);
  return info;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === "") continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

interface RawResponse {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

/** Errors that prove the request never reached a server: safe to retry elsewhere. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ECONNRESET_BEFORE_SEND"]);

export class KubeClient {
  private readonly agent: http.Agent;
  private current = 0;
  readonly servers: string[];

  constructor(private readonly opts: KubeClientOptions) {
    if (opts.servers.length === 0) throw new Error("KubeClient needs at least one server");
    this.servers = opts.servers.map((s) => s.replace(/\/+$/, ""));
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  }

  /** The server that answered last. */
  get server(): string {
    return this.servers[this.current]!;
  }

  close(): void {
    this.agent.destroy();
  }

  // ------------------------------------------------------------- typed verbs

  async get<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace: string | undefined, name: string, sub?: string): Promise<T> {
    return this.json<T>("GET", resourcePath(resolve(ref), namespace, name, sub));
  }

  async list<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const q = query({
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: opts.limit,
      continue: opts.continue,
      resourceVersion: opts.resourceVersion,
    });
    return this.json<ObjectList<T>>("GET", resourcePath(resolve(ref), opts.namespace) + q);
  }

  /** Lists every page (limit/continue) into one list. */
  async listAll<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const first = await this.list<T>(ref, opts);
    const items = [...first.items];
    let cont = first.metadata.continue;
    while (cont) {
      const page = await this.list<T>(ref, { ...opts, continue: cont });
      items.push(...page.items);
      cont = page.metadata.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
  }

  async create<T extends KubeObject>(ref: ResourceRef, obj: T, opts: WriteOptions & { namespace?: string } = {}): Promise<T> {
    const info = resolve(ref);
    const ns = opts.namespace ?? obj.metadata?.namespace ?? (info.namespaced ? "default" : undefined);
    const name = opts.subresource ? obj.metadata.name : undefined;
    return this.json<T>("POST", resourcePath(info, ns, name, opts.subresource) + this.writeQuery(opts), obj);
  }

  async update<T extends KubeObject>(ref: ResourceRef, obj: T, opts: WriteOptions = {}): Promise<T> {
    const info = resolve(ref);
    const name = obj.metadata.name;
    if (!name) throw new KubeApiError(422, "Invalid", "update needs metadata.name");
    return this.json<T>("PUT", resourcePath(info, obj.metadata.namespace, name, opts.subresource) + this.writeQuery(opts), obj);
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType = "merge",
    opts: WriteOptions & { fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    const path = resourcePath(resolve(ref), namespace, name, opts.subresource);
    const q = query({
      fieldValidation: opts.fieldValidation,
      dryRun: opts.dryRun ? "All" : undefined,
      fieldManager: opts.fieldManager,
      force: opts.force,
    });
    return this.json<T>("PATCH", path + q, patch, PATCH_CONTENT_TYPES[type]);
  }

  async delete<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    const body = Object.keys(opts).length ? { apiVersion: "v1", kind: "DeleteOptions", ...opts } : undefined;
    return this.json<T | Status>("DELETE", resourcePath(resolve(ref), namespace, name), body);
  }

  /** Streams watch events to onEvent until stopped, the server ends it, or an error. */
  watch<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    const info = resolve(ref);
    const q = query({
      watch: 1,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks,
      timeoutSeconds: opts.timeoutSeconds,
    });
    return this.stream(resourcePath(info, opts.namespace) + q, (line) => {
      const event = JSON.parse(line) as WatchEvent<T>;
      if (event.type === "ERROR") {
        const st = event.object as unknown as Status;
        throw new KubeApiError(st.code ?? 500, st.reason ?? "InternalError", st.message ?? "watch error", st);
      }
      onEvent(event);
    }, opts.accept ? { accept: opts.accept } : {});
  }

  /** Streams a pod's log lines (chunks as they come) until the server ends. */
  logs(namespace: string, pod: string, opts: { container?: string; follow?: boolean; tailLines?: number; previous?: boolean; timestamps?: boolean; sinceSeconds?: number }, onChunk: (text: string) => void): WatchHandle {
    const q = query({
      container: opts.container,
      follow: opts.follow,
      tailLines: opts.tailLines,
      previous: opts.previous,
      timestamps: opts.timestamps,
      sinceSeconds: opts.sinceSeconds,
    });
    return this.stream(resourcePath(resolve("pods"), namespace, pod, "log") + q, onChunk, { raw: true });
  }

  // ------------------------------------------------------------- raw access

  /** One request with failover; throws KubeApiError on non-2xx. */
  async json<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    const res = await this.request(method, path, payload, contentType);
    const text = res.body.toString("utf8");
    if (res.status < 200 || res.status >= 300) throw errorFrom(res.status, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async request(method: string, path: string, body?: Buffer, contentType = "application/json", accept = "application/json"): Promise<RawResponse> {
    let lastErr: Error | null = null;
    for (let attempt = 0; attempt < this.servers.length * 2; attempt++) {
      const index = (this.current + attempt) % this.servers.length;
      try {
        const res = await this.once(this.servers[index]!, method, path, body, contentType, accept);
        // A master that has no leader yet answers 503; another may have one.
        if (res.status === 503 && attempt < this.servers.length * 2 - 1) {
          lastErr = errorFrom(res.status, res.body.toString("utf8"));
          if (attempt >= this.servers.length - 1) await sleep(200);
          continue;
        }
        this.current = index;
        return res;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "";
        lastErr = err as Error;
        const safeToRetry = NOT_SENT_CODES.has(code) || method === "GET" || (err as { notSent?: boolean }).notSent === true;
        if (!safeToRetry) throw new KubeApiError(0, "ServerTimeout", `${method} ${path}: outcome unknown: ${(err as Error).message}`);
      }
    }
    if (lastErr instanceof KubeApiError) throw lastErr;
    throw new KubeApiError(0, "ServiceUnavailable", `no API server answered (${this.servers.join(", ")}): ${lastErr?.message ?? "unknown error"}`);
  }

  private writeQuery(opts: WriteOptions): string {
    return query({ fieldValidation: opts.fieldValidation, dryRun: opts.dryRun ? "All" : undefined });
  }

  private headers(contentType?: string, accept = "application/json"): Record<string, string> {
    const h: Record<string, string> = { Accept: accept, "User-Agent": this.opts.userAgent ?? "pinsetter-client", ...this.opts.headers };
    if (contentType) h["Content-Type"] = contentType;
    if (this.opts.token) h.Authorization = `Bearer ${this.opts.token}`;
    return h;
  }

  private once(server: string, method: string, path: string, body: Buffer | undefined, contentType: string, accept: string): Promise<RawResponse> {
    const url = new URL(server + path);
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    return new Promise((resolvePromise, reject) => {
      const req = http.request(
        url,
        { method, agent: this.agent, headers: { ...this.headers(body ? contentType : undefined, accept), ...(body ? { "Content-Length": String(body.length) } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
          res.on("error", reject);
        },
      );
      let connected = false;
      req.on("socket", (s) => {
        if (!s.connecting) connected = true;
        else s.once("connect", () => (connected = true));
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" })));
      req.on("error", (err) => {
        if (!connected) Object.assign(err, { notSent: true });
        reject(err);
      });
      req.end(body);
    });
  }

  private stream(path: string, onData: (lineOrChunk: string) => void, opts: { raw?: boolean; accept?: string } = {}): WatchHandle {
    let req: http.ClientRequest | null = null;
    let stopped = false;
    let settle!: (v: KubeApiError | Error | null) => void;
    const done = new Promise<KubeApiError | Error | null>((r) => (settle = r));
    const finish = (v: KubeApiError | Error | null) => {
      if (stopped) return;
      stopped = true;
      req?.destroy();
      settle(v);
    };
    const tryServer = (attempt: number) => {
      if (stopped) return;
      const index = (this.current + attempt) % this.servers.length;
      const url = new URL(this.servers[index]! + path);
      req = http.request(url, { method: "GET", agent: this.agent, headers: this.headers(undefined, opts.accept ?? (opts.raw ? "*/*" : "application/json")) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (status === 503 && attempt + 1 < this.servers.length) return tryServer(attempt + 1);
            finish(errorFrom(status, Buffer.concat(chunks).toString("utf8")));
          });
          return;
        }
        this.current = index;
        res.setEncoding("utf8");
        let buffered = "";
        res.on("data", (chunk: string) => {
          if (stopped) return;
          try {
            if (opts.raw) return onData(chunk);
            buffered += chunk;
            let nl: number;
            while ((nl = buffered.indexOf("\n")) >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line) onData(line);
            }
          } catch (err) {
            finish(err as Error);
          }
        });
        res.on("end", () => finish(null));
        res.on("error", (err) => finish(err));
        res.on("close", () => finish(null));
      });
      req.on("error", (err) => {
        if (stopped) return;
        if ((err as { code?: string }).code === "ECONNREFUSED" && attempt + 1 < this.servers.length) return tryServer(attempt + 1);
        finish(err);
      });
      req.end();
    };
    tryServer(0);
    return {
      stop: () => finish(null),
      done,
    };
  }
}

function errorFrom(status: number, text: string): KubeApiError {
  try {
    const st = JSON.parse(text) as Status;
    if (st && st.kind === "Status") return new KubeApiError(status, st.reason ?? "Unknown", st.message ?? `HTTP ${status}`, st);
  } catch {
    // not a Status body: fall through
  }
  const reason = status === 404 ? "NotFound" : status === 401 ? "Unauthorized" : status === 503 ? "ServiceUnavailable" : "Unknown";
  return new KubeApiError(status, reason, text.trim().slice(0, 500) || `HTTP ${status}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
