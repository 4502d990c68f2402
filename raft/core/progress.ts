// The leader's view of one follower's log (etcd's Progress): how far it
// matches, what to send next, and in which mode.
//   probe:     one AppendEntries at a time until we find where logs match
//   replicate: stream optimistically, bounded by inflights
//   snapshot:  a snapshot is on its way; send nothing until it is acknowledged

import { Inflights } from "./inflights.js";
import type { ProgressState, ProgressStatus } from "./types.js";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** probe: an AppendEntries is outstanding; wait for its answer or the next heartbeat. */
  probeSent = false;
  pendingSnapshot = 0;
  /** Ticks spent in snapshot state: a lost snapshot is retried after a while. */
  snapshotTicks = 0;
  /** Highest commit index this follower has been told (etcd's sentCommit): skip empty appends only when it knows. */
  sentCommit = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    public learner: boolean,
    maxInflightMsgs: number,
    maxInflightBytes: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.resetState("probe");
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.resetState("replicate");
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  /** An acknowledgement up to `index`. Returns false if it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Replicate state: entries up to `lastSent` are on their way. */
  optimisticUpdate(lastSent: number): void {
    this.next = lastSent + 1;
  }

  /**
   * A rejection of the AppendEntries whose prevIndex was `rejected`; the
   * follower's log may match at `matchHint`. Returns false if the rejection is
   * stale (answers an older message) and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  toStatus(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      recentActive: this.recentActive,
      learner: this.learner,
    };
  }
}
