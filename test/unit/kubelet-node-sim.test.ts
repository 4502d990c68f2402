import { describe, expect, it } from "vitest";
import type { Pod } from "../../src/api/types.js";
import { buildNode, nodeConditions } from "../../src/kubelet/node-status.js";
import { SimRuntime } from "../../src/kubelet/sim-runtime.js";
import type { ContainerSpec } from "../../src/kubelet/runtime.js";

const healthy = { runtimeUp: true, memoryPressure: false, diskPressure: false, pidPressure: false };
const info = { machineID: "m", systemUUID: "u", bootID: "b", kernelVersion: "k", osImage: "o", containerRuntimeVersion: "docker://20", kubeletVersion: "v", kubeProxyVersion: "v", operatingSystem: "linux", architecture: "amd64" };

describe("node object", () => {
  it("carries capacity, allocatable, addresses, labels, kubelet port and the four conditions", () => {
    const n = buildNode({ name: "w1", host: "127.0.0.21", kubeletPort: 10250, capacity: { cpu: "2", memory: "4Gi", pods: 110 } }, info, healthy, null);
    expect(n.status?.capacity).toEqual({ cpu: "2", memory: "4Gi", pods: "110" });
    expect(n.status?.allocatable).toEqual(n.status?.capacity);
    expect(n.status?.addresses).toEqual([
      { type: "InternalIP", address: "127.0.0.21" },
      { type: "Hostname", address: "w1" },
    ]);
    expect(n.status?.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
    expect(n.metadata.labels).toMatchObject({ "kubernetes.io/hostname": "w1", "kubernetes.io/os": "linux" });
    expect(Object.fromEntries(n.status!.conditions!.map((c) => [c.type, c.status]))).toEqual({ Ready: "True", MemoryPressure: "False", DiskPressure: "False", PIDPressure: "False" });
  });

  it("keeps labels and taints set by others, and transition times while a condition holds", () => {
    const old = buildNode({ name: "w1", host: "h", kubeletPort: 1, capacity: { cpu: "1", memory: "1Gi", pods: 10 } }, info, healthy, null);
    old.metadata.labels!["zone"] = "a";
    old.spec = { taints: [{ key: "x", effect: "NoSchedule" }] };
    old.status!.conditions = old.status!.conditions!.map((c) => ({ ...c, lastTransitionTime: "2020-01-01T00:00:00Z" }));
    const again = buildNode({ name: "w1", host: "h", kubeletPort: 1, capacity: { cpu: "1", memory: "1Gi", pods: 10 } }, info, healthy, old);
    expect(again.metadata.labels!["zone"]).toBe("a");
    expect(again.spec?.taints).toHaveLength(1);
    expect(again.status!.conditions!.every((c) => c.lastTransitionTime === "2020-01-01T00:00:00Z")).toBe(true);
    const down = nodeConditions({ ...healthy, runtimeUp: false }, old.status!.conditions, "2026-01-01T00:00:00Z");
    expect(down.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "KubeletNotReady", lastTransitionTime: "2026-01-01T00:00:00Z" });
  });
});

describe("sim runtime", () => {
  const spec = (annotations: Record<string, string>, name = "app"): ContainerSpec => ({
    podUid: "u1", podNamespace: "default", podName: "p", annotations, name, kind: "app", attempt: 0, hash: "h", image: "img", env: [], mounts: [], sandboxId: "s", tty: false, stdin: false,
  });

  it("starts after the delay, exits as scripted and reports usage", async () => {
    const events: string[] = [];
    const rt = new SimRuntime({ nodeName: "h0", startDelayMs: 20, ipPrefix: "10.9.0." });
    rt.onContainerEvent((uid) => events.push(uid));
    const sb = await rt.runSandbox({ podUid: "u1", podNamespace: "default", podName: "p", annotations: {}, attempt: 0, hostname: "p", portBindings: [], hostNetwork: false, hostIP: "127.0.0.1" });
    expect(sb.ip).toBe("10.9.0.2");
    const id = await rt.createContainer(spec({ "sim.pinsetter.io/exit-after-ms.app": "30", "sim.pinsetter.io/exit-code": "4", "sim.pinsetter.io/cpu": "500m", "sim.pinsetter.io/memory": "32Mi" }));
    const t0 = Date.now();
    await rt.startContainer(id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    expect((await rt.podContainers("u1")).find((c) => c.id === id)?.state).toBe("running");
    const st = await rt.stats(id);
    expect(st?.memoryWorkingSetBytes).toBe(32 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 60));
    const done = (await rt.podContainers("u1")).find((c) => c.id === id)!;
    expect(done).toMatchObject({ state: "exited", exitCode: 4, reason: "Error" });
    expect(events).toEqual(["u1"]);
    await rt.close();
  });

  it("scripts probes and image pulls from the pod's annotations", async () => {
    const rt = new SimRuntime({ nodeName: "h0", startDelayMs: 0, ipPrefix: "10.9.0." });
    await expect(rt.createContainer(spec({ "sim.pinsetter.io/image-pull": "fail" }))).rejects.toMatchObject({ reason: "ErrImagePull" });
    const id = await rt.createContainer(spec({}));
    await rt.startContainer(id);
    const container = (await rt.podContainers("u1"))[0]!;
    const pod = (ann: Record<string, string>) => ({ metadata: { annotations: ann }, spec: { containers: [] } }) as Pod;
    const probe = (kind: "liveness" | "readiness", ann: Record<string, string>) => rt.probe({ kind, pod: pod(ann), container, podIP: "", namedPorts: {} }, {}, 1000);
    expect(await probe("readiness", {})).toBe(true);
    expect(await probe("readiness", { "sim.pinsetter.io/ready": "false" })).toBe(false);
    expect(await probe("readiness", { "sim.pinsetter.io/ready-after-ms": "60000" })).toBe(false);
    expect(await probe("liveness", { "sim.pinsetter.io/live.app": "false" })).toBe(false);
    await rt.stopContainer(id, 30);
    expect((await rt.podContainers("u1"))[0]).toMatchObject({ state: "exited", exitCode: 143 });
    await rt.close();
  });
});
