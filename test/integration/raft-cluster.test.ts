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
});
