// A master: Raft node (LevelDB + WebSockets) + the replicated store + the
// clientPort (etcd v3 JSON API, health and status). Leader-only loops (lease
// expiry, auto-compaction; later the scheduler and controllers) follow the
// node's role.

import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import { RaftNode, type NodeId } from "../../raft/index.js";
import { LevelLogStorage } from "../../raft/storage/index.js";
import { WebSocketTransport } from "../../raft/transport/websocket.js";
import type { PeerAddress } from "../../raft/transport/types.js";
import { findMaster, masterDataDir, type ClusterConfig, type MasterConfig } from "../config/index.js";
import { AutoCompactor } from "../store/auto-compactor.js";
import { createGatewayHandler } from "../store/gateway/index.js";
import { memberIdOf } from "../store/identity.js";
import { KvService } from "../store/kv-service.js";
import { Lessor } from "../store/lessor.js";
import { encodeMemberContext } from "../store/members.js";
import { encodeCommand } from "../store/mvcc/index.js";
import { StoreStateMachine } from "../store/state-machine.js";
import type { MasterStatus } from "../client/master-status.js";
import { decideBootstrap } from "./join.js";
import { checkBearer, sendJson } from "./http.js";
import { LearnerPromoter } from "./learner-promoter.js";
import { ApiServer } from "../apiserver/server.js";
import { createHpaV1Handler, HPA_V1_GROUP } from "../apiserver/hpa-v1.js";
import { KubeClient } from "../client/kube-client.js";
import { createMetricsHandler, METRICS_API_GROUP } from "../metrics/api.js";
import { MetricsScraper } from "../metrics/scraper.js";
import { LeaderLoops } from "./leader-loops.js";
import { leaderLoopStarters } from "./loops.js";

export { PINSETTER_VERSION, ETCD_API_VERSION } from "../version.js";

export type { MasterStatus } from "../client/master-status.js";

export class Master {
  private constructor(
    readonly config: ClusterConfig,
    readonly self: MasterConfig,
    readonly node: RaftNode,
    readonly kv: KvService,
    private readonly lessor: Lessor,
    private readonly compactor: AutoCompactor,
    private readonly promoter: LearnerPromoter,
    private readonly clientServer: Server,
    private readonly gateway: ReturnType<typeof createGatewayHandler>,
    private readonly log: Logger,
  ) {}

  static async start(config: ClusterConfig, name: string, logger: Logger): Promise<Master> {
    const self = findMaster(config, name);
    const log = logger.child({ member: name });
    const dataDir = masterDataDir(config, name);
    mkdirSync(dataDir, { recursive: true });

    const storage = await LevelLogStorage.open(join(dataDir, "raft"), { logger: log.child({ component: "raft-storage" }) });
    const stored = await storage.load();
    const fresh = stored.snapshot === null && stored.entries.length === 0 && stored.hardState.term === 0;
    let bootstrap: { id: NodeId; context: Uint8Array }[] | null = null;
    if (fresh) {
      const decision = await decideBootstrap(config, self, log);
      if (decision.mode === "refuse") {
        await storage.close();
        throw new Error(decision.reason);
      }
      if (decision.mode === "bootstrap") {
        bootstrap = config.masters.map((m) => ({ id: m.name, context: encodeMemberContext(m) }));
        log.info({ members: config.masters.map((m) => m.name) }, "founding a new cluster");
      } else {
        log.info({ via: decision.via }, "joining the existing cluster");
      }
    }

    const sm = new StoreStateMachine(config.clusterName);
    const configured = new Map(config.masters.map((m) => [m.name, m]));
    const transport = new WebSocketTransport({
      self: { id: name, host: self.host, port: self.raftPort },
      clusterName: config.clusterName,
      token: config.token,
      peers: config.masters.filter((m) => m.name !== name).map((m) => ({ id: m.name, host: m.host, port: m.raftPort })),
      logger: log.child({ component: "raft-transport" }),
    });
    const resolvePeer = (id: NodeId, context: Uint8Array | undefined): PeerAddress | null => {
      const fromContext = context ? safeJson(context) : null;
      if (fromContext) return { id, host: fromContext.host, port: fromContext.raftPort };
      const known = sm.members.get(id) ?? configured.get(id);
      return known ? { id, host: known.host, port: known.raftPort } : null;
    };

    const node = await RaftNode.start({
      id: name,
      bootstrap,
      storage,
      transport,
      stateMachine: sm,
      logger: log.child({ component: "raft" }),
      tickMs: config.raft.tickMs,
      heartbeatTicks: config.raft.heartbeatTicks,
      electionTicks: config.raft.electionTicks,
      snapshotEvery: config.raft.snapshotEvery,
      // Keep a tail behind each snapshot so briefly lagging followers catch up
      // from the log (etcd keeps 5000); never more than half the interval.
      snapshotCatchUpEntries: Math.min(5000, Math.floor(config.raft.snapshotEvery / 2)),
      resolvePeer,
      maxInflightMsgs: config.raft.maxInflightMsgs,
      maxInflightBytes: config.raft.maxInflightBytes,
      maxMsgBytes: config.raft.maxMsgBytes,
      maxEntriesPerMsg: config.raft.maxEntriesPerMsg,
      requestTimeoutMs: Math.max(5000, 5 * config.raft.electionTimeoutMs),
    });

    const propose = (command: Parameters<typeof encodeCommand>[0], opts: { fenceTerm?: number } = {}) =>
      node.propose(encodeCommand(command), undefined, opts);
    const lessor = new Lessor(sm, propose, log.child({ component: "lessor" }));
    // Lease expiry is a leader-only loop: its proposals are fenced to the term it leads in.
    node.onSoftStateChange((s, term) => (s.role === "leader" ? lessor.promote(term) : lessor.demote()));
    if (node.isLeader()) lessor.promote(node.status().term);

    const kv = new KvService({
      node,
      sm,
      lessor,
      self: { ...self, id: memberIdOf(config.clusterName, name), isLearner: false },
      clusterName: config.clusterName,
      peerToken: config.clientAuth === "token" ? config.token : null,
      configuredMasters: config.masters,
      logger: log.child({ component: "kv" }),
    });
    const compactor = new AutoCompactor({
      retainMinutes: config.store.retainMinutes,
      currentRevision: () => sm.mvcc.revision,
      compactRevision: () => sm.mvcc.compactRevision,
      isLeader: () => node.isLeader(),
      propose,
      logger: log.child({ component: "compactor" }),
    });

    const gateway = createGatewayHandler(kv, {
      auth: config.clientAuth === "token" ? { mode: "token", token: config.token } : { mode: "none" },
      logger: log.child({ component: "gateway" }),
    });
    let master: Master | null = null;
    const clientServer = createServer((req, res) => {
      if (master && master.serveOwnPaths(req, res)) return;
      gateway(req, res);
    });
    clientServer.keepAliveTimeout = 30_000;
    // Watch and keepalive streams may keep their request body open for hours.
    clientServer.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      clientServer.once("error", reject);
      clientServer.listen(self.clientPort, self.host, () => {
        clientServer.off("error", reject);
        resolve();
      });
    });
    const promoter = new LearnerPromoter(node, kv, log.child({ component: "promoter" }));
    master = new Master(config, self, node, kv, lessor, compactor, promoter, clientServer, gateway, log);
    // Resource metrics: every master scrapes the kubelets itself and serves
    // metrics.k8s.io from memory (never through Raft), reading node and pod
    // objects through its own API.
    const apiUrl = `http://${self.host}:${self.apiPort}`;
    const localClient = new KubeClient({ servers: [apiUrl], token: config.token, localAddress: self.host, userAgent: `pinsetter-master/${name}` });
    const scraper = new MetricsScraper({
      client: localClient,
      token: config.token,
      localAddress: self.host,
      intervalMs: config.autoscaling.metricsScrapeIntervalSeconds * 1000,
      logger: log.child({ component: "metrics" }),
    });
    master.scraper = scraper;
    master.localClient = localClient;
    // The Kubernetes-shaped API (src/apiserver) on the apiPort, served by every master.
    master.apiServer = await ApiServer.start({
      extensions: [
        { group: METRICS_API_GROUP, handle: createMetricsHandler(scraper, localClient) },
        { group: HPA_V1_GROUP, handle: createHpaV1Handler(localClient) },
      ],
      kv,
      host: self.host,
      port: self.apiPort,
      token: config.clientAuth === "token" ? config.token : null,
      kubeletToken: config.token,
      logger: log.child({ component: "apiserver" }),
      ready: () => node.status().leader !== null,
      certDir: dataDir,
    });
    scraper.start();
    // Scheduler and controllers: on the leader only, from its leader-ready
    // barrier, writing through this master's API with a fenced client.
    master.leaderLoops = new LeaderLoops({
      node,
      starters: leaderLoopStarters(config),
      apiUrl,
      token: config.token,
      localAddress: self.host,
      logger: log.child({ component: "leader-loops" }),
    });
    master.leaderLoops.start();
    sm.onConfChange((change) => {
      if (change.type !== "removeNode" || change.node !== name) return;
      // Like etcd, a removed member stops: it can no longer commit anything,
      // and clients must not keep trying it.
      log.warn("this master was removed from the cluster; shutting down");
      // A removed leader leads on until a quorum of the new configuration
      // confirmed the removal committed (raft core: leavingAt), so the others
      // are not stranded in the old configuration: stop once it stepped down.
      const stopWhenNotLeading = (waitedMs: number): void => {
        if (node.isLeader() && waitedMs < 30_000) {
          setTimeout(() => stopWhenNotLeading(waitedMs + 100), 100);
          return;
        }
        void master?.stop().then(() => master?.onRemoved?.());
      };
      setTimeout(() => stopWhenNotLeading(200), 200);
    });
    node.onFatal = (err) => {
      log.fatal({ err }, "raft halted; exiting so a supervisor can restart this master from disk");
      process.exit(70);
    };
    log.info({ host: self.host, raftPort: self.raftPort, clientPort: self.clientPort }, "master started");
    return master;
  }

  /** Called once this master has stopped because it was removed from the cluster. */
  onRemoved: (() => void) | null = null;

  /** The API server on this master's apiPort (set once it listens). */
  apiServer: ApiServer | null = null;
  private scraper: MetricsScraper | null = null;
  private localClient: KubeClient | null = null;
  private leaderLoops: LeaderLoops | null = null;

  status(): MasterStatus {
    const st = this.node.status();
    const matchIndex = st.progress ? Object.fromEntries(Object.entries(st.progress).map(([k, v]) => [k, v.match])) : null;
    return {
      name: this.self.name,
      pid: process.pid,
      role: st.role,
      term: st.term,
      leader: st.leader,
      commitIndex: st.commit,
      appliedIndex: this.node.applied,
      lastIndex: st.lastIndex,
      revision: this.kv.header().revision,
      matchIndex,
      voters: st.conf.voters,
      learners: st.conf.learners,
      healthy: st.leader !== null,
      memory: (({ rss, heapUsed, external, arrayBuffers }) => ({ rss, heapUsed, external, arrayBuffers }))(process.memoryUsage()),
      logEntriesInMemory: st.lastIndex - st.firstIndex + 1,
    };
  }

  /** /healthz (process up), /readyz (has a leader and applied the log), /status (JSON). */
  private serveOwnPaths(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/livez") {
      sendJson(res, 200, { ok: true });
      return true;
    }
    if (path === "/readyz") {
      const st = this.node.status();
      const ready = st.leader !== null && this.node.applied >= st.commit - 1000;
      sendJson(res, ready ? 200 : 503, { ready, leader: st.leader, commitIndex: st.commit, appliedIndex: this.node.applied });
      return true;
    }
    if (path === "/status") {
      if (!checkBearer(req, res, this.config.clientAuth === "token" ? this.config.token : null)) return true;
      sendJson(res, 200, this.status());
      return true;
    }
    return false;
  }

  async stop(): Promise<void> {
    await this.leaderLoops?.stop();
    await this.scraper?.stop();
    this.localClient?.close();
    await this.apiServer?.close();
    this.compactor.close();
    this.promoter.close();
    this.lessor.close();
    this.gateway.close();
    this.kv.close();
    await new Promise<void>((resolve) => {
      this.clientServer.close(() => resolve());
      this.clientServer.closeAllConnections();
    });
    await this.node.stop();
    this.log.info("master stopped");
  }
}

function safeJson(data: Uint8Array): { host: string; raftPort: number } | null {
  try {
    const v = JSON.parse(Buffer.from(data).toString("utf8")) as { host?: unknown; raftPort?: unknown };
    return typeof v.host === "string" && typeof v.raftPort === "number" ? { host: v.host, raftPort: v.raftPort } : null;
  } catch {
    return null;
  }
}
