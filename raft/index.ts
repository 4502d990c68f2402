// The Raft library's public surface. Nothing here knows about pods or the store.
export * from "./core/types.js";
export { RaftCore } from "./core/raft.js";
export { LogLostError, RaftInvariantError } from "./core/assert.js";
export { encodeConfChange, decodeConfChange } from "./core/confchange.js";
export {
  RaftNode,
  ApplyError,
  FencedError,
  NotLeaderError,
  OutcomeUnknownError,
  ProposalRefusedError,
  ReadTimeoutError,
  systemClock,
  type DriverClock,
  type ProposeOptions,
  type RaftNodeOptions,
  type StateMachine,
} from "./node.js";
export type { LogStorage, PersistBatch, StoredState } from "./storage/types.js";
export type { PeerAddress, Transport, MessageHandler } from "./transport/types.js";
