// Named limits of the MVCC store and its watch hub. Values follow etcd's
// defaults where etcd has one.

/** Max compares, and max ops per branch, at each level of a txn (etcd --max-txn-ops). */
export const MAX_TXN_OPS = 128;
/** Max nesting of txn inside txn (bounds recursion in decode, checks and apply). */
export const MAX_TXN_DEPTH = 16;
/** Shorter lease TTLs are raised to this (ARCHITECTURE §4: 2 s). */
export const MIN_LEASE_TTL_SECONDS = 2;
/** Longer lease TTLs are refused (etcd's MaxLeaseTTL). */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;
/** Max IDs in one LeaseExpire command. */
export const MAX_LEASE_EXPIRE_IDS = 10_000;

/** Max live watchers per hub; more are canceled with tooManyWatchers. */
export const MAX_WATCHERS = 10_000;
/** Max events buffered for a paused watcher before it is canceled as slow. */
export const MAX_PENDING_WATCH_EVENTS = 10_000;
/** Revisions scanned per catch-up step (all unsynced watchers together), so a
 *  watcher replaying a long history does not block the event loop. */
export const REPLAY_REVISIONS_PER_STEP = 10_000;
