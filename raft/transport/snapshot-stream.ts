// Snapshots on their own connection, in chunks, with flow control. A snapshot
// of any size can be sent (the peer connection's frame limit applies to each
// chunk, not to the snapshot), heartbeats and appends on the peer connection
// never wait behind it, and the sender learns the outcome: the receiver
// acknowledges every chunk (at most WINDOW unacknowledged), then answers
// "done" once the reassembled snapshot was delivered to Raft, or "fail".
//
// One snapshot per connection, dialled by the sender (whichever id is lower)
// to SNAPSHOT_PATH and authenticated with the same hello/welcome as the peer
// connection. Frames (MessagePack):
//   sender   -> hello, head {from,to,term,metadata,bytes}, chunk {seq,data}...
//   receiver -> welcome, ack {seq}..., done | fail {reason}

import type { MsgSnap, NodeId, SnapshotMetadata } from "../core/types.js";
import { decodeFrame, encodeFrame, validateMessage, type Validated } from "./validate.js";

/** URL path of the snapshot endpoint on raftPort. */
export const SNAPSHOT_PATH = "/raft/snapshot";

/** Chunks sent and not yet acknowledged. */
export const SNAPSHOT_WINDOW = 4;

export interface SnapHead {
  kind: "snapHead";
  from: NodeId;
  to: NodeId;
  term: number;
  metadata: SnapshotMetadata;
  bytes: number;
}

export interface SnapChunk {
  kind: "snapChunk";
  seq: number;
  data: Uint8Array;
}

export type ReceiverFrame = { kind: "snapAck"; seq: number } | { kind: "snapDone" } | { kind: "snapFail"; reason: string };

/** The chunks of a snapshot message's data, each at most chunkBytes. */
export function chunkCount(bytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(bytes / chunkBytes));
}

/** The sender's side of one transfer, driven by the receiver's frames. */
export class SnapshotSender {
  private nextSeq = 0;
  private acked = -1;
  readonly chunks: number;

  constructor(
    private readonly message: MsgSnap,
    private readonly chunkBytes: number,
    private readonly write: (frame: Buffer) => void,
  ) {
    this.chunks = chunkCount(message.snapshot.data.byteLength, chunkBytes);
  }

  /** After the welcome: the head, then the first window of chunks. */
  begin(): void {
    const m = this.message;
    const head: SnapHead = { kind: "snapHead", from: m.from, to: m.to, term: m.term, metadata: m.snapshot.metadata, bytes: m.snapshot.data.byteLength };
    this.write(encodeFrame(head));
    this.pump();
  }

  /** Handles a receiver frame: "more" (keep going), "done", or a failure reason. */
  onFrame(frame: unknown): "more" | "done" | { fail: string } {
    const f = readReceiverFrame(frame);
    if (!f.ok) return { fail: f.reason };
    switch (f.value.kind) {
      case "snapAck":
        if (f.value.seq !== this.acked + 1 || f.value.seq >= this.nextSeq) return { fail: `unexpected ack ${f.value.seq}` };
        this.acked = f.value.seq;
        this.pump();
        return "more";
      case "snapDone":
        return this.acked === this.chunks - 1 ? "done" : { fail: "done before every chunk was acknowledged" };
      case "snapFail":
        return { fail: `receiver refused the snapshot: ${f.value.reason}` };
    }
  }

  private pump(): void {
    const data = this.message.snapshot.data;
    while (this.nextSeq < this.chunks && this.nextSeq - this.acked <= SNAPSHOT_WINDOW) {
      const seq = this.nextSeq++;
      const chunk: SnapChunk = { kind: "snapChunk", seq, data: data.subarray(seq * this.chunkBytes, (seq + 1) * this.chunkBytes) };
      this.write(encodeFrame(chunk));
    }
  }
}

/** The receiver's side of one transfer: reassembles, then hands one validated snap message over. */
export class SnapshotReceiver {
  private head: SnapHead | null = null;
  private data: Buffer | null = null;
  private received = 0;
  private seq = 0;

  constructor(
    /** The authenticated peer (from the hello) and this member. */
    private readonly from: NodeId,
    private readonly self: NodeId,
    private readonly maxSnapshotBytes: number,
    private readonly reply: (frame: ReceiverFrame) => void,
  ) {}

  /** Handles one sender frame; returns the complete message once the last chunk arrived, or a failure. */
  onFrame(decoded: Validated<unknown>): { message: MsgSnap } | { fail: string } | null {
    if (!decoded.ok) return { fail: decoded.reason };
    const v = decoded.value as Record<string, unknown> | null;
    if (typeof v !== "object" || v === null) return { fail: "snapshot frame is not a map" };
    if (this.head === null) {
      if (v.kind !== "snapHead") return { fail: `expected the snapshot head, got ${String(v.kind)}` };
      const bytes = v.bytes;
      if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0) return { fail: "snapshot head: bad size" };
      if (bytes > this.maxSnapshotBytes) return { fail: `snapshot of ${bytes} bytes exceeds the limit of ${this.maxSnapshotBytes}` };
      if (v.from !== this.from || v.to !== this.self) return { fail: `snapshot head from ${String(v.from)} to ${String(v.to)} on a connection of ${this.from}` };
      this.head = v as unknown as SnapHead;
      this.data = Buffer.allocUnsafe(bytes);
      return bytes === 0 ? this.finish() : null;
    }
    if (v.kind !== "snapChunk") return { fail: `expected a chunk, got ${String(v.kind)}` };
    if (v.seq !== this.seq) return { fail: `chunk ${String(v.seq)} out of order (expected ${this.seq})` };
    const chunk = v.data;
    if (!(chunk instanceof Uint8Array)) return { fail: "chunk without data" };
    if (this.received + chunk.byteLength > this.data!.byteLength) return { fail: "chunks exceed the announced size" };
    this.data!.set(chunk, this.received);
    this.received += chunk.byteLength;
    this.reply({ kind: "snapAck", seq: this.seq });
    this.seq++;
    return this.received === this.data!.byteLength ? this.finish() : null;
  }

  private finish(): { message: MsgSnap } | { fail: string } {
    const h = this.head!;
    const candidate = { type: "snap", from: h.from, to: h.to, term: h.term, snapshot: { metadata: h.metadata, data: this.data! } };
    const checked = validateMessage(candidate, { from: this.from, to: this.self });
    if (!checked.ok) return { fail: checked.reason };
    return { message: checked.value as MsgSnap };
  }
}

function readReceiverFrame(v: unknown): Validated<ReceiverFrame> {
  if (typeof v !== "object" || v === null) return { ok: false, reason: "receiver frame is not a map" };
  const o = v as Record<string, unknown>;
  switch (o.kind) {
    case "snapAck":
      return typeof o.seq === "number" ? { ok: true, value: { kind: "snapAck", seq: o.seq } } : { ok: false, reason: "ack without seq" };
    case "snapDone":
      return { ok: true, value: { kind: "snapDone" } };
    case "snapFail":
      return { ok: true, value: { kind: "snapFail", reason: typeof o.reason === "string" ? o.reason : "no reason" } };
    default:
      return { ok: false, reason: `unknown receiver frame ${String(o.kind)}` };
  }
}

export { decodeFrame, encodeFrame };
