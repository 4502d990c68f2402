// RaftCore: the deterministic Raft state machine (in the manner of
// etcd-io/raft's RawNode). Inputs are tick(), step(message), propose() and
// friends; the output is a Ready that the driver persists, sends and applies
// before calling advance(). No I/O, no clock, no unseeded randomness.
//
// Contract with the driver: between ready() and advance() no other input is
// fed. Messages of a Ready leave only after its hard state and entries are
// durable, so every vote and acknowledgement a peer sees is on disk.

import { assert, LogLostError } from "./assert.js";
import { applyConfChange, checkConfChange, cloneConf, decodeConfChange, encodeConfChange } from "./confchange.js";
import { RaftLog } from "./log.js";
import { Progress } from "./progress.js";
import { committedIndex, voteResult } from "./quorum.js";
import { ReadOnlyQueue } from "./readonly.js";
import type {
  ConfChange,
  ConfState,
  EntryType,
  HardState,
  InitialState,
  Message,
  MsgApp,
  MsgAppResp,
  MsgHeartbeat,
  MsgHeartbeatResp,
  MsgProp,
  MsgReadIndex,
  MsgSnap,
  MsgVote,
  NodeId,
  ProposalRefusal,
  RaftConfig,
  RaftStatus,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SoftState,
} from "./types.js";

/** Committed entries handed out per Ready, so one Ready never holds the whole log. */
const MAX_COMMITTED_PER_READY = 4096;
/** Ticks a follower may stay in snapshot state before the leader retries (a snapshot may be lost). */
const SNAPSHOT_RETRY_ELECTIONS = 3;
/** Heartbeat context of a removed leader asking a follower to confirm a commit index (never a ReadIndex context). */
const LEAVE_CONTEXT = "\u0000leave:";

type ProposedEntry = { type: EntryType; data: Uint8Array };

export class RaftCore {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;

  private term: number;
  private vote: NodeId | null;
  private role: Role = "follower";
  private lead: NodeId | null = null;
  private readonly log: RaftLog;
  private conf: ConfState;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  /** Leader only. */
  private progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId | null = null;
  /**
   * Leader only: the index of the applied entry that removed us (null while
   * we are a member). A removed leader keeps heartbeating until a quorum of
   * the new configuration has confirmed a commit index at or past its
   * removal, then steps down: stepping down at once could strand a follower
   * that never heard of the commit (a paused append, a lost message) in the
   * old configuration, waiting for the vote of a member that has left.
   */
  private leavingAt: number | null = null;
  /** Remaining voters that confirmed knowing a commit >= leavingAt. */
  private leaveConfirmed = new Set<NodeId>();
  /** A conf change may be proposed only once applied has reached this index. */
  private pendingConfIndex = 0;
  private readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before this leader committed an entry of its own term. */
  private readsAwaitingTermCommit: MsgReadIndex[] = [];
  private broadcastPending = false;

  /** (Pre)candidate only. */
  private votes = new Map<NodeId, boolean>();

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private readyOutstanding = false;

  constructor(config: RaftConfig, initial: InitialState) {
    assert(config.heartbeatTicks > 0 && config.electionTicks > config.heartbeatTicks, "electionTicks must exceed heartbeatTicks");
    this.cfg = config;
    this.id = config.id;
    this.term = initial.hardState.term;
    this.vote = initial.hardState.vote;
    this.log = new RaftLog(initial.snapshot, initial.entries, initial.hardState.commit, initial.applied);

    // Membership as of the applied index: the snapshot's, then every conf
    // change applied after it (the state machine has applied them too).
    this.conf = cloneConf(initial.snapshot ? initial.snapshot.metadata.conf : initial.conf);
    for (let i = this.log.firstIndex(); i <= this.log.applied; i++) {
      const e = this.log.entryAt(i);
      if (e?.type === "confChange") this.conf = applyConfChange(this.conf, decodeConfChange(e.data));
    }

    this.prevHardState = this.hardState();
    this.prevSoftState = { leader: null, role: "follower" };
    this.becomeFollower(this.term, null);
  }

  // -------------------------------------------------------------------------
  // Inputs

  tick(): void {
    this.assertNoReadyOutstanding("tick");
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  step(m: Message): void {
    this.assertNoReadyOutstanding("step");
    if (m.to !== this.id) return;

    // Proposals, forwarded reads and transfer requests travel with term 0:
    // they are local requests that happen to come from another node.
    const local = m.type === "prop" || m.type === "propRefused" || m.type === "readIndex" || m.type === "transferLeader";
    if (!local && m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        // Leader lease: while we hear from a live leader, a disruptive
        // candidate (a rejoining node) is ignored unless it was told to
        // campaign by a leadership transfer.
        const inLease = this.cfg.checkQuorum && this.lead !== null && this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !m.transfer) return;
      }
      if (m.type === "preVote") {
        // Do not change term on a pre-vote request.
      } else if (m.type === "preVoteResp" && !m.reject) {
        // A granted pre-vote carries the future term; we bump it when we win.
      } else if (m.type === "app" || m.type === "heartbeat" || m.type === "snap") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (!local && m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "heartbeat" || m.type === "app")) {
        // A stale leader (e.g. after a partition) learns of the newer term
        // from our answer and steps down; without this it would keep sending.
        this.send({ type: "appResp", to: m.from, term: this.term, index: 0, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case "vote":
      case "preVote":
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
    }
  }

  propose(data: Uint8Array): ProposalRefusal | null {
    this.assertNoReadyOutstanding("propose");
    return this.proposeEntries([{ type: "normal", data }]);
  }

  proposeConfChange(change: ConfChange): ProposalRefusal | null {
    this.assertNoReadyOutstanding("proposeConfChange");
    return this.proposeEntries([{ type: "confChange", data: encodeConfChange(change) }]);
  }

  readIndex(context: string): void {
    this.assertNoReadyOutstanding("readIndex");
    const m: MsgReadIndex = { type: "readIndex", from: this.id, to: this.id, term: 0, context };
    if (this.role === "leader") this.handleReadIndex(m);
    else if (this.lead !== null) this.send({ ...m, to: this.lead });
    // Without a known leader the read is dropped; the driver times out and retries.
  }

  transferLeadership(to: NodeId): void {
    this.assertNoReadyOutstanding("transferLeadership");
    const m = { type: "transferLeader" as const, from: this.id, to: this.id, term: 0, transferee: to };
    if (this.role === "leader") this.handleTransferLeader(m.transferee);
    else if (this.lead !== null) this.send({ ...m, to: this.lead });
  }

  campaign(): void {
    this.assertNoReadyOutstanding("campaign");
    this.hup(false);
  }

  // -------------------------------------------------------------------------
  // Ready / advance

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    const hs = this.hardState();
    const ss = this.softState();
    return (
      this.msgs.length > 0 ||
      this.broadcastPending ||
      this.readStates.length > 0 ||
      this.log.unstableEntries().length > 0 ||
      this.log.pendingSnapshot !== null ||
      this.log.hasNextCommittedEntries() ||
      !sameHardState(hs, this.prevHardState) ||
      ss.leader !== this.prevSoftState.leader ||
      ss.role !== this.prevSoftState.role
    );
  }

  ready(): Ready {
    assert(!this.readyOutstanding, "ready() called twice without advance()");
    if (this.broadcastPending && this.role === "leader") this.bcastAppend();
    this.broadcastPending = false;

    const hs = this.hardState();
    const ss = this.softState();
    const entries = this.log.unstableEntries();
    const committedEntries = this.log.nextCommittedEntries(MAX_COMMITTED_PER_READY);
    // Applying a membership change makes its commit index durable first: a
    // member restarted with a commit index from before the change would
    // rebuild the old configuration (and could need a removed member for
    // its quorum). So the hard state goes out with this Ready, synced.
    const appliesConfChange = committedEntries.some((e) => e.type === "confChange");
    const hardChanged = !sameHardState(hs, this.prevHardState) || appliesConfChange;
    const rd: Ready = {
      softState: ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role ? ss : null,
      hardState: hardChanged ? hs : null,
      entries,
      snapshot: this.log.pendingSnapshot,
      committedEntries,
      messages: this.msgs,
      readStates: this.readStates,
      mustSync:
        entries.length > 0 ||
        appliesConfChange ||
        this.log.pendingSnapshot !== null ||
        hs.term !== this.prevHardState.term ||
        hs.vote !== this.prevHardState.vote,
    };
    this.msgs = [];
    this.readStates = [];
    this.readyOutstanding = true;
    return rd;
  }

  advance(rd: Ready): void {
    assert(this.readyOutstanding, "advance() without ready()");
    this.readyOutstanding = false;
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.snapshot) this.log.snapshotApplied(rd.snapshot);
    if (rd.entries.length > 0) this.log.stableTo(rd.entries[rd.entries.length - 1]!.index);
    for (const e of rd.committedEntries) {
      this.log.appliedTo(e.index);
      if (e.type === "confChange") this.applyConfChangeEntry(decodeConfChange(e.data), e.index);
    }
    if (this.role === "leader") {
      // The leader's own vote in the commit quorum counts only what it has on disk.
      this.progress.get(this.id)?.maybeUpdate(this.log.stableIndex);
      this.maybeCommit();
    }
  }

  compact(snapshot: Snapshot, compactTo: number): void {
    this.assertNoReadyOutstanding("compact");
    this.log.compact(snapshot, compactTo);
  }

  /** Role and term without the copies status() makes (checked per fenced proposal); leaving: a removed leader leading on. */
  roleAndTerm(): { role: RaftStatus["role"]; term: number; leaving: boolean } {
    return { role: this.role, term: this.term, leaving: this.leavingAt !== null };
  }

  status(): RaftStatus {
    let progress: RaftStatus["progress"] = null;
    if (this.role === "leader") {
      progress = {};
      for (const [id, pr] of this.progress) progress[id] = pr.toStatus();
    }
    return {
      id: this.id,
      role: this.role,
      leader: this.lead,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      conf: cloneConf(this.conf),
      progress,
      leadTransferee: this.leadTransferee,
    };
  }

  // -------------------------------------------------------------------------
  // Roles

  private becomeFollower(term: number, lead: NodeId | null): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = "follower";
    this.lead = lead;
    this.resetCommon();
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", "leader cannot become pre-candidate");
    // A pre-candidate changes neither term nor vote: losing the pre-vote must leave no trace.
    this.role = "preCandidate";
    this.lead = null;
    this.votes = new Map();
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", "leader cannot become candidate");
    this.term += 1;
    this.vote = this.id;
    this.role = "candidate";
    this.lead = null;
    this.resetCommon();
  }

  private becomeLeader(): void {
    assert(this.role !== "follower", "follower cannot become leader directly");
    this.role = "leader";
    this.lead = this.id;
    this.resetCommon();
    this.progress = new Map();
    for (const id of [...this.conf.voters, ...this.conf.learners]) this.addProgress(id);
    // The no-op of our term (§5.4.2): earlier entries commit through it, and
    // ReadIndex and conf changes wait until it is applied.
    this.appendEntries([{ type: "normal", data: new Uint8Array(0) }]);
    this.pendingConfIndex = this.log.lastIndex();
    this.broadcastPending = true;
  }

  private resetCommon(): void {
    this.leavingAt = null;
    this.leaveConfirmed = new Set();
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.random(this.cfg.electionTicks);
    this.votes = new Map();
    this.leadTransferee = null;
    this.readOnly.clear();
    this.readsAwaitingTermCommit = [];
    this.broadcastPending = false;
    if (this.role !== "leader") this.progress = new Map();
  }

  private addProgress(id: NodeId): void {
    const pr = new Progress(this.log.lastIndex() + 1, this.conf.learners.includes(id), this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    if (id === this.id) {
      pr.match = this.log.stableIndex;
      pr.becomeReplicate();
    }
    pr.recentActive = true;
    this.progress.set(id, pr);
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  // -------------------------------------------------------------------------
  // Timers

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;

    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        // CheckQuorum: we heard from no majority for an election timeout; we
        // may be the minority side of a partition, so stop acting as leader.
        this.becomeFollower(this.term, null);
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = null;
    }
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.state !== "snapshot") continue;
      if (++pr.snapshotTicks >= SNAPSHOT_RETRY_ELECTIONS * this.cfg.electionTicks) {
        pr.becomeProbe();
        pr.next = pr.match + 1;
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastPendingContext() ?? "");
    }
  }

  /** True if a majority of voters (counting ourselves) were heard from since the last check; resets the marks. */
  private quorumActive(): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.conf.voters) {
      const pr = this.progress.get(id);
      active.set(id, id === this.id || (pr?.recentActive ?? false));
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return voteResult(this.conf.voters, active) === "won";
  }

  // -------------------------------------------------------------------------
  // Elections

  private hup(transfer: boolean): void {
    if (this.role === "leader") return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChange()) {
      // Campaigning with an out-of-date configuration could let two
      // configurations' majorities elect two leaders (etcd-raft #456).
      return;
    }
    if (this.cfg.preVote && !transfer) this.startElection("preVote", false);
    else this.startElection("vote", transfer);
  }

  private hasUnappliedConfChange(): boolean {
    for (let i = this.log.applied + 1; i <= this.log.committed; i++) {
      if (this.log.entryAt(i)?.type === "confChange") return true;
    }
    return false;
  }

  private startElection(kind: "preVote" | "vote", transfer: boolean): void {
    if (kind === "preVote") this.becomePreCandidate();
    else this.becomeCandidate();
    const term = kind === "preVote" ? this.term + 1 : this.term;
    this.votes.set(this.id, true);
    if (voteResult(this.conf.voters, this.votes) === "won") {
      // Single-voter cluster.
      if (kind === "preVote") this.startElection("vote", false);
      else this.becomeLeader();
      return;
    }
    // Learners are asked too (their answers never count): a member whose
    // configuration is stale may see as a learner a member that is a voter
    // by now, with a lower term; without hearing of our term it would
    // campaign below us forever, and we ignore lower-term requests, so
    // neither could win (fresh seed 1592143586).
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      if (id === this.id) continue;
      this.send({
        type: kind,
        to: id,
        term,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  private handleVoteRequest(m: MsgVote): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (m.type === "preVote" && m.term > this.term);
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // Answer with the request's term so the (pre)candidate counts it.
      this.send({ type: respType, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  private stepCandidate(m: Message): void {
    const myResp = this.role === "preCandidate" ? "preVoteResp" : "voteResp";
    switch (m.type) {
      case "app":
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case "voteResp":
      case "preVoteResp": {
        if (m.type !== myResp) return;
        this.votes.set(m.from, !m.reject);
        const result = voteResult(this.conf.voters, this.votes);
        if (result === "won") {
          if (this.role === "preCandidate") this.startElection("vote", false);
          else {
            this.becomeLeader();
          }
        } else if (result === "lost") {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      case "timeoutNow":
        return;
      case "prop":
        this.refuseForwarded(m, { code: "noLeader" });
        return;
      case "readIndex":
      case "transferLeader":
        return; // no leader to forward to; the requester times out
      case "propRefused":
        return; // the driver answers its proposers (it reads these off the wire)
      case "appResp":
      case "heartbeatResp":
      case "snapStatus":
      case "readIndexResp":
      case "vote":
      case "preVote":
        return;
    }
  }

  // -------------------------------------------------------------------------
  // Follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "app":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case "prop":
        if (this.lead !== null) this.send({ ...m, to: this.lead, term: 0 });
        else this.refuseForwarded(m, { code: "noLeader" });
        return;
      case "propRefused":
        return; // the driver answers its proposers (it reads these off the wire)
      case "readIndex":
        if (this.lead !== null) this.send({ ...m, to: this.lead, term: 0 });
        return;
      case "transferLeader":
        if (this.lead !== null) this.send({ ...m, to: this.lead, term: 0 });
        return;
      case "timeoutNow":
        // The leader picked us as its successor: campaign now, skipping
        // PreVote and the voters' leader lease.
        this.hup(true);
        return;
      case "readIndexResp":
        this.readStates.push({ index: m.index, context: m.context });
        return;
      case "appResp":
      case "heartbeatResp":
      case "snapStatus":
      case "voteResp":
      case "preVoteResp":
      case "vote":
      case "preVote":
        return;
    }
  }

  private handleAppend(m: MsgApp): void {
    if (m.prevIndex < this.log.committed) {
      this.send({ type: "appResp", to: m.from, term: this.term, index: this.log.committed, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
    if (this.log.lastTruncatedFrom !== null) this.dropAcksFrom(this.log.lastTruncatedFrom);
    if (lastNew !== undefined) {
      this.log.commitTo(Math.min(m.commit, lastNew));
      this.send({ type: "appResp", to: m.from, term: this.term, index: lastNew, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.send({
      type: "appResp",
      to: m.from,
      term: this.term,
      index: m.prevIndex,
      reject: true,
      rejectHint: hint.index,
      rejectHintTerm: hint.term,
    });
  }

  private handleHeartbeat(m: MsgHeartbeat): void {
    if (m.commit > this.log.lastIndex()) {
      // The leader tells us to commit only what we acknowledged (min(match,
      // commit)); missing it means our log was lost (etcd panics here too).
      throw new LogLostError(
        `${this.id}: the leader ${m.from} (term ${m.term}) says this member acknowledged entries up to ${m.commit}, but its log ends at ${this.log.lastIndex()}: ` +
          "its data directory was wiped or lost. A member cannot rejoin under its old identity with an empty log (it could vote twice in a term): " +
          "remove it from the cluster and add it again (pinctl member remove, then member add), or join it as a learner",
      );
    }
    this.log.commitTo(m.commit);
    this.send({ type: "heartbeatResp", to: m.from, term: this.term, context: m.context });
  }

  private handleSnapshot(m: MsgSnap): void {
    const { index, term } = m.snapshot.metadata;
    if (index <= this.log.committed) {
      this.send({ type: "appResp", to: m.from, term: this.term, index: this.log.committed, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      return;
    }
    if (this.log.matchTerm(index, term)) {
      // We already have the snapshot's last entry: keep our log, just commit.
      this.log.commitTo(index);
    } else {
      this.dropAcksFrom(0);
      this.log.restore(m.snapshot);
      this.conf = cloneConf(m.snapshot.metadata.conf);
    }
    this.send({ type: "appResp", to: m.from, term: this.term, index: this.log.lastIndex(), reject: false, rejectHint: 0, rejectHintTerm: 0 });
  }

  /**
   * An acknowledgement queued earlier in this batch may cover entries that a
   * later message just replaced (a new leader's conflicting append, or a
   * snapshot). Those entries will never reach the disk, so the ack must not
   * leave: an old leader could count it towards a commit.
   */
  private dropAcksFrom(index: number): void {
    this.msgs = this.msgs.filter((m) => !(m.type === "appResp" && !m.reject && m.index >= index));
  }

  // -------------------------------------------------------------------------
  // Leader

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "prop": {
        const refusal = this.proposeEntries(m.entries);
        if (refusal !== null) this.refuseForwarded(m, refusal);
        return;
      }
      case "propRefused":
        return;
      case "readIndex":
        this.handleReadIndex(m);
        return;
      case "transferLeader":
        this.handleTransferLeader(m.transferee);
        return;
      case "appResp":
        this.handleAppendResponse(m);
        return;
      case "heartbeatResp":
        this.handleHeartbeatResponse(m);
        return;
      case "snapStatus": {
        const pr = this.progress.get(m.from);
        if (pr && pr.state === "snapshot") {
          pr.becomeProbe();
          if (m.reject) pr.next = pr.match + 1;
          // Either way wait before probing: on success for the follower's ack,
          // on failure (the transfer broke) for a heartbeat response, so a
          // follower that is down is not sent snapshot after snapshot (etcd).
          pr.probeSent = true;
        }
        return;
      }
      case "app":
      case "heartbeat":
      case "snap":
        // Same term, another leader: impossible with one vote per term.
        assert(false, () => `${this.id}: two leaders in term ${this.term} (${m.from})`);
        return;
      case "voteResp":
      case "preVoteResp":
      case "timeoutNow":
      case "readIndexResp":
      case "vote":
      case "preVote":
        return;
    }
  }

  /** Tells the member that forwarded a proposal it was refused, so its proposers hear at once. */
  private refuseForwarded(m: MsgProp, refusal: ProposalRefusal): void {
    if (m.from === this.id) return;
    this.send({ type: "propRefused", to: m.from, term: 0, entries: m.entries, refusal });
  }

  private proposeEntries(entries: ProposedEntry[]): ProposalRefusal | null {
    if (this.role !== "leader") {
      if (this.lead === null) return { code: "noLeader" };
      this.send({ type: "prop", to: this.lead, term: 0, entries });
      return null;
    }
    if (this.leavingAt !== null) return { code: "noLeader" }; // removed: the next leader takes writes
    if (this.leadTransferee !== null) return { code: "transferring", to: this.leadTransferee };
    for (const e of entries) {
      if (e.type !== "confChange") continue;
      if (this.pendingConfIndex > this.log.applied) return { code: "confChangePending" };
      const reason = checkConfChange(this.conf, decodeConfChange(e.data));
      if (reason !== null) return { code: "invalidConfChange", reason };
    }
    this.appendEntries(entries);
    for (const e of entries) if (e.type === "confChange") this.pendingConfIndex = this.log.lastIndex();
    this.broadcastPending = true;
    return null;
  }

  private appendEntries(entries: ProposedEntry[]): void {
    let index = this.log.lastIndex();
    this.log.append(entries.map((e) => ({ term: this.term, index: ++index, type: e.type, data: e.data })));
    // Our own match is raised in advance(), once these entries are durable.
  }

  private handleAppendResponse(m: MsgAppResp): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.rejectHintTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.rejectHintTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (oldPaused && pr.state === "probe") this.sendAppend(m.from);
      return;
    }
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) pr.becomeProbe();
    else if (pr.state === "replicate") pr.inflights.freeLE(m.index);

    if (this.maybeCommit()) {
      // maybeCommit scheduled a broadcast that also carries the new commit index.
    } else if (oldPaused || pr.next <= this.log.lastIndex()) {
      this.sendAppend(m.from);
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: "timeoutNow", to: m.from, term: this.term });
    }
  }

  private handleHeartbeatResponse(m: MsgHeartbeatResp): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // If appends were lost, a full inflight window would stall replication
    // (heartbeats get through, appends are never sent again): free a slot so
    // one append goes out; the follower's rejection then rewinds us.
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.context === "") return;
    if (m.context.startsWith(LEAVE_CONTEXT)) {
      this.handleLeaveConfirmation(m.from, Number(m.context.slice(LEAVE_CONTEXT.length)));
      return;
    }
    const acks = this.readOnly.ack(m.context, m.from);
    if (!acks) return;
    const granted = new Map<NodeId, boolean>([[this.id, true]]);
    for (const id of acks) granted.set(id, true);
    if (voteResult(this.conf.voters, granted) !== "won") return;
    for (const r of this.readOnly.advance(m.context)) this.answerRead(r.from, r.context, r.index);
  }

  /** A follower confirmed it can commit `commit`; once a quorum of the new configuration has, a removed leader steps down. */
  private handleLeaveConfirmation(from: NodeId, commit: number): void {
    if (this.leavingAt === null || !(commit >= this.leavingAt)) return;
    this.leaveConfirmed.add(from);
    const granted = new Map<NodeId, boolean>();
    for (const id of this.leaveConfirmed) granted.set(id, true);
    if (voteResult(this.conf.voters, granted) !== "won") return;
    this.becomeFollower(this.term, null);
  }

  private handleReadIndex(m: MsgReadIndex): void {
    if (this.leavingAt !== null) return; // removed: not a member any more, it cannot confirm a read
    if (!this.committedInCurrentTerm()) {
      // Until an entry of our term commits, our commit index may lag behind
      // what an earlier leader acknowledged (thesis §6.4): wait.
      this.readsAwaitingTermCommit.push(m);
      return;
    }
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.answerRead(m.from, m.context, this.log.committed);
      return;
    }
    this.readOnly.add(m.context, this.log.committed, m.from);
    this.bcastHeartbeat(m.context);
  }

  private answerRead(from: NodeId, context: string, index: number): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: "readIndexResp", to: from, term: this.term, context, index });
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private handleTransferLeader(transferee: NodeId): void {
    if (this.leavingAt !== null) return; // leaving anyway, once the others know
    if (transferee === this.id) return;
    if (!this.conf.voters.includes(transferee)) return;
    if (this.leadTransferee === transferee) return;
    this.leadTransferee = transferee;
    // The transfer must finish within an election timeout or it is abandoned.
    this.electionElapsed = 0;
    const pr = this.progress.get(transferee)!;
    if (pr.match === this.log.lastIndex()) {
      this.send({ type: "timeoutNow", to: transferee, term: this.term });
    } else {
      this.sendAppend(transferee);
    }
  }

  /** Raises commit to what a majority has on disk, counting only entries of our own term (figure 8). */
  private maybeCommit(): boolean {
    const index = committedIndex(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    this.log.commitTo(index);
    this.broadcastPending = true;
    if (this.readsAwaitingTermCommit.length > 0) {
      const waiting = this.readsAwaitingTermCommit;
      this.readsAwaitingTermCommit = [];
      for (const r of waiting) this.handleReadIndex(r);
    }
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to have.
      const commit = Math.min(pr.match, this.log.committed);
      // A removed leader asks each follower that can now commit past the
      // removal to confirm it (the context comes back in the response).
      const ctx = context === "" && this.leavingAt !== null && commit >= this.leavingAt ? `${LEAVE_CONTEXT}${commit}` : context;
      this.send({ type: "heartbeat", to: id, term: this.term, commit, context: ctx });
      pr.sentCommit = Math.max(pr.sentCommit, commit);
    }
  }

  private sendAppend(to: NodeId): void {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxMsgBytes, this.cfg.maxEntriesPerMsg);
    if (prevTerm === undefined || entries === undefined) {
      this.sendSnapshot(to, pr);
      return;
    }
    const lastSent = entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex;
    // What the follower will commit from this message (it never commits past what it has).
    const commitTold = Math.min(this.log.committed, lastSent);
    if (entries.length === 0 && pr.state === "replicate" && prevIndex === pr.match && commitTold <= pr.sentCommit) {
      // Nothing new and the follower already knows the commit index: heartbeats keep it alive.
      return;
    }
    this.send({ type: "app", to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sentCommit = Math.max(pr.sentCommit, commitTold);
    if (pr.state === "replicate") {
      if (entries.length > 0) {
        const last = entries[entries.length - 1]!.index;
        pr.optimisticUpdate(last);
        let bytes = 0;
        for (const e of entries) bytes += e.data.length;
        pr.inflights.add(last, bytes);
      }
    } else {
      pr.probeSent = true;
    }
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snapshot = this.log.snapshot;
    assert(snapshot !== null, () => `${this.id}: entries compacted but no snapshot to send to ${to}`);
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: "snap", to, term: this.term, snapshot });
  }

  // -------------------------------------------------------------------------
  // Membership

  private applyConfChangeEntry(change: ConfChange, index: number): void {
    const before = this.conf;
    this.conf = applyConfChange(this.conf, change);
    if (this.conf === before) return; // invalid by the time it applied: a no-op everywhere
    if (this.role !== "leader") return;
    if (change.type === "removeNode") {
      this.progress.delete(change.node);
      if (change.node === this.id) {
        // We are no longer a member. Keep leading only until the remaining
        // voters know the removal committed (see leavingAt), then step down
        // so they elect a leader among themselves.
        this.leavingAt = index;
        this.leaveConfirmed = new Set();
        this.leadTransferee = null;
        this.maybeCommit();
        this.bcastHeartbeat(this.readOnly.lastPendingContext() ?? "");
        this.broadcastPending = true;
        return;
      }
      if (this.leadTransferee === change.node) this.leadTransferee = null;
    } else {
      const pr = this.progress.get(change.node);
      if (pr) pr.learner = change.type === "addLearner";
      else this.addProgress(change.node);
      const added = this.progress.get(change.node)!;
      if (change.node !== this.id) {
        // Start probing from our last index; the follower's rejections walk it back.
        added.recentActive = true;
      }
    }
    // The quorum may have shrunk: entries may now be committed.
    this.maybeCommit();
    this.broadcastPending = true;
  }

  // -------------------------------------------------------------------------

  private send(m: DistributiveOmit<Message, "from">): void {
    this.msgs.push({ ...m, from: this.id } as Message);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  private assertNoReadyOutstanding(what: string): void {
    assert(!this.readyOutstanding, () => `${what}() between ready() and advance()`);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
