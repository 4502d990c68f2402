// Polling with a deadline and a message that says what never happened, plus
// the last thing seen, so a failing e2e scenario explains itself.

/** A probe's "not yet", with what it saw (shown if the wait times out). */
export class NotYet {
  constructor(readonly seen: unknown) {}
}

export function notYet(seen: unknown): NotYet {
  return new NotYet(seen);
}

export async function eventually<T>(what: string, probe: () => Promise<T | NotYet | undefined | null | false>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v instanceof NotYet) last = v.seen;
      else if (v !== undefined && v !== null && v !== false) return v;
      else last = v;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000} s: ${what}${last !== undefined && last !== false ? ` (last: ${JSON.stringify(last)})` : ""}`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
