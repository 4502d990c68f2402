import { describe, expect, it } from "vitest";
import type { ConfigMap, Container, Pod, Secret } from "../../src/api/types.js";
import { RestartBackoff, backoffKey } from "../../src/kubelet/backoff.js";
import { ContainerConfigError, expand, resolveCommand, resolveEnv, resourceLimits, normalizeImage } from "../../src/kubelet/container-config.js";
import { computePodActions } from "../../src/kubelet/pod-actions.js";
import { computePodStatus, podPhase, sameStatus } from "../../src/kubelet/pod-status.js";
import { podView } from "../../src/kubelet/pod-view.js";
import type { RuntimeContainer } from "../../src/kubelet/runtime.js";

function pod(spec: Partial<Pod["spec"]> & { containers: Container[] }, meta: Partial<Pod["metadata"]> = {}): Pod {
  return { metadata: { name: "web", namespace: "default", uid: "uid-1", ...meta }, spec: { restartPolicy: "Always", ...spec } };
}

let seq = 0;
function inst(name: string, kind: RuntimeContainer["kind"], state: RuntimeContainer["state"], extra: Partial<RuntimeContainer> = {}): RuntimeContainer {
  seq++;
  return { id: `c${seq}`, podUid: "uid-1", podNamespace: "default", podName: "web", name, kind, attempt: 0, hash: "h", image: "img", imageID: "sha", state, createdAt: `2026-01-01T00:00:${String(seq % 60).padStart(2, "0")}Z`, ...extra };
}
const sandbox = (state: RuntimeContainer["state"] = "running") => inst("POD", "sandbox", state, { ip: "172.17.0.5", hash: "" });

function actions(p: Pod, containers: RuntimeContainer[], opts: { now?: number; backoff?: RestartBackoff; liveness?: "success" | "failure" } = {}) {
  return computePodActions({
    pod: p,
    view: podView(containers),
    now: opts.now ?? Date.parse("2026-01-01T00:01:00Z"),
    backoff: opts.backoff ?? new RestartBackoff(),
    hash: () => "h",
    liveness: () => opts.liveness ?? "success",
    startup: () => "success",
  });
}

describe("environment and command", () => {
  const cms = new Map<string, ConfigMap | null>([["cfg", { metadata: { name: "cfg" }, data: { MODE: "fast", LEVEL: "3" } }]]);
  const secrets = new Map<string, Secret | null>([["creds", { metadata: { name: "creds" }, data: { PASSWORD: Buffer.from("s3cret").toString("base64") } }]]);
  const src = { configMaps: cms, secrets, nodeName: "w1", hostIP: "127.0.0.21", podIP: "172.17.0.5" };

  it("resolves envFrom, valueFrom, the downward API and $(VAR) references in order", () => {
    const c: Container = {
      name: "app",
      envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
      env: [
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
        { name: "PW", valueFrom: { secretKeyRef: { name: "creds", key: "PASSWORD" } } },
        { name: "MODE", valueFrom: { configMapKeyRef: { name: "cfg", key: "MODE" } } },
        { name: "URL", value: "http://$(IP):80/$(POD)?x=$$(NOPE)&y=$(UNDEFINED)" },
      ],
    };
    const env = Object.fromEntries(resolveEnv(pod({ containers: [c] }), c, src).map((e) => [e.name, e.value]));
    expect(env).toEqual({
      CFG_MODE: "fast",
      CFG_LEVEL: "3",
      POD: "web",
      NS: "default",
      IP: "172.17.0.5",
      NODE: "w1",
      HOST: "127.0.0.21",
      PW: "s3cret",
      MODE: "fast",
      URL: "http://172.17.0.5:80/web?x=$(NOPE)&y=$(UNDEFINED)",
    });
  });

  it("a missing ConfigMap key is an error unless optional", () => {
    const bad: Container = { name: "a", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "MISSING" } } }] };
    expect(() => resolveEnv(pod({ containers: [bad] }), bad, src)).toThrow(ContainerConfigError);
    const opt: Container = { name: "a", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "K", optional: true } } }] };
    expect(resolveEnv(pod({ containers: [opt] }), opt, src)).toEqual([]);
  });

  it("command replaces Entrypoint (and drops the image's Cmd); args alone replace Cmd", () => {
    const env = [{ name: "PORT", value: "8080" }];
    expect(resolveCommand({ name: "a" }, env)).toEqual({});
    expect(resolveCommand({ name: "a", command: ["httpd", "-f"] }, env)).toEqual({ entrypoint: ["httpd", "-f"], cmd: [] });
    expect(resolveCommand({ name: "a", args: ["-p", "$(PORT)"] }, env)).toEqual({ cmd: ["-p", "8080"] });
    expect(resolveCommand({ name: "a", command: ["sh", "-c"], args: ["echo $(PORT)"] }, env)).toEqual({ entrypoint: ["sh", "-c"], cmd: ["echo 8080"] });
  });

  it("expansion handles $$ and unterminated references", () => {
    const vars = new Map([["A", "1"]]);
    expect(expand("$(A)$$(A)$(A", vars)).toBe("1$(A)$(A");
    expect(expand("cost $5", vars)).toBe("cost $5");
  });

  it("limits map to NanoCpus and Memory, requests to shares", () => {
    expect(resourceLimits({ name: "a", resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "250m" } } })).toEqual({ nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024, cpuShares: 256 });
    expect(resourceLimits({ name: "a" })).toEqual({});
  });

  it("images without a tag are :latest", () => {
    expect(normalizeImage("busybox")).toBe("busybox:latest");
    expect(normalizeImage("localhost:5000/x")).toBe("localhost:5000/x:latest");
    expect(normalizeImage("pinsetter/busybox:1")).toBe("pinsetter/busybox:1");
  });
});

describe("pod actions", () => {
  const app: Container = { name: "app", image: "img" };

  it("a new pod gets a sandbox, then its init containers one at a time, then the app containers", () => {
    const p = pod({ containers: [app], initContainers: [{ name: "i1", image: "img" }, { name: "i2", image: "img" }] });
    const a0 = actions(p, []);
    expect(a0.createSandbox).toEqual({ attempt: 0 });
    expect(a0.start.map((s) => s.container.name)).toEqual(["i1"]);
    const a1 = actions(p, [sandbox(), inst("i1", "init", "exited", { exitCode: 0 })]);
    expect(a1.createSandbox).toBeNull();
    expect(a1.start.map((s) => s.container.name)).toEqual(["i2"]);
    const a2 = actions(p, [sandbox(), inst("i1", "init", "exited", { exitCode: 0 }), inst("i2", "init", "running")]);
    expect(a2.start).toEqual([]);
    const a3 = actions(p, [sandbox(), inst("i1", "init", "exited", { exitCode: 0 }), inst("i2", "init", "exited", { exitCode: 0 })]);
    expect(a3.start.map((s) => [s.container.name, s.kind, s.attempt])).toEqual([["app", "app", 0]]);
  });

  it("a failed init container fails the pod under restartPolicy Never", () => {
    const p = pod({ containers: [app], initContainers: [{ name: "i1", image: "img" }], restartPolicy: "Never" });
    const a = actions(p, [sandbox(), inst("i1", "init", "exited", { exitCode: 1 })]);
    expect(a.podFailed).toBe(true);
    expect(a.start).toEqual([]);
    expect(a.stopSandbox).toBe(true);
  });

  it("restartPolicy decides which exited containers restart", () => {
    const exited = (code: number) => [sandbox(), inst("app", "app", "exited", { exitCode: code, finishedAt: "2026-01-01T00:00:30Z" })];
    expect(actions(pod({ containers: [app], restartPolicy: "Always" }), exited(0)).start.map((s) => s.attempt)).toEqual([1]);
    expect(actions(pod({ containers: [app], restartPolicy: "OnFailure" }), exited(0)).start).toEqual([]);
    expect(actions(pod({ containers: [app], restartPolicy: "OnFailure" }), exited(2)).start.length).toBe(1);
    const never = actions(pod({ containers: [app], restartPolicy: "Never" }), exited(2));
    expect(never.start).toEqual([]);
    expect(never.stopSandbox).toBe(true);
  });

  it("a crashing container waits out its back-off as CrashLoopBackOff", () => {
    const b = new RestartBackoff();
    const finished = Date.parse("2026-01-01T00:00:55Z");
    b.restarted(backoffKey("uid-1", "app", "h"), finished - 2000);
    const a = actions(pod({ containers: [app] }), [sandbox(), inst("app", "app", "exited", { exitCode: 1, attempt: 1, finishedAt: "2026-01-01T00:00:55Z" })], { backoff: b, now: finished + 3000 });
    expect(a.start).toEqual([]);
    expect(a.waiting.get("app")?.reason).toBe("CrashLoopBackOff");
    expect(a.wakeAt).toBe(finished + 10_000);
    expect(a.stopSandbox).toBe(false);
  });

  it("a failed liveness probe kills the container; a dead sandbox is replaced and its containers killed", () => {
    const running = inst("app", "app", "running");
    expect(actions(pod({ containers: [app] }), [sandbox(), running], { liveness: "failure" }).kill.map((k) => k.container.id)).toEqual([running.id]);
    const dead = sandbox("exited");
    const r2 = inst("app", "app", "running");
    const a = actions(pod({ containers: [app] }), [dead, r2]);
    expect(a.createSandbox).toEqual({ attempt: 1 });
    expect(a.kill.map((k) => k.container.id)).toEqual([r2.id]);
  });

  it("adopted running containers are left alone (no duplicate), old instances are garbage", () => {
    const old1 = inst("app", "app", "exited", { attempt: 0, exitCode: 1 });
    const old2 = inst("app", "app", "exited", { attempt: 1, exitCode: 1 });
    const cur = inst("app", "app", "running", { attempt: 2 });
    const a = actions(pod({ containers: [app] }), [sandbox(), old1, old2, cur]);
    expect(a.start).toEqual([]);
    expect(a.kill).toEqual([]);
    expect(a.remove.map((r) => r.id)).toEqual([old1.id]);
  });

  it("a container whose spec changed (new image) is killed, then started again from the new spec", () => {
    const running = inst("app", "app", "running", { hash: "old" });
    const a = actions(pod({ containers: [app] }), [sandbox(), running]);
    expect(a.kill.map((k) => k.container.id)).toEqual([running.id]);
    expect(a.kill[0]!.reason).toContain("definition changed");
  });

  it("a created but never started instance is replaced, not started twice", () => {
    const created = inst("app", "app", "created", { attempt: 0 });
    const a = actions(pod({ containers: [app] }), [sandbox(), created]);
    expect(a.remove.map((r) => r.id)).toContain(created.id);
    expect(a.start.map((s) => s.attempt)).toEqual([1]);
  });

  it("activeDeadlineSeconds: a wake-up at the deadline, then everything stops and the pod fails", () => {
    const p = pod({ containers: [app], activeDeadlineSeconds: 30 });
    p.status = { startTime: "2026-01-01T00:00:00Z" };
    const running = inst("app", "app", "running");
    const before = actions(p, [sandbox(), running], { now: Date.parse("2026-01-01T00:00:20Z") });
    expect(before.deadlineExceeded).toBe(false);
    expect(before.wakeAt).toBe(Date.parse("2026-01-01T00:00:30Z"));
    const after = actions(p, [sandbox(), running], { now: Date.parse("2026-01-01T00:00:31Z") });
    expect(after.deadlineExceeded).toBe(true);
    expect(after.kill.map((k) => k.container.id)).toEqual([running.id]);
    expect(after.stopSandbox).toBe(true);
    const st = computePodStatus({ pod: p, view: podView([sandbox(), running]), waiting: new Map(), readiness: () => "success", startup: () => "success", hostIP: "h", now: "2026-01-01T00:00:31Z", podFailed: false, deadlineExceeded: true, idPrefix: "" });
    expect(st).toMatchObject({ phase: "Failed", reason: "DeadlineExceeded" });
  });

  it("a terminal pod runs nothing", () => {
    const p = pod({ containers: [app] });
    p.status = { phase: "Succeeded" };
    const a = actions(p, [sandbox(), inst("app", "app", "exited", { exitCode: 0 })]);
    expect(a.start).toEqual([]);
    expect(a.stopSandbox).toBe(true);
  });
});

describe("pod status", () => {
  const app: Container = { name: "app", image: "img", readinessProbe: { httpGet: { port: 80 } } };
  const status = (p: Pod, containers: RuntimeContainer[], ready: "success" | "failure", waiting = new Map()) =>
    computePodStatus({ pod: p, view: podView(containers), waiting, readiness: () => ready, startup: () => "success", hostIP: "127.0.0.21", now: "2026-01-01T00:01:00Z", podFailed: false, idPrefix: "docker://" });

  it("a running, ready pod: phase Running, Ready True, IPs", () => {
    const s = status(pod({ containers: [app] }), [sandbox(), inst("app", "app", "running", { startedAt: "2026-01-01T00:00:10Z" })], "success");
    expect(s.phase).toBe("Running");
    expect(s.podIP).toBe("172.17.0.5");
    expect(s.podIPs).toEqual([{ ip: "172.17.0.5" }]);
    expect(s.hostIP).toBe("127.0.0.21");
    expect(s.containerStatuses![0]).toMatchObject({ name: "app", ready: true, restartCount: 0, state: { running: { startedAt: "2026-01-01T00:00:10Z" } } });
    const cond = Object.fromEntries(s.conditions!.map((c) => [c.type, c.status]));
    expect(cond).toMatchObject({ PodScheduled: "True", Initialized: "True", ContainersReady: "True", Ready: "True" });
  });

  it("not ready until the readiness probe succeeds", () => {
    const s = status(pod({ containers: [app] }), [sandbox(), inst("app", "app", "running")], "failure");
    expect(s.containerStatuses![0]!.ready).toBe(false);
    expect(s.conditions!.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady" });
  });

  it("crash looping: waiting CrashLoopBackOff, lastState terminated, restartCount, phase Running", () => {
    const w = new Map([["app", { reason: "CrashLoopBackOff", message: "back-off 10s" }]]);
    const s = status(pod({ containers: [app] }), [sandbox(), inst("app", "app", "exited", { attempt: 3, exitCode: 1, finishedAt: "2026-01-01T00:00:50Z" })], "success", w);
    expect(s.phase).toBe("Running");
    expect(s.containerStatuses![0]).toMatchObject({ restartCount: 3, ready: false, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1, reason: "Error" } } });
  });

  it("image pull failure keeps the pod Pending with the reason", () => {
    const w = new Map([["app", { reason: "ErrImagePull", message: "no registry" }]]);
    const s = status(pod({ containers: [app] }), [sandbox()], "success", w);
    expect(s.phase).toBe("Pending");
    expect(s.containerStatuses![0]!.state).toEqual({ waiting: { reason: "ErrImagePull", message: "no registry" } });
  });

  it("phases of finished pods follow restartPolicy", () => {
    const done = (code: number) => ({ name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: code } } });
    expect(podPhase(pod({ containers: [], restartPolicy: "Never" }), [done(0), done(0)], false, false)).toBe("Succeeded");
    expect(podPhase(pod({ containers: [], restartPolicy: "Never" }), [done(0), done(1)], false, false)).toBe("Failed");
    expect(podPhase(pod({ containers: [], restartPolicy: "OnFailure" }), [done(1)], false, false)).toBe("Running");
    expect(podPhase(pod({ containers: [], restartPolicy: "Always" }), [done(0)], false, false)).toBe("Running");
    expect(podPhase(pod({ containers: [] }), [], true, false)).toBe("Pending");
  });

  it("condition transition times survive recomputation, so an unchanged status is not pushed again", () => {
    const p = pod({ containers: [app] });
    const cs = [sandbox(), inst("app", "app", "running", { startedAt: "2026-01-01T00:00:10Z" })];
    const first = status(p, cs, "success");
    p.status = first;
    const again = computePodStatus({ pod: p, view: podView(cs), waiting: new Map(), readiness: () => "success", startup: () => "success", hostIP: "127.0.0.21", now: "2026-01-01T00:09:00Z", podFailed: false, idPrefix: "docker://" });
    expect(sameStatus(first, again)).toBe(true);
    const notReady = computePodStatus({ pod: p, view: podView(cs), waiting: new Map(), readiness: () => "failure", startup: () => "success", hostIP: "127.0.0.21", now: "2026-01-01T00:09:00Z", podFailed: false, idPrefix: "docker://" });
    expect(sameStatus(first, notReady)).toBe(false);
    expect(notReady.conditions!.find((c) => c.type === "Ready")!.lastTransitionTime).toBe("2026-01-01T00:09:00Z");
  });
});
