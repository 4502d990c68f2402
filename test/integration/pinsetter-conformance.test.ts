// The same wire-contract suite that passes against a real etcd 3.4 cluster
// (etcd-conformance.test.ts), run against a cluster of three real Pinsetter
// master processes, through a follower so that forwarding to the leader is
// part of what is checked. Pinsetter requires its token (clientAuth "token").

import { afterAll, beforeAll } from "vitest";
import { ChaosCluster } from "../chaos/harness/cluster.js";
import { defineEtcdConformance } from "../lib/etcd-conformance.js";

let cluster: ChaosCluster | undefined;
let followerUrl = "";

beforeAll(async () => {
  // 100 ms heartbeats and a 1 s election timeout, as the etcd run uses.
  cluster = new ChaosCluster({ scenario: "conformance", masters: 3, heartbeatMs: 100, electionTimeoutMs: 1000 });
  const leader = await cluster.startAll();
  followerUrl = cluster.founders.find((m) => m.name !== leader)!.clientUrl;
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

defineEtcdConformance("pinsetter (3 masters)", () => {
  if (!cluster) throw new Error("pinsetter cluster not started");
  return { url: followerUrl, token: cluster.token };
});
