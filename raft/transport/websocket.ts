// The real Transport: one authenticated WebSocket per member pair, msgpackr
// frames, bounded per-peer queues, reconnect with capped jittered back-off.
// Binds and dials from the member's own host so per-address iptables rules
// cut it off exactly as they would a separate machine.
//
// Who dials: the member whose id sorts lower (JS string order) dials, the
// other accepts, and both send and receive on that one socket. Both ends can
// compute the rule alone, so there is never a second socket to reconcile,
// and it matches the "one WebSocket per peer pair" contract. Restarts: if
// the acceptor restarts, the dialer sees the close and redials (back-off
// capped at maxMs); if the dialer restarts, it dials on start and the
// acceptor lets the newest authenticated connection from a peer supersede
// the old one (which may still look open after a kill -9 or a partition).
// A socket that stays silent past deadAfterMs (both ends ping every
// pingIntervalMs) is terminated, so a partition that cut a connection
// without FIN is noticed and the dialer starts redialling.

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import { pino, type Logger } from "pino";
import { WebSocket, WebSocketServer, type ClientOptions, type RawData, type ServerOptions } from "ws";
import type { Message, MsgSnap, NodeId } from "../core/types.js";
import {
  createHello,
  createWelcome,
  ReplayGuard,
  verifyHello,
  verifyWelcome,
  type Hello,
  type Refusal,
  type Secret,
} from "./handshake.js";
import { SNAPSHOT_PATH, SnapshotReceiver, SnapshotSender, type ReceiverFrame } from "./snapshot-stream.js";
import type { MessageHandler, PeerAddress, Transport } from "./types.js";
import { decodeFrame, encodeFrame, validateFrame, type Validated } from "./validate.js";

/** URL path of the peer endpoint on raftPort. */
export const RAFT_PATH = "/raft";

/** WebSocket close codes (4000-4999 are for applications). */
export const CloseCode = {
  /** Handshake refused (reason: a Refusal code) or not completed in time. */
  refused: 4001,
  /** A newer authenticated connection from the same peer replaced this one. */
  superseded: 4002,
  /** The peer was removed from membership or its address changed. */
  removed: 4003,
  shutdown: 1001,
} as const;

export interface BackoffOptions {
  /** First redial delay. */
  initialMs: number;
  /** Cap: a healed partition is redialled at most this long after it heals (plus TCP connect). */
  maxMs: number;
  multiplier: number;
  /** Fraction of the delay that is randomized away (0: none, 1: full jitter). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 1000, multiplier: 2, jitter: 0.5 };

export interface WebSocketTransportOptions {
  /** This member: listens on host:port (port 0 picks a free one, see `port`), dials from host. */
  self: PeerAddress;
  clusterName: string;
  /** Cluster token; keys the handshake HMAC. */
  token: string;
  peers: PeerAddress[];
  logger?: Logger;
  /** Bound of each peer's outbound queue in messages (oldest dropped first). Default 4096. */
  maxQueueMessages?: number;
  /** Bound of each peer's outbound queue in (estimated) payload bytes. Default 128 MiB. */
  maxQueueBytes?: number;
  /** Largest frame sent or accepted (ws maxPayload); snapshots travel here. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Stop writing to a socket whose unsent bytes exceed this; messages wait in the queue. Default 16 MiB. */
  maxBufferedBytes?: number;
  backoff?: Partial<BackoffOptions>;
  /** TCP connect + upgrade + hello/welcome must finish within this. Default 3000 ms. */
  handshakeTimeoutMs?: number;
  /** Liveness ping period. Default 1000 ms. */
  pingIntervalMs?: number;
  /** A connection that received nothing for this long is terminated. Default 3000 ms. */
  deadAfterMs?: number;
  /** Hello timestamps further than this from our clock are refused. Default 120 s. */
  maxClockSkewMs?: number;
  /** At most this many inbound connections may be in the handshake at once. Default 64. */
  maxPendingHandshakes?: number;
  /** Random source in [0, 1) for back-off jitter. Default Math.random. */
  random?: () => number;
  /** Chunk size of a snapshot on its own connection (capped below maxFrameBytes). Default 1 MiB. */
  snapshotChunkBytes?: number;
  /** Largest snapshot accepted. Default 4 GiB. */
  maxSnapshotBytes?: number;
  /** A snapshot transfer that makes no progress for this long fails. Default 10 s. */
  snapshotIdleMs?: number;
}

export interface PeerStats {
  id: NodeId;
  address: PeerAddress;
  /** True when this member dials the peer (lower id); false when it accepts. */
  dials: boolean;
  connected: boolean;
  queued: number;
  queuedBytes: number;
  /** Messages dropped because the queue was full, since start. */
  dropped: number;
}

export interface TransportStats {
  peers: PeerStats[];
  /** Messages addressed to a member that is not a peer. */
  unknownPeerDrops: number;
  /** Inbound frames dropped as undecodable or ill-formed (after a handshake). */
  malformedFrames: number;
  /** Inbound connections refused at the handshake. */
  refusedHandshakes: number;
  delivered: number;
}

/**
 * ws 8.23 takes `closeTimeout` (how long close() waits for the peer's close
 * frame before destroying the socket; default 30 s); @types/ws 8.18 lacks it.
 * A refused or superseded socket should not linger that long.
 */
interface WsCloseTimeout {
  closeTimeout: number;
}

type ConnState = "handshake" | "open" | "closed";

interface Conn {
  ws: WebSocket;
  direction: "inbound" | "outbound";
  /** Outbound: the peer dialled. Inbound: null until the hello is verified. */
  peerId: NodeId | null;
  /** For log lines. */
  remote: string;
  state: ConnState;
  /** Bytes arrived since the last liveness tick. */
  seen: boolean;
  silentMs: number;
  handshakeTimer: NodeJS.Timeout | null;
  /** Outbound: the hello we sent, which the welcome must answer. */
  hello: Hello | null;
  closed: Promise<void>;
}

interface Peer {
  address: PeerAddress;
  dials: boolean;
  outbox: Outbox;
  /** The authenticated connection messages flow on. */
  conn: Conn | null;
  /** Outbound connection still in its handshake (dialer side only). */
  dialing: Conn | null;
  reconnectTimer: NodeJS.Timeout | null;
  attempts: number;
  /** A connection failure has been logged at warn since the last success (later ones go to debug). */
  failing: boolean;
  dropped: number;
}

export class WebSocketTransport implements Transport {
  private readonly self: PeerAddress;
  private readonly secret: Secret;
  private readonly log: Logger;
  private readonly maxQueueMessages: number;
  private readonly maxQueueBytes: number;
  private readonly maxFrameBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly backoff: BackoffOptions;
  private readonly handshakeTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly deadAfterMs: number;
  private readonly maxClockSkewMs: number;
  private readonly maxPendingHandshakes: number;
  private readonly random: () => number;
  private readonly replay: ReplayGuard;
  private readonly snapshotChunkBytes: number;
  private readonly maxSnapshotBytes: number;
  private readonly snapshotIdleMs: number;
  /** Snapshot connections, both directions: terminated by close(). */
  private readonly snapshotSockets = new Set<WebSocket>();
  private snapWss: WebSocketServer | null = null;

  private readonly peers = new Map<NodeId, Peer>();
  private readonly conns = new Set<Conn>();
  private readonly dirty = new Set<Peer>();
  private handler: MessageHandler | null = null;
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private flushHandle: NodeJS.Immediate | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private started = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private listenPort: number | null = null;
  private counters = { unknownPeerDrops: 0, malformedFrames: 0, refusedHandshakes: 0, delivered: 0 };

  constructor(options: WebSocketTransportOptions) {
    const o = options;
    if (!o.self.id) throw new Error("WebSocketTransport: self.id is empty");
    if (!o.token) throw new Error("WebSocketTransport: token is empty");
    this.self = { ...o.self };
    this.secret = { clusterName: o.clusterName, token: o.token };
    this.log = (o.logger ?? pino({ level: "silent" })).child({ component: "raft-transport", member: o.self.id });
    this.maxQueueMessages = positive("maxQueueMessages", o.maxQueueMessages ?? 4096);
    this.maxQueueBytes = positive("maxQueueBytes", o.maxQueueBytes ?? 128 * 1024 * 1024);
    this.maxFrameBytes = positive("maxFrameBytes", o.maxFrameBytes ?? 64 * 1024 * 1024);
    this.maxBufferedBytes = positive("maxBufferedBytes", o.maxBufferedBytes ?? 16 * 1024 * 1024);
    this.backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
    this.handshakeTimeoutMs = positive("handshakeTimeoutMs", o.handshakeTimeoutMs ?? 3000);
    this.pingIntervalMs = positive("pingIntervalMs", o.pingIntervalMs ?? 1000);
    this.deadAfterMs = positive("deadAfterMs", o.deadAfterMs ?? 3000);
    this.maxClockSkewMs = positive("maxClockSkewMs", o.maxClockSkewMs ?? 120_000);
    this.maxPendingHandshakes = positive("maxPendingHandshakes", o.maxPendingHandshakes ?? 64);
    this.random = o.random ?? Math.random;
    this.replay = new ReplayGuard(this.maxClockSkewMs);
    this.snapshotChunkBytes = Math.min(positive("snapshotChunkBytes", o.snapshotChunkBytes ?? 1024 * 1024), Math.max(1, this.maxFrameBytes - 4096));
    this.maxSnapshotBytes = positive("maxSnapshotBytes", o.maxSnapshotBytes ?? 4 * 1024 * 1024 * 1024);
    this.snapshotIdleMs = positive("snapshotIdleMs", o.snapshotIdleMs ?? 10_000);
    for (const p of o.peers) this.addPeer(p);
  }

  /** The port it listens on (the real one once started, also when configured as 0). */
  get port(): number {
    return this.listenPort ?? this.self.port;
  }

  get id(): NodeId {
    return this.self.id;
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error("WebSocketTransport: start() after close()");
    if (this.started) return;
    this.started = true;
    const http = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" });
      res.end("pinsetter raft peer endpoint: WebSocket only\n");
    });
    const serverOptions: ServerOptions & WsCloseTimeout = {
      noServer: true,
      maxPayload: this.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      closeTimeout: this.handshakeTimeoutMs,
    };
    const wss = new WebSocketServer(serverOptions);
    const snapWss = new WebSocketServer(serverOptions);
    this.http = http;
    this.wss = wss;
    this.snapWss = snapWss;
    // Two endpoints on raftPort: peer connections and snapshot transfers.
    http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on("error", (err) => this.log.debug({ err }, "peer upgrade socket error"));
      const path = (req.url ?? "").split("?")[0];
      const target = path === RAFT_PATH ? wss : path === SNAPSHOT_PATH ? snapWss : null;
      if (target === null || this.closed) {
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        return;
      }
      target.handleUpgrade(req, socket, head, (ws) => target.emit("connection", ws, req));
    });
    wss.on("connection", (ws: WebSocket, req: IncomingMessage) => this.accept(ws, req));
    snapWss.on("connection", (ws: WebSocket, req: IncomingMessage) => this.acceptSnapshot(ws, req));
    snapWss.on("error", (err) => this.log.debug({ err }, "snapshot server error"));
    // The server's errors are re-emitted by wss; listen() failures are reported below.
    wss.on("error", (err) => this.log.debug({ err }, "websocket server error"));
    try {
      await new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(this.self.port, this.self.host, () => {
          http.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      this.log.error({ err, host: this.self.host, port: this.self.port }, "cannot listen for raft peers");
      await this.close();
      throw err;
    }
    http.on("error", (err) => this.log.error({ err }, "raft peer server error"));
    const addr = http.address();
    this.listenPort = typeof addr === "object" && addr ? addr.port : this.self.port;
    this.log.info({ host: this.self.host, port: this.listenPort }, "raft transport listening");
    this.lastTick = Date.now();
    this.pingTimer = setInterval(() => this.tick(), this.pingIntervalMs);
    for (const peer of this.peers.values()) if (peer.dials) this.dial(peer);
  }

  send(messages: Message[]): void {
    for (const m of messages) {
      try {
        this.enqueue(m);
      } catch (err) {
        // Only a malformed outbound message (a bug upstream) gets here; send() never throws.
        this.log.error({ err, type: m?.type, to: m?.to }, "cannot queue outbound message; dropped");
      }
    }
  }

  /**
   * Sends a snapshot message on its own connection, in chunks with flow
   * control. Resolves once the peer has the whole snapshot and handed it to
   * Raft; rejects if it cannot (unreachable, refused, stalled, closed).
   */
  sendSnapshot(m: MsgSnap): Promise<void> {
    const peer = this.peers.get(m.to);
    if (!this.started || this.closed) return Promise.reject(new Error("transport not running"));
    if (!peer) return Promise.reject(new Error(`snapshot to ${m.to}, which is not a peer`));
    const { host, port } = peer.address;
    return new Promise<void>((resolve, reject) => {
      const clientOptions: ClientOptions & WsCloseTimeout = {
        localAddress: this.self.host,
        handshakeTimeout: this.handshakeTimeoutMs,
        maxPayload: this.maxFrameBytes,
        perMessageDeflate: false,
        followRedirects: false,
        closeTimeout: this.handshakeTimeoutMs,
      };
      let ws: WebSocket;
      try {
        ws = new WebSocket(`ws://${urlHost(host)}:${port}${SNAPSHOT_PATH}`, clientOptions);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.snapshotSockets.add(ws);
      const started = Date.now();
      let settled = false;
      let hello: Hello | null = null;
      let idle: NodeJS.Timeout | null = null;
      const settle = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        if (idle) clearTimeout(idle);
        this.snapshotSockets.delete(ws);
        if (err) {
          this.log.warn({ peer: m.to, index: m.snapshot.metadata.index, err: err.message }, "snapshot transfer failed");
          ws.terminate();
          reject(err);
        } else {
          this.log.info(
            { peer: m.to, index: m.snapshot.metadata.index, bytes: m.snapshot.data.byteLength, ms: Date.now() - started },
            "snapshot transfer complete",
          );
          ws.close(1000, "done");
          resolve();
        }
      };
      const touch = (): void => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => settle(new Error(`snapshot transfer to ${m.to} made no progress for ${this.snapshotIdleMs} ms`)), this.snapshotIdleMs);
      };
      touch();
      const sender = new SnapshotSender(m, this.snapshotChunkBytes, (frame) => ws.send(frame, { binary: true }));
      ws.on("open", () => {
        hello = createHello(this.secret, this.self.id, m.to, Date.now());
        ws.send(encodeFrame(hello));
      });
      ws.on("message", (data, isBinary) => {
        touch();
        const decoded = isBinary ? decodeFrame(toBuffer(data)) : { ok: false as const, reason: "text frame" };
        if (!decoded.ok) return settle(new Error(`snapshot receiver sent an undecodable frame: ${decoded.reason}`));
        if (hello !== null && !welcomed) {
          const r = verifyWelcome(decoded.value, this.secret, hello);
          if (!r.ok) return settle(new Error(`snapshot receiver failed the handshake (${r.code}): ${r.reason}`));
          welcomed = true;
          sender.begin();
          return;
        }
        const step = sender.onFrame(decoded.value);
        if (step === "done") settle(null);
        else if (step !== "more") settle(new Error(step.fail));
      });
      let welcomed = false;
      ws.on("error", (err) => settle(err));
      ws.on("close", (code, reason) => settle(new Error(`snapshot connection closed (${code} ${reason.toString()})`)));
    });
  }

  /** Sets the handler every delivered message goes to (replaces any earlier one). */
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  addPeer(address: PeerAddress): void {
    if (this.closed) return;
    if (address.id === this.self.id) {
      this.log.debug({ peer: address.id }, "addPeer for this member ignored");
      return;
    }
    const existing = this.peers.get(address.id);
    if (existing) {
      const old = existing.address;
      if (old.host === address.host && old.port === address.port) return;
      existing.address = { ...address };
      this.log.info({ peer: address.id, host: address.host, port: address.port }, "peer address changed");
      // The acceptor never uses a dialer's address; only our own dials go stale.
      if (existing.dials) {
        for (const c of [existing.conn, existing.dialing]) if (c) this.drop(c, CloseCode.removed, "address-changed");
        this.cancelReconnect(existing);
        existing.attempts = 0;
        this.dial(existing);
      }
      return;
    }
    const peer: Peer = {
      address: { ...address },
      dials: this.self.id < address.id,
      outbox: new Outbox(this.maxQueueMessages, this.maxQueueBytes),
      conn: null,
      dialing: null,
      reconnectTimer: null,
      attempts: 0,
      failing: false,
      dropped: 0,
    };
    this.peers.set(address.id, peer);
    if (peer.dials) this.dial(peer);
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    this.dirty.delete(peer);
    this.cancelReconnect(peer);
    for (const c of [peer.conn, peer.dialing]) if (c) this.drop(c, CloseCode.removed, "removed");
    peer.outbox.clear();
    this.log.info({ peer: id }, "peer removed");
  }

  stats(): TransportStats {
    return {
      ...this.counters,
      peers: [...this.peers.values()].map((p) => ({
        id: p.address.id,
        address: { ...p.address },
        dials: p.dials,
        connected: p.conn !== null && p.conn.state === "open",
        queued: p.outbox.length,
        queuedBytes: p.outbox.bytes,
        dropped: p.dropped,
      })),
    };
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  // -------------------------------------------------------------------------
  // Outbound path: queue, batch on setImmediate, write with back-pressure.

  private enqueue(m: Message): void {
    if (this.closed) return;
    const peer = this.peers.get(m.to);
    if (!peer) {
      this.counters.unknownPeerDrops++;
      this.log.debug({ to: m.to, type: m.type }, "message to a member that is not a peer; dropped");
      return;
    }
    const dropped = peer.outbox.push(m, estimateBytes(m));
    if (dropped > 0) {
      peer.dropped += dropped;
      this.log.debug(
        { peer: peer.address.id, dropped: peer.dropped, limit: this.maxQueueMessages },
        "outbound queue full; dropped oldest messages",
      );
    }
    this.scheduleFlush(peer);
  }

  private scheduleFlush(peer: Peer): void {
    this.dirty.add(peer);
    if (this.flushHandle || this.closed) return;
    this.flushHandle = setImmediate(() => {
      this.flushHandle = null;
      const peers = [...this.dirty];
      this.dirty.clear();
      for (const p of peers) this.flushPeer(p);
    });
  }

  private flushPeer(peer: Peer): void {
    const conn = peer.conn;
    if (this.peers.get(peer.address.id) !== peer || peer.outbox.length === 0) return;
    // Not connected: messages wait (bounded) and go out when the handshake completes.
    if (!conn || conn.state !== "open" || conn.ws.readyState !== WebSocket.OPEN) return;
    // A slow or stopped reader: stop feeding the socket; the write callback of
    // an earlier frame schedules the next flush once it drains.
    if (conn.ws.bufferedAmount > this.maxBufferedBytes) return;
    this.writeFrames(peer, conn, peer.outbox.takeAll());
  }

  private writeFrames(peer: Peer, conn: Conn, messages: Message[]): void {
    let frame: Buffer;
    try {
      frame = encodeFrame(messages);
    } catch (err) {
      this.log.error({ err, peer: peer.address.id, count: messages.length }, "cannot encode messages; dropped");
      return;
    }
    if (frame.byteLength > this.maxFrameBytes) {
      if (messages.length === 1) {
        this.log.warn(
          { peer: peer.address.id, type: messages[0]!.type, bytes: frame.byteLength, limit: this.maxFrameBytes },
          "message larger than maxFrameBytes; dropped",
        );
        return;
      }
      const mid = messages.length >>> 1;
      this.writeFrames(peer, conn, messages.slice(0, mid));
      this.writeFrames(peer, conn, messages.slice(mid));
      return;
    }
    conn.ws.send(frame, { binary: true }, (err) => {
      if (err) {
        this.log.debug({ err, peer: peer.address.id }, "frame not written (connection closing)");
        return;
      }
      if (peer.conn === conn && peer.outbox.length > 0) this.scheduleFlush(peer);
    });
  }

  // -------------------------------------------------------------------------
  // Connections.

  private dial(peer: Peer): void {
    if (!this.started || this.closed || peer.conn || peer.dialing) return;
    if (this.peers.get(peer.address.id) !== peer) return;
    const { id, host, port } = peer.address;
    let ws: WebSocket;
    try {
      const clientOptions: ClientOptions & WsCloseTimeout = {
        // Dial from our own address: per-address firewall rules must see this member, not 127.0.0.1.
        localAddress: this.self.host,
        handshakeTimeout: this.handshakeTimeoutMs,
        maxPayload: this.maxFrameBytes,
        perMessageDeflate: false,
        followRedirects: false,
        closeTimeout: this.handshakeTimeoutMs,
      };
      ws = new WebSocket(`ws://${urlHost(host)}:${port}${RAFT_PATH}`, clientOptions);
    } catch (err) {
      this.noteFailure(peer, "cannot dial peer", { err });
      this.scheduleReconnect(peer);
      return;
    }
    const conn = this.track(ws, "outbound", id, `${host}:${port}`);
    peer.dialing = conn;
    ws.on("upgrade", (res: IncomingMessage) => this.watchLiveness(conn, res.socket));
    ws.on("open", () => {
      if (conn.state !== "handshake") return;
      conn.hello = createHello(this.secret, this.self.id, id, Date.now());
      ws.send(encodeFrame(conn.hello));
      conn.handshakeTimer = setTimeout(() => {
        this.noteFailure(peer, "peer did not answer the handshake in time", { remote: conn.remote });
        this.drop(conn, CloseCode.refused, "handshake-timeout");
      }, this.handshakeTimeoutMs);
    });
    ws.on("error", (err) => {
      if (conn.state === "handshake") this.noteFailure(peer, "cannot reach peer", { err: err.message, remote: conn.remote });
      else this.log.debug({ err, peer: id }, "peer connection error");
    });
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    if (this.closed) {
      ws.terminate();
      return;
    }
    let pending = 0;
    for (const c of this.conns) if (c.direction === "inbound" && c.state === "handshake") pending++;
    if (pending >= this.maxPendingHandshakes) {
      this.counters.refusedHandshakes++;
      this.log.warn({ remote, pending }, "too many pending peer handshakes; connection refused");
      ws.terminate();
      return;
    }
    const conn = this.track(ws, "inbound", null, remote);
    this.watchLiveness(conn, req.socket);
    conn.handshakeTimer = setTimeout(
      () => this.refuse(conn, { ok: false, code: "malformed", reason: `no hello within ${this.handshakeTimeoutMs} ms` }),
      this.handshakeTimeoutMs,
    );
    ws.on("error", (err) => this.log.debug({ err, remote, peer: conn.peerId }, "inbound peer connection error"));
  }

  /** Registers a socket's listeners shared by both directions. */
  private track(ws: WebSocket, direction: Conn["direction"], peerId: NodeId | null, remote: string): Conn {
    let onClosed!: () => void;
    const conn: Conn = {
      ws,
      direction,
      peerId,
      remote,
      state: "handshake",
      seen: true,
      silentMs: 0,
      handshakeTimer: null,
      hello: null,
      closed: new Promise<void>((resolve) => (onClosed = resolve)),
    };
    this.conns.add(conn);
    ws.on("message", (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on("close", (code, reason) => {
      this.onClose(conn, code, reason.toString());
      this.conns.delete(conn);
      onClosed();
    });
    return conn;
  }

  /** Any bytes from the peer (not only pongs) prove it alive: a big snapshot frame delays pongs. */
  private watchLiveness(conn: Conn, socket: Socket): void {
    socket.on("data", () => {
      conn.seen = true;
    });
  }

  private onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.state === "closed") return;
    conn.seen = true;
    const decoded: Validated<unknown> = isBinary
      ? decodeFrame(toBuffer(data))
      : { ok: false, reason: "text frame (peer frames are binary)" };
    if (conn.state === "handshake") {
      if (conn.direction === "inbound") this.onHello(conn, decoded);
      else this.onWelcome(conn, decoded);
      return;
    }
    this.onMessages(conn, decoded);
  }

  private onHello(conn: Conn, decoded: Validated<unknown>): void {
    if (!decoded.ok) return this.refuse(conn, { ok: false, code: "malformed", reason: decoded.reason });
    const r = verifyHello(decoded.value, this.secret, {
      self: this.self.id,
      acceptsPeer: (id) => this.acceptsPeer(id),
      now: Date.now(),
      maxClockSkewMs: this.maxClockSkewMs,
      replay: this.replay,
    });
    if (!r.ok) return this.refuse(conn, r);
    const hello = r.value;
    const peer = this.peers.get(hello.from)!; // acceptsPeer checked membership
    conn.peerId = hello.from;
    conn.ws.send(encodeFrame(createWelcome(this.secret, hello)));
    this.establish(peer, conn);
  }

  /** An inbound snapshot transfer: hello, then head and chunks; delivered whole, answered done or fail. */
  private acceptSnapshot(ws: WebSocket, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    if (this.closed) {
      ws.terminate();
      return;
    }
    this.snapshotSockets.add(ws);
    let receiver: SnapshotReceiver | null = null;
    let idle: NodeJS.Timeout | null = null;
    let over = false;
    const end = (): void => {
      over = true;
      if (idle) clearTimeout(idle);
      this.snapshotSockets.delete(ws);
    };
    const touch = (): void => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        this.log.warn({ remote }, "snapshot transfer stalled; dropped");
        end();
        ws.terminate();
      }, receiver === null ? this.handshakeTimeoutMs : this.snapshotIdleMs);
    };
    touch();
    const reply = (f: ReceiverFrame): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(f), { binary: true });
    };
    ws.on("message", (data, isBinary) => {
      if (over) return;
      const decoded = isBinary ? decodeFrame(toBuffer(data)) : { ok: false as const, reason: "text frame" };
      if (receiver === null) {
        if (!decoded.ok) {
          end();
          ws.close(CloseCode.refused, "malformed");
          return;
        }
        const r = verifyHello(decoded.value, this.secret, {
          self: this.self.id,
          // Any known member may send us a snapshot, whichever side dials the peer connection.
          acceptsPeer: (id) => (this.peers.has(id) ? null : { ok: false, code: "unknown-member", reason: `"${id}" is not a member this one knows` }),
          now: Date.now(),
          maxClockSkewMs: this.maxClockSkewMs,
          replay: this.replay,
        });
        if (!r.ok) {
          this.counters.refusedHandshakes++;
          this.log.warn({ remote, code: r.code }, `refused snapshot connection: ${r.reason}`);
          end();
          ws.close(CloseCode.refused, r.code);
          return;
        }
        receiver = new SnapshotReceiver(r.value.from, this.self.id, this.maxSnapshotBytes, reply);
        ws.send(encodeFrame(createWelcome(this.secret, r.value)));
        touch();
        return;
      }
      touch();
      const result = receiver.onFrame(decoded);
      if (result === null) return;
      if ("fail" in result) {
        this.log.warn({ remote, reason: result.fail }, "snapshot transfer refused");
        reply({ kind: "snapFail", reason: result.fail });
        end();
        ws.close(1000, "failed");
        return;
      }
      this.log.info({ from: result.message.from, index: result.message.snapshot.metadata.index, bytes: result.message.snapshot.data.byteLength }, "snapshot received");
      this.deliver(result.message);
      reply({ kind: "snapDone" });
      end();
    });
    ws.on("error", (err) => this.log.debug({ err, remote }, "snapshot connection error"));
    ws.on("close", () => end());
  }

  private acceptsPeer(id: NodeId): Refusal | null {
    const peer = this.peers.get(id);
    if (!peer) return { ok: false, code: "unknown-member", reason: `"${id}" is not a member this one knows` };
    if (peer.dials) {
      return {
        ok: false,
        code: "wrong-member",
        reason: `"${id}" dialled, but the lower id ("${this.self.id}") is the one that dials`,
      };
    }
    return null;
  }

  private onWelcome(conn: Conn, decoded: Validated<unknown>): void {
    const peer = conn.peerId === null ? undefined : this.peers.get(conn.peerId);
    if (!peer || peer.dialing !== conn || !conn.hello) {
      this.drop(conn, CloseCode.removed, "removed");
      return;
    }
    const r = decoded.ok
      ? verifyWelcome(decoded.value, this.secret, conn.hello)
      : { ok: false as const, code: "malformed" as const, reason: decoded.reason };
    if (!r.ok) {
      this.noteFailure(peer, `acceptor failed the handshake (${r.code}): ${r.reason}`, { remote: conn.remote });
      this.drop(conn, CloseCode.refused, r.code);
      return;
    }
    this.establish(peer, conn);
  }

  private establish(peer: Peer, conn: Conn): void {
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    conn.state = "open";
    const old = peer.conn;
    peer.conn = conn;
    if (peer.dialing === conn) peer.dialing = null;
    peer.attempts = 0;
    if (old && old !== conn) this.drop(old, CloseCode.superseded, "superseded");
    this.log.info(
      { peer: peer.address.id, remote: conn.remote, direction: conn.direction, queued: peer.outbox.length },
      "peer connected",
    );
    peer.failing = false;
    if (peer.outbox.length > 0) this.scheduleFlush(peer);
  }

  private onMessages(conn: Conn, decoded: Validated<unknown>): void {
    const from = conn.peerId!;
    const frame = decoded.ok ? validateFrame(decoded.value, { from, to: this.self.id }) : decoded;
    if (!frame.ok) {
      this.counters.malformedFrames++;
      this.log.warn({ peer: from, remote: conn.remote, reason: frame.reason }, "dropped malformed frame from peer");
      return;
    }
    for (const m of frame.value) {
      // The handler may remove this peer or close the transport mid-frame.
      if (conn.state !== "open") return;
      this.deliver(m);
    }
  }

  private deliver(m: Message): void {
    const handler = this.handler;
    if (!handler) {
      this.log.debug({ from: m.from, type: m.type }, "no message handler; dropped");
      return;
    }
    this.counters.delivered++;
    try {
      handler(m);
    } catch (err) {
      // A bug in the consumer; logged here so it cannot crash the socket's event loop turn.
      this.log.error({ err, from: m.from, type: m.type }, "message handler threw");
    }
  }

  private refuse(conn: Conn, refusal: Refusal): void {
    this.counters.refusedHandshakes++;
    this.log.warn({ remote: conn.remote, code: refusal.code }, `refused peer connection: ${refusal.reason}`);
    this.drop(conn, CloseCode.refused, refusal.code);
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    const peer = conn.peerId === null ? undefined : this.peers.get(conn.peerId);
    // Still in the handshake when the close arrives: the acceptor refused us (not we it).
    if (peer && conn.direction === "outbound" && conn.state === "handshake" && code === CloseCode.refused) {
      this.noteFailure(peer, `peer refused our handshake: ${reason || "no reason given"}`, { remote: conn.remote });
    }
    this.detach(conn);
  }

  /** Closes a connection we gave up on; its bookkeeping is undone at once, not at the close event. */
  private drop(conn: Conn, code: number, reason: string): void {
    if (conn.state === "closed") return;
    this.detach(conn);
    if (conn.ws.readyState === WebSocket.CONNECTING) conn.ws.terminate();
    else conn.ws.close(code, reason);
  }

  private kill(conn: Conn): void {
    this.detach(conn);
    conn.ws.terminate();
  }

  private detach(conn: Conn): void {
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    if (conn.state === "closed") return;
    const wasOpen = conn.state === "open";
    conn.state = "closed";
    const peer = conn.peerId === null ? undefined : this.peers.get(conn.peerId);
    if (!peer) return;
    if (peer.conn === conn) {
      peer.conn = null;
      if (wasOpen && !this.closed) this.log.info({ peer: peer.address.id, remote: conn.remote }, "peer disconnected");
    }
    if (peer.dialing === conn) peer.dialing = null;
    if (peer.dials && !peer.conn && !peer.dialing) this.scheduleReconnect(peer);
  }

  private scheduleReconnect(peer: Peer): void {
    if (this.closed || peer.reconnectTimer || this.peers.get(peer.address.id) !== peer) return;
    const b = this.backoff;
    const base = Math.min(b.maxMs, b.initialMs * b.multiplier ** peer.attempts);
    const delay = Math.max(0, base * (1 - b.jitter * this.random()));
    peer.attempts++;
    peer.reconnectTimer = setTimeout(() => {
      peer.reconnectTimer = null;
      this.dial(peer);
    }, delay);
  }

  private cancelReconnect(peer: Peer): void {
    if (peer.reconnectTimer) clearTimeout(peer.reconnectTimer);
    peer.reconnectTimer = null;
  }

  /** First failure after a success is a warning; the retries that follow go to debug. */
  private noteFailure(peer: Peer, msg: string, fields: Record<string, unknown>): void {
    if (this.closed) return;
    const f = { peer: peer.address.id, attempt: peer.attempts, ...fields };
    if (peer.failing) this.log.debug(f, msg);
    else this.log.warn(f, msg);
    peer.failing = true;
  }

  /** Liveness: ping every open connection; terminate one that stayed silent past deadAfterMs. */
  private tick(): void {
    const now = Date.now();
    // If this timer fired late, our own event loop was blocked and the
    // silence is ours, not the peer's: judge nobody this round.
    const late = now - this.lastTick > 2 * this.pingIntervalMs;
    this.lastTick = now;
    for (const conn of this.conns) {
      if (conn.state !== "open" || conn.ws.readyState !== WebSocket.OPEN) continue;
      if (conn.seen || late) {
        conn.silentMs = 0;
      } else {
        conn.silentMs += this.pingIntervalMs;
        if (conn.silentMs >= this.deadAfterMs) {
          this.log.warn({ peer: conn.peerId, remote: conn.remote, silentMs: conn.silentMs }, "peer silent; connection dropped");
          this.kill(conn);
          continue;
        }
      }
      conn.seen = false;
      conn.ws.ping();
    }
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.flushHandle) clearImmediate(this.flushHandle);
    this.flushHandle = null;
    this.dirty.clear();
    for (const peer of this.peers.values()) {
      this.cancelReconnect(peer);
      peer.outbox.clear();
    }
    for (const ws of this.snapshotSockets) ws.terminate();
    this.snapshotSockets.clear();
    const closing: Promise<void>[] = [];
    for (const conn of this.conns) {
      this.detach(conn);
      conn.ws.terminate();
      closing.push(conn.closed);
    }
    await Promise.all(closing);
    const wss = this.wss;
    const http = this.http;
    this.wss = null;
    this.http = null;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
    const snapWss = this.snapWss;
    this.snapWss = null;
    if (snapWss) await new Promise<void>((resolve) => snapWss.close(() => resolve()));
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

/** FIFO of one peer's outbound messages, bounded in count and estimated bytes; drops the oldest. */
class Outbox {
  private items: (Message | undefined)[] = [];
  private sizes: number[] = [];
  private head = 0;
  bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends; returns how many old messages were dropped to stay within bounds. */
  push(m: Message, size: number): number {
    this.items.push(m);
    this.sizes.push(size);
    this.bytes += size;
    let dropped = 0;
    // Newer Raft messages supersede older ones (higher term, later heartbeat), so the oldest go.
    // The last message always stays, even when alone it exceeds maxBytes.
    while (this.length > 1 && (this.length > this.maxMessages || this.bytes > this.maxBytes)) {
      this.bytes -= this.sizes[this.head]!;
      this.items[this.head] = undefined;
      this.head++;
      dropped++;
    }
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  takeAll(): Message[] {
    const out = (this.head === 0 ? this.items : this.items.slice(this.head)) as Message[];
    this.clear();
    return out;
  }

  clear(): void {
    this.items = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }
}

/** Rough encoded size of a message: payload bytes plus a fixed overhead per record. */
function estimateBytes(m: Message): number {
  let n = 96;
  if (m.type === "app" || m.type === "prop") {
    for (const e of m.entries) n += 32 + e.data.byteLength;
  } else if (m.type === "snap") {
    const conf = m.snapshot.metadata.conf;
    n += m.snapshot.data.byteLength + 16 * (conf.voters.length + conf.learners.length);
  }
  return n;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`WebSocketTransport: ${name} must be a positive number, got ${v}`);
  return v;
}
