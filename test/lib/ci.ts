// Suites that need something the machine may lack (the etcd binary, root and
// iptables) skip loudly on a developer's machine. In CI (CI=true) that
// skip would let a green run hide them, so there it is a failure instead.

/** What to do when a suite cannot run here. */
export type SkipVerdict = { action: "skip"; message: string } | { action: "fail"; message: string };

export function skipVerdict(suite: string, reason: string, env: NodeJS.ProcessEnv = process.env): SkipVerdict {
  if (env.CI === "true") {
    return { action: "fail", message: `${suite} must run in CI (CI=true) but cannot: ${reason}` };
  }
  return { action: "skip", message: `${suite} SKIPPED: ${reason}` };
}
