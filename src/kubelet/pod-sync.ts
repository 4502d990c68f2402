// One pass of bringing a pod to its spec (kubelet's SyncPod, and
// SyncTerminatingPod for deletion): read what the runtime holds, compute the
// actions (pod-actions.ts), do them, and push the resulting status. Called by
// the pod worker of that pod only, never concurrently for one pod.

import fs from "node:fs/promises";
import http from "node:http";
import type { Logger } from "pino";
import type { ConfigMap, Container, LifecycleHandler, Pod, Secret } from "../api/types.js";
import type { EventRecorder } from "../client/event-recorder.js";
import { KubeApiError, type KubeClient } from "../client/kube-client.js";
import { backoffKey, RestartBackoff, DEFAULT_BACKOFF } from "./backoff.js";
import {
  containerHash,
  ContainerConfigError,
  envReferences,
  pullPolicy,
  resolveCommand,
  resolveEnv,
  resolvePort,
  resourceLimits,
} from "./container-config.js";
import { computePodActions, type StartAction, type Waiting } from "./pod-actions.js";
import { computePodStatus } from "./pod-status.js";
import { podView, type PodView } from "./pod-view.js";
import type { Prober } from "./prober.js";
import { ImageError, type ContainerRuntime, type PortBinding, type RuntimeContainer } from "./runtime.js";
import type { StatusManager } from "./status-manager.js";
import { containerMounts, podDir, prepareVolumes } from "./volumes.js";

export interface PodSyncerDeps {
  nodeName: string;
  hostIP: string;
  /** Node-local state (volumes); null for hollow nodes, which have none. */
  nodeDir: string | null;
  runtime: ContainerRuntime;
  client: KubeClient;
  prober: Prober;
  status: StatusManager;
  log: Logger;
  backoff?: RestartBackoff;
  /** Events about pods (Started, Killing, BackOff, Failed), as `kubectl describe` shows them. */
  events?: EventRecorder;
}

export interface SyncResult {
  /** Sync again after this long (a back-off ends, a kill needs a restart). */
  requeueAfterMs: number | null;
}

const DEFAULT_GRACE_SECONDS = 30;
const POST_START_TIMEOUT_MS = 30_000;

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function podKey(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

export function gracePeriodSeconds(pod: Pod): number {
  return pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
}

/** Every hostPort of the pod's containers, bound on the node's address. */
export function portBindings(pod: Pod, hostIP: string): PortBinding[] {
  const out: PortBinding[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ containerPort: p.containerPort, hostPort: p.hostPort, hostIP: p.hostIP || hostIP, protocol: p.protocol ?? "TCP" });
    }
  }
  return out;
}

export class PodSyncer {
  readonly backoff: RestartBackoff;
  /** Pulls and starts that failed, by back-off key: when (ms), and why. */
  private readonly failures = new Map<string, { at: number; waiting: Waiting; pull: boolean }>();
  private readonly failureBackoff = new RestartBackoff(DEFAULT_BACKOFF);

  constructor(private readonly d: PodSyncerDeps) {
    this.backoff = d.backoff ?? new RestartBackoff();
  }

  async syncPod(pod: Pod, signal: AbortSignal): Promise<SyncResult> {
    const uid = pod.metadata.uid ?? "";
    const { runtime, prober } = this.d;
    const now = Date.now();
    const marks: Record<string, number> = {};
    const mark = (what: string) => (marks[what] = Date.now() - now);
    let view = podView(await runtime.podContainers(uid));
    mark("listed");
    const actions = computePodActions({
      pod,
      view,
      now,
      backoff: this.backoff,
      hash: containerHash,
      liveness: (id) => prober.result(id, "liveness"),
      startup: (id) => prober.result(id, "startup"),
    });
    const waiting = new Map(actions.waiting);
    for (const [name, w] of actions.waiting) this.d.events?.event(pod, "Warning", "BackOff", `Back-off restarting failed container ${name}: ${w.message ?? w.reason}`);
    let wakeAt = actions.wakeAt;
    let changed = false;

    const grace = pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    await Promise.all(
      actions.kill.map(async (k) => {
        this.d.log.info({ pod: podKey(pod), container: k.container.name, reason: k.reason }, "killing container");
        if (k.container.kind !== "sandbox") this.d.events?.event(pod, "Normal", "Killing", `Stopping container ${k.container.name}: ${k.reason}`);
        await runtime.stopContainer(k.container.id, k.container.kind === "sandbox" ? 0 : grace);
        changed = true;
      }),
    );
    for (const r of actions.remove) await runtime.removeContainer(r.id);
    if (actions.stopSandbox && view.sandbox) {
      await runtime.stopContainer(view.sandbox.id, 0);
      changed = true;
    }

    let sandbox: RuntimeContainer | null = view.sandbox;
    if (actions.createSandbox && !signal.aborted) {
      const key = `${uid}/POD/`;
      const failed = this.failures.get(key);
      const until = failed ? this.failureBackoff.backoffUntil(key, failed.at, Date.now()) : null;
      if (until !== null) {
        for (const c of pod.spec.containers) waiting.set(c.name, failed!.waiting);
        wakeAt = wakeAt === null ? until : Math.min(wakeAt, until);
      } else {
        try {
          sandbox = await runtime.runSandbox({
            podUid: uid,
            podNamespace: pod.metadata.namespace ?? "default",
            podName: pod.metadata.name ?? "",
            annotations: pod.metadata.annotations ?? {},
            attempt: actions.createSandbox.attempt,
            hostname: pod.spec.hostname ?? pod.metadata.name ?? "pod",
            portBindings: portBindings(pod, this.d.hostIP),
            hostNetwork: pod.spec.hostNetwork === true,
            hostIP: this.d.hostIP,
          });
          this.failures.delete(key);
          changed = true;
          mark("sandbox");
          this.d.log.info({ pod: podKey(pod), ip: sandbox.ip }, "sandbox started");
        } catch (err) {
          // A hostPort already taken, a missing pause image, ...: the pod waits and says why.
          const message = `failed to create pod sandbox: ${(err as Error).message}`;
          this.d.log.warn({ pod: podKey(pod), err: message }, "cannot start pod sandbox");
          this.d.events?.event(pod, "Warning", "FailedCreatePodSandBox", message);
          const w: Waiting = { reason: "ContainerCreating", message };
          for (const c of pod.spec.containers) waiting.set(c.name, w);
          this.failureBackoff.restarted(key, Date.now());
          this.failures.set(key, { at: Date.now(), waiting: w, pull: false });
          const next = Date.now() + this.failureBackoff.currentDelay(key);
          wakeAt = wakeAt === null ? next : Math.min(wakeAt, next);
          sandbox = null;
          changed = true;
        }
      }
    }

    if (actions.start.length > 0 && sandbox && sandbox.state === "running" && !signal.aborted) {
      let volumes: Awaited<ReturnType<typeof prepareVolumes>> | null = null;
      for (const s of actions.start) {
        if (signal.aborted) break;
        const key = backoffKey(uid, s.container.name, s.hash);
        const failed = this.failures.get(key);
        if (failed) {
          const until = this.failureBackoff.backoffUntil(key, failed.at, Date.now());
          if (until !== null) {
            waiting.set(s.container.name, failed.pull ? { reason: "ImagePullBackOff", message: `Back-off pulling image "${s.container.image}"` } : failed.waiting);
            wakeAt = wakeAt === null ? until : Math.min(wakeAt, until);
            continue;
          }
        }
        try {
          volumes ??= this.d.nodeDir ? await prepareVolumes(pod, podDir(this.d.nodeDir, uid), this.volumeSources(pod)) : new Map();
          await this.startContainer(pod, s, sandbox, volumes, signal);
          this.failures.delete(key);
          if (s.attempt > 0) this.backoff.restarted(key, Date.now());
          changed = true;
        } catch (err) {
          if (signal.aborted) break;
          const w: Waiting =
            err instanceof ImageError
              ? { reason: err.reason, message: err.message }
              : err instanceof ContainerConfigError
                ? { reason: "CreateContainerConfigError", message: err.message }
                : { reason: "RunContainerError", message: (err as Error).message };
          this.d.log.warn({ pod: podKey(pod), container: s.container.name, reason: w.reason, err: w.message }, "cannot start container");
          waiting.set(s.container.name, w);
          this.d.events?.event(pod, "Warning", "Failed", `${w.reason}: ${w.message ?? ""}`);
          this.failureBackoff.restarted(key, Date.now());
          this.failures.set(key, { at: Date.now(), waiting: w, pull: err instanceof ImageError && err.reason === "ErrImagePull" });
          const until = Date.now() + this.failureBackoff.currentDelay(key);
          wakeAt = wakeAt === null ? until : Math.min(wakeAt, until);
        }
        if (s.kind === "init") break;
      }
    }

    mark("started");
    if (changed) view = podView(await runtime.podContainers(uid));
    mark("relisted");
    prober.sync(pod, view, view.sandbox?.ip ?? "");
    const status = computePodStatus({
      pod,
      view,
      waiting,
      readiness: (id) => prober.result(id, "readiness"),
      startup: (id) => prober.result(id, "startup"),
      hostIP: this.d.hostIP,
      now: nowIso(),
      podFailed: actions.podFailed,
      deadlineExceeded: actions.deadlineExceeded,
      idPrefix: `${runtime.kind}://`,
    });
    if (!signal.aborted) await this.d.status.push(pod, status);
    mark("status");
    if (changed) this.d.log.debug({ pod: podKey(pod), ms: marks }, "pod synced");
    // Killed containers restart on the next pass; back-offs end at wakeAt.
    const requeue = actions.kill.length > 0 ? 200 : wakeAt !== null ? Math.max(50, wakeAt - Date.now()) : null;
    return { requeueAfterMs: requeue };
  }

  private volumeSources(pod: Pod) {
    const ns = pod.metadata.namespace ?? "default";
    return {
      configMap: (name: string) => this.getOrNull<ConfigMap>("configmaps", ns, name),
      secret: (name: string) => this.getOrNull<Secret>("secrets", ns, name),
    };
  }

  private async getOrNull<T extends ConfigMap | Secret>(resource: string, ns: string, name: string): Promise<T | null> {
    try {
      return await this.d.client.get<T>(resource, ns, name);
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return null;
      throw err;
    }
  }

  private async startContainer(pod: Pod, s: StartAction, sandbox: RuntimeContainer, volumes: Awaited<ReturnType<typeof prepareVolumes>>, signal: AbortSignal): Promise<void> {
    const c: Container = s.container;
    const ns = pod.metadata.namespace ?? "default";
    await this.d.runtime.ensureImage(c.image ?? "", pullPolicy(c), signal);
    const refs = envReferences(c);
    const configMaps = new Map<string, ConfigMap | null>();
    const secrets = new Map<string, Secret | null>();
    for (const n of refs.configMaps) configMaps.set(n, await this.getOrNull<ConfigMap>("configmaps", ns, n));
    for (const n of refs.secrets) secrets.set(n, await this.getOrNull<Secret>("secrets", ns, n));
    const env = resolveEnv(pod, c, { configMaps, secrets, nodeName: this.d.nodeName, hostIP: this.d.hostIP, podIP: sandbox.ip ?? "" });
    const command = resolveCommand(c, env);
    const id = await this.d.runtime.createContainer({
      podUid: pod.metadata.uid ?? "",
      podNamespace: ns,
      podName: pod.metadata.name ?? "",
      annotations: pod.metadata.annotations ?? {},
      name: c.name,
      kind: s.kind,
      attempt: s.attempt,
      hash: s.hash,
      image: c.image ?? "",
      ...command,
      env,
      ...(c.workingDir ? { workingDir: c.workingDir } : {}),
      mounts: containerMounts(c, volumes),
      ...resourceLimits(c),
      sandboxId: sandbox.id,
      tty: c.tty === true,
      stdin: c.stdin === true,
    });
    try {
      await this.d.runtime.startContainer(id);
    } catch (err) {
      // Never leave a created-but-not-started instance behind: it would be retried at once.
      await this.d.runtime.removeContainer(id).catch(() => undefined);
      throw err;
    }
    this.d.log.info({ pod: podKey(pod), container: c.name, attempt: s.attempt }, "container started");
    this.d.events?.event(pod, "Normal", "Started", `Started container ${c.name}`);
    const postStart = c.lifecycle?.postStart;
    if (postStart && !(await this.runHook(c, postStart, id, sandbox.ip ?? "", POST_START_TIMEOUT_MS))) {
      // As Kubernetes: a failed postStart hook kills the container; restartPolicy decides what follows.
      this.d.log.warn({ pod: podKey(pod), container: c.name }, "postStart hook failed; killing the container");
      this.d.events?.event(pod, "Warning", "FailedPostStartHook", `PostStartHook of container ${c.name} failed`);
      await this.d.runtime.stopContainer(id, pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS);
    }
  }

  /**
   * Stops every container of the pod: preStop hooks, then SIGTERM and SIGKILL
   * after the grace period; the sandbox last. With `deleteFromApi`, reports
   * the final status and deletes the pod object (grace 0), as Kubernetes'
   * kubelet does once the containers are gone. Then removes the containers
   * and the pod's volumes.
   */
  async terminatePod(pod: Pod, opts: { deleteFromApi: boolean; graceSeconds?: number }): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    const { runtime } = this.d;
    const grace = opts.graceSeconds ?? gracePeriodSeconds(pod);
    const deadline = Date.now() + grace * 1000;
    this.d.prober.removePod(uid);
    let view = podView(await runtime.podContainers(uid));
    const running = (insts: { latest: RuntimeContainer }[]) => insts.map((i) => i.latest).filter((c) => c.state === "running");
    await Promise.all(
      running([...view.app.values()]).map(async (c) => {
        const spec = pod.spec.containers.find((s) => s.name === c.name);
        if (spec?.lifecycle?.preStop && grace > 0) await this.preStop(pod, spec, c, view, deadline);
        const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
        await runtime.stopContainer(c.id, left);
      }),
    );
    await Promise.all(running([...view.init.values()]).map((c) => runtime.stopContainer(c.id, 0)));
    if (view.sandbox?.state === "running") await runtime.stopContainer(view.sandbox.id, 0);
    this.d.log.info({ pod: podKey(pod) }, "pod containers stopped");

    if (opts.deleteFromApi) {
      view = podView(await runtime.podContainers(uid));
      try {
        const status = computePodStatus({
          pod,
          view,
          waiting: new Map(),
          readiness: () => "failure",
          startup: () => "unknown",
          hostIP: this.d.hostIP,
          now: nowIso(),
          podFailed: false,
          idPrefix: `${runtime.kind}://`,
        });
        await this.d.status.push(pod, status);
      } catch {
        // The pod may be gone already; deleting below is what matters.
      }
      try {
        await this.d.client.delete("pods", pod.metadata.namespace, pod.metadata.name ?? "", { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (err) {
        if (!(err instanceof KubeApiError && (err.notFound || err.conflict))) throw err;
      }
    }
    await this.cleanup(uid, view);
  }

  /** Removes every container of a pod and its directory. */
  async cleanup(uid: string, view?: PodView): Promise<void> {
    const v = view ?? podView(await this.d.runtime.podContainers(uid));
    const all = [v.sandbox, ...v.oldSandboxes, ...[...v.init.values(), ...v.app.values()].flatMap((i) => [i.latest, i.previous, ...i.older])].filter((c): c is RuntimeContainer => !!c);
    await Promise.all(all.map((c) => this.d.runtime.removeContainer(c.id)));
    if (this.d.nodeDir) await fs.rm(podDir(this.d.nodeDir, uid), { recursive: true, force: true }).catch(() => undefined);
    this.d.prober.removePod(uid);
    this.d.status.forget(uid);
    this.backoff.forgetPod(`${uid}/`);
    this.failureBackoff.forgetPod(`${uid}/`);
    for (const k of this.failures.keys()) if (k.startsWith(`${uid}/`)) this.failures.delete(k);
  }

  private async preStop(pod: Pod, spec: Container, c: RuntimeContainer, view: PodView, deadline: number): Promise<void> {
    const ok = await this.runHook(spec, spec.lifecycle!.preStop!, c.id, view.sandbox?.ip ?? "", Math.max(0, deadline - Date.now()));
    if (!ok) this.d.log.warn({ pod: podKey(pod), container: spec.name }, "preStop hook failed");
  }

  /** Runs a lifecycle hook (exec, httpGet, sleep) within timeoutMs; true when it succeeded. */
  private async runHook(spec: Container, h: LifecycleHandler, containerId: string, podIP: string, timeoutMs: number): Promise<boolean> {
    try {
      if (h.exec?.command) return (await this.d.runtime.exec(containerId, h.exec.command, timeoutMs)).exitCode === 0;
      if (h.sleep) {
        await new Promise((r) => setTimeout(r, Math.min(timeoutMs, h.sleep!.seconds * 1000)));
        return true;
      }
      if (h.httpGet) {
        const named: Record<string, number> = {};
        for (const p of spec.ports ?? []) if (p.name) named[p.name] = p.containerPort;
        const port = resolvePort(h.httpGet.port, named);
        return await new Promise<boolean>((resolve) => {
          const req = http.get({ host: h.httpGet!.host || podIP, port, path: h.httpGet!.path ?? "/", timeout: timeoutMs, agent: false }, (res) => {
            res.resume();
            res.on("end", () => resolve((res.statusCode ?? 0) < 400));
          });
          req.on("timeout", () => req.destroy());
          req.on("error", () => resolve(false));
        });
      }
      return true;
    } catch {
      return false;
    }
  }
}
