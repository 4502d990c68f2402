// cluster.config.json's nodeLifecycle section: defaults, overrides (fractions
// allowed), and each mistake reported with its field path.

import { describe, expect, test } from "vitest";

import { CONFIG_DEFAULTS, parseClusterConfig } from "../../src/config/index.js";

function config(nodeLifecycle?: unknown): unknown {
  return {
    clusterName: "t",
    token: "s",
    masters: [{ name: "m1", host: "127.0.0.11", raftPort: 7001, clientPort: 2379, apiPort: 6443 }],
    ...(nodeLifecycle === undefined ? {} : { nodeLifecycle }),
  };
}

describe("nodeLifecycle config", () => {
  test("defaults aim at healing within 10 s", () => {
    const r = parseClusterConfig(config(), "/tmp/c.json");
    expect(r.ok && r.config.nodeLifecycle).toEqual({
      leaseRenewIntervalSeconds: 1,
      nodeMonitorGracePeriodSeconds: 4,
      nodeMonitorPeriodSeconds: 0.5,
      defaultUnreachableTolerationSeconds: 1,
      defaultNotReadyTolerationSeconds: 1,
      unhealthyZoneThreshold: 0.55,
    });
    expect(CONFIG_DEFAULTS.nodeLifecycle.nodeMonitorGracePeriodSeconds).toBe(4);
  });

  test("overrides, fractions of seconds allowed", () => {
    const r = parseClusterConfig(config({ nodeMonitorGracePeriodSeconds: 1.5, leaseRenewIntervalSeconds: 0.5, defaultUnreachableTolerationSeconds: 0 }), "/tmp/c.json");
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.nodeLifecycle).toMatchObject({ nodeMonitorGracePeriodSeconds: 1.5, leaseRenewIntervalSeconds: 0.5, defaultUnreachableTolerationSeconds: 0 });
  });

  test.each([
    [{ nodeMonitorGracePeriodSeconds: 0 }, "nodeLifecycle.nodeMonitorGracePeriodSeconds", /greater than 0/],
    [{ leaseRenewIntervalSeconds: "1" }, "nodeLifecycle.leaseRenewIntervalSeconds", /greater than 0/],
    [{ defaultUnreachableTolerationSeconds: -1 }, "nodeLifecycle.defaultUnreachableTolerationSeconds", /0 or more/],
    [{ unhealthyZoneThreshold: 1.5 }, "nodeLifecycle.unhealthyZoneThreshold", /fraction/],
    [{ nodeMonitorGracePeriodSeconds: 1, leaseRenewIntervalSeconds: 1 }, "nodeLifecycle.nodeMonitorGracePeriodSeconds", /at least 2 × nodeLifecycle.leaseRenewIntervalSeconds/],
    [{ graceSeconds: 3 }, "nodeLifecycle.graceSeconds", /unknown field/],
    ["fast", "nodeLifecycle", /must be an object/],
  ])("%j is refused at %s", (section, path, message) => {
    const r = parseClusterConfig(config(section), "/tmp/c.json");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});
