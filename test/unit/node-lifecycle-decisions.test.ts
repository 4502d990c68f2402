// The node lifecycle controller's decisions, with time passed in: silence,
// taints for each Ready status, disruption states, and when a pod on a
// NoExecute node is evicted.

import { describe, expect, test } from "vitest";

import type { Taint } from "../../src/api/types.js";
import {
  disruptionState,
  effectiveReady,
  evictionTime,
  isSilent,
  lifecycleTaints,
  reconcileTaints,
} from "../../src/controllers/node-lifecycle/decisions.js";
import { CONFIG_DEFAULTS } from "../../src/config/types.js";
import { pod } from "./scheduler-helpers.js";

const settings = { ...CONFIG_DEFAULTS.nodeLifecycle };
const UNREACHABLE = "node.kubernetes.io/unreachable";
const NOT_READY = "node.kubernetes.io/not-ready";

describe("silence", () => {
  test.each([
    [0, false],
    [4000, false],
    [4001, true],
  ])("a node last heard %i ms ago is silent: %s", (ago, silent) => {
    expect(isSilent(10_000 - ago, 10_000, settings)).toBe(silent);
  });
  test("a silent node is Unknown whatever it last posted", () => {
    expect(effectiveReady("True", true)).toBe("Unknown");
    expect(effectiveReady("False", false)).toBe("False");
    expect(effectiveReady(undefined, false)).toBeUndefined();
  });
});

describe("taints", () => {
  test.each([
    ["Unknown", true, [`${UNREACHABLE}:NoSchedule`, `${UNREACHABLE}:NoExecute`]],
    ["Unknown", false, [`${UNREACHABLE}:NoSchedule`]],
    ["False", true, [`${NOT_READY}:NoSchedule`, `${NOT_READY}:NoExecute`]],
    ["True", true, []],
  ] as const)("Ready=%s (NoExecute allowed: %s)", (ready, noExec, want) => {
    expect(lifecycleTaints(ready, noExec).map((t) => `${t.key}:${t.effect}`)).toEqual(want);
  });
  test("adding keeps other taints and stamps the new ones", () => {
    const cur: Taint[] = [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }];
    expect(reconcileTaints(cur, lifecycleTaints("Unknown", true), "T")).toEqual([
      { key: "dedicated", value: "gpu", effect: "NoSchedule" },
      { key: UNREACHABLE, effect: "NoSchedule", timeAdded: "T" },
      { key: UNREACHABLE, effect: "NoExecute", timeAdded: "T" },
    ]);
  });
  test("nothing to change gives null; a present taint keeps its timeAdded", () => {
    const cur: Taint[] = [
      { key: UNREACHABLE, effect: "NoSchedule", timeAdded: "A" },
      { key: UNREACHABLE, effect: "NoExecute", timeAdded: "A" },
    ];
    expect(reconcileTaints(cur, lifecycleTaints("Unknown", true), "B")).toBeNull();
  });
  test("a node ready again loses the lifecycle taints only", () => {
    const cur: Taint[] = [
      { key: UNREACHABLE, effect: "NoSchedule" },
      { key: UNREACHABLE, effect: "NoExecute" },
      { key: "k", effect: "NoExecute" },
    ];
    expect(reconcileTaints(cur, lifecycleTaints("True", true), "B")).toEqual([{ key: "k", effect: "NoExecute" }]);
  });
  test("unreachable turns into not-ready when the kubelet says Ready=False", () => {
    const cur: Taint[] = [{ key: UNREACHABLE, effect: "NoSchedule" }];
    expect(reconcileTaints(cur, lifecycleTaints("False", false), "B")).toEqual([{ key: NOT_READY, effect: "NoSchedule", timeAdded: "B" }]);
  });
});

describe("disruption", () => {
  test.each([
    [3, 0, "Normal"],
    [2, 1, "Normal"],
    [1, 2, "PartialDisruption"], // 2 of 3 at once: more likely the masters' side (Kubernetes would also want > 2)
    [1, 1, "Normal"], // 50% < 55%
    [0, 1, "FullDisruption"],
    [0, 3, "FullDisruption"],
    [2, 3, "PartialDisruption"],
    [5, 3, "Normal"], // 37.5% < 55%
    [4, 5, "PartialDisruption"], // 55.6%
  ] as const)("%i ready, %i not ready: %s", (ready, notReady, want) => {
    expect(disruptionState(ready, notReady, 0.55)).toBe(want);
  });
});

describe("eviction time", () => {
  const unreachable: Taint[] = [{ key: UNREACHABLE, effect: "NoExecute" }];
  const seen = () => 100_000;
  test("a pod without tolerations gets the default for unreachable", () => {
    expect(evictionTime(pod("p"), unreachable, seen, settings)).toBe(100_000 + settings.defaultUnreachableTolerationSeconds * 1000);
  });
  test("a pod without tolerations gets the default for not-ready", () => {
    expect(evictionTime(pod("p"), [{ key: NOT_READY, effect: "NoExecute" }], seen, { ...settings, defaultNotReadyTolerationSeconds: 7 })).toBe(107_000);
  });
  test("a pod's own tolerationSeconds wins over the default", () => {
    const p = pod("p", { tolerations: [{ key: UNREACHABLE, operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }] });
    expect(evictionTime(p, unreachable, seen, settings)).toBe(130_000);
  });
  test("a toleration without seconds tolerates for ever", () => {
    const p = pod("p", { tolerations: [{ key: UNREACHABLE, operator: "Exists", effect: "NoExecute" }] });
    expect(evictionTime(p, unreachable, seen, settings)).toBeNull();
  });
  test("a negative tolerationSeconds means now", () => {
    const p = pod("p", { tolerations: [{ key: UNREACHABLE, operator: "Exists", tolerationSeconds: -5 }] });
    expect(evictionTime(p, unreachable, seen, settings)).toBe(100_000);
  });
  test("another untolerated NoExecute taint evicts at once", () => {
    expect(evictionTime(pod("p"), [{ key: "maintenance", effect: "NoExecute" }], seen, settings)).toBe(100_000);
  });
  test("NoSchedule taints never evict", () => {
    expect(evictionTime(pod("p"), [{ key: UNREACHABLE, effect: "NoSchedule" }], seen, settings)).toBeNull();
  });
  test("the earliest of several taints decides", () => {
    const p = pod("p", { tolerations: [{ key: "a", operator: "Exists", tolerationSeconds: 60 }] });
    const at = evictionTime(p, [{ key: "a", effect: "NoExecute" }, ...unreachable], (k) => (k === "a" ? 0 : 100_000), settings);
    expect(at).toBe(60_000);
  });
});
