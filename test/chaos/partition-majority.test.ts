// Majority/minority partitions of 5 masters (2 | 3), flipping between
// different splits, with the leader sometimes on the minority side: only the
// majority commits; the minority's masters (still reachable by clients)
// neither serve stale linearizable reads nor acknowledge writes.

import { it } from "vitest";
import { runChaosTest } from "./harness/run-test.js";

it("flipping 2|3 partitions of 5 masters keep every history linearizable", async (t) => {
  await runChaosTest(t, {
    name: "partition-majority",
    cluster: { masters: 5 },
    network: true,
    async faults(ctx) {
      const all = ctx.cluster.founders.map((m) => m.name);
      for (let round = 0; round < 4; round++) {
        const leader = await ctx.cluster.currentLeader();
        // The leader goes to the minority in most rounds: that is where stale reads would come from.
        const shuffled = [...all].sort(() => ctx.rnd() - 0.5);
        let minority = shuffled.slice(0, 2);
        if (leader !== null && ctx.rnd() < 0.7 && !minority.includes(leader)) minority = [leader, minority[0]!];
        const majority = all.filter((n) => !minority.includes(n));
        ctx.fault(`partition {${minority.join(",")}} | {${majority.join(",")}} (leader was ${leader})`);
        ctx.net.healAll();
        ctx.net.partition([ctx.hosts(minority), ctx.hosts(majority)]);
        await ctx.expectLeader(majority, `majority ${majority.join(",")} has a leader`);
        await ctx.sleep(2500);
        // Every other round flips straight into the next split, without a heal in between.
        if (round % 2 === 1) {
          ctx.heal("heal partitions");
          await ctx.sleep(3500);
        }
      }
    },
  });
});
