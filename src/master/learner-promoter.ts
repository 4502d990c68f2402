// Promotes learners to voters once they have caught up (leader only). A new
// master joins as a learner so that it cannot weaken the quorum while it is
// still receiving a snapshot; once its log is within reach of the leader's
// (etcd's rule for promotion: at least 90% of the leader's commit) it
// becomes a voter through one membership change.

import type { Logger } from "pino";
import type { RaftNode } from "../../raft/index.js";
import type { KvService } from "../store/kv-service.js";

export class LearnerPromoter {
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly node: RaftNode,
    private readonly kv: KvService,
    private readonly log: Logger,
    everyMs = 500,
  ) {
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    if (this.busy || !this.node.isLeader()) return;
    const st = this.node.status();
    const learner = st.conf.learners.find((name) => {
      const match = st.progress?.[name]?.match ?? 0;
      return match > 0 && match >= st.commit * 0.9;
    });
    if (!learner) return;
    const member = this.kv.memberList().find((m) => m.name === learner);
    if (!member) return;
    this.busy = true;
    try {
      await this.kv.memberPromote(member.id);
      this.log.info({ member: learner }, "learner caught up; promoted to voter");
    } catch (err) {
      this.log.warn({ member: learner, err: (err as Error).message }, "promotion failed; will retry");
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
