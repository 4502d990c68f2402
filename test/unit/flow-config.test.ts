// The cluster config's `scheduler` section (issue 12) and what the master
// makes of it: the default scheduler's placer and the flow scheduler.

import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config/index.js";
import { FlowPlacer } from "../../src/scheduler/flow/flow-placer.js";
import { defaultSchedulerPlacer, flowSchedulerOptions } from "../../src/scheduler/flow/select.js";
import { Framework } from "../../src/scheduler/framework.js";
import { defaultProfile } from "../../src/scheduler/plugins/index.js";

const base = { clusterName: "t", token: "s", masters: [{ name: "m1", host: "127.0.0.11", raftPort: 7001, clientPort: 2379, apiPort: 6443 }] };

function parse(scheduler?: unknown) {
  return parseClusterConfig(scheduler === undefined ? base : { ...base, scheduler }, "/tmp/cluster.config.json");
}

describe("scheduler config", () => {
  it("defaults: greedy default scheduler, a flow scheduler for schedulerName flow-scheduler", () => {
    const r = parse();
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.scheduler).toEqual({ placer: "greedy", batchSize: 1000, flowSchedulerName: "flow-scheduler" });
    expect(defaultSchedulerPlacer(r.config.scheduler)).toEqual({});
    const flow = flowSchedulerOptions(r.config.scheduler)!;
    expect(flow.schedulerName).toBe("flow-scheduler");
    const placer = flow.placer(new Framework(defaultProfile()));
    expect(placer).toBeInstanceOf(FlowPlacer);
    expect(placer.maxBatch).toBe(1000);
  });

  it("placer flow makes the default scheduler batch by flow; an empty flowSchedulerName turns the second one off", () => {
    const r = parse({ placer: "flow", batchSize: 5000, flowSchedulerName: "" });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const p = defaultSchedulerPlacer(r.config.scheduler).placer!(new Framework(defaultProfile()));
    expect(p.name).toBe("flow");
    expect(p.maxBatch).toBe(5000);
    expect(flowSchedulerOptions(r.config.scheduler)).toBeNull();
  });

  it.each([
    [{ placer: "quincy" }, "scheduler.placer"],
    [{ batchSize: 0 }, "scheduler.batchSize"],
    [{ batchSize: 1.5 }, "scheduler.batchSize"],
    [{ flowSchedulerName: "Not A Name" }, "scheduler.flowSchedulerName"],
    [{ bogus: 1 }, "scheduler.bogus"],
    ["flow", "scheduler"],
  ])("refuses %j", (scheduler, path) => {
    const r = parse(scheduler);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain(path);
  });
});
