// The driver simulator: one seed runs real RaftNode instances (raft/node.ts,
// the driver production runs: send-before-fsync on the leader, background
// snapshot saves and deferred compaction, snapshot loading from disk,
// proposal tracking, tick coalescing) over the memory twins of storage and
// transport, on a virtual clock. Crashes hit at any point of the driver's
// loop (any await), optionally losing unsynced writes; members are cut off
// and healed; clients retry on other members when an outcome is unknown, so
// a write may land twice. After the faults everything heals and restarts, and
// the run checks what clients were told: every acknowledged write is in
// every member's state, the members agree entry by entry, nothing applied
// twice that was proposed once.

import pino from "pino";
import { NotLeaderError, OutcomeUnknownError, RaftNode, type ConfChange, type SnapshotMetadata, type StateMachine } from "../../raft/index.js";
import { MemoryLogStorage } from "../../raft/storage/memory.js";
import type { LogStorage, PersistBatch, StoredState } from "../../raft/storage/types.js";
import type { Snapshot } from "../../raft/core/types.js";
import { MemoryNetwork } from "../../raft/transport/memory.js";
import { Prng } from "./prng.js";
import { VirtualClock } from "./virtual-clock.js";

export interface NodeRunOptions {
  nodes: 3 | 5;
  /** Virtual milliseconds of faults and load. */
  faultMs?: number;
}

export interface NodeSeedResult {
  seed: number;
  nodes: number;
  ok: boolean;
  failure?: string;
  acked: number;
  crashes: number;
  /** Membership changes applied (removals, re-adds, promotions). */
  confChanges: number;
  events: number;
  wallMs: number;
  replay: string;
}

const silent = pino({ level: "silent" });
const TICK_MS = 10;

/** Applied payloads in order; duplicates are legal (retries) but each payload string is proposed once. */
class ListMachine implements StateMachine {
  values: string[] = [];
  apply(command: Uint8Array): unknown {
    const v = Buffer.from(command).toString("utf8");
    this.values.push(v);
    return v;
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.values));
  }
  restore(data: Uint8Array, _m: SnapshotMetadata): void {
    this.values = data.length === 0 ? [] : (JSON.parse(Buffer.from(data).toString("utf8")) as string[]);
  }
}

/**
 * A disk whose writes take virtual time, in order, so a crash can land while
 * a write is on its way (the driver is then between "sent" and "persisted",
 * or between "persisted" and "applied"): a write not yet landed is lost.
 */
class SlowDisk implements LogStorage {
  private tail: Promise<void> = Promise.resolve();
  constructor(
    readonly inner: MemoryLogStorage,
    private readonly delay: () => Promise<void>,
  ) {}
  load(): Promise<StoredState> {
    return this.inner.load();
  }
  loadSnapshot(): Promise<Snapshot | null> {
    return this.inner.loadSnapshot();
  }
  save(batch: PersistBatch, sync: boolean): Promise<void> {
    return this.queue(() => this.inner.save(batch, sync));
  }
  saveSnapshotAndCompact(snapshot: Snapshot, compactTo: number): Promise<void> {
    return this.queue(() => this.inner.saveSnapshotAndCompact(snapshot, compactTo));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  private queue(write: () => Promise<void>): Promise<void> {
    const done = this.tail.then(this.delay).then(write);
    this.tail = done.catch(() => undefined);
    return done;
  }
}

interface Member {
  id: string;
  storage: MemoryLogStorage;
  node: RaftNode | null;
  sm: ListMachine;
  incarnation: number;
  halted: Error | null;
  /** Removed from the configuration and stopped (its data wiped); may be added back later. */
  out: boolean;
  /** Starts with no bootstrap (a member added back after its removal). */
  joiner: boolean;
  /** Index of the entry that removed it (while it is out). */
  removedAt: number;
}

export async function runNodeSeed(seed: number, o: NodeRunOptions): Promise<NodeSeedResult> {
  const started = performance.now();
  const faultMs = o.faultMs ?? 6000;
  const root = new Prng(seed).fork(`driver/nodes=${o.nodes}`);
  const faults = root.fork("faults");
  const clients = root.fork("clients");
  const clock = new VirtualClock();
  // Deliveries take 1 virtual ms (FIFO per link); some batches are lost, as
  // queued messages are when a connection drops. Never duplicated: TCP does
  // not, and Raft would append a duplicated proposal twice (no dedup).
  const wire = root.fork("wire");
  const loss = wire.pick([0, 0, 0.01, 0.05]);
  const net = new MemoryNetwork({
    wire: false,
    schedule: (fn) => {
      if (wire.chance(loss)) return;
      clock.setTimeout(fn, 1);
    },
  });
  const ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const members = new Map<string, Member>();
  const acked = new Set<string>();
  const proposed = new Set<string>();
  let crashes = 0;
  let confChanges = 0;
  let failure: string | null = null;
  const fail = (msg: string): void => {
    failure ??= msg;
  };
  const params = {
    /** Voters at bootstrap; the others join as learners (one voter: a lone leader beside learners). */
    voters: faults.chance(0.25) ? 1 : faults.chance(0.3) ? o.nodes - 2 : o.nodes,
    /** Virtual ms a disk write takes (0: lands at once). */
    diskMs: faults.pick([0, 1, 3]),
    snapshotEvery: faults.pick([20, 50, 200]),
    catchUp: faults.pick([0, 5, 50]),
    electionTicks: faults.range(8, 15),
    loseUnsynced: faults.chance(0.5),
    faultEvery: faults.pick([150, 400, 1000]),
    /** Mean ms between membership operations (0: none): remove a voter, add a removed one back, promote it. */
    membershipEvery: faults.chance(0.5) ? faults.pick([300, 800]) : 0,
  };

  const founders = ids.slice(0, params.voters);
  const diskRng = root.fork("disk");
  const diskDelay = (): Promise<void> =>
    params.diskMs === 0 ? Promise.resolve() : new Promise((resolve) => clock.setTimeout(resolve, diskRng.int(params.diskMs + 1)));
  const start = async (m: Member): Promise<void> => {
    m.incarnation++;
    m.sm = new ListMachine();
    const node = await RaftNode.start({
      id: m.id,
      bootstrap: founders.includes(m.id) && !m.joiner ? founders.map((id) => ({ id })) : null,
      resolvePeer: (id) => ({ id, host: "", port: 0 }),
      storage: new SlowDisk(m.storage, diskDelay),
      transport: net.transport(m.id, ids.filter((p) => p !== m.id)),
      stateMachine: m.sm,
      logger: silent,
      tickMs: TICK_MS,
      electionTicks: params.electionTicks,
      heartbeatTicks: 2,
      snapshotEvery: params.snapshotEvery,
      snapshotCatchUpEntries: params.catchUp,
      requestTimeoutMs: 1500,
      clock,
      random: root.fork(`${m.id}/${m.incarnation}`).int.bind(root.fork(`${m.id}/${m.incarnation}`)),
      bootId: `${m.id}.${m.incarnation}`,
    });
    node.onFatal = (err) => {
      m.halted = err;
      fail(`${m.id} halted: ${err.message}`);
    };
    m.node = node;
  };

  const crash = (m: Member): void => {
    if (!m.node) return;
    m.node.abandon();
    m.node = null;
    crashes++;
    m.storage = m.storage.crashCopy({ loseUnsynced: params.loseUnsynced && faults.chance(0.5) });
  };

  /** Awaits a promise that needs virtual time to pass (a start writes its bootstrap to the slow disk). */
  const drive = async <T>(p: Promise<T>): Promise<T> => {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; i < 60 && !settled; i++) await clock.runUntil(clock.now() + 1000, () => settled);
    return p;
  };

  for (const id of ids) {
    const m: Member = { id, storage: new MemoryLogStorage(), node: null, sm: new ListMachine(), incarnation: 0, halted: null, out: false, joiner: false, removedAt: 0 };
    members.set(id, m);
    await drive(start(m));
  }

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms));
  const live = (): Member[] => [...members.values()].filter((m) => m.node !== null && m.halted === null && !m.out);
  const inCluster = (): Member[] => [...members.values()].filter((m) => !m.out);
  let faultsOn = true;

  // Members beyond the founders join as learners (before the faults start).
  for (const id of ids.slice(params.voters)) {
    const add = (async () => {
      for (let i = 0; i < 100; i++) {
        const leader = live().find((m) => m.node!.isLeader());
        if (leader) {
          try {
            await leader.node!.proposeConfChange({ type: "addLearner", node: id });
            return;
          } catch {
            // retry
          }
        }
        await sleep(50);
      }
      fail(`could not add learner ${id}`);
    })();
    await clock.runUntil(clock.now() + 10_000, () => failure !== null || members.get(id)!.node!.status().conf.learners.includes(id));
    void add;
  }

  // Clients: each write gets a fresh payload per attempt; an unknown outcome is retried elsewhere.
  const client = async (k: number): Promise<void> => {
    let n = 0;
    while (faultsOn && failure === null) {
      await sleep(clients.range(2, 40));
      const op = `c${k}:${n++}`;
      for (let attempt = 0; attempt < 4 && faultsOn; attempt++) {
        const targets = live();
        if (targets.length === 0) break;
        const m = clients.pick(targets);
        const payload = `${op}#${attempt}`;
        proposed.add(payload);
        try {
          const r = await m.node!.propose(Buffer.from(payload, "utf8"));
          if (r !== payload) fail(`${m.id} answered ${String(r)} to ${payload}`);
          acked.add(payload);
          break;
        } catch (err) {
          if (!(err instanceof OutcomeUnknownError || err instanceof NotLeaderError || (err as Error).name === "ProposalRefusedError")) {
            fail(`client got ${(err as Error).name}: ${(err as Error).message}`);
            return;
          }
          await sleep(clients.range(5, 50));
        }
      }
    }
  };
  const clientsDone = Promise.all(Array.from({ length: 3 }, (_, k) => client(k)));

  // Faults, on the virtual clock.
  const restartAt = new Map<string, number>();
  const faultLoop = async (): Promise<void> => {
    while (faultsOn && failure === null) {
      await sleep(faults.geometric(1 / params.faultEvery));
      if (!faultsOn) break;
      for (const [id, at] of restartAt) {
        if (clock.now() >= at) {
          restartAt.delete(id);
          const back = members.get(id)!;
          if (!back.out && !back.node) await start(back);
        }
      }
      const roll = faults.float();
      const m = faults.pick([...members.values()]);
      if (roll < 0.4) {
        if (m.node && !m.out && live().length > 1) {
          crash(m);
          restartAt.set(m.id, clock.now() + faults.range(20, 2000));
        }
      } else if (roll < 0.7) {
        net.isolate(m.id);
        const back = faults.range(20, 1500);
        clock.setTimeout(() => net.rejoin(m.id), back);
      } else {
        net.healAll();
      }
    }
  };
  const faultsDone = faultLoop();

  // Membership: remove a voter (the member stops once it no longer leads,
  // and its data is wiped), add a removed member back as a fresh learner once
  // every member applied its removal, then promote it.
  const leaderNow = (): Member | undefined => live().find((m) => m.node!.isLeader() && m.node!.leaderReadyTerm() !== null);
  const change = async (cc: ConfChange): Promise<boolean> => {
    const lead = leaderNow();
    if (!lead) return false;
    try {
      await lead.node!.proposeConfChange(cc, 3000);
      confChanges++;
      return true;
    } catch {
      return false;
    }
  };
  const membershipLoop = async (): Promise<void> => {
    if (params.membershipEvery === 0) return;
    const mr = root.fork("membership");
    while (faultsOn && failure === null) {
      await sleep(mr.geometric(1 / params.membershipEvery));
      if (!faultsOn) break;
      const lead = leaderNow();
      if (!lead) continue;
      const conf = lead.node!.status().conf;
      const out = [...members.values()].filter((m) => m.out);
      const inside = inCluster();
      const rejoinable = out.filter((m) => inside.every((o) => o.node !== null && o.node.applied >= m.removedAt));
      if (rejoinable.length > 0 && mr.chance(0.6)) {
        const m = mr.pick(rejoinable);
        m.out = false;
        m.joiner = true;
        m.halted = null;
        m.storage = new MemoryLogStorage();
        await start(m);
        if (await change({ type: "addLearner", node: m.id })) {
          await sleep(mr.range(50, 500));
          await change({ type: "addNode", node: m.id });
        }
        continue;
      }
      if (conf.voters.length < 3) continue;
      const victimId = mr.chance(0.3) ? lead.id : mr.pick(conf.voters.filter((v) => v !== lead.id));
      const victim = members.get(victimId)!;
      if (!(await change({ type: "removeNode", node: victimId }))) continue;
      victim.removedAt = lead.node?.applied ?? 0;
      // The removed member stops once it no longer leads (a removed leader leads on until the others confirmed).
      for (let i = 0; i < 200 && victim.node !== null && victim.node.isLeader(); i++) await sleep(10);
      if (victim.node) victim.node.abandon();
      victim.node = null;
      victim.out = true;
      restartAt.delete(victimId);
    }
  };
  const membershipDone = membershipLoop();

  await clock.runUntil(faultMs, () => failure !== null);
  faultsOn = false;
  // Heal and restart everything; then a write must commit and every member catch up.
  net.healAll();
  for (const m of inCluster()) if (!m.node && m.halted === null) await drive(start(m));
  let final = false;
  const finalWrite = (async () => {
    for (let i = 0; i < 50 && failure === null; i++) {
      const targets = live();
      const m = targets[i % Math.max(1, targets.length)];
      if (!m) break;
      // A fresh payload per attempt: an attempt whose outcome was unknown may still land.
      const payload = `final#${i}`;
      proposed.add(payload);
      try {
        await m.node!.propose(Buffer.from(payload, "utf8"));
        acked.add(payload);
        final = true;
        return;
      } catch {
        await sleep(100);
      }
    }
  })();
  /**
   * The members of the configuration the leader has now. A membership call
   * whose outcome was unknown may have applied, so the configuration, not
   * the harness's bookkeeping, says who must hold every acknowledged write.
   */
  const members_ = (): Member[] => {
    const conf = live().find((m) => m.node!.isLeader())?.node?.status().conf;
    if (!conf) return inCluster();
    const inConf = new Set([...conf.voters, ...conf.learners]);
    return [...members.values()].filter((m) => inConf.has(m.id));
  };
  const converged = (): boolean => {
    if (!final) return false;
    const lens = members_().map((m) => (m.node ? m.node.applied : -1));
    const st = [...members.values()].find((m) => m.node?.isLeader())?.node?.status();
    return st !== undefined && lens.every((l) => l === st.commit);
  };
  const endBy = faultMs + 30_000;
  await clock.runUntil(endBy, () => failure !== null || converged());
  await clock.runUntil(clock.now() + 50, () => failure !== null); // let late client callbacks settle
  if (failure === null && !converged()) {
    const st = live().find((m) => m.node!.isLeader())?.node?.status();
    const who = members_().map((m) => `${m.id}:${m.node ? `applied ${m.node.applied}` : "down"}`).join(" ");
    fail(
      `no convergence within 30 s after healing (final write ${final ? "committed" : "not committed"}; ` +
        `leader commit ${st?.commit ?? "?"}, voters ${st?.conf.voters.join(",") ?? "?"} learners ${st?.conf.learners.join(",") ?? "?"}; ${who})`,
    );
  }
  void finalWrite;
  void clientsDone;
  void faultsDone;
  void membershipDone;

  if (failure === null) {
    const current = members_();
    const sms = current.map((m) => m.sm.values);
    const first = sms[0]!;
    for (const [i, values] of sms.entries()) {
      if (values.length !== first.length || values.some((v, j) => v !== first[j])) {
        fail(`members ${current[0]!.id} and ${current[i]!.id} applied different sequences (${first.length} vs ${values.length} entries)`);
      }
    }
    const seen = new Set<string>();
    for (const v of first) {
      if (seen.has(v)) fail(`${v} was applied twice though proposed once`);
      seen.add(v);
      if (!proposed.has(v)) fail(`${v} was applied but never proposed`);
    }
    for (const a of acked) if (!seen.has(a)) fail(`acknowledged write ${a} is missing after the crashes`);
  }
  for (const m of members.values()) m.node?.abandon();
  return {
    seed,
    nodes: o.nodes,
    ok: failure === null,
    ...(failure !== null ? { failure } : {}),
    acked: acked.size,
    crashes,
    confChanges,
    events: clock.events,
    wallMs: performance.now() - started,
    replay: `npm run sim -- --driver --seeds 1 --from ${seed} --nodes ${o.nodes}`,
  };
}
