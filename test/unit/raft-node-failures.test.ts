// RaftNode failing loudly and answering promptly: a forwarded proposal the
// leader refuses is answered at once, a state machine that throws halts the
// member, and a voter whose data was wiped is refused with a clear message.
// Real drivers over the memory twins of storage and transport.

import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  ApplyError,
  LogLostError,
  NotLeaderError,
  OutcomeUnknownError,
  ProposalRefusedError,
  RaftNode,
  type SnapshotMetadata,
  type StateMachine,
} from "../../raft/index.js";
import { MemoryLogStorage } from "../../raft/storage/memory.js";
import { MemoryNetwork } from "../../raft/transport/memory.js";

const silent = pino({ level: "silent" });
const IDS = ["n1", "n2", "n3"];
const enc = (s: string) => Buffer.from(s, "utf8");

class ListMachine implements StateMachine {
  values: string[] = [];
  apply(command: Uint8Array): unknown {
    const v = Buffer.from(command).toString("utf8");
    if (v === "boom") {
      this.values.push("half-written");
      throw new Error("boom: a bug in apply");
    }
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

let nodes: RaftNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
});

async function startNode(net: MemoryNetwork, id: string, storage: MemoryLogStorage, bootstrap: boolean, sm = new ListMachine()): Promise<RaftNode> {
  const node = await RaftNode.start({
    id,
    bootstrap: bootstrap ? IDS.map((m) => ({ id: m })) : null,
    storage,
    transport: net.transport(id, IDS.filter((p) => p !== id)),
    stateMachine: sm,
    logger: silent,
    tickMs: 5,
    electionTicks: 20,
    heartbeatTicks: 2,
    snapshotEvery: 10_000,
    requestTimeoutMs: 5000,
  });
  nodes.push(node);
  return node;
}

async function cluster(net: MemoryNetwork): Promise<Map<string, { node: RaftNode; sm: ListMachine }>> {
  const out = new Map<string, { node: RaftNode; sm: ListMachine }>();
  for (const id of IDS) {
    const sm = new ListMachine();
    out.set(id, { node: await startNode(net, id, new MemoryLogStorage(), true, sm), sm });
  }
  return out;
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

async function readyLeader(members: Map<string, { node: RaftNode }>): Promise<string> {
  return waitFor("a ready leader", () => [...members].find(([, m]) => m.node.isLeader() && m.node.leaderReadyTerm() !== null)?.[0]);
}

describe("RaftNode answers a refused forwarded proposal at once", () => {
  it("an invalid membership change proposed on a follower is refused by the leader and answered without waiting", async () => {
    const members = await cluster(new MemoryNetwork());
    const leaderId = await readyLeader(members);
    const follower = [...members].find(([id]) => id !== leaderId)![1].node;
    const started = Date.now();
    await expect(follower.proposeConfChange({ type: "removeNode", node: "n9" }, 5000)).rejects.toBeInstanceOf(ProposalRefusedError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("a write forwarded while leadership is moving is answered NotLeader at once", async () => {
    const net = new MemoryNetwork();
    const members = await cluster(net);
    const leaderId = await readyLeader(members);
    const [target, other] = IDS.filter((id) => id !== leaderId) as [string, string];
    // The transferee cannot be caught up (cut off), so the transfer stays pending for an election timeout.
    await members.get(leaderId)!.node.propose(enc("before"));
    net.isolate(target);
    await members.get(leaderId)!.node.propose(enc("unseen by the target"));
    members.get(leaderId)!.node.transferLeadership(target);
    await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    const err = await members.get(other)!.node.propose(enc("during transfer"), 5000).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as Error).message).toMatch(/moving to/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("RaftNode halts when applying throws", () => {
  it("a committed entry whose apply throws halts every member instead of letting them go on diverged", async () => {
    const members = await cluster(new MemoryNetwork());
    const leaderId = await readyLeader(members);
    const fatal = new Map<string, Error>();
    for (const [id, m] of members) m.node.onFatal = (err) => fatal.set(id, err);
    await members.get(leaderId)!.node.propose(enc("fine"));
    const outcome = await members.get(leaderId)!.node.propose(enc("boom")).then(
      () => null,
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(OutcomeUnknownError);
    await waitFor("all members halted", () => fatal.size === 3);
    for (const err of fatal.values()) {
      expect(err).toBeInstanceOf(ApplyError);
      expect(err.message).toMatch(/boom: a bug in apply/);
    }
    // Halted: nothing further is accepted.
    await expect(members.get(leaderId)!.node.propose(enc("after"))).rejects.toBeInstanceOf(ApplyError);
  });
});

describe("RaftNode refuses a voter whose data was wiped", () => {
  it("a member restarted with an empty log under its old identity halts with a clear message; the others go on", async () => {
    const net = new MemoryNetwork();
    const members = await cluster(net);
    const leaderId = await readyLeader(members);
    const leader = members.get(leaderId)!.node;
    for (let i = 0; i < 10; i++) await leader.propose(enc(`v${i}`));
    const victim = IDS.find((id) => id !== leaderId)!;
    await waitFor("victim caught up", () => members.get(victim)!.node.applied >= leader.applied);
    await members.get(victim)!.node.stop();
    nodes = nodes.filter((n) => n !== members.get(victim)!.node);
    // Its data directory is gone: it comes back with nothing, as a joiner would.
    const wiped = await startNode(net, victim, new MemoryLogStorage(), false);
    let fatal: Error | null = null;
    wiped.onFatal = (err) => (fatal = err);
    const err = await waitFor("the wiped member halts", () => fatal);
    expect(err).toBeInstanceOf(LogLostError);
    expect(err.message).toMatch(/data directory was wiped or lost/);
    expect(err.message).toMatch(/remove it from the cluster and add it again|learner/);
    // The other two still commit.
    await expect(leader.propose(enc("still-writable"))).resolves.toBe("still-writable");
  });
});

describe("RaftNode sends before its disk write only when term and vote are already durable", () => {
  it("a lone voter that wins beside a learner persists its new term before its first append leaves", async () => {
    const net = new MemoryNetwork();
    const violations: string[] = [];
    /** Storage that knows the term it has durably saved. */
    class WatchedStorage extends MemoryLogStorage {
      durableTerm = 0;
      override async save(...args: Parameters<MemoryLogStorage["save"]>): Promise<void> {
        await super.save(...args);
        if (args[0].hardState) this.durableTerm = args[0].hardState.term;
      }
    }
    const start = async (storage: WatchedStorage, id: string, bootstrap: boolean): Promise<RaftNode> => {
      const transport = net.transport(id, ["n1", "n2"].filter((p) => p !== id));
      const send = transport.send.bind(transport);
      transport.send = (messages) => {
        for (const m of messages) {
          if (m.type === "app" && m.entries.length > 0 && m.term > storage.durableTerm) {
            violations.push(`${id} sent entries of term ${m.term} with term ${storage.durableTerm} on disk`);
          }
        }
        send(messages);
      };
      const node = await RaftNode.start({
        id,
        bootstrap: bootstrap ? [{ id }] : null,
        storage,
        transport,
        stateMachine: new ListMachine(),
        logger: silent,
        tickMs: 5,
        electionTicks: 10,
        heartbeatTicks: 2,
        snapshotEvery: 10_000,
        requestTimeoutMs: 3000,
      });
      nodes.push(node);
      return node;
    };
    const s1 = new WatchedStorage();
    let n1 = await start(s1, "n1", true);
    await waitFor("n1 leads", () => n1.isLeader() && n1.leaderReadyTerm() !== null);
    const n2 = await start(new WatchedStorage(), "n2", false);
    await n1.proposeConfChange({ type: "addLearner", node: "n2" });
    await n1.propose(enc("a"));
    await waitFor("the learner caught up", () => n2.applied >= n1.applied);
    const term = n1.status().term;
    // n1 restarts from its disk and, alone among the voters, wins the next term at once.
    await n1.stop();
    nodes = nodes.filter((n) => n !== n1);
    const s1again = Object.assign(s1.crashCopy(), { durableTerm: term }) as unknown as WatchedStorage;
    Object.setPrototypeOf(s1again, WatchedStorage.prototype);
    n1 = await start(s1again, "n1", false);
    await waitFor("n1 leads again", () => n1.isLeader() && n1.status().term > term);
    await n1.propose(enc("b"));
    await waitFor("the learner has b", () => n2.applied >= n1.applied);
    expect(violations).toEqual([]);
  });
});
