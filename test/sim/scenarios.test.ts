// Scripted scenarios, one per classic Raft trap (RAFT-NOTES.md). Each drives
// the real core through the step-by-step harness: messages wait in a mailbox
// until the test delivers or drops them, and every safety invariant of the
// seeded simulator is checked after every action, so a wrong move fails even
// where the test asserts nothing.

import { describe, expect, it } from "vitest";
import type { Message, MsgApp, MsgVoteResp } from "../../raft/core/types.js";
import { Harness } from "./harness.js";
import { proposeAgain } from "./run.js";

const app = (to: string) => (m: Message): m is MsgApp => m.type === "app" && m.to === to;

describe("Raft traps, scripted", () => {
  it("figure 8: a leader does not commit an old-term entry by counting replicas", () => {
    // One entry per AppendEntries, so the leader can ship index 2 without index 3.
    const h = new Harness({ nodes: 5, raft: { maxEntriesPerMsg: 1 } });
    h.elect("n1");
    h.stabilize();
    const t1 = h.status("n1").term;

    // (a) n1 appends "a" at index 2 and gets it to n2 only, then crashes.
    h.propose("n1", "a");
    h.deliver(app("n2"));
    h.drop();
    h.crash("n1");
    expect(h.termAt("n2", 2)).toBe(t1);

    // (b) n5 wins the next term with n3 and n4 and appends its own index 2, which reaches nobody.
    h.elect("n5", ["n3", "n4", "n5"], true);
    const t2 = h.status("n5").term;
    expect(h.termAt("n5", 2)).toBe(t2);
    h.crash("n5");

    // (c) n1 comes back and wins a later term with n2 and n3; it ships index 2 (of term t1) to n3.
    h.restart("n1");
    h.elect("n1", ["n1", "n2", "n3"], true);
    const t3 = h.status("n1").term;
    expect(t3).toBeGreaterThan(t2);
    // Traffic n1<->n2 flows; n3 gets only AppendEntries that it must reject
    // (n1's probe beyond its log) or that carry nothing past index 2.
    const toN3 = (m: Message): boolean =>
      m.type !== "app" || m.prevIndex > h.node("n3").disk.lastIndex() || m.entries.every((e) => e.index <= 2);
    const shipped = (m: Message): boolean =>
      ((m.from === "n1" || m.to === "n1") && (m.from === "n2" || m.to === "n2")) ||
      (m.from === "n3" && m.to === "n1") ||
      (m.from === "n1" && m.to === "n3" && toN3(m));
    for (let i = 0; i < 10 && (h.status("n1").progress?.n3?.match ?? 0) < 2; i++) {
      h.tick("n1");
      while (h.deliver(shipped) > 0);
      h.drop();
    }
    // n1, n2 and n3 now all store (2, t1), a majority of five, and n1 knows it...
    expect(h.termAt("n3", 2)).toBe(t1);
    expect(h.status("n1").progress?.n3?.match).toBeGreaterThanOrEqual(2);
    // ...but the entry is of an older term: counting replicas must not commit it.
    expect(h.status("n1").commit).toBeLessThan(2);
    h.drop();

    // (d) n1 crashes again; n5 wins with n3 and n4 (its last entry has the higher term)
    // and replaces index 2 everywhere. Had n1 committed "a", this would lose it.
    h.crash("n1");
    h.restart("n5");
    h.elect("n5", ["n2", "n3", "n4", "n5"]);
    h.stabilize(["n2", "n3", "n4", "n5"]);
    for (const id of ["n2", "n3", "n4", "n5"]) expect(h.termAt(id, 2)).toBe(t2);
    expect(h.status("n5").commit).toBeGreaterThanOrEqual(2);
    expect(h.cluster.check.payloadIndex.has("a")).toBe(false);
  });

  it("figure 8 (e): an old-term entry commits through an entry of the leader's own term", () => {
    const h = new Harness({ nodes: 3 });
    h.elect("n1");
    h.stabilize();
    h.propose("n1", "old");
    h.deliver(app("n2")); // only n2 gets it; n2's ack is lost
    h.drop();
    h.crash("n1");
    h.elect("n2", ["n2", "n3"]);
    h.stabilize(["n2", "n3"]);
    h.tick("n2"); // the heartbeat tells n3 the new commit index
    h.stabilize(["n2", "n3"]);
    // n2's no-op of its own term committed, and "old" with it.
    expect(h.cluster.check.payloadIndex.get("old")).toBe(2);
    expect(h.applied.get("n3")).toContain("old");
  });

  it("a leader cut off from the majority steps down within an election timeout (CheckQuorum) and its writes never commit", () => {
    const h = new Harness({ nodes: 5, raft: { checkQuorum: true, preVote: true } });
    const { electionTicks } = h.tuning;
    h.elect("n1");
    h.stabilize();
    const term = h.status("n1").term;

    h.isolate("n1");
    expect(h.propose("n1", "stale")).toBeNull(); // accepted: n1 still believes it leads
    let ticks = 0;
    while (h.status("n1").role === "leader") {
      h.tick("n1");
      h.stabilize();
      ticks++;
      // The quorum check runs every election timeout; the first one may still see old acks.
      expect(ticks).toBeLessThanOrEqual(2 * electionTicks);
    }

    // The majority elects a new leader in a later term.
    const majority = ["n2", "n3", "n4", "n5"];
    for (let i = 0; i < 10 * electionTicks && h.leader() === "n1"; i++) {
      h.tickAll(1, majority);
      h.stabilize(majority);
    }
    for (let i = 0; i < 10 * electionTicks && !majority.some((id) => h.status(id).role === "leader"); i++) {
      h.tickAll(1, majority);
      h.stabilize(majority);
    }
    const newLeader = majority.find((id) => h.status(id).role === "leader");
    expect(newLeader).toBeDefined();
    expect(h.status(newLeader!).term).toBeGreaterThan(term);
    h.propose(newLeader!, "fresh");
    h.stabilize(majority);

    // n1 rejoins: its entry is replaced, never applied anywhere.
    h.heal();
    for (let i = 0; i < 3; i++) {
      h.tickAll(1);
      h.stabilize();
    }
    expect(h.status("n1").role).toBe("follower");
    expect(h.applied.get("n1")).toContain("fresh");
    expect(h.cluster.check.payloadIndex.has("stale")).toBe(false);
  });

  it("a vote is on disk before the grant leaves: after a crash the voter does not vote again in that term", () => {
    const h = new Harness({ nodes: 3 });
    h.campaign("n3"); // term 1
    // n1 handles n3's request, persists its vote, and crashes before its answer leaves.
    h.deliverThenCrash({ from: "n3", to: "n1", type: "vote" }, "n1", "afterPersist");
    expect(h.node("n1").disk.hardState).toMatchObject({ term: 1, vote: "n3" });
    expect(h.pending({ from: "n1" })).toEqual([]);

    h.restart("n1");
    h.campaign("n2"); // also term 1
    expect(h.status("n2").term).toBe(1);
    h.deliver({ from: "n2", to: "n1", type: "vote" });
    const answers = h.pending({ from: "n1", to: "n2", type: "voteResp" }) as MsgVoteResp[];
    expect(answers).toHaveLength(1);
    expect(answers[0]!.reject).toBe(true);
  });

  it("a vote lost in a crash before it was persisted never left either, so voting again is safe", () => {
    const h = new Harness({ nodes: 3 });
    h.campaign("n3");
    h.deliverThenCrash({ from: "n3", to: "n1", type: "vote" }, "n1", "beforePersist");
    expect(h.node("n1").disk.hardState.vote).toBeNull();
    expect(h.pending({ from: "n1" })).toEqual([]);
    h.restart("n1");
    h.campaign("n2");
    h.deliver({ from: "n2", to: "n1", type: "vote" });
    const answers = h.pending({ from: "n1", to: "n2", type: "voteResp" }) as MsgVoteResp[];
    expect(answers.map((a) => a.reject)).toEqual([false]);
  });

  it("a delayed, shorter AppendEntries does not truncate a longer log", () => {
    const h = new Harness({ nodes: 3, raft: { maxEntriesPerMsg: 1 } });
    h.elect("n1");
    h.stabilize();
    // Three proposals in a row: three AppendEntries to n2, each with one entry.
    h.propose("n1", "a");
    h.propose("n1", "b");
    h.propose("n1", "c");
    const toN2 = h.pending(app("n2")) as MsgApp[];
    expect(toN2.map((m) => m.entries.map((e) => e.index))).toEqual([[2], [3], [4]]);
    const stale: MsgApp = { ...toN2[0]! }; // a copy the network delays
    // n2 gets all three (but no acknowledgement reaches n1, so n2 learns no new commit index).
    h.deliver(app("n2"));
    const entries = h.node("n2").disk.entries.map((e) => `${e.index}/${e.term}`);
    expect(h.node("n2").disk.lastIndex()).toBe(4);
    expect(h.status("n2").commit).toBeLessThan(stale.prevIndex + 1);

    // The stale copy (prev 1, entry 2) matches n2's log: nothing conflicts, nothing is cut.
    h.mailbox.push(stale);
    h.deliverOne(stale);
    expect(h.node("n2").disk.lastIndex()).toBe(4);
    expect(h.node("n2").disk.entries.map((e) => `${e.index}/${e.term}`)).toEqual(entries);
    h.stabilize();
    expect(h.status("n1").progress?.n2?.match).toBe(4); // the stale ack did not move the leader back
  });

  it("a pending membership change survives a leader change, and the new leader proposes none before its own entry applies", () => {
    const h = new Harness({ nodes: 4, voters: ["n1", "n2", "n3"], raft: { preVote: true, checkQuorum: true } });
    h.elect("n1");
    h.stabilize();
    expect(h.proposeConfChange("n1", { type: "removeNode", node: "n3" })).toBeNull();
    expect(h.proposeConfChange("n1", { type: "addLearner", node: "n4" })).toEqual({ code: "confChangePending" });
    h.deliver(app("n2")); // the change reaches n2 only; n2's ack is lost
    h.drop();
    h.crash("n1");
    const removal = h.status("n2").lastIndex;

    // n2 (which has the change) wins with n3's vote; its no-op reaches nobody yet.
    h.tick("n3", h.tuning.electionTicks); // n3 stops hearing from n1: its leader lease runs out
    h.drop();
    h.elect("n2", ["n2", "n3"], true);
    expect(h.status("n2").role).toBe("leader");
    // Its first-term entry is not applied: no new change may be proposed on top of an unknown one.
    expect(h.proposeConfChange("n2", { type: "addLearner", node: "n4" })).toEqual({ code: "confChangePending" });

    // Once its no-op commits, the inherited removal commits with it and takes effect.
    h.tick("n2");
    h.stabilize(["n2", "n3"]);
    expect(h.status("n2").commit).toBeGreaterThan(removal);
    expect(h.status("n2").conf.voters).toEqual(["n1", "n2"]);
    // Now a new change is accepted.
    expect(h.proposeConfChange("n2", { type: "addLearner", node: "n4" })).toBeNull();

    // n1 returns and applies the removal too. n3 is out: the leader no longer
    // replicates to it, so n3 may never learn that (the driver stops a removed
    // member); its campaigns, in its stale configuration, are ignored under
    // the leader's lease.
    h.restart("n1");
    for (let i = 0; i < 3 * h.tuning.electionTicks; i++) {
      h.tickAll(1);
      h.stabilize();
    }
    expect(h.status("n1").conf.voters).toEqual(["n1", "n2"]);
    expect(h.leader()).toBe("n2");
    expect(h.status("n2").role).toBe("leader");
    expect(h.status("n3").role).not.toBe("leader");
  });

  it("a leader that removes itself tells the others the removal committed, and they elect a new leader", () => {
    const h = new Harness({ nodes: 3, voters: ["n1", "n2", "n3"], raft: { preVote: true, checkQuorum: true } });
    h.elect("n1");
    h.stabilize();
    expect(h.proposeConfChange("n1", { type: "removeNode", node: "n3" })).toBeNull();
    h.stabilize();
    h.crash("n3");
    expect(h.proposeConfChange("n1", { type: "removeNode", node: "n1" })).toBeNull();
    h.stabilize(["n1", "n2"]);
    // n1 applied its own removal and stepped down; n2 must have learned that
    // the removal committed (from the append that carried the new commit),
    // or it would wait forever for n1's vote in the old configuration.
    expect(h.status("n2").conf.voters).toEqual(["n2"]);
    h.crash("n1"); // the driver stops a removed member
    for (let i = 0; i < 5 * h.tuning.electionTicks; i++) {
      h.tick("n2");
      h.stabilize(["n2"]);
    }
    expect(h.status("n2").role).toBe("leader");
  });

  it("a leader that removes itself with its append window full stays until the others know the removal committed (seed 9100733)", () => {
    // One append in flight per follower: the commit of the removal can only
    // travel in a later append or a heartbeat.
    const h = new Harness({ nodes: 3, raft: { checkQuorum: true, maxInflightMsgs: 1 } });
    h.elect("n1");
    h.stabilize();
    expect(h.proposeConfChange("n1", { type: "removeNode", node: "n3" })).toBeNull();
    h.stabilize();
    h.crash("n3");
    expect(h.status("n1").conf.voters).toEqual(["n1", "n2"]);

    expect(h.proposeConfChange("n1", { type: "removeNode", node: "n1" })).toBeNull();
    const removal = h.status("n1").lastIndex;
    h.deliver({ type: "app", to: "n2" }); // n2 stores the removal; its ack waits in the mailbox
    expect(h.propose("n1", "x")).toBeNull(); // window full: x is not sent yet
    h.tick("n1"); // heartbeat
    h.deliver({ type: "heartbeat", to: "n2" });
    // The heartbeat response frees the window slot: x leaves, still carrying the old commit.
    h.deliver({ type: "heartbeatResp", to: "n1" });
    // Now the removal's ack arrives: n1 commits and applies its own removal, but
    // the window is full again (x in flight), so no append carries the new commit.
    h.deliver((m) => m.type === "appResp" && m.to === "n1" && m.index >= removal && !m.reject);
    expect(h.status("n1").commit).toBeGreaterThanOrEqual(removal);
    expect(h.status("n2").commit).toBeLessThan(removal);
    // Stepping down here and stopping (as the driver stops a removed member)
    // would leave n2 alone in the configuration {n1, n2}, waiting forever for
    // n1's vote. The removed leader keeps heartbeating until n2 confirms.
    expect(h.status("n1").role).toBe("leader");
    expect(h.propose("n1", "refused")).toEqual({ code: "noLeader" });
    for (let i = 0; i < 3 && h.status("n1").role === "leader"; i++) {
      h.tick("n1");
      h.stabilize(["n1", "n2"]);
    }
    expect(h.status("n1").role).toBe("follower");
    expect(h.status("n2").commit).toBeGreaterThanOrEqual(removal);
    expect(h.status("n2").conf.voters).toEqual(["n2"]);
    h.crash("n1"); // the driver stops a removed member
    for (let i = 0; i < 5 * h.tuning.electionTicks && h.status("n2").role !== "leader"; i++) {
      h.tick("n2");
      h.stabilize(["n2"]);
    }
    expect(h.status("n2").role).toBe("leader");
  });

  it("a member that stepped down within the step forwards an impatient operator's repeated change; that is no violation (seed 7340208)", () => {
    const h = new Harness({ nodes: 3 });
    h.elect("n1");
    h.stabilize();
    // n2 leads term 2 with n3; n1 does not know yet.
    h.isolate("n1");
    h.elect("n2", ["n2", "n3"]);
    h.stabilize(["n2", "n3"]);
    h.heal();
    h.tick("n2"); // a heartbeat of the new term for n1
    const hb = h.pending({ type: "heartbeat", from: "n2", to: "n1" })[0]!;
    h.mailbox.splice(h.mailbox.indexOf(hb), 1);
    // As in one simulator step: the message reaches n1's core, and before n1's
    // Ready is handled (which refreshes the role the harness sees) the operator
    // proposes through the member it believes leads.
    h.cluster.deliver(hb);
    expect(h.node("n1").role).toBe("leader");
    expect(h.status("n1").role).toBe("follower");
    const cc = { type: "removeNode" as const, node: "n3" };
    expect(h.cluster.proposeConfChange("n1", cc)).toBeNull(); // forwarded to n2
    expect(proposeAgain(h.cluster, "n1", cc)).toBeNull(); // forwarded again: legal
    h.stabilize();
    // The real leader accepted exactly one of them.
    expect(h.status("n2").conf.voters).toEqual(["n1", "n2"]);
    expect(h.pending().length).toBe(0);
    // A leader itself must still refuse the second.
    expect(h.proposeConfChange("n2", { type: "addLearner", node: "n3" })).toBeNull();
    expect(proposeAgain(h.cluster, "n2", { type: "addLearner", node: "n3" })).toEqual({ code: "confChangePending" });
  });

  it("a voter whose configuration is stale still reaches the member it sees as a learner, so their terms meet (seed 1592143586)", () => {
    // n1 and n3 vote, n2 learns; then n2 is promoted and n3 removed, while n1
    // never hears that either committed: n1 still sees {n1, n3} voting and n2
    // learning; n2 sees {n1, n2}. n3 is gone, and n1's term runs ahead.
    // Snapshots after every entry: the joiner n2 learns the configuration from one.
    const h = new Harness({ nodes: 3, voters: ["n1", "n3"], raft: { preVote: false, checkQuorum: true }, snapshotEvery: 1, snapshotTail: 0 });
    h.elect("n3");
    h.stabilize();
    h.propose("n3", "x");
    h.stabilize();
    h.tick("n3");
    h.stabilize();
    h.node("n2").joiner = true;
    h.restart("n2");
    expect(h.proposeConfChange("n3", { type: "addLearner", node: "n2" })).toBeNull();
    h.stabilize();
    h.tick("n3");
    h.stabilize();
    expect(h.proposeConfChange("n3", { type: "addNode", node: "n2" })).toBeNull();
    h.deliver({ type: "app", to: "n1" }); // n1 stores the promotion...
    h.deliver({ type: "appResp", to: "n3" }); // ...and n3 commits it with n1's ack
    h.isolate("n1"); // n1 never learns that it committed
    h.stabilize();
    expect(h.status("n3").conf.voters).toEqual(["n1", "n2", "n3"]);
    expect(h.proposeConfChange("n3", { type: "removeNode", node: "n3" })).toBeNull();
    for (let i = 0; i < 5 && h.status("n3").role === "leader"; i++) {
      h.tick("n3");
      h.stabilize();
    }
    h.crash("n3");
    expect(h.status("n2").conf.voters).toEqual(["n1", "n2"]);
    expect(h.status("n1").conf.voters).toEqual(["n1", "n3"]);
    // Cut off, n1 campaigns again and again: its term runs ahead of n2's.
    for (let i = 0; i < 6 * h.tuning.electionTicks; i++) h.tick("n1");
    h.drop();
    expect(h.status("n1").term).toBeGreaterThan(h.status("n2").term + 2);
    h.heal();
    // n2 (up to date) must get n1's vote; n1 must hear of n2 first.
    for (let i = 0; i < 20 * h.tuning.electionTicks && h.leader() === null; i++) {
      h.tickAll(1, ["n1", "n2"]);
      h.stabilize(["n1", "n2"]);
    }
    expect(h.leader()).toBe("n2");
    expect(h.status("n1").conf.voters).toEqual(["n1", "n2"]);
  });

  it("a deposed leader that does not know it yet does not answer a ReadIndex", () => {
    const h = new Harness({ nodes: 3 }); // no CheckQuorum: n1 would lead on forever
    h.elect("n1");
    h.propose("n1", "x");
    h.stabilize();

    h.isolate("n1");
    h.elect("n2", ["n2", "n3"]);
    h.propose("n2", "w");
    h.stabilize(["n2", "n3"]);
    const writeIndex = h.cluster.check.payloadIndex.get("w")!;
    expect(writeIndex).toBeGreaterThan(0);

    expect(h.status("n1").role).toBe("leader");
    h.readIndex("n1", "r1");
    h.tick("n1", 3);
    h.stabilize();
    expect(h.reads.get("n1")!.has("r1")).toBe(false);

    // Back in touch, n1 learns of the newer term: the read stays unanswered, or sees "w".
    h.heal();
    for (let i = 0; i < 3; i++) {
      h.tickAll(1);
      h.stabilize();
    }
    expect(h.status("n1").role).toBe("follower");
    const served = h.reads.get("n1")!.get("r1");
    if (served !== undefined) expect(served).toBeGreaterThanOrEqual(writeIndex);
  });

  it("a ReadIndex on the leader is answered once a majority confirms its leadership, at the commit index", () => {
    const h = new Harness({ nodes: 3 });
    h.elect("n1");
    h.propose("n1", "x");
    h.stabilize();
    const commit = h.status("n1").commit;
    h.readIndex("n1", "r1");
    expect(h.reads.get("n1")!.has("r1")).toBe(false); // not before the heartbeat round
    h.stabilize();
    expect(h.reads.get("n1")!.get("r1")).toBe(commit);
    // A follower's read goes through the leader.
    h.readIndex("n2", "r2");
    h.stabilize();
    expect(h.reads.get("n2")!.get("r2")).toBe(commit);
  });

  it("a new leader answers no ReadIndex before an entry of its own term commits", () => {
    const h = new Harness({ nodes: 3 });
    h.elect("n1");
    h.stabilize();
    // n1 commits "x" with n2's acknowledgement; the new commit index reaches nobody, then n1 crashes.
    h.propose("n1", "x");
    h.deliver(app("n2"));
    h.deliver({ from: "n2", to: "n1", type: "appResp" });
    const x = h.cluster.check.payloadIndex.get("x")!;
    expect(x).toBeGreaterThan(0);
    h.drop();
    h.crash("n1");
    expect(h.status("n2").commit).toBeLessThan(x);

    // n2 wins, but its commit index still lags behind "x": a read point taken now would be stale.
    h.elect("n2", ["n2", "n3"], true);
    h.readIndex("n2", "r");
    const beat = (m: Message): boolean => m.type === "heartbeat" || m.type === "heartbeatResp";
    while (h.deliver((m) => beat(m) && m.to !== "n1") > 0);
    expect(h.reads.get("n2")!.has("r")).toBe(false);

    // Once its no-op commits (and "x" with it), the read is answered at or after "x".
    h.stabilize(["n2", "n3"]);
    h.tick("n2");
    h.stabilize(["n2", "n3"]);
    expect(h.reads.get("n2")!.get("r")).toBeGreaterThanOrEqual(x);
  });

  it("PreVote: a partitioned node rejoining does not disrupt the leader (term unchanged)", () => {
    const h = new Harness({ nodes: 3, raft: { preVote: true, checkQuorum: true } });
    const { electionTicks } = h.tuning;
    h.elect("n1");
    h.stabilize();
    const term = h.status("n1").term;

    h.isolate("n3");
    for (let i = 0; i < 5 * electionTicks; i++) {
      h.tickAll(1);
      h.stabilize();
    }
    expect(h.status("n3").term).toBe(term); // it pre-voted, and lost, without bumping its term

    h.heal();
    for (let i = 0; i < 3 * electionTicks; i++) {
      h.tickAll(1);
      h.stabilize();
    }
    expect(h.leader()).toBe("n1");
    expect(h.status("n1").term).toBe(term);
    expect(h.status("n3").leader).toBe("n1");
  });

  it("without PreVote the same rejoin disrupts the leader (why PreVote is on)", () => {
    const h = new Harness({ nodes: 3, raft: { preVote: false, checkQuorum: false } });
    const { electionTicks } = h.tuning;
    h.elect("n1");
    h.stabilize();
    const term = h.status("n1").term;
    h.isolate("n3");
    for (let i = 0; i < 5 * electionTicks; i++) {
      h.tickAll(1);
      h.stabilize();
    }
    expect(h.status("n3").term).toBeGreaterThan(term);
    h.heal();
    for (let i = 0; i < 3 * electionTicks; i++) {
      h.tickAll(1);
      h.stabilize();
    }
    expect(h.status("n1").term).toBeGreaterThan(term);
  });

  it("leadership moves to a caught-up follower on request, and proposals wait meanwhile", () => {
    const h = new Harness({ nodes: 3 });
    h.elect("n1");
    h.propose("n1", "a");
    h.stabilize();
    const term = h.status("n1").term;
    h.transferLeadership("n1", "n2");
    expect(h.propose("n1", "during")).toEqual({ code: "transferring", to: "n2" });
    h.stabilize();
    expect(h.leader()).toBe("n2");
    expect(h.status("n2").term).toBe(term + 1);
    expect(h.status("n1").role).toBe("follower");
    expect(h.status("n1").leader).toBe("n2");
  });

  it("leadership transfer to a lagging follower first catches it up", () => {
    const h = new Harness({ nodes: 3 });
    h.elect("n1");
    h.stabilize();
    h.isolate("n3");
    for (let i = 0; i < 5; i++) h.propose("n1", `p${i}`);
    h.stabilize();
    h.heal();
    const last = h.status("n1").lastIndex;
    expect(h.node("n3").disk.lastIndex()).toBeLessThan(last);
    h.transferLeadership("n1", "n3");
    h.stabilize();
    expect(h.leader()).toBe("n3");
    expect(h.status("n3").term).toBeGreaterThan(h.status("n2").term - 1);
    expect(h.applied.get("n3")).toEqual(["p0", "p1", "p2", "p3", "p4"]);
  });

  it("a lagging follower catches up by snapshot once the leader compacted its log", () => {
    const h = new Harness({ nodes: 3, snapshotEvery: 5, snapshotTail: 0 });
    h.elect("n1");
    h.stabilize();
    h.crash("n3");
    for (let i = 0; i < 30; i++) {
      h.propose("n1", `p${i}`);
      h.stabilize();
    }
    expect(h.status("n1").firstIndex).toBeGreaterThan(h.node("n3").disk.lastIndex() + 1);

    h.restart("n3");
    const installedBefore = h.cluster.stats.snapshotsInstalled;
    for (let i = 0; i < 3; i++) {
      h.tick("n1");
      h.stabilize();
    }
    expect(h.cluster.stats.snapshotsInstalled).toBe(installedBefore + 1);
    expect(h.node("n3").sm.index).toBe(h.node("n1").sm.index);
    expect(h.node("n3").sm.digest).toBe(h.node("n1").sm.digest);
    expect(h.node("n3").sm.count).toBe(30);
  });
});
