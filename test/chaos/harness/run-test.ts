// Glue between a scenario and vitest: run it, skip loudly when the machine
// cannot inject its faults, fail with every problem and the seed otherwise.

import { expect, type TestContext } from "vitest";
import { describeFailures, runScenario, type ScenarioReport, type ScenarioSpec } from "./scenario.js";

export async function runChaosTest(t: TestContext, spec: ScenarioSpec): Promise<ScenarioReport> {
  const report = await runScenario(spec);
  if (report.skipped !== undefined) {
    t.skip(`${spec.name}: ${report.skipped}`);
    return report;
  }
  expect(report.failures, describeFailures(report)).toEqual([]);
  return report;
}
