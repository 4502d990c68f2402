// The control: every chaos check must be able to fail. A short run without
// faults is recorded from a real cluster and passes; then the recording is
// doctored the way a broken master would have answered (a stale read, a watch
// that skips or repeats an event, an acknowledged write that vanished, a 4xx
// for a write that was applied) and the same checkRun() the scenarios use
// must reject each.

import { describe, expect, it } from "vitest";
import type { KvOperation } from "../lib/history.js";
import { checkRun, type RunRecording } from "./harness/check.js";
import { runScenario, describeFailures } from "./harness/scenario.js";

let recording: RunRecording | undefined;

async function recorded(): Promise<RunRecording> {
  if (recording) return recording;
  const report = await runScenario({
    name: "control",
    cluster: { masters: 3 },
    network: false,
    clients: 8,
    minOk: 100,
    settleMs: 1500,
    async faults(ctx) {
      await ctx.sleep(3000);
    },
  });
  expect(report.failures, describeFailures(report)).toEqual([]);
  if (!report.recording) throw new Error("control run recorded nothing");
  recording = report.recording;
  return recording;
}

function failuresOf(rec: RunRecording): string[] {
  return checkRun(rec).failures;
}

describe("chaos checks catch a broken cluster (control)", () => {
  it("an undoctored recording of a healthy cluster passes", async () => {
    const rec = await recorded();
    expect(rec.history.length).toBeGreaterThan(100);
    expect(failuresOf(rec)).toEqual([]);
  });

  it("a stale read injected into the recorded history is caught, with the smallest illegal part", async () => {
    const rec = await recorded();
    const ops = rec.history;
    // A put of v, then a later put on the same key acknowledged after it: reading v after that is stale.
    let stale: KvOperation | undefined;
    for (const first of ops) {
      if (first.input.kind !== "put" || first.return === null) continue;
      const next = ops.find(
        (o) => o.key === first.key && o.input.kind === "put" && o.return !== null && o.call > first.return!,
      );
      if (!next) continue;
      stale = {
        id: Math.max(...ops.map((o) => o.id)) + 1,
        clientId: "doctored",
        key: first.key,
        input: { kind: "get" },
        call: next.return! + 0.001,
        return: next.return! + 0.002,
        output: { value: first.input.value },
      };
      break;
    }
    if (!stale) throw new Error("the control run has no two sequential puts on one key");
    const doctored: RunRecording = { ...rec, history: [...ops, stale].sort((a, b) => a.call - b.call) };
    const verdict = checkRun(doctored);
    expect(verdict.linearizability.verdict).toBe("illegal");
    if (verdict.linearizability.verdict !== "illegal") return;
    expect(verdict.linearizability.minimalIllegal.map((o) => o.id)).toContain(stale.id);
    expect(verdict.failures.join("\n")).toContain("not linearizable");
    console.log(`control: the injected stale read is reported as\n${verdict.linearizability.explanation}`);
  });

  it("a watcher that skipped an event is caught as a gap", async () => {
    const rec = await recorded();
    const w = rec.watchers[0]!;
    const events = [...w.events];
    const [dropped] = events.splice(Math.floor(events.length / 2), 1);
    const failures = failuresOf({ ...rec, watchers: [{ ...w, events }] });
    expect(failures.join("\n")).toMatch(new RegExp(`gap: revision ${dropped!.modRevision}`));
  });

  it("a watcher that got an event twice, or out of order, is caught", async () => {
    const rec = await recorded();
    const w = rec.watchers[1]!;
    const i = Math.floor(w.events.length / 2);
    const dup = [...w.events.slice(0, i + 1), w.events[i]!, ...w.events.slice(i + 1)];
    expect(failuresOf({ ...rec, watchers: [{ ...w, events: dup }] }).join("\n")).toContain("duplicate");
    const swapped = [...w.events];
    [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    expect(failuresOf({ ...rec, watchers: [{ ...w, events: swapped }] }).join("\n")).toContain("out of order");
  });

  it("an acknowledged write missing from the change log is caught as lost", async () => {
    const rec = await recorded();
    const acked = rec.writes.find((w) => w.outcome === "ok" && w.kind === "put")!;
    const changes = rec.changes.filter((c) => c.value !== acked.value);
    const failures = failuresOf({ ...rec, changes }).join("\n");
    expect(failures).toContain(`lost write: put ${JSON.stringify(acked.value)}`);
    expect(failures).toContain("have no change under the prefix");
  });

  it("a write answered 4xx (definitely not applied) that is in the change log is caught", async () => {
    const rec = await recorded();
    const victim = rec.writes.find((w) => w.outcome === "ok" && w.kind === "put")!;
    const writes = rec.writes.map((w) => (w === victim ? { ...w, outcome: "failed" as const } : w));
    expect(failuresOf({ ...rec, writes }).join("\n")).toContain("answered as definitely failed (4xx) was applied");
  });
});
