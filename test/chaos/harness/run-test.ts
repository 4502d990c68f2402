// Glue between a scenario and vitest: run it, skip loudly when the machine
// cannot inject its faults (a failure in CI, CI=true), fail with every
// problem and the seed otherwise.

import { expect, type TestContext } from "vitest";
import { skipVerdict } from "../../lib/ci.js";
import { describeFailures, runScenario, type ScenarioReport, type ScenarioSpec } from "./scenario.js";

export async function runChaosTest(t: TestContext, spec: ScenarioSpec): Promise<ScenarioReport> {
  const report = await runScenario(spec);
  if (report.skipped !== undefined) {
    const verdict = skipVerdict(`chaos scenario "${spec.name}"`, report.skipped);
    if (verdict.action === "fail") throw new Error(verdict.message);
    t.skip(verdict.message);
    return report;
  }
  expect(report.failures, describeFailures(report)).toEqual([]);
  return report;
}
