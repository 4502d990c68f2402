// The result of one probe of one container over time: successThreshold
// consecutive successes to turn success, failureThreshold consecutive failures
// to turn failure (prober/worker.go). Pure; the prober feeds it outcomes.

import type { Probe } from "../api/types.js";

export type ProbeKind = "liveness" | "readiness" | "startup";
export type ProbeResult = "success" | "failure" | "unknown";

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes' defaults: period 10 s, timeout 1 s, thresholds 1 and 3; liveness and startup need successThreshold 1. */
export function probeTiming(p: Probe, kind: ProbeKind): ProbeTiming {
  const successThreshold = kind === "readiness" ? Math.max(1, p.successThreshold ?? 1) : 1;
  return {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, p.periodSeconds ?? 10) * 1000,
    timeoutMs: Math.max(1, p.timeoutSeconds ?? 1) * 1000,
    successThreshold,
    failureThreshold: Math.max(1, p.failureThreshold ?? 3),
  };
}

/** What a probe says before its first outcome: not ready, alive, not started. */
export function initialResult(kind: ProbeKind): ProbeResult {
  return kind === "readiness" ? "failure" : kind === "liveness" ? "success" : "unknown";
}

export class ProbeState {
  result: ProbeResult;
  private successes = 0;
  private failures = 0;

  constructor(
    readonly kind: ProbeKind,
    private readonly timing: Pick<ProbeTiming, "successThreshold" | "failureThreshold">,
    initial: ProbeResult = initialResult(kind),
  ) {
    this.result = initial;
  }

  /** Feeds one outcome; true when the result changed. */
  observe(ok: boolean): boolean {
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.result !== "success" && this.successes >= this.timing.successThreshold) {
        this.result = "success";
        return true;
      }
    } else {
      this.successes = 0;
      this.failures++;
      if (this.result !== "failure" && this.failures >= this.timing.failureThreshold) {
        this.result = "failure";
        return true;
      }
    }
    return false;
  }
}
