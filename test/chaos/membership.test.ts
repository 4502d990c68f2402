// Membership changes under faults: a 4th master is added as a learner while a
// follower is killed, is promoted to voter once caught up, the leader is then
// isolated, and a member (often the leader) is removed while another is down.
// Histories stay linearizable, and the remaining members converge.
//
// The running masters were started with a config that does not list m4: the
// add request carries m4's name and ports (Pinsetter's extension of etcd's
// member/add, as `pinctl cluster add-master` sends it).

import { it } from "vitest";
import { EtcdError } from "../../src/client/etcd-client.js";
import type { ScenarioContext } from "./harness/scenario.js";
import { runChaosTest } from "./harness/run-test.js";

async function memberNames(ctx: ScenarioContext, via: string[]): Promise<{ name: string; id: string; isLearner: boolean }[] | null> {
  const c = ctx.cluster.client(via, { timeoutMs: 2000 });
  try {
    return (await c.memberList({ linearizable: true })).members;
  } catch {
    return null;
  } finally {
    c.close();
  }
}

/** Retries a membership call through `via` until it is applied, or gives up at the deadline. */
async function untilDone(ctx: ScenarioContext, what: string, done: () => Promise<boolean>, call: () => Promise<unknown>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    try {
      await call();
      ctx.log(`${what}: acknowledged`);
      return true;
    } catch (err) {
      const e = err as EtcdError;
      ctx.log(`${what}: ${e.outcome ?? "error"} ${e.httpStatus ?? ""} ${e.message}`);
      if (e instanceof EtcdError && e.outcome === "failed" && e.httpStatus === 400 && !/leader|in sync/.test(e.message)) {
        ctx.fail(`${what} refused: ${e.message}`);
        return false;
      }
    }
    await ctx.sleep(500);
  }
  ctx.fail(`liveness: ${what} not done within ${timeoutMs} ms`);
  return false;
}

it("adding, promoting and removing masters during kills and partitions keeps histories linearizable", async (t) => {
  await runChaosTest(t, {
    name: "membership",
    cluster: { masters: 3, spares: 1 },
    network: true,
    pins: ["m1", "m2", "m3", "m4"],
    watchers: ["m1", "m2", "m4"],
    async faults(ctx) {
      const founders = ctx.cluster.founders.map((m) => m.name);
      const m4 = ctx.cluster.member("m4");
      const leader = (await ctx.cluster.currentLeader()) ?? (await ctx.expectLeader(founders, "before adding m4"));
      if (leader === null) return;

      // 1. Add m4 as a learner while a follower is down.
      const follower = ctx.pick(founders.filter((n) => n !== leader));
      ctx.fault(`kill -9 follower ${follower}; add m4 as learner`);
      await ctx.cluster.kill(follower);
      const alive = founders.filter((n) => n !== follower);
      const added = await untilDone(
        ctx,
        "member add m4",
        async () => (await memberNames(ctx, alive))?.some((m) => m.name === "m4") ?? false,
        () => {
          const c = ctx.cluster.client(alive, { timeoutMs: 5000 });
          return c
            .request("/v3/cluster/member/add", {
              peerURLs: [m4.peerUrl],
              isLearner: true,
              name: "m4",
              clientURLs: [m4.clientUrl],
              apiPort: m4.apiPort,
            }, { idempotent: false })
            .finally(() => c.close());
        },
      );
      if (!added) return;
      ctx.cluster.start("m4");
      await ctx.sleep(2500);
      ctx.cluster.start(follower);
      ctx.heal(`restart ${follower}`);

      // 2. m4 catches up and is promoted (by the leader's promoter).
      const promoted = await untilDone(
        ctx,
        "m4 promoted to voter",
        async () => (await memberNames(ctx, founders))?.some((m) => m.name === "m4" && !m.isLearner) ?? false,
        async () => {
          throw new Error("waiting for the promoter");
        },
        25_000,
      );
      if (!promoted) return;
      await ctx.sleep(2000);

      // 3. Isolate the leader of the 4-voter cluster.
      const four = [...founders, "m4"];
      const l2 = (await ctx.cluster.currentLeader(four)) ?? (await ctx.expectLeader(four, "before isolating"));
      if (l2 === null) return;
      ctx.fault(`isolate leader ${l2} of 4 voters`);
      ctx.net.isolate(ctx.cluster.hostOf(l2), ctx.hosts(four.filter((n) => n !== l2)));
      await ctx.expectLeader(four.filter((n) => n !== l2), "the other three elect a leader");
      await ctx.sleep(2500);
      ctx.heal(`rejoin ${l2}`);
      await ctx.sleep(3000);

      // 4. Remove a member (the leader, if it is not m4) while another one is down.
      const l3 = (await ctx.cluster.currentLeader(four)) ?? (await ctx.expectLeader(four, "before removing"));
      if (l3 === null) return;
      const removed = l3 !== "m4" && ctx.rnd() < 0.7 ? l3 : ctx.pick(founders.filter((n) => n !== l3));
      const down = ctx.pick(four.filter((n) => n !== removed && n !== "m4" && n !== l3));
      ctx.fault(`kill -9 ${down}; remove ${removed} (leader ${l3})`);
      await ctx.cluster.kill(down);
      // A removed master shuts itself down once it applies its removal.
      const removedExit = ctx.cluster.awaitOwnExit(removed, 20_000);
      const stayers = four.filter((n) => n !== removed);
      const list = await memberNames(ctx, four.filter((n) => n !== down));
      const id = list?.find((m) => m.name === removed)?.id;
      if (!id) {
        ctx.fail(`member list has no ${removed}: ${JSON.stringify(list)}`);
        return;
      }
      const done = await untilDone(
        ctx,
        `member remove ${removed}`,
        async () => (await memberNames(ctx, stayers.filter((n) => n !== down)))?.every((m) => m.name !== removed) ?? false,
        () => {
          const c = ctx.cluster.client(four.filter((n) => n !== down), { timeoutMs: 5000 });
          return c.memberRemove(id).finally(() => c.close());
        },
      );
      ctx.setFinalMembers(stayers);
      if (!done) return;
      await ctx.sleep(2000);
      ctx.cluster.start(down);
      ctx.heal(`restart ${down}; ${removed} was removed and must exit`);
      if (!(await removedExit)) ctx.fail(`${removed} was removed from the cluster but did not shut down`);
      await ctx.sleep(3500);
    },
  });
});
