// The gateway's codec speaks etcd 3.4's JSON: base64 bytes, 64-bit integers
// as strings or numbers, enums by name or number, zero values left out, and a
// clear 400 (code 3) naming the field for anything it cannot read.

import { describe, expect, it } from "vitest";
import { JsonTextSplitter } from "../../src/store/gateway/body.js";
import {
  decodeBase64,
  decodeCompare,
  decodeLeaseGrant,
  decodeMemberAdd,
  decodeMemberId,
  decodePut,
  decodeRange,
  decodeTxn,
  decodeWatchRequest,
  encodeDeleteRange,
  encodeEvent,
  encodeHeader,
  encodeKv,
  encodeMember,
  encodeRange,
  encodeTxn,
  parseBody,
  b64,
} from "../../src/store/gateway/codec.js";
import { statusOf } from "../../src/store/gateway/errors.js";
import { ApiError } from "../../src/store/kv-service.js";
import type { KeyValue } from "../../src/store/mvcc/index.js";

const enc = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const buf = (s: string): Buffer => Buffer.from(s, "utf8");

/** Runs fn and returns the ApiError it threw. */
function apiErrorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error("expected an ApiError, nothing was thrown");
}

function expectInvalid(fn: () => unknown, field: string | RegExp): ApiError {
  const e = apiErrorOf(fn);
  expect(e.httpStatus).toBe(400);
  expect(e.grpcCode).toBe(3);
  if (typeof field === "string") expect(e.message).toContain(`"${field}"`);
  else expect(e.message).toMatch(field);
  return e;
}

const kv = (over: Partial<KeyValue> = {}): KeyValue => ({
  key: buf("k"),
  value: buf("v"),
  createRevision: 5,
  modRevision: 7,
  version: 2,
  lease: 0,
  ...over,
});

describe("gateway codec: requests", () => {
  it("decodes a range with base64 keys, numbers as strings or numbers, and enums by name or number", () => {
    const a = decodeRange({
      key: enc("/a"),
      range_end: enc("/b"),
      limit: "10",
      revision: 42,
      sort_order: "DESCEND",
      sort_target: 3,
      keys_only: true,
      serializable: true,
      min_mod_revision: "3",
    });
    expect(a.serializable).toBe(true);
    expect(a.request).toEqual({
      key: buf("/a"),
      rangeEnd: buf("/b"),
      limit: 10,
      revision: 42,
      sortOrder: "DESCEND",
      sortTarget: "MOD",
      keysOnly: true,
      minModRevision: 3,
    });
  });

  it("reads absent, null and zero fields as zero, and a revision or limit <= 0 as none (as etcd)", () => {
    expect(decodeRange({ key: enc("k"), limit: null, revision: "-5", sort_order: "NONE", count_only: false })).toEqual({
      request: { key: buf("k") },
      serializable: false,
    });
    expect(decodeRange({}).request.key.length).toBe(0);
    expect(decodePut({ key: enc("k") })).toEqual({ key: buf("k"), value: Buffer.alloc(0) });
    expect(parseBody("")).toEqual({});
    expect(parseBody("null")).toEqual({});
  });

  it("round-trips every byte value through base64", () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(decodeBase64(b64(all), "key")).toEqual(all);
    expect(decodePut({ key: b64(all), value: b64(all.subarray(1, 4)) })).toMatchObject({ key: all, value: all.subarray(1, 4) });
  });

  it("refuses URL-safe or unpadded base64, naming the field", () => {
    expectInvalid(() => decodePut({ key: "_-8=", value: "" }), "key");
    expectInvalid(() => decodePut({ key: enc("k"), value: "MQ" }), "value");
    expectInvalid(() => decodeRange({ key: 123 }), "key");
  });

  it("refuses wrong types and bad integers with 400 code 3 naming the field", () => {
    expectInvalid(() => decodeRange({ key: enc("k"), limit: "abc" }), "limit");
    expectInvalid(() => decodeRange({ key: enc("k"), limit: 1.5 }), "limit");
    expectInvalid(() => decodeRange({ key: enc("k"), limit: true }), "limit");
    expectInvalid(() => decodeRange({ key: enc("k"), limit: "007" }), "limit");
    expectInvalid(() => decodeRange({ key: enc("k"), revision: "9223372036854775808" }), /"revision".*out of range for int64/);
    expectInvalid(() => decodeRange({ key: enc("k"), revision: 2 ** 60 }), /"revision".*decimal strings/);
    expectInvalid(() => decodeRange({ key: enc("k"), revision: "9007199254740993" }), /"revision".*2\^53-1/);
    expectInvalid(() => decodeRange({ key: enc("k"), serializable: "true" }), "serializable");
    expectInvalid(() => decodeRange({ key: enc("k"), sort_order: "BAD" }), /"sort_order".*RangeRequest_SortOrder/);
    expectInvalid(() => decodeRange({ key: enc("k"), sort_target: 9 }), "sort_target");
    expectInvalid(() => parseBody("[1]"), /JSON object/);
    expectInvalid(() => parseBody("{nope"), /invalid JSON/);
  });

  it("decodes a txn with defaults (EQUAL, VERSION) and names nested fields in errors", () => {
    const t = decodeTxn({
      compare: [{ key: enc("a") }, { key: enc("b"), target: "VALUE", result: "NOT_EQUAL", value: enc("x") }, { key: enc("c"), target: 4, lease: "9" }],
      success: [{ request_put: { key: enc("a"), value: enc("1") } }, { request_txn: { success: [{ request_range: { key: enc("a") } }] } }],
    });
    expect(t.compare).toEqual([
      { result: "EQUAL", target: "VERSION", key: buf("a"), version: 0 },
      { result: "NOT_EQUAL", target: "VALUE", key: buf("b"), value: buf("x") },
      { result: "EQUAL", target: "LEASE", key: buf("c"), lease: 9 },
    ]);
    expect(t.success[1]).toEqual({ type: "txn", request: { compare: [], success: [{ type: "range", request: { key: buf("a") } }], failure: [] } });
    expect(t.failure).toEqual([]);

    expectInvalid(() => decodeTxn({ success: [{ request_put: { key: enc("a"), lease: "x" } }] }), "success[0].request_put.lease");
    expectInvalid(() => decodeTxn({ failure: [{}] }), "failure[0]");
    expectInvalid(() => decodeTxn({ compare: [{ key: enc("a"), target: "BAD" }] }), "compare[0].target");
    expectInvalid(() => decodeTxn({ compare: {} }), "compare");
    expectInvalid(() => decodeCompare({ key: enc("a"), target: "MOD", mod_revision: [] }, "compare[3]"), "compare[3].mod_revision");
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { success: [{ request_txn: deep }] };
    expectInvalid(() => decodeTxn(deep), /nested deeper/);
  });

  it("decodes lease, member and watch requests", () => {
    expect(decodeLeaseGrant({ TTL: "1" })).toEqual({ id: 0, ttl: 1 });
    expect(decodeLeaseGrant({ TTL: 30, ID: "777" })).toEqual({ id: 777, ttl: 30 });
    expectInvalid(() => decodeLeaseGrant({ TTL: "x" }), "TTL");
    // Member IDs use all 64 bits: kept as canonical decimal strings.
    expect(decodeMemberId({ ID: "18446744073709551615" })).toBe("18446744073709551615");
    expect(decodeMemberId({ ID: 42 })).toBe("42");
    expectInvalid(() => decodeMemberId({ ID: "-1" }), /uint64/);
    expect(decodeMemberAdd({ peerURLs: ["http://127.0.0.14:7001"], isLearner: true, name: "m4", clientURLs: ["http://127.0.0.14:2379"], apiPort: 6443 })).toEqual({
      peerURLs: ["http://127.0.0.14:7001"],
      isLearner: true,
      extra: { name: "m4", clientPort: 2379, apiPort: 6443 },
    });
    expect(apiErrorOf(() => decodeMemberAdd({ peerURLs: ["notaurl"] })).message).toBe("etcdserver: given member URLs are invalid");
    expect(apiErrorOf(() => decodeMemberAdd({})).message).toBe("etcdserver: given member URLs are invalid");

    expect(
      decodeWatchRequest({ create_request: { key: enc("a"), range_end: "AA==", start_revision: "5", filters: ["NOPUT", 1], prev_kv: true, watch_id: 3 } }),
    ).toEqual({
      kind: "create",
      create: {
        key: buf("a"),
        rangeEnd: Buffer.from([0]),
        startRevision: 5,
        prevKv: true,
        progressNotify: false,
        filters: ["NOPUT", "NODELETE"],
        watchId: 3,
      },
    });
    expect(decodeWatchRequest({ cancel_request: { watch_id: "2" } })).toEqual({ kind: "cancel", watchId: 2 });
    expect(decodeWatchRequest({ progress_request: {} })).toEqual({ kind: "progress" });
    expect(decodeWatchRequest({ something: 1 })).toEqual({ kind: "none" });
    expectInvalid(() => decodeWatchRequest({ create_request: { key: enc("a"), filters: ["NOSUCH"] } }), "create_request.filters[0]");
    expectInvalid(() => decodeWatchRequest({ create_request: { key: enc("a"), start_revision: "x" } }), "create_request.start_revision");
  });
});

describe("gateway codec: responses", () => {
  const h = { clusterId: "123", memberId: "456", revision: 9, raftTerm: 2 };

  it("writes headers with 64-bit numbers as strings, and leaves out a zero revision", () => {
    expect(encodeHeader(h)).toEqual({ cluster_id: "123", member_id: "456", revision: "9", raft_term: "2" });
    expect(encodeHeader(h, 7)).toEqual({ cluster_id: "123", member_id: "456", revision: "7", raft_term: "2" });
    expect(encodeHeader(h, null)).toEqual({ cluster_id: "123", member_id: "456", raft_term: "2" });
  });

  it("leaves out zero values as etcd does: empty value, no lease, no kvs, count 0, more false", () => {
    expect(encodeKv(kv({ lease: 77 }))).toEqual({ key: enc("k"), create_revision: "5", mod_revision: "7", version: "2", value: enc("v"), lease: "77" });
    expect(encodeKv(kv({ value: Buffer.alloc(0) }))).toEqual({ key: enc("k"), create_revision: "5", mod_revision: "7", version: "2" });
    expect(encodeRange({ kvs: [], more: false, count: 0, revision: 9 }, { revision: "9" })).toEqual({ header: { revision: "9" } });
    expect(encodeRange({ kvs: [kv()], more: true, count: 3, revision: 9 }, {})).toEqual({
      header: {},
      kvs: [encodeKv(kv())],
      more: true,
      count: "3",
    });
    expect(encodeDeleteRange({ revision: 9, deleted: 0, prevKvs: [] }, {})).toEqual({ header: {} });
  });

  it("writes txn responses with op headers carrying the revision, and a nested txn's header empty", () => {
    const put = { type: "put" as const, response: { revision: 9 } };
    const w = encodeTxn(
      {
        revision: 9,
        succeeded: true,
        responses: [put, { type: "txn", response: { revision: 9, succeeded: false, responses: [put] } }],
      },
      { revision: "9" },
    );
    expect(w).toEqual({
      header: { revision: "9" },
      succeeded: true,
      responses: [{ response_put: { header: { revision: "9" } } }, { response_txn: { header: {}, responses: [{ response_put: { header: { revision: "9" } } }] } }],
    });
    expect(encodeTxn({ revision: 9, succeeded: false, responses: [] }, {})).toEqual({ header: {} });
  });

  it("leaves out the type of a PUT event and writes a DELETE's tombstone as key and mod_revision", () => {
    expect(encodeEvent({ type: "PUT", kv: kv(), prevKv: kv({ version: 1, modRevision: 5, value: buf("old") }) })).toEqual({
      kv: encodeKv(kv()),
      prev_kv: { key: enc("k"), create_revision: "5", mod_revision: "5", version: "1", value: enc("old") },
    });
    const tombstone = { key: buf("k"), value: Buffer.alloc(0), createRevision: 0, modRevision: 8, version: 0, lease: 0 };
    expect(encodeEvent({ type: "DELETE", kv: tombstone })).toEqual({ type: "DELETE", kv: { key: enc("k"), mod_revision: "8" } });
  });

  it("writes members with etcd's camelCase names and URLs", () => {
    const m = { name: "m1", id: "99", host: "127.0.0.11", raftPort: 7001, clientPort: 2379, apiPort: 6443, isLearner: false };
    expect(encodeMember(m)).toEqual({ ID: "99", name: "m1", peerURLs: ["http://127.0.0.11:7001"], clientURLs: ["http://127.0.0.11:2379"] });
    expect(encodeMember({ ...m, host: "::1", isLearner: true })).toMatchObject({ peerURLs: ["http://[::1]:7001"], isLearner: true });
  });
});

describe("gateway errors: HTTP status", () => {
  it("refines a generic 400 by the gRPC code as grpc-gateway does, and never turns a 5xx into a 4xx", () => {
    expect(statusOf(new ApiError(400, 3, "x"))).toBe(400);
    expect(statusOf(new ApiError(400, 11, "x"))).toBe(400);
    expect(statusOf(new ApiError(400, 9, "x"))).toBe(412);
    expect(statusOf(new ApiError(200, 5, "x"))).toBe(404);
    expect(statusOf(new ApiError(413, 3, "x"))).toBe(413);
    expect(statusOf(new ApiError(401, 16, "x"))).toBe(401);
    expect(statusOf(new ApiError(504, 4, "x"))).toBe(504);
    expect(statusOf(new ApiError(503, 3, "x"))).toBe(503);
    expect(statusOf(new ApiError(400, 14, "x"))).toBe(503);
  });
});

describe("streamed request bodies", () => {
  const texts = (items: ReturnType<JsonTextSplitter["push"]>): string[] => items.map((i) => ("text" in i ? i.text : `ERROR ${i.error}`));

  it("cuts concatenated objects, also across chunks, with braces and quotes inside strings", () => {
    const s = new JsonTextSplitter(1024);
    const all = '{"a":"}{\\"x"} \n{"b":[1,{"c":2}]}{"u":"é€"}';
    const bytes = Buffer.from(all, "utf8");
    const got: string[] = [];
    // One byte at a time: every boundary, also inside multi-byte characters.
    for (let i = 0; i < bytes.length; i++) got.push(...texts(s.push(bytes.subarray(i, i + 1))));
    expect(got.map((t) => JSON.parse(t) as unknown)).toEqual([{ a: '}{"x' }, { b: [1, { c: 2 }] }, { u: "é€" }]);
    expect(s.end()).toBeNull();
  });

  it("reports garbage, an unfinished object and an object over the limit", () => {
    expect(texts(new JsonTextSplitter(100).push(Buffer.from('{"a":1}xx')))).toEqual(['{"a":1}', `ERROR invalid character "x" looking for beginning of value`]);
    const open = new JsonTextSplitter(100);
    expect(open.push(Buffer.from('{"a":'))).toEqual([]);
    expect(open.end()).toEqual({ error: "unexpected EOF" });
    const big = new JsonTextSplitter(10);
    expect(big.push(Buffer.from('{"a":"0123'))).toEqual([]);
    expect(big.push(Buffer.from('456789"}'))).toEqual([{ error: "request is too large (limit 10 bytes)", tooLarge: true }]);
  });
});
