// Public surface of the MVCC store: the state machine, its command codec,
// request validation, watches, key helpers, limits and types.

export { MvccStore } from "./store.js";
export type { Change, StoreObserver, StoreStatus } from "./store.js";
export { WatchHub } from "./watch.js";
export type { WatchCancelListener, WatchHandle, WatchHubOptions, WatchListener } from "./watch.js";
export { CommandDecodeError, decodeCommand, encodeCommand, normalizeCommand } from "./codec.js";
export { validateCommand, validateDeleteRange, validatePut, validateRange, validateTxn, validateWatch } from "./validate.js";
export { storeErrors } from "./errors.js";
export { prefixRangeEnd, toKeyRange, inRange, toSkey, fromSkey } from "./keys.js";
export type { KeyRange } from "./keys.js";
export * from "./limits.js";
export type * from "./types.js";
