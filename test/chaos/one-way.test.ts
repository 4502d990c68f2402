// One-way packet loss between masters (3 masters): a leader that cannot hear
// its followers, followers that cannot hear their leader, a single follower
// deaf to the leader, and random one-way cuts.

import { it } from "vitest";
import { runChaosTest } from "./harness/run-test.js";

it("one-way drops between leader and followers keep every history linearizable", async (t) => {
  await runChaosTest(t, {
    name: "one-way",
    cluster: { masters: 3 },
    network: true,
    async faults(ctx) {
      const all = ctx.cluster.founders.map((m) => m.name);
      const host = (n: string) => ctx.cluster.hostOf(n);
      const rounds: [string, (leader: string, followers: string[]) => void][] = [
        ["leader cannot receive from followers", (l, fs) => fs.forEach((f) => ctx.net.cut(host(f), host(l)))],
        ["followers cannot receive from the leader", (l, fs) => fs.forEach((f) => ctx.net.cut(host(l), host(f)))],
        ["one follower cannot receive from the leader", (l, fs) => ctx.net.cut(host(l), host(fs[0]!))],
        [
          "two random one-way cuts",
          () => {
            const edges = all.flatMap((a) => all.filter((b) => b !== a).map((b) => [a, b] as const));
            for (let i = 0; i < 2; i++) {
              const [a, b] = ctx.pick(edges);
              ctx.log(`  cut ${a} -> ${b}`);
              ctx.net.cut(host(a), host(b));
            }
          },
        ],
      ];
      for (const [what, apply] of rounds) {
        const leader = (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(all, "before a one-way cut"));
        if (leader === null) return;
        const followers = all.filter((n) => n !== leader).sort(() => ctx.rnd() - 0.5);
        ctx.fault(`${what} (leader ${leader})`);
        apply(leader, followers);
        await ctx.sleep(4500);
        ctx.heal(`heal: ${what}`);
        await ctx.sleep(3500);
      }
    },
  });
});
