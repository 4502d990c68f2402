// The CI skip rule: a suite that cannot run here skips on a developer's
// machine and fails in CI.

import { describe, expect, it } from "vitest";
import { skipVerdict } from "../lib/ci.js";

describe("skipVerdict", () => {
  it("skips loudly outside CI", () => {
    expect(skipVerdict("etcd conformance", "etcd not found", {})).toEqual({ action: "skip", message: "etcd conformance SKIPPED: etcd not found" });
    expect(skipVerdict("etcd conformance", "etcd not found", { CI: "false" }).action).toBe("skip");
  });

  it("fails in CI (CI=true), naming the suite and the reason", () => {
    const v = skipVerdict('chaos scenario "partition"', "not root", { CI: "true" });
    expect(v.action).toBe("fail");
    expect(v.message).toMatch(/chaos scenario "partition" must run in CI .* not root/);
  });
});
