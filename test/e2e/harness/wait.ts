// Polling with a deadline and a message that says what never happened, plus
// the last thing seen, so a failing e2e scenario explains itself.

export async function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
      last = v;
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
