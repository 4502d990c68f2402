// Bootstrap or join? A master with an empty data dir either founds the
// cluster (its log starts with every configured master as a voter) or joins
// one that already exists (empty log; the leader sends it a snapshot).
// It founds only if no other configured master answers: a founding member
// that starts late finds its peers already running and joins them, which
// gives the same result as founding, since the leader replicates the
// bootstrap entries to it.

import type { Logger } from "pino";
import type { ClusterConfig, MasterConfig } from "../config/index.js";
import { EtcdClient } from "../client/etcd-client.js";

export type JoinDecision =
  | { mode: "bootstrap" }
  | { mode: "join"; via: string }
  | { mode: "refuse"; reason: string };

export async function decideBootstrap(config: ClusterConfig, self: MasterConfig, logger: Logger): Promise<JoinDecision> {
  const others = config.masters.filter((m) => m.name !== self.name);
  const answers = await Promise.all(
    others.map(async (m) => {
      const client = new EtcdClient({
        endpoints: [`http://${m.host}:${m.clientPort}`],
        ...(config.clientAuth === "token" ? { token: config.token } : {}),
        localAddress: self.host,
        timeoutMs: 1500,
        connectTimeoutMs: 1000,
        logger,
      });
      try {
        const list = await client.memberList();
        return { master: m.name, members: list.members.map((x) => x.name) };
      } catch {
        return null;
      } finally {
        client.close();
      }
    }),
  );
  const reachable = answers.filter((a): a is { master: string; members: string[] } => a !== null && a.members.length > 0);
  if (reachable.length === 0) return { mode: "bootstrap" };
  const knowsUs = reachable.find((a) => a.members.includes(self.name));
  if (knowsUs) return { mode: "join", via: knowsUs.master };
  return {
    mode: "refuse",
    reason:
      `cluster ${config.clusterName} already runs (members: ${reachable[0]!.members.join(", ")}) and ${self.name} is not a member; ` +
      `add it first with: pinctl cluster add-master ${self.name}`,
  };
}
