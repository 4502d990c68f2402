// Fencing and the leader-ready barrier of RaftNode, on a 3-member cluster of
// real drivers over the memory twins of storage and transport.

import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { FencedError, OutcomeUnknownError, RaftNode, type SnapshotMetadata, type StateMachine } from "../../raft/index.js";
import { MemoryLogStorage } from "../../raft/storage/memory.js";
import { MemoryNetwork } from "../../raft/transport/memory.js";

const silent = pino({ level: "silent" });
const IDS = ["n1", "n2", "n3"];

class ListMachine implements StateMachine {
  values: string[] = [];
  apply(command: Uint8Array): unknown {
    const v = Buffer.from(command).toString("utf8");
    this.values.push(v);
    return v;
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.values));
  }
  restore(data: Uint8Array, _m: SnapshotMetadata): void {
    this.values = data.length === 0 ? [] : (JSON.parse(Buffer.from(data).toString("utf8")) as string[]);
  }
}

interface Member {
  node: RaftNode;
  sm: ListMachine;
}

let nodes: RaftNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
});

async function startCluster(
  net: MemoryNetwork,
  onReady?: (id: string, node: RaftNode, sm: ListMachine) => void,
): Promise<Map<string, Member>> {
  const members = new Map<string, Member>();
  for (const id of IDS) {
    const sm = new ListMachine();
    const node = await RaftNode.start({
      id,
      bootstrap: IDS.map((m) => ({ id: m })),
      storage: new MemoryLogStorage(),
      transport: net.transport(id, IDS.filter((p) => p !== id)),
      stateMachine: sm,
      logger: silent,
      tickMs: 5,
      electionTicks: 20,
      heartbeatTicks: 2,
      snapshotEvery: 10_000,
      requestTimeoutMs: 3000,
    });
    nodes.push(node);
    members.set(id, { node, sm });
    onReady?.(id, node, sm);
  }
  return members;
}

async function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function readyLeader(members: Map<string, Member>, except?: string): [string, Member, number] | null {
  for (const [id, m] of members) {
    if (id === except) continue;
    const t = m.node.leaderReadyTerm();
    if (m.node.isLeader() && t !== null) return [id, m, t];
  }
  return null;
}

const enc = (s: string) => Buffer.from(s, "utf8");

describe("RaftNode leader-ready barrier", () => {
  it("fires once per term only after the leader applied an entry of its own term", async () => {
    const net = new MemoryNetwork();
    const fired: { id: string; term: number; appliedTerm: boolean; leader: boolean; applied: number; commit: number }[] = [];
    const members = await startCluster(net, (id, node) => {
      node.onLeaderReady((term) => {
        const st = node.status();
        fired.push({ id, term, appliedTerm: node.leaderReadyTerm() === term, leader: node.isLeader(), applied: node.applied, commit: st.commit });
      });
    });
    const [leaderId, leader, term] = await waitFor("a ready leader", () => readyLeader(members));
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ id: leaderId, term, appliedTerm: true, leader: true });
    // Everything committed when it fired was applied (3 bootstrap entries + the no-op at least).
    expect(fired[0]!.applied).toBeGreaterThanOrEqual(4);
    expect(fired[0]!.applied).toBe(fired[0]!.commit);
    // Writes acknowledged under this leader are all applied on the next leader when it becomes ready.
    for (let i = 0; i < 20; i++) await leader.node.propose(enc(`v${i}`));
    const seenAtReady: string[][] = [];
    for (const [id, m] of members) if (id !== leaderId) m.node.onLeaderReady(() => seenAtReady.push([...m.sm.values]));

    net.isolate(leaderId);
    // The isolated leader steps down (checkQuorum) and stops being ready.
    await waitFor("old leader steps down", () => !leader.node.isLeader());
    expect(leader.node.leaderReadyTerm()).toBeNull();
    const [newId, , newTerm] = await waitFor("a new ready leader", () => readyLeader(members, leaderId));
    expect(newId).not.toBe(leaderId);
    expect(newTerm).toBeGreaterThan(term);
    expect(seenAtReady).toHaveLength(1);
    expect(seenAtReady[0]).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    expect(fired.filter((f) => f.term === newTerm)).toHaveLength(1);
    expect(fired.every((f) => f.appliedTerm && f.leader && f.applied === f.commit)).toBe(true);
  });

  it("a follower is never ready", async () => {
    const members = await startCluster(new MemoryNetwork());
    const [leaderId] = await waitFor("a ready leader", () => readyLeader(members));
    for (const [id, m] of members) if (id !== leaderId) expect(m.node.leaderReadyTerm()).toBeNull();
  });
});

describe("RaftNode fencing", () => {
  it("the leader of the fence term lands the write; other terms and followers are refused", async () => {
    const members = await startCluster(new MemoryNetwork());
    const [leaderId, leader, term] = await waitFor("a ready leader", () => readyLeader(members));
    await expect(leader.node.propose(enc("ok"), undefined, { fenceTerm: term })).resolves.toBe("ok");
    await expect(leader.node.propose(enc("stale"), undefined, { fenceTerm: term - 1 })).rejects.toBeInstanceOf(FencedError);
    await expect(leader.node.propose(enc("future"), undefined, { fenceTerm: term + 1 })).rejects.toBeInstanceOf(FencedError);
    await expect(leader.node.propose(enc("bad"), 1000, { fenceTerm: 0 })).rejects.toBeInstanceOf(FencedError);
    const follower = [...members].find(([id]) => id !== leaderId)![1];
    // A follower would forward an unfenced write; a fenced one is refused here.
    await expect(follower.node.propose(enc("via-follower"), undefined, { fenceTerm: term })).rejects.toThrow(/^fenced: /);
    // The positional timeout still works without options.
    await expect(follower.node.propose(enc("plain"), 2000)).resolves.toBe("plain");
    await waitFor("all applied", () => [...members.values()].every((m) => m.sm.values.includes("plain")));
    for (const m of members.values()) expect(m.sm.values).toEqual(["ok", "plain"]);
  });

  it("a deposed leader whose controller wakes up and writes as leader of its old term is refused, and nothing lands", async () => {
    const net = new MemoryNetwork();
    const members = await startCluster(net);
    const [oldId, old, oldTerm] = await waitFor("a ready leader", () => readyLeader(members));
    // The old leader's controller captured its term at leader-ready; the
    // member is then cut off (as if paused) and the others elect a new leader.
    net.isolate(oldId);
    // A write made while it still believes it leads enters only its own log
    // (in term oldTerm) and must never be applied anywhere.
    const early = old.node.propose(enc("early-stale"), 4000, { fenceTerm: oldTerm }).then(
      () => "applied",
      (e: unknown) => e,
    );
    const [, newLeader, newTerm] = await waitFor("a new ready leader", () => readyLeader(members, oldId));
    expect(newTerm).toBeGreaterThan(oldTerm);
    await newLeader.node.propose(enc("new-leader-write"), undefined, { fenceTerm: newTerm });
    // The old member wakes up and hears of the new term.
    net.rejoin(oldId);
    await waitFor("old leader follows", () => old.node.status().term >= newTerm && !old.node.isLeader());
    const late = await old.node.propose(enc("late-stale"), undefined, { fenceTerm: oldTerm }).then(
      () => "applied",
      (e: unknown) => e,
    );
    expect(late).toBeInstanceOf(FencedError);
    expect((late as FencedError).fenceTerm).toBe(oldTerm);
    const earlyOutcome = await early;
    expect(earlyOutcome === "applied").toBe(false);
    expect(earlyOutcome instanceof FencedError || earlyOutcome instanceof OutcomeUnknownError).toBe(true);
    await newLeader.node.propose(enc("after"));
    await waitFor("all applied", () => [...members.values()].every((m) => m.sm.values.includes("after")));
    for (const m of members.values()) expect(m.sm.values).toEqual(["new-leader-write", "after"]);
  });
});

describe("RaftNode fencing on a removed leader", () => {
  it("a leader that removed itself and leads on until the others confirm refuses fenced writes at once", async () => {
    const net = new MemoryNetwork();
    const members = await startCluster(net);
    const [leaderId, leader, term] = await waitFor("a ready leader", () => readyLeader(members));
    await leader.node.proposeConfChange({ type: "removeNode", node: leaderId });
    // Applied here; cut it off before the others can confirm, so it keeps leading (leaving).
    net.isolate(leaderId);
    expect(leader.node.isLeader()).toBe(true);
    const err = await leader.node.propose(enc("after-removal"), 2000, { fenceTerm: term }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FencedError);
    expect((err as Error).message).toMatch(/removed/);
  });
});

describe("KvService fencing errors", () => {
  it("maps FencedError to 403 FailedPrecondition with a fenced: message", async () => {
    const { raftErrorToApi, GrpcCode, ApiError } = await import("../../src/store/kv-service.js");
    const api = raftErrorToApi(new FencedError(7, "fenced: proposed as leader of term 7, but this member is follower in term 8"));
    expect(api).toBeInstanceOf(ApiError);
    expect(api.httpStatus).toBe(403);
    expect(api.grpcCode).toBe(GrpcCode.FailedPrecondition);
    expect(api.message).toMatch(/^fenced: /);
  });
});
