// Stable 64-bit identities, as etcd's API exposes them (decimal strings):
// a cluster ID from the cluster name and a member ID from cluster + member
// name, so every master computes the same IDs without coordination.

import { createHash } from "node:crypto";

function hash64(text: string): string {
  const digest = createHash("sha256").update(text).digest();
  // Clear the top bit so the ID also fits a signed int64 (some clients parse it so).
  const id = digest.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
  return (id === 0n ? 1n : id).toString();
}

export function clusterIdOf(clusterName: string): string {
  return hash64(`pinsetter-cluster/${clusterName}`);
}

export function memberIdOf(clusterName: string, memberName: string): string {
  return hash64(`pinsetter-member/${clusterName}/${memberName}`);
}
