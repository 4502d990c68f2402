// The `sim` runtime of hollow nodes: containers that exist only in memory, so
// one process can host many nodes for scale tests. Behaviour is data, read
// from the pod's annotations (kwok's stages, in small):
//   sim.pinsetter.io/start-delay-ms      how long a container takes to start
//   sim.pinsetter.io/exit-after-ms[.C]   a running container exits after this long
//   sim.pinsetter.io/exit-code[.C]       ... with this code (default 0)
//   sim.pinsetter.io/ready[.C]           "false": readiness probes fail
//   sim.pinsetter.io/ready-after-ms[.C]  readiness probes fail until running this long
//   sim.pinsetter.io/live[.C]            "false": liveness probes fail
//   sim.pinsetter.io/image-pull          "fail": ErrImagePull
//   sim.pinsetter.io/cpu, memory         usage reported in stats ("250m", "64Mi")
// `.C` suffixes apply to container C only.

import type { ProbeHandler } from "../api/types.js";
import { toBytes, toMilli } from "../api/quantity.js";
import {
  ImageError,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStats,
  type ExecResult,
  type LogOptions,
  type ProbeTarget,
  type PullPolicy,
  type RuntimeContainer,
  type RuntimeVersion,
  type SandboxSpec,
} from "./runtime.js";

export const SIM_ANNOTATION_PREFIX = "sim.pinsetter.io/";

export interface SimRuntimeOptions {
  nodeName: string;
  /** Default start delay of a container (ms). */
  startDelayMs: number;
  /** Pod IPs are <ipPrefix><n>, e.g. "10.1.2." */
  ipPrefix: string;
}

interface SimContainer extends RuntimeContainer {
  annotations: Record<string, string>;
  exitTimer: NodeJS.Timeout | null;
  log: string[];
}

function annotation(ann: Record<string, string> | undefined, key: string, container?: string): string | undefined {
  if (!ann) return undefined;
  if (container !== undefined) {
    const specific = ann[`${SIM_ANNOTATION_PREFIX}${key}.${container}`];
    if (specific !== undefined) return specific;
  }
  return ann[`${SIM_ANNOTATION_PREFIX}${key}`];
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class SimRuntime implements ContainerRuntime {
  readonly kind = "sim" as const;
  private readonly containers = new Map<string, SimContainer>();
  private handlers: ((podUid: string) => void)[] = [];
  private seq = 0;
  private ipSeq = 2;
  private closed = false;

  constructor(private readonly opts: SimRuntimeOptions) {}

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.containers.values()) if (c.exitTimer) clearTimeout(c.exitTimer);
  }

  async version(): Promise<RuntimeVersion> {
    return { runtimeName: "sim", runtimeVersion: "0.1.0", kernelVersion: "", osImage: "hollow" };
  }

  async ping(): Promise<void> {}

  onContainerEvent(handler: (podUid: string) => void): void {
    this.handlers.push(handler);
  }

  private emit(uid: string): void {
    if (this.closed) return;
    for (const h of this.handlers) h(uid);
  }

  private snapshot(c: SimContainer): RuntimeContainer {
    const { annotations: _a, exitTimer: _t, log: _l, ...rc } = c;
    return { ...rc };
  }

  async listContainers(): Promise<RuntimeContainer[]> {
    return [...this.containers.values()].map((c) => this.snapshot(c));
  }

  async podContainers(podUid: string): Promise<RuntimeContainer[]> {
    return [...this.containers.values()].filter((c) => c.podUid === podUid).map((c) => this.snapshot(c));
  }

  async ensureImage(image: string, policy: PullPolicy, _signal?: AbortSignal): Promise<void> {
    if (!image) throw new ImageError("InvalidImageName", "container has no image");
    void policy;
  }

  /** The sim checks the pod's image-pull script here, where it has the annotations. */
  checkImage(annotations: Record<string, string>, image: string): void {
    if (annotation(annotations, "image-pull") === "fail") throw new ImageError("ErrImagePull", `failed to pull image "${image}": scripted failure`);
  }

  private newId(): string {
    return `sim${(++this.seq).toString(16).padStart(12, "0")}`;
  }

  async runSandbox(spec: SandboxSpec): Promise<RuntimeContainer> {
    const id = this.newId();
    const c: SimContainer = {
      id,
      podUid: spec.podUid,
      podNamespace: spec.podNamespace,
      podName: spec.podName,
      name: "POD",
      kind: "sandbox",
      attempt: spec.attempt,
      hash: "",
      image: "sim/pause",
      imageID: "sim://pause",
      state: "running",
      createdAt: nowIso(),
      startedAt: nowIso(),
      ip: spec.hostNetwork ? spec.hostIP : `${this.opts.ipPrefix}${this.ipSeq++}`,
      annotations: spec.annotations,
      exitTimer: null,
      log: [],
    };
    if (this.ipSeq > 254) this.ipSeq = 2;
    this.containers.set(id, c);
    return this.snapshot(c);
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    this.checkImage(spec.annotations, spec.image);
    const id = this.newId();
    this.containers.set(id, {
      id,
      podUid: spec.podUid,
      podNamespace: spec.podNamespace,
      podName: spec.podName,
      name: spec.name,
      kind: spec.kind,
      attempt: spec.attempt,
      hash: spec.hash,
      image: spec.image,
      imageID: `sim://${spec.image}`,
      state: "created",
      createdAt: nowIso(),
      annotations: spec.annotations,
      exitTimer: null,
      log: [],
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no such container ${id}`);
    const delay = num(annotation(c.annotations, "start-delay-ms", c.name)) ?? this.opts.startDelayMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (!this.containers.has(id) || c.state !== "created") return;
    c.state = "running";
    c.startedAt = nowIso();
    c.log.push(`${c.startedAt} sim container ${c.name} of ${c.podNamespace}/${c.podName} started on ${this.opts.nodeName}`);
    const exitAfter = num(annotation(c.annotations, "exit-after-ms", c.name));
    if (exitAfter !== undefined) {
      const code = num(annotation(c.annotations, "exit-code", c.name)) ?? 0;
      c.exitTimer = setTimeout(() => this.exit(c, code), exitAfter);
    }
  }

  private exit(c: SimContainer, code: number): void {
    if (c.state !== "running") return;
    if (c.exitTimer) clearTimeout(c.exitTimer);
    c.exitTimer = null;
    c.state = "exited";
    c.exitCode = code;
    c.reason = code === 0 ? "Completed" : "Error";
    c.finishedAt = nowIso();
    c.log.push(`${c.finishedAt} exited with code ${code}`);
    this.emit(c.podUid);
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    if (c.state === "created") {
      c.state = "exited";
      c.exitCode = 0;
      c.finishedAt = nowIso();
      return;
    }
    this.exit(c, graceSeconds > 0 ? 143 : 137);
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c?.exitTimer) clearTimeout(c.exitTimer);
    this.containers.delete(id);
  }

  async exec(id: string, _cmd: string[], _timeoutMs: number): Promise<ExecResult> {
    const c = this.containers.get(id);
    return { exitCode: c?.state === "running" ? 0 : 1, output: "" };
  }

  async probe(target: ProbeTarget, _handler: ProbeHandler, _timeoutMs: number): Promise<boolean> {
    const ann = target.pod.metadata.annotations;
    const name = target.container.name;
    if (target.kind === "liveness") return annotation(ann, "live", name) !== "false";
    if (target.kind === "readiness") {
      if (annotation(ann, "ready", name) === "false") return false;
      const after = num(annotation(ann, "ready-after-ms", name));
      if (after !== undefined) {
        const started = Date.parse(target.container.startedAt ?? "");
        return Number.isFinite(started) && Date.now() - started >= after;
      }
    }
    return true;
  }

  async logs(id: string, opts: LogOptions, out: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    let lines = c.log;
    if (opts.tailLines !== undefined) lines = lines.slice(Math.max(0, lines.length - opts.tailLines));
    const text = lines.map((l) => (opts.timestamps ? l : l.slice(l.indexOf(" ") + 1))).join("\n");
    if (text) out(Buffer.from(text + "\n"));
    if (opts.follow && c.state === "running") {
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }

  async stats(id: string): Promise<ContainerStats | null> {
    const c = this.containers.get(id);
    if (!c || c.state !== "running") return null;
    const cpu = annotation(c.annotations, "cpu", c.name);
    const mem = annotation(c.annotations, "memory", c.name);
    const milli = cpu ? safe(() => toMilli(cpu), 0) : 1;
    const elapsed = (Date.now() - Date.parse(c.startedAt ?? nowIso())) / 1000;
    return {
      cpuUsageCoreNanoSeconds: Math.round(milli * 1e6 * Math.max(0, elapsed)),
      memoryWorkingSetBytes: mem ? safe(() => toBytes(mem), 0) : 4 * 1024 * 1024,
      timestamp: Date.now(),
    };
  }
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
