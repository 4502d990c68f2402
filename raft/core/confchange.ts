// Membership changes, one server at a time. A change takes effect when its
// entry is applied (etcd's choice), and the leader keeps at most one change
// pending. Encoding is a tiny hand-rolled binary form so the pure core needs
// no serialization library.

import type { ConfChange, ConfChangeType, ConfState, NodeId } from "./types.js";

const TYPE_CODES: Record<ConfChangeType, number> = { addNode: 1, addLearner: 2, removeNode: 3 };
const TYPES_BY_CODE: ConfChangeType[] = ["addNode", "addNode", "addLearner", "removeNode"];

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Layout: [type:u8][nodeLen:u16][node utf8][context bytes...] */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const node = textEncoder.encode(change.node);
  const context = change.context ?? new Uint8Array(0);
  const out = new Uint8Array(3 + node.length + context.length);
  out[0] = TYPE_CODES[change.type];
  out[1] = node.length >> 8;
  out[2] = node.length & 0xff;
  out.set(node, 3);
  out.set(context, 3 + node.length);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 3) throw new Error("conf change: too short");
  const code = data[0]!;
  if (code < 1 || code > 3) throw new Error(`conf change: unknown type ${code}`);
  const nodeLen = (data[1]! << 8) | data[2]!;
  if (3 + nodeLen > data.length) throw new Error("conf change: truncated node id");
  const node = textDecoder.decode(data.subarray(3, 3 + nodeLen));
  const context = data.subarray(3 + nodeLen);
  const change: ConfChange = { type: TYPES_BY_CODE[code]!, node };
  if (context.length > 0) change.context = new Uint8Array(context);
  return change;
}

/** Why a change cannot apply to `conf`, or null if it can. */
export function checkConfChange(conf: ConfState, change: ConfChange): string | null {
  const isVoter = conf.voters.includes(change.node);
  const isLearner = conf.learners.includes(change.node);
  switch (change.type) {
    case "addNode":
      return isVoter ? `${change.node} is already a voter` : null;
    case "addLearner":
      if (isVoter) return `${change.node} is a voter; demotion to learner is not supported`;
      return isLearner ? `${change.node} is already a learner` : null;
    case "removeNode":
      if (!isVoter && !isLearner) return `${change.node} is not a member`;
      if (isVoter && conf.voters.length === 1) return "cannot remove the last voter";
      return null;
  }
}

/** The configuration after `change`; an invalid change leaves it as it was. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  if (checkConfChange(conf, change) !== null) return conf;
  const without = (ids: NodeId[]) => ids.filter((id) => id !== change.node);
  switch (change.type) {
    case "addNode":
      return { voters: [...conf.voters, change.node].sort(), learners: without(conf.learners) };
    case "addLearner":
      return { voters: conf.voters, learners: [...conf.learners, change.node].sort() };
    case "removeNode":
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}

export function cloneConf(conf: ConfState): ConfState {
  return { voters: [...conf.voters], learners: [...conf.learners] };
}
