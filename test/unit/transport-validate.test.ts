// The peer-frame validator and the handshake checks: what a socket hands us
// becomes a typed Raft message or is refused with a reason, never thrown.

import { describe, expect, it } from "vitest";
import type { Message, MessageType } from "../../raft/core/types.js";
import {
  MESSAGE_TYPES,
  decodeFrame,
  encodeFrame,
  validateFrame,
  validateMessage,
} from "../../raft/transport/validate.js";
import {
  ReplayGuard,
  createHello,
  createWelcome,
  verifyHello,
  verifyWelcome,
  type Secret,
} from "../../raft/transport/handshake.js";

const base = { from: "m1", to: "m2", term: 3 };
const bytes = (...b: number[]) => new Uint8Array(b);

/** One well-formed example of every message type. */
const samples: Record<MessageType, Message> = {
  vote: { ...base, type: "vote", lastLogIndex: 10, lastLogTerm: 2, transfer: false },
  preVote: { ...base, type: "preVote", lastLogIndex: 0, lastLogTerm: 0, transfer: true },
  voteResp: { ...base, type: "voteResp", reject: false },
  preVoteResp: { ...base, type: "preVoteResp", reject: true },
  app: {
    ...base,
    type: "app",
    prevIndex: 4,
    prevTerm: 2,
    commit: 4,
    entries: [
      { term: 3, index: 5, type: "normal", data: bytes(1, 2, 3) },
      { term: 3, index: 6, type: "confChange", data: bytes() },
    ],
  },
  appResp: { ...base, type: "appResp", index: 6, reject: false, rejectHint: 0, rejectHintTerm: 0 },
  heartbeat: { ...base, type: "heartbeat", commit: 6, context: "" },
  heartbeatResp: { ...base, type: "heartbeatResp", context: "read-7" },
  snap: {
    ...base,
    type: "snap",
    snapshot: { metadata: { index: 100, term: 3, conf: { voters: ["m1", "m2", "m3"], learners: [] } }, data: bytes(9, 9) },
  },
  snapStatus: { ...base, type: "snapStatus", reject: false },
  timeoutNow: { ...base, type: "timeoutNow" },
  transferLeader: { ...base, type: "transferLeader", transferee: "m3" },
  prop: { ...base, term: 0, type: "prop", entries: [{ type: "normal", data: bytes(42) }] },
  propRefused: { ...base, term: 0, type: "propRefused", entries: [{ type: "normal", data: bytes(7) }], refusal: { code: "transferring", to: "n3" } },
  readIndex: { ...base, type: "readIndex", context: "ctx" },
  readIndexResp: { ...base, type: "readIndexResp", context: "ctx", index: 6 },
};

/** Sample with some fields replaced (or removed with undefined). */
function tweak(type: MessageType, fields: Record<string, unknown>): unknown {
  return { ...samples[type], ...fields };
}

/** Decoded bytes come back as Buffer (a Uint8Array); compare contents, not classes. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function reasonOf(r: { ok: boolean; reason?: string }): string {
  expect(r.ok).toBe(false);
  return r.reason ?? "";
}

describe("validateMessage", () => {
  it("has a sample for every type of the Message union", () => {
    expect(new Set(Object.keys(samples))).toEqual(new Set(MESSAGE_TYPES));
  });

  it.each([...MESSAGE_TYPES])("accepts a well-formed %s message after a wire round trip", (type) => {
    const decoded = decodeFrame(encodeFrame([samples[type]]));
    expect(decoded.ok).toBe(true);
    const r = validateFrame(decoded.ok ? decoded.value : null, { from: "m1", to: "m2" });
    expect(r.ok).toBe(true);
    if (r.ok) expect(plain(r.value)).toEqual([samples[type]]);
  });

  it("brings entry and snapshot data back as bytes", () => {
    const frame = decodeFrame(encodeFrame([samples.app, samples.snap]));
    const r = validateFrame(frame.ok ? frame.value : null);
    if (!r.ok) throw new Error(r.reason);
    const [app, snap] = r.value;
    if (app?.type !== "app" || snap?.type !== "snap") throw new Error("wrong types");
    expect(app.entries[0]!.data).toBeInstanceOf(Uint8Array);
    expect([...app.entries[0]!.data]).toEqual([1, 2, 3]);
    expect(app.entries[1]!.data.byteLength).toBe(0);
    expect([...snap.snapshot.data]).toEqual([9, 9]);
  });

  it("keeps terms and indexes past 2^32 as exact numbers", () => {
    const big = 2 ** 40 + 7;
    const frame = decodeFrame(encodeFrame([tweak("appResp", { term: big, index: Number.MAX_SAFE_INTEGER })]));
    const r = validateFrame(frame.ok ? frame.value : null);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value[0]).toMatchObject({ term: big, index: Number.MAX_SAFE_INTEGER });
  });

  it("reads a uint64-encoded term (as another encoder may write it) as a number", () => {
    // [{"type": "timeoutNow", "from": "m1", "to": "m2", "term": uint64(2^33)}]
    const str = (t: string) => [0xa0 | t.length, ...Buffer.from(t)];
    const raw = new Uint8Array([
      0x91, 0x84,
      ...str("type"), ...str("timeoutNow"),
      ...str("from"), ...str("m1"),
      ...str("to"), ...str("m2"),
      ...str("term"), 0xcf, 0, 0, 0, 2, 0, 0, 0, 0,
    ]);
    const frame = decodeFrame(raw);
    const r = validateFrame(frame.ok ? frame.value : null);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value[0]).toEqual({ type: "timeoutNow", from: "m1", to: "m2", term: 2 ** 33 });
  });

  it("rebuilds the message from its declared fields only", () => {
    const r = validateMessage({ ...samples.voteResp, extra: "x", admin: true });
    if (!r.ok) throw new Error(r.reason);
    expect(r.value).toEqual(samples.voteResp);
    expect(Object.keys(r.value)).not.toContain("extra");
  });

  it.each<[string, unknown, RegExp]>([
    ["not a map", "hello", /not a map/],
    ["an array", [samples.vote], /not a map/],
    ["null", null, /not a map/],
    ["an unknown type", tweak("vote", { type: "bogus" }), /unknown message type "bogus"/],
    ["a missing type", tweak("vote", { type: undefined }), /unknown message type/],
    ["a numeric from", tweak("vote", { from: 1 }), /from must be a member id/],
    ["an empty to", tweak("vote", { to: "" }), /to must be a member id/],
    ["a negative term", tweak("vote", { term: -1 }), /term must be a non-negative integer/],
    ["a fractional term", tweak("vote", { term: 1.5 }), /term must be a non-negative integer/],
    ["a string term", tweak("vote", { term: "3" }), /term must be a non-negative integer/],
    ["an unsafe integer term", tweak("vote", { term: 2 ** 60 }), /term must be a non-negative integer/],
    ["a missing vote field", tweak("vote", { lastLogTerm: undefined }), /lastLogTerm/],
    ["a non-boolean reject", tweak("voteResp", { reject: 0 }), /reject must be a boolean/],
    ["entries that are not an array", tweak("app", { entries: {} }), /entries must be an array/],
    [
      "entry data that is not bytes",
      tweak("app", { entries: [{ term: 1, index: 1, type: "normal", data: "abc" }] }),
      /entries\[0\]\.data must be bytes/,
    ],
    [
      "an unknown entry type",
      tweak("app", { entries: [{ term: 1, index: 1, type: "weird", data: bytes() }] }),
      /entries\[0\]\.type/,
    ],
    ["a snapshot without metadata", tweak("snap", { snapshot: { data: bytes() } }), /snapshot\.metadata is not a map/],
    [
      "a snapshot with a numeric voter",
      tweak("snap", { snapshot: { metadata: { index: 1, term: 1, conf: { voters: [7], learners: [] } }, data: bytes() } }),
      /voters\[0\]/,
    ],
    ["a heartbeat context that is not a string", tweak("heartbeat", { context: bytes(1) }), /context must be a string/],
    ["a transferLeader without transferee", tweak("transferLeader", { transferee: undefined }), /transferee/],
    ["a proposal entry without data", tweak("prop", { entries: [{ type: "normal" }] }), /entries\[0\]\.data/],
    ["a refusal with an unknown code", tweak("propRefused", { refusal: { code: "nope" } }), /unknown refusal code/],
  ])("refuses %s", (_name, value, reason) => {
    expect(reasonOf(validateMessage(value))).toMatch(reason);
  });

  it("refuses a message from someone other than the authenticated peer", () => {
    expect(reasonOf(validateMessage(samples.vote, { from: "m3" }))).toMatch(/authenticated as "m3"/);
  });

  it("refuses a message addressed to another member", () => {
    expect(reasonOf(validateMessage(samples.vote, { to: "m3" }))).toMatch(/addressed to "m2"/);
  });
});

describe("validateFrame and decodeFrame", () => {
  it("refuses a frame that is not an array", () => {
    expect(reasonOf(validateFrame(samples.vote))).toMatch(/not an array/);
  });

  it("refuses the whole frame when one message is bad", () => {
    const r = validateFrame([samples.vote, tweak("vote", { term: -2 }), samples.voteResp]);
    expect(reasonOf(r)).toMatch(/^message 1: term/);
  });

  it("refuses a frame with more messages than allowed", () => {
    expect(reasonOf(validateFrame([samples.vote, samples.vote], { maxMessages: 1 }))).toMatch(/limit 1/);
  });

  it("refuses a decoder marker object (MessagePack 0xc1) as a message", () => {
    const d = decodeFrame(bytes(0x91, 0xc1));
    expect(reasonOf(validateFrame(d.ok ? d.value : null))).toMatch(/message 0: message is not a map/);
  });

  it("accepts an empty frame", () => {
    expect(validateFrame([])).toEqual({ ok: true, value: [] });
  });

  it.each<[string, Uint8Array]>([
    ["a truncated string", bytes(0xd9, 0x05, 0x61, 0x62)],
    ["a truncated array", bytes(0x92, 0x01)],
    ["trailing bytes", bytes(0x91, 0x01, 0x02)],
    ["nothing", bytes()],
  ])("reports %s as undecodable instead of throwing", (_name, data) => {
    expect(reasonOf(decodeFrame(data))).toMatch(/undecodable frame/);
  });

  it("does not let a __proto__ key reach the prototype", () => {
    // {"__proto__": {"polluted": 1}} as a raw MessagePack map
    const raw = Buffer.concat([
      Buffer.from([0x81, 0xa9]),
      Buffer.from("__proto__"),
      Buffer.from([0x81, 0xa8]),
      Buffer.from("polluted"),
      Buffer.from([0x01]),
    ]);
    const d = decodeFrame(raw);
    expect(d.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(validateFrame(d.ok ? d.value : null).ok).toBe(false);
  });
});

describe("handshake", () => {
  const secret: Secret = { clusterName: "demo", token: "s3cret" };
  const now = 1_700_000_000_000;
  const accept = (value: unknown, over: Partial<Parameters<typeof verifyHello>[2]> = {}, s = secret) =>
    verifyHello(value, s, {
      self: "m2",
      acceptsPeer: (id) => (id === "m1" ? null : { ok: false, code: "unknown-member", reason: `"${id}" unknown` }),
      now,
      maxClockSkewMs: 60_000,
      replay: new ReplayGuard(60_000),
      ...over,
    });
  const wire = (v: unknown) => {
    const d = decodeFrame(encodeFrame(v));
    if (!d.ok) throw new Error(d.reason);
    return d.value;
  };

  it("accepts a hello from a known member of the same cluster, and the welcome proves the acceptor", () => {
    const hello = createHello(secret, "m1", "m2", now);
    const r = accept(wire(hello));
    expect(r.ok).toBe(true);
    const welcome = createWelcome(secret, hello);
    expect(verifyWelcome(wire(welcome), secret, hello).ok).toBe(true);
  });

  it.each<[string, () => unknown, string]>([
    ["a wrong token", () => createHello({ ...secret, token: "guess" }, "m1", "m2", now), "bad-proof"],
    ["another cluster with the same token", () => createHello({ ...secret, clusterName: "other" }, "m1", "m2", now), "bad-cluster"],
    ["a hello meant for another member", () => createHello(secret, "m1", "m3", now), "wrong-member"],
    ["a stranger id", () => createHello(secret, "mX", "m2", now), "unknown-member"],
    ["an old timestamp", () => createHello(secret, "m1", "m2", now - 120_000), "clock-skew"],
    ["a forged field", () => ({ ...createHello(secret, "m1", "m2", now), from: "mX" }), "bad-proof"],
    ["a messages frame", () => [{ type: "vote" }], "malformed"],
    ["a short proof", () => ({ ...createHello(secret, "m1", "m2", now), proof: bytes(1, 2) }), "malformed"],
  ])("refuses %s", (_name, make, code) => {
    const r = accept(wire(make()));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(code);
  });

  it("refuses a replayed hello", () => {
    const replay = new ReplayGuard(60_000);
    const hello = wire(createHello(secret, "m1", "m2", now));
    expect(accept(hello, { replay }).ok).toBe(true);
    const again = accept(hello, { replay });
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.code).toBe("replay");
  });

  it("lets the dialer refuse an acceptor that does not know the token or answers another hello", () => {
    const hello = createHello(secret, "m1", "m2", now);
    const impostor = createWelcome({ ...secret, token: "guess" }, hello);
    expect(verifyWelcome(wire(impostor), secret, hello).ok).toBe(false);
    const otherHello = createHello(secret, "m1", "m2", now);
    expect(verifyWelcome(wire(createWelcome(secret, otherHello)), secret, hello).ok).toBe(false);
  });
});
