// The cluster configuration (cluster.config.json, ARCHITECTURE section 2): the
// file as a user writes it, and the resolved form every process works from
// (defaults applied, dataDir absolute, Raft timings turned into ticks).

import path from "node:path";

export type ClientAuth = "token" | "none";
export const CLIENT_AUTH_MODES: readonly ClientAuth[] = ["token", "none"];

export type RuntimeKind = "docker" | "sim";
export const RUNTIME_KINDS: readonly RuntimeKind[] = ["docker", "sim"];

/**
 * Raft settings, resolved. The core runs on ticks, not on clocks: the driver
 * calls tick() every `tickMs`, and the core counts `heartbeatTicks` and
 * `electionTicks` (randomized in [electionTicks, 2*electionTicks)).
 */
export interface RaftSettings {
  heartbeatMs: number;
  electionTimeoutMs: number;
  /** Take a snapshot (and compact the log) after this many applied entries. */
  snapshotEvery: number;
  /** See deriveTickMs for the default. Divides heartbeatMs and electionTimeoutMs exactly. */
  tickMs: number;
  /** heartbeatMs / tickMs. */
  heartbeatTicks: number;
  /** electionTimeoutMs / tickMs. */
  electionTicks: number;
  /** Flow control: AppendEntries in flight per follower. */
  maxInflightMsgs: number;
  /** Flow control: payload bytes in flight per follower (0: only maxInflightMsgs bounds it). */
  maxInflightBytes: number;
  /** Batching: payload bytes per AppendEntries. */
  maxMsgBytes: number;
  /** Batching: entries per AppendEntries. */
  maxEntriesPerMsg: number;
}

export interface StoreSettings {
  /** Automatic compaction keeps at least this many minutes of revisions. */
  retainMinutes: number;
}

/**
 * Node heartbeats and the node lifecycle controller (issue 9), resolved.
 * Defaults aim at a lost node's pods running elsewhere within about 10 s:
 * kubelets renew their Lease every 1 s, a node silent for 4 s turns
 * Ready=Unknown and is tainted unreachable, and pods without their own
 * toleration are evicted 1 s later (their owners then replace them).
 * Kubernetes' defaults are 10 s / 40 s / 300 s; they are far slower on purpose.
 */
export interface NodeLifecycleSettings {
  /** How often a kubelet renews its Lease in kube-node-lease. */
  leaseRenewIntervalSeconds: number;
  /** A node whose Lease has not been renewed for this long becomes Ready=Unknown. */
  nodeMonitorGracePeriodSeconds: number;
  /** How often the controller looks at every node. */
  nodeMonitorPeriodSeconds: number;
  /** tolerationSeconds for node.kubernetes.io/unreachable:NoExecute, for pods that do not set their own. */
  defaultUnreachableTolerationSeconds: number;
  /** tolerationSeconds for node.kubernetes.io/not-ready:NoExecute, for pods that do not set their own. */
  defaultNotReadyTolerationSeconds: number;
  /** With at least this fraction of all nodes unhealthy at once, nothing is evicted (Kubernetes' unhealthyZoneThreshold). */
  unhealthyZoneThreshold: number;
}

/**
 * Resource metrics and the horizontal pod autoscaler (issue 11), resolved.
 * Kubernetes: metrics-server scrapes every 15 s (60 s by default before
 * 0.6), the HPA syncs every 15 s; shorter here so demos and tests respond.
 */
export interface AutoscalingSettings {
  /** How often every master scrapes every kubelet's /stats/summary. */
  metricsScrapeIntervalSeconds: number;
  /** How often the HPA controller reconciles every HorizontalPodAutoscaler. */
  syncPeriodSeconds: number;
}

/** Which placer the default scheduler uses (issue 12). */
export type PlacerKind = "greedy" | "flow";
export const PLACER_KINDS: readonly PlacerKind[] = ["greedy", "flow"];

/** The scheduler on the leader master (issue 12), resolved. */
export interface SchedulerSettings {
  /** The default scheduler's placer: "greedy" (one pod at a time) or "flow" (a batch by min-cost flow; a pod alone still goes greedy). */
  placer: PlacerKind;
  /** Pods handed to the flow placer per cycle at most. */
  batchSize: number;
  /** Pods with this spec.schedulerName are placed by a second scheduler that always uses the flow placer; "" for none. */
  flowSchedulerName: string;
}

export interface MasterConfig {
  name: string;
  host: string;
  raftPort: number;
  clientPort: number;
  apiPort: number;
}

export interface NodeCapacity {
  /** As written (or defaulted), e.g. "2", "500m"; reported in Node status unchanged. */
  cpu: string;
  /** As written (or defaulted), e.g. "4Gi". */
  memory: string;
  pods: number;
  /** `cpu` parsed. */
  cpuMillicores: number;
  /** `memory` parsed. */
  memoryBytes: number;
}

export interface NodeConfig {
  name: string;
  host: string;
  kubeletPort: number;
  runtime: RuntimeKind;
  capacity: NodeCapacity;
}

/** The resolved configuration: every field present, paths absolute. */
export interface ClusterConfig {
  /** Absolute path of the file this came from. */
  configPath: string;
  /** Directory of configPath; relative paths in the file resolve against it. */
  configDir: string;
  clusterName: string;
  /** Absolute. Each member keeps its data under <dataDir>/<name>/. */
  dataDir: string;
  /** Bearer token of the client and API ports, and the secret of the peer handshake HMAC. */
  token: string;
  clientAuth: ClientAuth;
  raft: RaftSettings;
  store: StoreSettings;
  nodeLifecycle: NodeLifecycleSettings;
  autoscaling: AutoscalingSettings;
  /** Optional so that configs built in code before issue 12 stay valid: absent means CONFIG_DEFAULTS.scheduler. */
  scheduler?: SchedulerSettings;
  masters: MasterConfig[];
  nodes: NodeConfig[];
}

/** The file as written. Fields marked optional have defaults (CONFIG_DEFAULTS). */
export interface ClusterConfigFile {
  clusterName: string;
  dataDir?: string;
  token: string;
  clientAuth?: ClientAuth;
  raft?: {
    heartbeatMs?: number;
    electionTimeoutMs?: number;
    snapshotEvery?: number;
    tickMs?: number;
    maxInflightMsgs?: number;
    maxInflightBytes?: number;
    maxMsgBytes?: number;
    maxEntriesPerMsg?: number;
  };
  store?: { retainMinutes?: number };
  nodeLifecycle?: Partial<NodeLifecycleSettings>;
  autoscaling?: Partial<AutoscalingSettings>;
  scheduler?: Partial<SchedulerSettings>;
  masters: MasterConfig[];
  nodes?: {
    name: string;
    host: string;
    kubeletPort: number;
    runtime: RuntimeKind;
    capacity?: { cpu?: string; memory?: string; pods?: number };
  }[];
}

export const CONFIG_DEFAULTS = {
  dataDir: ".pinsetter",
  clientAuth: "token" as ClientAuth,
  raft: {
    heartbeatMs: 100,
    electionTimeoutMs: 1000,
    snapshotEvery: 10_000,
    maxInflightMsgs: 256,
    maxInflightBytes: 32 * 1024 * 1024,
    maxMsgBytes: 1024 * 1024,
    maxEntriesPerMsg: 1024,
  },
  store: { retainMinutes: 5 },
  nodeLifecycle: {
    leaseRenewIntervalSeconds: 1,
    nodeMonitorGracePeriodSeconds: 4,
    nodeMonitorPeriodSeconds: 0.5,
    defaultUnreachableTolerationSeconds: 1,
    defaultNotReadyTolerationSeconds: 1,
    unhealthyZoneThreshold: 0.55,
  },
  autoscaling: { metricsScrapeIntervalSeconds: 5, syncPeriodSeconds: 5 },
  scheduler: { placer: "greedy" as PlacerKind, batchSize: 1000, flowSchedulerName: "flow-scheduler" },
  capacity: { cpu: "2", memory: "4Gi", pods: 110 },
} as const;

/** The derived tick is at most this long: finer ticks spread randomized election timeouts over more slots. */
export const MAX_DERIVED_TICK_MS = 50;
/** A derived tick shorter than this is refused (set raft.tickMs to mean it). */
export const MIN_DERIVED_TICK_MS = 5;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The default tick: the largest duration of at most MAX_DERIVED_TICK_MS that
 * divides both heartbeatMs and electionTimeoutMs, so both become exact tick
 * counts. Defaults 100/1000 give a 50 ms tick: heartbeatTicks 2, electionTicks
 * 20, i.e. 20 distinct randomized election timeouts in [1000, 2000) ms where
 * etcd's one-tick-per-heartbeat scheme has 10. Fewer equal draws, fewer split votes,
 * for 20 timer wake-ups a second. May return less than MIN_DERIVED_TICK_MS
 * (e.g. 101/1000 -> 1); validation refuses that.
 */
export function deriveTickMs(heartbeatMs: number, electionTimeoutMs: number): number {
  const g = gcd(heartbeatMs, electionTimeoutMs);
  for (let d = Math.min(g, MAX_DERIVED_TICK_MS); d > 1; d--) {
    if (g % d === 0) return d;
  }
  return 1;
}

/** Where master `name` keeps its Raft log, snapshots and store: <dataDir>/<name>. */
export function masterDataDir(cfg: ClusterConfig, name: string): string {
  return memberDir(cfg, name);
}

/** Where node `name` may keep local state: <dataDir>/<name> (names are unique across masters and nodes). */
export function nodeDataDir(cfg: ClusterConfig, name: string): string {
  return memberDir(cfg, name);
}

/** Member names are DNS labels (RFC 1123): they become directory names and Node object names. */
export const MEMBER_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function memberDir(cfg: ClusterConfig, name: string): string {
  // Validated names never contain "/" or ".."; this guards callers passing unchecked input.
  if (!MEMBER_NAME_RE.test(name)) throw new Error(`invalid member name ${JSON.stringify(name)}`);
  return path.join(cfg.dataDir, name);
}
