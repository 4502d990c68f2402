// The wire contract of ARCHITECTURE.md section 4 as a reusable vitest suite:
// run against a real etcd 3.4 (test/integration/etcd-conformance.test.ts) it
// pins down what etcd does; run against a Pinsetter master it checks that we
// do the same. Goes through EtcdClient, and through raw HTTP where the exact
// JSON shape matters. Every test writes under its own key prefix, so the suite
// can share a cluster with other work (only compaction touches everyone).

import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdClient, EtcdError, type Header, type WatchEvent } from "../../src/client/etcd-client.js";
import type * as W from "../../src/client/etcd-types.js";

export interface ConformanceEndpoint {
  /** A client URL such as http://127.0.0.11:2379. */
  url: string;
  /** Cluster token; unset for a cluster without client auth. */
  token?: string;
}

const DIGITS = /^-?\d+$/;
const enc = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const dec = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface RawAnswer<T> {
  status: number;
  body: T;
  text: string;
}

/** POSTs JSON and returns status and parsed body, whatever the status.
 *  `auth` overrides the endpoint's token (token undefined: no header). */
async function rawPost<T>(
  ep: ConformanceEndpoint,
  path: string,
  body: unknown,
  auth: { token: string | undefined } = { token: ep.token },
): Promise<RawAnswer<T>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth.token !== undefined) headers.authorization = `Bearer ${auth.token}`;
  const res = await fetch(`${ep.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Left undefined: the test asserting on the body will say what it got.
  }
  return { status: res.status, body: parsed as T, text };
}

/**
 * Opens a streamed POST and collects its JSON lines until `enough` says so or
 * the time is up, then closes it. Resolves with the lines either way, so the
 * assertion that follows shows what arrived.
 */
function rawStream<T>(
  ep: ConformanceEndpoint,
  path: string,
  body: unknown,
  enough: (lines: T[]) => boolean,
  timeoutMs = 5_000,
): Promise<{ status: number; lines: T[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const u = new URL(ep.url);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (ep.token !== undefined) headers.authorization = `Bearer ${ep.token}`;
    const lines: T[] = [];
    let status = 0;
    let buf = "";
    /** The server ended the response (rather than we stopping reading). */
    let ended = false;
    const req = http.request({ host: u.hostname, port: Number(u.port || 80), method: "POST", path, headers });
    const finish = (): void => {
      clearTimeout(timer);
      req.destroy();
      resolve({ status, lines, ended });
    };
    const timer = setTimeout(finish, timeoutMs);
    req.on("error", (err) => {
      clearTimeout(timer);
      if (status === 0) reject(err);
      else resolve({ status, lines, ended });
    });
    req.on("response", (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding("utf8");
      const take = (line: string): void => {
        if (line.trim() !== "") lines.push(JSON.parse(line) as T);
      };
      res.on("data", (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          take(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
        if (enough(lines)) finish();
      });
      res.on("end", () => {
        take(buf);
        ended = true;
        finish();
      });
    });
    req.end(JSON.stringify(body));
  });
}

function expectHeader(h: W.ResponseHeader | undefined, opts: { revision: boolean }): void {
  expect(h, "header").toBeDefined();
  expect(h!.cluster_id).toMatch(DIGITS);
  expect(h!.member_id).toMatch(DIGITS);
  expect(h!.raft_term).toMatch(DIGITS);
  if (opts.revision) expect(h!.revision).toMatch(DIGITS);
}

function expectErrorBody(a: RawAnswer<W.ErrorBody>, status: number, code: number, message?: RegExp): void {
  expect(a.status, a.text).toBe(status);
  expect(a.body?.code, a.text).toBe(code);
  expect(typeof a.body?.error, a.text).toBe("string");
  expect(typeof a.body?.message, a.text).toBe("string");
  if (message) expect(a.body?.message).toMatch(message);
}

async function expectEtcdError(p: Promise<unknown>, want: Partial<Pick<EtcdError, "httpStatus" | "grpcCode" | "outcome">>): Promise<EtcdError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected an EtcdError").toBeInstanceOf(EtcdError);
  expect(err).toMatchObject(want);
  return err as EtcdError;
}

/** Retries `fn` until it returns true or the time is up; returns the last verdict. */
async function eventually(fn: () => Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}

export function defineEtcdConformance(name: string, getEndpoint: () => ConformanceEndpoint): void {
  describe(`etcd v3 JSON gateway conformance: ${name}`, () => {
    const run = `conformance-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    let ep: ConformanceEndpoint;
    let client: EtcdClient;
    /** A key prefix of one test's own. */
    const area = (test: string): string => `/${run}/${test}/`;

    beforeAll(() => {
      ep = getEndpoint();
      const opts: ConstructorParameters<typeof EtcdClient>[0] = { endpoints: [ep.url], timeoutMs: 10_000 };
      if (ep.token !== undefined) opts.token = ep.token;
      client = new EtcdClient(opts);
    });

    afterAll(async () => {
      if (!client) return;
      try {
        await client.del(`/${run}/`, { prefix: true });
      } finally {
        client.close();
      }
    });

    describe("kv", () => {
      it("a put answers a header whose revision is the revision the put created, numbers as strings", async () => {
        const k = `${area("put-header")}k`;
        const a = await rawPost<W.PutResponse>(ep, "/v3/kv/put", { key: enc(k), value: enc("v1") });
        expect(a.status, a.text).toBe(200);
        expectHeader(a.body.header, { revision: true });

        const r = await rawPost<W.RangeResponse>(ep, "/v3/kv/range", { key: enc(k) });
        expect(r.status, r.text).toBe(200);
        expectHeader(r.body.header, { revision: true });
        expect(r.body.count).toBe("1");
        const kv = r.body.kvs![0]!;
        expect(dec(kv.key)).toBe(k);
        expect(dec(kv.value)).toBe("v1");
        expect(kv.create_revision).toBe(a.body.header!.revision);
        expect(kv.mod_revision).toBe(a.body.header!.revision);
        expect(kv.version).toBe("1");
        expect(kv.lease === undefined || kv.lease === "0").toBe(true);
        expect(Number(r.body.header!.revision)).toBeGreaterThanOrEqual(Number(a.body.header!.revision));

        const put = await client.put(k, "v2");
        expect((await client.getKv(k))?.modRevision).toBe(put.revision);
        expect(await client.get(k)).toBe("v2");
      });

      it("create and mod revision and version follow a key's life, and restart after a delete", async () => {
        const k = `${area("versions")}k`;
        const p1 = await client.put(k, "a");
        await client.put(k, "b");
        const p3 = await client.put(k, "c", { prevKv: true });
        expect(p3.prevKv).toMatchObject({ value: "b", version: 2, createRevision: p1.revision });
        const kv = await client.getKv(k);
        expect(kv).toMatchObject({ createRevision: p1.revision, modRevision: p3.revision, version: 3, value: "c" });

        const d = await client.deleteRange(k);
        expect(d.deleted).toBe(1);
        expect(d.revision).toBeGreaterThan(p3.revision);
        const p4 = await client.put(k, "again");
        expect(await client.getKv(k)).toMatchObject({ createRevision: p4.revision, modRevision: p4.revision, version: 1 });
      });

      it("ranges by prefix and by range_end, with limit, more and count", async () => {
        const pre = area("ranges");
        for (const s of ["a", "b", "c", "d", "e"]) await client.put(`${pre}${s}`, `v-${s}`);
        // Just past the prefix: "/" + 1 is "0".
        await client.put(`${pre.slice(0, -1)}0`, "outside");

        const all = await client.getPrefix(pre);
        expect(all.map((kv) => kv.key.slice(pre.length))).toEqual(["a", "b", "c", "d", "e"]);

        const mid = await client.range(`${pre}b`, { rangeEnd: `${pre}d` });
        expect(mid.kvs.map((kv) => kv.value)).toEqual(["v-b", "v-c"]);
        expect(mid.count).toBe(2);
        expect(mid.more).toBe(false);

        const limited = await rawPost<W.RangeResponse>(ep, "/v3/kv/range", {
          key: enc(pre),
          range_end: enc(`${pre.slice(0, -1)}0`),
          limit: 2,
        });
        expect(limited.status, limited.text).toBe(200);
        expect(limited.body.kvs?.map((kv) => dec(kv.key).slice(pre.length))).toEqual(["a", "b"]);
        expect(limited.body.more).toBe(true);
        expect(limited.body.count).toBe("5");

        const countOnly = await client.range(pre, { prefix: true, countOnly: true });
        expect(countOnly).toMatchObject({ count: 5, kvs: [] });

        const keysOnly = await rawPost<W.RangeResponse>(ep, "/v3/kv/range", {
          key: enc(pre),
          range_end: enc(`${pre.slice(0, -1)}0`),
          keys_only: true,
          sort_order: "DESCEND",
          sort_target: "KEY",
        });
        expect(keysOnly.body.kvs?.map((kv) => dec(kv.key).slice(pre.length))).toEqual(["e", "d", "c", "b", "a"]);
        expect(keysOnly.body.kvs?.every((kv) => kv.value === undefined || kv.value === "")).toBe(true);
      });

      it("a range that matches nothing may leave out kvs, count and more: they read as empty and zero", async () => {
        const a = await rawPost<W.RangeResponse>(ep, "/v3/kv/range", { key: enc(`${area("empty")}none`) });
        expect(a.status, a.text).toBe(200);
        expectHeader(a.body.header, { revision: true });
        expect(a.body.kvs ?? []).toEqual([]);
        expect(a.body.count ?? "0").toBe("0");
        expect(a.body.more ?? false).toBe(false);
        expect(await client.range(`${area("empty")}none`)).toMatchObject({ kvs: [], count: 0, more: false });
      });

      it("a delete answers how many keys it deleted, and deleting nothing does not bump the revision", async () => {
        const pre = area("delete");
        for (const s of ["a", "b", "c"]) await client.put(`${pre}${s}`, s);
        const d = await client.deleteRange(pre, { prefix: true, prevKv: true });
        expect(d.deleted).toBe(3);
        expect(d.prevKvs.map((kv) => kv.value)).toEqual(["a", "b", "c"]);

        const none = await rawPost<W.DeleteRangeResponse>(ep, "/v3/kv/deleterange", { key: enc(`${pre}none`) });
        expect(none.status, none.text).toBe(200);
        expect(none.body.deleted ?? "0").toBe("0");

        // Others may write to a shared cluster, so look for a quiet window:
        // put, delete nothing, put. With nobody else writing, the second put
        // is exactly one revision after the first, and then the empty delete
        // must not have moved the revision.
        let clean = false;
        for (let attempt = 0; attempt < 20 && !clean; attempt++) {
          const before = await client.put(`${pre}marker`, "1");
          const nothing = await client.deleteRange(`${pre}none`);
          const after = await client.put(`${pre}marker`, "2");
          if (after.revision === before.revision + 1) {
            clean = true;
            expect(nothing.deleted).toBe(0);
            expect(nothing.revision).toBe(before.revision);
          } else {
            expect(after.revision, "an empty delete never adds two revisions").toBeGreaterThan(before.revision);
          }
        }
        expect(clean, "no quiet window: the empty delete bumped the revision, or others kept writing").toBe(true);
      });

      it("a read at a past revision sees the value of then", async () => {
        const k = `${area("past")}k`;
        const p1 = await client.put(k, "then");
        const p2 = await client.put(k, "now");
        expect(await client.get(k, { revision: p1.revision })).toBe("then");
        expect(await client.get(k, { revision: p2.revision })).toBe("now");
        expect(await client.get(k)).toBe("now");
        const before = await client.range(k, { revision: p1.revision - 1 });
        expect(before.kvs.filter((kv) => kv.key === k)).toEqual([]);
      });

      it("an empty key is refused with 400 and code 3 (invalid argument), not applied", async () => {
        expectErrorBody(await rawPost<W.ErrorBody>(ep, "/v3/kv/put", { key: "", value: enc("x") }), 400, 3);
        expectErrorBody(await rawPost<W.ErrorBody>(ep, "/v3/kv/range", { key: "" }), 400, 3);
        await expectEtcdError(client.put("", "x"), { httpStatus: 400, grpcCode: 3, outcome: "failed" });
      });

      it("a read at a future revision is refused with 400 and code 11", async () => {
        const { header } = await client.put(`${area("future")}k`, "x");
        const a = await rawPost<W.ErrorBody>(ep, "/v3/kv/range", { key: enc(`${area("future")}k`), revision: String(header.revision + 1_000_000) });
        expectErrorBody(a, 400, 11, /future revision/);
      });
    });

    describe("txn", () => {
      it("compares on value, version, create and mod revision choose the branch", async () => {
        const k = `${area("txn")}k`;
        const p1 = await client.put(k, "one");
        const p2 = await client.put(k, "two");

        const hit = await client.txn({
          compare: [
            { key: k, target: "VALUE", result: "EQUAL", value: "two" },
            { key: k, target: "VERSION", result: "EQUAL", version: 2 },
            { key: k, target: "CREATE", result: "EQUAL", createRevision: p1.revision },
            { key: k, target: "MOD", result: "EQUAL", modRevision: p2.revision },
            { key: k, target: "MOD", result: "GREATER", modRevision: p1.revision },
            { key: k, target: "VERSION", result: "LESS", version: 3 },
            { key: k, target: "VALUE", result: "NOT_EQUAL", value: "one" },
          ],
          success: [{ put: { key: k, value: "three" } }, { range: { key: k } }],
          failure: [{ range: { key: k } }],
        });
        expect(hit.succeeded).toBe(true);
        expect(hit.responses.map((r) => r.type)).toEqual(["put", "range"]);
        const seen = hit.responses[1]!;
        expect(seen.type === "range" && seen.range.kvs[0]?.value).toBe("three");
        // The txn's header revision is the revision its put created.
        expect((await client.getKv(k))?.modRevision).toBe(hit.revision);

        for (const miss of [
          { key: k, target: "VALUE", result: "EQUAL", value: "two" },
          { key: k, target: "VERSION", result: "GREATER", version: 3 },
          { key: k, target: "CREATE", result: "NOT_EQUAL", createRevision: p1.revision },
          { key: k, target: "MOD", result: "LESS", modRevision: p2.revision },
        ] as const) {
          const r = await client.txn({ compare: [miss], success: [{ put: { key: k, value: "wrong" } }], failure: [{ range: { key: k } }] });
          expect(r.succeeded, JSON.stringify(miss)).toBe(false);
          expect(r.responses.length).toBe(1);
        }
        expect(await client.get(k)).toBe("three");
      });

      it("a failed txn may leave out succeeded; version 0 tests that a key is absent", async () => {
        const k = `${area("txn-raw")}k`;
        const create = {
          compare: [{ key: enc(k), target: "CREATE", result: "EQUAL", create_revision: "0" }],
          success: [{ request_put: { key: enc(k), value: enc("first") } }],
          failure: [{ request_range: { key: enc(k) } }],
        };
        const first = await rawPost<W.TxnResponse>(ep, "/v3/kv/txn", create);
        expect(first.status, first.text).toBe(200);
        expectHeader(first.body.header, { revision: true });
        expect(first.body.succeeded).toBe(true);
        expect(first.body.responses?.[0]).toHaveProperty("response_put");

        const second = await rawPost<W.TxnResponse>(ep, "/v3/kv/txn", create);
        expect(second.status, second.text).toBe(200);
        expect(second.body.succeeded ?? false).toBe(false);
        const op = second.body.responses?.[0];
        expect(op && "response_range" in op && dec(op.response_range.kvs?.[0]?.value)).toBe("first");

        const absent = await client.txn({
          compare: [{ key: `${area("txn-raw")}none`, target: "VERSION", version: 0 }],
          success: [{ put: { key: `${area("txn-raw")}none`, value: "made" } }],
        });
        expect(absent.succeeded).toBe(true);
        expect(await client.get(`${area("txn-raw")}none`)).toBe("made");
      });
    });

    describe("compaction", () => {
      it("reading a compacted revision is refused with 400 and code 11", async () => {
        const k = `${area("compact")}k`;
        const p1 = await client.put(k, "old");
        const p2 = await client.put(k, "new");
        await client.compact(p2.revision, { physical: true });

        const a = await rawPost<W.ErrorBody>(ep, "/v3/kv/range", { key: enc(k), revision: String(p1.revision) });
        expectErrorBody(a, 400, 11, /required revision has been compacted/);
        const err = await expectEtcdError(client.get(k, { revision: p1.revision }), { httpStatus: 400, grpcCode: 11, outcome: "failed" });
        expect(err.compacted).toBe(true);
        // The compaction revision itself stays readable.
        expect(await client.get(k, { revision: p2.revision })).toBe("new");
      });

      it("a watch from a compacted revision is canceled with compact_revision", async () => {
        const k = `${area("watch-compacted")}k`;
        const p1 = await client.put(k, "old");
        const p2 = await client.put(k, "new");
        await client.compact(p2.revision, { physical: true });

        const { status, lines } = await rawStream<W.StreamLine<W.WatchResponse>>(
          ep,
          "/v3/watch",
          { create_request: { key: enc(k), start_revision: String(p1.revision) } },
          (ls) => ls.some((l) => l.result?.canceled),
        );
        expect(status).toBe(200);
        const cancel = lines.find((l) => l.result?.canceled);
        expect(cancel, JSON.stringify(lines)).toBeDefined();
        expect(Number(cancel!.result!.compact_revision)).toBeGreaterThanOrEqual(p2.revision);

        const w = client.watch(k, { startRevision: p1.revision }, () => undefined);
        const end = await w.done;
        expect(end.reason).toBe("compacted");
        expect(end.reason === "compacted" && end.compactRevision).toBeGreaterThanOrEqual(p2.revision);
      });
    });

    describe("watch", () => {
      it("a watch from a past revision streams created:true first, then every event in revision order", async () => {
        const pre = area("watch-past");
        const a = await client.put(`${pre}a`, "1");
        await client.put(`${pre}b`, "2");
        await client.put(`${pre}a`, "3");
        const del = await client.deleteRange(`${pre}b`);

        const { status, lines } = await rawStream<W.StreamLine<W.WatchResponse>>(
          ep,
          "/v3/watch",
          { create_request: { key: enc(pre), range_end: enc(`${pre.slice(0, -1)}0`), start_revision: String(a.revision), prev_kv: true } },
          (ls) => ls.flatMap((l) => l.result?.events ?? []).length >= 4,
        );
        expect(status).toBe(200);
        expect(lines[0]?.result?.created, JSON.stringify(lines[0])).toBe(true);
        expectHeader(lines[0]?.result?.header, { revision: true });
        const events = lines.flatMap((l) => l.result?.events ?? []);
        // PUT is the enum's zero value: the gateway may leave `type` out.
        expect(events.map((e) => e.type ?? "PUT")).toEqual(["PUT", "PUT", "PUT", "DELETE"]);
        expect(events.map((e) => dec(e.kv?.key).slice(pre.length))).toEqual(["a", "b", "a", "b"]);
        const revs = events.map((e) => Number(e.kv?.mod_revision));
        expect(revs[0]).toBe(a.revision);
        expect(revs[3]).toBe(del.revision);
        expect([...revs].sort((x, y) => x - y)).toEqual(revs);
        expect(dec(events[2]?.prev_kv?.value)).toBe("1");
      });

      it("the client delivers past events, then live ones, and a cancel ends the watch", async () => {
        const pre = area("watch-live");
        const p1 = await client.put(`${pre}x`, "1");
        const got: WatchEvent[] = [];
        let lastHeader: Header | undefined;
        const w = client.watch(pre, { prefix: true, startRevision: p1.revision, prevKv: true }, (ev, h) => {
          got.push(ev);
          lastHeader = h;
        });
        try {
          const created = await w.created;
          expect(created?.revision).toBeGreaterThanOrEqual(p1.revision);
          const p2 = await client.put(`${pre}y`, "2");
          const d = await client.deleteRange(`${pre}x`);
          expect(await eventually(async () => got.length >= 3, 5_000)).toBe(true);
          expect(got.map((e) => [e.type, e.kv.key.slice(pre.length), e.kv.modRevision])).toEqual([
            ["PUT", "x", p1.revision],
            ["PUT", "y", p2.revision],
            ["DELETE", "x", d.revision],
          ]);
          expect(got[2]!.prevKv?.value).toBe("1");
          expect(lastHeader?.revision).toBeGreaterThanOrEqual(d.revision);
        } finally {
          w.cancel();
        }
        const end = await w.done;
        expect(end.reason).toBe("cancelled");
        expect(end.nextRevision).toBe(got[got.length - 1]!.kv.modRevision + 1);
      });
    });

    describe("leases", () => {
      it("a TTL below the minimum is raised to 2 s", async () => {
        const a = await rawPost<W.LeaseGrantResponse>(ep, "/v3/lease/grant", { TTL: "1" });
        expect(a.status, a.text).toBe(200);
        expectHeader(a.body.header, { revision: true });
        expect(a.body.ID).toMatch(DIGITS);
        expect(a.body.TTL).toBe("2");
        await client.leaseRevoke(a.body.ID!);
      });

      it("a keepalive answers one {result: {ID, TTL}} line", async () => {
        const g = await client.leaseGrant(30);
        try {
          const { status, lines } = await rawStream<W.StreamLine<W.LeaseKeepAliveResponse>>(
            ep,
            "/v3/lease/keepalive",
            { ID: g.id },
            (ls) => ls.length >= 1,
          );
          expect(status).toBe(200);
          expect(lines[0]?.result?.ID, JSON.stringify(lines)).toBe(g.id);
          expect(lines[0]?.result?.TTL).toBe("30");
          expectHeader(lines[0]?.result?.header, { revision: true });
          expect(await client.leaseKeepAliveOnce(g.id)).toMatchObject({ id: g.id, ttl: 30 });
        } finally {
          await client.leaseRevoke(g.id);
        }
      });

      it("a keepalive whose request body has ended is answered, then the response ends", async () => {
        const g = await client.leaseGrant(30);
        try {
          // Read to the end: etcd's gateway ends the stream at the client's EOF.
          const { status, lines, ended } = await rawStream<W.StreamLine<W.LeaseKeepAliveResponse>>(ep, "/v3/lease/keepalive", { ID: g.id }, () => false);
          expect(status).toBe(200);
          expect(ended, "the response ended").toBe(true);
          expect(lines.length, JSON.stringify(lines)).toBe(1);
          expect(lines[0]?.result?.ID).toBe(g.id);
          expect(lines[0]?.result?.TTL).toBe("30");
        } finally {
          await client.leaseRevoke(g.id);
        }
      });

      it("timetolive tells granted and remaining TTL and the attached keys", async () => {
        const k = `${area("ttl")}k`;
        const g = await client.leaseGrant(30);
        try {
          await client.put(k, "v", { lease: g.id });
          expect((await client.getKv(k))?.lease).toBe(g.id);
          const a = await rawPost<W.LeaseTimeToLiveResponse>(ep, "/v3/lease/timetolive", { ID: g.id, keys: true });
          expect(a.status, a.text).toBe(200);
          expect(a.body).toMatchObject({ ID: g.id, grantedTTL: "30" });
          expect(Number(a.body.TTL)).toBeGreaterThan(0);
          expect(Number(a.body.TTL)).toBeLessThanOrEqual(30);
          expect((a.body.keys ?? []).map(dec)).toEqual([k]);
          const t = await client.leaseTimeToLive(g.id, { keys: true });
          expect(t).toMatchObject({ id: g.id, grantedTtl: 30, keys: [k] });
        } finally {
          await client.leaseRevoke(g.id);
        }
      });

      it("revoking a lease deletes its keys at a new revision", async () => {
        const pre = area("revoke");
        const g = await client.leaseGrant(60);
        const p = await client.put(`${pre}a`, "1", { lease: g.id });
        await client.put(`${pre}b`, "2", { lease: g.id });
        await client.put(`${pre}kept`, "3");
        const h = await client.leaseRevoke(g.id);
        expect(h.revision).toBeGreaterThan(p.revision);
        expect((await client.getPrefix(pre)).map((kv) => kv.key.slice(pre.length))).toEqual(["kept"]);
        await expectEtcdError(client.leaseRevoke(g.id), { httpStatus: 404, grpcCode: 5, outcome: "failed" });
      });

      it("keys of an expired lease are gone within TTL + 3 s", async () => {
        const k = `${area("expire")}k`;
        const g = await client.leaseGrant(2);
        const granted = Date.now();
        expect(g.ttl).toBe(2);
        await client.put(k, "v", { lease: g.id });
        const gone = await eventually(async () => (await client.get(k)) === undefined, (g.ttl + 3) * 1000 - (Date.now() - granted));
        expect(gone, `key still there ${Date.now() - granted} ms after a ${g.ttl} s lease was granted`).toBe(true);
        // etcd answers timetolive of a lease that no longer exists with TTL -1, not an error.
        expect((await client.leaseTimeToLive(g.id)).ttl).toBe(-1);
        await expectEtcdError(client.leaseKeepAliveOnce(g.id), { grpcCode: 5, outcome: "failed" });
      });

      it("a put with an unknown lease is refused with 404 and code 5", async () => {
        const a = await rawPost<W.ErrorBody>(ep, "/v3/kv/put", { key: enc(`${area("bad-lease")}k`), value: enc("v"), lease: "1234567" });
        expectErrorBody(a, 404, 5, /lease not found/);
      });
    });

    describe("cluster and maintenance", () => {
      it("status gives version, leader and raft indexes; its member_id is an ID in the member list", async () => {
        const s = await rawPost<W.StatusResponse>(ep, "/v3/maintenance/status", {});
        expect(s.status, s.text).toBe(200);
        expectHeader(s.body.header, { revision: true });
        expect(typeof s.body.version).toBe("string");
        expect(s.body.version).not.toBe("");
        for (const f of ["leader", "raftIndex", "raftTerm", "raftAppliedIndex"] as const) expect(s.body[f], f).toMatch(DIGITS);
        expect(s.body.leader).not.toBe("0");

        const m = await rawPost<W.MemberListResponse>(ep, "/v3/cluster/member/list", {});
        expect(m.status, m.text).toBe(200);
        expectHeader(m.body.header, { revision: false });
        const ids = (m.body.members ?? []).map((x) => x.ID);
        expect(ids).toContain(s.body.header!.member_id);
        expect(ids).toContain(s.body.leader);
        for (const member of m.body.members ?? []) {
          expect(member.ID).toMatch(DIGITS);
          expect(Array.isArray(member.peerURLs)).toBe(true);
          expect(member.isLearner ?? false).toBe(false);
        }

        const viaClient = await client.status();
        expect(viaClient.header.memberId).toBe(s.body.header!.member_id);
        expect((await client.memberList()).members.map((x) => x.id)).toContain(viaClient.header.memberId);
      });

      it("requests without the cluster token, or with a wrong one, are refused with 401", async (ctx) => {
        if (ep.token === undefined) ctx.skip("this cluster runs without client auth");
        for (const token of [undefined, `${ep.token}-wrong`]) {
          for (const path of ["/v3/kv/range", "/v3/maintenance/status", "/v3/cluster/member/list"]) {
            const a = await rawPost<W.ErrorBody>(ep, path, { key: enc(`${area("auth")}k`) }, { token });
            expect(a.status, `${path} with ${token === undefined ? "no" : "a wrong"} token: ${a.text}`).toBe(401);
          }
        }
      });
    });
  });
}
