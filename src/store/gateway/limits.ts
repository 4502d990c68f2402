// Named limits of the clientPort gateway (STYLE.md: nothing grows without bound).

/** Largest request body (unary), or single request object on a stream. etcd's default is 1.5 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Streams (watch and keepalive) open at once on one master; the watch hub has its own limit too. */
export const DEFAULT_MAX_STREAMS = 4096;
/** Watches on one /v3/watch stream. */
export const DEFAULT_MAX_WATCHES_PER_STREAM = 1024;
/** How often a watch created with progress_notify gets a progress message when idle (etcd: 10 min). */
export const DEFAULT_PROGRESS_NOTIFY_MS = 10 * 60 * 1000;
/** Keepalive requests waiting for their answer on one stream. */
export const MAX_QUEUED_KEEPALIVES = 1024;
