// A leader cut off from the other masters (3 masters), again and again: the
// majority elects a new leader and goes on; the isolated one serves no stale
// read and acknowledges no write; after each heal the cluster makes progress.

import { it } from "vitest";
import { runChaosTest } from "./harness/run-test.js";

it("isolating the leader repeatedly keeps every history linearizable and every watch gap-free", async (t) => {
  await runChaosTest(t, {
    name: "leader-isolation",
    cluster: { masters: 3 },
    network: true,
    async faults(ctx) {
      const all = ctx.cluster.founders.map((m) => m.name);
      for (let round = 0; round < 4; round++) {
        const leader = (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(all, "before isolating"));
        if (leader === null) return;
        const others = all.filter((n) => n !== leader);
        ctx.fault(`isolate leader ${leader}`);
        ctx.net.isolate(ctx.cluster.hostOf(leader), ctx.hosts(others));
        await ctx.expectLeader(others, `majority ${others.join(",")} elects a new leader`);
        await ctx.sleep(2500);
        ctx.heal(`rejoin ${leader}`);
        await ctx.sleep(3500);
      }
    },
  });
});
