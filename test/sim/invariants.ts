// Safety invariants of Raft, checked incrementally while the simulator runs:
// every hook below is called at the moment the fact it checks becomes true
// (a Ready persisted, a message leaving, an entry applied, a status after a
// step), so a violation is reported at the step that caused it. Global maps
// outlive crashes, so what one incarnation of a member did is held against
// every later one.

import type { ConfState, Entry, HardState, Message, NodeId, RaftStatus, ReadState, Snapshot } from "../../raft/core/types.js";
import { entryHash, type SimDisk } from "./disk.js";

export class SimViolation extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`[seed ${seed} step ${step}] ${invariant}: ${detail}`);
    this.name = "SimViolation";
  }
}

export interface CheckContext {
  seed: number;
  now(): number;
}

interface CommittedEntry {
  term: number;
  hash: number;
  /** Upper bound of the term in which the entry became committed (the observer's term). */
  commitTerm: number;
  by: string;
}

interface AppliedEntry {
  term: number;
  hash: number;
  digest: number;
  by: string;
}

interface IncarnationState {
  term: number;
  commit: number;
  lastCommitRecorded: number;
}

interface LeaderWatch {
  term: number;
  checkedUpTo: number;
}

interface ReadRequest {
  node: string;
  minIndex: number;
  at: number;
}

export function confKey(c: ConfState): string {
  return `voters=${c.voters.slice().sort().join(",")} learners=${c.learners.slice().sort().join(",")}`;
}

function describe(e: { index: number; term: number; hash: number }): string {
  return `(index ${e.index}, term ${e.term}, data#${e.hash.toString(16)})`;
}

/** Messages whose term is legitimately not (yet) the sender's persisted term. */
function termExempt(m: Message): boolean {
  return m.type === "preVote" || m.type === "preVoteResp" || m.type === "prop" || m.type === "propRefused";
}

export class Invariants {
  /** (a) term -> the member incarnation that was leader in it, over the whole run. */
  readonly leaderOfTerm = new Map<number, string>();
  /** (b) "index/term" -> content hash and previous entry's term: (index, term) must name one log prefix. */
  private readonly identity = new Map<string, { hash: number; prevTerm: number; by: string }>();
  /** (b, c, e) index -> the committed entry. */
  readonly committed = new Map<number, CommittedEntry>();
  /** Highest index ever known committed anywhere. */
  maxCommitted = 0;
  /** (d) index -> what was applied there and the state digest after it. */
  readonly applied = new Map<number, AppliedEntry>();
  /** (f) client payload -> the index it was applied at. */
  readonly payloadIndex = new Map<string, number>();
  /** index -> the configuration in force once `index` is applied. */
  readonly confAt = new Map<number, string>();
  /** "member#inc/term" -> candidate it granted its vote to. */
  private readonly votes = new Map<string, string>();
  private readonly reads = new Map<string, ReadRequest>();
  private readonly incarnations = new Map<string, IncarnationState>();
  private readonly leaders = new Map<string, LeaderWatch>();
  readsAnswered = 0;

  constructor(private readonly ctx: CheckContext) {}

  fail(invariant: string, detail: string): never {
    throw new SimViolation(this.ctx.seed, this.ctx.now(), invariant, detail);
  }

  // -------------------------------------------------------------------------
  // Persisting a Ready.

  /** Called before a Ready's hard state is written. */
  checkHardState(who: string, disk: SimDisk, hs: HardState, mustSync: boolean, hasEntries: boolean): void {
    const old = disk.hardState;
    if (hs.term < old.term) {
      this.fail("(g) term monotonic", `${who} persists term ${hs.term} after term ${old.term}`);
    }
    if (hs.term === old.term && old.vote !== null && hs.vote !== old.vote) {
      this.fail(
        "election safety (one vote per term)",
        `${who} changes its persisted vote in term ${hs.term} from ${old.vote} to ${hs.vote}`,
      );
    }
    if (hs.commit < old.commit) {
      this.fail("(g) commit monotonic", `${who} persists commit ${hs.commit} after commit ${old.commit}`);
    }
    if (!mustSync && (hs.term !== old.term || hs.vote !== old.vote || hasEntries)) {
      this.fail(
        "persist before send (mustSync)",
        `${who} Ready changes term/vote/entries (term ${old.term}->${hs.term}, vote ${old.vote}->${hs.vote}, entries ${hasEntries}) but mustSync is false`,
      );
    }
  }

  /** Called before a Ready's entries are appended to `disk`. */
  checkEntries(who: string, disk: SimDisk, entries: Entry[], nodeTerm: number, mustSync: boolean): void {
    if (!mustSync) {
      this.fail("persist before send (mustSync)", `${who} Ready has ${entries.length} entries but mustSync is false`);
    }
    const first = (entries[0] as Entry).index;
    const last = (entries[entries.length - 1] as Entry).index;
    const lastBefore = disk.lastIndex();
    const snapIdx = disk.snapshotIndex();
    if (first <= snapIdx) {
      this.fail("log structure", `${who} Ready entries start at ${first}, at or below its snapshot index ${snapIdx}`);
    }
    if (first > lastBefore + 1) {
      this.fail("log structure", `${who} Ready entries start at ${first} but the persisted log ends at ${lastBefore} (gap)`);
    }
    let prevTerm = disk.term(first - 1);
    if (prevTerm === undefined) this.fail("log structure", `${who} has no term for index ${first - 1} before appending`);
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as Entry;
      if (e.index !== first + k) {
        this.fail("log structure", `${who} Ready entries not contiguous: position ${k} has index ${e.index}, expected ${first + k}`);
      }
      if (e.term < prevTerm) {
        this.fail("log structure", `${who} entry ${e.index} has term ${e.term} after term ${prevTerm} (terms must not decrease)`);
      }
      if (e.term > nodeTerm) {
        this.fail("log structure", `${who} appends entry ${e.index} of term ${e.term} while at term ${nodeTerm}`);
      }
      prevTerm = e.term;
    }
    // Find the first real conflict between what is stored and what is written.
    let conflict = -1;
    const overlapEnd = Math.min(lastBefore, last);
    for (let i = first; i <= overlapEnd; i++) {
      const stored = disk.entry(i) as Entry;
      const incoming = entries[i - first] as Entry;
      if (stored.term !== incoming.term) {
        conflict = i;
        break;
      }
      if (entryHash(stored) !== entryHash(incoming)) {
        this.fail(
          "(b) log matching",
          `${who} rewrites entry (index ${i}, term ${stored.term}) with different data`,
        );
      }
    }
    if (conflict === -1 && last < lastBefore) {
      this.fail(
        "no truncation without conflict",
        `${who} writes entries [${first}..${last}] that all match its log, which would cut the log from ${lastBefore} back to ${last}`,
      );
    }
    // A member's log up to its own commit index is final: no conflict may cut
    // it. (Beyond its commit index a lagging member may hold stale entries at
    // indexes that others committed differently; those are fair to replace.)
    const cutFrom = conflict === -1 ? last + 1 : conflict;
    const known = Math.max(disk.hardState.commit, this.incarnations.get(who)?.commit ?? 0);
    if (cutFrom <= lastBefore && cutFrom <= known) {
      const stored = disk.entry(cutFrom) as Entry;
      const incoming = cutFrom <= last ? (entries[cutFrom - first] as Entry) : undefined;
      this.fail(
        "(e) committed entry overwritten",
        `${who} (commit ${known}) replaces its entry ${describe({ ...stored, hash: entryHash(stored) })} with ${
          incoming ? describe({ ...incoming, hash: entryHash(incoming) }) : "nothing (truncation)"
        }`,
      );
    }
  }

  /** Called after entries [from..] were appended: (index, term) must identify one entry and one prefix. */
  recordEntries(who: string, disk: SimDisk, from: number): void {
    const last = disk.lastIndex();
    let prevTerm = disk.term(from - 1) ?? -1;
    for (let i = from; i <= last; i++) {
      const e = disk.entry(i) as Entry;
      const key = `${i}/${e.term}`;
      const hash = entryHash(e);
      const seen = this.identity.get(key);
      if (seen === undefined) {
        this.identity.set(key, { hash, prevTerm, by: who });
      } else if (seen.hash !== hash) {
        this.fail(
          "(b) log matching",
          `entry (index ${i}, term ${e.term}) has data#${hash.toString(16)} on ${who} but data#${seen.hash.toString(16)} on ${seen.by}: two leaders of term ${e.term}, or a leader rewrote its log`,
        );
      } else if (seen.prevTerm !== prevTerm && seen.prevTerm !== -1 && prevTerm !== -1) {
        this.fail(
          "(b) log matching",
          `entry (index ${i}, term ${e.term}) follows term ${prevTerm} on ${who} but term ${seen.prevTerm} on ${seen.by}: equal entries with different prefixes`,
        );
      }
      prevTerm = e.term;
    }
  }

  /** After a Ready is written. */
  checkPersisted(who: string, disk: SimDisk): void {
    if (disk.hardState.commit > disk.lastIndex()) {
      this.fail(
        "(g) commit <= lastIndex",
        `${who} persisted commit ${disk.hardState.commit} beyond its persisted log (last index ${disk.lastIndex()})`,
      );
    }
  }

  // -------------------------------------------------------------------------
  // Messages leaving a member (after its Ready was persisted).

  /** `lastBefore`: the persisted last index before this Ready was written. */
  checkSend(who: string, id: NodeId, disk: SimDisk, m: Message, lastBefore: number): void {
    if (m.from !== id) this.fail("message addressing", `${who} emits a message from ${m.from}`);
    if (m.to === id) this.fail("message addressing", `${who} emits a ${m.type} message to itself`);
    const hs = disk.hardState;
    if (!termExempt(m) && m.term > hs.term) {
      this.fail(
        "persist before send",
        `${who} sends ${m.type} at term ${m.term} to ${m.to} but its persisted term is ${hs.term}`,
      );
    }
    if (m.type === "voteResp" && !m.reject) {
      // Safe if the vote is durable, or the member durably moved past that term.
      if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
        this.fail(
          "persist before send (vote)",
          `${who} grants its vote to ${m.to} in term ${m.term} but its disk says term ${hs.term} vote ${hs.vote}`,
        );
      }
      const key = `${who}/${m.term}`;
      const prior = this.votes.get(key);
      if (prior !== undefined && prior !== m.to) {
        this.fail("election safety (one vote per term)", `${who} votes for ${prior} and for ${m.to} in term ${m.term}`);
      }
      this.votes.set(key, m.to);
    }
    if (m.type === "appResp" && !m.reject) {
      // An acknowledgement of the current term is backed by the disk as it is
      // now. One of an older term may predate, in this same Ready, a truncation
      // by the leader of a newer term; what it acknowledged must at least have
      // been durable before this Ready (an ack of entries that never reached
      // the disk breaks the driver contract, seed 1087).
      const backed = m.term === hs.term ? disk.lastIndex() : Math.max(disk.lastIndex(), lastBefore);
      if (m.index > backed) {
        this.fail(
          "persist before send (append)",
          `${who} acknowledges index ${m.index} at term ${m.term} to ${m.to} but has persisted only up to ${backed}`,
        );
      }
    }
  }

  // -------------------------------------------------------------------------
  // Applying.

  private recordCommitted(i: number, e: Entry, observedTerm: number, who: string): void {
    const hash = entryHash(e);
    const c = this.committed.get(i);
    if (c === undefined) {
      this.committed.set(i, { term: e.term, hash, commitTerm: observedTerm, by: who });
    } else {
      if (c.term !== e.term || c.hash !== hash) {
        this.fail(
          "(e) committed entries agree",
          `${who} has ${describe({ index: i, term: e.term, hash })} committed, but ${c.by} had ${describe({ index: i, ...c })} committed`,
        );
      }
      if (observedTerm < c.commitTerm) {
        c.commitTerm = observedTerm;
        // Leaders of terms above the new bound must be re-checked for this index.
        for (const w of this.leaders.values()) w.checkedUpTo = Math.min(w.checkedUpTo, i - 1);
      }
    }
    if (i > this.maxCommitted) this.maxCommitted = i;
  }

  /** An entry handed out in committedEntries was applied; `digest` is the state after it. */
  onApply(who: string, e: Entry, digest: number, nodeTerm: number, payload: string | null): void {
    const hash = entryHash(e);
    const a = this.applied.get(e.index);
    if (a === undefined) {
      this.applied.set(e.index, { term: e.term, hash, digest, by: who });
    } else if (a.term !== e.term || (a.hash !== hash && a.hash !== -1)) {
      this.fail(
        "(d) state machine safety",
        `${who} applies ${describe({ index: e.index, term: e.term, hash })} but ${a.by} applied ${describe({ index: e.index, ...a })}`,
      );
    } else if (a.digest !== digest) {
      // (a.hash === -1: only a snapshot at this index was seen so far; its digest still binds.)
      this.fail(
        "(d) state machine safety",
        `${who} reaches state digest ${digest.toString(16)} at index ${e.index} but ${a.by} had ${a.digest.toString(16)} (a snapshot image or the apply order differs)`,
      );
    }
    if (a !== undefined && a.hash === -1) a.hash = hash;
    this.recordCommitted(e.index, e, nodeTerm, who);
    if (payload !== null) {
      const at = this.payloadIndex.get(payload);
      if (at === undefined) this.payloadIndex.set(payload, e.index);
      else if (at !== e.index) {
        this.fail("(f) exactly once", `payload "${payload}" applied at index ${at} and again at index ${e.index} (seen on ${who})`);
      }
    }
  }

  /** A snapshot taken, installed or restored: its image must be the state every member had at its index. */
  onSnapshot(who: string, snap: Snapshot, digest: number, how: string): void {
    const { index, term, conf } = snap.metadata;
    if (index === 0) return;
    const a = this.applied.get(index);
    if (a !== undefined && (a.term !== term || a.digest !== digest)) {
      this.fail(
        "(d) state machine safety",
        `${who} ${how} snapshot (index ${index}, term ${term}, digest ${digest.toString(16)}) but ${a.by} applied index ${index} at term ${a.term} with digest ${a.digest.toString(16)}`,
      );
    }
    const c = this.committed.get(index);
    if (c !== undefined && c.term !== term) {
      this.fail("(e) committed entries agree", `${who} ${how} snapshot at (${index}, ${term}) but the committed entry there has term ${c.term}`);
    }
    if (a === undefined) this.applied.set(index, { term, hash: -1, digest, by: `${who} (snapshot)` });
    if (index > this.maxCommitted) this.maxCommitted = index;
    this.checkConf(who, index, confKey(conf), `${how} snapshot`);
  }

  checkConf(who: string, index: number, key: string, how = "applied"): void {
    const seen = this.confAt.get(index);
    if (seen === undefined) this.confAt.set(index, key);
    else if (seen !== key) {
      this.fail("configuration agreement", `${who} has configuration {${key}} at index ${index} (${how}) but another member had {${seen}}`);
    }
  }

  // -------------------------------------------------------------------------
  // After every step, for each member that did something.

  onStatus(who: string, st: RaftStatus, disk: SimDisk): void {
    let inc = this.incarnations.get(who);
    if (inc === undefined) {
      inc = { term: st.term, commit: st.commit, lastCommitRecorded: Math.max(disk.snapshotIndex(), 0) };
      this.incarnations.set(who, inc);
    }
    if (st.term < inc.term) this.fail("(g) term monotonic", `${who} term went from ${inc.term} to ${st.term}`);
    if (st.commit < inc.commit) this.fail("(g) commit monotonic", `${who} commit went from ${inc.commit} to ${st.commit}`);
    if (st.commit > st.lastIndex) this.fail("(g) commit <= lastIndex", `${who} commit ${st.commit} > lastIndex ${st.lastIndex}`);
    if (st.applied > st.commit) this.fail("applied <= commit", `${who} applied ${st.applied} > commit ${st.commit}`);
    inc.term = st.term;
    inc.commit = st.commit;
    // With no Ready pending, everything the core believes must be on disk.
    const hs = disk.hardState;
    if (st.term !== hs.term || st.vote !== hs.vote) {
      this.fail(
        "persist before send",
        `${who} runs at term ${st.term} vote ${st.vote} with no Ready pending, but its disk has term ${hs.term} vote ${hs.vote}`,
      );
    }
    if (st.lastIndex !== disk.lastIndex()) {
      this.fail(
        "persist before send",
        `${who} has last index ${st.lastIndex} with no Ready pending, but its persisted log ends at ${disk.lastIndex()}`,
      );
    }
    // Everything up to commit is committed: record it (and compare with what others committed).
    for (let i = Math.max(inc.lastCommitRecorded, disk.snapshotIndex()) + 1; i <= st.commit; i++) {
      const e = disk.entry(i);
      if (e !== undefined) this.recordCommitted(i, e, st.term, who);
    }
    if (st.commit > inc.lastCommitRecorded) inc.lastCommitRecorded = st.commit;
    if (st.commit > this.maxCommitted) this.maxCommitted = st.commit;

    if (st.role === "leader") this.checkLeader(who, st, disk);
  }

  private checkLeader(who: string, st: RaftStatus, disk: SimDisk): void {
    const other = this.leaderOfTerm.get(st.term);
    if (other === undefined) this.leaderOfTerm.set(st.term, who);
    else if (other !== who) {
      this.fail("(a) election safety", `${who} and ${other} are both leader of term ${st.term}`);
    }
    // (c) leader completeness: every entry committed in an earlier term is in this leader's log.
    let w = this.leaders.get(who);
    if (w === undefined || w.term !== st.term) {
      w = { term: st.term, checkedUpTo: 0 };
      this.leaders.set(who, w);
    }
    const snapIdx = disk.snapshotIndex();
    for (let i = Math.max(w.checkedUpTo, snapIdx) + 1; i <= this.maxCommitted; i++) {
      const c = this.committed.get(i);
      if (c === undefined || c.commitTerm >= st.term) continue;
      const e = disk.entry(i);
      if (e === undefined) {
        this.fail(
          "(c) leader completeness",
          `${who}, leader of term ${st.term}, lacks committed entry ${describe({ index: i, ...c })} (committed by term ${c.commitTerm}; its log ends at ${disk.lastIndex()})`,
        );
      }
      if (e.term !== c.term || entryHash(e) !== c.hash) {
        this.fail(
          "(c) leader completeness",
          `${who}, leader of term ${st.term}, has ${describe({ index: i, term: e.term, hash: entryHash(e) })} where ${describe({ index: i, ...c })} was committed`,
        );
      }
    }
    w.checkedUpTo = Math.max(w.checkedUpTo, this.maxCommitted);
  }

  /** A member left (crash or removal): its next start is a new incarnation. */
  forget(who: string): void {
    this.incarnations.delete(who);
    this.leaders.delete(who);
  }

  // -------------------------------------------------------------------------
  // (h) linearizable reads.

  onReadRequest(who: string, context: string): void {
    this.reads.set(context, { node: who, minIndex: this.maxCommitted, at: this.ctx.now() });
  }

  onReadState(who: string, rs: ReadState): void {
    const r = this.reads.get(rs.context);
    if (r === undefined) {
      this.fail("(h) read safety", `${who} gets a ReadState for context "${rs.context}" that nobody asked for`);
    }
    if (rs.index < r.minIndex) {
      this.fail(
        "(h) read safety",
        `${who} answers read "${rs.context}" (asked by ${r.node} at t=${r.at}) with index ${rs.index}, but index ${r.minIndex} was already committed when it was asked: a stale read`,
      );
    }
    if (r.node === who) this.readsAnswered++;
  }

  // -------------------------------------------------------------------------
  // (b) the whole-log check, run periodically over every disk (crashed members' included).

  checkLogs(disks: { who: string; disk: SimDisk }[]): void {
    for (let x = 0; x < disks.length; x++) {
      for (let y = x + 1; y < disks.length; y++) {
        const a = disks[x] as { who: string; disk: SimDisk };
        const b = disks[y] as { who: string; disk: SimDisk };
        const lo = Math.max(a.disk.firstIndex(), b.disk.firstIndex());
        const hi = Math.min(a.disk.lastIndex(), b.disk.lastIndex());
        let match = -1;
        for (let i = hi; i >= lo; i--) {
          if ((a.disk.entry(i) as Entry).term === (b.disk.entry(i) as Entry).term) {
            match = i;
            break;
          }
        }
        for (let i = lo; i <= match; i++) {
          const ea = a.disk.entry(i) as Entry;
          const eb = b.disk.entry(i) as Entry;
          if (ea.term !== eb.term || entryHash(ea) !== entryHash(eb)) {
            this.fail(
              "(b) log matching",
              `${a.who} and ${b.who} agree on (index ${match}, term ${(a.disk.entry(match) as Entry).term}) but differ at index ${i}: ${describe({ ...ea, hash: entryHash(ea) })} vs ${describe({ ...eb, hash: entryHash(eb) })}`,
            );
          }
        }
      }
    }
  }
}
