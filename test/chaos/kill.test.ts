// kill -9 of the leader and of random members (3 masters), each restarted
// from its data dir: no acknowledged write is lost, nothing is applied twice,
// and watchers resume without a gap. A low snapshotEvery makes restarts go
// through snapshots and log compaction too.

import { it } from "vitest";
import { runChaosTest } from "./harness/run-test.js";

it("kill -9 and restart of leaders and members keep every acknowledged write", async (t) => {
  await runChaosTest(t, {
    name: "kill",
    cluster: { masters: 3, snapshotEvery: 300 },
    network: false,
    async faults(ctx) {
      const all = ctx.cluster.founders.map((m) => m.name);
      const leaderNow = async () => (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(all, "before a kill"));

      let l = await leaderNow();
      if (l === null) return;
      ctx.fault(`kill -9 leader ${l}`);
      await ctx.cluster.kill(l);
      await ctx.expectLeader(all.filter((n) => n !== l), "survivors elect a leader");
      await ctx.sleep(2000);
      ctx.cluster.start(l);
      ctx.heal(`restart ${l}`);
      await ctx.sleep(3500);

      const victim = ctx.pick(all);
      ctx.fault(`kill -9 random member ${victim}`);
      await ctx.cluster.kill(victim);
      await ctx.sleep(2500);
      ctx.cluster.start(victim);
      ctx.heal(`restart ${victim}`);
      await ctx.sleep(3500);

      l = await leaderNow();
      if (l === null) return;
      const second = ctx.pick(all.filter((n) => n !== l));
      ctx.fault(`kill -9 leader ${l} and ${second}: no quorum`);
      await Promise.all([ctx.cluster.kill(l), ctx.cluster.kill(second)]);
      await ctx.sleep(2000);
      ctx.cluster.start(l);
      ctx.cluster.start(second);
      ctx.heal(`restart ${l} and ${second}`);
      await ctx.sleep(4000);

      l = await leaderNow();
      if (l === null) return;
      ctx.fault(`crash-restart leader ${l} at once`);
      await ctx.cluster.restart(l);
      ctx.heal(`restarted ${l}`);
      await ctx.sleep(3500);

      const twice = ctx.pick(all);
      ctx.fault(`crash-restart ${twice} twice in a row`);
      await ctx.cluster.restart(twice);
      await ctx.sleep(700);
      await ctx.cluster.restart(twice);
      ctx.heal(`restarted ${twice}`);
      await ctx.sleep(3500);
    },
  });
});
