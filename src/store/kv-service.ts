// The store's service on one master: what the clientPort gateway calls.
// Writes go through Raft (any member may propose; a follower's proposal is
// forwarded by Raft and answered when applied here, so a client reads its own
// writes on the master it wrote to). Reads are linearizable by default
// (ReadIndex, then the local MVCC store) or serializable on request.
// Lease keepalives and remaining TTLs live on the leader and are forwarded.

import type { Logger } from "pino";
import {
  FencedError,
  NotLeaderError,
  OutcomeUnknownError,
  ProposalRefusedError,
  ReadTimeoutError,
  type RaftNode,
} from "../../raft/index.js";
import { EtcdClient, EtcdError } from "../client/etcd-client.js";
import { clusterIdOf } from "./identity.js";
import { LeaseNotFoundError, type Lessor } from "./lessor.js";
import { encodeMemberContext, type MemberAddresses, type MemberInfo } from "./members.js";
import {
  encodeCommand,
  validateCommand,
  validateRange,
  type CommandResponses,
  type LeaseTimeToLiveResponse,
  type RangeRequest,
  type RangeResponse,
  type StoreCommand,
  type StoreError,
  type StoreResult,
  type WatchCancelListener,
  type WatchHandle,
  type WatchListener,
  type WatchRequest,
} from "./mvcc/index.js";
import { WatchHub } from "./mvcc/index.js";
import type { StoreStateMachine } from "./state-machine.js";

/** gRPC status codes, as etcd's JSON gateway reports them. */
export const GrpcCode = {
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  FailedPrecondition: 9,
  OutOfRange: 11,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;

/** An error with the HTTP status and gRPC code the gateway answers with. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly httpStatus: number,
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function storeErrorToApi(e: StoreError): ApiError {
  switch (e.code) {
    case "invalidArgument":
    case "duplicateKey":
    case "tooManyOps":
    case "keyNotFound":
      return new ApiError(400, GrpcCode.InvalidArgument, e.message);
    case "compacted":
    case "futureRevision":
    case "leaseTtlTooLarge":
      return new ApiError(400, GrpcCode.OutOfRange, e.message);
    case "leaseNotFound":
      return new ApiError(404, GrpcCode.NotFound, e.message);
    case "leaseExists":
      return new ApiError(400, GrpcCode.FailedPrecondition, e.message);
  }
}

/**
 * Maps driver errors to answers. A write that may have been applied is never
 * a 4xx: clients read 4xx as "not applied".
 */
export function raftErrorToApi(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof FencedError) return new ApiError(403, GrpcCode.FailedPrecondition, err.message.startsWith("fenced:") ? err.message : `fenced: ${err.message}`);
  if (err instanceof NotLeaderError) return new ApiError(503, GrpcCode.Unavailable, err.leader ? `etcdserver: ${err.message}` : "etcdserver: no leader");
  if (err instanceof OutcomeUnknownError) return new ApiError(504, GrpcCode.DeadlineExceeded, `etcdserver: request timed out (${err.message})`);
  if (err instanceof ReadTimeoutError) return new ApiError(503, GrpcCode.Unavailable, `etcdserver: ${err.message}`);
  if (err instanceof ProposalRefusedError) return new ApiError(400, GrpcCode.FailedPrecondition, `etcdserver: ${err.message}`);
  if (err instanceof LeaseNotFoundError) return new ApiError(404, GrpcCode.NotFound, err.message);
  if (err instanceof EtcdError) {
    return new ApiError(err.httpStatus ?? 503, err.grpcCode ?? GrpcCode.Unavailable, err.message);
  }
  return new ApiError(500, 13, `etcdserver: internal error: ${(err as Error)?.message ?? String(err)}`);
}

export interface ResponseHeaderData {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

export interface MemberStatus {
  name: string;
  memberId: string;
  leaderId: string;
  leaderName: string | null;
  role: string;
  raftTerm: number;
  raftIndex: number;
  raftAppliedIndex: number;
  lastIndex: number;
  revision: number;
  compactRevision: number;
  dbSizeBytes: number;
  /** Leader only: each member's match index. */
  matchIndex: Record<string, number> | null;
}

export interface KvServiceOptions {
  node: RaftNode;
  sm: StoreStateMachine;
  lessor: Lessor;
  self: MemberInfo;
  clusterName: string;
  /** Token for calls to other masters (lease forwarding); null when auth is off. */
  peerToken: string | null;
  /** Masters named in this member's config: where a member added by URL is looked up. */
  configuredMasters: (MemberAddresses & { name: string })[];
  logger: Logger;
}

export class KvService {
  readonly hub: WatchHub;
  private readonly node: RaftNode;
  private readonly sm: StoreStateMachine;
  private readonly clusterId: string;
  private readonly leaderClients = new Map<string, EtcdClient>();

  constructor(private readonly opts: KvServiceOptions) {
    this.node = opts.node;
    this.sm = opts.sm;
    this.clusterId = clusterIdOf(opts.clusterName);
    this.hub = new WatchHub(this.sm.mvcc, { logger: opts.logger });
  }

  header(): ResponseHeaderData {
    return { clusterId: this.clusterId, memberId: this.opts.self.id, revision: this.sm.mvcc.revision, raftTerm: this.node.status().term };
  }

  // ---------------------------------------------------------------- KV

  async range(req: RangeRequest, serializable: boolean): Promise<RangeResponse> {
    const invalid = validateRange(req);
    if (invalid) throw storeErrorToApi(invalid);
    if (!serializable) {
      try {
        await this.node.readIndex();
      } catch (err) {
        throw raftErrorToApi(err);
      }
    }
    const result = this.sm.mvcc.range(req);
    if (!result.ok) throw storeErrorToApi(result.error);
    return result.value;
  }

  /**
   * Proposes a write command and returns its response once applied here.
   * With `fenceTerm` (leader-only loops) the write lands only if this member
   * is still leader in that term; otherwise ApiError 403 "fenced: ...".
   */
  async write<C extends StoreCommand>(command: C, opts: { fenceTerm?: number } = {}): Promise<CommandResponses[C["type"]]> {
    const invalid = validateCommand(command);
    if (invalid) throw storeErrorToApi(invalid);
    let result: StoreResult<C>;
    try {
      const encoded = encodeCommand(command);
      result = (await (opts.fenceTerm === undefined
        ? this.node.propose(encoded)
        : this.node.propose(encoded, undefined, { fenceTerm: opts.fenceTerm }))) as StoreResult<C>;
    } catch (err) {
      throw raftErrorToApi(err);
    }
    if (!result.ok) throw storeErrorToApi(result.error);
    return result.value as CommandResponses[C["type"]];
  }

  watch(req: WatchRequest, onEvents: WatchListener, onCancel: WatchCancelListener): WatchHandle {
    return this.hub.watch(req, onEvents, onCancel);
  }

  // ---------------------------------------------------------------- leases

  async leaseKeepAlive(id: number): Promise<number> {
    if (this.node.isLeader()) {
      try {
        return this.opts.lessor.keepAlive(id);
      } catch (err) {
        throw raftErrorToApi(err);
      }
    }
    const client = this.leaderClient();
    try {
      return (await client.leaseKeepAliveOnce(String(id))).ttl;
    } catch (err) {
      throw raftErrorToApi(err);
    }
  }

  /** IDs of every lease in the local store, ascending (etcd serves LeaseLeases locally too). */
  leaseIds(): number[] {
    return this.sm.mvcc.leases().map((l) => l.id);
  }

  async leaseTimeToLive(id: number, keys: boolean): Promise<LeaseTimeToLiveResponse & { ttl: number }> {
    if (!this.node.isLeader()) {
      const client = this.leaderClient();
      try {
        const r = await client.leaseTimeToLive(String(id), { keys });
        return {
          id,
          ttl: r.ttl,
          grantedTtl: r.grantedTtl,
          keys: r.keys.map((k) => Buffer.from(k)),
          revision: r.header.revision,
        };
      } catch (err) {
        throw raftErrorToApi(err);
      }
    }
    try {
      await this.node.readIndex();
    } catch (err) {
      throw raftErrorToApi(err);
    }
    const result = this.sm.mvcc.timeToLive({ id, keys });
    if (!result.ok) {
      // etcd answers an unknown lease with TTL -1 rather than an error.
      if (result.error.code === "leaseNotFound") return { id, ttl: -1, grantedTtl: 0, keys: [], revision: this.sm.mvcc.revision };
      throw storeErrorToApi(result.error);
    }
    return { ...result.value, ttl: this.opts.lessor.remainingSeconds(id) };
  }

  private leaderClient(): EtcdClient {
    const leader = this.node.leader;
    const member = leader ? this.sm.members.get(leader) : undefined;
    if (!leader || !member) throw new ApiError(503, GrpcCode.Unavailable, "etcdserver: no leader");
    let client = this.leaderClients.get(leader);
    if (!client) {
      client = new EtcdClient({
        endpoints: [`http://${member.host}:${member.clientPort}`],
        ...(this.opts.peerToken ? { token: this.opts.peerToken } : {}),
        localAddress: this.opts.self.host,
        timeoutMs: 3000,
        logger: this.opts.logger,
      });
      this.leaderClients.set(leader, client);
    }
    return client;
  }

  // ---------------------------------------------------------------- cluster

  memberList(): MemberInfo[] {
    return this.sm.members.list();
  }

  /**
   * Adds a member by its peer URL (etcd's API). Its name and other ports come
   * from this master's config, or from `extra` (a Pinsetter extension of the
   * request that pinctl sends, so a master need not be restarted with the
   * new config before it can add a new member).
   */
  async memberAdd(
    peerURLs: string[],
    isLearner: boolean,
    extra?: { name?: string; clientPort?: number; apiPort?: number },
  ): Promise<MemberInfo> {
    const wanted = new Set(peerURLs.map(normalizeUrl));
    let candidate: (MemberAddresses & { name: string }) | undefined = this.opts.configuredMasters.find((m) =>
      wanted.has(normalizeUrl(`http://${m.host}:${m.raftPort}`)),
    );
    if (!candidate && extra?.name && extra.clientPort && extra.apiPort && peerURLs.length > 0) {
      const peer = parseUrl(peerURLs[0]!);
      if (peer) candidate = { name: extra.name, host: peer.host, raftPort: peer.port, clientPort: extra.clientPort, apiPort: extra.apiPort };
    }
    if (!candidate) {
      throw new ApiError(
        400,
        GrpcCode.InvalidArgument,
        `etcdserver: no master in the cluster config listens on ${peerURLs.join(", ")}; add it to cluster.config.json first`,
      );
    }
    const configured = candidate;
    if (extra?.name && extra.name !== configured.name) {
      throw new ApiError(400, GrpcCode.InvalidArgument, `etcdserver: peer URL belongs to ${configured.name}, not ${extra.name}`);
    }
    if (this.sm.members.get(configured.name)) {
      throw new ApiError(400, GrpcCode.FailedPrecondition, "etcdserver: Peer URLs already exists");
    }
    try {
      await this.node.proposeConfChange({
        type: isLearner ? "addLearner" : "addNode",
        node: configured.name,
        context: encodeMemberContext(configured),
      });
    } catch (err) {
      throw raftErrorToApi(err);
    }
    const added = this.sm.members.get(configured.name);
    if (!added) throw new ApiError(500, 13, "etcdserver: member added but not in the registry");
    return added;
  }

  async memberRemove(id: string): Promise<void> {
    const member = this.sm.members.byId(id);
    if (!member) throw new ApiError(404, GrpcCode.NotFound, "etcdserver: member not found");
    try {
      await this.node.proposeConfChange({ type: "removeNode", node: member.name });
    } catch (err) {
      throw raftErrorToApi(err);
    }
  }

  /** Promotes a learner once it has caught up with the leader (etcd's rule: within 90%). */
  async memberPromote(id: string): Promise<void> {
    const member = this.sm.members.byId(id);
    if (!member) throw new ApiError(404, GrpcCode.NotFound, "etcdserver: member not found");
    if (!member.isLearner) throw new ApiError(400, GrpcCode.FailedPrecondition, "etcdserver: can only promote a learner member");
    if (!this.node.isLeader()) {
      try {
        await this.leaderClient().memberPromote(id);
        return;
      } catch (err) {
        throw raftErrorToApi(err);
      }
    }
    const st = this.node.status();
    const match = st.progress?.[member.name]?.match ?? 0;
    if (match < st.commit * 0.9) {
      throw new ApiError(400, GrpcCode.FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader");
    }
    try {
      await this.node.proposeConfChange({ type: "addNode", node: member.name, context: encodeMemberContext(member) });
    } catch (err) {
      throw raftErrorToApi(err);
    }
  }

  /** Hands leadership to `name` (pinctl, removing the leader gracefully). */
  transferLeadership(name: string): void {
    this.node.transferLeadership(name);
  }

  status(): MemberStatus {
    const st = this.node.status();
    const leader = st.leader ? this.sm.members.get(st.leader) : undefined;
    const store = this.sm.mvcc.status();
    let matchIndex: Record<string, number> | null = null;
    if (st.progress) {
      matchIndex = {};
      for (const [name, p] of Object.entries(st.progress)) matchIndex[name] = p.match;
    }
    return {
      name: this.opts.self.name,
      memberId: this.opts.self.id,
      leaderId: leader?.id ?? "0",
      leaderName: st.leader,
      role: st.role,
      raftTerm: st.term,
      raftIndex: st.commit,
      raftAppliedIndex: this.node.applied,
      lastIndex: st.lastIndex,
      revision: this.sm.mvcc.revision,
      compactRevision: this.sm.mvcc.compactRevision,
      dbSizeBytes: store.bytes,
      matchIndex,
    };
  }

  close(): void {
    this.hub.close();
    for (const c of this.leaderClients.values()) c.close();
    this.leaderClients.clear();
  }
}

function parseUrl(url: string): { host: string; port: number } | null {
  try {
    const u = new URL(url);
    const port = Number(u.port);
    return u.hostname && port > 0 ? { host: u.hostname, port } : null;
  } catch {
    return null;
  }
}

function normalizeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port}`;
  } catch {
    return url;
  }
}
