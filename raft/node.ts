// RaftNode: the driver that gives the pure core a clock, a disk, a network
// and a state machine. One loop owns the core: it feeds queued inputs
// (ticks, peer messages, proposals, reads), then for each Ready persists
// (synced) before sending, applies committed entries in order, and
// acknowledges. Inputs that arrive while a Ready is being persisted wait and
// are fed together afterwards, which is how proposals get batched into one
// append and one fsync.

import { randomBytes, randomInt } from "node:crypto";
import type { Logger } from "pino";
import { applyConfChange, decodeConfChange, encodeConfChange } from "./core/confchange.js";
import { RaftCore } from "./core/raft.js";
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  MsgPropRefused,
  MsgSnap,
  NodeId,
  RaftStatus,
  Ready,
  Snapshot,
  SnapshotMetadata,
  SoftState,
} from "./core/types.js";
import type { LogStorage, StoredState } from "./storage/types.js";
import type { PeerAddress, Transport } from "./transport/types.js";

/** The replicated application (the store implements it). Apply must be deterministic. */
export interface StateMachine {
  /** Applies one committed command; the result goes back to whoever proposed it on this member. */
  apply(command: Uint8Array, index: number): unknown;
  /** A membership change took effect at `index`. */
  applyConfChange?(change: ConfChange, conf: ConfState, index: number): void;
  /** The whole state as of the last applied index. */
  snapshot(): Uint8Array;
  /** Replaces the whole state (a snapshot from disk or from the leader). */
  restore(data: Uint8Array, metadata: SnapshotMetadata): void;
}

export interface RaftNodeOptions {
  id: NodeId;
  /**
   * Members of a brand-new cluster. Used only when storage is empty: the log
   * then starts with one committed addNode entry per member (identical on
   * every founding member, as etcd does), so membership always comes from
   * the log and never again from configuration. Null for a member that joins
   * an existing cluster: it waits, with an empty log, for the leader.
   */
  bootstrap: { id: NodeId; context?: Uint8Array }[] | null;
  storage: LogStorage;
  transport: Transport;
  stateMachine: StateMachine;
  logger: Logger;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** Take a snapshot after this many applied entries. */
  snapshotEvery: number;
  /** Entries kept behind a snapshot so briefly lagging followers need no snapshot. */
  snapshotCatchUpEntries?: number;
  /** Address of a peer being added, from its conf change context (null: unknown). */
  resolvePeer?: (id: NodeId, context: Uint8Array | undefined) => PeerAddress | null;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  maxMsgBytes?: number;
  maxEntriesPerMsg?: number;
  /** Default time a proposal or read may take before its outcome is reported unknown. */
  requestTimeoutMs?: number;
  /** Timers and time (default: the process's). A simulator passes a virtual clock. */
  clock?: DriverClock;
  /** Randomness of election timeouts, in [0, n) (default: crypto). A simulator passes a seeded one. */
  random?: (n: number) => number;
  /** Tells this incarnation's proposal ids apart from earlier ones (default: random). */
  bootId?: string;
}

export type TimerHandle = unknown;

/** The timers and time the driver runs on. */
export interface DriverClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  setImmediate(fn: () => void): TimerHandle;
}

export const systemClock: DriverClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
};

/** The write was not accepted here and never entered the log. */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
  constructor(readonly leader: NodeId | null, message = leader ? `not the leader; leader is ${leader}` : "no leader elected") {
    super(message);
  }
}

/** Refused outright (for example a membership change while another is pending). Never applied. */
export class ProposalRefusedError extends Error {
  override name = "ProposalRefusedError";
}

/**
 * A fenced write (proposed "as leader of term T") was refused: this member was
 * not, or no longer, leader in term T when it would have entered the log, or
 * it entered the log in another term and was skipped at apply. Never applied.
 */
export class FencedError extends Error {
  override name = "FencedError";
  constructor(readonly fenceTerm: number, message: string) {
    super(message);
  }
}

/** Options of one proposal. */
export interface ProposeOptions {
  /**
   * Accept the write only if this member is leader in exactly this term when
   * the entry is appended; every member skips it at apply if the entry's term
   * differs. For leader-only loops: a deposed leader can never land a write.
   */
  fenceTerm?: number;
}

/** The state machine threw while applying a committed entry: the member halts (see onFatal). */
export class ApplyError extends Error {
  override name = "ApplyError";
  constructor(readonly index: number, override readonly cause: Error) {
    super(`state machine threw applying committed entry ${index}: ${cause.message}`);
  }
}

/** We do not know whether it was applied: it may still commit. Never report this as a failure. */
export class OutcomeUnknownError extends Error {
  override name = "OutcomeUnknownError";
}

/** A read could not be confirmed linearizable in time (no leader, partition). Nothing changed. */
export class ReadTimeoutError extends Error {
  override name = "ReadTimeoutError";
}

interface PendingProposal {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

interface PendingRead {
  resolve(index: number): void;
  reject(error: Error): void;
  timer: TimerHandle;
  /** Set once the leader answered: the read may be served when applied >= index. */
  index: number | null;
}

type Input =
  | { kind: "message"; message: Message }
  | { kind: "propose"; id: string; data: Uint8Array; fenceTerm: number | null }
  | { kind: "confChange"; id: string; change: ConfChange }
  | { kind: "read"; id: string }
  | { kind: "transfer"; to: NodeId }
  | { kind: "campaign" }
  | { kind: "compact"; metadata: SnapshotMetadata; compactTo: number }
  | { kind: "snapStatus"; to: NodeId; reject: boolean };

/** Snapshot data is kept on disk only; the core holds metadata (data loaded when a follower needs it). */
const NO_DATA = new Uint8Array(0);

// Envelope of a normal entry: [0x01][idLength:u8][id][command], or for a
// fenced write [0x02][idLength:u8][id][fenceTerm:f64 BE][command]. The id
// lets the member that proposed it find its waiting caller when it applies;
// the fence term travels in the entry so every member skips it alike.
const ENVELOPE_VERSION = 1;
const ENVELOPE_FENCED = 2;

function wrap(id: string, command: Uint8Array, fenceTerm: number | null = null): Uint8Array {
  const idBytes = Buffer.from(id, "utf8");
  const fenceBytes = fenceTerm === null ? 0 : 8;
  const out = new Uint8Array(2 + idBytes.length + fenceBytes + command.length);
  out[0] = fenceTerm === null ? ENVELOPE_VERSION : ENVELOPE_FENCED;
  out[1] = idBytes.length;
  out.set(idBytes, 2);
  if (fenceTerm !== null) new DataView(out.buffer, out.byteOffset + 2 + idBytes.length, 8).setFloat64(0, fenceTerm);
  out.set(command, 2 + idBytes.length + fenceBytes);
  return out;
}

export function unwrapEntry(data: Uint8Array): { id: string; command: Uint8Array; fenceTerm: number | null } {
  const version = data[0];
  if ((version !== ENVELOPE_VERSION && version !== ENVELOPE_FENCED) || data.length < 2) throw new Error("entry envelope: unknown version");
  const idLength = data[1]!;
  const id = Buffer.from(data.buffer, data.byteOffset + 2, idLength).toString("utf8");
  if (version === ENVELOPE_VERSION) return { id, command: data.subarray(2 + idLength), fenceTerm: null };
  if (data.length < 2 + idLength + 8) throw new Error("entry envelope: truncated fence term");
  const fenceTerm = new DataView(data.buffer, data.byteOffset + 2 + idLength, 8).getFloat64(0);
  return { id, command: data.subarray(2 + idLength + 8), fenceTerm };
}

export class RaftNode {
  readonly id: NodeId;
  private core!: RaftCore;
  private readonly opts: RaftNodeOptions;
  private readonly log: Logger;
  private inputs: Input[] = [];
  private pendingTicks = 0;
  private running = false;
  private stopped = false;
  private ticker: TimerHandle | null = null;
  private readonly proposals = new Map<string, PendingProposal>();
  private readonly confChanges = new Map<string, PendingProposal & { change: ConfChange }>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly bootId: string;
  private readonly clock: DriverClock;
  private seq = 0;
  private appliedIndex = 0;
  private appliedTerm = 0;
  private lastSnapshotIndex = 0;
  private snapshotInFlight = false;
  /** How long the last snapshot capture blocked this process. */
  private lastCaptureMs = 0;
  private soft: SoftState = { leader: null, role: "follower" };
  private readonly softListeners = new Set<(s: SoftState, term: number) => void>();
  private readonly appliedListeners = new Set<(index: number) => void>();
  private readonly leaderReadyListeners = new Set<(term: number) => void>();
  /** The term in which this member leads and has applied an entry of its own term (null: not ready). */
  private readyTerm: number | null = null;
  private fatal: Error | null = null;
  /** The hard state last saved (term and vote decide whether a leader may send before its disk write). */
  private durableHard: HardState = { term: 0, vote: null, commit: 0 };
  private idle: Promise<void> = Promise.resolve();

  private constructor(opts: RaftNodeOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.log = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.bootId = opts.bootId ?? randomBytes(4).toString("hex");
  }

  static async start(opts: RaftNodeOptions): Promise<RaftNode> {
    const node = new RaftNode(opts);
    await node.boot();
    return node;
  }

  private async boot(): Promise<void> {
    let stored = await this.opts.storage.load();
    if (isEmpty(stored) && this.opts.bootstrap && this.opts.bootstrap.length > 0) {
      const entries: Entry[] = [...this.opts.bootstrap]
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((m, i) => ({
          term: 1,
          index: i + 1,
          type: "confChange" as const,
          data: encodeConfChange({ type: "addNode", node: m.id, ...(m.context ? { context: m.context } : {}) }),
        }));
      await this.opts.storage.save({ hardState: { term: 1, vote: null, commit: entries.length }, entries }, true);
      this.log.info({ members: entries.length }, "bootstrapped a new cluster");
      stored = await this.opts.storage.load();
    }
    this.durableHard = stored.hardState;
    const { snapshot } = stored;
    if (snapshot) {
      this.opts.stateMachine.restore(snapshot.data, snapshot.metadata);
      this.appliedIndex = this.lastSnapshotIndex = snapshot.metadata.index;
      this.appliedTerm = snapshot.metadata.term;
      // Members added before the snapshot are known only from it (the config
      // file may not list them): tell the transport where they are.
      this.syncPeers(snapshot.metadata.conf);
    }
    this.core = new RaftCore(
      {
        id: this.id,
        electionTicks: this.opts.electionTicks,
        heartbeatTicks: this.opts.heartbeatTicks,
        random: this.opts.random ?? ((n) => randomInt(n)),
        preVote: true,
        checkQuorum: true,
        maxInflightMsgs: this.opts.maxInflightMsgs ?? 256,
        maxInflightBytes: this.opts.maxInflightBytes ?? 32 << 20,
        maxMsgBytes: this.opts.maxMsgBytes ?? 1 << 20,
        maxEntriesPerMsg: this.opts.maxEntriesPerMsg ?? 4096,
      },
      {
        hardState: stored.hardState,
        snapshot: snapshot ? { metadata: snapshot.metadata, data: NO_DATA } : null,
        entries: stored.entries,
        conf: { voters: [], learners: [] },
        applied: this.appliedIndex,
      },
    );
    const st = this.core.status();
    this.log.info(
      { term: st.term, commit: st.commit, lastIndex: st.lastIndex, snapshotIndex: snapshot?.metadata.index ?? 0, voters: st.conf.voters },
      "raft node restored from storage",
    );
    // The node owns its transport and storage from here on: stop() closes both.
    this.opts.transport.onMessage((message) => {
      if (message.type === "propRefused") this.answerRefused(message);
      else this.enqueue({ kind: "message", message });
    });
    await this.opts.transport.start();
    this.ticker = this.clock.setInterval(() => {
      this.pendingTicks++;
      this.schedule();
    }, this.opts.tickMs);
    this.schedule();
  }

  // -------------------------------------------------------------------------
  // Public API

  /**
   * Proposes a command; resolves with the state machine's result once it is
   * applied on THIS member (so a follower that forwarded it reads its own write).
   * Rejects with NotLeaderError/ProposalRefusedError if it never entered the
   * log, or OutcomeUnknownError if it may still commit.
   */
  propose(command: Uint8Array, timeoutMs = this.opts.requestTimeoutMs ?? 5000, opts: ProposeOptions = {}): Promise<unknown> {
    if (this.fatal) return Promise.reject(this.fatal);
    const fenceTerm = opts.fenceTerm ?? null;
    if (fenceTerm !== null && !(Number.isSafeInteger(fenceTerm) && fenceTerm > 0)) {
      return Promise.reject(new FencedError(fenceTerm, `fenced: invalid fence term ${fenceTerm}`));
    }
    const id = `${this.id}/${this.bootId}/${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.proposals.delete(id)) reject(new OutcomeUnknownError(`proposal ${id} not applied within ${timeoutMs} ms; it may still commit`));
      }, timeoutMs);
      this.proposals.set(id, { resolve, reject, timer });
      this.enqueue({ kind: "propose", id, data: wrap(id, command, fenceTerm), fenceTerm });
    });
  }

  /** Resolves with the new configuration once the change is applied here. */
  proposeConfChange(change: ConfChange, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<ConfState> {
    if (this.fatal) return Promise.reject(this.fatal);
    const id = `cc/${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.confChanges.delete(id)) reject(new OutcomeUnknownError(`membership change not applied within ${timeoutMs} ms; it may still commit`));
      }, timeoutMs);
      this.confChanges.set(id, { resolve: resolve as (r: unknown) => void, reject, timer, change });
      this.enqueue({ kind: "confChange", id, change });
    });
  }

  /**
   * Linearizable read barrier (ReadIndex): resolves once this member has
   * applied everything committed when the read was confirmed by a quorum.
   * The caller then reads its local state machine.
   */
  readIndex(timeoutMs = this.opts.requestTimeoutMs ?? 5000): Promise<number> {
    if (this.fatal) return Promise.reject(this.fatal);
    const id = `r/${this.bootId}/${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.reads.delete(id)) {
          const leader = this.core.status().leader;
          reject(new ReadTimeoutError(`linearizable read not confirmed within ${timeoutMs} ms (leader: ${leader ?? "none"})`));
        }
      }, timeoutMs);
      this.reads.set(id, { resolve, reject, timer, index: null });
      this.enqueue({ kind: "read", id });
    });
  }

  transferLeadership(to: NodeId): void {
    this.enqueue({ kind: "transfer", to });
  }

  campaign(): void {
    this.enqueue({ kind: "campaign" });
  }

  status(): RaftStatus {
    return this.core.status();
  }

  get applied(): number {
    return this.appliedIndex;
  }

  get leader(): NodeId | null {
    return this.soft.leader;
  }

  isLeader(): boolean {
    return this.soft.role === "leader";
  }

  /** Called on every role or leader change with the new soft state and term. */
  onSoftStateChange(listener: (s: SoftState, term: number) => void): () => void {
    this.softListeners.add(listener);
    return () => this.softListeners.delete(listener);
  }

  /**
   * Leader-ready barrier: called with `term` once this member, as leader of
   * `term`, has applied an entry of that term (its no-op), so everything
   * committed before it took over is applied locally. Fires at most once per
   * term. Leadership loss is reported by onSoftStateChange (role != leader).
   */
  onLeaderReady(listener: (term: number) => void): () => void {
    this.leaderReadyListeners.add(listener);
    return () => this.leaderReadyListeners.delete(listener);
  }

  /** The term in which this member is a ready leader (see onLeaderReady), or null. */
  leaderReadyTerm(): number | null {
    return this.readyTerm;
  }

  onApplied(listener: (index: number) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /** Stops ticking and processing; rejects everything pending; closes transport and storage. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) this.clock.clearInterval(this.ticker);
    await this.idle;
    const stopping = new OutcomeUnknownError("raft node stopped");
    for (const [, p] of this.proposals) { this.clock.clearTimeout(p.timer); p.reject(stopping); }
    for (const [, p] of this.confChanges) { this.clock.clearTimeout(p.timer); p.reject(stopping); }
    for (const [, r] of this.reads) { this.clock.clearTimeout(r.timer); r.reject(new ReadTimeoutError("raft node stopped")); }
    this.proposals.clear();
    this.confChanges.clear();
    this.reads.clear();
    await this.opts.transport.close();
    await this.opts.storage.close();
  }

  /**
   * A process crash, for simulators: everything stops at once, nothing is
   * awaited, flushed or closed gracefully (the transport is cut so nothing
   * more leaves). Pending callers get OutcomeUnknownError, as clients of a
   * crashed server see their connection drop. The storage object is left as
   * the crash found it; restart from a copy of its disk.
   */
  abandon(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) this.clock.clearInterval(this.ticker);
    const crashed = new OutcomeUnknownError("raft node crashed");
    for (const [, p] of this.proposals) { this.clock.clearTimeout(p.timer); p.reject(crashed); }
    for (const [, p] of this.confChanges) { this.clock.clearTimeout(p.timer); p.reject(crashed); }
    for (const [, r] of this.reads) { this.clock.clearTimeout(r.timer); r.reject(new ReadTimeoutError("raft node crashed")); }
    this.proposals.clear();
    this.confChanges.clear();
    this.reads.clear();
    void this.opts.transport.close();
  }

  // -------------------------------------------------------------------------
  // The loop

  private enqueue(input: Input): void {
    if (this.stopped) return;
    this.inputs.push(input);
    this.schedule();
  }

  private schedule(): void {
    if (this.running || this.stopped || this.fatal) return;
    this.running = true;
    this.idle = new Promise<void>((done) => this.clock.setImmediate(() => void this.run().finally(done)));
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped && (this.inputs.length > 0 || this.pendingTicks > 0 || this.core.hasReady())) {
        this.feedInputs();
        while (!this.stopped && this.core.hasReady()) {
          await this.handleReady(this.core.ready());
        }
      }
    } catch (err) {
      // A failed disk write or an invariant violation: continuing could lose
      // acknowledged data, so this member stops participating.
      this.halt(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.running = false;
    }
  }

  /** Invoked once if the node halts (the master process exits on it). */
  onFatal: ((err: Error) => void) | null = null;

  private feedInputs(): void {
    // Messages first, then at most one tick: after a stall (a long snapshot,
    // a GC pause, SIGSTOP) the heartbeats that queued up meanwhile show the
    // leader is alive, and a burst of stale ticks must not start an election
    // or make a leader step down. (Go's tickers drop ticks the same way.)
    const ticks = Math.min(this.pendingTicks, 1);
    this.pendingTicks = 0;
    const inputs = this.inputs;
    this.inputs = [];
    for (const input of inputs) {
      switch (input.kind) {
        case "message": {
          // The snapshot object is freed after install (its data dropped, see
          // handleReady); it may be shared with the sender or other receivers
          // (the memory transport hands one object over), so step a copy.
          const m = input.message;
          this.core.step(m.type === "snap" ? { ...m, snapshot: { ...m.snapshot } } : m);
          break;
        }
        case "propose": {
          if (input.fenceTerm !== null) {
            // Checked here, in the same step that appends it: the entry gets
            // the core's current term, so it carries exactly fenceTerm.
            const { role, term, leaving } = this.core.roleAndTerm();
            if (role !== "leader" || term !== input.fenceTerm || leaving) {
              this.failProposal(
                this.proposals,
                input.id,
                new FencedError(
                  input.fenceTerm,
                  leaving
                    ? `fenced: proposed as leader of term ${input.fenceTerm}, but this member was removed from the cluster`
                    : `fenced: proposed as leader of term ${input.fenceTerm}, but this member is ${role} in term ${term}`,
                ),
              );
              break;
            }
          }
          const refusal = this.core.propose(input.data);
          if (refusal) this.failProposal(this.proposals, input.id, refusalError(refusal, this.core.status().leader));
          break;
        }
        case "confChange": {
          const refusal = this.core.proposeConfChange(input.change);
          if (refusal) this.failProposal(this.confChanges, input.id, refusalError(refusal, this.core.status().leader));
          break;
        }
        case "read":
          this.core.readIndex(input.id);
          break;
        case "transfer":
          this.core.transferLeadership(input.to);
          break;
        case "campaign":
          this.core.campaign();
          break;
        case "compact":
          this.core.compact({ metadata: input.metadata, data: NO_DATA }, input.compactTo);
          break;
        case "snapStatus": {
          // The transport's verdict on a snapshot we sent, as etcd's
          // ReportSnapshot: the follower leaves the snapshot state either way
          // (on failure the leader retries at once instead of waiting).
          const { role, term } = this.core.roleAndTerm();
          if (role === "leader") this.core.step({ type: "snapStatus", from: input.to, to: this.id, term, reject: input.reject });
          break;
        }
      }
    }
    for (let i = 0; i < ticks; i++) this.core.tick();
  }

  /** The leader refused proposals we forwarded: they never entered the log, so say so now. */
  private answerRefused(m: MsgPropRefused): void {
    const err = refusalError(m.refusal, this.soft.leader);
    for (const e of m.entries) {
      if (e.type === "confChange") {
        let change: ConfChange;
        try {
          change = decodeConfChange(e.data);
        } catch {
          continue;
        }
        for (const [id, p] of this.confChanges) {
          if (p.change.type === change.type && p.change.node === change.node) this.failProposal(this.confChanges, id, err);
        }
        continue;
      }
      let id: string;
      try {
        id = unwrapEntry(e.data).id;
      } catch {
        continue; // not one of our envelopes
      }
      this.failProposal(this.proposals, id, err);
    }
  }

  private failProposal(map: Map<string, PendingProposal>, id: string, err: Error): void {
    const p = map.get(id);
    if (!p) return;
    map.delete(id);
    this.clock.clearTimeout(p.timer);
    p.reject(err);
  }

  private async handleReady(rd: Ready): Promise<void> {
    // 1. Persist before anything depends on it (votes, acks, our own commit
    //    count), then 2. send. A leader's messages (appends, heartbeats) do
    //    not acknowledge anything of its own disk: its term and vote were
    //    made durable before it could win, and its own entries count towards
    //    commit only once advance() sees them persisted. So a leader sends
    //    first and writes its disk while the followers write theirs (etcd
    //    does the same), taking one fsync off the commit path.
    //    Only when this Ready changes neither term nor vote, though: a leader
    //    that just won (a lone voter beside a learner wins, appends its no-op
    //    and sends it in one Ready) would otherwise send entries of a term
    //    that is not durable yet; after a crash it could win that same term
    //    again and send a different entry at the same index and term. So a
    //    term or vote change is persisted before anything leaves.
    const role = rd.softState?.role ?? this.soft.role;
    const mustPersist = rd.hardState !== null || rd.entries.length > 0 || rd.snapshot !== null;
    const termOrVoteChanges =
      rd.hardState !== null && (rd.hardState.term !== this.durableHard.term || rd.hardState.vote !== this.durableHard.vote);
    const sendEarly = role === "leader" && !termOrVoteChanges && rd.snapshot === null;
    if (sendEarly) this.send(rd.messages);
    if (mustPersist) {
      await this.opts.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot }, rd.mustSync);
      if (rd.hardState) this.durableHard = rd.hardState;
    }
    if (!sendEarly) this.send(rd.messages);
    // 3. Apply.
    if (rd.snapshot) this.applySnapshot(rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) {
      const r = this.reads.get(rs.context);
      if (r) r.index = rs.index;
    }
    this.core.advance(rd);
    // The core keeps the snapshot it received (to serve other followers);
    // its data is on disk now, so free the memory (sendSnapshots reloads it).
    if (rd.snapshot) rd.snapshot.data = NO_DATA;
    if (rd.softState) this.changeSoftState(rd.softState);
    this.maybeLeaderReady();
    this.releaseReads();
    if (rd.committedEntries.length > 0 || rd.snapshot) {
      for (const l of this.appliedListeners) l(this.appliedIndex);
    }
    this.maybeSnapshot();
  }

  /** Sends a Ready's messages; snapshots get their data from disk first, off the loop. */
  private send(messages: Message[]): void {
    if (messages.length === 0) return;
    const snaps = messages.filter((m) => m.type === "snap");
    this.opts.transport.send(snaps.length === 0 ? messages : messages.filter((m) => m.type !== "snap"));
    if (snaps.length > 0) void this.sendSnapshots(snaps);
  }

  private async sendSnapshots(messages: Message[]): Promise<void> {
    let snapshot: Snapshot | null;
    try {
      snapshot = await this.opts.storage.loadSnapshot();
      if (!snapshot) throw new Error("a follower needs a snapshot but none is stored");
    } catch (err) {
      this.log.error({ err }, "could not load the snapshot to send");
      for (const m of messages) this.enqueue({ kind: "snapStatus", to: m.to, reject: true });
      return;
    }
    const transport = this.opts.transport;
    for (const m of messages) {
      const msg = { ...m, snapshot } as MsgSnap;
      if (!transport.sendSnapshot) {
        transport.send([msg]);
        continue;
      }
      this.log.info({ to: m.to, index: snapshot.metadata.index, bytes: snapshot.data.length }, "sending snapshot");
      transport.sendSnapshot(msg).then(
        () => this.enqueue({ kind: "snapStatus", to: m.to, reject: false }),
        (err: unknown) => {
          this.log.warn({ to: m.to, err: err instanceof Error ? err.message : String(err) }, "snapshot not delivered; the leader will retry");
          this.enqueue({ kind: "snapStatus", to: m.to, reject: true });
        },
      );
    }
  }

  private applySnapshot(snapshot: Snapshot): void {
    this.log.info({ index: snapshot.metadata.index, term: snapshot.metadata.term, bytes: snapshot.data.length }, "installing snapshot from leader");
    this.opts.stateMachine.restore(snapshot.data, snapshot.metadata);
    this.appliedIndex = this.lastSnapshotIndex = snapshot.metadata.index;
    this.appliedTerm = snapshot.metadata.term;
    this.syncPeers(snapshot.metadata.conf);
  }

  private applyEntry(e: Entry): void {
    this.appliedIndex = e.index;
    this.appliedTerm = e.term;
    if (e.type === "confChange") {
      const change = decodeConfChange(e.data);
      // The core applies it in advance(); compute the resulting conf the same way.
      const conf = this.confAfter(change);
      this.opts.stateMachine.applyConfChange?.(change, conf, e.index);
      this.syncPeers(conf, change);
      for (const [id, p] of this.confChanges) {
        if (p.change.type === change.type && p.change.node === change.node) {
          this.confChanges.delete(id);
          this.clock.clearTimeout(p.timer);
          p.resolve(conf);
        }
      }
      return;
    }
    if (e.data.length === 0) return; // a new leader's no-op
    const { id, command, fenceTerm } = unwrapEntry(e.data);
    if (fenceTerm !== null && fenceTerm !== e.term) {
      // Defence in depth: the append-time check makes this unreachable, but
      // the decision is made from the entry alone, so every member skips it.
      this.failProposal(this.proposals, id, new FencedError(fenceTerm, `fenced: entry ${e.index} proposed as leader of term ${fenceTerm} was appended in term ${e.term}`));
      return;
    }
    let result: unknown;
    try {
      result = this.opts.stateMachine.apply(command, e.index);
    } catch (err) {
      // The state machine validates before it writes and answers a client's
      // mistake as a value, so a throw here is a bug that may have left its
      // state partly written. Going on could diverge from the other members:
      // halt instead (the process restarts from disk and replays the entry).
      const cause = err instanceof Error ? err : new Error(String(err));
      throw new ApplyError(e.index, cause);
    }
    const p = this.proposals.get(id);
    if (!p) return;
    this.proposals.delete(id);
    this.clock.clearTimeout(p.timer);
    p.resolve(result);
  }

  /** The configuration once `change` applies (the core applies it in advance(), the same way). */
  private confAfter(change: ConfChange): ConfState {
    return applyConfChange(this.core.status().conf, change);
  }


  private syncPeers(conf: ConfState, change?: ConfChange): void {
    // A removed member stays a transport peer: it stops itself, and a name
    // may be added back later. Forgetting it here would cut a member that
    // lags behind the re-add off from it for good if it leads by then (the
    // laggard refuses its connections until it applies the re-add, which
    // only that leader can send it; driver seed 92). Connections are
    // authenticated by the cluster token, not by membership.
    if (change?.type === "removeNode") return;
    if (!this.opts.resolvePeer) return;
    for (const id of [...conf.voters, ...conf.learners]) {
      if (id === this.id) continue;
      const context = change && change.node === id ? change.context : undefined;
      const peer = this.opts.resolvePeer(id, context);
      if (peer) this.opts.transport.addPeer(peer);
    }
  }

  private releaseReads(): void {
    for (const [id, r] of this.reads) {
      if (r.index !== null && r.index <= this.appliedIndex) {
        this.reads.delete(id);
        this.clock.clearTimeout(r.timer);
        r.resolve(r.index);
      }
    }
  }

  /** Fires the leader-ready barrier once this leader has applied an entry of its own term. */
  private maybeLeaderReady(): void {
    if (this.soft.role !== "leader") {
      this.readyTerm = null;
      return;
    }
    const { term } = this.core.roleAndTerm();
    if (this.readyTerm === term || this.appliedTerm !== term) return;
    this.readyTerm = term;
    this.log.info({ term, applied: this.appliedIndex }, "leader ready: applied its own term's first entry");
    for (const l of this.leaderReadyListeners) {
      try {
        l(term);
      } catch (err) {
        this.log.error({ err }, "leader-ready listener threw");
      }
    }
  }

  private changeSoftState(s: SoftState): void {
    const was = this.soft;
    this.soft = s;
    if (s.role !== "leader") this.readyTerm = null;
    const term = this.core.status().term;
    this.log.info({ role: s.role, leader: s.leader, term, was: was.role }, "raft role changed");
    if (was.leader !== s.leader) {
      // Proposals in flight under the old leader may or may not commit; tell
      // their callers now instead of at their timeout (etcd: "leader changed").
      for (const [id, p] of this.proposals) {
        this.proposals.delete(id);
        this.clock.clearTimeout(p.timer);
        p.reject(new OutcomeUnknownError(`leader changed from ${was.leader ?? "none"} to ${s.leader ?? "none"}; the write may still commit`));
      }
    }
    if (s.role !== "leader" && s.leader === null) {
      // Reads waiting on a leader that is gone will never be answered: fail fast.
      for (const [id, r] of this.reads) {
        if (r.index !== null) continue;
        this.reads.delete(id);
        this.clock.clearTimeout(r.timer);
        r.reject(new ReadTimeoutError("leader lost before the read was confirmed"));
      }
    }
    for (const l of this.softListeners) l(s, term);
  }

  /**
   * Takes a snapshot every `snapshotEvery` applied entries. The state is
   * captured synchronously (consistent at the applied index); writing it and
   * compacting the log run in the background, ordered after earlier writes
   * by the storage, so the loop keeps serving meanwhile.
   */
  private maybeSnapshot(): void {
    if (this.snapshotInFlight) return;
    const since = this.appliedIndex - this.lastSnapshotIndex;
    const every = this.opts.snapshotEvery;
    if (since < every / 2) return; // the common case, checked before anything costs
    // Members snapshot at staggered points of the log (voter k of n at
    // indexes k*every/n + m*every), so that while one of them is busy
    // capturing a large state the others still form a quorum.
    const voters = this.core.status().conf.voters;
    const rank = Math.max(0, voters.indexOf(this.id));
    const offset = Math.floor((rank * every) / Math.max(1, voters.length));
    const slot = (index: number) => Math.floor((index - offset) / every);
    if (slot(this.appliedIndex) <= slot(this.lastSnapshotIndex)) return;
    if (this.soft.role === "leader" && this.lastCaptureMs > this.electionTimeoutMs() / 2 && since < 2 * this.opts.snapshotEvery) {
      // Capturing blocks this process longer than followers wait for a
      // heartbeat: hand leadership to a caught-up follower first (and
      // snapshot as a follower) rather than stall the cluster into an election.
      this.handOffLeadershipForSnapshot();
      return;
    }
    const started = this.clock.now();
    const metadata: SnapshotMetadata = { index: this.appliedIndex, term: this.appliedTerm, conf: this.core.status().conf };
    const snapshot: Snapshot = { metadata, data: this.opts.stateMachine.snapshot() };
    const compactTo = Math.max(0, metadata.index - (this.opts.snapshotCatchUpEntries ?? 5000));
    const capturedMs = Math.round(this.clock.now() - started);
    this.lastCaptureMs = capturedMs;
    this.snapshotInFlight = true;
    this.lastSnapshotIndex = metadata.index;
    this.opts.storage
      .saveSnapshotAndCompact(snapshot, compactTo)
      .then(() => {
        this.enqueue({ kind: "compact", metadata, compactTo });
        this.log.info({ index: metadata.index, bytes: snapshot.data.length, captureMs: capturedMs, totalMs: Math.round(this.clock.now() - started) }, "snapshot taken");
      })
      .catch((err: unknown) => this.halt(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.snapshotInFlight = false;
      });
  }

  private electionTimeoutMs(): number {
    return this.opts.tickMs * this.opts.electionTicks;
  }

  private handOffLeadershipForSnapshot(): void {
    const st = this.core.status();
    if (st.leadTransferee !== null || !st.progress) return;
    const candidates = st.conf.voters.filter((id) => id !== this.id && (st.progress?.[id]?.match ?? 0) >= st.lastIndex);
    const to = candidates[0];
    if (!to) return; // nobody caught up: try again after the next Ready
    this.log.info({ to, lastCaptureMs: this.lastCaptureMs }, "handing leadership over before a long snapshot");
    this.core.transferLeadership(to);
  }

  private halt(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.log.fatal({ err }, "raft node halted");
    if (this.ticker) this.clock.clearInterval(this.ticker);
    for (const [, p] of this.proposals) {
      this.clock.clearTimeout(p.timer);
      p.reject(new OutcomeUnknownError(`raft node halted: ${err.message}`));
    }
    this.proposals.clear();
    for (const [, p] of this.confChanges) {
      this.clock.clearTimeout(p.timer);
      p.reject(new OutcomeUnknownError(`raft node halted: ${err.message}`));
    }
    this.confChanges.clear();
    for (const [, r] of this.reads) {
      this.clock.clearTimeout(r.timer);
      r.reject(new ReadTimeoutError(`raft node halted: ${err.message}`));
    }
    this.reads.clear();
    this.onFatal?.(err);
  }
}

function isEmpty(s: StoredState): boolean {
  return s.snapshot === null && s.entries.length === 0 && s.hardState.term === 0 && s.hardState.vote === null;
}

function refusalError(refusal: NonNullable<ReturnType<RaftCore["propose"]>>, leader: NodeId | null): Error {
  switch (refusal.code) {
    case "noLeader":
      return new NotLeaderError(leader);
    case "transferring":
      return new NotLeaderError(refusal.to, `leadership is moving to ${refusal.to}`);
    case "confChangePending":
      return new ProposalRefusedError("another membership change is still pending");
    case "invalidConfChange":
      return new ProposalRefusedError(`invalid membership change: ${refusal.reason}`);
  }
}
