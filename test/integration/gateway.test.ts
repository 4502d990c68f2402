// A real single-member store (Raft over the in-memory transport, the MVCC
// state machine, the lessor, KvService) behind the clientPort gateway on a
// loopback HTTP server: the etcd conformance suite runs against it, and the
// details of the wire contract that the suite does not pin down are checked
// here with raw HTTP (auth on every path, header revisions, error shapes,
// watch streams that outlive their request body, keepalives).

import http from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type * as W from "../../src/client/etcd-types.js";
import { OutcomeUnknownError, RaftNode } from "../../raft/index.js";
import { MemoryLogStorage } from "../../raft/storage/index.js";
import { MemoryNetwork } from "../../raft/transport/memory.js";
import { createGatewayHandler, type GatewayAuth, type GatewayHandler } from "../../src/store/gateway/index.js";
import { memberIdOf } from "../../src/store/identity.js";
import { ApiError, KvService, raftErrorToApi } from "../../src/store/kv-service.js";
import { Lessor } from "../../src/store/lessor.js";
import { encodeMemberContext } from "../../src/store/members.js";
import { encodeCommand } from "../../src/store/mvcc/index.js";
import { StoreStateMachine } from "../../src/store/state-machine.js";
import { defineEtcdConformance } from "../lib/etcd-conformance.js";

const TOKEN = "gateway-test-token";
const CLUSTER = "gateway-test";
const HOST = "127.0.0.1";
const DIGITS = /^-?\d+$/;
const enc = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const dec = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const silent = pino({ level: "silent" });

// ---------------------------------------------------------------- a member in this process

interface Member {
  url: string;
  node: RaftNode;
  kv: KvService;
  gateway: GatewayHandler;
  stop(): Promise<void>;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return (server.address() as AddressInfo).port;
}

/** One master's store and clientPort, without the rest of the master: elected and ready. */
async function startMember(opts: { auth: GatewayAuth; progressNotifyMs?: number; maxBodyBytes?: number }): Promise<Member> {
  // Listen first, so the member context can carry the real client port.
  let serve: http.RequestListener = (_req, res) => res.end();
  const server = http.createServer((req, res) => serve(req, res));
  const clientPort = await listen(server);
  const addresses = { host: HOST, raftPort: 7001, clientPort, apiPort: 6443 };
  const sm = new StoreStateMachine(CLUSTER);
  const node = await RaftNode.start({
    id: "m1",
    bootstrap: [{ id: "m1", context: encodeMemberContext(addresses) }],
    storage: new MemoryLogStorage(),
    transport: new MemoryNetwork().transport("m1", []),
    stateMachine: sm,
    logger: silent,
    tickMs: 10,
    electionTicks: 20,
    heartbeatTicks: 2,
    snapshotEvery: 1000,
    requestTimeoutMs: 3000,
  });
  const lessor = new Lessor(sm, (c) => node.propose(encodeCommand(c)), silent);
  node.onSoftStateChange((s) => (s.role === "leader" ? lessor.promote() : lessor.demote()));
  const kv = new KvService({
    node,
    sm,
    lessor,
    self: { name: "m1", id: memberIdOf(CLUSTER, "m1"), isLearner: false, ...addresses },
    clusterName: CLUSTER,
    peerToken: opts.auth.mode === "token" ? opts.auth.token : null,
    configuredMasters: [{ name: "m1", ...addresses }],
    logger: silent,
  });
  const gateway = createGatewayHandler(kv, { auth: opts.auth, logger: silent, progressNotifyMs: opts.progressNotifyMs, maxBodyBytes: opts.maxBodyBytes });
  serve = gateway;
  const stop = async (): Promise<void> => {
    gateway.close();
    kv.close();
    lessor.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await node.stop();
  };
  try {
    const deadline = Date.now() + 10_000;
    while (!node.isLeader() || !lessor.isActive()) {
      if (Date.now() > deadline) throw new Error("single member did not become leader within 10 s");
      await sleep(10);
    }
    // The bootstrap entries are applied once a first write of this term is.
    await kv.write({ type: "compact", request: { revision: 0 } }).catch(() => undefined);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://${HOST}:${clientPort}`, node, kv, gateway, stop };
}

/** A gateway over a fake KvService, for failures a healthy store does not produce. */
async function startFakeGateway(kv: Partial<KvService>): Promise<{ url: string; stop(): Promise<void> }> {
  const gateway = createGatewayHandler(kv as KvService, { auth: { mode: "none" }, logger: silent });
  const server = http.createServer(gateway);
  const port = await listen(server);
  return {
    url: `http://${HOST}:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------- raw HTTP

interface Raw<T> {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: T;
}

async function post<T>(url: string, path: string, body: unknown, opts: { auth?: string | null; method?: string } = {}): Promise<Raw<T>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const auth = opts.auth === undefined ? `Bearer ${TOKEN}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  const method = opts.method ?? "POST";
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(method === "GET" ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), text, body: parsed as T };
}

/** A streamed call whose lines are collected as they come; the request body is ended at once. */
class RawStream<T = W.WatchResponse> {
  readonly lines: W.StreamLine<T>[] = [];
  status = 0;
  ended = false;
  private buf = "";
  private readonly req: http.ClientRequest;
  private res: http.IncomingMessage | null = null;
  readonly opened: Promise<void>;

  constructor(url: string, path: string, body: unknown, opts: { auth?: string | null; keepRequestOpen?: boolean } = {}) {
    const u = new URL(url);
    const headers: Record<string, string> = { "content-type": "application/json" };
    const auth = opts.auth === undefined ? `Bearer ${TOKEN}` : opts.auth;
    if (auth !== null) headers.authorization = auth;
    this.req = http.request({ host: u.hostname, port: Number(u.port), method: "POST", path, headers, agent: false });
    this.opened = new Promise((resolve, reject) => {
      this.req.on("error", (err) => (this.status === 0 ? reject(err) : resolve()));
      this.req.on("response", (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => this.take(chunk));
        res.on("end", () => {
          if (this.buf.trim() !== "") this.lines.push(JSON.parse(this.buf) as W.StreamLine<T>);
          this.buf = "";
          this.ended = true;
        });
        res.on("close", () => (this.ended = true));
        resolve();
      });
    });
    const payload = typeof body === "string" ? body : JSON.stringify(body);
    if (opts.keepRequestOpen) this.req.write(payload);
    else this.req.end(payload);
  }

  private take(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.trim() !== "") this.lines.push(JSON.parse(line) as W.StreamLine<T>);
    }
  }

  /** Sends one more request object on a stream opened with keepRequestOpen. */
  send(body: unknown): void {
    this.req.write(JSON.stringify(body));
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  results(): T[] {
    return this.lines.map((l) => l.result).filter((r): r is T => r !== undefined);
  }

  async waitFor(pred: (results: T[]) => boolean, what: string, timeoutMs = 5_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.results())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.lines).slice(0, 2000)}`);
      await sleep(10);
    }
    return this.results();
  }

  close(): void {
    this.req.destroy();
  }
}

function expectHeaderStrings(h: W.ResponseHeader | undefined, revision: boolean): void {
  expect(h).toBeDefined();
  expect(h!.cluster_id).toMatch(DIGITS);
  expect(h!.member_id).toMatch(DIGITS);
  expect(h!.raft_term).toMatch(DIGITS);
  if (revision) expect(h!.revision).toMatch(DIGITS);
  else expect(h!.revision).toBeUndefined();
}

function expectError(a: Raw<W.ErrorBody>, status: number, code: number, message?: RegExp | string): void {
  expect(a.status, a.text).toBe(status);
  expect(a.headers["content-type"]).toBe("application/json");
  expect(a.body, a.text).toEqual({ error: a.body?.message, message: a.body?.message, code });
  expect(typeof a.body.message).toBe("string");
  if (typeof message === "string") expect(a.body.message).toBe(message);
  else if (message) expect(a.body.message).toMatch(message);
}

// ---------------------------------------------------------------- the conformance suite

describe("pinsetter gateway: the etcd conformance suite", () => {
  let member: Member | undefined;
  beforeAll(async () => {
    member = await startMember({ auth: { mode: "token", token: TOKEN } });
  });
  afterAll(async () => {
    await member?.stop();
  });
  defineEtcdConformance("pinsetter single member", () => {
    if (!member) throw new Error("member not started");
    return { url: member.url, token: TOKEN };
  });
});

// ---------------------------------------------------------------- details of the contract

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function member(opts: Parameters<typeof startMember>[0] = { auth: { mode: "token", token: TOKEN } }): Promise<Member> {
  const m = await startMember(opts);
  cleanups.push(() => m.stop());
  return m;
}

function stream<T = W.WatchResponse>(m: { url: string }, path: string, body: unknown, opts: ConstructorParameters<typeof RawStream>[3] = {}): RawStream<T> {
  const s = new RawStream<T>(m.url, path, body, opts);
  cleanups.push(async () => s.close());
  return s;
}

const UNARY_PATHS = [
  "/v3/kv/range",
  "/v3/kv/put",
  "/v3/kv/deleterange",
  "/v3/kv/txn",
  "/v3/kv/compaction",
  "/v3/lease/grant",
  "/v3/lease/revoke",
  "/v3/kv/lease/revoke",
  "/v3/lease/timetolive",
  "/v3/kv/lease/timetolive",
  "/v3/lease/leases",
  "/v3/cluster/member/list",
  "/v3/cluster/member/add",
  "/v3/cluster/member/remove",
  "/v3/cluster/member/promote",
  "/v3/maintenance/status",
];

describe("pinsetter gateway: auth", () => {
  it("refuses every /v3 path without the token or with a wrong one: 401 code 16, nothing applied", async () => {
    const m = await member();
    const before = m.kv.header().revision;
    for (const auth of [null, "Bearer wrong", "wrong", `Bearer ${TOKEN}x`, "Bearer "]) {
      for (const path of [...UNARY_PATHS, "/v3/watch", "/v3/lease/keepalive", "/v3/no/such/path"]) {
        const a = await post<W.ErrorBody>(m.url, path, { key: enc("k"), value: enc("v"), TTL: 5 }, { auth });
        expectError(a, 401, 16, auth === null ? "etcdserver: user name is empty" : "etcdserver: invalid auth token");
      }
    }
    expect(m.kv.header().revision).toBe(before);
    expect(m.kv.hub.size).toBe(0);
  });

  it("takes the token as Bearer (any case) or bare, as etcd clients send it", async () => {
    const m = await member();
    for (const auth of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, TOKEN]) {
      const a = await post<W.StatusResponse>(m.url, "/v3/maintenance/status", {}, { auth });
      expect(a.status, `${auth}: ${a.text}`).toBe(200);
    }
  });

  it("with auth off ignores any Authorization header", async () => {
    const m = await member({ auth: { mode: "none" } });
    for (const auth of [null, "Bearer whatever", "garbage"]) {
      const put = await post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc("k"), value: enc("v") }, { auth });
      expect(put.status, put.text).toBe(200);
      const list = await post<W.MemberListResponse>(m.url, "/v3/cluster/member/list", {}, { auth });
      expect(list.status, list.text).toBe(200);
    }
  });
});

describe("pinsetter gateway: shapes on the wire", () => {
  it("header.revision of each of many concurrent writes is the revision that write created", async () => {
    const m = await member();
    const puts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc(`/conc/${i}`), value: enc(`v${i}`) })),
    );
    const revisions = new Set<string>();
    for (const [i, p] of puts.entries()) {
      expect(p.status, p.text).toBe(200);
      expectHeaderStrings(p.body.header, true);
      const r = await post<W.RangeResponse>(m.url, "/v3/kv/range", { key: enc(`/conc/${i}`) });
      expect(r.body.kvs?.[0]?.mod_revision, `put ${i}`).toBe(p.body.header!.revision);
      revisions.add(p.body.header!.revision!);
    }
    expect(revisions.size).toBe(40);

    const dels = await Promise.all(
      Array.from({ length: 10 }, (_, i) => post<W.DeleteRangeResponse>(m.url, "/v3/kv/deleterange", { key: enc(`/conc/${i}`), prev_kv: true })),
    );
    const txns = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post<W.TxnResponse>(m.url, "/v3/kv/txn", {
          compare: [{ key: enc(`/conc/${10 + i}`), target: "VALUE", value: enc(`v${10 + i}`) }],
          success: [{ request_put: { key: enc(`/conc/${10 + i}`), value: enc("txn") } }],
        }),
      ),
    );
    const watch = stream(m, "/v3/watch", { create_request: { key: enc("/conc/"), range_end: enc("/conc0"), start_revision: puts[0]!.body.header!.revision } });
    const all = await watch.waitFor((rs) => rs.flatMap((r) => r.events ?? []).length >= 60, "60 events");
    const modRevisionOf = new Map<string, string>();
    for (const r of all) for (const e of r.events ?? []) modRevisionOf.set(`${e.type ?? "PUT"} ${dec(e.kv?.key)} ${e.kv?.mod_revision}`, e.kv!.mod_revision!);
    for (const [i, d] of dels.entries()) {
      expect(d.body.deleted).toBe("1");
      expect(dec(d.body.prev_kvs?.[0]?.value)).toBe(`v${i}`);
      expect(modRevisionOf.has(`DELETE /conc/${i} ${d.body.header!.revision}`), `delete ${i}`).toBe(true);
    }
    for (const [i, t] of txns.entries()) {
      expect(t.body.succeeded).toBe(true);
      expect(t.body.responses).toEqual([{ response_put: { header: { revision: t.body.header!.revision } } }]);
      expect(modRevisionOf.has(`PUT /conc/${10 + i} ${t.body.header!.revision}`), `txn ${i}`).toBe(true);
    }
  });

  it("answers errors in the gateway's shape: bad JSON, wrong types, empty key, future revision, unknown lease", async () => {
    const m = await member();
    expectError(await post(m.url, "/v3/kv/range", "{nope"), 400, 3, /invalid JSON/);
    expectError(await post(m.url, "/v3/kv/range", "[1,2]"), 400, 3, /JSON object/);
    expectError(await post(m.url, "/v3/kv/range", { key: 12 }), 400, 3, /"key"/);
    expectError(await post(m.url, "/v3/kv/range", { key: enc("k"), limit: "ten" }), 400, 3, /"limit"/);
    expectError(await post(m.url, "/v3/kv/txn", { success: [{ request_put: { key: "_-8=" } }] }), 400, 3, /"success\[0\]\.request_put\.key"/);
    expectError(await post(m.url, "/v3/kv/put", { key: "", value: enc("x") }), 400, 3, "etcdserver: key is not provided");
    expectError(await post(m.url, "/v3/kv/put", {}), 400, 3, "etcdserver: key is not provided");
    expectError(await post(m.url, "/v3/kv/deleterange", { key: null }), 400, 3, "etcdserver: key is not provided");
    expectError(await post(m.url, "/v3/kv/range", { key: enc("k"), revision: "999999" }), 400, 11, "etcdserver: mvcc: required revision is a future revision");
    expectError(await post(m.url, "/v3/kv/compaction", { revision: "999999" }), 400, 11, /future revision/);
    expectError(await post(m.url, "/v3/lease/revoke", { ID: "4242" }), 404, 5, "etcdserver: requested lease not found");
    const g = await post<W.LeaseGrantResponse>(m.url, "/v3/lease/grant", { TTL: 30, ID: "4243" });
    expect(g.body).toMatchObject({ ID: "4243", TTL: "30" });
    // A lease ID in use is FailedPrecondition, which grpc-gateway answers with 412.
    expectError(await post(m.url, "/v3/lease/grant", { TTL: 30, ID: "4243" }), 412, 9, "etcdserver: lease already exists");
  });

  it("answers unknown paths 404 and other methods 405 as plain text, and too large bodies 413", async () => {
    const m = await member({ auth: { mode: "token", token: TOKEN }, maxBodyBytes: 1024 });
    const missing = await post(m.url, "/v3/kv/nope", {});
    expect([missing.status, missing.text, missing.headers["content-type"]]).toEqual([404, "Not Found\n", "text/plain; charset=utf-8"]);
    const outside = await post(m.url, "/metrics", {}, { auth: null });
    expect(outside.status).toBe(404);
    const get = await post(m.url, "/v3/kv/range", undefined, { method: "GET" });
    expect([get.status, get.text]).toEqual([405, "Method Not Allowed\n"]);
    const big = await post<W.ErrorBody>(m.url, "/v3/kv/put", { key: enc("k"), value: enc("x".repeat(2000)) });
    expectError(big, 413, 3, /request is too large/);
    // Without a content-length the limit is found while reading.
    const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const u = new URL(m.url);
      const req = http.request({ host: u.hostname, port: Number(u.port), method: "POST", path: "/v3/kv/put", headers: { authorization: `Bearer ${TOKEN}` } });
      req.on("error", reject);
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.write(`{"key":"${enc("k")}","value":"`);
      req.write(enc("x".repeat(3000)));
      req.end('"}');
    });
    expect(chunked.status, chunked.text).toBe(413);
    expect(JSON.parse(chunked.text)).toMatchObject({ code: 3, message: expect.stringMatching(/request is too large/) });
    expect((await post<W.RangeResponse>(m.url, "/v3/kv/range", { key: enc("k") })).body.count).toBeUndefined();
  });

  it("leaves out zero values like etcd, and lists members, leases and status with etcd's field names", async () => {
    const m = await member();
    const empty = await post<W.RangeResponse>(m.url, "/v3/kv/range", { key: enc("/none") });
    expect(Object.keys(empty.body)).toEqual(["header"]);
    const put = await post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc("/e"), value: "" });
    expect(Object.keys(put.body)).toEqual(["header"]);
    const r = await post<W.RangeResponse>(m.url, "/v3/kv/range", { key: enc("/e") });
    expect(r.body.kvs).toEqual([{ key: enc("/e"), create_revision: put.body.header!.revision, mod_revision: put.body.header!.revision, version: "1" }]);
    expect(r.body.count).toBe("1");
    const failed = await post<W.TxnResponse>(m.url, "/v3/kv/txn", { compare: [{ key: enc("/e"), version: "5" }] });
    expect(Object.keys(failed.body)).toEqual(["header"]);

    const list = await post<W.MemberListResponse>(m.url, "/v3/cluster/member/list", {});
    expectHeaderStrings(list.body.header, false);
    const port = new URL(m.url).port;
    expect(list.body.members).toEqual([
      { ID: memberIdOf(CLUSTER, "m1"), name: "m1", peerURLs: ["http://127.0.0.1:7001"], clientURLs: [`http://127.0.0.1:${port}`] },
    ]);

    const s = await post<W.StatusResponse>(m.url, "/v3/maintenance/status", {});
    expectHeaderStrings(s.body.header, true);
    expect(s.body.header!.member_id).toBe(list.body.members![0]!.ID);
    expect(s.body.leader).toBe(list.body.members![0]!.ID);
    expect(s.body.version).toBe("3.4.0");
    for (const f of ["dbSize", "raftIndex", "raftTerm", "raftAppliedIndex", "dbSizeInUse"] as const) expect(s.body[f], f).toMatch(DIGITS);
    expect(Number(s.body.raftAppliedIndex)).toBeLessThanOrEqual(Number(s.body.raftIndex));

    const a = await post<W.LeaseGrantResponse>(m.url, "/v3/lease/grant", { TTL: 60 });
    const b = await post<W.LeaseGrantResponse>(m.url, "/v3/lease/grant", { TTL: "60" });
    for (const path of ["/v3/lease/leases", "/v3/kv/lease/leases"]) {
      const leases = await post<W.LeaseLeasesResponse>(m.url, path, {});
      expect(leases.body.leases).toEqual([{ ID: a.body.ID }, { ID: b.body.ID }]);
    }
    const gone = await post<W.LeaseTimeToLiveResponse>(m.url, "/v3/kv/lease/timetolive", { ID: "999" });
    expect(gone.body).toEqual({ header: gone.body.header, ID: "999", TTL: "-1" });
    const revoked = await post<W.LeaseRevokeResponse>(m.url, "/v3/kv/lease/revoke", { ID: a.body.ID });
    expect(revoked.status, revoked.text).toBe(200);
  });

  it("refuses a member add whose peer URL is no configured master, and a remove of an unknown ID", async () => {
    const m = await member();
    expectError(await post(m.url, "/v3/cluster/member/add", { peerURLs: ["nope"] }), 400, 3, "etcdserver: given member URLs are invalid");
    expectError(await post(m.url, "/v3/cluster/member/add", { peerURLs: ["http://127.0.0.99:7001"] }), 400, 3, /no master in the cluster config/);
    expectError(await post(m.url, "/v3/cluster/member/add", { peerURLs: ["http://127.0.0.1:7001"] }), 412, 9, "etcdserver: Peer URLs already exists");
    expectError(await post(m.url, "/v3/cluster/member/remove", { ID: "12345" }), 404, 5, "etcdserver: member not found");
    expectError(await post(m.url, "/v3/cluster/member/promote", { ID: memberIdOf(CLUSTER, "m1") }), 412, 9, "etcdserver: can only promote a learner member");
  });
});

describe("pinsetter gateway: failures a client must read right", () => {
  it("answers a write whose outcome is unknown with 5xx, and an unexpected exception with 500", async () => {
    const fake = await startFakeGateway({
      header: () => ({ clusterId: "1", memberId: "2", revision: 3, raftTerm: 4 }),
      write: () => Promise.reject(raftErrorToApi(new OutcomeUnknownError("proposal timed out"))),
      range: () => Promise.reject(new TypeError("boom")),
      status: () => {
        throw new Error("kaboom");
      },
      leaseKeepAlive: () => Promise.reject(new ApiError(503, 14, "etcdserver: no leader")),
    });
    cleanups.push(() => fake.stop());
    expectError(await post(fake.url, "/v3/kv/put", { key: enc("k") }), 504, 4, /request timed out/);
    expectError(await post(fake.url, "/v3/kv/txn", {}), 504, 4);
    expectError(await post(fake.url, "/v3/kv/range", { key: enc("k") }), 500, 13, /boom/);
    expectError(await post(fake.url, "/v3/maintenance/status", {}), 500, 13, /kaboom/);
    // A keepalive that cannot be served before anything streamed: a plain error answer.
    expectError(await post(fake.url, "/v3/lease/keepalive", { ID: "5" }), 503, 14, "etcdserver: no leader");
  });
});

describe("pinsetter gateway: watch streams", () => {
  it("stay open after the request body ends, and carry each revision's events in one message", async () => {
    const m = await member();
    const w = stream(m, "/v3/watch", { create_request: { key: enc("/w/"), range_end: enc("/w0"), prev_kv: true } });
    await w.opened;
    expect(w.status).toBe(200);
    const [created] = await w.waitFor((rs) => rs.length >= 1, "created");
    expect(created).toEqual({ header: created!.header, created: true });
    expectHeaderStrings(created!.header, true);

    // Well after the request body ended, the stream still delivers.
    await sleep(300);
    expect(w.ended).toBe(false);
    const p = await post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc("/w/a"), value: enc("1") });
    const t = await post<W.TxnResponse>(m.url, "/v3/kv/txn", {
      success: [{ request_put: { key: enc("/w/a"), value: enc("2") } }, { request_delete_range: { key: enc("/w/b") } }, { request_put: { key: enc("/w/c"), value: enc("3") } }],
    });
    const d = await post<W.DeleteRangeResponse>(m.url, "/v3/kv/deleterange", { key: enc("/w/a") });
    const rs = await w.waitFor((r) => r.length >= 4, "three event messages");
    expect(rs.slice(1)).toEqual([
      {
        header: { ...created!.header, revision: p.body.header!.revision },
        events: [{ kv: { key: enc("/w/a"), create_revision: p.body.header!.revision, mod_revision: p.body.header!.revision, version: "1", value: enc("1") } }],
      },
      {
        header: { ...created!.header, revision: t.body.header!.revision },
        events: [
          {
            kv: { key: enc("/w/a"), create_revision: p.body.header!.revision, mod_revision: t.body.header!.revision, version: "2", value: enc("2") },
            prev_kv: { key: enc("/w/a"), create_revision: p.body.header!.revision, mod_revision: p.body.header!.revision, version: "1", value: enc("1") },
          },
          { kv: { key: enc("/w/c"), create_revision: t.body.header!.revision, mod_revision: t.body.header!.revision, version: "1", value: enc("3") } },
        ],
      },
      {
        header: { ...created!.header, revision: d.body.header!.revision },
        events: [
          {
            type: "DELETE",
            kv: { key: enc("/w/a"), mod_revision: d.body.header!.revision },
            prev_kv: { key: enc("/w/a"), create_revision: p.body.header!.revision, mod_revision: t.body.header!.revision, version: "2", value: enc("2") },
          },
        ],
      },
    ]);
    expect(w.ended).toBe(false);
  });

  it("are canceled when the client disconnects: the hub's watchers and the open streams go back down", async () => {
    const m = await member();
    const before = m.kv.hub.size;
    const streams = [0, 1, 2].map((i) => stream(m, "/v3/watch", { create_request: { key: enc(`/gone/${i}`) } }));
    for (const s of streams) await s.waitFor((rs) => rs.length >= 1, "created");
    expect(m.kv.hub.size).toBe(before + 3);
    expect(m.gateway.openStreams()).toBe(3);
    streams[0]!.close();
    streams[1]!.close();
    await expect.poll(() => m.kv.hub.size).toBe(before + 1);
    expect(m.gateway.openStreams()).toBe(1);
    streams[2]!.close();
    await expect.poll(() => m.kv.hub.size).toBe(before);
    await expect.poll(() => m.gateway.openStreams()).toBe(0);
  });

  it("from a compacted revision: created, then canceled with compact_revision exactly as etcd, and the stream stays open", async () => {
    const m = await member();
    const p1 = await post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc("/c"), value: enc("1") });
    const p2 = await post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc("/c"), value: enc("2") });
    await post(m.url, "/v3/kv/compaction", { revision: p2.body.header!.revision, physical: true });
    const w = stream(m, "/v3/watch", { create_request: { key: enc("/c"), start_revision: p1.body.header!.revision } });
    const rs = await w.waitFor((r) => r.length >= 2, "created and canceled");
    const { revision: _, ...headerWithoutRevision } = rs[0]!.header!;
    expect(rs).toEqual([
      { header: rs[0]!.header, created: true },
      { header: headerWithoutRevision, canceled: true, compact_revision: p2.body.header!.revision },
    ]);
    await sleep(200);
    expect(w.ended).toBe(false);
    expect(m.kv.hub.size).toBe(0);
  });

  it("carry several watches, cancel_request and progress_request on one stream, as etcd's watch stream does", async () => {
    const m = await member();
    const w = stream(m, "/v3/watch", { create_request: { key: enc("/m/a") } }, { keepRequestOpen: true });
    await w.waitFor((rs) => rs.length >= 1, "first created");
    w.send({ create_request: { key: enc("/m/b") } });
    w.send({ create_request: { key: enc("/m/c"), watch_id: 7, filters: ["NOPUT"] } });
    w.send({ create_request: { key: enc("/m/d"), watch_id: 7 } });
    const created = await w.waitFor((rs) => rs.length >= 4, "four answers");
    expect(created.map((r) => [r.watch_id, r.created, r.canceled, r.cancel_reason])).toEqual([
      [undefined, true, undefined, undefined],
      ["1", true, undefined, undefined],
      ["7", true, undefined, undefined],
      ["-1", true, true, "mvcc: duplicate watch ID provided on the WatchStream"],
    ]);
    await post(m.url, "/v3/kv/put", { key: enc("/m/b"), value: enc("x") });
    await post(m.url, "/v3/kv/put", { key: enc("/m/c"), value: enc("x") });
    const del = await post<W.DeleteRangeResponse>(m.url, "/v3/kv/deleterange", { key: enc("/m/c") });
    await w.waitFor((rs) => rs.length >= 6, "two event messages");
    expect(w.results()[4]).toMatchObject({ watch_id: "1", events: [{ kv: { key: enc("/m/b") } }] });
    expect(w.results()[5]).toMatchObject({ watch_id: "7", events: [{ type: "DELETE", kv: { key: enc("/m/c"), mod_revision: del.body.header!.revision } }] });

    w.send({ cancel_request: { watch_id: "1" } });
    w.send({ cancel_request: { watch_id: "55" } });
    w.send({ progress_request: {} });
    const rs = await w.waitFor((r) => r.length >= 8, "canceled and progress");
    expect(rs[6]).toEqual({ header: rs[6]!.header, watch_id: "1", canceled: true });
    expect(rs[7]).toEqual({ header: { ...rs[7]!.header, revision: del.body.header!.revision }, watch_id: "-1" });
    await post(m.url, "/v3/kv/put", { key: enc("/m/b"), value: enc("y") });
    await post(m.url, "/v3/kv/put", { key: enc("/m/a"), value: enc("y") });
    const after = await w.waitFor((r) => r.length >= 9, "the event of watch 0");
    expect(after.slice(8).map((r) => r.watch_id ?? "0")).toEqual(["0"]);
    expect(m.kv.hub.size).toBe(2);
  });

  it("send progress notifications to idle watches created with progress_notify", async () => {
    const m = await member({ auth: { mode: "token", token: TOKEN }, progressNotifyMs: 50 });
    const w = stream(m, "/v3/watch", { create_request: { key: enc("/p"), progress_notify: true } });
    await w.waitFor((rs) => rs.length >= 1, "created");
    const p = await post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc("/other"), value: enc("1") });
    const rs = await w.waitFor((r) => r.some((x) => !x.created && x.header?.revision === p.body.header!.revision), "a progress notification");
    const progress = rs.find((x) => !x.created)!;
    expect(progress).toEqual({ header: progress.header });
  });

  it("answer a request body that is not JSON with 500 code 2, as etcd's gateway does", async () => {
    const m = await member();
    const w = stream<never>(m, "/v3/watch", "xx");
    await w.opened;
    await expect.poll(() => w.ended).toBe(true);
    expect(w.status).toBe(500);
    expect(w.lines).toEqual([{ error: expect.stringMatching(/invalid character/), message: expect.stringMatching(/invalid character/), code: 2 }]);
  });

  it("hold events back while the client does not read, and deliver every one in order once it does", async () => {
    const m = await member();
    const w = stream(m, "/v3/watch", { create_request: { key: enc("/slow/"), range_end: enc("/slow0") } });
    await w.waitFor((rs) => rs.length >= 1, "created");
    w.pause();
    const value = enc("v".repeat(64 * 1024));
    const revisions: string[] = [];
    // Far more than the socket buffers hold, so the gateway has to wait for 'drain'.
    for (let i = 0; i < 300; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) => post<W.PutResponse>(m.url, "/v3/kv/put", { key: enc(`/slow/${i + j}`), value })),
      );
      revisions.push(...batch.map((b) => b.body.header!.revision!));
    }
    w.resume();
    const rs = await w.waitFor((r) => r.length >= 301, "300 event messages", 20_000);
    const got = rs.slice(1).flatMap((r) => (r.events ?? []).map((e) => e.kv!.mod_revision!));
    expect(got).toEqual([...revisions].sort((a, b) => Number(a) - Number(b)));
  });
});

describe("pinsetter gateway: slow watchers", () => {
  it("a watcher that falls more than the hub's limit behind is canceled with a reason, and its stream stays usable", async () => {
    const m = await member();
    const w = stream(m, "/v3/watch", { create_request: { key: enc("/lag/"), range_end: enc("/lag0") } });
    await w.waitFor((rs) => rs.length >= 1, "created");
    w.pause();
    // 128 puts per txn: many events per revision, so the socket buffers fill
    // up long before the hub's 10 000 held events do.
    const value = enc("v".repeat(4096));
    let last = "0";
    for (let t = 0; t < 110; t++) {
      const ops = Array.from({ length: 128 }, (_, i) => ({ request_put: { key: enc(`/lag/${t}/${i}`), value } }));
      const r = await post<W.TxnResponse>(m.url, "/v3/kv/txn", { success: ops });
      expect(r.status, r.text.slice(0, 200)).toBe(200);
      last = r.body.header!.revision!;
    }
    await expect.poll(() => m.kv.hub.size, { timeout: 10_000 }).toBe(0);
    w.resume();
    const rs = await w.waitFor((r) => r.some((x) => x.canceled), "the cancel", 20_000);
    const cancel = rs.find((x) => x.canceled)!;
    expect(cancel).toEqual({ header: cancel.header, canceled: true, cancel_reason: expect.stringMatching(/behind/) });
    // Everything before the cancel came in order and without gaps, ending before the last write.
    const revs = rs.flatMap((x) => (x.events ?? []).map((e) => Number(e.kv!.mod_revision)));
    expect(revs.length).toBeGreaterThan(0);
    expect(revs.every((r, i) => i === 0 || r >= revs[i - 1]!)).toBe(true);
    expect(revs[revs.length - 1]!).toBeLessThan(Number(last));
    expect(w.ended).toBe(false);
  });
});

describe("pinsetter gateway: lease keepalive", () => {
  it("a request whose body has ended gets every answer, then the response ends (as etcd's gateway does)", async () => {
    const m = await member();
    const g = await post<W.LeaseGrantResponse>(m.url, "/v3/lease/grant", { TTL: "9" });
    const s = stream<W.LeaseKeepAliveResponse>(m, "/v3/lease/keepalive", `{"ID":"${g.body.ID}"} {"ID":"31337"}`);
    await s.opened;
    const deadline = Date.now() + 5000;
    while (!s.ended && Date.now() < deadline) await sleep(10);
    expect(s.ended).toBe(true);
    expect(s.status).toBe(200);
    expect(s.results().map(({ header, ...rest }) => rest)).toEqual([{ ID: g.body.ID, TTL: "9" }, { ID: "31337" }]);
    // An empty body: a 200 with no answers, ended.
    const empty = stream<W.LeaseKeepAliveResponse>(m, "/v3/lease/keepalive", "");
    await empty.opened;
    while (!empty.ended && Date.now() < deadline) await sleep(10);
    expect(empty.ended).toBe(true);
    expect(empty.status).toBe(200);
    expect(empty.results()).toEqual([]);
    // A watch whose body ended stays open.
    const w = stream(m, "/v3/watch", { create_request: { key: enc("/ka/") } });
    await w.waitFor((r) => r.length >= 1, "the watch's created answer");
    await sleep(200);
    expect(w.ended).toBe(false);
  });

  it("answers each request object with one result line, an unknown lease without TTL, and stays open while the body does", async () => {
    const m = await member();
    const g = await post<W.LeaseGrantResponse>(m.url, "/v3/lease/grant", { TTL: "7" });
    const s = stream<W.LeaseKeepAliveResponse>(m, "/v3/lease/keepalive", `{"ID":"${g.body.ID}"}\n{"ID":${g.body.ID}} {"ID":"31337"}`, {
      keepRequestOpen: true,
    });
    const rs = await s.waitFor((r) => r.length >= 3, "three answers");
    expect(s.status).toBe(200);
    expect(rs.map(({ header, ...rest }) => rest)).toEqual([{ ID: g.body.ID, TTL: "7" }, { ID: g.body.ID, TTL: "7" }, { ID: "31337" }]);
    for (const r of rs) expectHeaderStrings(r.header, true);
    await sleep(200);
    expect(s.ended).toBe(false);
    s.send({ ID: g.body.ID });
    await s.waitFor((r) => r.length >= 4, "a fourth answer on the open stream");
    expect(s.ended).toBe(false);
    const ttl = await post<W.LeaseTimeToLiveResponse>(m.url, "/v3/lease/timetolive", { ID: g.body.ID });
    expect(ttl.body).toMatchObject({ ID: g.body.ID, grantedTTL: "7" });
    expect(Number(ttl.body.TTL)).toBeGreaterThan(5);
  });
});
