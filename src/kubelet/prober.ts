// Probe workers (pkg/kubelet/prober): one timer per running container and
// probe kind. Results feed pod-actions (liveness and startup failures kill)
// and pod-status (readiness); a change of result asks for a pod sync.
// Liveness and readiness wait until the startup probe (if any) succeeded.

import type { Logger } from "pino";
import type { Container, Pod, Probe } from "../api/types.js";
import { initialResult, ProbeState, probeTiming, type ProbeKind, type ProbeResult, type ProbeTiming } from "./probe-state.js";
import type { PodView } from "./pod-view.js";
import type { ContainerRuntime, RuntimeContainer } from "./runtime.js";

interface Worker {
  podUid: string;
  containerId: string;
  kind: ProbeKind;
  state: ProbeState;
  timing: ProbeTiming;
  timer: NodeJS.Timeout | null;
  stopped: boolean;
  probing: boolean;
}

const KINDS: { kind: ProbeKind; field: "livenessProbe" | "readinessProbe" | "startupProbe" }[] = [
  { kind: "startup", field: "startupProbe" },
  { kind: "liveness", field: "livenessProbe" },
  { kind: "readiness", field: "readinessProbe" },
];

export class Prober {
  private readonly workers = new Map<string, Worker>();
  /** Latest pod object per uid, so probes see current annotations (sim) and spec. */
  private readonly pods = new Map<string, { pod: Pod; podIP: string }>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly onChange: (podUid: string) => void,
    private readonly log: Logger,
    /** Told of each probe that turned to failure (for a Warning event). */
    private readonly onUnhealthy?: (pod: Pod, container: string, kind: ProbeKind) => void,
  ) {}

  result(containerId: string, kind: ProbeKind): ProbeResult {
    return this.workers.get(`${containerId}/${kind}`)?.state.result ?? initialResult(kind);
  }

  /** Starts workers for the pod's running containers that have probes; stops the others. */
  sync(pod: Pod, view: PodView, podIP: string): void {
    const uid = pod.metadata.uid ?? "";
    this.pods.set(uid, { pod, podIP });
    const wanted = new Set<string>();
    for (const spec of pod.spec.containers) {
      const inst = view.app.get(spec.name)?.latest;
      if (!inst || inst.state !== "running") continue;
      for (const { kind, field } of KINDS) {
        const probe = spec[field];
        if (!probe) continue;
        const key = `${inst.id}/${kind}`;
        wanted.add(key);
        if (!this.workers.has(key)) this.startWorker(uid, spec, inst, kind, probe);
      }
    }
    for (const [key, w] of this.workers) {
      if (w.podUid === uid && !wanted.has(key)) this.stopWorker(key, w);
    }
  }

  removePod(uid: string): void {
    this.pods.delete(uid);
    for (const [key, w] of this.workers) if (w.podUid === uid) this.stopWorker(key, w);
  }

  stop(): void {
    for (const [key, w] of this.workers) this.stopWorker(key, w);
    this.pods.clear();
  }

  private stopWorker(key: string, w: Worker): void {
    w.stopped = true;
    if (w.timer) clearTimeout(w.timer);
    this.workers.delete(key);
  }

  private startWorker(podUid: string, spec: Container, inst: RuntimeContainer, kind: ProbeKind, probe: Probe): void {
    const timing = probeTiming(probe, kind);
    const w: Worker = { podUid, containerId: inst.id, kind, state: new ProbeState(kind, timing, this.carriedOver(podUid, spec.name, inst.id, kind)), timing, timer: null, stopped: false, probing: false };
    this.workers.set(`${inst.id}/${kind}`, w);
    const started = Date.parse(inst.startedAt ?? "") || Date.now();
    const first = Math.max(0, started + timing.initialDelayMs - Date.now());
    const tick = async () => {
      if (w.stopped) return;
      try {
        await this.runOnce(w, spec, inst, probe);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, probe: kind, container: spec.name }, "probe could not run");
      }
      if (w.stopped) return;
      // A startup probe is done once it succeeded.
      if (kind === "startup" && w.state.result === "success") return;
      w.timer = setTimeout(() => void tick(), timing.periodMs);
    };
    w.timer = setTimeout(() => void tick(), first);
  }

  /**
   * A restarted kubelet meets containers that were ready (or started) before:
   * it keeps what the API status says for that very container until a probe
   * says otherwise, so restarting the kubelet does not blip its pods out of
   * their Services.
   */
  private carriedOver(podUid: string, name: string, containerId: string, kind: ProbeKind): ProbeResult {
    const pod = this.pods.get(podUid)?.pod;
    const st = pod?.status?.containerStatuses?.find((c) => c.name === name);
    if (!st || !st.containerID?.endsWith(containerId)) return initialResult(kind);
    if (kind === "readiness" && st.ready) return "success";
    if (kind === "startup" && st.started) return "success";
    return initialResult(kind);
  }

  private async runOnce(w: Worker, spec: Container, inst: RuntimeContainer, probe: Probe): Promise<void> {
    if (w.kind !== "startup" && spec.startupProbe && this.result(w.containerId, "startup") !== "success") return;
    const entry = this.pods.get(w.podUid);
    if (!entry || w.probing) return;
    w.probing = true;
    let ok = false;
    try {
      const namedPorts: Record<string, number> = {};
      for (const p of spec.ports ?? []) if (p.name) namedPorts[p.name] = p.containerPort;
      ok = await this.runtime.probe({ kind: w.kind, pod: entry.pod, container: inst, podIP: entry.podIP, namedPorts }, probe, w.timing.timeoutMs);
    } finally {
      w.probing = false;
    }
    if (w.stopped) return;
    if (w.state.observe(ok)) {
      this.log.info({ pod: `${entry.pod.metadata.namespace}/${entry.pod.metadata.name}`, container: spec.name, probe: w.kind, result: w.state.result }, "probe result changed");
      if (w.state.result === "failure") this.onUnhealthy?.(entry.pod, spec.name, w.kind);
      this.onChange(w.podUid);
    }
  }
}
