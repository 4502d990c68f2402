import { describe, expect, it } from "vitest";
import { lookupResource, type ResourceInfo } from "../../src/api/resources.js";
import { formatAge, podStatusColumns, tableFor } from "../../src/api/tables.js";
import type { KubeObject, Pod } from "../../src/api/types.js";

const info = (r: string): ResourceInfo => lookupResource(r) as ResourceInfo;
const NOW = new Date("2026-01-10T12:00:00Z");
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("formatAge (kubectl's HumanDuration)", () => {
  it.each([
    [-5 * S, "<invalid>"],
    [-1500, "0s"],
    [0, "0s"],
    [5 * S, "5s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [2 * M + 5 * S, "2m5s"],
    [9 * M + 59 * S, "9m59s"],
    [10 * M + 30 * S, "10m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [3 * H + 20 * M, "3h20m"],
    [8 * H + 30 * M, "8h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [3 * D + 4 * H, "3d4h"],
    [8 * D + 4 * H, "8d"],
    [729 * D, "729d"],
    [2 * 365 * D + 45 * D, "2y45d"],
    [3 * 365 * D, "3y"],
    [9 * 365 * D + 100 * D, "9y"],
  ])("%d ms -> %s", (ms, want) => {
    expect(formatAge(ms)).toBe(want);
  });
});

function pod(status: Record<string, unknown>, extra: Record<string, unknown> = {}): Pod {
  return {
    metadata: { name: "p", namespace: "default", creationTimestamp: ago(5 * M), ...(extra.metadata as object) },
    spec: { containers: [{ name: "a", image: "x" }, { name: "b", image: "y" }], ...(extra.spec as object) },
    status,
  } as Pod;
}
const running = (ready = true, restartCount = 0): Record<string, unknown> => ({ name: "a", ready, restartCount, image: "", imageID: "", state: { running: { startedAt: ago(M) } } });

describe("pod STATUS, READY and RESTARTS as kubectl computes them", () => {
  it.each([
    ["pending without statuses", { phase: "Pending" }, {}, "Pending", "0/2", "0"],
    ["running and ready", { phase: "Running", containerStatuses: [running(), { ...running(), name: "b" }] }, {}, "Running", "2/2", "0"],
    ["one not ready", { phase: "Running", containerStatuses: [running(), { ...running(false), name: "b" }] }, {}, "Running", "1/2", "0"],
    [
      "creating",
      { phase: "Pending", containerStatuses: [{ name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { waiting: { reason: "ContainerCreating" } } }] },
      {},
      "ContainerCreating",
      "0/2",
      "0",
    ],
    [
      "crash loop with a recent restart",
      {
        phase: "Running",
        containerStatuses: [
          { name: "a", ready: false, restartCount: 4, image: "", imageID: "", state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(30 * S) } } },
          { ...running(), name: "b" },
        ],
      },
      {},
      "CrashLoopBackOff",
      "1/2",
      "4 (30s ago)",
    ],
    [
      "completed",
      { phase: "Succeeded", containerStatuses: [{ name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed" } } }] },
      {},
      "Completed",
      "0/2",
      "0",
    ],
    [
      "terminated by a signal without a reason",
      { phase: "Failed", containerStatuses: [{ name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 137, signal: 9 } } }] },
      {},
      "Signal:9",
      "0/2",
      "0",
    ],
    [
      "exit code without a reason",
      { phase: "Failed", containerStatuses: [{ name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 2 } } }] },
      {},
      "ExitCode:2",
      "0/2",
      "0",
    ],
    [
      "completed container while another runs -> Running when Ready",
      {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True" }],
        containerStatuses: [
          { name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed" } } },
          { ...running(), name: "b" },
        ],
      },
      {},
      "Running",
      "1/2",
      "0",
    ],
    [
      "completed container while another runs -> NotReady otherwise",
      {
        phase: "Running",
        containerStatuses: [
          { name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed" } } },
          { ...running(), name: "b" },
        ],
      },
      {},
      "NotReady",
      "1/2",
      "0",
    ],
    ["terminating", { phase: "Running", containerStatuses: [running()] }, { metadata: { deletionTimestamp: ago(S) } }, "Terminating", "1/2", "0"],
    ["a finished pod being deleted keeps its phase", { phase: "Succeeded" }, { metadata: { deletionTimestamp: ago(S) } }, "Succeeded", "0/2", "0"],
    ["evicted (status.reason)", { phase: "Failed", reason: "Evicted" }, {}, "Evicted", "0/2", "0"],
    [
      "init container running",
      { phase: "Pending", initContainerStatuses: [{ name: "i", ready: false, restartCount: 0, image: "", imageID: "", state: { running: {} } }] },
      { spec: { initContainers: [{ name: "i", image: "z" }, { name: "j", image: "z" }], containers: [{ name: "a", image: "x" }] } },
      "Init:0/2",
      "0/1",
      "0",
    ],
    [
      "init container crash looping",
      { phase: "Pending", initContainerStatuses: [{ name: "i", ready: false, restartCount: 3, image: "", imageID: "", state: { waiting: { reason: "CrashLoopBackOff" } } }] },
      { spec: { initContainers: [{ name: "i", image: "z" }], containers: [{ name: "a", image: "x" }] } },
      "Init:CrashLoopBackOff",
      "0/1",
      "3",
    ],
    [
      "init container failed",
      { phase: "Pending", initContainerStatuses: [{ name: "i", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 3 } } }] },
      { spec: { initContainers: [{ name: "i", image: "z" }], containers: [{ name: "a", image: "x" }] } },
      "Init:ExitCode:3",
      "0/1",
      "0",
    ],
    [
      "image pull error",
      { phase: "Pending", containerStatuses: [{ name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { waiting: { reason: "ErrImagePull" } } }] },
      {},
      "ErrImagePull",
      "0/2",
      "0",
    ],
  ])("%s", (_, status, extra, want, ready, restarts) => {
    const cols = podStatusColumns(pod(status, extra), NOW);
    expect(cols).toEqual({ status: want, ready, restarts });
  });
});

describe("tableFor", () => {
  it("pods: default and wide columns", () => {
    const p = pod({ phase: "Running", podIP: "10.0.0.5", containerStatuses: [running(), { ...running(), name: "b" }] }, { spec: { nodeName: "w1" } });
    const t = tableFor(info("pods"), [p], { now: NOW });
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Ready", "Status", "Restarts", "Age"]);
    expect(t.rows[0]?.cells).toEqual(["p", "2/2", "Running", "0", "5m"]);
    expect(t.rows[0]?.object).toBe(p);
    const w = tableFor(info("pods"), [p], { now: NOW, wide: true });
    expect(w.columnDefinitions.map((c) => `${c.name}:${c.priority}`)).toEqual([
      "Name:0", "Ready:0", "Status:0", "Restarts:0", "Age:0", "IP:1", "Node:1", "Nominated Node:1", "Readiness Gates:1",
    ]);
    expect(w.rows[0]?.cells).toEqual(["p", "2/2", "Running", "0", "5m", "10.0.0.5", "w1", "<none>", "<none>"]);
    expect(w.columnDefinitions[0]).toMatchObject({ type: "string", format: "name" });
  });

  it("deployments", () => {
    const d = {
      metadata: { name: "web", creationTimestamp: ago(3 * H) },
      spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { spec: { containers: [{ name: "web", image: "nginx:1" }, { name: "log", image: "busybox" }] } } },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    } as KubeObject;
    const t = tableFor(info("deploy"), [d], { now: NOW, wide: true });
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]);
    expect(t.rows[0]?.cells).toEqual(["web", "2/3", 3, 2, "3h", "web,log", "nginx:1,busybox", "app=web"]);
  });

  it("replicasets", () => {
    const rs = { metadata: { name: "web-abc", creationTimestamp: ago(50 * H) }, spec: { replicas: 2, selector: { matchLabels: { a: "b" } }, template: { spec: { containers: [] } } }, status: { replicas: 2, readyReplicas: 1 } } as KubeObject;
    expect(tableFor(info("rs"), [rs], { now: NOW }).rows[0]?.cells).toEqual(["web-abc", 2, 2, 1, "2d2h"]);
  });

  it("services", () => {
    const svcs = [
      { metadata: { name: "a", creationTimestamp: ago(10 * S) }, spec: { type: "ClusterIP", clusterIP: "10.96.0.1", ports: [{ port: 443, protocol: "TCP" }], selector: { app: "a", z: "y" } } },
      { metadata: { name: "b" }, spec: { type: "NodePort", clusterIP: "10.96.0.2", ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }, { port: 53, protocol: "UDP" }] } },
      { metadata: { name: "c" }, spec: { type: "LoadBalancer", clusterIP: "10.96.0.3", ports: [{ port: 80 }] } },
      { metadata: { name: "d" }, spec: { type: "ExternalName", externalName: "example.com" } },
      { metadata: { name: "e" }, spec: { clusterIP: "None", ports: [] } },
    ] as KubeObject[];
    const rows = tableFor(info("svc"), svcs, { now: NOW, wide: true }).rows.map((r) => r.cells);
    expect(rows).toEqual([
      ["a", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", "10s", "app=a,z=y"],
      ["b", "NodePort", "10.96.0.2", "<none>", "80:30080/TCP,53/UDP", "<unknown>", "<none>"],
      ["c", "LoadBalancer", "10.96.0.3", "<pending>", "80/TCP", "<unknown>", "<none>"],
      ["d", "ExternalName", "<none>", "example.com", "<none>", "<unknown>", "<none>"],
      ["e", "ClusterIP", "None", "<none>", "<none>", "<unknown>", "<none>"],
    ]);
  });

  it("nodes", () => {
    const n = {
      metadata: { name: "w1", creationTimestamp: ago(4 * D), labels: { "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "" } },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: "Ready", status: "True" }],
        addresses: [{ type: "InternalIP", address: "127.0.0.21" }],
        nodeInfo: { kubeletVersion: "v1.32.0-pinsetter", osImage: "Linux", kernelVersion: "6.1", containerRuntimeVersion: "docker://27" },
      },
    } as KubeObject;
    const t = tableFor(info("no"), [n, { metadata: { name: "w2" }, status: { conditions: [{ type: "Ready", status: "Unknown" }] } } as KubeObject], { now: NOW, wide: true });
    expect(t.rows[0]?.cells).toEqual(["w1", "Ready,SchedulingDisabled", "control-plane,worker", "4d", "v1.32.0-pinsetter", "127.0.0.21", "<none>", "Linux", "6.1", "docker://27"]);
    expect(t.rows[1]?.cells.slice(0, 3)).toEqual(["w2", "Unknown", "<none>"]);
  });

  it("endpoints, namespaces, configmaps, secrets, leases", () => {
    const ep = { metadata: { name: "web" }, subsets: [{ addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }], ports: [{ port: 80 }, { port: 443 }] }] } as KubeObject;
    expect(tableFor(info("ep"), [ep, { metadata: { name: "none" } }], { now: NOW }).rows.map((r) => r.cells[1])).toEqual([
      "10.0.0.1:80,10.0.0.1:443,10.0.0.2:80 + 3 more...",
      "<none>",
    ]);
    expect(tableFor(info("ns"), [{ metadata: { name: "default" }, status: { phase: "Active" } }], { now: NOW }).rows[0]?.cells).toEqual(["default", "Active", "<unknown>"]);
    expect(tableFor(info("cm"), [{ metadata: { name: "c" }, data: { a: "1", b: "2" }, binaryData: { c: "" } }], { now: NOW }).rows[0]?.cells).toEqual(["c", 3, "<unknown>"]);
    expect(tableFor(info("secrets"), [{ metadata: { name: "s" }, type: "kubernetes.io/tls", data: { "tls.crt": "", "tls.key": "" } }], { now: NOW }).rows[0]?.cells).toEqual(["s", "kubernetes.io/tls", 2, "<unknown>"]);
    expect(tableFor(info("leases"), [{ metadata: { name: "w1" }, spec: { holderIdentity: "w1" } }], { now: NOW }).rows[0]?.cells).toEqual(["w1", "w1", "<unknown>"]);
  });

  it("events", () => {
    const ev = {
      metadata: { name: "p.1" },
      involvedObject: { kind: "Pod", name: "p", fieldPath: "spec.containers{a}" },
      reason: "BackOff",
      message: "Back-off restarting failed container ",
      type: "Warning",
      source: { component: "kubelet", host: "w1" },
      firstTimestamp: ago(10 * M),
      lastTimestamp: ago(30 * S),
      count: 7,
    } as KubeObject;
    expect(tableFor(info("ev"), [ev], { now: NOW }).rows[0]?.cells).toEqual(["30s", "Warning", "BackOff", "pod/p", "Back-off restarting failed container"]);
    expect(tableFor(info("ev"), [ev], { now: NOW, wide: true }).rows[0]?.cells).toEqual([
      "30s", "Warning", "BackOff", "pod/p", "spec.containers{a}", "kubelet, w1", "Back-off restarting failed container", "10m", 7, "p.1",
    ]);
  });

  it("hpa", () => {
    const h = {
      metadata: { name: "web" },
      spec: {
        scaleTargetRef: { kind: "Deployment", name: "web" },
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [
          { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } },
          { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } },
          { type: "Resource", resource: { name: "x", target: { type: "Utilization", averageUtilization: 1 } } },
        ],
      },
      status: { currentReplicas: 3, desiredReplicas: 3, currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 45 } } }] },
    } as KubeObject;
    expect(tableFor(info("hpa"), [h], { now: NOW }).rows[0]?.cells).toEqual([
      "web", "Deployment/web", "cpu: 45%/80%, memory: <unknown>/100Mi + 1 more...", "1", 10, 3, "<unknown>",
    ]);
  });

  it("falls back to Name and Age", () => {
    const fake = { ...info("pods"), kind: "Gizmo" };
    expect(tableFor(fake, [{ metadata: { name: "g", creationTimestamp: ago(S) } }], { now: NOW })).toMatchObject({
      columnDefinitions: [{ name: "Name" }, { name: "Age" }],
      rows: [{ cells: ["g", "1s"] }],
    });
  });
});
