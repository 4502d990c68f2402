// The live view's model and rendering: pins land in their node's lane with
// the right state, pods of a lost node show as they fall, and lines fit the
// terminal's width.

import { describe, expect, it } from "vitest";
import type { Deployment, Lease, Node, Pod, PodPhase } from "../../src/api/types.js";
import { buildModel, pinState } from "../../src/cli/live/model.js";
import { render } from "../../src/cli/live/render.js";

const now = Date.parse("2026-11-30T12:00:00Z");

function node(name: string, ready: "True" | "False" | "Unknown"): Node {
  return { metadata: { name }, status: { conditions: [{ type: "Ready", status: ready }] } };
}

function lease(name: string, agoMs: number): Lease {
  return { metadata: { name, namespace: "kube-node-lease" }, spec: { renewTime: new Date(now - agoMs).toISOString() } };
}

function pod(name: string, nodeName: string | undefined, opts: { ready?: boolean; phase?: string; crash?: boolean; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: "default",
      labels: { "pod-template-hash": "abc12" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc12", uid: "u", controller: true }],
      ...(opts.deleting ? { deletionTimestamp: new Date(now).toISOString() } : {}),
    },
    spec: { containers: [{ name: "c" }], ...(nodeName ? { nodeName } : {}) },
    status: {
      phase: (opts.phase ?? (nodeName ? "Running" : "Pending")) as PodPhase,
      conditions: [{ type: "Ready", status: opts.ready ? "True" : "False" }],
      containerStatuses: opts.crash ? [{ name: "c", ready: false, restartCount: 3, image: "x", imageID: "", state: { waiting: { reason: "CrashLoopBackOff" } } }] : [],
    },
  };
}

const deployment: Deployment = {
  metadata: { name: "web", namespace: "default", generation: 2 },
  spec: { replicas: 3, selector: {}, template: { spec: { containers: [] } } },
  status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
};

describe("live view model", () => {
  it("puts each pod in its node's lane with its state, and unbound pods apart", () => {
    const model = buildModel({
      clusterName: "demo",
      masters: [{ name: "m1", role: "leader", term: 3, commit: 10, healthy: true }],
      nodes: [node("w2", "Unknown"), node("w1", "True")],
      pods: [pod("web-1", "w1", { ready: true }), pod("web-2", "w2", { ready: true }), pod("web-3", undefined), pod("web-4", "w1", { crash: true }), pod("web-5", "w1", { deleting: true })],
      leases: [lease("w1", 500), lease("w2", 12_000)],
      deployments: [deployment],
      events: [],
      now,
    });
    expect(model.lanes.map((l) => l.node)).toEqual(["w1", "w2"]);
    expect(model.lanes[0]!.pins.map((p) => p.state)).toEqual(["ready", "crashing", "terminating"]);
    expect(model.lanes[1]!.ready).toBe("Unknown");
    expect(model.lanes[1]!.leaseAgeSeconds).toBeCloseTo(12, 5);
    expect(model.unscheduled.map((p) => p.name)).toEqual(["web-3"]);
    expect(model.lanes[0]!.pins[0]!.app).toBe("web");
    expect(model.deployments[0]).toMatchObject({ name: "web", desired: 3, ready: 2, rollingOut: false });
  });

  it("reads pin states as kubectl would", () => {
    expect(pinState(pod("a", "w1", { ready: false }))).toBe("running");
    expect(pinState(pod("a", "w1", { phase: "Succeeded" }))).toBe("succeeded");
    expect(pinState(pod("a", undefined))).toBe("pending");
  });

  it("renders lanes with glyphs, cut to the terminal width, without colour in a pipe", () => {
    const model = buildModel({
      clusterName: "demo",
      masters: [
        { name: "m1", role: "leader", term: 3, commit: 10, healthy: true },
        { name: "m2", role: "follower", term: 3, commit: 10, healthy: true, paused: true },
      ],
      nodes: [node("w1", "True")],
      pods: [pod("web-1", "w1", { ready: true }), pod("web-2", "w1")],
      leases: [lease("w1", 500)],
      deployments: [deployment],
      events: [{ metadata: { name: "e" }, involvedObject: { kind: "Node", name: "w2" }, reason: "NodeNotReady", message: "Node w2 status is now: NodeNotReady", type: "Warning", lastTimestamp: new Date(now).toISOString() }],
      now,
    });
    const lines = render(model, { width: 40, height: 40, color: false, selection: { lane: 0, deployment: 0, master: 1 }, keys: { knock: true, pause: true, scale: true } });
    const text = lines.join("\n");
    expect(text).toContain("m1 LEADER");
    expect(text).toContain("[m2 paused");
    expect(lines.find((l) => l.includes("w1"))).toMatch(/Ready.*●◐$/);
    expect(text).toContain("NodeNotReady");
    expect(lines.every((l) => [...l].length <= 40)).toBe(true);
    expect(text).not.toContain("\x1b[");
  });
});
