// The vocabulary of the Raft core: log entries, persistent state, the closed
// union of peer messages and the Ready batch handed to the driver.
// Everything here is plain data so it can be persisted (LevelDB) and framed
// (msgpackr) unchanged. Indexes and terms are JS numbers (safe to 2^53).

/** A member's identity inside Raft: its configured name ("m1"). */
export type NodeId = string;

export type EntryType = "normal" | "confChange";

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to raft. Empty for the leader's no-op; encoded ConfChange for "confChange". */
  data: Uint8Array;
}

/** What must survive a crash besides the log (Raft paper figure 2, plus commit as etcd keeps it). */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

/** Membership. Voters count towards quorum; learners only receive the log. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export type ConfChangeType = "addNode" | "addLearner" | "removeNode";

/** One-server-at-a-time membership change, carried in a "confChange" entry. */
export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
  /** Opaque to raft (the master puts the member's addresses here). */
  context?: Uint8Array;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** State machine image, opaque to raft. */
  data: Uint8Array;
}

// ---------------------------------------------------------------------------
// Messages. Every peer message carries from/to/term; the union is closed and
// switched on exhaustively in the role step functions.

interface MsgBase {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Vote request. `preVote` asks "would you vote for me at term?" without changing anything. */
export interface MsgVote extends MsgBase {
  type: "vote" | "preVote";
  lastLogIndex: number;
  lastLogTerm: number;
  /** Set when the election follows a leadership transfer: voters ignore their leader lease. */
  transfer: boolean;
}

export interface MsgVoteResp extends MsgBase {
  type: "voteResp" | "preVoteResp";
  reject: boolean;
}

/** AppendEntries. */
export interface MsgApp extends MsgBase {
  type: "app";
  prevIndex: number;
  prevTerm: number;
  entries: Entry[];
  commit: number;
}

export interface MsgAppResp extends MsgBase {
  type: "appResp";
  /** On success: the follower's match index. On reject: the prevIndex that was rejected. */
  index: number;
  reject: boolean;
  /** On reject: a hint where the follower's log may match (its last index, or an earlier conflict). */
  rejectHint: number;
  /** On reject: the term of the follower's entry at rejectHint (0 if none), for fast backtracking. */
  rejectHintTerm: number;
}

export interface MsgHeartbeat extends MsgBase {
  type: "heartbeat";
  commit: number;
  /** ReadIndex round this heartbeat confirms leadership for (empty when none). */
  context: string;
}

export interface MsgHeartbeatResp extends MsgBase {
  type: "heartbeatResp";
  context: string;
}

export interface MsgSnap extends MsgBase {
  type: "snap";
  snapshot: Snapshot;
}

/** Sent by a follower to the leader when it could not apply a snapshot it was sent. */
export interface MsgSnapStatus extends MsgBase {
  type: "snapStatus";
  reject: boolean;
}

/** Leadership transfer: the leader tells the caught-up transferee to campaign now. */
export interface MsgTimeoutNow extends MsgBase {
  type: "timeoutNow";
}

/** A follower forwards a leadership-transfer request to its leader. */
export interface MsgTransferLeader extends MsgBase {
  type: "transferLeader";
  transferee: NodeId;
}

/** Proposal forwarded by a follower to its leader (term 0: local message semantics). */
export interface MsgProp extends MsgBase {
  type: "prop";
  entries: { type: EntryType; data: Uint8Array }[];
}

/**
 * The leader (or a member without a leader) refused a forwarded proposal: it
 * never entered the log. Sent back to the member that forwarded it, carrying
 * the refused entries so its driver can answer their proposers at once
 * rather than at their timeout. Term 0, like prop.
 */
export interface MsgPropRefused extends MsgBase {
  type: "propRefused";
  entries: { type: EntryType; data: Uint8Array }[];
  refusal: ProposalRefusal;
}

/** ReadIndex request forwarded by a follower to its leader. */
export interface MsgReadIndex extends MsgBase {
  type: "readIndex";
  context: string;
}

export interface MsgReadIndexResp extends MsgBase {
  type: "readIndexResp";
  context: string;
  index: number;
}

export type Message =
  | MsgVote
  | MsgVoteResp
  | MsgApp
  | MsgAppResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgSnapStatus
  | MsgTimeoutNow
  | MsgTransferLeader
  | MsgProp
  | MsgPropRefused
  | MsgReadIndex
  | MsgReadIndexResp;

export type MessageType = Message["type"];

// ---------------------------------------------------------------------------
// Ready: what the driver must do, in order:
//   1. persist hardState, entries and snapshot (atomically, synced when mustSync)
//   2. send messages
//   3. apply snapshot, then committedEntries, in order
//   4. call advance(ready)

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

export interface SoftState {
  leader: NodeId | null;
  role: Role;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  context: string;
}

export interface Ready {
  softState: SoftState | null;
  hardState: HardState | null;
  /** New log entries to persist; they may overwrite a persisted suffix from entries[0].index on. */
  entries: Entry[];
  snapshot: Snapshot | null;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** True when hardState/entries changed in a way that must hit the disk before messages leave. */
  mustSync: boolean;
}

/** A seeded source of randomness injected into the core; returns an integer in [0, n). */
export type RandomInt = (n: number) => number;

export interface RaftConfig {
  id: NodeId;
  /** Ticks without leader contact before a follower campaigns; randomized in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  heartbeatTicks: number;
  random: RandomInt;
  preVote: boolean;
  checkQuorum: boolean;
  /** Flow control: at most this many AppendEntries in flight per follower. */
  maxInflightMsgs: number;
  /** Flow control: at most this many payload bytes in flight per follower (0: unlimited). */
  maxInflightBytes: number;
  /** Batching: at most this many payload bytes per AppendEntries. */
  maxMsgBytes: number;
  /** At most this many entries in one AppendEntries. */
  maxEntriesPerMsg: number;
}

/** State the core restarts from (what storage persisted). */
export interface InitialState {
  hardState: HardState;
  snapshot: Snapshot | null;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[];
  /** Membership when there is no snapshot and no conf entries yet (a brand-new cluster). */
  conf: ConfState;
  /** Index already applied by the state machine (entries up to here are not handed out again). */
  applied: number;
}

/** Why the core refused a proposal outright (it was never appended or forwarded). */
export type ProposalRefusal =
  | { code: "noLeader" }
  | { code: "transferring"; to: NodeId }
  | { code: "confChangePending" }
  | { code: "invalidConfChange"; reason: string };

export type ProgressState = "probe" | "replicate" | "snapshot";

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  learner: boolean;
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  leader: NodeId | null;
  term: number;
  vote: NodeId | null;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  conf: ConfState;
  /** Leader only: per-member replication progress. */
  progress: Record<NodeId, ProgressStatus> | null;
  leadTransferee: NodeId | null;
}
