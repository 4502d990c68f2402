// Every filter and score plugin, table-driven: a pod, a node (and what is
// already on the cluster), and the verdict in kube-scheduler's words.

import { describe, expect, test } from "vitest";

import type { Pod, Node } from "../../src/api/types.js";
import { Framework, type FilterPlugin, type ScorePlugin } from "../../src/scheduler/framework.js";
import {
  InterPodAffinity,
  NodeAffinity,
  NodeName,
  NodePorts,
  NodeReady,
  NodeResourcesBalancedAllocation,
  NodeResourcesFit,
  NodeResourcesLeastAllocated,
  NodeUnschedulable,
  PodTopologySpread,
  TaintToleration,
} from "../../src/scheduler/plugins/index.js";
import { CycleState, type Status } from "../../src/scheduler/types.js";
import { cluster, node, pi, pod } from "./scheduler-helpers.js";

type Plugin = FilterPlugin & Partial<Pick<import("../../src/scheduler/framework.js").PreFilterPlugin, "preFilter">>;

/** Runs one plugin's PreFilter (if any) and Filter; returns "ok" or the reasons with the code. */
function verdict(plugin: Plugin, p: Pod, target: Node, others: Node[] = [], placed: Pod[] = []): string {
  const { snapshot } = cluster([target, ...others], placed);
  const state = new CycleState();
  const info = pi(p);
  if (plugin.preFilter) {
    const st = plugin.preFilter(state, info, snapshot);
    if (st.code === "Skip") return "ok";
    if (st.code !== "Success") return show(st);
  }
  const st = plugin.filter(state, info, snapshot.get(target.metadata.name!)!);
  return st.code === "Success" ? "ok" : show(st);
}

function show(st: Status): string {
  return `${st.code}: ${st.reasons.join(" | ")}`;
}

const NA = "UnschedulableAndUnresolvable";

describe("filters", () => {
  const cases: [string, Plugin, Pod, Node, string, { others?: Node[]; placed?: Pod[] }?][] = [
    ["an unschedulable node refuses", NodeUnschedulable, pod("p"), node("n1", { unschedulable: true }), `${NA}: node(s) were unschedulable`],
    [
      "an unschedulable node takes a pod tolerating node.kubernetes.io/unschedulable",
      NodeUnschedulable,
      pod("p", { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }] }),
      node("n1", { unschedulable: true }),
      "ok",
    ],
    ["a schedulable node takes any pod", NodeUnschedulable, pod("p"), node("n1"), "ok"],
    ["a node reporting Ready=False refuses", NodeReady, pod("p"), node("n1", { ready: "False" }), `${NA}: node(s) were not ready`],
    ["a node reporting Ready=Unknown refuses", NodeReady, pod("p"), node("n1", { ready: "Unknown" }), `${NA}: node(s) were not ready`],
    [
      "a not-ready node takes a pod tolerating not-ready",
      NodeReady,
      pod("p", { tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists" }] }),
      node("n1", { ready: "False" }),
      "ok",
    ],
    ["a node without a Ready condition yet counts as ready", NodeReady, pod("p"), node("n1", { ready: null }), "ok"],
    ["spec.nodeName of another node refuses", NodeName, pod("p", { nodeName: "n2" }), node("n1"), `${NA}: node(s) didn't match the requested node name`],
    ["spec.nodeName of this node is fine", NodeName, pod("p", { nodeName: "n1" }), node("n1"), "ok"],
    ["a pod that fits", NodeResourcesFit, pod("p", { cpu: "1", memory: "1Gi" }), node("n1", { cpu: "2", memory: "2Gi" }), "ok"],
    ["too much cpu", NodeResourcesFit, pod("p", { cpu: "3" }), node("n1", { cpu: "2" }), "Unschedulable: Insufficient cpu"],
    ["too much memory", NodeResourcesFit, pod("p", { memory: "3Gi" }), node("n1", { memory: "2Gi" }), "Unschedulable: Insufficient memory"],
    [
      "too much of both: two reasons",
      NodeResourcesFit,
      pod("p", { cpu: "3", memory: "3Gi" }),
      node("n1", { cpu: "2", memory: "2Gi" }),
      "Unschedulable: Insufficient cpu | Insufficient memory",
    ],
    [
      "bound pods' requests count against allocatable",
      NodeResourcesFit,
      pod("p", { cpu: "1500m" }),
      node("n1", { cpu: "2" }),
      "Unschedulable: Insufficient cpu",
      { placed: [pod("q", { cpu: "1", nodeName: "n1" })] },
    ],
    [
      "exactly full still fits",
      NodeResourcesFit,
      pod("p", { cpu: "1" }),
      node("n1", { cpu: "2" }),
      "ok",
      { placed: [pod("q", { cpu: "1", nodeName: "n1" })] },
    ],
    ["no pod slot left", NodeResourcesFit, pod("p"), node("n1", { pods: 1 }), "Unschedulable: Too many pods", { placed: [pod("q", { nodeName: "n1" })] }],
    ["nodeSelector matches", NodeAffinity, pod("p", { nodeSelector: { disk: "ssd" } }), node("n1", { labels: { disk: "ssd" } }), "ok"],
    [
      "nodeSelector does not match",
      NodeAffinity,
      pod("p", { nodeSelector: { disk: "ssd" } }),
      node("n1", { labels: { disk: "hdd" } }),
      `${NA}: node(s) didn't match Pod's node affinity/selector`,
    ],
    [
      "required node affinity In matches",
      NodeAffinity,
      pod("p", {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }] } } },
      }),
      node("n1", { labels: { zone: "b" } }),
      "ok",
    ],
    [
      "required node affinity: terms are ORed, expressions ANDed",
      NodeAffinity,
      pod("p", {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }, { key: "gpu", operator: "Exists" }] },
                { matchExpressions: [{ key: "cores", operator: "Gt", values: ["8"] }] },
              ],
            },
          },
        },
      }),
      node("n1", { labels: { zone: "a" } }),
      `${NA}: node(s) didn't match Pod's node affinity/selector`,
    ],
    [
      "required node affinity Gt",
      NodeAffinity,
      pod("p", {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["8"] }] }] } } },
      }),
      node("n1", { labels: { cores: "16" } }),
      "ok",
    ],
    [
      "matchFields on metadata.name",
      NodeAffinity,
      pod("p", {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }] }] } } },
      }),
      node("n1"),
      `${NA}: node(s) didn't match Pod's node affinity/selector`,
    ],
    [
      "an untolerated NoSchedule taint refuses, named with key and value",
      TaintToleration,
      pod("p"),
      node("n1", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
      `${NA}: node(s) had untolerated taint {dedicated: gpu}`,
    ],
    [
      "a taint without value shows an empty value",
      TaintToleration,
      pod("p"),
      node("n1", { taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }] }),
      `${NA}: node(s) had untolerated taint {node.kubernetes.io/unreachable: }`,
    ],
    [
      "PreferNoSchedule never refuses",
      TaintToleration,
      pod("p"),
      node("n1", { taints: [{ key: "k", value: "v", effect: "PreferNoSchedule" }] }),
      "ok",
    ],
    [
      "Equal toleration with the same value",
      TaintToleration,
      pod("p", { tolerations: [{ key: "k", operator: "Equal", value: "v", effect: "NoSchedule" }] }),
      node("n1", { taints: [{ key: "k", value: "v", effect: "NoSchedule" }] }),
      "ok",
    ],
    [
      "Equal toleration with another value",
      TaintToleration,
      pod("p", { tolerations: [{ key: "k", operator: "Equal", value: "w" }] }),
      node("n1", { taints: [{ key: "k", value: "v", effect: "NoSchedule" }] }),
      `${NA}: node(s) had untolerated taint {k: v}`,
    ],
    [
      "toleration for another effect does not help",
      TaintToleration,
      pod("p", { tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute" }] }),
      node("n1", { taints: [{ key: "k", value: "v", effect: "NoSchedule" }] }),
      `${NA}: node(s) had untolerated taint {k: v}`,
    ],
    [
      "Exists with empty key tolerates everything",
      TaintToleration,
      pod("p", { tolerations: [{ operator: "Exists" }] }),
      node("n1", { taints: [{ key: "a", effect: "NoSchedule" }, { key: "b", value: "c", effect: "NoExecute" }] }),
      "ok",
    ],
    ["a free hostPort", NodePorts, pod("p", { hostPort: 8080 }), node("n1"), "ok", { placed: [pod("q", { hostPort: 8081, nodeName: "n1" })] }],
    [
      "a taken hostPort",
      NodePorts,
      pod("p", { hostPort: 8080 }),
      node("n1"),
      "Unschedulable: node(s) didn't have free ports for the requested pod ports",
      { placed: [pod("q", { hostPort: 8080, nodeName: "n1" })] },
    ],
    ["the same hostPort on another node is no conflict", NodePorts, pod("p", { hostPort: 8080 }), node("n1"), "ok", { others: [node("n2")], placed: [pod("q", { hostPort: 8080, nodeName: "n2" })] }],
  ];
  test.each(cases)("%s", (_name, plugin, p, n, want, extra) => {
    expect(verdict(plugin, p, n, extra?.others, extra?.placed)).toBe(want);
  });
});

describe("InterPodAffinity filter (hostname)", () => {
  const web = { app: "web" };
  const antiWeb = {
    podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: web }, topologyKey: "kubernetes.io/hostname" }] },
  };
  const withDb = {
    podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" }] },
  };
  const cases: [string, Pod, Pod[], string][] = [
    ["anti-affinity: a node without a matching pod is fine", pod("p", { labels: web, affinity: antiWeb }), [pod("q", { labels: web, nodeName: "n2" })], "ok"],
    [
      "anti-affinity: a node with a matching pod refuses",
      pod("p", { labels: web, affinity: antiWeb }),
      [pod("q", { labels: web, nodeName: "n1" })],
      "Unschedulable: node(s) didn't match pod anti-affinity rules",
    ],
    [
      "anti-affinity only counts pods of the same namespace by default",
      pod("p", { labels: web, affinity: antiWeb }),
      [pod("q", { ns: "other", labels: web, nodeName: "n1" })],
      "ok",
    ],
    [
      "an existing pod's anti-affinity refuses the incoming pod",
      pod("p", { labels: web }),
      [pod("q", { labels: { app: "x" }, affinity: antiWeb, nodeName: "n1" })],
      "Unschedulable: node(s) didn't satisfy existing pods anti-affinity rules",
    ],
    ["affinity: the node with the db pod", pod("p", { affinity: withDb }), [pod("db", { labels: { app: "db" }, nodeName: "n1" })], "ok"],
    [
      "affinity: a node without the db pod refuses",
      pod("p", { affinity: withDb }),
      [pod("db", { labels: { app: "db" }, nodeName: "n2" })],
      `${NA}: node(s) didn't match pod affinity rules`,
    ],
    ["affinity: no db pod anywhere refuses", pod("p", { affinity: withDb }), [], `${NA}: node(s) didn't match pod affinity rules`],
    [
      "affinity to itself: the first pod of the group goes anywhere",
      pod("p", { labels: { app: "db" }, affinity: withDb }),
      [],
      "ok",
    ],
  ];
  test.each(cases)("%s", (_name, p, placed, want) => {
    expect(verdict(InterPodAffinity, p, node("n1"), [node("n2")], placed)).toBe(want);
  });
});

describe("PodTopologySpread filter", () => {
  const spread = [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule" as const, labelSelector: { matchLabels: { app: "a" } } }];
  test("a node already one ahead of the emptiest refuses", () => {
    const placed = [pod("a1", { labels: { app: "a" }, nodeName: "n1" })];
    expect(verdict(PodTopologySpread, pod("p", { labels: { app: "a" }, spread }), node("n1"), [node("n2")], placed)).toBe(
      "Unschedulable: node(s) didn't match pod topology spread constraints",
    );
    expect(verdict(PodTopologySpread, pod("p", { labels: { app: "a" }, spread }), node("n2"), [node("n1")], placed)).toBe("ok");
  });
  test("a node without the topology label is unresolvable", () => {
    const s = [{ ...spread[0]!, topologyKey: "zone" }];
    expect(verdict(PodTopologySpread, pod("p", { labels: { app: "a" }, spread: s }), node("n1"), [node("n2", { labels: { zone: "z" } })])).toBe(
      `${NA}: node(s) didn't match pod topology spread constraints (missing required label)`,
    );
  });
});

/** Normalized scores of one plugin over the nodes, by node name. */
function scores(plugin: ScorePlugin & { preScore?: InterPodAffinityLike["preScore"] }, p: Pod, nodes: Node[], placed: Pod[] = []): Record<string, number> {
  const { snapshot } = cluster(nodes, placed);
  const state = new CycleState();
  const info = pi(p);
  if (plugin.preScore && plugin.preScore(state, info, snapshot.nodes, snapshot).code === "Skip") return {};
  const raw = snapshot.nodes.map((n) => plugin.score(state, info, n));
  plugin.normalizeScore?.(state, info, raw);
  return Object.fromEntries(snapshot.nodes.map((n, i) => [n.name, raw[i]!]));
}
type InterPodAffinityLike = typeof InterPodAffinity;

describe("scores", () => {
  test("LeastAllocated prefers the emptier node", () => {
    const s = scores(NodeResourcesLeastAllocated, pod("p", { cpu: "1", memory: "1Gi" }), [node("n1", { cpu: "4", memory: "4Gi" }), node("n2", { cpu: "4", memory: "4Gi" })], [
      pod("q", { cpu: "2", memory: "2Gi", nodeName: "n1" }),
    ]);
    // n1: cpu (4-3)/4=25, mem 25 -> 25; n2: 75, 75 -> 75
    expect(s).toEqual({ n1: 25, n2: 75 });
  });
  test("LeastAllocated counts pods without requests at 100m / 200Mi", () => {
    const s = scores(NodeResourcesLeastAllocated, pod("p"), [node("n1", { cpu: "1", memory: "1000Mi" })]);
    // cpu (1000-100)/1000 = 90, mem (1000-200)/1000 = 80 -> 85
    expect(s).toEqual({ n1: 85 });
  });
  test("BalancedAllocation prefers the node where cpu and memory stay even", () => {
    const s = scores(NodeResourcesBalancedAllocation, pod("p", { cpu: "1", memory: "1Gi" }), [node("n1", { cpu: "4", memory: "4Gi" }), node("n2", { cpu: "4", memory: "4Gi" })], [
      pod("q", { cpu: "2", memory: "100Mi", nodeName: "n1" }),
    ]);
    expect(s.n2).toBe(100);
    expect(s.n1!).toBeLessThan(100);
  });
  test("TaintToleration: fewer untolerated PreferNoSchedule taints score higher", () => {
    const s = scores(TaintToleration, pod("p", { tolerations: [{ key: "b", operator: "Exists", effect: "PreferNoSchedule" }] }), [
      node("n1", { taints: [{ key: "a", effect: "PreferNoSchedule" }, { key: "c", effect: "PreferNoSchedule" }] }),
      node("n2", { taints: [{ key: "a", effect: "PreferNoSchedule" }, { key: "b", effect: "PreferNoSchedule" }] }),
      node("n3", { taints: [{ key: "b", effect: "PreferNoSchedule" }] }),
    ]);
    expect(s).toEqual({ n1: 0, n2: 50, n3: 100 });
  });
  test("NodeAffinity: preferred terms add their weights, scaled to 100", () => {
    const p = pod("p", {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: "ssd", operator: "Exists" }] } },
            { weight: 30, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] } },
          ],
        },
      },
    });
    const s = scores(NodeAffinity, p, [node("n1", { labels: { ssd: "1" } }), node("n2", { labels: { ssd: "1", zone: "a" } }), node("n3")]);
    expect(s).toEqual({ n1: 25, n2: 100, n3: 0 });
  });
  test("PodTopologySpread (default): pods of one owner spread across hostnames", () => {
    const placed = [pod("a1", { owner: "rs", nodeName: "n1" }), pod("a2", { owner: "rs", nodeName: "n1" }), pod("a3", { owner: "rs", nodeName: "n2" }), pod("x", { owner: "other", nodeName: "n3" })];
    const s = scores(PodTopologySpread, pod("p", { owner: "rs" }), [node("n1"), node("n2"), node("n3")], placed);
    expect(s.n3!).toBeGreaterThan(s.n2!);
    expect(s.n2!).toBeGreaterThan(s.n1!);
  });
  test("PodTopologySpread: a pod without owner or constraints is not scored", () => {
    expect(scores(PodTopologySpread, pod("p"), [node("n1")])).toEqual({});
  });
  test("InterPodAffinity: preferred anti-affinity avoids nodes with matching pods", () => {
    const p = pod("p", {
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: "a" } }, topologyKey: "kubernetes.io/hostname" } }],
        },
      },
    });
    const s = scores(InterPodAffinity, p, [node("n1"), node("n2")], [pod("q", { labels: { app: "a" }, nodeName: "n1" })]);
    expect(s).toEqual({ n1: 0, n2: 100 });
  });
  test("InterPodAffinity: preferred affinity draws to nodes with matching pods", () => {
    const p = pod("p", {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: { labelSelector: { matchLabels: { app: "a" } }, topologyKey: "kubernetes.io/hostname" } }],
        },
      },
    });
    const s = scores(InterPodAffinity, p, [node("n1"), node("n2")], [pod("q", { labels: { app: "a" }, nodeName: "n2" })]);
    expect(s).toEqual({ n1: 0, n2: 100 });
  });
});

describe("the framework", () => {
  test("the first failing filter decides and names its plugin", () => {
    const fw = new Framework({ preFilter: [], filter: [NodeUnschedulable, NodeResourcesFit], preScore: [], score: [] });
    const { snapshot } = cluster([node("n1", { unschedulable: true, cpu: "1" })]);
    const st = fw.runFilters(new CycleState(), pi(pod("p", { cpu: "2" })), snapshot.nodes[0]!);
    expect(st.plugin).toBe("NodeUnschedulable");
    expect(st.reasons).toEqual(["node(s) were unschedulable"]);
  });
  test("weighted scores add up", () => {
    const fw = new Framework({ preFilter: [], filter: [], preScore: [], score: [{ plugin: TaintToleration, weight: 3 }, { plugin: NodeResourcesLeastAllocated, weight: 1 }] });
    const { snapshot } = cluster([node("n1", { cpu: "1", memory: "1000Mi" })]);
    expect(fw.runScores(new CycleState(), pi(pod("p")), snapshot.nodes)).toEqual([3 * 100 + 85]);
  });
});
