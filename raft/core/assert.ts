// Invariant checks that crash loudly: documentation that runs.

export class RaftInvariantError extends Error {
  override name = "RaftInvariantError";
}

/**
 * This member lacks entries it acknowledged earlier: its data directory was
 * wiped or lost. It must not take part again under its old identity (it could
 * vote twice in a term, or count towards a commit it does not hold).
 */
export class LogLostError extends Error {
  override name = "LogLostError";
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new RaftInvariantError(typeof message === "function" ? message() : message);
  }
}
