// Invariant checks that crash loudly: documentation that runs.

export class RaftInvariantError extends Error {
  override name = "RaftInvariantError";
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new RaftInvariantError(typeof message === "function" ? message() : message);
  }
}
