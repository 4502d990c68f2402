// Public surface of raft/storage: the LogStorage seam and its two implementations.
export type { LogStorage, PersistBatch, StoredState } from "./types.js";
export { LevelLogStorage, type LevelLogStorageOptions } from "./leveldb.js";
export { MemoryLogStorage, type CrashOptions } from "./memory.js";
export { LogCorruptionError } from "./rules.js";
export { crc32 } from "./crc32.js";
