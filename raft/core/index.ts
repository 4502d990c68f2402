// Public surface of the pure Raft core.
export * from "./types.js";
export { RaftCore } from "./raft.js";
