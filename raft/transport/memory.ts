// In-memory twin of the WebSocket transport, for tests of the driver and
// anything above it. Same contract: asynchronous delivery (setImmediate),
// per-link FIFO order, a link exists only when both ends know each other,
// send() never throws. By default every batch goes through the same wire
// codec and validator as the real transport, so what arrives has the same
// shape (Uint8Array data comes back as Buffer) and bad messages are dropped
// the same way. Links can be cut one way or both, or a member isolated.

import type { Message, MsgSnap, NodeId } from "../core/types.js";
import type { MessageHandler, PeerAddress, Transport } from "./types.js";
import { decodeFrame, encodeFrame, validateMessage } from "./validate.js";

export interface MemoryNetworkOptions {
  /** Round-trip every batch through encodeFrame/decodeFrame/validateMessage. Default true. */
  wire?: boolean;
  /** Schedules a delivery (default setImmediate); a simulator passes its virtual clock. Must keep FIFO order. */
  schedule?: (fn: () => void) => void;
}

export interface MemoryNetworkStats {
  delivered: number;
  /** Dropped by a cut link, a closed or unknown receiver, or an unknown sender. */
  dropped: number;
  /** Dropped by the validator (wire mode). */
  malformed: number;
}

export class MemoryNetwork {
  private readonly members = new Map<NodeId, MemoryTransport>();
  /** Directed cuts, keyed by linkKey(from, to). */
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private readonly wire: boolean;
  private readonly counters: MemoryNetworkStats = { delivered: 0, dropped: 0, malformed: 0 };

  /** @internal Schedules a delivery. */
  readonly schedule: (fn: () => void) => void;

  constructor(options: MemoryNetworkOptions = {}) {
    this.wire = options.wire ?? true;
    this.schedule = options.schedule ?? ((fn) => setImmediate(fn));
  }

  /** A new member on this network; `peers` are the members it may talk to. */
  transport(id: NodeId, peers: (NodeId | PeerAddress)[] = []): MemoryTransport {
    const existing = this.members.get(id);
    if (existing && !existing.isClosed) throw new Error(`MemoryNetwork: member "${id}" already has an open transport`);
    const t = new MemoryTransport(this, id, peers);
    this.members.set(id, t);
    return t;
  }

  /** Cuts the link between a and b (both directions unless oneWay: then only a -> b). */
  cut(a: NodeId, b: NodeId, options: { oneWay?: boolean } = {}): void {
    this.cuts.add(linkKey(a, b));
    if (!options.oneWay) this.cuts.add(linkKey(b, a));
  }

  /** Restores the link between a and b, both directions. */
  heal(a: NodeId, b: NodeId): void {
    this.cuts.delete(linkKey(a, b));
    this.cuts.delete(linkKey(b, a));
  }

  /** Cuts a member off from everyone, until rejoin(id) or healAll(). */
  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Ends isolate(id) (pairwise cuts stay). */
  rejoin(id: NodeId): void {
    this.isolated.delete(id);
  }

  healAll(): void {
    this.cuts.clear();
    this.isolated.clear();
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return !this.isolated.has(from) && !this.isolated.has(to) && !this.cuts.has(linkKey(from, to));
  }

  stats(): MemoryNetworkStats {
    return { ...this.counters };
  }

  /** @internal Called by MemoryTransport.send. */
  route(sender: MemoryTransport, messages: Message[]): void {
    const batch = messages.filter((m) => {
      const ok = sender.knows(m.to);
      if (!ok) this.counters.dropped++;
      return ok;
    });
    if (batch.length === 0) return;
    // Encode now, as the real transport serializes before the sender can mutate anything.
    let payload: Message[] | Buffer;
    if (this.wire) {
      try {
        payload = encodeFrame(batch);
      } catch {
        this.counters.dropped += batch.length;
        return;
      }
    } else {
      payload = batch;
    }
    this.schedule(() => this.deliver(sender, payload));
  }

  /** @internal Forgets a closed transport. */
  unregister(t: MemoryTransport): void {
    if (this.members.get(t.id) === t) this.members.delete(t.id);
  }

  private deliver(sender: MemoryTransport, payload: Message[] | Buffer): void {
    if (sender.isClosed) return;
    let items: unknown[];
    if (Buffer.isBuffer(payload)) {
      const decoded = decodeFrame(payload);
      items = decoded.ok && Array.isArray(decoded.value) ? decoded.value : [];
    } else {
      items = payload;
    }
    let firstError: unknown = null;
    for (const item of items) {
      const to = (item as { to?: unknown }).to;
      const receiver = typeof to === "string" ? this.members.get(to) : undefined;
      if (
        !receiver ||
        !receiver.isListening ||
        !receiver.knows(sender.id) ||
        !sender.knows(receiver.id) ||
        !this.canReach(sender.id, receiver.id)
      ) {
        this.counters.dropped++;
        continue;
      }
      let m = item as Message;
      if (this.wire) {
        const r = validateMessage(item, { from: sender.id, to: receiver.id });
        if (!r.ok) {
          this.counters.malformed++;
          continue;
        }
        m = r.value;
      }
      this.counters.delivered++;
      try {
        receiver.receive(m);
      } catch (err) {
        firstError ??= err;
      }
    }
    // A throwing handler is a bug: let it surface (after the rest of the batch got through).
    if (firstError !== null) throw firstError;
  }
}

export class MemoryTransport implements Transport {
  private readonly peers = new Set<NodeId>();
  private handler: MessageHandler | null = null;
  private started = false;
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly id: NodeId,
    peers: (NodeId | PeerAddress)[],
  ) {
    for (const p of peers) this.addPeer(typeof p === "string" ? { id: p, host: "", port: 0 } : p);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isListening(): boolean {
    return this.started && !this.closed;
  }

  knows(id: NodeId): boolean {
    return this.peers.has(id);
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error("MemoryTransport: start() after close()");
    this.started = true;
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    this.network.route(this, messages);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  /** Delivers like send(); rejects when the link is cut or the receiver is gone (the twin of a failed transfer). */
  sendSnapshot(message: MsgSnap): Promise<void> {
    if (this.closed) return Promise.reject(new Error("MemoryTransport: closed"));
    if (!this.network.canReach(this.id, message.to) || !this.peers.has(message.to)) {
      return Promise.reject(new Error(`MemoryTransport: ${message.to} unreachable for a snapshot`));
    }
    this.network.route(this, [message]);
    return new Promise((resolve) => this.network.schedule(resolve));
  }

  addPeer(peer: PeerAddress): void {
    if (peer.id !== this.id) this.peers.add(peer.id);
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
    this.network.unregister(this);
  }

  /** @internal Called by MemoryNetwork. */
  receive(m: Message): void {
    this.handler?.(m);
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}
