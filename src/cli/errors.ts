// User errors in the CLIs: one clear line on stderr, exit 1, never a stack trace.

export class UserError extends Error {
  override name = "UserError";
}

/** Runs a CLI action; any error becomes one line on stderr and exit code 1. */
export async function runAction(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message.split("\n")[0]}\n`);
    if (process.env.PINSETTER_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ""}\n`);
    process.exitCode = 1;
  }
}
