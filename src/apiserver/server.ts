// The Kubernetes-shaped HTTP API on a master's apiPort (ARCHITECTURE §5):
// bearer-token auth, discovery and OpenAPI, then every resource route, each
// answered from the Registry (writes, linearizable reads) or the watch caches
// (watches, lists at resourceVersion=0), with meta/v1 Status errors.

import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server as NetServer } from "node:net";
import type { Logger } from "pino";
import { apiVersionOf, lookupResource, type ResourceInfo } from "../api/resources.js";
import type { KubeObject, Node, ObjectList, Pod } from "../api/types.js";
import type { KvService } from "../store/kv-service.js";
import { decode, readBody, YAML_TYPES } from "./body.js";
import { apiGroup, apiGroupList, apiVersions, openApiV3Doc, openApiV3Index, resourceList, versionInfo } from "./discovery.js";
import { logTarget, proxyLogs } from "./logs.js";
import { OPENAPI_V2_PROTOBUF, openApiV2Protobuf } from "./openapi-v2.js";
import { decodeProtobufBody, PROTOBUF_TYPE } from "./protobuf.js";
import { findDuplicateFields, findUnknownFields, parseFieldSelector, parseLabelSelector, SelectorError, strictDecodingError, tableFor, type Matcher } from "./model.js";
import { negotiate, writeBody, type OutputFormat } from "./negotiate.js";
import { Registry, type DeleteOptions, type ListQuery, type PatchKind, type WriteContext } from "./registry.js";
import { parseRequestPath, type ResourceRequest } from "./request-info.js";
import { errors, StatusError } from "./status.js";
import { dualProtocolServer, ensureServingCert } from "./tls.js";
import { rowObject, serveWatch, tableEvent } from "./watch.js";
import { objectJson } from "./watch-cache.js";
import { watchFromStore } from "./store-watch.js";

export interface ApiServerOptions {
  kv: KvService;
  host: string;
  port: number;
  /** The cluster token; null turns authentication off. */
  token: string | null;
  /** Token presented to kubelets when proxying logs. */
  kubeletToken: string | null;
  logger: Logger;
  /** Whether this master can serve (has a leader, applied its log): /readyz. */
  ready?: () => boolean;
  bodyLimit?: number;
  /** Bookmark interval for watches that allow them (Kubernetes: about a minute). */
  bookmarkEveryMs?: number;
  /** Where this master keeps its TLS serving certificate; without it only plain HTTP is served. */
  certDir?: string;
  /** Aggregated APIs served beside the built-in ones (metrics.k8s.io), after authentication. */
  extensions?: ApiExtension[];
}

/** An API group served by other code on the same port, as kube-aggregator adds one. */
export interface ApiExtension {
  /** The APIGroup entry listed in /apis. */
  group: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion: { groupVersion: string; version: string } };
  /** Answers the request and returns true, or returns false for paths it does not own. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

const PATCH_KINDS: Record<string, PatchKind> = {
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/json-patch+json": "json",
  "application/apply-patch+yaml": "strategic",
};

export const FENCE_HEADER = "x-pinsetter-fence-term";

export class ApiServer {
  readonly registry: Registry;
  private server: { server: NetServer; destroyAll(): void } | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: ApiServerOptions) {
    this.log = opts.logger;
    this.registry = new Registry(opts.kv, opts.logger);
  }

  /** Starts the watch caches and listens on host:port. */
  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    const api = new ApiServer(opts);
    api.registry.start();
    const handler = (req: IncomingMessage, res: ServerResponse) => api.handle(req, res);
    const http = createServer(handler);
    const cert = opts.certDir ? ensureServingCert(opts.certDir, opts.host, opts.logger) : null;
    const https = cert ? createHttpsServer({ cert: cert.cert, key: cert.key }, handler) : null;
    for (const s of [http, https]) {
      if (!s) continue;
      s.keepAliveTimeout = 30_000;
      // Watches and followed logs stay open for a long time.
      s.requestTimeout = 0;
    }
    const dual = dualProtocolServer(http, https);
    const server = dual.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    api.server = dual;
    opts.logger.info({ host: opts.host, apiPort: opts.port, tls: https !== null }, "API server listening");
    return api;
  }

  async close(): Promise<void> {
    this.registry.close();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.server.close(() => resolve());
      server.destroyAll();
    });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((err: unknown) => this.fail(req, res, err));
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    let status: StatusError;
    if (err instanceof StatusError) status = err;
    else if (err instanceof SelectorError) status = errors.badRequest(`unable to parse selector: ${err.message}`);
    else {
      this.log.error({ err, method: req.method, url: req.url }, "API request failed unexpectedly");
      status = errors.internal((err as Error)?.message ?? String(err));
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    writeBody(res, status.code, status.status, negotiate(req.headers.accept, false).kind === "yaml" ? { kind: "yaml" } : { kind: "json" });
  }

  /**
   * Built-in groups with the extensions' groups merged in: an extension may
   * serve another version of a built-in group (autoscaling/v1 beside v2);
   * the built-in preferred version stays preferred.
   */
  private mergeGroups(builtIn: ApiExtension["group"][]): ApiExtension["group"][] {
    const groups = builtIn.map((g) => ({ ...g, versions: [...g.versions] }));
    for (const ext of this.opts.extensions ?? []) {
      const same = groups.find((g) => g.name === ext.group.name);
      if (!same) {
        groups.push(ext.group);
        continue;
      }
      for (const v of ext.group.versions) if (!same.versions.some((x) => x.version === v.version)) same.versions.push(v);
    }
    return groups;
  }

  private authenticated(req: IncomingMessage): boolean {
    const token = this.opts.token;
    if (token === null) return true;
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("Bearer ")) return false;
    const a = Buffer.from(header.slice(7).trim());
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const method = req.method ?? "GET";

    if (path === "/healthz" || path === "/livez" || path === "/readyz") {
      const ready = path !== "/readyz" || (this.opts.ready?.() ?? true);
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" });
      res.end(ready ? "ok" : "not ready: no leader or log not applied");
      return;
    }
    if (!this.authenticated(req)) {
      req.resume();
      throw errors.unauthorized();
    }

    for (const ext of this.opts.extensions ?? []) {
      if (path === `/apis/${ext.group.name}` || path.startsWith(`/apis/${ext.group.name}/`)) {
        if (await ext.handle(req, res)) return;
      }
    }

    const target = parseRequestPath(path);
    if (target.kind === "other") {
      if (method !== "GET" && method !== "HEAD") throw errors.methodNotAllowed(method);
      this.serveDiscovery(req, res, target.path);
      return;
    }
    await this.serveResource(req, res, url, target);
  }

  private serveDiscovery(req: IncomingMessage, res: ServerResponse, path: string): void {
    const fmt: OutputFormat = { kind: "json" };
    const parts = path.split("/").filter((p) => p !== "");
    if (path === "/version") return writeBody(res, 200, versionInfo(), fmt);
    if (path === "/api") return writeBody(res, 200, apiVersions(`${this.opts.host}:${this.opts.port}`), fmt);
    if (path === "/apis") {
      const list = apiGroupList() as { groups: ApiExtension["group"][] };
      return writeBody(res, 200, { ...list, groups: this.mergeGroups(list.groups) }, fmt);
    }
    if (parts[0] === "api" && parts.length === 2) {
      const list = resourceList("", parts[1]!);
      if (list) return writeBody(res, 200, list, fmt);
    }
    if (parts[0] === "apis" && parts.length === 2) {
      const g = apiGroup(parts[1]!) as (ApiExtension["group"] & { kind: string; apiVersion: string }) | null;
      if (g) return writeBody(res, 200, { ...g, ...this.mergeGroups([g])[0] }, fmt);
    }
    if (parts[0] === "apis" && parts.length === 3) {
      const list = resourceList(parts[1]!, parts[2]!);
      if (list) return writeBody(res, 200, list, fmt);
    }
    if (path === "/openapi/v3") return writeBody(res, 200, openApiV3Index(), fmt);
    if (parts[0] === "openapi" && parts[1] === "v3") {
      const doc = openApiV3Doc(parts.slice(2).join("/"));
      if (doc) {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(doc.json), etag: `"${doc.hash}"` });
        res.end(doc.json);
        return;
      }
    }
    if (path === "/openapi/v2" || path === "/swagger.json") {
      // kubectl 1.27/1.28 ask for protobuf; there is no JSON form of it here.
      const body = openApiV2Protobuf();
      res.writeHead(200, { "content-type": OPENAPI_V2_PROTOBUF, "content-length": body.length });
      res.end(body);
      return;
    }
    if (path === "/" || path === "") {
      return writeBody(res, 200, { paths: ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"] }, fmt);
    }
    req.resume();
    throw errors.notFoundPath(`the server could not find the requested resource (${req.method} ${path})`);
  }

  // ------------------------------------------------------------------ resources

  private async serveResource(req: IncomingMessage, res: ServerResponse, url: URL, t: ResourceRequest): Promise<void> {
    const method = req.method ?? "GET";
    const q = url.searchParams;
    const info = t.info;
    const ctx = this.writeContext(req, q);
    const isWatch = t.legacyWatch || q.get("watch") === "1" || q.get("watch") === "true";

    if (method === "GET" || method === "HEAD") {
      const fmt = negotiate(req.headers.accept, t.subresource === undefined);
      if (fmt.kind === "none") throw errors.notAcceptable(`only application/json and application/yaml are served (Accept: ${fmt.accept})`);
      if (t.subresource === "log") return this.serveLogs(req, res, t, q);
      if (isWatch) return this.serveWatchRequest(res, t, q, fmt);
      if (t.name === undefined) {
        const list = await this.registry.list(info, this.listQuery(t, q));
        return this.respondList(res, info, list, fmt, q);
      }
      if (t.subresource === "scale") return writeBody(res, 200, await this.registry.getScale(info, t.namespace!, t.name), fmt);
      const obj = await this.registry.get(info, t.namespace, t.name, q.get("resourceVersion") ?? undefined);
      return this.respondObject(res, 200, info, obj, fmt, q);
    }

    const fmt = negotiate(req.headers.accept, false);
    const outFmt: OutputFormat = fmt.kind === "yaml" ? fmt : { kind: "json" };
    if (method === "POST") {
      if (t.name === undefined) {
        const body = await this.readObject(req, res, info, q);
        const created = await this.registry.create(info, t.namespace, body, ctx);
        return writeBody(res, 201, created, outFmt);
      }
      if (info.resource === "pods" && t.subresource === "binding") {
        const body = await this.readObject(req, res, info, q);
        return writeBody(res, 201, await this.registry.bind(t.namespace!, t.name, body, ctx), outFmt);
      }
      req.resume();
      throw errors.methodNotAllowed(method);
    }
    if (method === "PUT") {
      if (t.name === undefined || t.subresource === "log" || t.subresource === "binding") {
        req.resume();
        throw errors.methodNotAllowed(method);
      }
      const body = await this.readObject(req, res, info, q, t.subresource === "scale");
      if (t.subresource === "scale") return writeBody(res, 200, await this.registry.updateScale(info, t.namespace!, t.name, body, null, ctx), outFmt);
      const r = await this.registry.update(info, t.namespace, t.name, t.subresource === "finalize" ? "finalize" : t.subresource, body, ctx);
      return writeBody(res, r.created ? 201 : 200, r.obj, outFmt);
    }
    if (method === "PATCH") {
      if (t.name === undefined || t.subresource === "log" || t.subresource === "binding") {
        req.resume();
        throw errors.methodNotAllowed(method);
      }
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      const kind = PATCH_KINDS[type];
      if (!kind) {
        req.resume();
        throw errors.unsupportedMediaType(type || "none");
      }
      const patch = decode(await readBody(req, this.opts.bodyLimit), type);
      if (t.subresource === "scale") return writeBody(res, 200, await this.registry.updateScale(info, t.namespace!, t.name, patch, kind, ctx), outFmt);
      if (kind !== "json") this.checkFields(res, q, info, patch, true, () => []);
      const obj = await this.registry.patch(info, t.namespace, t.name, t.subresource, kind, patch, ctx);
      return writeBody(res, 200, obj, outFmt);
    }
    if (method === "DELETE") {
      const opts = await this.deleteOptions(req, q);
      if (t.name === undefined) {
        const list = await this.registry.deleteCollection(info, this.listQuery(t, q), opts, ctx);
        return writeBody(res, 200, list, outFmt);
      }
      if (t.subresource) throw errors.methodNotAllowed(method);
      const r = await this.registry.delete(info, t.namespace, t.name, opts, ctx);
      return writeBody(res, r.code, r.body, outFmt);
    }
    req.resume();
    throw errors.methodNotAllowed(method);
  }

  private writeContext(req: IncomingMessage, q: URLSearchParams): WriteContext {
    const ctx: WriteContext = {};
    const dryRun = q.getAll("dryRun");
    if (dryRun.length > 0) {
      if (dryRun.some((d) => d !== "All")) throw errors.badRequest(`dryRun: Unsupported value: ${JSON.stringify(dryRun.find((d) => d !== "All"))}: supported values: "All"`);
      ctx.dryRun = true;
    }
    const fence = req.headers[FENCE_HEADER];
    if (typeof fence === "string" && fence !== "") {
      const term = Number(fence);
      if (!Number.isSafeInteger(term) || term < 0) throw errors.badRequest(`invalid ${FENCE_HEADER} header ${JSON.stringify(fence)}`);
      ctx.fenceTerm = term;
    }
    return ctx;
  }

  private async readObject(req: IncomingMessage, res: ServerResponse, info: ResourceInfo, q: URLSearchParams, scale = false): Promise<unknown> {
    const type = (req.headers["content-type"] ?? "application/json").split(";")[0]!.trim().toLowerCase();
    if (type === PROTOBUF_TYPE) return decodeProtobufBody(await readBody(req, this.opts.bodyLimit));
    if (type !== "application/json" && !YAML_TYPES.test(type) && type !== "" && type !== "*/*") {
      req.resume();
      throw errors.unsupportedMediaType(type);
    }
    const buf = await readBody(req, this.opts.bodyLimit);
    const body = decode(buf, type);
    if (!scale) this.checkFields(res, q, info, body, false, () => findDuplicateFields(buf));
    return body;
  }

  /**
   * fieldValidation: Strict refuses unknown and duplicate fields (400), Warn
   * (the default, as in Kubernetes) answers unknown ones with Warning headers,
   * Ignore skips.
   */
  private checkFields(res: ServerResponse, q: URLSearchParams, info: ResourceInfo, body: unknown, patch: boolean, dupsOf: () => string[]): void {
    const mode = q.get("fieldValidation") ?? "Warn";
    if (mode === "Ignore") return;
    if (mode !== "Strict" && mode !== "Warn") throw errors.badRequest(`fieldValidation: Unsupported value: ${JSON.stringify(mode)}: supported values: "Ignore", "Warn", "Strict"`);
    const unknown = findUnknownFields(info, body, { allowDirectives: patch });
    // Finding duplicates re-parses the body: only when they would be refused.
    const dups = mode === "Strict" ? dupsOf() : [];
    if (unknown.length === 0 && dups.length === 0) return;
    if (mode === "Warn") {
      res.setHeader("Warning", [...unknown.map((f) => `299 - ${JSON.stringify(`unknown field "${f}"`)}`), ...dups.map((f) => `299 - ${JSON.stringify(`duplicate field "${f}"`)}`)]);
      return;
    }
    const message = strictDecodingError(unknown, dups)!;
    throw errors.badRequest(message, [
      ...unknown.map((f) => ({ reason: "FieldValueInvalid", message: `unknown field "${f}"`, field: f })),
      ...dups.map((f) => ({ reason: "FieldValueDuplicate", message: `duplicate field "${f}"`, field: f })),
    ]);
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
    let opts: DeleteOptions = {};
    const buf = await readBody(req, this.opts.bodyLimit);
    if (buf.length > 0) {
      const body = decode(buf, (req.headers["content-type"] ?? "application/json").split(";")[0]!.trim());
      if (body === null || typeof body !== "object" || Array.isArray(body)) throw errors.badRequest("the body of a DELETE must be a DeleteOptions object");
      const kind = (body as { kind?: unknown }).kind;
      if (kind !== undefined && kind !== "DeleteOptions") throw errors.badRequest(`the body of a DELETE must be a DeleteOptions object, not ${JSON.stringify(kind)}`);
      opts = body as DeleteOptions;
      const pre = opts.preconditions;
      if (pre !== undefined && (pre === null || typeof pre !== "object")) throw errors.badRequest("preconditions must be an object");
    }
    const grace = q.get("gracePeriodSeconds");
    if (grace !== null) {
      const n = Number(grace);
      if (!Number.isInteger(n)) throw errors.badRequest(`invalid gracePeriodSeconds ${JSON.stringify(grace)}`);
      opts.gracePeriodSeconds = n;
    }
    const policy = q.get("propagationPolicy");
    if (policy !== null) opts.propagationPolicy = policy as DeleteOptions["propagationPolicy"];
    if (opts.propagationPolicy !== undefined && !["Orphan", "Background", "Foreground"].includes(opts.propagationPolicy))
      throw errors.badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(opts.propagationPolicy)}: supported values: "Foreground", "Background", "Orphan"`);
    if (opts.gracePeriodSeconds !== undefined && (typeof opts.gracePeriodSeconds !== "number" || !Number.isInteger(opts.gracePeriodSeconds)))
      throw errors.badRequest("gracePeriodSeconds must be an integer");
    const orphan = q.get("orphanDependents");
    if (orphan !== null) opts.orphanDependents = orphan === "true";
    return opts;
  }

  private listQuery(t: ResourceRequest, q: URLSearchParams): ListQuery {
    const lq: ListQuery = {};
    if (t.namespace !== undefined) lq.namespace = t.namespace;
    const ls = q.get("labelSelector");
    if (ls) lq.label = parseLabelSelector(ls);
    const fs = q.get("fieldSelector");
    if (fs) lq.field = parseFieldSelector(fs, t.info);
    const limit = q.get("limit");
    if (limit) {
      const n = Number(limit);
      if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`invalid limit ${JSON.stringify(limit)}`);
      lq.limit = n;
    }
    const cont = q.get("continue");
    if (cont) lq.continueToken = cont;
    const rv = q.get("resourceVersion");
    if (rv !== null) lq.resourceVersion = rv;
    return lq;
  }

  private respondObject(res: ServerResponse, code: number, info: ResourceInfo, obj: KubeObject, fmt: OutputFormat, q: URLSearchParams): void {
    if (fmt.kind === "table") {
      const table = tableFor(info, [obj], { wide: true });
      const body = tableEvent(table, fmt.version, q.get("includeObject") ?? "Metadata", obj.metadata.resourceVersion ?? "");
      res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    writeBody(res, code, obj, fmt);
  }

  private respondList(res: ServerResponse, info: ResourceInfo, list: ObjectList, fmt: OutputFormat, q: URLSearchParams): void {
    if (fmt.kind === "table") {
      const table = tableFor(info, list.items, { wide: true });
      const include = q.get("includeObject") ?? "Metadata";
      writeBody(res, 200, {
        kind: "Table",
        apiVersion: `meta.k8s.io/${fmt.version}`,
        metadata: list.metadata,
        columnDefinitions: table.columnDefinitions,
        rows: table.rows.map((r) => ({ cells: r.cells, object: rowObject(r.object, include) })),
      });
      return;
    }
    if (fmt.kind === "json") {
      // Items from the watch cache carry their JSON already: join, do not re-encode.
      const body = `{"kind":${JSON.stringify(list.kind)},"apiVersion":${JSON.stringify(list.apiVersion)},"metadata":${JSON.stringify(list.metadata)},"items":[${list.items.map(objectJson).join(",")}]}`;
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    writeBody(res, 200, list, fmt);
  }

  private async serveWatchRequest(res: ServerResponse, t: ResourceRequest, q: URLSearchParams, fmt: OutputFormat): Promise<void> {
    const info = t.info;
    const cache = this.registry.cache(info);
    await cache.ready;
    let label: Matcher | undefined;
    let field: Matcher | undefined;
    const ls = q.get("labelSelector");
    if (ls) label = parseLabelSelector(ls);
    const fs = q.get("fieldSelector");
    if (fs) field = parseFieldSelector(fs, info);
    const rv = q.get("resourceVersion") ?? "";
    if (rv === "") await cache.waitFor(await this.registry.storage.currentRevision());
    const timeout = Number(q.get("timeoutSeconds") ?? "0");
    const include = q.get("includeObject") ?? "Metadata";
    serveWatch(res, {
      info,
      cache,
      ...(t.namespace !== undefined ? { namespace: t.namespace } : {}),
      ...(t.name !== undefined ? { name: t.name } : {}),
      ...(label ? { label } : {}),
      ...(field ? { field } : {}),
      resourceVersion: rv,
      bookmarks: q.get("allowWatchBookmarks") === "true" || q.get("allowWatchBookmarks") === "1",
      fallback: (fromRev, w) => watchFromStore(this.opts.kv, info, fromRev, w),
      timeoutSeconds: timeout > 0 ? timeout : 1800 + Math.floor(Math.random() * 1800),
      bookmarkEveryMs: this.opts.bookmarkEveryMs ?? (Number(process.env.PINSETTER_WATCH_BOOKMARK_MS) || 10_000),
      ...(fmt.kind === "table"
        ? { render: (o: KubeObject) => tableEvent(tableFor(info, [o], { wide: true }), fmt.version, include, o.metadata.resourceVersion ?? "") }
        : {}),
    });
  }

  private async serveLogs(req: IncomingMessage, res: ServerResponse, t: ResourceRequest, q: URLSearchParams): Promise<void> {
    const pod = (await this.registry.get(t.info, t.namespace, t.name!)) as Pod;
    const nodeInfo = lookupResource("nodes")!;
    let node: Node | null = null;
    if (pod.spec?.nodeName) {
      try {
        node = (await this.registry.get(nodeInfo, undefined, pod.spec.nodeName)) as Node;
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
    const target = logTarget(pod, node, q);
    await proxyLogs(target, this.opts.kubeletToken, req, res, this.opts.host);
  }
}

export { apiVersionOf };
