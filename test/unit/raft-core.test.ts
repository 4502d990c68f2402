// Unit tests of the pure Raft core through a tiny synchronous harness: every
// node persists its Ready into an in-memory "disk", messages go to a queue
// that the test delivers (or drops) explicitly.

import { describe, expect, it } from "vitest";
import { RaftCore } from "../../raft/core/raft.js";
import type { Entry, HardState, Message, NodeId, RaftConfig, ReadState, Snapshot } from "../../raft/core/types.js";

function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
}

interface Disk { hardState: HardState; entries: Entry[]; snapshot: Snapshot | null }

class Harness {
  nodes = new Map<NodeId, RaftCore>();
  disks = new Map<NodeId, Disk>();
  applied = new Map<NodeId, Entry[]>();
  reads = new Map<NodeId, ReadState[]>();
  queue: Message[] = [];
  cut = new Set<string>();

  constructor(public ids: NodeId[], seed = 1) {
    for (const id of ids) {
      this.disks.set(id, { hardState: { term: 0, vote: null, commit: 0 }, entries: [], snapshot: null });
      this.start(id, seed);
    }
  }

  config(id: NodeId, seed: number): RaftConfig {
    return { id, electionTicks: 10, heartbeatTicks: 1, random: seeded(seed + id.charCodeAt(1)), preVote: true, checkQuorum: true,
      maxInflightMsgs: 64, maxInflightBytes: 0, maxMsgBytes: 1 << 20, maxEntriesPerMsg: 1000 };
  }

  start(id: NodeId, seed = 7): void {
    const d = this.disks.get(id)!;
    this.applied.set(id, []);
    this.reads.set(id, []);
    this.nodes.set(id, new RaftCore(this.config(id, seed), { hardState: d.hardState, snapshot: d.snapshot, entries: d.entries,
      conf: { voters: this.ids, learners: [] }, applied: d.snapshot?.metadata.index ?? 0 }));
  }

  /** Handles every pending Ready of every node (persist, queue messages, apply). */
  process(): void {
    for (let again = true; again; ) {
      again = false;
      for (const [id, n] of this.nodes) {
        if (!n.hasReady()) continue;
        again = true;
        const rd = n.ready();
        const d = this.disks.get(id)!;
        if (rd.hardState) d.hardState = rd.hardState;
        if (rd.entries.length) {
          const first = rd.entries[0]!.index;
          d.entries = d.entries.filter((e) => e.index < first).concat(rd.entries);
        }
        this.queue.push(...rd.messages);
        this.applied.get(id)!.push(...rd.committedEntries);
        this.reads.get(id)!.push(...rd.readStates);
        n.advance(rd);
      }
    }
  }

  deliverAll(max = 10_000): void {
    for (let i = 0; i < max; i++) {
      this.process();
      const m = this.queue.shift();
      if (!m) return;
      if (this.cut.has(`${m.from}>${m.to}`) || !this.nodes.has(m.to)) continue;
      this.nodes.get(m.to)!.step(m);
    }
    throw new Error("network did not settle");
  }

  tick(ids = [...this.nodes.keys()]): void {
    for (const id of ids) this.nodes.get(id)!.tick();
    this.deliverAll();
  }

  isolate(id: NodeId): void {
    for (const o of this.ids) if (o !== id) { this.cut.add(`${id}>${o}`); this.cut.add(`${o}>${id}`); }
  }

  heal(): void { this.cut.clear(); }

  leader(): NodeId | null {
    const leaders = [...this.nodes.values()].filter((n) => n.status().role === "leader");
    if (leaders.length === 0) return null;
    leaders.sort((a, b) => b.status().term - a.status().term);
    return leaders[0]!.id;
  }

  electLeader(maxTicks = 200): NodeId {
    for (let t = 0; t < maxTicks; t++) {
      this.tick();
      const l = this.leader();
      if (l && [...this.nodes.values()].every((n) => n.status().leader === l)) return l;
    }
    throw new Error("no leader elected");
  }

  appliedData(id: NodeId): string[] {
    return this.applied.get(id)!.filter((e) => e.data.length > 0 && e.type === "normal").map((e) => new TextDecoder().decode(e.data));
  }
}

const enc = (s: string) => new TextEncoder().encode(s);

describe("RaftCore", () => {
  it("a three-node cluster elects one leader and replicates a proposal to all", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const leader = h.electLeader();
    expect(h.nodes.get(leader)!.propose(enc("x=1"))).toBeNull();
    h.deliverAll();
    h.tick();
    for (const id of h.ids) expect(h.appliedData(id)).toEqual(["x=1"]);
  });

  it("a follower forwards proposals to the leader", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const leader = h.electLeader();
    const follower = h.ids.find((id) => id !== leader)!;
    expect(h.nodes.get(follower)!.propose(enc("via-follower"))).toBeNull();
    h.deliverAll();
    h.tick();
    for (const id of h.ids) expect(h.appliedData(id)).toEqual(["via-follower"]);
  });

  it("a leader cut off from the majority steps down within an election timeout (CheckQuorum)", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const old = h.electLeader();
    h.isolate(old);
    for (let t = 0; t < 25; t++) h.tick();
    expect(h.nodes.get(old)!.status().role).not.toBe("leader");
    const others = h.ids.filter((id) => id !== old);
    expect(others.some((id) => h.nodes.get(id)!.status().role === "leader")).toBe(true);
  });

  it("a rejoining partitioned node does not raise the term (PreVote)", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const leader = h.electLeader();
    const term = h.nodes.get(leader)!.status().term;
    const loner = h.ids.find((id) => id !== leader)!;
    h.isolate(loner);
    for (let t = 0; t < 100; t++) h.tick();
    h.heal();
    for (let t = 0; t < 30; t++) h.tick();
    expect(h.nodes.get(leader)!.status().role).toBe("leader");
    expect(h.nodes.get(leader)!.status().term).toBe(term);
  });

  it("ReadIndex is answered only after a quorum confirms leadership", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const leader = h.electLeader();
    h.nodes.get(leader)!.propose(enc("a"));
    h.deliverAll();
    h.isolate(leader);
    h.nodes.get(leader)!.readIndex("r1");
    for (let t = 0; t < 5; t++) h.tick([leader]);
    expect(h.reads.get(leader)).toEqual([]);
    h.heal();
    h.tick([leader]);
    expect(h.reads.get(leader)!.map((r) => r.context)).toEqual(["r1"]);
  });

  it("leadership moves to the requested follower", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const leader = h.electLeader();
    const target = h.ids.find((id) => id !== leader)!;
    h.nodes.get(leader)!.transferLeadership(target);
    h.deliverAll();
    expect(h.nodes.get(target)!.status().role).toBe("leader");
  });

  it("a restarted node keeps its term and vote from disk", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const leader = h.electLeader();
    const before = h.nodes.get(leader)!.status();
    h.start(leader);
    const after = h.nodes.get(leader)!.status();
    expect(after.term).toBe(before.term);
    expect(after.vote).toBe(before.vote);
    expect(after.role).toBe("follower");
  });

  it("a membership change adds a learner, promotes it, and removes a voter", () => {
    const h = new Harness(["n1", "n2", "n3"]);
    const leader = h.electLeader();
    h.disks.set("n4", { hardState: { term: 0, vote: null, commit: 0 }, entries: [], snapshot: null });
    h.applied.set("n4", []); h.reads.set("n4", []);
    h.nodes.set("n4", new RaftCore(h.config("n4", 3), { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [], conf: { voters: [], learners: [] }, applied: 0 }));
    expect(h.nodes.get(leader)!.proposeConfChange({ type: "addLearner", node: "n4" })).toBeNull();
    h.tick(); h.tick();
    expect(h.nodes.get(leader)!.status().conf.learners).toEqual(["n4"]);
    expect(h.nodes.get(leader)!.proposeConfChange({ type: "addNode", node: "n4" })).toBeNull();
    h.tick(); h.tick();
    expect(h.nodes.get(leader)!.status().conf.voters).toEqual(["n1", "n2", "n3", "n4"]);
    const victim = h.ids.find((id) => id !== leader)!;
    expect(h.nodes.get(leader)!.proposeConfChange({ type: "removeNode", node: victim })).toBeNull();
    h.tick(); h.tick();
    expect(h.nodes.get(leader)!.status().conf.voters).not.toContain(victim);
    h.nodes.get(leader)!.propose(enc("after"));
    h.tick(); h.tick();
    expect(h.appliedData("n4")).toContain("after");
  });
});
