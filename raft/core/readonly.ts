// ReadIndex bookkeeping on the leader (Raft thesis §6.4): each read records
// the commit index when it arrived; it may be answered once a majority has
// acknowledged a heartbeat carrying its context, which proves this node was
// still the leader after the read arrived.

import type { NodeId } from "./types.js";

export interface ReadRequest {
  context: string;
  /** Commit index when the request arrived: the read point. */
  index: number;
  /** Who asked: this node, or a follower that forwarded the request. */
  from: NodeId;
  acks: Set<NodeId>;
}

export class ReadOnlyQueue {
  private pending = new Map<string, ReadRequest>();
  private order: string[] = [];

  add(context: string, index: number, from: NodeId): void {
    if (this.pending.has(context)) return;
    this.pending.set(context, { context, index, from, acks: new Set() });
    this.order.push(context);
  }

  /** Records an acknowledgement; returns the acks so far, or null if the context is unknown. */
  ack(context: string, from: NodeId): Set<NodeId> | null {
    const request = this.pending.get(context);
    if (!request) return null;
    request.acks.add(from);
    return request.acks;
  }

  /**
   * Releases the request for `context` and every request queued before it
   * (a quorum for a later heartbeat also confirms leadership for earlier reads).
   */
  advance(context: string): ReadRequest[] {
    const at = this.order.indexOf(context);
    if (at < 0) return [];
    const released = this.order.splice(0, at + 1).map((c) => this.pending.get(c)!);
    for (const r of released) this.pending.delete(r.context);
    return released;
  }

  lastPendingContext(): string | null {
    return this.order.length > 0 ? this.order[this.order.length - 1]! : null;
  }

  size(): number {
    return this.order.length;
  }

  clear(): void {
    this.pending.clear();
    this.order = [];
  }
}
