// The verdict of a chaos run from what it recorded, with no process involved:
// the client history (linearizability checker), the writes against the
// authoritative change log (nothing lost, applied twice or made up), and each
// watcher against the change log (watch checker). runScenario calls it after
// the cluster is gone; the control test feeds it doctored recordings.

import { checkKvHistory, type CheckResult } from "../../lib/linearizability.js";
import type { KvOperation } from "../../lib/history.js";
import { checkWatch, type Change, type WatchEvent } from "../../lib/watch-check.js";

/** A write whose value is unique, and what its client was told. */
export interface IssuedWrite {
  value: string;
  key: string;
  kind: "put" | "cas";
  opId: number;
  /** ok: acknowledged (a cas: and succeeded); casFailed: answered "compare failed"; failed: definitely not applied (4xx). */
  outcome: "pending" | "ok" | "failed" | "unknown" | "casFailed";
  /** The revision the acknowledgement named. */
  revision?: number;
}

export interface RecordedWatcher {
  name: string;
  events: readonly WatchEvent[];
  startRevision: number;
  /** Check up to here (default: the final revision). */
  endRevision?: number;
  /** false: the watcher's master left the cluster; its view is not compared with the final state. */
  complete?: boolean;
}

export interface RunRecording {
  prefix: string;
  history: readonly KvOperation[];
  writes: readonly IssuedWrite[];
  /** The change log of the prefix from revision 1 (a watch from 1 on a healthy master). */
  changes: readonly Change[];
  watchers: readonly RecordedWatcher[];
  finalRevision: number;
  /** A linearizable range of the prefix at the end. */
  finalState: Readonly<Record<string, string>>;
  /**
   * Every write of the run's clients is under the prefix (true in chaos
   * runs): then every revision in [2, finalRevision] must be in the change
   * log, or be one of otherRevisions.
   */
  allWritesUnderPrefix?: boolean;
  /**
   * Revisions of changes outside the prefix (the masters' own writers: the
   * API server's defaults, leader-only controllers), from a watch of the
   * whole keyspace.
   */
  otherRevisions?: readonly number[];
}

export interface RunVerdict {
  failures: string[];
  linearizability: CheckResult;
  watchers: { name: string; delivered: number; ok: boolean; message?: string }[];
}

export function checkRun(rec: RunRecording, opts: { timeoutMsPerKey?: number } = {}): RunVerdict {
  const failures: string[] = [];
  failures.push(...checkWrites(rec.writes, rec.changes));
  if (rec.allWritesUnderPrefix) {
    const revs = new Set([...rec.changes.map((c) => c.revision), ...(rec.otherRevisions ?? [])]);
    const missing: number[] = [];
    for (let r = 2; r <= rec.finalRevision; r++) if (!revs.has(r)) missing.push(r);
    if (missing.length > 0)
      failures.push(
        `change log: ${missing.length} revision(s) of [2, ${rec.finalRevision}] have no change under the prefix (nor elsewhere in the store), though every client write is under it: ` +
          `${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}`,
      );
  }

  const watchers: RunVerdict["watchers"] = [];
  for (const w of rec.watchers) {
    const complete = w.complete ?? true;
    const r = checkWatch({
      keys: { prefix: rec.prefix },
      startRevision: w.startRevision,
      events: w.events,
      changes: rec.changes,
      endRevision: w.endRevision ?? rec.finalRevision,
      ...(complete ? { finalState: rec.finalState } : {}),
      fullHistory: true,
    });
    watchers.push({ name: w.name, delivered: w.events.length, ok: r.ok, ...(r.ok ? {} : { message: r.message }) });
    if (!r.ok) failures.push(`watcher ${w.name}: ${r.message}\n    ${r.problems.slice(0, 8).map((p) => p.message).join("\n    ")}`);
  }

  const linearizability = checkKvHistory(rec.history, { timeoutMsPerKey: opts.timeoutMsPerKey ?? 60_000 });
  if (!linearizability.ok) failures.push(`linearizability: ${linearizability.verdict}\n${linearizability.explanation}`);
  return { failures, linearizability, watchers };
}

/**
 * Every value in the change log was sent by a client and appears once, on
 * its key; every acknowledged write is there, at the revision it was
 * acknowledged with; nothing answered as not applied is there.
 */
export function checkWrites(writes: readonly IssuedWrite[], changes: readonly Change[]): string[] {
  const problems: string[] = [];
  const byValue = new Map(writes.map((w) => [w.value, w]));
  const seen = new Map<string, number>();
  let lastRev = 0;
  for (const c of changes) {
    if (c.revision <= lastRev) problems.push(`change log: revision ${c.revision} after ${lastRev}`);
    lastRev = Math.max(lastRev, c.revision);
    if (c.type !== "PUT") continue;
    const v = c.value ?? "";
    const w = byValue.get(v);
    if (!w) {
      problems.push(`phantom write: revision ${c.revision} put ${JSON.stringify(v)} on ${c.key}, a value no client sent`);
      continue;
    }
    const prev = seen.get(v);
    if (prev !== undefined) problems.push(`duplicate apply: ${JSON.stringify(v)} was written at revision ${prev} and again at ${c.revision}`);
    seen.set(v, c.revision);
    if (w.key !== c.key) problems.push(`misplaced write: ${JSON.stringify(v)} was sent for ${w.key} but applied to ${c.key}`);
    if (w.outcome === "failed")
      problems.push(`a write answered as definitely failed (4xx) was applied: ${JSON.stringify(v)} at revision ${c.revision} (op #${w.opId})`);
    if (w.outcome === "casFailed")
      problems.push(`a cas answered "compare failed" was applied: ${JSON.stringify(v)} at revision ${c.revision} (op #${w.opId})`);
    if (w.outcome === "ok" && w.revision !== undefined && w.revision !== c.revision)
      problems.push(`write ${JSON.stringify(v)} (op #${w.opId}) was acknowledged with revision ${w.revision} but applied at ${c.revision}`);
  }
  for (const w of writes) {
    if (w.outcome === "ok" && !seen.has(w.value))
      problems.push(
        `lost write: ${w.kind} ${JSON.stringify(w.value)} on ${w.key} (op #${w.opId}) was acknowledged` +
          `${w.revision ? ` at revision ${w.revision}` : ""} but is not in the change log`,
      );
  }
  return problems;
}
