// Lease expiry on the leader's clock. Remaining TTLs are not replicated
// (neither are they in etcd): keepalives refresh timers here, and when a
// lease runs out the leader proposes one leaseExpire command that deletes
// its keys on every master in one revision. A new leader restarts every
// lease at its full TTL, so a lease never expires early because of a
// leader change, only late.

import type { Logger } from "pino";
import type { StoreStateMachine } from "./state-machine.js";
import { MAX_LEASE_EXPIRE_IDS, type StoreCommand } from "./mvcc/index.js";

export type Clock = () => number;

export class LeaseNotFoundError extends Error {
  override name = "LeaseNotFoundError";
  constructor(id: number) {
    super("etcdserver: requested lease not found");
    void id;
  }
}

/** Proposes a store command; with fenceTerm only if this member still leads in that term. */
export type LessorPropose = (command: StoreCommand, opts?: { fenceTerm?: number }) => Promise<unknown>;

export class Lessor {
  private active = false;
  /** The term we lead in (fences our expiry proposals: a deposed leader's stale timers never revoke). */
  private term: number | null = null;
  private readonly expiries = new Map<number, number>();
  /** Leases whose expiry is being proposed, so one lease is not proposed twice at once. */
  private readonly expiring = new Set<number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sm: StoreStateMachine,
    private readonly propose: LessorPropose,
    private readonly log: Logger,
    private readonly clock: Clock = Date.now,
    private readonly checkEveryMs = 200,
  ) {
    sm.onCommand((command, result) => {
      if (!result.ok) return;
      switch (command.type) {
        case "leaseGrant": {
          const granted = result.value as { id: number; ttl: number };
          if (this.active) this.expiries.set(granted.id, this.clock() + granted.ttl * 1000);
          return;
        }
        case "leaseRevoke":
          this.forget(command.request.id);
          return;
        case "leaseExpire":
          for (const id of command.request.ids) this.forget(id);
          return;
        default:
          return;
      }
    });
  }

  /** Leadership gained (in `term`, if known): every lease restarts at its full TTL on our clock. */
  promote(term?: number): void {
    if (this.active) return;
    this.active = true;
    this.term = term ?? null;
    const now = this.clock();
    this.expiries.clear();
    this.expiring.clear();
    for (const lease of this.sm.mvcc.leases()) this.expiries.set(lease.id, now + lease.ttl * 1000);
    this.timer = setInterval(() => this.expireDue(), this.checkEveryMs);
    this.log.info({ leases: this.expiries.size }, "lessor active on the leader");
  }

  /** Leadership lost: the next leader owns the timers. */
  demote(): void {
    if (!this.active) return;
    this.active = false;
    this.term = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.expiries.clear();
    this.expiring.clear();
  }

  isActive(): boolean {
    return this.active;
  }

  /** Refreshes a lease on the leader; returns its TTL in seconds. */
  keepAlive(id: number): number {
    const lease = this.sm.mvcc.lease(id);
    // A lease whose expiry is already proposed is as good as gone: renewing it
    // here could not stop the expiry from applying, so never acknowledge it.
    if (!lease || !this.expiries.has(id) || this.expiring.has(id)) throw new LeaseNotFoundError(id);
    this.expiries.set(id, this.clock() + lease.ttl * 1000);
    return lease.ttl;
  }

  /** Seconds left (rounded up), or -1 if the lease is unknown here. */
  remainingSeconds(id: number): number {
    const at = this.expiries.get(id);
    if (at === undefined) return -1;
    return Math.max(0, Math.ceil((at - this.clock()) / 1000));
  }

  private forget(id: number): void {
    this.expiries.delete(id);
    this.expiring.delete(id);
  }

  private expireDue(): void {
    const now = this.clock();
    const due: number[] = [];
    for (const [id, at] of this.expiries) {
      if (at <= now && !this.expiring.has(id)) due.push(id);
      if (due.length >= MAX_LEASE_EXPIRE_IDS) break;
    }
    if (due.length === 0) return;
    for (const id of due) this.expiring.add(id);
    this.propose({ type: "leaseExpire", request: { ids: due } }, this.term === null ? {} : { fenceTerm: this.term }).catch((err: Error) => {
      // Not applied or unknown: try again on a later check (expiring twice is harmless).
      for (const id of due) this.expiring.delete(id);
      this.log.warn({ err: err.message, leases: due.length }, "lease expiry proposal failed; will retry");
    });
  }

  close(): void {
    this.demote();
  }
}
