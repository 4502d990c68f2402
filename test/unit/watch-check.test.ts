// The watch checker (test/lib/watch-check.ts): a correct stream passes, and
// each way a watch can go wrong (etcd #15271 and friends) is named.

import { describe, expect, it } from "vitest";
import { checkWatch, type Change, type WatchCheckInput, type WatchCheckResult, type WatchEvent } from "../lib/watch-check.js";

// The whole history of a small store, from revision 1. Revision 6 is a
// transaction that wrote two watched keys at once; /b/ is not watched.
const changes: Change[] = [
  { revision: 1, key: "/a/x", type: "PUT", value: "x1" },
  { revision: 2, key: "/b/y", type: "PUT", value: "y1" },
  { revision: 3, key: "/a/y", type: "PUT", value: "y1" },
  { revision: 4, key: "/a/x", type: "PUT", value: "x2" },
  { revision: 5, key: "/a/y", type: "DELETE" },
  { revision: 6, key: "/a/x", type: "PUT", value: "x3" },
  { revision: 6, key: "/a/z", type: "PUT", value: "z1" },
  { revision: 7, key: "/b/y", type: "DELETE" },
  { revision: 8, key: "/a/y", type: "PUT", value: "y2" },
  { revision: 9, key: "/a/x", type: "DELETE" },
];

/** What a correct watch on `prefix` from `start` delivers, with etcd's createRevision and version. */
function correctEvents(prefix: string, start: number): WatchEvent[] {
  const live = new Map<string, { createRevision: number; version: number }>();
  const events: WatchEvent[] = [];
  for (const c of changes) {
    let meta = { createRevision: 0, version: 0 };
    if (c.type === "PUT") {
      const prev = live.get(c.key);
      meta = prev ? { createRevision: prev.createRevision, version: prev.version + 1 } : { createRevision: c.revision, version: 1 };
      live.set(c.key, meta);
    } else live.delete(c.key);
    if (c.revision < start || !c.key.startsWith(prefix)) continue;
    events.push(
      c.type === "PUT"
        ? { type: "PUT", key: c.key, value: c.value!, modRevision: c.revision, ...meta }
        : { type: "DELETE", key: c.key, modRevision: c.revision },
    );
  }
  return events;
}

const finalState = { "/a/y": "y2", "/a/z": "z1" };

function check(events: WatchEvent[], extra: Partial<WatchCheckInput> = {}): WatchCheckResult {
  return checkWatch({ keys: { prefix: "/a/" }, startRevision: 1, events, changes, finalState, fullHistory: true, ...extra });
}

function expectProblem(result: WatchCheckResult, kind: string, message: RegExp): void {
  if (result.ok) throw new Error("expected the watch check to fail");
  expect(result.problems[0]!.kind).toBe(kind);
  expect(result.message).toMatch(message);
}

describe("watch check", () => {
  it("a complete stream in revision order passes, from revision 1 or from the middle", () => {
    expect(check(correctEvents("/a/", 1))).toEqual({ ok: true, delivered: 8 });
    // From revision 7 on, the watcher's view starts from the state at revision 6, which holds /a/z.
    expect(check(correctEvents("/a/", 7), { startRevision: 7 })).toEqual({ ok: true, delivered: 2 });
    // A single-key watch.
    const xOnly = correctEvents("/a/x", 1);
    expect(checkWatch({ keys: { key: "/a/x" }, startRevision: 1, events: xOnly, changes })).toEqual({ ok: true, delivered: 4 });
  });

  it("a missing revision is a gap, named with the revisions around it", () => {
    const events = correctEvents("/a/", 1).filter((e) => e.modRevision !== 5);
    expectProblem(check(events), "gap", /^1 problem in the watch stream; first: gap: revision 5 \(DELETE "\/a\/y"\) was never delivered; the stream went from revision 4 to revision 6/);
  });

  it("one key of a two-key revision missing is a gap too", () => {
    const events = correctEvents("/a/", 1).filter((e) => !(e.modRevision === 6 && e.key === "/a/z"));
    expectProblem(check(events), "gap", /gap: revision 6 \(PUT "\/a\/z"="z1"\) was never delivered/);
  });

  it("an event delivered twice is a duplicate", () => {
    const events = correctEvents("/a/", 1);
    events.splice(4, 0, { ...events[3]! }); // revision 5 again, right after itself
    expectProblem(check(events), "duplicate", /first: duplicate: event #4 \(revision 5, DELETE "\/a\/y"\) was already delivered as event #3/);
  });

  it("a watch that goes back in time after a resumption is a duplicate, not a gap", () => {
    // Resumed at revision 4 instead of 7 after a failover (etcd #15271).
    const all = correctEvents("/a/", 1);
    const events = [...all.slice(0, 5), ...all.slice(2)];
    const result = check(events);
    expectProblem(result, "duplicate", /revision 4/);
    expect(!result.ok && result.problems.every((p) => p.kind === "duplicate")).toBe(true);
  });

  it("events out of revision order are named", () => {
    const events = correctEvents("/a/", 1);
    [events[2], events[3]] = [events[3]!, events[2]!]; // revision 5 before 4
    expectProblem(check(events), "out-of-order", /first: out of order: event #3 \(revision 4, PUT "\/a\/x"="x2"\) arrived after revision 5 \(event #2\)/);
  });

  it("a watcher whose view ends different from the final state fails", () => {
    const result = check(correctEvents("/a/", 1), { finalState: { "/a/y": "y2", "/a/z": "z2" } });
    expectProblem(result, "final-state", /^1 problem in the watch stream; first: wrong final state: the watcher's view has "\/a\/z" "z1", the final state has "z2"$/);
  });

  it("an event whose value differs from the change log is a mismatch", () => {
    const events = correctEvents("/a/", 1).map((e) => (e.modRevision === 8 ? { ...e, value: "stale" } : e));
    const result = check(events);
    expectProblem(result, "mismatch", /event #6 \(revision 8, PUT "\/a\/y"="stale"\) differs from the change log: PUT "\/a\/y"="y2"/);
    // The watcher applied the wrong value, so its view is wrong too.
    expect(!result.ok && result.problems.map((p) => p.kind)).toEqual(["mismatch", "final-state"]);
  });

  it("a wrong version, a phantom event and a key outside the watch are named", () => {
    const events = correctEvents("/a/", 1).map((e) => (e.modRevision === 4 ? { ...e, version: 7 } : e));
    expectProblem(check(events), "mismatch", /revision 4.*has version 7, expected 2/);

    const phantom = [...correctEvents("/a/", 1), { type: "PUT" as const, key: "/a/q", value: "q", modRevision: 9 }];
    expectProblem(check(phantom), "unexpected", /event #8 \(revision 9, PUT "\/a\/q"="q"\) matches no change in the change log/);

    const outside = [{ type: "PUT" as const, key: "/b/y", value: "y1", modRevision: 2 }, ...correctEvents("/a/", 1)];
    expectProblem(check(outside), "outside-range", /event #0 .* is for a key the watch does not cover/);
  });

  it("an event older than the start revision is named", () => {
    const events = correctEvents("/a/", 1);
    expectProblem(check(events, { startRevision: 5 }), "before-start", /event #0 \(revision 1.*older than the start revision 5/);
  });
});
