// SimCluster: N members, each a RaftCore driven exactly as raft/node.ts drives
// one (persist a Ready, then send its messages, then apply, then advance), on
// a simulated disk and a simulated network, with every safety invariant
// checked as it goes. It owns no policy: the seeded runner (run.ts) and the
// scripted harness (harness.ts) decide what happens when.

import { RaftCore } from "../../raft/core/raft.js";
import type {
  ConfChange, ConfState, Entry, Message, NodeId, ProposalRefusal, RaftConfig, RaftStatus, Ready, Role, Snapshot,
} from "../../raft/core/types.js";
import { SimDisk, SimStateMachine, textBytes } from "./disk.js";
import { confKey, Invariants, SimViolation } from "./invariants.js";
import type { Prng } from "./prng.js";
import { formatMessage, Trace } from "./trace.js";

/** The knobs of RaftConfig the simulator varies (id and random are per member). */
export type RaftTuning = Omit<RaftConfig, "id" | "random">;

/** Where messages go once a Ready was persisted: the seeded network or a scripted mailbox. */
export interface SimLink {
  send(m: Message, now: number): void;
  /** Forgets messages addressed to `id` (and, with `fromToo`, sent by it). */
  purge(id: NodeId, fromToo: boolean): void;
}

export interface ClusterOptions {
  seed: number;
  /** Every member that may ever run ("n1".."n5"). */
  ids: NodeId[];
  /** The bootstrap configuration (InitialState.conf of the original members). */
  bootstrap: ConfState;
  raft: RaftTuning;
  /** Take a snapshot when this many entries were applied since the last one (0: never). */
  snapshotEvery: number;
  /** Keep up to this many applied entries below a snapshot when compacting (drawn per snapshot). */
  snapshotTail: number;
  rng: Prng;
  trace: Trace;
  link: SimLink;
}

/**
 * Where a crash interrupts the handling of a Ready: before it is persisted
 * (everything the core did since the last Ready is lost), after it is
 * persisted but before its messages leave, or after they left but before the
 * state machine applied it.
 */
export type CrashPoint = "beforePersist" | "afterPersist" | "afterSend";

export type MemberState = "up" | "down" | "absent";

export class SimNode {
  incarnation = 0;
  state: MemberState = "absent";
  core: RaftCore | null = null;
  disk = new SimDisk();
  sm = new SimStateMachine();
  /** True for a member that joined an existing cluster (never bootstrapped with it). */
  joiner = false;
  dirty = false;
  pausedUntil = 0;
  lastSnapIndex = 0;
  conf: ConfState = { voters: [], learners: [] };
  confKey = "";
  role: Role = "follower";
  leader: NodeId | null = null;
  term = 0;
  /** ReadStates waiting for the state machine to reach their index. */
  waitingReads: { index: number; context: string }[] = [];

  constructor(readonly id: NodeId) {}

  get who(): string {
    return `${this.id}#${this.incarnation}`;
  }

  get up(): boolean {
    return this.state === "up";
  }
}

export interface ClusterStats {
  delivered: number;
  toDownMember: number;
  proposals: number;
  refused: number;
  confChanges: number;
  readsRequested: number;
  readsServed: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  crashes: number;
  restarts: number;
  wipes: number;
  leaderChanges: number;
  maxTerm: number;
  readies: number;
}

export class SimCluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly check: Invariants;
  readonly trace: Trace;
  now = 0;
  readonly stats: ClusterStats = {
    delivered: 0, toDownMember: 0, proposals: 0, refused: 0, confChanges: 0, readsRequested: 0, readsServed: 0,
    snapshotsTaken: 0, snapshotsInstalled: 0, crashes: 0, restarts: 0, wipes: 0, leaderChanges: 0, maxTerm: 0, readies: 0,
  };
  /** Called when a member applied a configuration change (index, new configuration). */
  onConf: ((node: SimNode, index: number, conf: ConfState) => void) | null = null;
  /** Called when a member serves a read (its state machine reached the read's index). */
  onReadServed: ((node: SimNode, context: string, index: number) => void) | null = null;
  /** Called for every entry a member applies (its client payload, or null for no-ops and conf changes). */
  onApplied: ((node: SimNode, e: Entry, payload: string | null) => void) | null = null;
  private readonly rngs = new Map<string, Prng>();
  private lastFullCheck = 0;

  constructor(readonly opts: ClusterOptions) {
    this.trace = opts.trace;
    this.check = new Invariants({ seed: opts.seed, now: () => this.now });
    for (const id of opts.ids) this.nodes.set(id, new SimNode(id));
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no member ${id}`);
    return n;
  }

  upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  private core(n: SimNode): RaftCore {
    if (n.core === null) throw new Error(`${n.id} is not running`);
    return n.core;
  }

  /** Calls into the core, turning an exception into a violation with context. */
  private guard<T>(n: SimNode, what: string | (() => string), f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof SimViolation) throw e;
      const err = e as Error;
      const call = typeof what === "string" ? what : what();
      this.check.fail("core threw", `${n.who} ${call} threw ${err.stack ?? String(err)}`);
    }
  }

  // -------------------------------------------------------------------------
  // Life cycle.

  /** Starts (or restarts) a member from its disk: a new incarnation. */
  start(id: NodeId): void {
    const n = this.node(id);
    if (n.up) throw new Error(`${id} is already up`);
    n.incarnation++;
    const rng = this.opts.rng.fork(`core:${id}:${n.incarnation}`);
    this.rngs.set(id, rng);
    // A member that joined later must not believe in the bootstrap configuration
    // (with an empty log it would campaign or count votes in it); it learns the
    // configuration from the snapshot the leader sends it.
    const bootstrap = n.joiner ? { voters: [], learners: [] } : this.opts.bootstrap;
    const initial = n.disk.initialState(bootstrap);
    const fresh = n.disk.lastIndex() === 0 && n.disk.hardState.term === 0;
    n.sm = new SimStateMachine();
    n.waitingReads = [];
    n.pausedUntil = 0;
    if (n.disk.snapshot !== null) {
      n.sm.restore(n.disk.snapshot);
      this.check.onSnapshot(n.who, n.disk.snapshot, n.sm.digest, "restores");
    }
    n.lastSnapIndex = n.sm.index;
    n.core = this.guard(n, "new RaftCore()", () => new RaftCore({ id, ...this.opts.raft, random: (k) => rng.int(k) }, initial));
    n.state = "up";
    n.dirty = true;
    n.role = "follower";
    n.leader = null;
    n.term = initial.hardState.term;
    const st = this.status(id);
    n.conf = { voters: st.conf.voters.slice(), learners: st.conf.learners.slice() };
    n.confKey = confKey(n.conf);
    // A brand-new process: nothing addressed to an earlier incarnation reaches it.
    if (fresh) this.opts.link.purge(id, true);
    if (n.incarnation > 1) this.stats.restarts++;
    this.trace.event(
      this.now,
      `${n.who} ${fresh ? "starts fresh" : "restarts"}: term=${initial.hardState.term} vote=${initial.hardState.vote} commit=${initial.hardState.commit} snap=${n.disk.snapshotIndex()} log=[${n.disk.firstIndex()}..${n.disk.lastIndex()}]${n.joiner ? " (joiner)" : ""}`,
    );
    // Replay what is committed before anything else happens (as the driver does on start-up).
    this.handleReadies(n);
  }

  /** Kills a member: the core and everything not persisted are gone. */
  crash(id: NodeId, why = "crashes"): void {
    const n = this.node(id);
    if (!n.up) return;
    this.check.forget(n.who);
    n.core = null;
    n.state = "down";
    n.disk.crash();
    n.dirty = false;
    n.pausedUntil = 0;
    this.stats.crashes++;
    this.trace.event(this.now, `${n.who} ${why}`);
  }

  /** Removes a member for good: crashed, disk wiped; it may only come back as a fresh joiner. */
  wipe(id: NodeId, why: string): void {
    const n = this.node(id);
    if (n.up) this.crash(id, `crashes (${why})`);
    n.state = "absent";
    n.disk = new SimDisk();
    n.sm = new SimStateMachine();
    n.joiner = true;
    // What it sent before it died is still on the wire; what was sent to it is lost.
    this.opts.link.purge(id, false);
    this.stats.wipes++;
    this.trace.event(this.now, `${id} wiped (${why})`);
  }

  pause(id: NodeId, until: number): void {
    const n = this.node(id);
    if (!n.up) return;
    n.pausedUntil = until;
    this.trace.event(this.now, `${n.who} paused until t=${until}`);
  }

  paused(n: SimNode): boolean {
    return n.pausedUntil > this.now;
  }

  // -------------------------------------------------------------------------
  // Inputs.

  /** Hands a message from the network to its receiver (dropped if it is not running). */
  deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (n === undefined || !n.up) {
      this.stats.toDownMember++;
      this.trace.msg(this.now, m, "receiver down");
      return;
    }
    this.stats.delivered++;
    this.trace.msg(this.now, m);
    const core = this.core(n);
    this.guard(n, () => `step(${formatMessage(m)})`, () => core.step(m));
    n.dirty = true;
  }

  tick(id: NodeId): void {
    const n = this.node(id);
    const core = this.core(n);
    this.guard(n, "tick()", () => core.tick());
    n.dirty = true;
  }

  propose(id: NodeId, payload: string): ProposalRefusal | null {
    const n = this.node(id);
    const core = this.core(n);
    const r = this.guard(n, () => `propose(${payload})`, () => core.propose(textBytes(payload)));
    n.dirty = true;
    this.stats.proposals++;
    if (r !== null) this.stats.refused++;
    this.trace.event(this.now, `${n.who} propose ${payload}${r === null ? "" : ` refused: ${JSON.stringify(r)}`}`);
    return r;
  }

  proposeConfChange(id: NodeId, cc: ConfChange): ProposalRefusal | null {
    const n = this.node(id);
    const core = this.core(n);
    const r = this.guard(n, `proposeConfChange(${cc.type} ${cc.node})`, () => core.proposeConfChange(cc));
    n.dirty = true;
    if (r === null) this.stats.confChanges++;
    this.trace.event(this.now, `${n.who} proposes ${cc.type} ${cc.node}${r === null ? "" : ` refused: ${JSON.stringify(r)}`}`);
    return r;
  }

  readIndex(id: NodeId, context: string): void {
    const n = this.node(id);
    const core = this.core(n);
    this.check.onReadRequest(n.who, context);
    this.guard(n, `readIndex(${context})`, () => core.readIndex(context));
    n.dirty = true;
    this.stats.readsRequested++;
    this.trace.event(this.now, `${n.who} readIndex ${context} (committed so far: ${this.check.maxCommitted})`);
  }

  transferLeadership(id: NodeId, to: NodeId): void {
    const n = this.node(id);
    const core = this.core(n);
    this.guard(n, `transferLeadership(${to})`, () => core.transferLeadership(to));
    n.dirty = true;
    this.trace.event(this.now, `${n.who} asked to transfer leadership to ${to}`);
  }

  campaign(id: NodeId): void {
    const n = this.node(id);
    const core = this.core(n);
    this.guard(n, "campaign()", () => core.campaign());
    n.dirty = true;
    this.trace.event(this.now, `${n.who} told to campaign`);
  }

  status(id: NodeId): RaftStatus {
    const n = this.node(id);
    const core = this.core(n);
    return this.guard(n, "status()", () => core.status());
  }

  // -------------------------------------------------------------------------
  // The driver loop.

  /**
   * Handles the Readies of every running member that did something; a member
   * in `crashPlan` crashes at the given point of its next Ready (or after the
   * step if it has none).
   */
  processReadies(crashPlan?: Map<NodeId, CrashPoint>): void {
    for (const n of this.nodes.values()) {
      if (!n.up || this.paused(n)) continue;
      const point = crashPlan?.get(n.id);
      if (n.dirty || point !== undefined) this.handleReadies(n, point);
    }
  }

  private handleReadies(n: SimNode, crashAt?: CrashPoint): void {
    const core = this.core(n);
    let guard = 0;
    while (this.guard(n, "hasReady()", () => core.hasReady())) {
      if (++guard > 64) this.check.fail("ready loop", `${n.who} still has a Ready after 64 Readies in one step`);
      const rd = this.guard(n, "ready()", () => core.ready());
      this.stats.readies++;
      if (crashAt === "beforePersist") return this.crash(n.id, "crashes before persisting a Ready");
      const lastBefore = n.disk.lastIndex();
      this.persist(n, rd);
      if (crashAt === "afterPersist") return this.crash(n.id, "crashes after persisting, before sending");
      for (const m of rd.messages) {
        this.check.checkSend(n.who, n.id, n.disk, m, lastBefore);
        this.opts.link.send(m, this.now);
      }
      if (crashAt === "afterSend") return this.crash(n.id, "crashes after sending, before applying");
      const confEntries = this.apply(n, rd);
      this.guard(n, "advance()", () => core.advance(rd));
      this.afterAdvance(n, rd, confEntries);
      if (!n.up) return;
    }
    if (crashAt !== undefined) this.crash(n.id);
  }

  private persist(n: SimNode, rd: Ready): void {
    const d = n.disk;
    if (rd.snapshot !== null) {
      const idx = rd.snapshot.metadata.index;
      if (idx < d.snapshotIndex()) {
        this.check.fail("snapshot", `${n.who} Ready carries snapshot ${idx}, older than its stored snapshot ${d.snapshotIndex()}`);
      }
      if (idx < n.sm.index) {
        this.check.fail("snapshot", `${n.who} Ready carries snapshot ${idx} but its state machine already applied ${n.sm.index}`);
      }
      d.installSnapshot(rd.snapshot);
    }
    if (rd.hardState !== null) this.check.checkHardState(n.who, d, rd.hardState, rd.mustSync, rd.entries.length > 0);
    if (rd.entries.length > 0) {
      const nodeTerm = rd.hardState?.term ?? d.hardState.term;
      this.check.checkEntries(n.who, d, rd.entries, nodeTerm, rd.mustSync);
      if (rd.entries.some((e) => e.type === "confChange" && e.term === nodeTerm)) this.checkConfProposal(n, rd.entries, nodeTerm);
      const first = rd.entries[0]!.index;
      d.append(rd.entries);
      this.check.recordEntries(n.who, d, first);
    }
    // A synced write makes everything written before it durable too (one log, as in LevelDB).
    const sync = rd.mustSync || rd.entries.length > 0 || rd.snapshot !== null;
    if (rd.hardState !== null) d.writeHardState(rd.hardState, sync);
    if (sync) d.synced = d.hardState;
    this.check.checkPersisted(n.who, d);
    if (rd.entries.length > 0 || rd.snapshot !== null) {
      const hs = d.hardState;
      const ents = rd.entries;
      this.trace.lazy(this.now, () => `${n.who} persists ${rd.snapshot ? `snapshot ${rd.snapshot.metadata.index} ` : ""}${
        ents.length > 0 ? `entries [${ents[0]!.index}..${ents[ents.length - 1]!.index}] ` : ""
      }hs=(term ${hs.term}, vote ${hs.vote}, commit ${hs.commit})`);
    }
  }

  /**
   * A leader appending a conf change: the previous one must be applied, and so
   * must an entry of the leader's own term (a new leader may not stack a change
   * on one it inherited and has not seen committed).
   */
  private checkConfProposal(n: SimNode, entries: Entry[], term: number): void {
    if (this.status(n.id).role !== "leader") return;
    const d = n.disk;
    const applied = n.sm.index;
    for (const e of entries) {
      if (e.type !== "confChange" || e.term !== term) continue;
      for (let i = Math.max(applied + 1, d.firstIndex()); i < e.index; i++) {
        const other = d.entry(i);
        if (other?.type === "confChange") {
          this.check.fail(
            "one conf change pending",
            `${n.who}, leader of term ${term}, appends a conf change at ${e.index} while the one at ${i} (term ${other.term}) is not applied (applied ${applied})`,
          );
        }
      }
      if (d.term(applied) !== term) {
        this.check.fail(
          "one conf change pending",
          `${n.who}, leader of term ${term}, appends a conf change at ${e.index} before applying any entry of its term (applied ${applied}, term ${d.term(applied)})`,
        );
      }
    }
  }

  /** Applies a Ready's snapshot and committed entries; returns how many conf changes it applied. */
  private apply(n: SimNode, rd: Ready): number {
    if (rd.snapshot !== null) {
      const snap = rd.snapshot;
      try {
        n.sm.restore(snap);
      } catch (e) {
        this.check.fail("snapshot", `${n.who} cannot restore snapshot ${snap.metadata.index}: ${(e as Error).message}`);
      }
      this.check.onSnapshot(n.who, snap, n.sm.digest, "installs");
      n.lastSnapIndex = snap.metadata.index;
      this.stats.snapshotsInstalled++;
      this.trace.event(this.now, `${n.who} installs snapshot (${snap.metadata.index},${snap.metadata.term}) ${confKey(snap.metadata.conf)}`);
    }
    let confEntries = 0;
    for (const e of rd.committedEntries) {
      if (e.index !== n.sm.index + 1) {
        this.check.fail("apply order", `${n.who} is handed committed entry ${e.index} after applying ${n.sm.index}`);
      }
      const stored = n.disk.entry(e.index);
      if (stored === undefined && e.index > n.disk.snapshotIndex()) {
        this.check.fail("persist before apply", `${n.who} is handed committed entry ${e.index} that is not on its disk`);
      }
      if (stored !== undefined && stored.term !== e.term) {
        this.check.fail("persist before apply", `${n.who} applies (${e.index}, term ${e.term}) but its disk has term ${stored.term} there`);
      }
      const payload = n.sm.apply(e);
      this.check.onApply(n.who, e, n.sm.digest, n.disk.hardState.term, payload);
      this.onApplied?.(n, e, payload);
      if (e.type === "confChange") confEntries++;
    }
    for (const rs of rd.readStates) {
      this.check.onReadState(n.who, rs);
      n.waitingReads.push({ index: rs.index, context: rs.context });
    }
    return confEntries;
  }

  private afterAdvance(n: SimNode, rd: Ready, confEntries: number): void {
    // Serve the reads whose index the state machine reached.
    if (n.waitingReads.length > 0) {
      const still: { index: number; context: string }[] = [];
      for (const r of n.waitingReads) {
        if (r.index <= n.sm.index) {
          this.stats.readsServed++;
          this.trace.event(this.now, `${n.who} serves read ${r.context} at index ${r.index} (applied ${n.sm.index})`);
          this.onReadServed?.(n, r.context, r.index);
        } else still.push(r);
      }
      n.waitingReads = still;
    }
    if (rd.committedEntries.length === 0 && rd.snapshot === null) return;
    const st = this.status(n.id);
    if (st.applied !== n.sm.index) {
      this.check.fail("apply bookkeeping", `${n.who} status().applied is ${st.applied} after advance, but the state machine applied ${n.sm.index}`);
    }
    const key = confKey(st.conf);
    this.check.checkConf(n.who, n.sm.index, key);
    if (key !== n.confKey) {
      if (confEntries <= 1 && rd.snapshot === null) {
        const before = new Set(n.conf.voters);
        const after = new Set(st.conf.voters);
        let diff = 0;
        for (const v of before) if (!after.has(v)) diff++;
        for (const v of after) if (!before.has(v)) diff++;
        if (diff > 1) {
          this.check.fail(
            "one change at a time",
            `${n.who} goes from {${n.confKey}} to {${key}} by applying ${confEntries} conf change(s)`,
          );
        }
      }
      this.trace.event(this.now, `${n.who} configuration at ${n.sm.index}: ${key}`);
      n.conf = { voters: st.conf.voters.slice(), learners: st.conf.learners.slice() };
      n.confKey = key;
      this.onConf?.(n, n.sm.index, n.conf);
    }
    this.maybeSnapshot(n, st);
  }

  private maybeSnapshot(n: SimNode, st: RaftStatus): void {
    const every = this.opts.snapshotEvery;
    if (every <= 0 || n.sm.index - n.lastSnapIndex < every) return;
    const snap: Snapshot = {
      metadata: { index: n.sm.index, term: n.sm.term, conf: { voters: st.conf.voters.slice(), learners: st.conf.learners.slice() } },
      data: n.sm.image(),
    };
    const rng = this.rngs.get(n.id) as Prng;
    const compactTo = Math.max(n.disk.snapshotIndex(), n.sm.index - rng.int(this.opts.snapshotTail + 1));
    this.check.onSnapshot(n.who, snap, n.sm.digest, "takes");
    n.disk.compact(snap, compactTo);
    const core = this.core(n);
    this.guard(n, () => `compact(${snap.metadata.index}, ${compactTo})`, () => core.compact(snap, compactTo));
    n.lastSnapIndex = n.sm.index;
    this.stats.snapshotsTaken++;
    this.trace.event(this.now, `${n.who} takes snapshot at ${n.sm.index}, compacts to ${compactTo}`);
  }

  /** Invariants over the status of every member that did something this step. */
  afterStep(fullCheckEvery = 500): void {
    for (const n of this.nodes.values()) {
      if (!n.up || !n.dirty) continue;
      const core = this.core(n);
      if (this.guard(n, "hasReady()", () => core.hasReady())) continue; // paused mid-step; checked later
      n.dirty = false;
      const st = this.status(n.id);
      this.check.onStatus(n.who, st, n.disk);
      if (st.role !== n.role || st.leader !== n.leader || st.term !== n.term) {
        if (st.role === "leader" && n.role !== "leader") this.stats.leaderChanges++;
        this.trace.event(this.now, `${n.who} ${st.role} term=${st.term} leader=${st.leader ?? "-"} commit=${st.commit} last=${st.lastIndex}`);
        n.role = st.role;
        n.leader = st.leader;
        n.term = st.term;
        if (st.term > this.stats.maxTerm) this.stats.maxTerm = st.term;
      }
    }
    if (this.now - this.lastFullCheck >= fullCheckEvery) this.fullCheck();
  }

  /** The whole-log comparison over every disk, crashed members' included. */
  fullCheck(): void {
    this.lastFullCheck = this.now;
    const disks = [...this.nodes.values()].filter((n) => n.state !== "absent").map((n) => ({ who: n.who, disk: n.disk }));
    this.check.checkLogs(disks);
  }

  /** The member that is leader in the highest term among running members, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes.values()) {
      if (n.up && n.role === "leader" && (best === null || n.term > best.term)) best = n;
    }
    return best;
  }
}
