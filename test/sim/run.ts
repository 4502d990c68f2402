// One seeded simulation: a cluster of 3 or 5 members under a fault schedule,
// client load, reads, leadership transfers and membership changes, all drawn
// from the seed; then a liveness phase (faults off, everything healed and
// restarted) in which one leader must emerge and new proposals must reach
// every member. Same seed, same run: a failure replays exactly.

import type { ConfChange, ConfState, NodeId, ProposalRefusal } from "../../raft/core/types.js";
import { SimCluster, type ClusterStats, type CrashPoint, type RaftTuning, type SimNode } from "./cluster.js";
import { confKey, SimViolation } from "./invariants.js";
import { calmNetwork, SimNetwork, type NetworkFaults } from "./network.js";
import { Prng } from "./prng.js";
import { Trace } from "./trace.js";

/** Simulated time per step. */
export const STEP_MS = 10;
/** Default length of the fault phase: 200 simulated seconds. */
export const DEFAULT_STEPS = 20_000;

export interface RunOptions {
  nodes: 3 | 5;
  /** Steps of the fault phase (default DEFAULT_STEPS). */
  steps?: number;
  /** Keep the whole trace, not only the last events (SIM_TRACE=1). */
  fullTrace?: boolean;
}

export interface SeedFailure {
  invariant: string;
  message: string;
  step: number;
  trace: string[];
  replay: string;
}

export interface SeedResult {
  seed: number;
  nodes: number;
  ok: boolean;
  /** Steps simulated (both phases). */
  steps: number;
  simulatedSeconds: number;
  wallMs: number;
  params: string;
  /** The final state of every member, to compare two runs of one seed. */
  fingerprint: string;
  stats: ClusterStats & { committed: number; sent: number; lost: number; duplicated: number; cutDrops: number };
  failure?: SeedFailure;
}

type FaultKind = "partition" | "oneWay" | "isolate" | "bridge" | "heal" | "crash" | "pause";

interface SimParams {
  raft: RaftTuning;
  stepsPerTick: number;
  initialVoters: number;
  snapshotEvery: number;
  snapshotTail: number;
  net: NetworkFaults;
  churn: boolean;
  /** Mean steps between events (0: never). */
  faultEvery: number;
  faultWeights: Record<FaultKind, number>;
  proposeEvery: number;
  readEvery: number;
  transferEvery: number;
  campaignEvery: number;
  membershipEvery: number;
}

function drawParams(r: Prng, nodes: number): SimParams {
  const electionTicks = r.range(5, 12);
  const stepsPerTick = 10;
  const membershipEvery = r.chance(0.6) ? r.pick([1500, 4000, 8000]) : 0;
  const faultWeights: Record<FaultKind, number> = {
    partition: r.range(0, 4),
    oneWay: r.range(0, 3),
    isolate: r.range(0, 4),
    bridge: r.range(0, 2),
    heal: r.range(0, 3),
    crash: r.range(0, 4),
    pause: r.range(0, 2),
  };
  if (Object.values(faultWeights).every((w) => w === 0)) faultWeights.crash = 1;
  // Churn: short, frequent faults aimed at the leader, under steady load. This
  // is where leaders die with half-replicated entries (figure 8 histories).
  const churn = r.chance(0.3);
  if (churn) {
    faultWeights.isolate += 3;
    faultWeights.crash += 3;
  }
  return {
    raft: {
      electionTicks,
      heartbeatTicks: r.chance(0.7) ? 1 : 2,
      preVote: r.chance(0.8),
      checkQuorum: r.chance(0.8),
      maxInflightMsgs: r.pick([1, 2, 4, 16, 256]),
      maxInflightBytes: r.pick([0, 0, 0, 32, 256]),
      maxMsgBytes: r.pick([8, 32, 256, 1 << 20]),
      maxEntriesPerMsg: r.pick([1, 2, 8, 64, 1000]),
    },
    stepsPerTick,
    initialVoters: nodes === 5 && r.chance(0.3) ? 3 : nodes,
    // Joining members learn the configuration from a snapshot, so membership changes need them.
    snapshotEvery: membershipEvery === 0 && r.chance(0.1) ? 0 : r.range(20, 200),
    snapshotTail: r.pick([0, 0, 2, 5, 10]),
    net: {
      loss: r.pick([0, 0.005, 0.02, 0.05, 0.1, 0.2]),
      dup: r.pick([0, 0, 0.01, 0.05]),
      minDelay: 1,
      maxDelay: r.range(1, 15),
      longRate: r.pick([0, 0.002, 0.01, 0.05]),
      longDelay: electionTicks * stepsPerTick * r.range(1, 4),
    },
    churn,
    faultEvery: churn ? r.pick([50, 100, 200]) : r.pick([300, 800, 2000, 5000]),
    faultWeights,
    proposeEvery: churn ? r.pick([2, 5]) : r.pick([3, 10, 30, 100]),
    readEvery: r.pick([20, 100, 400]),
    transferEvery: r.chance(0.5) ? r.pick([500, 2000, 6000]) : 0,
    campaignEvery: r.chance(0.2) ? r.pick([2000, 8000]) : 0,
    membershipEvery,
  };
}

function describeParams(p: SimParams): string {
  const r = p.raft;
  const f = p.net;
  const w = Object.entries(p.faultWeights).filter(([, v]) => v > 0).map(([k, v]) => `${k}:${v}`).join(",");
  return [
    `election=${r.electionTicks} heartbeat=${r.heartbeatTicks} preVote=${r.preVote} checkQuorum=${r.checkQuorum}`,
    `inflight=${r.maxInflightMsgs}/${r.maxInflightBytes}B msg=${r.maxMsgBytes}B/${r.maxEntriesPerMsg}`,
    `voters0=${p.initialVoters} snapshotEvery=${p.snapshotEvery} tail=${p.snapshotTail}`,
    `loss=${f.loss} dup=${f.dup} delay=${f.minDelay}-${f.maxDelay} long=${f.longRate}@${f.longDelay}`,
    `${p.churn ? "churn " : ""}faultEvery=${p.faultEvery} {${w}} propose/${p.proposeEvery} read/${p.readEvery} transfer/${p.transferEvery} campaign/${p.campaignEvery} membership/${p.membershipEvery}`,
  ].join(" | ");
}

interface MemberOp {
  kind: "add" | "remove";
  node: NodeId;
  phase: "learner" | "promote" | "remove";
  since: number;
  lastTry: number;
}

function members(c: ConfState): NodeId[] {
  return [...c.voters, ...c.learners];
}

export function replayCommand(seed: number, nodes: number, steps: number): string {
  return `npm run sim -- --seeds 1 --from ${seed} --nodes ${nodes}${steps === DEFAULT_STEPS ? "" : ` --steps ${steps}`}`;
}

class SeedRun {
  readonly cluster: SimCluster;
  readonly net: SimNetwork;
  readonly trace: Trace;
  readonly p: SimParams;
  private readonly ids: NodeId[];
  private readonly faults: Prng;
  private readonly clients: Prng;
  private readonly membership: Prng;
  /**
   * Membership storms (some seeds): changes back to back, with leadership
   * transfers, crashes and isolations aimed at the members involved while a
   * change is in flight, and frequent snapshots so joiners install them while
   * the configuration moves. Its own stream: other seeds replay as before.
   */
  private readonly storm: Prng | null;
  private now = 0;
  private readonly nextTick = new Map<NodeId, number>();
  private readonly tickEvery = new Map<NodeId, number>();
  private readonly restartAt = new Map<NodeId, number>();
  private readonly crashPlan = new Map<NodeId, CrashPoint>();
  private nextFault = 0;
  private nextPropose = 0;
  private nextRead = 0;
  private nextTransfer = 0;
  private nextCampaign = 0;
  private nextMemberOp = 0;
  private seq = 0;
  private op: MemberOp | null = null;
  /** The configuration at the highest applied index any member reported. */
  private appliedConf: { index: number; conf: ConfState };
  private readonly removedAt = new Map<NodeId, number>();
  private pendingWipes: NodeId[] = [];

  constructor(
    readonly seed: number,
    readonly opts: RunOptions,
  ) {
    const root = new Prng(seed).fork(`nodes=${opts.nodes}`);
    this.p = drawParams(root.fork("params"), opts.nodes);
    const storm = root.fork("storm");
    this.storm = this.p.membershipEvery > 0 && storm.chance(0.4) ? storm : null;
    if (this.storm !== null) {
      this.p.membershipEvery = this.storm.pick([100, 300, 600]);
      this.p.snapshotEvery = this.storm.range(15, 60);
      this.p.snapshotTail = this.storm.pick([0, 0, 2]);
    }
    this.trace = new Trace(300, opts.fullTrace ?? false);
    this.net = new SimNetwork(root.fork("network"), this.trace);
    this.net.faults = { ...this.p.net };
    this.faults = root.fork("faults");
    this.clients = root.fork("clients");
    this.membership = root.fork("membership");
    this.ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    const bootstrap: ConfState = { voters: this.ids.slice(0, this.p.initialVoters), learners: [] };
    this.appliedConf = { index: 0, conf: bootstrap };
    const net = this.net;
    this.cluster = new SimCluster({
      seed,
      ids: this.ids,
      bootstrap,
      raft: this.p.raft,
      snapshotEvery: this.p.snapshotEvery,
      snapshotTail: this.p.snapshotTail,
      rng: root.fork("cores"),
      trace: this.trace,
      link: { send: (m, now) => net.send(m, now), purge: (id, fromToo) => net.purge(id, fromToo) },
    });
    this.cluster.onConf = (n, index, conf) => this.confApplied(n, index, conf);
    const skew = root.fork("clocks");
    for (const id of this.ids) {
      // Clocks drift a little: each member ticks every stepsPerTick +- 1 steps.
      this.tickEvery.set(id, this.p.stepsPerTick + skew.range(-1, 1));
      if (bootstrap.voters.includes(id)) this.startMember(id);
      else this.cluster.node(id).joiner = true;
    }
    this.trace.event(0, `seed ${seed}: ${describeParams(this.p)}${this.storm !== null ? " | membership storm" : ""}`);
    const f = this.faults;
    this.nextFault = f.geometric(1 / this.p.faultEvery);
    this.nextPropose = this.p.proposeEvery > 0 ? f.geometric(1 / this.p.proposeEvery) : Infinity;
    this.nextRead = this.p.readEvery > 0 ? f.geometric(1 / this.p.readEvery) : Infinity;
    this.nextTransfer = this.p.transferEvery > 0 ? f.geometric(1 / this.p.transferEvery) : Infinity;
    this.nextCampaign = this.p.campaignEvery > 0 ? f.geometric(1 / this.p.campaignEvery) : Infinity;
    this.nextMemberOp = this.p.membershipEvery > 0 ? f.geometric(1 / this.p.membershipEvery) : Infinity;
  }

  get electionSteps(): number {
    // The longest randomized election timeout, in steps.
    return 2 * this.p.raft.electionTicks * (this.p.stepsPerTick + 1);
  }

  private startMember(id: NodeId): void {
    this.cluster.start(id);
    this.nextTick.set(id, this.now + 1 + this.faults.int(this.tickEvery.get(id) as number));
  }

  // -------------------------------------------------------------------------
  // One step of simulated time.

  private step(withFaults: boolean): void {
    this.now++;
    const c = this.cluster;
    c.now = this.now;
    if (this.restartAt.size > 0) this.restarts();
    for (const label of this.net.expire(this.now)) this.trace.event(this.now, `heal: ${label}`);
    if (withFaults && this.now >= this.nextFault) {
      this.nextFault = this.now + this.faults.geometric(1 / this.p.faultEvery);
      this.injectFault();
    }
    for (;;) {
      const m = this.net.popDue(this.now);
      if (m === undefined) break;
      const to = c.nodes.get(m.to);
      if (to !== undefined && to.up && c.paused(to)) {
        this.net.requeue(m, to.pausedUntil + this.faults.int(3));
        continue;
      }
      c.deliver(m);
    }
    for (const n of c.nodes.values()) {
      if (!n.up || c.paused(n)) continue;
      const at = this.nextTick.get(n.id) as number;
      if (this.now >= at) {
        c.tick(n.id);
        this.nextTick.set(n.id, this.now + (this.tickEvery.get(n.id) as number));
      }
    }
    if (withFaults) {
      this.clientLoad();
      this.membershipStep();
    }
    c.processReadies(this.crashPlan);
    if (this.crashPlan.size > 0) this.crashPlan.clear();
    if (this.pendingWipes.length > 0) {
      // The driver stops a removed member. A removed leader first keeps
      // leading until a quorum of the new configuration confirmed the
      // removal committed (then its core steps down); stopping it earlier
      // could strand the others in the old configuration (seed 9100733).
      const keep: NodeId[] = [];
      for (const id of this.pendingWipes) {
        const n = c.node(id);
        if (n.state === "absent") continue;
        if (n.up && c.status(id).role === "leader") keep.push(id);
        else c.wipe(id, "removed from the configuration");
      }
      this.pendingWipes = keep;
    }
    c.afterStep();
  }

  private restarts(): void {
    const c = this.cluster;
    for (const [id, at] of this.restartAt) {
      const n = c.node(id);
      if (n.state !== "down") this.restartAt.delete(id);
      else if (at <= this.now) {
        this.restartAt.delete(id);
        this.startMember(id);
      }
    }
  }

  // -------------------------------------------------------------------------
  // Faults.

  private duration(): number {
    const f = this.faults;
    if (this.p.churn) return f.range(20, 3 * this.electionSteps);
    return f.pick([f.range(20, 200), f.range(200, 2000), f.range(2000, 8000)]);
  }

  private injectFault(): void {
    const f = this.faults;
    const c = this.cluster;
    const w = this.p.faultWeights;
    const kinds = Object.keys(w) as FaultKind[];
    let roll = f.int(kinds.reduce((s, k) => s + w[k], 0));
    let kind: FaultKind = "crash";
    for (const k of kinds) {
      if (roll < w[k]) {
        kind = k;
        break;
      }
      roll -= w[k];
    }
    const present = this.ids.filter((id) => c.node(id).state !== "absent");
    const up = c.upNodes().filter((n) => !c.paused(n));
    const leader = c.leader();
    const victim = (): SimNode | null => {
      if (up.length === 0) return null;
      if (leader !== null && !c.paused(leader) && f.chance(this.p.churn ? 0.8 : 0.5)) return leader;
      return f.pick(up);
    };
    const until = this.now + this.duration();
    switch (kind) {
      case "partition": {
        if (present.length < 2) return;
        const order = f.shuffle(present);
        const k = f.range(1, order.length - 1);
        const a = order.slice(0, k);
        const b = order.slice(k);
        const label = `partition {${a.join(",")}} | {${b.join(",")}}`;
        this.net.cut(label, a, b, true, until);
        this.trace.event(this.now, `${label} until t=${until}`);
        return;
      }
      case "oneWay": {
        if (present.length < 2) return;
        const order = f.shuffle(present);
        const k = f.range(1, order.length - 1);
        const a = order.slice(0, k);
        const b = order.slice(k);
        const label = `one-way {${a.join(",")}} -x-> {${b.join(",")}}`;
        this.net.cut(label, a, b, false, until);
        this.trace.event(this.now, `${label} until t=${until}`);
        return;
      }
      case "isolate": {
        const v = victim();
        if (v === null) return;
        const label = `isolate ${v.id}`;
        this.net.cut(label, [v.id], this.ids, true, until);
        this.trace.event(this.now, `${label} until t=${until}`);
        return;
      }
      case "bridge": {
        if (present.length < 3) return;
        const order = f.shuffle(present);
        const bridge = order[0] as NodeId;
        const rest = order.slice(1);
        const k = f.range(1, rest.length - 1);
        const label = `bridge via ${bridge}: {${rest.slice(0, k).join(",")}} | {${rest.slice(k).join(",")}}`;
        this.net.cut(label, rest.slice(0, k), rest.slice(k), true, until);
        this.trace.event(this.now, `${label} until t=${until}`);
        return;
      }
      case "heal":
        if (this.net.activeCuts().length === 0) return;
        this.net.healAll();
        this.trace.event(this.now, "heal: all partitions");
        return;
      case "crash": {
        const v = victim();
        if (v === null) return;
        const point = f.pick(["now", "beforePersist", "afterPersist", "afterSend"] as const);
        if (point === "now") c.crash(v.id);
        else this.crashPlan.set(v.id, point);
        const downFor = this.p.churn ? f.range(5, 3 * this.electionSteps) : f.pick([f.range(5, 100), f.range(100, 1000), f.range(1000, 5000)]);
        this.restartAt.set(v.id, this.now + downFor);
        return;
      }
      case "pause": {
        const v = victim();
        if (v === null) return;
        c.pause(v.id, this.now + f.range(20, 3 * this.electionSteps));
        return;
      }
    }
  }

  // -------------------------------------------------------------------------
  // Clients: proposals with unique payloads, reads, transfers, campaigns.

  private runnable(): SimNode[] {
    return this.cluster.upNodes().filter((n) => !this.cluster.paused(n));
  }

  private clientLoad(): void {
    const r = this.clients;
    const c = this.cluster;
    if (this.now >= this.nextPropose) {
      this.nextPropose = this.now + r.geometric(1 / this.p.proposeEvery);
      const nodes = this.runnable();
      if (nodes.length > 0) {
        const leader = c.leader();
        const target = leader !== null && !c.paused(leader) && r.chance(0.5) ? leader : r.pick(nodes);
        c.propose(target.id, `c:${this.seq++}`);
      }
    }
    if (this.now >= this.nextRead) {
      this.nextRead = this.now + r.geometric(1 / this.p.readEvery);
      const nodes = this.runnable();
      if (nodes.length > 0) c.readIndex(r.pick(nodes).id, `r:${this.seq++}`);
    }
    if (this.now >= this.nextTransfer) {
      this.nextTransfer = this.now + r.geometric(1 / this.p.transferEvery);
      const leader = c.leader();
      if (leader !== null && !c.paused(leader)) {
        const to = leader.conf.voters.filter((v) => v !== leader.id);
        if (to.length > 0) {
          const nodes = this.runnable();
          const from = r.chance(0.7) || nodes.length === 0 ? leader : r.pick(nodes);
          c.transferLeadership(from.id, r.pick(to));
        }
      }
    }
    if (this.now >= this.nextCampaign) {
      this.nextCampaign = this.now + r.geometric(1 / this.p.campaignEvery);
      const nodes = this.runnable();
      if (nodes.length > 0) c.campaign(r.pick(nodes).id);
    }
  }

  // -------------------------------------------------------------------------
  // Membership: remove a voter (it is wiped once the removal applies), re-add
  // a wiped or never-started member as a fresh learner, then promote it.

  private confApplied(n: SimNode, index: number, conf: ConfState): void {
    if (index <= this.appliedConf.index) return;
    const before = members(this.appliedConf.conf);
    const after = new Set(members(conf));
    for (const id of before) {
      if (after.has(id)) continue;
      this.removedAt.set(id, index);
      this.pendingWipes.push(id);
    }
    this.trace.event(this.now, `configuration at ${index} (first applied by ${n.who}): voters=${conf.voters.join(",")} learners=${conf.learners.join(",")}`);
    this.appliedConf = { index, conf: { voters: conf.voters.slice(), learners: conf.learners.slice() } };
  }

  /**
   * A wiped member may come back (with an empty disk, under its old name) only
   * once no member can still count it in an old configuration: every other
   * member has the removal durably committed and applied. Before that, a fresh
   * incarnation could grant a second vote in a term its old self voted in.
   * And every member's log must be compacted past index 1, so the joiner gets
   * a snapshot carrying the configuration rather than a log whose bootstrap
   * configuration it cannot know.
   */
  private canJoin(id: NodeId): boolean {
    const removed = this.removedAt.get(id) ?? 0;
    for (const n of this.cluster.nodes.values()) {
      if (n.id === id || n.state === "absent") continue;
      if (n.disk.synced.commit < removed) return false;
      if (n.up && n.sm.index < removed) return false;
      if (n.disk.firstIndex() <= 1) return false;
    }
    return true;
  }

  private membershipStep(): void {
    if (this.now % 10 !== 0) return;
    const c = this.cluster;
    const r = this.membership;
    const leader = c.leader();
    const usable = leader !== null && !c.paused(leader);
    const retry = this.electionSteps;
    if (this.op === null) {
      if (this.now < this.nextMemberOp || !usable) return;
      this.nextMemberOp = this.now + r.geometric(1 / this.p.membershipEvery);
      // Decide on the newest configuration, through a leader that has applied it.
      const conf = this.appliedConf.conf;
      if (leader.confKey !== confKey(conf)) return;
      const inConf = new Set(members(conf));
      // Never started, wiped after a removal, or started for an add that was abandoned.
      // Not one still on its way out: a removed leader runs on until the
      // others confirmed its removal, and re-adding that incarnation before
      // it is stopped would add a member about to vanish (seed 853180706).
      const joinable = this.ids.filter((id) => {
        const n = c.node(id);
        return !inConf.has(id) && (n.state === "absent" || n.joiner) && !this.pendingWipes.includes(id);
      });
      if (conf.learners.length > 0 && r.chance(0.5)) {
        this.op = { kind: "add", node: r.pick(conf.learners), phase: "promote", since: this.now, lastTry: 0 };
      } else if (joinable.length > 0 && (conf.voters.length < 3 || r.chance(0.6))) {
        this.op = { kind: "add", node: r.pick(joinable), phase: "learner", since: this.now, lastTry: 0 };
      } else if (conf.voters.length >= 3) {
        const others = conf.voters.filter((v) => v !== leader.id);
        const node = r.chance(0.2) || others.length === 0 ? leader.id : r.pick(others);
        this.op = { kind: "remove", node, phase: "remove", since: this.now, lastTry: 0 };
      }
      if (this.op !== null) this.trace.event(this.now, `membership: start ${this.op.kind} ${this.op.node}`);
      return;
    }
    const op = this.op;
    // The leader seen above may be gone after a storm's fault: act next time.
    if (this.storm !== null && this.stormStep(op.node)) return;
    const applied = members(this.appliedConf.conf);
    const done = (why: string): void => {
      this.trace.event(this.now, `membership: ${op.kind} ${op.node} ${why}`);
      this.op = null;
    };
    if (this.now - op.since > 40 * retry) return done("abandoned (took too long)");
    switch (op.phase) {
      case "remove":
        if (!applied.includes(op.node)) return done("done");
        if (usable && this.now - op.lastTry >= retry) {
          op.lastTry = this.now;
          this.proposeChange(leader.id, { type: "removeNode", node: op.node });
        }
        return;
      case "learner": {
        const n = c.node(op.node);
        if (applied.includes(op.node)) {
          op.phase = "promote";
          op.since = this.now;
          return;
        }
        if (n.state === "absent") {
          if (!this.canJoin(op.node)) return;
          n.joiner = true;
          this.startMember(op.node);
        }
        if (!n.up) return; // a joiner that crashed waits for its restart
        if (usable && this.now - op.lastTry >= retry) {
          op.lastTry = this.now;
          const direct = r.chance(0.1);
          this.proposeChange(leader.id, { type: direct ? "addNode" : "addLearner", node: op.node });
        }
        return;
      }
      case "promote": {
        if (this.appliedConf.conf.voters.includes(op.node)) return done("done (voter)");
        if (!applied.includes(op.node)) return done("abandoned (no longer a member)");
        if (!usable || this.now - op.lastTry < retry) return;
        const st = c.status(leader.id);
        const match = st.progress?.[op.node]?.match ?? 0;
        if (match + 3 >= st.lastIndex || this.now - op.since > 10 * retry) {
          op.lastTry = this.now;
          this.proposeChange(leader.id, { type: "addNode", node: op.node });
        }
        return;
      }
    }
  }

  /** While a change is in flight: now and then move leadership, crash or cut off the leader or the member changing. */
  private stormStep(changing: NodeId): boolean {
    const r = this.storm!;
    const c = this.cluster;
    const leader = c.leader();
    const roll = r.float();
    if (roll < 0.03) {
      if (leader === null || c.paused(leader)) return false;
      const to = leader.conf.voters.filter((v) => v !== leader.id);
      if (to.length === 0) return false;
      const target = to.includes(changing) && r.chance(0.5) ? changing : r.pick(to);
      this.trace.event(this.now, `storm: transfer ${leader.id} -> ${target} during a membership change`);
      c.transferLeadership(leader.id, target);
      return true;
    } else if (roll < 0.045) {
      const v = r.chance(0.5) || leader === null ? c.node(changing) : leader;
      if (!v.up) return false;
      const point = r.pick(["now", "beforePersist", "afterPersist", "afterSend"] as const);
      this.trace.event(this.now, `storm: crash ${v.id} (${point}) during a membership change`);
      if (point === "now") c.crash(v.id);
      else this.crashPlan.set(v.id, point);
      this.restartAt.set(v.id, this.now + r.range(5, 3 * this.electionSteps));
      return true;
    } else if (roll < 0.06) {
      const v = r.chance(0.5) || leader === null ? changing : leader.id;
      const until = this.now + r.range(20, 3 * this.electionSteps);
      const label = `storm: isolate ${v}`;
      this.net.cut(label, [v], this.ids, true, until);
      this.trace.event(this.now, `${label} until t=${until}`);
      return true;
    }
    return false;
  }

  /** Proposes a change; sometimes at once again, as an impatient operator would (a leader must refuse it). */
  private proposeChange(leader: NodeId, cc: ConfChange): void {
    const c = this.cluster;
    if (c.proposeConfChange(leader, cc) === null && this.membership.chance(0.3)) proposeAgain(c, leader, cc);
  }

  // -------------------------------------------------------------------------
  // The phases.

  runFaults(steps: number): void {
    while (this.now < steps) this.step(true);
  }

  /** Heals everything and requires a leader, then commitment of new proposals everywhere. */
  runLiveness(): void {
    const c = this.cluster;
    this.trace.event(this.now, "=== liveness: faults off, heal all, restart all ===");
    this.net.healAll();
    this.net.faults = { ...calmNetwork, maxDelay: Math.min(this.p.net.maxDelay, 3) };
    this.crashPlan.clear();
    for (const n of c.nodes.values()) {
      if (n.state === "down") this.startMember(n.id);
      n.pausedUntil = 0;
    }
    this.restartAt.clear();
    const budget = 10 * this.electionSteps + 200;
    const leaderBy = this.now + budget;
    let leader = this.stableLeader();
    while (leader === null) {
      if (this.now >= leaderBy) {
        c.check.fail("liveness", `no single leader ${budget} steps (10 election timeouts) after healing; members: ${this.describeMembers()}`);
      }
      this.step(false);
      leader = this.stableLeader();
    }
    this.trace.event(this.now, `liveness: ${leader.who} leads term ${leader.term}`);
    // New proposals must reach every member. Catching up may take long (a
    // lagging member and small messages); what is bounded is the time without
    // progress. A proposal lost with a deposed leader is proposed again.
    const stallLimit = 10 * this.electionSteps + 200;
    let waiting = new Set<string>();
    let proposedIn = -1;
    let round = 0;
    let refused = false;
    this.progressed();
    let progressAt = this.now;
    for (;;) {
      const l = c.leader();
      if (l !== null && (round === 0 || refused || (waiting.size > 0 && l.term !== proposedIn))) {
        // Fresh payloads each round: one proposed twice could legitimately apply twice.
        const names = [0, 1, 2].map((k) => `live:${round}:${k}`);
        round++;
        waiting = new Set(names.filter((p) => c.propose(l.id, p) === null));
        refused = waiting.size < names.length; // e.g. a transfer in progress: try again
        proposedIn = l.term;
      }
      for (const p of waiting) if (c.check.payloadIndex.has(p)) waiting.delete(p);
      if (round > 0 && !refused && waiting.size === 0 && this.converged()) break;
      if (this.progressed()) progressAt = this.now;
      else if (this.now - progressAt > stallLimit) {
        c.check.fail(
          "liveness",
          `no progress for ${stallLimit} steps after healing (unapplied: ${[...waiting].join(",") || "-"}); members: ${this.describeMembers()}`,
        );
      }
      this.step(false);
    }
    c.fullCheck();
  }

  private readonly seen = new Map<string, number>();

  /** True if some running member applied or appended something since the last call. */
  private progressed(): boolean {
    let moved = false;
    for (const n of this.cluster.nodes.values()) {
      if (!n.up) continue;
      const mark = n.sm.index + n.disk.lastIndex();
      if (mark > (this.seen.get(n.who) ?? -1)) moved = true;
      this.seen.set(n.who, mark);
    }
    return moved;
  }

  /** The leader, if every running member of its configuration follows it in its term. */
  private stableLeader(): SimNode | null {
    const c = this.cluster;
    const l = c.leader();
    if (l === null) return null;
    for (const id of members(l.conf)) {
      const n = c.node(id);
      if (!n.up) continue;
      if (n.term !== l.term || n.leader !== l.id) return null;
    }
    return l;
  }

  /** Every running member of the leader's configuration applied the leader's whole log. */
  private converged(): boolean {
    const c = this.cluster;
    const l = c.leader();
    if (l === null) return false;
    const st = c.status(l.id);
    if (st.commit !== st.lastIndex) return false;
    for (const id of members(l.conf)) {
      const n = c.node(id);
      if (!n.up) continue;
      if (n.sm.index !== st.lastIndex) return false;
    }
    return true;
  }

  describeMembers(): string {
    const c = this.cluster;
    return this.ids
      .map((id) => {
        const n = c.node(id);
        if (!n.up) return `${id}:${n.state}`;
        const st = c.status(id);
        const progress =
          st.progress === null
            ? ""
            : ` progress{${Object.entries(st.progress)
                .map(([p, pr]) => `${p}:${pr.state} match=${pr.match} next=${pr.next}${pr.recentActive ? "" : " inactive"}${pr.learner ? " learner" : ""}`)
                .join("; ")}}`;
        return `${n.who}:${st.role}/t${st.term}/lead=${st.leader ?? "-"}/commit=${st.commit}/applied=${st.applied}/first=${st.firstIndex}/last=${st.lastIndex}/{${n.confKey}}${progress}`;
      })
      .join(" ");
  }

  get steps(): number {
    return this.now;
  }
}

/** Runs one seed; never throws (a failure is in the result). */
export function runSeed(seed: number, opts: RunOptions): SeedResult {
  const started = performance.now();
  const steps = opts.steps ?? DEFAULT_STEPS;
  let run: SeedRun | null = null;
  let failure: SeedFailure | undefined;
  try {
    run = new SeedRun(seed, opts);
    run.runFaults(steps);
    run.runLiveness();
  } catch (e) {
    const err = e as Error;
    const v = e instanceof SimViolation ? e : null;
    let message = v !== null ? v.message : `[seed ${seed} step ${run?.steps ?? 0}] simulator error: ${err.stack ?? String(err)}`;
    if (run !== null) {
      try {
        message += `\nmembers: ${run.describeMembers()}\nparams: ${describeParams(run.p)}`;
      } catch {
        // describing a broken core may throw too; the violation says enough
      }
    }
    failure = {
      invariant: v?.invariant ?? "simulator error",
      message,
      step: v?.step ?? run?.steps ?? 0,
      trace: run === null ? [] : opts.fullTrace ? run.trace.full() : run.trace.tail(),
      replay: replayCommand(seed, opts.nodes, steps),
    };
  }
  const c = run?.cluster;
  const net = run?.net;
  const base: ClusterStats = c?.stats ?? {
    delivered: 0, toDownMember: 0, proposals: 0, refused: 0, confChanges: 0, readsRequested: 0, readsServed: 0,
    snapshotsTaken: 0, snapshotsInstalled: 0, crashes: 0, restarts: 0, wipes: 0, leaderChanges: 0, maxTerm: 0, readies: 0,
  };
  const simulated = run?.steps ?? 0;
  const result: SeedResult = {
    seed,
    nodes: opts.nodes,
    ok: failure === undefined,
    steps: simulated,
    simulatedSeconds: (simulated * STEP_MS) / 1000,
    wallMs: performance.now() - started,
    params: run !== null ? describeParams(run.p) : "",
    fingerprint: c === undefined ? "" : [...c.nodes.values()]
      .map((n) => `${n.who}:${n.state}:${n.sm.index}:${n.sm.digest}:${n.disk.lastIndex()}:${n.disk.hardState.term}:${n.disk.hardState.vote}`)
      .join(" "),
    stats: {
      ...base,
      committed: c?.check.maxCommitted ?? 0,
      sent: net?.sent ?? 0,
      lost: net?.lost ?? 0,
      duplicated: net?.duplicated ?? 0,
      cutDrops: net?.cutDrops ?? 0,
    },
  };
  if (failure !== undefined) result.failure = failure;
  return result;
}

/** The text printed for a failed seed: what broke, the last events, how to replay. */
export function formatFailure(r: SeedResult, lastEvents = 80): string {
  const f = r.failure;
  if (f === undefined) return "";
  const events = f.trace.slice(-lastEvents);
  return [
    `FAIL seed ${r.seed} (${r.nodes} nodes) at step ${f.step}: ${f.invariant}`,
    f.message,
    `--- last ${events.length} events ---`,
    ...events,
    `--- replay (after npm run build): ${f.replay}   (SIM_TRACE=1 ${f.replay} prints the whole trace)`,
  ].join("\n");
}

/**
 * The impatient operator's second proposal of the same change: a member that
 * is leader (in its core, now) must refuse it while the first is pending. A
 * member that stepped down in this very step still looks like the leader to
 * the harness (its role is refreshed when its Ready is handled); its core
 * forwards both to the new leader, which refuses the second: legal, and not a
 * violation (seed 7340208 flagged it).
 */
export function proposeAgain(c: SimCluster, id: NodeId, cc: ConfChange): ProposalRefusal | null {
  const leading = c.status(id).role === "leader";
  const again = c.proposeConfChange(id, cc);
  if (again === null && leading) c.check.fail("one conf change pending", `${id} accepted ${cc.type} ${cc.node} twice in a row`);
  return again;
}
