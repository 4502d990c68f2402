import { afterEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import type { Pod } from "../../src/api/types.js";
import { Prober } from "../../src/kubelet/prober.js";
import { podView } from "../../src/kubelet/pod-view.js";
import type { ContainerRuntime, ProbeTarget, RuntimeContainer } from "../../src/kubelet/runtime.js";

afterEach(() => vi.useRealTimers());

function setup(outcome: (t: ProbeTarget) => boolean) {
  const calls: string[] = [];
  const runtime = {
    probe: async (t: ProbeTarget) => {
      calls.push(t.kind);
      return outcome(t);
    },
  } as unknown as ContainerRuntime;
  const changes: string[] = [];
  const unhealthy: string[] = [];
  const prober = new Prober(runtime, (uid) => changes.push(uid), pino({ level: "silent" }), (_p, c, kind) => unhealthy.push(`${c}/${kind}`));
  return { prober, calls, changes, unhealthy };
}

function running(startedAt: string): RuntimeContainer {
  return { id: "c1", podUid: "u1", podNamespace: "default", podName: "p", name: "app", kind: "app", attempt: 0, hash: "h", image: "i", imageID: "i", state: "running", createdAt: startedAt, startedAt };
}

describe("prober", () => {
  it("waits initialDelaySeconds, then probes every periodSeconds; readiness turns after successThreshold", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { prober, calls, changes } = setup(() => true);
    const pod: Pod = { metadata: { uid: "u1", name: "p", namespace: "default" }, spec: { containers: [{ name: "app", readinessProbe: { exec: { command: ["x"] }, initialDelaySeconds: 5, periodSeconds: 2, successThreshold: 2 } }] } };
    const c = running("2026-01-01T00:00:00Z");
    prober.sync(pod, podView([c]), "10.0.0.1");
    await vi.advanceTimersByTimeAsync(4900);
    expect(calls).toEqual([]);
    expect(prober.result("c1", "readiness")).toBe("failure");
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual(["readiness"]);
    expect(prober.result("c1", "readiness")).toBe("failure");
    await vi.advanceTimersByTimeAsync(2000);
    expect(prober.result("c1", "readiness")).toBe("success");
    expect(changes).toEqual(["u1"]);
    prober.stop();
  });

  it("liveness waits for the startup probe, and a failing liveness probe is reported after failureThreshold", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    let started = false;
    const { prober, calls, unhealthy } = setup((t) => (t.kind === "startup" ? started : false));
    const pod: Pod = {
      metadata: { uid: "u1", name: "p", namespace: "default" },
      spec: { containers: [{ name: "app", startupProbe: { exec: { command: ["s"] }, periodSeconds: 1, failureThreshold: 30 }, livenessProbe: { exec: { command: ["l"] }, periodSeconds: 1, failureThreshold: 3 } }] },
    };
    prober.sync(pod, podView([running("2026-01-01T00:00:00Z")]), "10.0.0.1");
    await vi.advanceTimersByTimeAsync(3500);
    expect(calls.filter((k) => k === "liveness")).toEqual([]);
    expect(prober.result("c1", "liveness")).toBe("success");
    started = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(prober.result("c1", "startup")).toBe("success");
    await vi.advanceTimersByTimeAsync(3100);
    expect(prober.result("c1", "liveness")).toBe("failure");
    expect(unhealthy).toEqual(["app/liveness"]);
    // The container is gone: its workers stop, results fall back to the defaults.
    prober.sync(pod, podView([]), "10.0.0.1");
    expect(prober.result("c1", "liveness")).toBe("success");
    prober.stop();
  });

  it("a restarted kubelet keeps a container's reported readiness until a probe says otherwise", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:10:00Z") });
    let ok = true;
    const { prober } = setup(() => ok);
    const pod: Pod = {
      metadata: { uid: "u1", name: "p", namespace: "default" },
      spec: { containers: [{ name: "app", readinessProbe: { exec: { command: ["x"] }, periodSeconds: 5, failureThreshold: 1 } }] },
      status: { containerStatuses: [{ name: "app", ready: true, restartCount: 0, image: "i", imageID: "i", containerID: "docker://c1" }] },
    };
    prober.sync(pod, podView([running("2026-01-01T00:00:00Z")]), "10.0.0.1");
    expect(prober.result("c1", "readiness")).toBe("success");
    ok = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(prober.result("c1", "readiness")).toBe("failure");
    prober.stop();
    // Another container instance does not inherit it.
    const { prober: p2 } = setup(() => true);
    p2.sync({ ...pod, status: { containerStatuses: [{ ...pod.status!.containerStatuses![0]!, containerID: "docker://other" }] } }, podView([running("2026-01-01T00:00:00Z")]), "10.0.0.1");
    expect(p2.result("c1", "readiness")).toBe("failure");
    p2.stop();
  });
});
