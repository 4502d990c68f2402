// The Docker runtime (dockerode on DOCKER_HOST or /var/run/docker.sock).
// Each pod gets a sandbox: a tiny "pause" container that owns the pod's
// network namespace (and so its bridge IP and hostPort bindings); the pod's
// containers join it with NetworkMode container:<sandbox>. Restarting an app
// container therefore never changes the pod IP, and containers reach each
// other on localhost, as in Kubernetes. The pause image is built locally
// (`docker import` of the host's static busybox) since no registry is reachable.

import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { Readable } from "node:stream";
import Docker from "dockerode";
import type { Logger } from "pino";
import type { ProbeHandler } from "../api/types.js";
import { normalizeImage, resolvePort } from "./container-config.js";
import { demuxAll, FrameDecoder } from "./stream-frames.js";
import { tarArchive } from "./tar.js";
import {
  ImageError,
  LABELS,
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

export const DEFAULT_PAUSE_IMAGE = "pinsetter/pause:1";
const BUSYBOX_CANDIDATES = ["/usr/bin/busybox", "/bin/busybox", "/usr/lib/busybox/busybox"];
const PULL_TIMEOUT_MS = 5 * 60_000;

export interface DockerRuntimeOptions {
  nodeName: string;
  logger: Logger;
  docker?: Docker;
  pauseImage?: string;
}

function statusCode(err: unknown): number {
  return (err as { statusCode?: number }).statusCode ?? 0;
}

function dockerName(parts: string[]): string {
  return parts.map((p) => p.replace(/[^a-zA-Z0-9_.-]/g, "-")).join("_").slice(0, 200);
}

type LabelFields = Pick<RuntimeContainer, "podUid" | "podNamespace" | "podName" | "name" | "kind" | "attempt" | "hash">;

/** What a container's labels say about it (the same in a list entry and in an inspect). */
function fromLabels(l: Record<string, string>): LabelFields {
  return {
    podUid: l[LABELS.podUid]!,
    podNamespace: l[LABELS.podNamespace] ?? "",
    podName: l[LABELS.podName] ?? "",
    name: l[LABELS.containerName] ?? "",
    kind: (l[LABELS.kind] as RuntimeContainer["kind"]) ?? "app",
    attempt: Number(l[LABELS.attempt] ?? 0),
    hash: l[LABELS.hash] ?? "",
  };
}

function time(t: string | undefined): string | undefined {
  if (!t || t.startsWith("0001-01-01")) return undefined;
  // Docker gives nanoseconds; the API's times are RFC 3339 seconds.
  return new Date(Date.parse(t)).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class DockerRuntime implements ContainerRuntime {
  readonly kind = "docker" as const;
  readonly docker: Docker;
  private readonly log: Logger;
  private readonly pauseImage: string;
  private handlers: ((podUid: string) => void)[] = [];
  private events: NodeJS.ReadableStream | null = null;
  private closed = false;
  private eventRetry: NodeJS.Timeout | null = null;
  /** Inspections of exited containers never change: keep them. */
  private readonly exitedCache = new Map<string, RuntimeContainer>();

  constructor(private readonly opts: DockerRuntimeOptions) {
    this.docker = opts.docker ?? new Docker();
    this.log = opts.logger.child({ component: "docker-runtime" });
    this.pauseImage = opts.pauseImage ?? process.env.PINSETTER_PAUSE_IMAGE ?? DEFAULT_PAUSE_IMAGE;
  }

  async start(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new Error(`cannot reach the Docker engine (DOCKER_HOST or /var/run/docker.sock; scripts/ can start one): ${(err as Error).message}`);
    }
    await this.ensurePauseImage();
    this.watchEvents();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.eventRetry) clearTimeout(this.eventRetry);
    (this.events as unknown as { destroy?: () => void } | null)?.destroy?.();
    this.events = null;
  }

  async version(): Promise<RuntimeVersion> {
    const [v, info] = await Promise.all([this.docker.version(), this.docker.info() as Promise<{ OperatingSystem?: string }>]);
    return { runtimeName: "docker", runtimeVersion: v.Version, kernelVersion: v.KernelVersion ?? "", osImage: info.OperatingSystem ?? "" };
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  onContainerEvent(handler: (podUid: string) => void): void {
    this.handlers.push(handler);
  }

  // ------------------------------------------------------------------ listing

  private nodeFilter(extra: string[] = []): string {
    return JSON.stringify({ label: [`${LABELS.node}=${this.opts.nodeName}`, ...extra] });
  }

  async listContainers(): Promise<RuntimeContainer[]> {
    const list = await this.docker.listContainers({ all: true, filters: this.nodeFilter() });
    const ids = new Set(list.map((c) => c.Id));
    for (const id of this.exitedCache.keys()) if (!ids.has(id)) this.exitedCache.delete(id);
    const out: RuntimeContainer[] = [];
    for (const c of list) {
      const l = c.Labels ?? {};
      if (!l[LABELS.podUid]) continue;
      out.push({
        id: c.Id,
        ...fromLabels(l),
        image: c.Image,
        imageID: c.ImageID,
        state: c.State === "running" || c.State === "paused" ? "running" : c.State === "created" ? "created" : c.State === "exited" || c.State === "dead" ? "exited" : "unknown",
        createdAt: new Date(c.Created * 1000).toISOString(),
      });
    }
    return out;
  }

  async podContainers(podUid: string): Promise<RuntimeContainer[]> {
    const list = await this.docker.listContainers({ all: true, filters: this.nodeFilter([`${LABELS.podUid}=${podUid}`]) });
    const out: RuntimeContainer[] = [];
    await Promise.all(
      list.map(async (c) => {
        const cached = this.exitedCache.get(c.Id);
        if (cached) return void out.push(cached);
        const rc = await this.inspect(c.Id);
        if (rc) out.push(rc);
      }),
    );
    return out;
  }

  private async inspect(id: string): Promise<RuntimeContainer | null> {
    let i: Docker.ContainerInspectInfo;
    try {
      i = await this.docker.getContainer(id).inspect();
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw err;
    }
    const l = i.Config.Labels ?? {};
    if (!l[LABELS.podUid]) return null;
    const s = i.State;
    const state = s.Running ? "running" : s.Status === "created" ? "created" : s.Status === "exited" || s.Status === "dead" ? "exited" : "unknown";
    const networks = Object.values(i.NetworkSettings.Networks ?? {});
    const rc: RuntimeContainer = {
      id: i.Id,
      ...fromLabels(l),
      image: i.Config.Image,
      imageID: i.Image,
      state,
      createdAt: i.Created,
    };
    const startedAt = time(s.StartedAt);
    const finishedAt = time(s.FinishedAt);
    if (startedAt) rc.startedAt = startedAt;
    if (state === "exited") {
      if (finishedAt) rc.finishedAt = finishedAt;
      rc.exitCode = s.ExitCode;
      rc.reason = s.OOMKilled ? "OOMKilled" : s.ExitCode === 0 ? "Completed" : "Error";
      if (s.Error) rc.message = s.Error;
    }
    const ip = (i.NetworkSettings as { IPAddress?: string }).IPAddress || networks.find((n) => n.IPAddress)?.IPAddress;
    if (rc.kind === "sandbox" && ip) rc.ip = ip;
    if (rc.kind === "sandbox" && !ip && state === "running") {
      const hostIP = this.hostNetworkIP(l);
      if (hostIP) rc.ip = hostIP;
    }
    if (state === "exited") this.exitedCache.set(rc.id, rc);
    return rc;
  }

  // ------------------------------------------------------------------ events

  private watchEvents(): void {
    if (this.closed) return;
    const retry = () => {
      this.events = null;
      if (this.closed || this.eventRetry) return;
      this.eventRetry = setTimeout(() => {
        this.eventRetry = null;
        this.watchEvents();
      }, 1000);
    };
    this.docker
      .getEvents({ filters: JSON.stringify({ type: ["container"], event: ["start", "die", "oom"], label: [`${LABELS.node}=${this.opts.nodeName}`] }) as unknown as Record<string, string[]> })
      .then((stream) => {
        if (this.closed) return void (stream as unknown as { destroy(): void }).destroy();
        this.events = stream;
        let buf = "";
        stream.on("data", (chunk: Buffer) => {
          buf += chunk.toString("utf8");
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              const ev = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
              const uid = ev.Actor?.Attributes?.[LABELS.podUid];
              if (uid) for (const h of this.handlers) h(uid);
            } catch {
              this.log.debug({ line }, "unparsable docker event");
            }
          }
        });
        stream.on("end", retry);
        stream.on("error", retry);
      })
      .catch((err: Error) => {
        this.log.warn({ err: err.message }, "docker events unavailable; retrying");
        retry();
      });
  }

  // ------------------------------------------------------------------ images

  private async imagePresent(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  async ensureImage(image: string, policy: PullPolicy, signal?: AbortSignal): Promise<void> {
    if (!image) throw new ImageError("InvalidImageName", "container has no image");
    const ref = normalizeImage(image);
    const present = await this.imagePresent(ref);
    if (policy === "Never") {
      if (!present) throw new ImageError("ErrImageNeverPull", `Container image "${image}" is not present with pull policy of Never`);
      return;
    }
    if (policy === "IfNotPresent" && present) return;
    try {
      await this.pull(ref, signal);
    } catch (err) {
      // ARCHITECTURE §6: images are built locally and no registry is reachable, while the
      // API defaults untagged and :latest images to Always. A failed pull of an image that
      // is present runs the local copy rather than failing every such pod.
      if (present) {
        this.log.warn({ image, err: (err as Error).message }, "pull failed (imagePullPolicy Always); using the local image");
        return;
      }
      throw new ImageError("ErrImagePull", `failed to pull image "${image}": ${(err as Error).message}`);
    }
  }

  private async pull(ref: string, signal?: AbortSignal): Promise<void> {
    const stream = (await this.docker.pull(ref)) as NodeJS.ReadableStream & { destroy(): void };
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      let failed: string | null = null;
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new Error(`pull timed out after ${PULL_TIMEOUT_MS / 1000}s`));
      }, PULL_TIMEOUT_MS);
      const onAbort = () => {
        stream.destroy();
        reject(new Error("aborted"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      stream.on("data", (c: Buffer) => {
        buf += c.toString("utf8");
        for (const line of buf.split("\n").slice(0, -1)) {
          try {
            const ev = JSON.parse(line) as { error?: string };
            if (ev.error) failed = ev.error;
          } catch {
            // progress lines only
          }
        }
        buf = buf.slice(buf.lastIndexOf("\n") + 1);
      });
      stream.on("end", () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (failed) reject(new Error(failed));
        else resolve();
      });
      stream.on("error", (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private async ensurePauseImage(): Promise<void> {
    if (await this.imagePresent(this.pauseImage)) return;
    const busybox = [process.env.PINSETTER_PAUSE_BUSYBOX, ...BUSYBOX_CANDIDATES].find((p): p is string => !!p && fs.existsSync(p));
    if (!busybox) throw new Error(`pause image ${this.pauseImage} is missing and no static busybox was found to build it (install busybox-static or set PINSETTER_PAUSE_IMAGE)`);
    this.log.info({ image: this.pauseImage, from: busybox }, "building the pause image");
    const tar = tarArchive([{ path: "bin/busybox", data: fs.readFileSync(busybox), mode: 0o755 }]);
    const [repo, tag] = this.pauseImage.split(/:(?=[^:/]+$)/);
    const stream = await this.docker.importImage(Readable.from([tar]), { repo, tag: tag ?? "latest", changes: ['CMD ["/bin/busybox","sleep","2147483647"]'] });
    await new Promise<void>((resolve, reject) => {
      let text = "";
      stream.on("data", (c: Buffer) => (text += c.toString("utf8")));
      stream.on("end", () => (text.includes('"error"') ? reject(new Error(`importing the pause image failed: ${text.slice(0, 300)}`)) : resolve()));
      stream.on("error", reject);
    });
  }

  // ------------------------------------------------------------------ lifecycle

  private labels(spec: { podUid: string; podNamespace: string; podName: string }, name: string, kind: string, attempt: number, hash: string): Record<string, string> {
    return {
      [LABELS.node]: this.opts.nodeName,
      [LABELS.podUid]: spec.podUid,
      [LABELS.podNamespace]: spec.podNamespace,
      [LABELS.podName]: spec.podName,
      [LABELS.containerName]: name,
      [LABELS.kind]: kind,
      [LABELS.attempt]: String(attempt),
      [LABELS.hash]: hash,
    };
  }

  /** Creates a container; a leftover of the same name (a crash between create and start) is removed first. */
  private async create(opts: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(opts);
    } catch (err) {
      if (statusCode(err) !== 409 || !opts.name) throw err;
      await this.docker.getContainer(opts.name).remove({ force: true }).catch(() => undefined);
      return this.docker.createContainer(opts);
    }
  }

  async runSandbox(spec: SandboxSpec): Promise<RuntimeContainer> {
    try {
      return await this.runSandboxOnce(spec);
    } catch (err) {
      // The pause image was removed under us (docker image prune): build it again, once.
      if (statusCode(err) !== 404 || !/image/i.test((err as Error).message)) throw err;
      await this.ensurePauseImage();
      return this.runSandboxOnce(spec);
    }
  }

  private async runSandboxOnce(spec: SandboxSpec): Promise<RuntimeContainer> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of spec.portBindings) {
      const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.hostIP, HostPort: String(p.hostPort) });
    }
    const container = await this.create({
      name: dockerName(["pin", this.opts.nodeName, "POD", spec.podNamespace, spec.podName, spec.podUid.slice(0, 8), String(spec.attempt)]),
      Image: this.pauseImage,
      ...(spec.hostNetwork ? {} : { Hostname: spec.hostname.slice(0, 63) }),
      Labels: { ...this.labels(spec, "POD", "sandbox", spec.attempt, ""), ...(spec.hostNetwork ? { [LABELS.hostNetworkIP]: spec.hostIP } : {}) },
      ExposedPorts: exposed,
      HostConfig: spec.hostNetwork
        ? { NetworkMode: "host", IpcMode: "shareable", RestartPolicy: { Name: "no" } }
        : { PortBindings: bindings, NetworkMode: "bridge", IpcMode: "shareable", RestartPolicy: { Name: "no" } },
    });
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
    const rc = await this.inspect(container.id);
    if (!rc) throw new Error(`sandbox ${container.id} vanished after start`);
    return rc;
  }

  /** A host-network sandbox has no address of its own: the pod's IP is the node's. */
  private hostNetworkIP(labels: Record<string, string>): string | undefined {
    return labels[LABELS.hostNetworkIP];
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const container = await this.create({
      name: dockerName(["pin", this.opts.nodeName, spec.name, spec.podNamespace, spec.podName, spec.podUid.slice(0, 8), String(spec.attempt)]),
      Image: normalizeImage(spec.image),
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      Env: spec.env.map((e) => `${e.name}=${e.value}`),
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      Labels: this.labels(spec, spec.name, spec.kind, spec.attempt, spec.hash),
      Tty: spec.tty,
      OpenStdin: spec.stdin,
      HostConfig: {
        NetworkMode: `container:${spec.sandboxId}`,
        IpcMode: `container:${spec.sandboxId}`,
        Binds: spec.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ":ro" : ""}`),
        ...(spec.nanoCpus ? { NanoCpus: spec.nanoCpus } : {}),
        ...(spec.memoryBytes ? { Memory: spec.memoryBytes } : {}),
        ...(spec.cpuShares ? { CpuShares: spec.cpuShares } : {}),
        RestartPolicy: { Name: "no" },
        // A tiny init as PID 1 forwards SIGTERM: a plain `httpd` as PID 1 would ignore it
        // and every stop would wait out the whole grace period.
        Init: true,
      },
    });
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(graceSeconds)) });
    } catch (err) {
      const code = statusCode(err);
      if (code === 304 || code === 404) return; // already stopped, or gone
      throw err;
    }
  }

  async removeContainer(id: string): Promise<void> {
    this.exitedCache.delete(id);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const code = statusCode(err);
      if (code === 404 || code === 409) return; // gone, or removal already in progress
      throw err;
    }
  }

  // ------------------------------------------------------------------ exec, probes

  async exec(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const ex = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const parts: Buffer[] = [];
    const decoder = new FrameDecoder((_s, p) => parts.push(Buffer.from(p)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new Error(`command timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      stream.on("data", (c: Buffer) => decoder.push(c));
      stream.on("end", () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const info = await ex.inspect();
    return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(parts).toString("utf8") };
  }

  async probe(target: ProbeTarget, handler: ProbeHandler, timeoutMs: number): Promise<boolean> {
    try {
      if (handler.exec) {
        const r = await this.exec(target.container.id, handler.exec.command ?? [], timeoutMs);
        return r.exitCode === 0;
      }
      if (handler.httpGet) {
        const h = handler.httpGet;
        const port = resolvePort(h.port, target.namedPorts);
        const headers: Record<string, string> = { "User-Agent": "kube-probe/pinsetter", Accept: "*/*" };
        for (const x of h.httpHeaders ?? []) headers[x.name] = x.value;
        return await httpProbe(h.scheme === "HTTPS" ? "https" : "http", h.host || target.podIP, port, h.path ?? "/", headers, timeoutMs);
      }
      if (handler.tcpSocket) {
        return await tcpProbe(handler.tcpSocket.host || target.podIP, resolvePort(handler.tcpSocket.port, target.namedPorts), timeoutMs);
      }
      return false;
    } catch {
      return false;
    }
  }

  // ------------------------------------------------------------------ logs, stats

  async logs(id: string, opts: LogOptions, out: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
    const c = this.docker.getContainer(id);
    const base = {
      stdout: true,
      stderr: true,
      timestamps: opts.timestamps,
      tail: opts.tailLines !== undefined ? opts.tailLines : ("all" as unknown as number),
      ...(opts.sinceSeconds !== undefined ? { since: Math.floor(Date.now() / 1000) - opts.sinceSeconds } : {}),
    };
    const tty = (await c.inspect()).Config.Tty;
    if (!opts.follow) {
      const buf = await c.logs({ ...base, follow: false });
      out(tty ? buf : demuxAll(buf));
      return;
    }
    const stream = (await c.logs({ ...base, follow: true })) as NodeJS.ReadableStream & { destroy(): void };
    const decoder = new FrameDecoder((_s, p) => out(Buffer.from(p)));
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        stream.destroy();
        resolve();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      stream.on("data", (chunk: Buffer) => (tty ? out(chunk) : decoder.push(chunk)));
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      stream.on("end", done);
      stream.on("close", done);
      stream.on("error", done);
    });
  }

  async stats(id: string): Promise<ContainerStats | null> {
    try {
      const s = (await this.docker.getContainer(id).stats({ stream: false, "one-shot": true })) as unknown as {
        cpu_stats?: { cpu_usage?: { total_usage?: number } };
        memory_stats?: { usage?: number; stats?: Record<string, number> };
      };
      const usage = s.memory_stats?.usage ?? 0;
      const inactive = s.memory_stats?.stats?.total_inactive_file ?? s.memory_stats?.stats?.inactive_file ?? 0;
      return {
        cpuUsageCoreNanoSeconds: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
        memoryWorkingSetBytes: Math.max(0, usage - inactive),
        timestamp: Date.now(),
      };
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw err;
    }
  }
}


function httpProbe(scheme: "http" | "https", host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = scheme === "https" ? https : http;
    const req = mod.request({ host, port, path, method: "GET", headers, timeout: timeoutMs, agent: false, ...(scheme === "https" ? { rejectUnauthorized: false } : {}) }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

