// The simulator's flight recorder: a ring buffer of the last events of a run
// (messages, crashes, partitions, role changes), formatted only when someone
// reads it, so recording costs a few stores per event on the hot path.

import type { Message } from "../../raft/core/types.js";

type Detail = string | Message | (() => string);

export class Trace {
  private readonly times: number[];
  private readonly details: Detail[];
  private next = 0;
  private count = 0;
  /** Everything, when SIM_TRACE=1 (or `full` is set): for printing a whole run. */
  private readonly all: string[] | null;

  constructor(readonly capacity = 300, full = false) {
    this.times = new Array<number>(capacity).fill(0);
    this.details = new Array<Detail>(capacity).fill("");
    this.all = full ? [] : null;
  }

  /** Records a message delivery or send; `note` says what happened to it ("drop", "dup"...). */
  msg(t: number, m: Message, note = ""): void {
    this.push(t, note === "" ? m : () => `${formatMessage(m)} [${note}]`);
  }

  event(t: number, text: string): void {
    this.push(t, text);
  }

  /** An event whose text is built only if the trace is printed. */
  lazy(t: number, text: () => string): void {
    this.push(t, text);
  }

  private push(t: number, d: Detail): void {
    this.times[this.next] = t;
    this.details[this.next] = d;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    if (this.all !== null) this.all.push(render(t, d));
  }

  /** The last `n` events, oldest first. */
  tail(n = this.capacity): string[] {
    const k = Math.min(n, this.count);
    const out: string[] = [];
    for (let i = k; i > 0; i--) {
      const at = (this.next - i + this.capacity) % this.capacity;
      out.push(render(this.times[at] as number, this.details[at] as Detail));
    }
    return out;
  }

  /** The whole run (only when recording fully), else the ring. */
  full(): string[] {
    return this.all !== null ? this.all.slice() : this.tail();
  }
}

function render(t: number, d: Detail): string {
  const text = typeof d === "string" ? d : typeof d === "function" ? d() : formatMessage(d);
  return `t=${t} ${text}`;
}

function range(entries: { index: number; term: number }[]): string {
  if (entries.length === 0) return "n=0";
  const first = entries[0] as { index: number; term: number };
  const last = entries[entries.length - 1] as { index: number; term: number };
  return `n=${entries.length} [${first.index}..${last.index}] lastTerm=${last.term}`;
}

export function formatMessage(m: Message): string {
  const head = `${m.from} -> ${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case "vote":
    case "preVote":
      return `${head} last=(${m.lastLogIndex},${m.lastLogTerm})${m.transfer ? " transfer" : ""}`;
    case "voteResp":
    case "preVoteResp":
      return `${head}${m.reject ? " REJECT" : " grant"}`;
    case "app":
      return `${head} prev=(${m.prevIndex},${m.prevTerm}) ${range(m.entries)} commit=${m.commit}`;
    case "appResp":
      return m.reject
        ? `${head} REJECT index=${m.index} hint=(${m.rejectHint},${m.rejectHintTerm})`
        : `${head} index=${m.index}`;
    case "heartbeat":
      return `${head} commit=${m.commit}${m.context ? ` ctx=${m.context}` : ""}`;
    case "heartbeatResp":
      return `${head}${m.context ? ` ctx=${m.context}` : ""}`;
    case "snap":
      return `${head} snap=(${m.snapshot.metadata.index},${m.snapshot.metadata.term}) voters=${m.snapshot.metadata.conf.voters.join(",")}`;
    case "snapStatus":
      return `${head}${m.reject ? " REJECT" : " ok"}`;
    case "timeoutNow":
      return head;
    case "transferLeader":
      return `${head} transferee=${m.transferee}`;
    case "prop":
      return `${head} n=${m.entries.length}`;
    case "propRefused":
      return `${head} n=${m.entries.length} refusal=${m.refusal.code}`;
    case "readIndex":
      return `${head} ctx=${m.context}`;
    case "readIndexResp":
      return `${head} ctx=${m.context} index=${m.index}`;
  }
}
