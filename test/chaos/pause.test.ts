// SIGSTOP/SIGCONT (3 masters): a paused leader is replaced and writes go on;
// when it wakes up it still believes it leads. A linearizable read through it
// right then must see the write made through its successor, or fail: never
// the old value (ReadIndex, RAFT-NOTES trap 7). Plus a paused follower and a
// long leader pause under load.

import { it } from "vitest";
import type { ScenarioContext } from "./harness/scenario.js";
import { runChaosTest } from "./harness/run-test.js";

/** Writes `value` to `key` through `master` until one attempt is acknowledged; returns the value written or null. */
async function writeProbe(ctx: ScenarioContext, master: string, key: string, base: string, timeoutMs = 8000): Promise<string | null> {
  const client = ctx.cluster.client([master]);
  const deadline = Date.now() + timeoutMs;
  try {
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const value = `${base}-a${attempt}`;
      const r = await ctx.workload.record(`probe-writer@${master}`, key, { kind: "put", value }, async () => ({
        revision: (await client.put(key, value)).revision,
      }));
      if (typeof r === "object") return value;
      await ctx.sleep(200);
    }
    return null;
  } finally {
    client.close();
  }
}

it("a leader woken from SIGSTOP serves no stale read, and histories stay linearizable", async (t) => {
  await runChaosTest(t, {
    name: "pause",
    cluster: { masters: 3 },
    network: false,
    async faults(ctx) {
      const all = ctx.cluster.founders.map((m) => m.name);
      const key = `${ctx.workload.prefix}probe`;
      for (let round = 0; round < 3; round++) {
        const old = (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(all, "before pausing"));
        if (old === null) return;
        const others = all.filter((n) => n !== old);
        const oldValue = await writeProbe(ctx, old, key, `probe-old-${round}`);
        if (oldValue === null) {
          ctx.fail(`liveness: could not write the probe through leader ${old}`);
          return;
        }
        ctx.fault(`SIGSTOP leader ${old} (probe key holds ${oldValue})`);
        ctx.cluster.pause(old);
        const successor = await ctx.expectLeader(others, `${others.join(",")} replace the paused leader`);
        if (successor === null) return;
        const newValue = await writeProbe(ctx, successor, key, `probe-new-${round}`);
        if (newValue === null) {
          ctx.fail(`liveness: could not write the probe through the new leader ${successor}`);
          return;
        }
        ctx.log(`probe ${newValue} written through ${successor}`);

        // Round 0 and 2: the read is queued while the old leader is still stopped; round 1: SIGCONT first, then read at once.
        const reader = ctx.cluster.client([old]);
        const read = () =>
          ctx.workload.record(`probe-reader@${old}`, key, { kind: "get" }, async () => {
            const res = await reader.range(key);
            return { value: res.kvs[0]?.value ?? null, revision: res.header.revision };
          });
        let first: Awaited<ReturnType<typeof read>>;
        if (round !== 1) {
          const pending = read();
          await ctx.sleep(100);
          ctx.heal(`SIGCONT ${old} with a read queued`);
          first = await pending;
        } else {
          ctx.heal(`SIGCONT ${old}, then read`);
          first = await read();
        }
        const reads = [first];
        for (let i = 0; i < 10; i++) reads.push(await read());
        reader.close();
        const seen = reads.map((r) => (typeof r === "object" ? JSON.stringify(r.value) : r));
        ctx.log(`reads through the woken ${old}: ${seen.join(" ")}`);
        reads.forEach((r, i) => {
          if (typeof r === "object" && r.value !== newValue)
            ctx.fail(`stale read: read #${i} through the woken old leader ${old} returned ${JSON.stringify(r.value)} after ${JSON.stringify(newValue)} was acknowledged through ${successor}`);
        });
        await ctx.sleep(2500);
      }

      const leader = (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(all, "before pausing a follower"));
      if (leader === null) return;
      const follower = ctx.pick(all.filter((n) => n !== leader));
      ctx.fault(`SIGSTOP follower ${follower}`);
      ctx.cluster.pause(follower);
      await ctx.sleep(3000);
      ctx.heal(`SIGCONT ${follower}`);
      await ctx.sleep(3000);

      const l2 = (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(all, "before a long pause"));
      if (l2 === null) return;
      ctx.fault(`SIGSTOP leader ${l2} for 6 s`);
      ctx.cluster.pause(l2);
      await ctx.expectLeader(all.filter((n) => n !== l2), "a successor for the long-paused leader");
      await ctx.sleep(5000);
      ctx.heal(`SIGCONT ${l2}`);
      await ctx.sleep(3000);
    },
  });
});
