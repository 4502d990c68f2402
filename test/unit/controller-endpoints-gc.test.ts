// Pure decisions of the Endpoints controller (addresses, readiness, port
// resolution) and of the garbage collector (keep, drop dangling references,
// delete with which propagation).

import { describe, expect, it } from "vitest";
import type { KubeObject, Pod, Service } from "../../src/api/types.js";
import { computeSubsets, resolvePort, subsetsEqual } from "../../src/controllers/endpoints/endpoints.js";
import { decide, type OwnerState } from "../../src/controllers/garbage-collector/decide.js";

function pod(name: string, ip: string | undefined, ready: boolean, o: { labels?: Record<string, string>; ports?: { name?: string; containerPort: number }[]; node?: string; deleting?: boolean; phase?: "Running" | "Failed" } = {}): Pod {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, labels: o.labels ?? { app: "web" }, ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
    spec: { containers: [{ name: "c", ports: o.ports ?? [{ name: "http", containerPort: 8080 }] }], ...(o.node ? { nodeName: o.node } : {}) },
    status: { phase: o.phase ?? "Running", ...(ip ? { podIP: ip } : {}), conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

function svc(spec: Partial<Service["spec"]> = {}): Service {
  return { metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }], ...spec } };
}

describe("endpoints of a service", () => {
  it("lists ready pods in addresses and not-ready ones apart, with targetRef and nodeName", () => {
    const subsets = computeSubsets(svc(), [pod("b", "10.0.0.2", false, { node: "n1" }), pod("a", "10.0.0.1", true, { node: "n2" }), pod("no-ip", undefined, true), pod("other", "10.0.0.9", true, { labels: { app: "db" } })]);
    expect(subsets).toEqual([
      {
        addresses: [{ ip: "10.0.0.1", nodeName: "n2", targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "uid-a" } }],
        notReadyAddresses: [{ ip: "10.0.0.2", nodeName: "n1", targetRef: { kind: "Pod", namespace: "default", name: "b", uid: "uid-b" } }],
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    ]);
  });

  it("publishNotReadyAddresses puts every pod in addresses", () => {
    const subsets = computeSubsets(svc({ publishNotReadyAddresses: true }), [pod("a", "10.0.0.1", false)]);
    expect(subsets[0]!.addresses).toHaveLength(1);
    expect(subsets[0]!.notReadyAddresses).toBeUndefined();
  });

  it("leaves out terminating and finished pods", () => {
    expect(computeSubsets(svc(), [pod("a", "10.0.0.1", true, { deleting: true }), pod("b", "10.0.0.2", true, { phase: "Failed" })])).toEqual([]);
  });

  it("groups pods by resolved ports: a named port maps to each pod's own number", () => {
    const subsets = computeSubsets(svc(), [pod("a", "10.0.0.1", true, { ports: [{ name: "http", containerPort: 8080 }] }), pod("b", "10.0.0.2", true, { ports: [{ name: "http", containerPort: 9090 }] }), pod("c", "10.0.0.3", true, { ports: [{ name: "metrics", containerPort: 1 }] })]);
    expect(subsets.map((s) => [s.ports![0]!.port, s.addresses!.map((a) => a.ip)])).toEqual([
      [8080, ["10.0.0.1"]],
      [9090, ["10.0.0.2"]],
    ]);
  });

  it.each([
    [undefined, 80, 80],
    [8080, 80, 8080],
    ["8081", 80, 8081],
    ["http", 80, 8080],
    ["nope", 80, null],
  ] as const)("targetPort %s of service port %i resolves to %s", (target, port, want) => {
    expect(resolvePort(pod("a", "1.1.1.1", true), target, port)).toBe(want);
  });

  it("compares subsets ignoring what the server adds", () => {
    const a = computeSubsets(svc(), [pod("a", "10.0.0.1", true)]);
    const b = structuredClone(a);
    b[0]!.addresses![0]!.targetRef!.resourceVersion = "42";
    expect(subsetsEqual(b, a)).toBe(true);
    expect(subsetsEqual(b, computeSubsets(svc(), [pod("a", "10.0.0.1", false)]))).toBe(false);
  });
});

describe("garbage collector decisions", () => {
  const ref = (uid: string, block = true) => ({ apiVersion: "apps/v1", kind: "ReplicaSet", name: uid, uid, controller: true, blockOwnerDeletion: block });
  const obj = (refs: ReturnType<typeof ref>[], extra: Partial<KubeObject["metadata"]> = {}): KubeObject => ({ metadata: { name: "p", namespace: "default", uid: "p", ownerReferences: refs, ...extra } });
  const cases: { name: string; states: OwnerState[]; hasDependents?: boolean; extra?: Partial<KubeObject["metadata"]>; want: ReturnType<typeof decide> }[] = [
    { name: "owner exists: keep", states: ["solid"], want: { action: "none" } },
    { name: "owner gone: delete in the background", states: ["dangling"], want: { action: "delete", propagation: "Background" } },
    { name: "one owner gone, another alive: drop the dangling reference", states: ["solid", "dangling"], want: { action: "removeRefs", uids: ["o1"] } },
    { name: "owner deleting in the foreground, no dependents of ours: delete", states: ["waiting"], want: { action: "delete", propagation: "Background" } },
    { name: "owner deleting in the foreground and we have dependents: foreground", states: ["waiting"], hasDependents: true, want: { action: "delete", propagation: "Foreground" } },
    { name: "alive owner and foreground-deleting owner: drop the waiting one", states: ["solid", "waiting"], want: { action: "removeRefs", uids: ["o1"] } },
    { name: "unknown kind counts as alive", states: ["unknown", "dangling"], want: { action: "removeRefs", uids: ["o1"] } },
    { name: "already being deleted: nothing", states: ["dangling"], extra: { deletionTimestamp: "2026-01-01T00:00:00Z" }, want: { action: "none" } },
    { name: "our own orphan finalizer is kept", states: ["dangling"], extra: { finalizers: ["orphan"] }, want: { action: "delete", propagation: "Orphan" } },
  ];
  it.each(cases)("$name", ({ states, hasDependents, extra, want }) => {
    const refs = states.map((_, i) => ref(`o${i}`));
    expect(decide(obj(refs, extra), refs.map((r, i) => ({ ref: r, state: states[i]! })), hasDependents ?? false)).toEqual(want);
  });
});
