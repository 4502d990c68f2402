// The unary calls of the clientPort: one function per etcd path, from a
// decoded JSON body to the JSON answer. Writes report the revision they
// created in header.revision (from the write's own response, not a later
// read of the store, which concurrent writes may have moved).

import type * as W from "../../client/etcd-types.js";
import type { KvService } from "../kv-service.js";
import {
  decodeCompaction,
  decodeDeleteRange,
  decodeLeaseGrant,
  decodeLeaseId,
  decodeMemberAdd,
  decodeMemberId,
  decodePut,
  decodeRange,
  decodeTimeToLive,
  decodeTxn,
  encodeDeleteRange,
  encodeHeader,
  encodeMember,
  encodePut,
  encodeRange,
  encodeTxn,
  b64,
  type JsonObject,
} from "./codec.js";

export interface RouteContext {
  kv: KvService;
  /** What /v3/maintenance/status reports as `version`. */
  version: string;
}

export type UnaryRoute = (body: JsonObject, ctx: RouteContext) => Promise<unknown>;

async function range(body: JsonObject, { kv }: RouteContext): Promise<W.RangeResponse> {
  const { request, serializable } = decodeRange(body);
  const r = await kv.range(request, serializable);
  return encodeRange(r, encodeHeader(kv.header(), r.revision));
}

async function put(body: JsonObject, { kv }: RouteContext): Promise<W.PutResponse> {
  const r = await kv.write({ type: "put", request: decodePut(body) });
  return encodePut(r, encodeHeader(kv.header(), r.revision));
}

async function deleteRange(body: JsonObject, { kv }: RouteContext): Promise<W.DeleteRangeResponse> {
  const r = await kv.write({ type: "deleteRange", request: decodeDeleteRange(body) });
  return encodeDeleteRange(r, encodeHeader(kv.header(), r.revision));
}

async function txn(body: JsonObject, { kv }: RouteContext): Promise<W.TxnResponse> {
  const r = await kv.write({ type: "txn", request: decodeTxn(body) });
  return encodeTxn(r, encodeHeader(kv.header(), r.revision));
}

async function compaction(body: JsonObject, { kv }: RouteContext): Promise<W.CompactionResponse> {
  // `physical` needs no wait here: a compaction is complete once applied.
  const r = await kv.write({ type: "compact", request: decodeCompaction(body) });
  return { header: encodeHeader(kv.header(), r.revision) };
}

async function leaseGrant(body: JsonObject, { kv }: RouteContext): Promise<W.LeaseGrantResponse> {
  const r = await kv.write({ type: "leaseGrant", request: decodeLeaseGrant(body) });
  return { header: encodeHeader(kv.header(), r.revision), ID: String(r.id), TTL: String(r.ttl) };
}

async function leaseRevoke(body: JsonObject, { kv }: RouteContext): Promise<W.LeaseRevokeResponse> {
  const r = await kv.write({ type: "leaseRevoke", request: { id: decodeLeaseId(body) } });
  return { header: encodeHeader(kv.header(), r.revision) };
}

async function leaseTimeToLive(body: JsonObject, { kv }: RouteContext): Promise<W.LeaseTimeToLiveResponse> {
  const { id, keys } = decodeTimeToLive(body);
  const r = await kv.leaseTimeToLive(id, keys);
  const out: W.LeaseTimeToLiveResponse = { header: encodeHeader(kv.header(), r.revision) };
  if (id !== 0) out.ID = String(id);
  // An unknown lease answers TTL -1 (and no grantedTTL), as etcd does.
  if (r.ttl !== 0) out.TTL = String(r.ttl);
  if (r.grantedTtl !== 0) out.grantedTTL = String(r.grantedTtl);
  if (r.keys.length > 0) out.keys = r.keys.map(b64);
  return out;
}

async function leaseLeases(_body: JsonObject, { kv }: RouteContext): Promise<W.LeaseLeasesResponse> {
  const ids = kv.leaseIds();
  const out: W.LeaseLeasesResponse = { header: encodeHeader(kv.header()) };
  if (ids.length > 0) out.leases = ids.map((id) => ({ ID: String(id) }));
  return out;
}

/** Cluster calls answer no revision in the header, as etcd does. */
function members(kv: KvService): W.Member[] {
  return kv.memberList().map(encodeMember);
}

async function memberList(_body: JsonObject, { kv }: RouteContext): Promise<W.MemberListResponse> {
  return { header: encodeHeader(kv.header(), null), members: members(kv) };
}

async function memberAdd(body: JsonObject, { kv }: RouteContext): Promise<W.MemberAddResponse> {
  const { peerURLs, isLearner, extra } = decodeMemberAdd(body);
  const added = await kv.memberAdd(peerURLs, isLearner, extra);
  return { header: encodeHeader(kv.header(), null), member: encodeMember(added), members: members(kv) };
}

async function memberRemove(body: JsonObject, { kv }: RouteContext): Promise<W.MemberRemoveResponse> {
  await kv.memberRemove(decodeMemberId(body));
  return { header: encodeHeader(kv.header(), null), members: members(kv) };
}

async function memberPromote(body: JsonObject, { kv }: RouteContext): Promise<W.MemberPromoteResponse> {
  await kv.memberPromote(decodeMemberId(body));
  return { header: encodeHeader(kv.header(), null), members: members(kv) };
}

async function status(_body: JsonObject, { kv, version }: RouteContext): Promise<W.StatusResponse> {
  const s = kv.status();
  const h = kv.header();
  const out: W.StatusResponse = {
    header: encodeHeader(h),
    version,
    dbSize: String(s.dbSizeBytes),
    // The contract wants "0" when there is no leader (etcd would leave it out).
    leader: s.leaderId,
    raftIndex: String(s.raftIndex),
    raftTerm: String(s.raftTerm),
    raftAppliedIndex: String(s.raftAppliedIndex),
    dbSizeInUse: String(s.dbSizeBytes),
  };
  if (kv.memberList().find((m) => m.id === h.memberId)?.isLearner) out.isLearner = true;
  return out;
}

/** Paths of the unary calls. etcd 3.4 also serves the lease calls under /v3/kv/lease/. */
export const unaryRoutes: ReadonlyMap<string, UnaryRoute> = new Map<string, UnaryRoute>([
  ["/v3/kv/range", range],
  ["/v3/kv/put", put],
  ["/v3/kv/deleterange", deleteRange],
  ["/v3/kv/txn", txn],
  ["/v3/kv/compaction", compaction],
  ["/v3/lease/grant", leaseGrant],
  ["/v3/lease/revoke", leaseRevoke],
  ["/v3/kv/lease/revoke", leaseRevoke],
  ["/v3/lease/timetolive", leaseTimeToLive],
  ["/v3/kv/lease/timetolive", leaseTimeToLive],
  ["/v3/lease/leases", leaseLeases],
  ["/v3/kv/lease/leases", leaseLeases],
  ["/v3/cluster/member/list", memberList],
  ["/v3/cluster/member/add", memberAdd],
  ["/v3/cluster/member/remove", memberRemove],
  ["/v3/cluster/member/promote", memberPromote],
  ["/v3/maintenance/status", status],
]);

export const WATCH_PATH = "/v3/watch";
export const KEEPALIVE_PATH = "/v3/lease/keepalive";
