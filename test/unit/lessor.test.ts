// The leader's lease timers: a lease whose expiry is already proposed is never
// acknowledged as renewed (the expiry would apply anyway).

import pino from "pino";
import { describe, expect, it } from "vitest";
import { LeaseNotFoundError, Lessor } from "../../src/store/lessor.js";
import type { StoreCommand } from "../../src/store/mvcc/index.js";
import { encodeCommand } from "../../src/store/mvcc/index.js";
import { StoreStateMachine } from "../../src/store/state-machine.js";

describe("Lessor", () => {
  it("refuses to renew a lease whose expiry is already proposed, and renews again if that proposal fails", async () => {
    const sm = new StoreStateMachine("test");
    sm.apply(encodeCommand({ type: "leaseGrant", request: { id: 7, ttl: 5 } }), 1);
    let now = 1_000_000;
    const proposed: StoreCommand[] = [];
    const fences: (number | undefined)[] = [];
    let failPending: ((e: Error) => void) | null = null;
    const lessor = new Lessor(
      sm,
      (c, opts) => {
        proposed.push(c);
        fences.push(opts?.fenceTerm);
        return new Promise((_resolve, reject) => (failPending = reject));
      },
      pino({ level: "silent" }),
      () => now,
      5,
    );
    try {
      lessor.promote(7);
      expect(lessor.keepAlive(7)).toBe(5);
      now += 6_000; // past its TTL: the next check proposes the expiry
      await new Promise((r) => setTimeout(r, 30));
      expect(proposed).toEqual([{ type: "leaseExpire", request: { ids: [7] } }]);
      // A leader-only loop: the expiry is fenced to the term this member leads in.
      expect(fences).toEqual([7]);
      expect(() => lessor.keepAlive(7)).toThrow(LeaseNotFoundError);
      // The expiry proposal failed (never applied): the lease is still due and is proposed again.
      failPending!(new Error("not applied"));
      await new Promise((r) => setTimeout(r, 30));
      expect(proposed.length).toBeGreaterThanOrEqual(2);
      expect(() => lessor.keepAlive(7)).toThrow(LeaseNotFoundError);
    } finally {
      lessor.close();
    }
  });
});
