// The leader-only loops (scheduler, controllers, node lifecycle) of one
// master. They start when this master's Raft node becomes leader AND has
// applied its own no-op (the leader-ready barrier, so they begin from the
// latest state), and stop at once when it loses leadership. Each generation
// of loops talks to this master's own API server with a client whose writes
// carry the term they were started in (X-Pinsetter-Fence-Term): a deposed
// leader's late write is refused by Raft, never lands.

import type { Logger } from "pino";
import { KubeClient } from "../client/kube-client.js";

export const FENCE_TERM_HEADER = "X-Pinsetter-Fence-Term";

export interface LeaderLoop {
  stop(): Promise<void>;
}

export interface LeaderLoopContext {
  client: KubeClient;
  logger: Logger;
  term: number;
}

export interface LeaderLoopStarter {
  name: string;
  start(ctx: LeaderLoopContext): LeaderLoop;
}

/** What LeaderLoops needs of the Raft node. */
export interface LeadershipSource {
  onLeaderReady(listener: (term: number) => void): () => void;
  onSoftStateChange(listener: (s: { role: string }, term: number) => void): () => void;
  leaderReadyTerm(): number | null;
}

export interface LeaderLoopsOptions {
  node: LeadershipSource;
  starters: LeaderLoopStarter[];
  /** The local API server, e.g. http://127.0.0.11:6443 */
  apiUrl: string;
  token: string;
  localAddress: string;
  logger: Logger;
}

export class LeaderLoops {
  private running: { term: number; loops: { name: string; loop: LeaderLoop }[]; client: KubeClient } | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private stopping: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderLoopsOptions) {}

  start(): void {
    this.unsubscribe.push(this.opts.node.onLeaderReady((term) => this.becameLeader(term)));
    this.unsubscribe.push(
      this.opts.node.onSoftStateChange((s) => {
        if (s.role !== "leader") this.lostLeadership();
      }),
    );
    const ready = this.opts.node.leaderReadyTerm();
    if (ready !== null) this.becameLeader(ready);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.lostLeadership();
    await this.stopping;
  }

  /** The term the loops run in, or null when they are not running. */
  get term(): number | null {
    return this.running?.term ?? null;
  }

  private becameLeader(term: number): void {
    if (this.running?.term === term) return;
    this.lostLeadership();
    const log = this.opts.logger.child({ term });
    const client = new KubeClient({
      servers: [this.opts.apiUrl],
      token: this.opts.token,
      localAddress: this.opts.localAddress,
      headers: { [FENCE_TERM_HEADER]: String(term) },
      userAgent: `pinsetter-leader/${term}`,
    });
    const loops: { name: string; loop: LeaderLoop }[] = [];
    // Start only after the previous generation has fully stopped, so two
    // generations never run side by side in one process.
    const previous = this.stopping;
    this.running = { term, loops, client };
    void previous.then(() => {
      if (this.running?.term !== term) return;
      for (const starter of this.opts.starters) {
        try {
          loops.push({ name: starter.name, loop: starter.start({ client, logger: log.child({ component: starter.name }), term }) });
        } catch (err) {
          log.error({ err, loop: starter.name }, "leader loop failed to start");
        }
      }
      log.info({ loops: loops.map((l) => l.name) }, "leader-only loops started");
    });
  }

  private lostLeadership(): void {
    const current = this.running;
    if (!current) return;
    this.running = null;
    const log = this.opts.logger.child({ term: current.term });
    this.stopping = Promise.all([
      this.stopping,
      ...current.loops.map(({ name, loop }) =>
        loop.stop().catch((err: unknown) => log.error({ err, loop: name }, "leader loop failed to stop cleanly")),
      ),
    ]).then(() => {
      current.client.close();
      log.info("leader-only loops stopped");
    });
  }
}
