// The Transport seam: delivers Raft messages between members. Sending never
// blocks and never throws: a message to an unreachable or slow peer is
// dropped (Raft retries on its own). Two implementations: WebSocket (real)
// and memory (tests).

import type { Message, MsgSnap, NodeId } from "../core/types.js";

export interface PeerAddress {
  id: NodeId;
  host: string;
  port: number;
}

export type MessageHandler = (message: Message) => void;

export interface Transport {
  /** Starts listening (if applicable). Resolves once inbound connections are accepted. */
  start(): Promise<void>;
  /** Queues messages for their `to` peers; never throws, drops when a queue is full. */
  send(messages: Message[]): void;
  onMessage(handler: MessageHandler): void;
  /**
   * Sends a snapshot message apart from the other traffic (in chunks with
   * flow control where the transport has a frame limit). Resolves once the
   * peer received all of it and handed it to Raft, rejects if it could not:
   * the driver reports either outcome to Raft (snapStatus). Optional: without
   * it the driver sends snapshots with send() and reports nothing.
   */
  sendSnapshot?(message: MsgSnap): Promise<void>;
  addPeer(peer: PeerAddress): void;
  removePeer(id: NodeId): void;
  /** Closes every socket and timer it owns. */
  close(): Promise<void>;
}
