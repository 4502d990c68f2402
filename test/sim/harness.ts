// A step-by-step harness for scripted Raft scenarios: every message waits in
// a mailbox until the test delivers or drops it, time moves only when the test
// ticks a member, and the same invariants as in the seeded simulator are
// checked after every action. Scenarios read like the Raft paper's figures:
// "n1 campaigns, n2 and n3 vote, n1 replicates index 2 to n2 only".

import type { ConfChange, Message, MessageType, NodeId, ProposalRefusal, RaftStatus } from "../../raft/core/types.js";
import { SimCluster, type CrashPoint, type RaftTuning, type SimNode } from "./cluster.js";
import { SimViolation } from "./invariants.js";
import { Prng } from "./prng.js";
import { formatMessage, Trace } from "./trace.js";

export interface HarnessOptions {
  nodes?: number;
  /** Bootstrap voters (default: all). */
  voters?: NodeId[];
  raft?: Partial<RaftTuning>;
  snapshotEvery?: number;
  snapshotTail?: number;
  seed?: number;
}

/** Selects messages: by fields, or any predicate. */
export type MessageFilter = Partial<{ from: NodeId; to: NodeId; type: MessageType }> | ((m: Message) => boolean);

function matches(f: MessageFilter, m: Message): boolean {
  if (typeof f === "function") return f(m);
  return (f.from === undefined || f.from === m.from) && (f.to === undefined || f.to === m.to) && (f.type === undefined || f.type === m.type);
}

export const defaultTuning: RaftTuning = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: false,
  checkQuorum: false,
  maxInflightMsgs: 256,
  maxInflightBytes: 0,
  maxMsgBytes: 1 << 20,
  maxEntriesPerMsg: 1000,
};

export class Harness {
  readonly cluster: SimCluster;
  readonly ids: NodeId[];
  readonly trace = new Trace(400);
  /** Messages sent and not yet delivered or dropped, oldest first. */
  mailbox: Message[] = [];
  /** Members cut off from everyone: their messages (both ways) are dropped on delivery. */
  readonly isolated = new Set<NodeId>();
  /** Payloads applied per member (current incarnation), in order. */
  readonly applied = new Map<NodeId, string[]>();
  /** Reads served per member: context -> index. */
  readonly reads = new Map<NodeId, Map<string, number>>();
  readonly tuning: RaftTuning;

  constructor(o: HarnessOptions = {}) {
    const n = o.nodes ?? 3;
    this.ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const voters = o.voters ?? this.ids;
    this.tuning = { ...defaultTuning, ...o.raft };
    this.cluster = new SimCluster({
      seed: o.seed ?? 1,
      ids: this.ids,
      bootstrap: { voters, learners: [] },
      raft: this.tuning,
      snapshotEvery: o.snapshotEvery ?? 0,
      snapshotTail: o.snapshotTail ?? 0,
      rng: new Prng(o.seed ?? 1),
      trace: this.trace,
      link: {
        send: (m) => this.mailbox.push(m),
        purge: (id, fromToo) => {
          this.mailbox = this.mailbox.filter((m) => m.to !== id && (!fromToo || m.from !== id));
        },
      },
    });
    this.cluster.onApplied = (node, _e, payload) => {
      if (payload !== null) this.applied.get(node.id)?.push(payload);
    };
    this.cluster.onReadServed = (node, context, index) => this.reads.get(node.id)?.set(context, index);
    for (const id of voters) this.act(() => this.startNode(id));
  }

  private startNode(id: NodeId): void {
    this.applied.set(id, []);
    this.reads.set(id, new Map());
    this.cluster.start(id);
  }

  /** Runs one action, then lets every member handle its Ready, then checks the invariants. */
  private act<T>(f: () => T, crashPlan?: Map<NodeId, CrashPoint>): T {
    this.cluster.now++;
    try {
      const out = f();
      this.cluster.processReadies(crashPlan);
      this.cluster.afterStep(1);
      return out;
    } catch (e) {
      if (e instanceof SimViolation) {
        e.message += `\n--- last events ---\n${this.trace.tail(60).join("\n")}`;
      }
      throw e;
    }
  }

  node(id: NodeId): SimNode {
    return this.cluster.node(id);
  }

  status(id: NodeId): RaftStatus {
    return this.cluster.status(id);
  }

  // -------------------------------------------------------------------------
  // Messages.

  pending(filter: MessageFilter = () => true): Message[] {
    return this.mailbox.filter((m) => matches(filter, m));
  }

  /** Delivers the matching messages now in the mailbox (oldest first); returns how many arrived. */
  deliver(filter: MessageFilter = () => true): number {
    const chosen = this.mailbox.filter((m) => matches(filter, m));
    if (chosen.length === 0) return 0;
    const set = new Set(chosen);
    this.mailbox = this.mailbox.filter((m) => !set.has(m));
    let arrived = 0;
    for (const m of chosen) {
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) {
        this.trace.msg(this.cluster.now, m, "isolated");
        continue;
      }
      this.act(() => this.cluster.deliver(m));
      arrived++;
    }
    return arrived;
  }

  /** Delivers exactly this message (taken out of the mailbox). */
  deliverOne(m: Message): void {
    const i = this.mailbox.indexOf(m);
    if (i < 0) throw new Error(`message not in the mailbox: ${formatMessage(m)}`);
    this.mailbox.splice(i, 1);
    this.act(() => this.cluster.deliver(m));
  }

  drop(filter: MessageFilter = () => true): number {
    const before = this.mailbox.length;
    this.mailbox = this.mailbox.filter((m) => {
      if (!matches(filter, m)) return true;
      this.trace.msg(this.cluster.now, m, "dropped by the test");
      return false;
    });
    return before - this.mailbox.length;
  }

  /**
   * Delivers messages until none is left. With `among`, only messages between
   * those members are delivered; the others are dropped (a partition).
   */
  stabilize(among?: NodeId[]): void {
    const inside = among === undefined ? null : new Set(among);
    for (let round = 0; this.mailbox.length > 0; round++) {
      if (round > 10_000) throw new Error("stabilize: messages keep flowing after 10000 rounds");
      if (inside !== null) this.drop((m) => !inside.has(m.from) || !inside.has(m.to));
      this.deliver();
    }
  }

  // -------------------------------------------------------------------------
  // Members.

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.act(() => this.cluster.tick(id));
  }

  tickAll(times = 1, ids: NodeId[] = this.cluster.upNodes().map((n) => n.id)): void {
    for (let i = 0; i < times; i++) for (const id of ids) this.tick(id);
  }

  campaign(id: NodeId): void {
    this.act(() => this.cluster.campaign(id));
  }

  /**
   * Campaigns until `id` leads, exchanging messages only among `among`
   * (default: everyone). With `votesOnly`, only election messages are
   * delivered and everything else is dropped, so the new leader's first
   * entries reach nobody yet.
   */
  elect(id: NodeId, among: NodeId[] = this.ids, votesOnly = false): void {
    const election = new Set<MessageType>(["vote", "voteResp", "preVote", "preVoteResp"]);
    const inside = new Set(among);
    for (let attempt = 0; attempt < 5; attempt++) {
      this.campaign(id);
      if (!votesOnly) this.stabilize(among);
      else {
        while (this.pending((m) => election.has(m.type) && inside.has(m.from) && inside.has(m.to)).length > 0) {
          this.deliver((m) => election.has(m.type) && inside.has(m.from) && inside.has(m.to));
        }
        this.drop();
      }
      if (this.status(id).role === "leader") return;
    }
    throw new Error(`${id} could not get elected among ${among.join(",")}\n${this.events()}`);
  }

  propose(id: NodeId, payload: string): ProposalRefusal | null {
    return this.act(() => this.cluster.propose(id, payload));
  }

  proposeConfChange(id: NodeId, cc: ConfChange): ProposalRefusal | null {
    return this.act(() => this.cluster.proposeConfChange(id, cc));
  }

  readIndex(id: NodeId, context: string): void {
    this.act(() => this.cluster.readIndex(id, context));
  }

  transferLeadership(id: NodeId, to: NodeId): void {
    this.act(() => this.cluster.transferLeadership(id, to));
  }

  /** Crashes a member now: it loses everything it did not persist. */
  crash(id: NodeId): void {
    this.act(() => this.cluster.crash(id));
  }

  /**
   * Delivers the matching messages, then crashes `id` at `point` while it
   * handles the Ready they caused (e.g. "afterPersist": its vote is on disk
   * but its answer never leaves).
   */
  deliverThenCrash(filter: MessageFilter, id: NodeId, point: CrashPoint): void {
    const chosen = this.mailbox.filter((m) => matches(filter, m));
    const set = new Set(chosen);
    this.mailbox = this.mailbox.filter((m) => !set.has(m));
    this.act(() => {
      for (const m of chosen) this.cluster.deliver(m);
    }, new Map([[id, point]]));
  }

  restart(id: NodeId): void {
    this.act(() => this.startNode(id));
  }

  isolate(...ids: NodeId[]): void {
    for (const id of ids) this.isolated.add(id);
    this.trace.event(this.cluster.now, `isolate ${ids.join(",")}`);
  }

  heal(): void {
    this.isolated.clear();
    this.trace.event(this.cluster.now, "heal");
  }

  /** The leader among running members with the highest term (null if none). */
  leader(): NodeId | null {
    return this.cluster.leader()?.id ?? null;
  }

  /** Term of the persisted entry at `index` on `id`'s disk (undefined if none). */
  termAt(id: NodeId, index: number): number | undefined {
    return this.node(id).disk.term(index);
  }

  /** The last `n` trace events, for a failing assertion's message. */
  events(n = 60): string {
    return this.trace.tail(n).join("\n");
  }
}
