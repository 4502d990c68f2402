// The scheduling queue: priority then arrival order, back-off that doubles,
// unschedulable pods waiting for a cluster change, and a change during a
// pod's cycle that must not be lost.

import { describe, expect, test } from "vitest";

import { SchedulingQueue } from "../../src/scheduler/queue.js";
import { pi, pod } from "./scheduler-helpers.js";

function q(now: { t: number }) {
  return new SchedulingQueue({ now: () => now.t, initialBackoffMs: 1000, maxBackoffMs: 4000, maxUnschedulableMs: 30_000 });
}

describe("scheduling queue", () => {
  test("higher priority first, then first come first served", () => {
    const queue = q({ t: 0 });
    queue.addOrUpdate(pi(pod("a")));
    queue.addOrUpdate(pi(pod("b", { priority: 10 })));
    queue.addOrUpdate(pi(pod("c")));
    expect([queue.popNow()?.key, queue.popNow()?.key, queue.popNow()?.key]).toEqual(["default/b", "default/a", "default/c"]);
    expect(queue.popNow()).toBeNull();
  });

  test("pop waits for a pod and returns null once closed", async () => {
    const queue = q({ t: 0 });
    const waiting = queue.pop();
    queue.addOrUpdate(pi(pod("a")));
    expect((await waiting)?.key).toBe("default/a");
    const closed = queue.pop();
    queue.close();
    expect(await closed).toBeNull();
  });

  test("an unschedulable pod waits for a cluster change, then for its back-off", () => {
    const now = { t: 0 };
    const queue = q(now);
    queue.addOrUpdate(pi(pod("a")));
    const p = queue.popNow()!;
    queue.requeueUnschedulable(p.key, queue.schedulingCycle);
    now.t = 5000;
    queue.flush();
    expect(queue.popNow()).toBeNull();
    queue.moveAllToActiveOrBackoff();
    expect(queue.popNow()?.key).toBe("default/a");
  });

  test("back-off doubles up to the maximum", () => {
    const queue = q({ t: 0 });
    expect([1, 2, 3, 4, 5].map((n) => queue.backoffDurationMs(n))).toEqual([1000, 2000, 4000, 4000, 4000]);
  });

  test("a moved pod still in back-off waits for it", () => {
    const now = { t: 0 };
    const queue = q(now);
    queue.addOrUpdate(pi(pod("a")));
    queue.requeueUnschedulable(queue.popNow()!.key, queue.schedulingCycle);
    now.t = 500;
    queue.moveAllToActiveOrBackoff();
    expect(queue.popNow()).toBeNull();
    now.t = 1000;
    queue.flush();
    expect(queue.popNow()?.key).toBe("default/a");
  });

  test("a cluster change during the pod's cycle sends it to back-off, not to wait for ever", () => {
    const now = { t: 0 };
    const queue = q(now);
    queue.addOrUpdate(pi(pod("a")));
    const p = queue.popNow()!;
    const cycle = queue.schedulingCycle;
    queue.moveAllToActiveOrBackoff(); // a node was added while we were deciding
    queue.requeueUnschedulable(p.key, cycle);
    now.t = 1000;
    queue.flush();
    expect(queue.popNow()?.key).toBe("default/a");
  });

  test("unschedulable pods are retried after maxUnschedulable even without events", () => {
    const now = { t: 0 };
    const queue = q(now);
    queue.addOrUpdate(pi(pod("a")));
    queue.requeueUnschedulable(queue.popNow()!.key, queue.schedulingCycle);
    now.t = 30_000;
    queue.flush();
    expect(queue.popNow()?.key).toBe("default/a");
  });

  test("a placement-sensitive move wakes only pods those plugins rejected", () => {
    const now = { t: 10_000 };
    const queue = q(now);
    queue.addOrUpdate(pi(pod("affine")));
    queue.addOrUpdate(pi(pod("big")));
    queue.requeueUnschedulable(queue.popNow()!.key, queue.schedulingCycle, new Set(["InterPodAffinity"]));
    queue.requeueUnschedulable(queue.popNow()!.key, queue.schedulingCycle, new Set(["NodeResourcesFit"]));
    now.t += 5000;
    queue.moveRejectedBy(["InterPodAffinity", "PodTopologySpread"]);
    expect(queue.popNow()?.key).toBe("default/affine");
    expect(queue.popNow()).toBeNull();
  });

  test("a deleted pod never comes out", () => {
    const queue = q({ t: 0 });
    queue.addOrUpdate(pi(pod("a")));
    queue.addOrUpdate(pi(pod("b")));
    queue.delete("default/a");
    expect(queue.popNow()?.key).toBe("default/b");
    expect(queue.popNow()).toBeNull();
    queue.addOrUpdate(pi(pod("a")));
    expect(queue.popNow()?.key).toBe("default/a");
  });

  test("a status-only update does not wake an unschedulable pod; a spec change does", () => {
    const now = { t: 10_000 };
    const queue = q(now);
    queue.addOrUpdate(pi(pod("a")));
    queue.requeueUnschedulable(queue.popNow()!.key, queue.schedulingCycle);
    now.t += 5000;
    queue.addOrUpdate(pi(pod("a")), false);
    queue.flush();
    expect(queue.popNow()).toBeNull();
    queue.addOrUpdate(pi(pod("a", { tolerations: [{ operator: "Exists" }] })), true);
    queue.flush();
    expect(queue.popNow()?.key).toBe("default/a");
  });
});
