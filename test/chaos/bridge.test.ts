// The bridge topology (5 masters): {a, b} | {d, e} with c seeing both sides.
// c is the only member both halves can reach; a leader on either side still
// has a majority through it. Once with the leader as the bridge, once with
// the leader on one side.

import { it } from "vitest";
import { runChaosTest } from "./harness/run-test.js";

it("a bridge node between two halves keeps every history linearizable", async (t) => {
  await runChaosTest(t, {
    name: "bridge",
    cluster: { masters: 5 },
    network: true,
    async faults(ctx) {
      const all = ctx.cluster.founders.map((m) => m.name);
      for (let round = 0; round < 3; round++) {
        const leader = (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(all, "before the bridge"));
        if (leader === null) return;
        const bridge = round === 1 ? leader : ctx.pick(all.filter((n) => n !== leader));
        const rest = all.filter((n) => n !== bridge).sort(() => ctx.rnd() - 0.5);
        const left = rest.slice(0, 2);
        const right = rest.slice(2);
        ctx.fault(`bridge {${left.join(",")}} - ${bridge} - {${right.join(",")}} (leader ${leader})`);
        ctx.net.bridge(ctx.hosts(left), ctx.cluster.hostOf(bridge), ctx.hosts(right));
        await ctx.sleep(5000);
        ctx.heal("heal bridge");
        await ctx.sleep(3500);
      }
    },
  });
});
