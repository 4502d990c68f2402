// A 3-member cluster of real processes (real LevelDB, real WebSockets on
// loopback) elects a leader, replicates, survives kill -9 of its leader and
// keeps every acknowledged write.

import { afterEach, describe, expect, it } from "vitest";
import { RaftProcessCluster } from "../../bench/raft/cluster.js";

const members = [
  { id: "n1", host: "127.0.0.61", port: 17101 },
  { id: "n2", host: "127.0.0.62", port: 17101 },
  { id: "n3", host: "127.0.0.63", port: 17101 },
];

let cluster: RaftProcessCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

async function proposeThroughAnyone(c: RaftProcessCluster, value: string): Promise<"ok" | "unknown" | "failed"> {
  for (const id of c.ids()) {
    if (!c.running(id)) continue;
    const r = await c.request(id, { op: "propose", value });
    if (r.error === undefined) return "ok";
    if (r.kind === "OutcomeUnknownError" || r.kind === "Exited") return "unknown";
  }
  return "failed";
}

describe("raft cluster of real processes", () => {
  it("keeps every acknowledged write across kill -9 of the leader", async () => {
    cluster = new RaftProcessCluster({ members, tickMs: 10, heartbeatTicks: 5, electionTicks: 50, snapshotEvery: 150 });
    await cluster.startAll();
    const firstLeader = await cluster.waitForLeader();

    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const value = `w${w}-${i}`;
        const outcome = await proposeThroughAnyone(cluster!, value);
        if (outcome === "ok") acknowledged.push(value);
        if (outcome !== "ok") await new Promise((r) => setTimeout(r, 20));
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));

    await new Promise((r) => setTimeout(r, 1500));
    const beforeKill = acknowledged.length;
    await cluster.kill(firstLeader);
    const secondLeader = await cluster.waitForLeader();
    expect(secondLeader).not.toBe(firstLeader);
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.start(firstLeader);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(writers);

    expect(beforeKill).toBeGreaterThan(50);
    expect(acknowledged.length).toBeGreaterThan(beforeKill);
    for (const id of cluster.ids()) {
      let dump: Record<string, unknown> = {};
      for (let attempt = 0; attempt < 50; attempt++) {
        dump = await cluster.request(id, { op: "dump" });
        if (!dump.error) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(dump.error).toBeUndefined();
      const values = new Set(dump.values as string[]);
      const missing = acknowledged.filter((v) => !values.has(v));
      expect(missing, `member ${id} lost acknowledged writes`).toEqual([]);
    }
  });

  it("a paused old leader whose controller wakes up and writes as leader of its old term is refused; nothing lands", async () => {
    cluster = new RaftProcessCluster({ members, tickMs: 10, heartbeatTicks: 5, electionTicks: 50, snapshotEvery: 1000 });
    await cluster.startAll();
    const old = await cluster.waitForLeader();
    // The controller on the leader captured its term at leader-ready.
    let term = 0;
    await expect
      .poll(async () => {
        const st = await cluster!.request(old, { op: "status" });
        term = (st.readyTerm as number | null) ?? 0;
        return term;
      }, { timeout: 10_000 })
      .toBeGreaterThan(0);
    const ok = await cluster.request(old, { op: "proposeFenced", value: "fenced-ok", fenceTerm: term });
    expect(ok.error, String(ok.error)).toBeUndefined();

    cluster.signal(old, "SIGSTOP");
    let next: string | null = null;
    try {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && next === null) {
        for (const id of cluster.ids().filter((i) => i !== old)) {
          const st = (await cluster.request(id, { op: "status" })).status as { role: string; term: number } | undefined;
          if (st?.role === "leader" && st.term > term) next = id;
        }
        if (next === null) await new Promise((r) => setTimeout(r, 50));
      }
      expect(next, "the others elected a new leader").not.toBeNull();
      const w = await cluster.request(next!, { op: "propose", value: "new-leader-write" });
      expect(w.error, String(w.error)).toBeUndefined();
    } finally {
      cluster.signal(old, "SIGCONT");
    }
    // It wakes up and its controller writes at once, as leader of its old term.
    const stale = await cluster.request(old, { op: "proposeFenced", value: "fenced-stale", fenceTerm: term });
    expect(stale.error, "a deposed leader's fenced write must not be acknowledged").toBeDefined();
    expect(["FencedError", "OutcomeUnknownError"]).toContain(stale.kind);
    // Whatever it saw when it woke, the write never lands anywhere.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await cluster.request(next!, { op: "propose", value: "after" });
    expect(after.error, String(after.error)).toBeUndefined();
    for (const id of cluster.ids()) {
      let dump: Record<string, unknown> = {};
      for (let attempt = 0; attempt < 50; attempt++) {
        dump = await cluster.request(id, { op: "dump" });
        if (!dump.error && (dump.values as string[]).includes("after")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const values = dump.values as string[];
      expect(values).toContain("fenced-ok");
      expect(values).toContain("new-leader-write");
      expect(values).not.toContain("fenced-stale");
    }
    // And once it follows, a fenced write for the old term is refused outright.
    const again = await cluster.request(old, { op: "proposeFenced", value: "fenced-again", fenceTerm: term });
    expect(again.kind).toBe("FencedError");
  });

  it("a member added to a cluster holding 150 MiB of live data catches up by a chunked snapshot (killed mid-transfer once) and votes", async () => {
    const MiB = 1024 * 1024;
    cluster = new RaftProcessCluster({
      members: [...members, { id: "n4", host: "127.0.0.64", port: 17101, join: true }],
      tickMs: 10,
      heartbeatTicks: 5,
      snapshotEvery: 40,
      catchUpEntries: 5,
      electionTicks: 300,
      keepPayloads: true,
    });
    for (const m of members) await cluster.start(m.id);
    const status = async (id: string) => (await cluster!.request(id, { op: "status" })) as { applied?: number; payloadBytes?: number; status?: { role: string; firstIndex: number; conf: { voters: string[] } } };
    // 150 MiB of live data: every payload stays in the state machine and in every snapshot.
    // Capturing a large state can cost a leadership change under load: go on through the next leader.
    let leader = await cluster.waitForLeader(30_000);
    for (let round = 0; ((await status(leader)).payloadBytes ?? 0) < 150 * MiB; round++) {
      expect(round, "filling took too many leader changes").toBeLessThan(20);
      const have = (await status(leader)).payloadBytes ?? 0;
      await cluster.request(leader, { op: "fill", count: Math.ceil((150 * MiB - have) / MiB), bytes: MiB, inflight: 4 });
      leader = await cluster.waitForLeader(30_000);
    }
    // The log is compacted far past the start: the newcomer can only catch up by snapshot.
    await expect.poll(async () => (await status(leader)).status?.firstIndex ?? 0, { timeout: 60_000 }).toBeGreaterThan(100);

    await cluster.start("n4");
    const added = await cluster.request(leader, { op: "confChange", change: { type: "addLearner", node: "n4" } });
    expect(added.error, String(added.error)).toBeUndefined();
    // Kill the receiver while the snapshot is on its way (before it installed it), then bring it back.
    await new Promise((r) => setTimeout(r, 300));
    const before = await status("n4");
    await cluster.kill("n4");
    await cluster.start("n4");
    await expect
      .poll(async () => (await status("n4")).payloadBytes ?? 0, { timeout: 120_000, interval: 250 })
      .toBeGreaterThanOrEqual(150 * MiB);
    expect(before.applied ?? 0, "n4 was killed before it had the snapshot").toBeLessThan(100);

    const promoted = await cluster.request(leader, { op: "confChange", change: { type: "addNode", node: "n4" } });
    expect(promoted.error, String(promoted.error)).toBeUndefined();
    expect((await status(leader)).status?.conf.voters).toContain("n4");
    // Four voters, quorum three: with the leader gone, no leader can be elected
    // and no write can commit without n4's vote and acknowledgement.
    await cluster.kill(leader);
    const next = await cluster.waitForLeader(60_000);
    expect(next).not.toBe(leader);
    const w = await cluster.request(next, { op: "propose", value: "after-catch-up" });
    expect(w.error, String(w.error)).toBeUndefined();
  }, 400_000);
});
