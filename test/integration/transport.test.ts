// The peer transport over real WebSockets on per-member loopback addresses
// (127.0.0.3x), and the contract its in-memory twin shares with it.

import { createServer as createNetServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import type { Message, MsgApp, MsgHeartbeat, MsgSnap, NodeId } from "../../raft/core/types.js";
import {
  CloseCode,
  MemoryNetwork,
  RAFT_PATH,
  WebSocketTransport,
  createHello,
  createWelcome,
  decodeFrame,
  encodeFrame,
  verifyWelcome,
  type Hello,
  type PeerAddress,
  type Transport,
  type WebSocketTransportOptions,
} from "../../raft/transport/index.js";

const CLUSTER = "transport-test";
const TOKEN = "correct horse battery staple";
const HOST = { a: "127.0.0.31", b: "127.0.0.32", c: "127.0.0.33", x: "127.0.0.39" } as const;

// ---------------------------------------------------------------------------
// Helpers. Everything opened here is closed in afterEach, also when a test fails.

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function freePort(host: string): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, host, () => resolve());
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (typeof addr !== "object" || !addr) throw new Error("no port");
  return addr.port;
}

interface Member {
  t: WebSocketTransport;
  inbox: Message[];
}

function member(
  self: PeerAddress,
  peers: PeerAddress[],
  extra: Partial<WebSocketTransportOptions> = {},
): Member {
  const t = new WebSocketTransport({ self, clusterName: CLUSTER, token: TOKEN, peers, ...extra });
  const inbox: Message[] = [];
  t.onMessage((m) => inbox.push(m));
  cleanups.push(() => t.close());
  return { t, inbox };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function heartbeat(from: NodeId, to: NodeId, commit: number): MsgHeartbeat {
  return { type: "heartbeat", from, to, term: 1, commit, context: "" };
}

function append(from: NodeId, to: NodeId, data: Uint8Array): MsgApp {
  return {
    type: "app",
    from,
    to,
    term: 2,
    prevIndex: 0,
    prevTerm: 0,
    commit: 0,
    entries: [{ term: 2, index: 1, type: "normal", data }],
  };
}

function connected(t: WebSocketTransport, peer: NodeId): boolean {
  return t.stats().peers.some((p) => p.id === peer && p.connected);
}

/** Three members on their own addresses, each knowing the other two. */
async function threeMembers(): Promise<Record<"a" | "b" | "c", Member>> {
  const addr = {
    a: { id: "a", host: HOST.a, port: await freePort(HOST.a) },
    b: { id: "b", host: HOST.b, port: await freePort(HOST.b) },
    c: { id: "c", host: HOST.c, port: await freePort(HOST.c) },
  };
  const others = (id: "a" | "b" | "c") => Object.values(addr).filter((p) => p.id !== id);
  const ms = { a: member(addr.a, others("a")), b: member(addr.b, others("b")), c: member(addr.c, others("c")) };
  await Promise.all(Object.values(ms).map((m) => m.t.start()));
  return ms;
}

/** A raw ws client dialling `to` from `fromHost`, opened (no handshake yet). */
async function rawClient(fromHost: string, to: PeerAddress): Promise<{ ws: WebSocket; frames: Buffer[]; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://${to.host}:${to.port}${RAFT_PATH}`, { localAddress: fromHost, perMessageDeflate: false });
  cleanups.push(() => ws.terminate());
  const frames: Buffer[] = [];
  ws.on("message", (d) => frames.push(d as Buffer));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, frames, closed };
}

// ---------------------------------------------------------------------------

describe("WebSocketTransport", () => {
  it("three members exchange messages both ways, entry data arriving as bytes", async () => {
    const { a, b, c } = await threeMembers();
    const all = { a, b, c };
    for (const [id, m] of Object.entries(all)) {
      m.t.send(Object.keys(all).filter((o) => o !== id).map((o) => heartbeat(id, o, 7)));
    }
    // Both directions of a dialled socket: a dials c, c answers on it.
    a.t.send([append("a", "c", new Uint8Array([1, 2, 3]))]);
    c.t.send([append("c", "a", new Uint8Array([250, 0, 255]))]);

    await waitFor("everyone heard from everyone", () => a.inbox.length === 3 && b.inbox.length === 2 && c.inbox.length === 3);
    for (const [id, m] of Object.entries(all)) {
      const heartbeats = m.inbox.filter((x) => x.type === "heartbeat");
      expect(heartbeats.map((x) => x.from).sort()).toEqual(Object.keys(all).filter((o) => o !== id));
      expect(heartbeats.every((x) => x.to === id)).toBe(true);
    }
    const atC = c.inbox.find((x): x is MsgApp => x.type === "app");
    const atA = a.inbox.find((x): x is MsgApp => x.type === "app");
    expect(atC?.entries[0]?.data).toBeInstanceOf(Uint8Array);
    expect([...atC!.entries[0]!.data]).toEqual([1, 2, 3]);
    expect([...atA!.entries[0]!.data]).toEqual([250, 0, 255]);
    // One socket per pair: the lower id dials.
    expect(a.t.stats().peers.map((p) => [p.id, p.dials])).toEqual([["b", true], ["c", true]]);
    expect(c.t.stats().peers.map((p) => [p.id, p.dials])).toEqual([["a", false], ["b", false]]);
  });

  it("keeps the order of messages sent to one peer, across many sends and batches", async () => {
    const { a, b } = await threeMembers();
    for (let i = 1; i <= 500; i++) {
      a.t.send([heartbeat("a", "b", i)]);
      if (i % 50 === 0) await sleep(1); // some batches, some single frames
    }
    b.t.send(Array.from({ length: 300 }, (_, i) => heartbeat("b", "a", i + 1)));
    await waitFor("all delivered", () => b.inbox.length === 500 && a.inbox.length === 300);
    expect(b.inbox.map((m) => (m as MsgHeartbeat).commit)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(a.inbox.map((m) => (m as MsgHeartbeat).commit)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  describe("refuses members of other clusters and strangers", () => {
    let b: Member;
    let bAddr: PeerAddress;
    let aAddr: PeerAddress;

    beforeEach(async () => {
      aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
      bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
      b = member(bAddr, [aAddr]);
      await b.t.start();
    });

    it.each<[string, Partial<WebSocketTransportOptions>]>([
      ["a wrong token", { token: "not the token" }],
      ["a wrong cluster name", { clusterName: "some-other-cluster" }],
    ])("a dialer with %s never gets a message delivered", async (_name, wrong) => {
      // The impostor claims to be member "a", whom b does expect.
      const impostor = member(aAddr, [bAddr], wrong);
      await impostor.t.start();
      impostor.t.send([heartbeat("a", "b", 1)]);
      await waitFor("b refused a few handshakes", () => b.t.stats().refusedHandshakes >= 2);
      impostor.t.send([heartbeat("a", "b", 2)]);
      await sleep(300);
      expect(b.inbox).toEqual([]);
      expect(b.t.stats().delivered).toBe(0);
      expect(connected(impostor.t, "b")).toBe(false);
      expect(connected(b.t, "a")).toBe(false);
    });

    it("an acceptor that cannot prove the token is refused by the dialer (mutual authentication)", async () => {
      // b dials "c" (b sorts lower); a raw server at c's address answers with a welcome forged without the token.
      const cAddr = { id: "c", host: HOST.c, port: await freePort(HOST.c) };
      const wss = new WebSocketServer({ host: cAddr.host, port: cAddr.port });
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => resolve());
          }),
      );
      const afterWelcome: unknown[] = [];
      const closeCodes: number[] = [];
      wss.on("connection", (ws) => {
        let hello: Hello | null = null;
        ws.on("message", (data) => {
          const d = decodeFrame(data as Buffer);
          if (!hello) {
            hello = (d.ok ? d.value : null) as Hello;
            ws.send(encodeFrame(createWelcome({ clusterName: CLUSTER, token: "guess" }, hello)));
          } else {
            afterWelcome.push(d.ok ? d.value : null);
          }
        });
        ws.on("close", (code) => closeCodes.push(code));
      });
      await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
      b.t.addPeer(cAddr);
      b.t.send([heartbeat("b", "c", 1)]);
      await waitFor("b hung up on the impostor twice", () => closeCodes.filter((c) => c === CloseCode.refused).length >= 2);
      expect(afterWelcome).toEqual([]);
      expect(connected(b.t, "c")).toBe(false);
      expect(b.t.stats().peers.find((p) => p.id === "c")?.queued).toBe(1);
    });
  });

  describe("drops malformed frames and keeps working", () => {
    let b: Member;
    let bAddr: PeerAddress;

    beforeEach(async () => {
      bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
      b = member(bAddr, [{ id: "a", host: HOST.a, port: 1 }], { maxFrameBytes: 64 * 1024 });
      await b.t.start();
    });

    /** A raw client that completes a valid handshake as member "a". */
    async function authenticatedRawA() {
      const raw = await rawClient(HOST.a, bAddr);
      const hello = createHello({ clusterName: CLUSTER, token: TOKEN }, "a", "b", Date.now());
      raw.ws.send(encodeFrame(hello));
      await waitFor("welcome", () => raw.frames.length === 1);
      const welcome = decodeFrame(raw.frames[0]!);
      expect(welcome.ok && verifyWelcome(welcome.value, { clusterName: CLUSTER, token: TOKEN }, hello).ok).toBe(true);
      return raw;
    }

    it("before the handshake: garbage as the first frame closes the connection, nothing is delivered", async () => {
      const raw = await rawClient(HOST.a, bAddr);
      raw.ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
      expect(await raw.closed).toBe(CloseCode.refused);

      const raw2 = await rawClient(HOST.a, bAddr);
      raw2.ws.send(encodeFrame([heartbeat("a", "b", 1)])); // messages without a hello
      expect(await raw2.closed).toBe(CloseCode.refused);
      expect(b.inbox).toEqual([]);
      expect(b.t.stats().refusedHandshakes).toBe(2);

      // Still serving: a proper handshake then a proper frame goes through.
      const ok = await authenticatedRawA();
      ok.ws.send(encodeFrame([heartbeat("a", "b", 9)]));
      await waitFor("delivery", () => b.inbox.length === 1);
      expect(b.inbox[0]).toMatchObject({ type: "heartbeat", commit: 9 });
    });

    it("after the handshake: bad frames are dropped one by one, good ones still delivered in order", async () => {
      const raw = await authenticatedRawA();
      const bad: (Buffer | string)[] = [
        Buffer.from([0xd9, 0x05, 0x61]), // truncated MessagePack
        "a text frame",
        encodeFrame({ not: "an array" }),
        encodeFrame([{ ...heartbeat("a", "b", 2), type: "bogus" }]),
        encodeFrame([{ ...heartbeat("a", "b", 2), term: -1 }]),
        encodeFrame([heartbeat("c", "b", 2)]), // spoofed sender
        encodeFrame([heartbeat("a", "z", 2)]), // not for b
        encodeFrame([heartbeat("a", "b", 2), { ...heartbeat("a", "b", 3), commit: "x" }]), // all or nothing
      ];
      raw.ws.send(encodeFrame([heartbeat("a", "b", 1)]));
      for (const f of bad) raw.ws.send(f);
      raw.ws.send(encodeFrame([heartbeat("a", "b", 4), heartbeat("a", "b", 5)]));
      await waitFor("good frames delivered", () => b.inbox.length === 3);
      await sleep(50);
      expect(b.inbox.map((m) => (m as MsgHeartbeat).commit)).toEqual([1, 4, 5]);
      expect(b.t.stats().malformedFrames).toBe(bad.length);
      expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    });

    it("a frame over maxFrameBytes closes that connection only; the member accepts the next one", async () => {
      const raw = await authenticatedRawA();
      raw.ws.send(encodeFrame([append("a", "b", new Uint8Array(100 * 1024))]));
      expect(await raw.closed).toBe(1009); // ws: message too big
      expect(b.inbox).toEqual([]);
      const again = await authenticatedRawA();
      again.ws.send(encodeFrame([heartbeat("a", "b", 1)]));
      await waitFor("delivery", () => b.inbox.length === 1);
    });
  });

  it("a snapshot many times the frame limit arrives whole on its own connection, heartbeats flowing meanwhile", async () => {
    const aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
    // 2 MiB frames; a 48 MiB snapshot (the same holds at 64 MiB frames and GiB snapshots).
    const a = member(aAddr, [bAddr], { maxFrameBytes: 2 * 1024 * 1024 });
    const b = member(bAddr, [aAddr], { maxFrameBytes: 2 * 1024 * 1024 });
    await a.t.start();
    await b.t.start();
    await waitFor("connected", () => connected(a.t, "b") && connected(b.t, "a"));
    const data = Buffer.alloc(48 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
    const snap: MsgSnap = { type: "snap", from: "a", to: "b", term: 3, snapshot: { metadata: { index: 1000, term: 3, conf: { voters: ["a", "b"], learners: [] } }, data } };
    let beats = 0;
    const beating = setInterval(() => a.t.send([heartbeat("a", "b", ++beats)]), 5);
    let sent: Promise<void>;
    try {
      sent = a.t.sendSnapshot(snap);
      await waitFor("a heartbeat overtakes the snapshot", () => b.inbox.some((m) => m.type === "heartbeat" && m.commit >= 3) && !b.inbox.some((m) => m.type === "snap"), 20_000);
      await sent;
    } finally {
      clearInterval(beating);
    }
    const got = b.inbox.filter((m): m is MsgSnap => m.type === "snap");
    expect(got).toHaveLength(1);
    expect(got[0]!.snapshot.metadata).toEqual(snap.snapshot.metadata);
    expect(Buffer.compare(Buffer.from(got[0]!.snapshot.data), data)).toBe(0);
    // The peer connection was never dropped for it.
    expect(connected(a.t, "b")).toBe(true);
  });

  it("a snapshot whose receiver dies mid-transfer fails; once it is back, a new transfer completes", async () => {
    const aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
    const a = member(aAddr, [bAddr], { maxFrameBytes: 1024 * 1024, snapshotChunkBytes: 64 * 1024, snapshotIdleMs: 2000 });
    let b = member(bAddr, [aAddr], { maxFrameBytes: 1024 * 1024 });
    await a.t.start();
    await b.t.start();
    await waitFor("connected", () => connected(a.t, "b"));
    const data = Buffer.alloc(64 * 1024 * 1024, 7);
    const snap: MsgSnap = { type: "snap", from: "a", to: "b", term: 3, snapshot: { metadata: { index: 9, term: 3, conf: { voters: ["a", "b"], learners: [] } }, data } };
    const first = a.t.sendSnapshot(snap).then(
      () => null,
      (e: unknown) => e as Error,
    );
    await sleep(50); // some chunks are through
    await b.t.close(); // the receiver dies
    const err = await first;
    expect(err).toBeInstanceOf(Error);
    expect(b.inbox.some((m) => m.type === "snap")).toBe(false);
    // A receiver that is down refuses at once (no hang).
    await expect(a.t.sendSnapshot(snap)).rejects.toThrow();
    b = member(bAddr, [aAddr], { maxFrameBytes: 1024 * 1024 });
    await b.t.start();
    await waitFor("reconnected", () => connected(a.t, "b"));
    await a.t.sendSnapshot(snap);
    const got = b.inbox.filter((m): m is MsgSnap => m.type === "snap");
    expect(got).toHaveLength(1);
    expect(got[0]!.snapshot.data.byteLength).toBe(data.length);
  });

  it("a snapshot from a member the receiver does not know is refused", async () => {
    const aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
    const a = member(aAddr, [bAddr]);
    const b = member(bAddr, []); // b does not know a
    await a.t.start();
    await b.t.start();
    const snap: MsgSnap = { type: "snap", from: "a", to: "b", term: 1, snapshot: { metadata: { index: 1, term: 1, conf: { voters: ["a"], learners: [] } }, data: Buffer.alloc(10) } };
    await expect(a.t.sendSnapshot(snap)).rejects.toThrow();
    expect(b.inbox).toEqual([]);
  });

  it("reconnects to a peer that restarts, whichever side restarts, and messages flow both ways again", async () => {
    const aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
    let a = member(aAddr, [bAddr]);
    let b = member(bAddr, [aAddr]);
    await a.t.start();
    await b.t.start();

    const exchange = async (round: number) => {
      a.t.send([heartbeat("a", "b", round)]);
      b.t.send([heartbeat("b", "a", round)]);
      await waitFor(`round ${round} delivered`, () =>
        b.inbox.some((m) => (m as MsgHeartbeat).commit === round) && a.inbox.some((m) => (m as MsgHeartbeat).commit === round),
      );
    };
    await exchange(1);

    // The acceptor restarts: the dialer notices and redials.
    await b.t.close();
    await waitFor("a saw b go", () => !connected(a.t, "b"));
    b = member(bAddr, [aAddr]);
    await b.t.start();
    await waitFor("a reconnected to b", () => connected(a.t, "b") && connected(b.t, "a"));
    await exchange(2);

    // The dialer restarts: it dials on start; b lets the new connection replace the old.
    await a.t.close();
    a = member(aAddr, [bAddr]);
    await a.t.start();
    await waitFor("a dialled b again", () => connected(a.t, "b") && connected(b.t, "a"));
    await exchange(3);
  });

  it("a new connection from a peer replaces a stale one that still looks open (crash behind a partition)", async () => {
    const aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
    const b = member(bAddr, [aAddr]);
    await b.t.start();
    // The old incarnation of a: authenticated, then silent, its socket never closed.
    const stale = await rawClient(HOST.a, bAddr);
    stale.ws.send(encodeFrame(createHello({ clusterName: CLUSTER, token: TOKEN }, "a", "b", Date.now())));
    await waitFor("stale connection accepted", () => connected(b.t, "a"));

    const a = member(aAddr, [bAddr]);
    await a.t.start();
    expect(await stale.closed).toBe(CloseCode.superseded);
    a.t.send([heartbeat("a", "b", 1)]);
    b.t.send([heartbeat("b", "a", 2)]);
    await waitFor("messages flow on the new connection", () => a.inbox.length === 1 && b.inbox.length === 1);
  });

  it("bounds the queue of a peer that is down, dropping the oldest messages", async () => {
    const bound = 10;
    const aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) }; // nobody listens there yet
    const a = member(aAddr, [bAddr], { maxQueueMessages: bound });
    await a.t.start();
    let maxSeen = 0;
    for (let i = 1; i <= 100; i++) {
      a.t.send([heartbeat("a", "b", i)]);
      maxSeen = Math.max(maxSeen, a.t.stats().peers[0]!.queued);
      if (i % 10 === 0) await sleep(5);
    }
    expect(maxSeen).toBe(bound);
    expect(a.t.stats().peers[0]).toMatchObject({ queued: bound, dropped: 100 - bound, connected: false });

    // When b comes up, the newest `bound` messages arrive, in order.
    const b = member(bAddr, [aAddr]);
    await b.t.start();
    await waitFor("queue flushed", () => b.inbox.length === bound);
    expect(b.inbox.map((m) => (m as MsgHeartbeat).commit)).toEqual(Array.from({ length: bound }, (_, i) => 91 + i));
    expect(a.t.stats().peers[0]!.queued).toBe(0);
  });

  /** A raw ws server at `addr` that answers hellos with a valid welcome, then misbehaves as told. */
  async function rawAcceptor(addr: PeerAddress, behaviour: { autoPong: boolean; stopReading: boolean }) {
    const wss = new WebSocketServer({ host: addr.host, port: addr.port, autoPong: behaviour.autoPong });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of wss.clients) ws.terminate();
          wss.close(() => resolve());
        }),
    );
    const events = { connections: 0, closes: 0, frames: 0 };
    wss.on("connection", (ws, req) => {
      events.connections++;
      ws.on("close", () => events.closes++);
      ws.once("message", (data) => {
        const d = decodeFrame(data as Buffer);
        ws.send(encodeFrame(createWelcome({ clusterName: CLUSTER, token: TOKEN }, (d.ok ? d.value : null) as Hello)));
        if (behaviour.stopReading) req.socket.pause();
        ws.on("message", () => events.frames++);
      });
    });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    return events;
  }

  it("drops a connection whose peer went silent (no pongs, no data) and dials again", async () => {
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
    const silent = await rawAcceptor(bAddr, { autoPong: false, stopReading: false });
    const a = member({ id: "a", host: HOST.a, port: 0 }, [bAddr], { pingIntervalMs: 50, deadAfterMs: 200 });
    await a.t.start();
    await waitFor("connected", () => connected(a.t, "b"));
    await waitFor("silent connection dropped and redialled", () => silent.closes >= 1 && silent.connections >= 2);
  });

  it("stops writing to a peer that stops reading: the socket buffer and the queue stay bounded", async () => {
    const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
    const stuck = await rawAcceptor(bAddr, { autoPong: true, stopReading: true });
    const maxQueueMessages = 8;
    const a = member({ id: "a", host: HOST.a, port: 0 }, [bAddr], {
      maxQueueMessages,
      maxBufferedBytes: 2 * 1024 * 1024,
      deadAfterMs: 60_000,
    });
    await a.t.start();
    await waitFor("connected", () => connected(a.t, "b"));
    const mib = new Uint8Array(1024 * 1024);
    // 200 MiB offered; the kernel buffers a few MiB, ws at most ~maxBufferedBytes plus one flush.
    for (let i = 0; i < 200; i++) {
      a.t.send([append("a", "b", mib)]);
      await sleep(1);
    }
    const p = a.t.stats().peers[0]!;
    expect(p.connected).toBe(true);
    expect(p.queued).toBeLessThanOrEqual(maxQueueMessages);
    expect(p.dropped).toBeGreaterThan(100);
    expect(stuck.frames).toBe(0);
  });

  it("dials from its own host, so per-address firewall rules see the member's address", async () => {
    const bPort = await freePort(HOST.b);
    const seen: string[] = [];
    const wss = new WebSocketServer({ host: HOST.b, port: bPort });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
    );
    wss.on("connection", (_ws, req) => seen.push(req.socket.remoteAddress ?? "?"));
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    const a = member({ id: "a", host: "127.0.0.31", port: await freePort(HOST.a) }, [{ id: "b", host: HOST.b, port: bPort }]);
    await a.t.start();
    await waitFor("a dialled", () => seen.length > 0);
    expect(seen[0]).toBe("127.0.0.31");
  });

  it("removePeer closes the link and drops further messages; addPeer at runtime connects", async () => {
    const { a, b, c } = await threeMembers();
    await waitFor("a-c connected", () => connected(a.t, "c") && connected(c.t, "a"));
    c.t.removePeer("a");
    await waitFor("a lost c", () => !connected(a.t, "c"));
    a.t.send([heartbeat("a", "c", 1)]);
    c.t.send([heartbeat("c", "a", 1)]); // to a member c no longer knows
    await sleep(300);
    expect(c.inbox).toEqual([]);
    expect(a.inbox).toEqual([]);
    expect(c.t.stats().unknownPeerDrops).toBe(1);

    // b learns of a new member d at runtime (b < d, so b dials).
    const dAddr = { id: "d", host: "127.0.0.34", port: await freePort("127.0.0.34") };
    const d = member(dAddr, [{ id: "b", host: HOST.b, port: b.t.port }]);
    await d.t.start();
    b.t.addPeer(dAddr);
    b.t.send([heartbeat("b", "d", 5)]);
    d.t.send([heartbeat("d", "b", 6)]);
    await waitFor("b and d talk", () => d.inbox.length === 1 && b.inbox.length === 1);
  });

  it("close() leaves no socket, server or timer behind", async () => {
    const count = () => {
      const n = { tcp: 0, timers: 0 };
      for (const r of process.getActiveResourcesInfo()) {
        if (r === "TCPSocketWrap" || r === "TCPServerWrap") n.tcp++;
        if (r === "Timeout" || r === "Immediate") n.timers++;
      }
      return n;
    };
    // Handles are released by libuv a loop turn after their close callbacks: let earlier tests' settle.
    await sleep(50);
    const before = count();
    const { a, b, c } = await threeMembers();
    await waitFor("all connected", () => connected(a.t, "b") && connected(a.t, "c") && connected(b.t, "c"));
    a.t.send([heartbeat("a", "b", 1)]);
    const x = member({ id: "x", host: HOST.x, port: 0 }, [{ id: "y", host: HOST.x, port: 1 }]); // dialling nowhere
    await x.t.start();
    await sleep(100);
    expect(count().tcp).toBeGreaterThan(before.tcp);
    await Promise.all([a.t.close(), b.t.close(), c.t.close(), x.t.close()]);
    await sleep(50);
    const after = count();
    expect(after.tcp).toBeLessThanOrEqual(before.tcp);
    expect(after.timers).toBeLessThanOrEqual(before.timers);
  });
});

// ---------------------------------------------------------------------------
// One contract, two implementations.

interface Pair {
  a: Transport;
  b: Transport;
  inbox: { a: Message[]; b: Message[] };
}

const twins: [string, () => Promise<Pair>][] = [
  [
    "memory",
    async () => {
      const net = new MemoryNetwork();
      const a = net.transport("a", ["b"]);
      const b = net.transport("b", ["a"]);
      return wire(a, b);
    },
  ],
  [
    "websocket",
    async () => {
      const aAddr = { id: "a", host: HOST.a, port: await freePort(HOST.a) };
      const bAddr = { id: "b", host: HOST.b, port: await freePort(HOST.b) };
      const opts = { clusterName: CLUSTER, token: TOKEN };
      return wire(
        new WebSocketTransport({ ...opts, self: aAddr, peers: [bAddr] }),
        new WebSocketTransport({ ...opts, self: bAddr, peers: [aAddr] }),
      );
    },
  ],
];

async function wire(a: Transport, b: Transport): Promise<Pair> {
  cleanups.push(() => a.close(), () => b.close());
  const inbox = { a: [] as Message[], b: [] as Message[] };
  a.onMessage((m) => inbox.a.push(m));
  b.onMessage((m) => inbox.b.push(m));
  await a.start();
  await b.start();
  return { a, b, inbox };
}

describe.each(twins)("Transport contract: %s", (_name, makePair) => {
  it("delivers both ways, asynchronously, in order, with bytes intact", async () => {
    const { a, b, inbox } = await makePair();
    a.send([heartbeat("a", "b", 1), append("a", "b", new Uint8Array([7, 8, 9]))]);
    a.send([heartbeat("a", "b", 2)]);
    b.send([heartbeat("b", "a", 1)]);
    expect(inbox.b).toEqual([]); // never synchronous
    await waitFor("delivered", () => inbox.b.length === 3 && inbox.a.length === 1);
    expect(inbox.b.map((m) => m.type)).toEqual(["heartbeat", "app", "heartbeat"]);
    const app = inbox.b[1] as MsgApp;
    expect(app.entries[0]!.data).toBeInstanceOf(Uint8Array);
    expect([...app.entries[0]!.data]).toEqual([7, 8, 9]);
    expect(inbox.a[0]).toMatchObject({ type: "heartbeat", from: "b", to: "a", commit: 1 });
  });

  it("drops messages to unknown or removed peers without throwing", async () => {
    const { a, b, inbox } = await makePair();
    expect(() => a.send([heartbeat("a", "nobody", 1)])).not.toThrow();
    a.removePeer("b");
    a.send([heartbeat("a", "b", 2)]);
    b.send([heartbeat("b", "a", 3)]);
    await sleep(200);
    expect(inbox.a).toEqual([]);
    expect(inbox.b).toEqual([]);
  });

  it("close() is idempotent and send() after close() is a silent no-op", async () => {
    const { a } = await makePair();
    await a.close();
    await a.close();
    expect(() => a.send([heartbeat("a", "b", 1)])).not.toThrow();
  });
});
