// A stand-alone Raft member process (real LevelDB, real WebSockets) with a
// small "acknowledged values" state machine. Used by bench/raft and by the
// raft integration tests; driven by its parent over IPC (process.send).
//
//   node dist/bench/raft/member.js --id n1 --dir DATA --peers n1=127.0.0.61:7101,n2=...
//   [--founders n1,n2,n3] (bootstrap members; default every peer) [--join 1] (no bootstrap:
//   wait to be added) [--keepPayloads 1] (keep every payload: live data that snapshots carry)
//   [--catchUpEntries N] (entries kept behind a snapshot)

import { pack, unpack } from "msgpackr";
import { pino } from "pino";
import { RaftNode, type ConfChange, type StateMachine } from "../../raft/index.js";
import { LevelLogStorage } from "../../raft/storage/index.js";
import { WebSocketTransport } from "../../raft/transport/websocket.js";
import type { PeerAddress } from "../../raft/transport/types.js";

export type MemberRequest =
  | { op: "status" }
  | { op: "propose"; value: string }
  | { op: "bench"; inflight: number; durationMs: number; payloadBytes: number }
  | { op: "dump" }
  | { op: "transfer"; to: string }
  | { op: "fill"; count: number; bytes: number; inflight: number }
  | { op: "proposeFenced"; value: string; fenceTerm: number }
  | { op: "confChange"; change: ConfChange };

export interface BenchResult {
  proposals: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Remembers short values (test keys) and counts everything (bench payloads). */
class AckedValuesMachine implements StateMachine {
  count = 0;
  values = new Set<string>();
  /** With keepPayloads: every larger payload, kept (and snapshotted) as live data. */
  payloads: Uint8Array[] = [];
  payloadBytes = 0;

  constructor(private readonly keepPayloads: boolean) {}

  apply(command: Uint8Array, index: number): unknown {
    this.count++;
    if (command.length <= 64) this.values.add(Buffer.from(command).toString("utf8"));
    else if (this.keepPayloads) {
      this.payloads.push(Uint8Array.from(command));
      this.payloadBytes += command.length;
    }
    return index;
  }
  snapshot(): Uint8Array {
    return pack({ count: this.count, values: [...this.values], payloads: this.payloads });
  }
  restore(data: Uint8Array): void {
    const s = unpack(data) as { count: number; values: string[]; payloads?: Uint8Array[] };
    this.count = s.count;
    this.values = new Set(s.values);
    this.payloads = s.payloads ?? [];
    this.payloadBytes = this.payloads.reduce((n, p) => n + p.length, 0);
  }
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i]!.replace(/^--/, "")] = argv[i + 1]!;
  return out;
}

function parsePeers(spec: string): PeerAddress[] {
  return spec.split(",").map((p) => {
    const [id, addr] = p.split("=") as [string, string];
    const [host, port] = addr.split(":") as [string, string];
    return { id, host, port: Number(port) };
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runBench(node: RaftNode, inflight: number, durationMs: number, payloadBytes: number): Promise<BenchResult> {
  const payload = new Uint8Array(payloadBytes).fill(120);
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await node.propose(payload);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    proposals: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const peers = parsePeers(args.peers!);
  const self = peers.find((p) => p.id === args.id)!;
  const logger = pino({ level: args.logLevel ?? "warn", base: { member: self.id } }, pino.destination(2));
  const machine = new AckedValuesMachine(args.keepPayloads === "1");
  const tickMs = Number(args.tickMs ?? 10);
  const founders = args.founders ? args.founders.split(",") : peers.map((p) => p.id);
  const node = await RaftNode.start({
    id: self.id,
    bootstrap: args.join === "1" ? null : founders.map((id) => ({ id })),
    ...(args.catchUpEntries ? { snapshotCatchUpEntries: Number(args.catchUpEntries) } : {}),
    storage: await LevelLogStorage.open(args.dir!, { logger }),
    transport: new WebSocketTransport({
      self,
      clusterName: args.cluster ?? "raft-demo",
      token: args.token ?? "raft-demo-token",
      peers: peers.filter((p) => p.id !== self.id),
      logger,
    }),
    stateMachine: machine,
    logger,
    tickMs,
    heartbeatTicks: Number(args.heartbeatTicks ?? 10),
    electionTicks: Number(args.electionTicks ?? 100),
    snapshotEvery: Number(args.snapshotEvery ?? 10_000),
  });
  node.onFatal = (err) => {
    logger.fatal({ err }, "raft halted");
    process.exit(70);
  };

  const reply = (m: unknown) => process.send?.(m);
  process.on("message", (raw) => {
    const req = raw as MemberRequest & { rid: number };
    const answer = (body: object) => reply({ rid: req.rid, ...body });
    void (async () => {
      try {
        switch (req.op) {
          case "status":
            answer({ status: node.status(), applied: node.applied, count: machine.count, payloadBytes: machine.payloadBytes, readyTerm: node.leaderReadyTerm() });
            return;
          case "proposeFenced":
            answer({ index: await node.propose(Buffer.from(req.value, "utf8"), undefined, { fenceTerm: req.fenceTerm }) });
            return;
          case "fill": {
            // Distinct payloads (a counter in the first bytes), a few in flight.
            let next = 0;
            const worker = async () => {
              while (next < req.count) {
                const payload = Buffer.alloc(req.bytes, next % 251);
                payload.writeUInt32LE(next++, 0);
                await node.propose(payload, 30_000);
              }
            };
            await Promise.all(Array.from({ length: req.inflight }, worker));
            answer({ ok: true, applied: node.applied });
            return;
          }
          case "confChange":
            answer({ conf: await node.proposeConfChange(req.change, 60_000) });
            return;
          case "propose":
            answer({ index: await node.propose(Buffer.from(req.value, "utf8")) });
            return;
          case "bench":
            answer({ bench: await runBench(node, req.inflight, req.durationMs, req.payloadBytes) });
            return;
          case "dump":
            await node.readIndex();
            answer({ values: [...machine.values], count: machine.count });
            return;
          case "transfer":
            node.transferLeadership(req.to);
            answer({ ok: true });
            return;
        }
      } catch (err) {
        const e = err as Error;
        answer({ error: e.message, kind: e.name, leader: (e as { leader?: string }).leader ?? null });
      }
    })();
  });
  const shutdown = () => void node.stop().then(() => process.exit(0));
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  reply({ ready: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
