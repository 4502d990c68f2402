// The kubelet of one node (ARCHITECTURE §6): registers the Node and renews
// its Lease, watches the pods bound to it, runs one worker per pod, probes,
// cleans up what no pod owns, and serves its HTTP endpoints. It talks to the
// masters over HTTP only. The dispatch loop of Kubernetes' syncLoopIteration
// is spread over event handlers that only hand work to pod workers: informer
// events (pod updates), runtime events (a container started or died), probe
// result changes, a periodic resync tick and periodic housekeeping.

import os from "node:os";
import fs from "node:fs";
import type { Logger } from "pino";
import type { Pod } from "../api/types.js";
import { KubeClient } from "../client/kube-client.js";
import { EventRecorder } from "../client/event-recorder.js";
import { Informer } from "../client/informer.js";
import { NodeHeartbeat, buildNode, localHealth, systemInfo, type NodeHealth, type NodeIdentity } from "./node-status.js";
import { PodSyncer } from "./pod-sync.js";
import { PodWorkers } from "./pod-workers.js";
import { podView } from "./pod-view.js";
import { Prober } from "./prober.js";
import type { ContainerRuntime, LogOptions, RuntimeVersion } from "./runtime.js";
import { KubeletServer, type KubeletEndpoints } from "./server.js";
import { StatsCollector, type Summary } from "./stats.js";
import { StatusManager } from "./status-manager.js";
import type { PodSource } from "./pod-source.js";

export interface KubeletOptions {
  nodeName: string;
  /** The node's address: it binds and dials from here, and it is the InternalIP. */
  host: string;
  kubeletPort: number;
  capacity: { cpu: string; memory: string; pods: number };
  /** API server base URLs of every master. */
  servers: string[];
  token: string;
  runtime: ContainerRuntime;
  /** Node-local state (pod volumes); null for hollow nodes. */
  nodeDir: string | null;
  logger: Logger;
  /** Lease renewal period (config nodeLifecycle.leaseRenewIntervalSeconds). Default 1 s. */
  leaseRenewMs?: number;
  /** leaseDurationSeconds written in the Lease. Default 40 (Kubernetes'). */
  leaseDurationSeconds?: number;
  /** Full Node status refresh period; conditions are pushed at once when they change. Default 10 s. */
  nodeStatusMs?: number;
  /** Every pod is synced again this often (missed runtime events). Default 10 s. */
  resyncMs?: number;
  /** Orphan containers are looked for this often. Default 10 s. */
  housekeepingMs?: number;
  /** Extra Node labels. */
  labels?: Record<string, string>;
  /** Serve HTTP on host:kubeletPort (default true). */
  serveHttp?: boolean;
  /** Probe local memory/disk/PID pressure (default true; hollow nodes do not). */
  localHealth?: boolean;
  /** A client shared with other kubelets of this process (not closed on stop). */
  client?: KubeClient;
  /** Where the pods of this node come from (default: its own watch with spec.nodeName). */
  pods?: PodSource;
  /** Record Events about pods (default true; hollow nodes spare the API these writes). */
  events?: boolean;
}

/**
 * A pod watch silent this long is started again: the API server sends a
 * bookmark every 10 s, so silence means a master cut off by a partition.
 */
export const WATCH_IDLE_TIMEOUT_MS = 35_000;

export class Kubelet implements KubeletEndpoints {
  readonly nodeName: string;
  readonly client: KubeClient;
  readonly runtime: ContainerRuntime;
  readonly workers: PodWorkers;
  readonly syncer: PodSyncer;
  readonly heartbeat: NodeHeartbeat;
  private readonly informer: PodSource;
  private readonly prober: Prober;
  private readonly status: StatusManager;
  private readonly events: EventRecorder | null;
  private readonly stats: StatsCollector;
  private readonly server: KubeletServer | null;
  private readonly log: Logger;
  private readonly podsByUid = new Map<string, Pod>();
  private readonly timers: NodeJS.Timeout[] = [];
  private runtimeVersion: RuntimeVersion | null = null;
  private runtimeUp = true;
  private stopped = false;
  private housekeepingRunning = false;
  readonly startTime = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

  constructor(private readonly opts: KubeletOptions) {
    this.nodeName = opts.nodeName;
    this.runtime = opts.runtime;
    this.log = opts.logger.child({ component: "kubelet", node: opts.nodeName });
    this.client = opts.client ?? new KubeClient({ servers: opts.servers, token: opts.token, localAddress: opts.host, userAgent: `kubelet/${opts.nodeName}`, timeoutMs: 15_000 });
    this.status = new StatusManager(this.client, this.log);
    this.events = opts.events === false ? null : new EventRecorder(this.client, "kubelet", opts.nodeName, { onError: (err) => this.log.debug({ err: err.message }, "event not recorded") });
    this.prober = new Prober(this.runtime, (uid) => this.workers.resync(uid), this.log, (pod, container, kind) =>
      this.events?.event(pod, "Warning", "Unhealthy", `${kind[0]!.toUpperCase()}${kind.slice(1)} probe of container ${container} failed`),
    );
    this.syncer = new PodSyncer({
      nodeName: opts.nodeName,
      hostIP: opts.host,
      nodeDir: opts.nodeDir,
      runtime: this.runtime,
      client: this.client,
      prober: this.prober,
      status: this.status,
      log: this.log,
      ...(this.events ? { events: this.events } : {}),
    });
    this.workers = new PodWorkers(
      {
        sync: (pod, signal) => this.syncer.syncPod(pod, signal),
        terminate: async (pod, removed) => {
          await this.syncer.terminatePod(pod, { deleteFromApi: !removed });
          this.podsByUid.delete(pod.metadata.uid ?? "");
        },
        current: (uid) => this.podsByUid.get(uid),
      },
      this.log,
    );
    this.informer =
      opts.pods ??
      new Informer<Pod>(this.client, "pods", {
        fieldSelector: `spec.nodeName=${opts.nodeName}`,
        onError: (err) => this.log.warn({ err: err.message }, "pod watch failed; retrying"),
        idleTimeoutMs: WATCH_IDLE_TIMEOUT_MS,
      });
    this.informer.addHandlers({
      onAdd: (pod) => this.podChanged(pod),
      onUpdate: (_old, pod) => this.podChanged(pod),
      onDelete: (pod) => {
        const uid = pod.metadata.uid ?? "";
        // A pod this kubelet already terminated (and deleted) needs nothing more.
        if (!this.workers.has(uid)) {
          this.podsByUid.delete(uid);
          return;
        }
        this.podsByUid.set(uid, pod);
        this.workers.removed(pod);
      },
    });
    const identity: NodeIdentity = { name: opts.nodeName, host: opts.host, kubeletPort: opts.kubeletPort, capacity: opts.capacity, ...(opts.labels ? { labels: opts.labels } : {}) };
    this.identity = identity;
    this.heartbeat = new NodeHeartbeat(
      this.client,
      identity,
      async () => systemInfo(this.runtimeVersion ?? (await this.fetchRuntimeVersion()), opts.nodeName),
      () => this.health(),
      {
        leaseRenewMs: opts.leaseRenewMs ?? 1000,
        leaseDurationSeconds: opts.leaseDurationSeconds ?? 40,
        nodeStatusMs: opts.nodeStatusMs ?? 10_000,
      },
      this.log,
    );
    this.stats = new StatsCollector(this.runtime, opts.nodeName, this.startTime);
    this.server = opts.serveHttp === false ? null : new KubeletServer(this, { host: opts.host, port: opts.kubeletPort, token: opts.token, log: this.log });
  }

  private readonly identity: NodeIdentity;

  /** Starts everything; resolves once the runtime and HTTP server are up (the API may still be unreachable). */
  async start(): Promise<void> {
    if (this.opts.nodeDir) fs.mkdirSync(this.opts.nodeDir, { recursive: true });
    await this.runtime.start();
    await this.fetchRuntimeVersion();
    this.runtime.onContainerEvent((uid) => {
      if (this.workers.has(uid)) this.workers.resync(uid);
    });
    await this.server?.listen();
    void this.heartbeat.start();
    this.informer.start();
    void this.informer.waitForSync().then(() => {
      if (!this.stopped) void this.housekeeping();
    });
    const resyncMs = this.opts.resyncMs ?? 10_000;
    this.timers.push(
      setInterval(() => {
        for (const uid of this.workers.uids()) this.workers.resync(uid);
      }, resyncMs),
    );
    this.timers.push(setInterval(() => void this.housekeeping(), this.opts.housekeepingMs ?? 10_000));
    this.log.info({ host: this.opts.host, port: this.opts.kubeletPort, runtime: this.runtime.kind }, "kubelet started");
  }

  /** Stops watching and serving; leaves containers running (a restarted kubelet adopts them). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.informer.stop();
    this.heartbeat.stop();
    this.workers.stop();
    this.prober.stop();
    await this.server?.close();
    await this.events?.close(1000).catch(() => undefined);
    await this.runtime.close();
    if (!this.opts.client) this.client.close();
  }

  get httpPort(): number {
    return this.server?.port ?? this.opts.kubeletPort;
  }

  private podChanged(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (!uid) return;
    this.podsByUid.set(uid, pod);
    this.workers.update(pod);
  }

  private async fetchRuntimeVersion(): Promise<RuntimeVersion> {
    try {
      this.runtimeVersion = await this.runtime.version();
      this.runtimeUp = true;
    } catch (err) {
      this.runtimeUp = false;
      this.log.warn({ err: (err as Error).message }, "container runtime is not answering");
    }
    return this.runtimeVersion ?? { runtimeName: this.runtime.kind, runtimeVersion: "unknown", kernelVersion: "", osImage: "" };
  }

  private async health(): Promise<NodeHealth> {
    try {
      await this.runtime.ping();
      if (!this.runtimeUp || !this.runtimeVersion) await this.fetchRuntimeVersion();
      else this.runtimeUp = true;
    } catch (err) {
      if (this.runtimeUp) this.log.warn({ err: (err as Error).message }, "container runtime is not answering");
      this.runtimeUp = false;
    }
    const local = this.opts.localHealth === false ? { memoryPressure: false, diskPressure: false, pidPressure: false } : localHealth(this.opts.nodeDir);
    return { runtimeUp: this.runtimeUp, ...(this.runtimeUp ? {} : { runtimeMessage: "container runtime is down" }), ...local };
  }

  /** Removes containers that no pod bound to this node owns (deleted while we were away). */
  async housekeeping(): Promise<void> {
    if (this.stopped || this.housekeepingRunning || !this.informer.hasSynced) return;
    this.housekeepingRunning = true;
    try {
      const containers = await this.runtime.listContainers();
      const known = new Set(this.informer.list().map((p) => p.metadata.uid));
      const orphans = new Set(containers.map((c) => c.podUid).filter((uid) => !known.has(uid) && !this.workers.has(uid)));
      for (const uid of orphans) {
        this.log.info({ podUid: uid }, "removing containers of a pod no longer bound here");
        const view = podView(containers.filter((c) => c.podUid === uid));
        await this.syncer.cleanup(uid, view);
      }
      this.syncer.backoff.gc(Date.now());
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "housekeeping failed");
    } finally {
      this.housekeepingRunning = false;
    }
  }

  // ------------------------------------------------------------------ endpoints

  healthy(): boolean {
    return !this.stopped && this.runtimeUp;
  }

  pods(): Pod[] {
    return this.informer.list().map((p) => {
      const s = this.status.latest.get(p.metadata.uid ?? "");
      return s ? { ...p, status: s } : p;
    });
  }

  /** The Node object this kubelet reports (for /spec and tests). */
  nodeObject() {
    return buildNode(this.identity, systemInfo(this.runtimeVersion ?? { runtimeName: this.runtime.kind, runtimeVersion: "", kernelVersion: "", osImage: "" }, this.nodeName), { runtimeUp: this.runtimeUp, memoryPressure: false, diskPressure: false, pidPressure: false }, null);
  }

  spec(): Record<string, unknown> {
    const cpus = os.cpus();
    return {
      num_cores: cpus.length,
      cpu_frequency_khz: (cpus[0]?.speed ?? 0) * 1000,
      memory_capacity: os.totalmem(),
      machine_id: this.nodeObject().status?.nodeInfo?.machineID ?? "",
      boot_id: this.nodeObject().status?.nodeInfo?.bootID ?? "",
      node: this.nodeName,
      capacity: this.opts.capacity,
      runtime: this.runtime.kind,
    };
  }

  async logTarget(namespace: string, podName: string, container: string, previous: boolean): Promise<{ id: string } | { error: string; code: number }> {
    const pod = this.informer.get(`${namespace}/${podName}`);
    if (!pod) return { error: `pod ${namespace}/${podName} is not on node ${this.nodeName}`, code: 404 };
    const view = podView(await this.runtime.podContainers(pod.metadata.uid ?? ""));
    const insts = view.app.get(container) ?? view.init.get(container);
    if (!insts) return { error: `container ${container} in pod ${podName} has not started`, code: 404 };
    const inst = previous ? insts.previous : insts.latest;
    if (!inst) return { error: `previous terminated container ${container} in pod ${podName} not found`, code: 400 };
    return { id: inst.id };
  }

  writeLogs(id: string, opts: LogOptions, out: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
    return this.runtime.logs(id, opts, out, signal);
  }

  async summary(): Promise<Summary> {
    return this.stats.summary(await this.runtime.listContainers());
  }
}
