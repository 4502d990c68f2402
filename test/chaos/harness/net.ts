// Network faults for the chaos tests: iptables DROP rules on the per-master
// loopback addresses (ARCHITECTURE.md section 2: each master binds and dials
// from its own 127.0.0.x, so `-s A -d B` cuts exactly the traffic A -> B).
// Every rule carries the comment pinsetter-chaos-<pid>-<n>; healAll() deletes
// exactly the rules of this run, an exit hook does the same if a test dies
// half-way, and a new run first removes rules left by runs whose process is
// gone (a crashed run cannot clean up after itself).

import { execFileSync } from "node:child_process";

export const RULE_COMMENT_PREFIX = "pinsetter-chaos-";

export type NetAvailability = { ok: true } | { ok: false; reason: string };

function iptables(args: string[]): string {
  // -w: wait for the xtables lock; other tests may be editing rules too.
  return execFileSync("iptables", ["-w", "5", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15_000 });
}

/** Whether this process can add iptables rules (root and a working iptables), or why not. */
export function netAvailability(): NetAvailability {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return { ok: false, reason: `not root (uid ${process.getuid()}): iptables rules cannot be added` };
  }
  try {
    iptables(["-S", "INPUT"]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") return { ok: false, reason: "iptables is not installed" };
    return { ok: false, reason: `iptables -S INPUT failed: ${(e.stderr ?? e.message).trim()}` };
  }
  return { ok: true };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `-A INPUT ...` lines of `iptables -S INPUT` whose comment satisfies `match`. */
function ruleLines(match: (comment: string) => boolean): string[] {
  const out: string[] = [];
  for (const line of iptables(["-S", "INPUT"]).split("\n")) {
    const m = /--comment "?([^"\s]+)"?/.exec(line);
    if (line.startsWith("-A INPUT ") && m && match(m[1]!)) out.push(line);
  }
  return out;
}

function deleteRuleLine(line: string): void {
  // Our rules have no quoted or spaced arguments, so splitting on spaces is exact.
  const args = line.replace(/^-A /, "-D ").replace(/"/g, "").split(/\s+/).filter((s) => s !== "");
  try {
    iptables(args);
  } catch (err) {
    // Already gone (another cleanup won the race) is fine; anything else is worth a line.
    const msg = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    if (!/does a matching rule exist|Bad rule/.test(msg)) console.warn(`chaos net: could not delete rule "${line}": ${msg}`);
  }
}

/** Removes rules of earlier chaos runs whose process no longer exists. Returns how many. */
export function removeStaleRules(): number {
  const stale = ruleLines((c) => {
    if (!c.startsWith(RULE_COMMENT_PREFIX)) return false;
    const pid = Number(c.slice(RULE_COMMENT_PREFIX.length).split("-")[0]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid);
  });
  for (const line of stale) deleteRuleLine(line);
  if (stale.length > 0) console.warn(`chaos net: removed ${stale.length} iptables rule(s) left by a crashed earlier run`);
  return stale.length;
}

let instances = 0;
const live = new Set<Net>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const n of live) n.healAllSync();
  });
}

/** One test's network faults. Create per test; call healAll() in afterEach. */
export class Net {
  readonly comment: string;
  /** Human-readable list of the faults in force, for logs. */
  private readonly faults = new Set<string>();
  private readonly log: (line: string) => void;

  constructor(opts: { log?: (line: string) => void } = {}) {
    this.comment = `${RULE_COMMENT_PREFIX}${process.pid}-${++instances}`;
    this.log = opts.log ?? (() => {});
    installExitHook();
    live.add(this);
  }

  /** Packets from `from` to `to` are dropped: `to` no longer hears `from` (one way). */
  cut(from: string, to: string): void {
    if (from === to) return;
    const key = `${from}->${to}`;
    if (this.faults.has(key)) return;
    iptables(["-A", "INPUT", "-s", from, "-d", to, "-m", "comment", "--comment", this.comment, "-j", "DROP"]);
    this.faults.add(key);
  }

  /** Neither hears the other. */
  cutBoth(a: string, b: string): void {
    this.cut(a, b);
    this.cut(b, a);
  }

  /** `x` can neither reach nor hear any of `others` (clients of the test process still reach it). */
  isolate(x: string, others: readonly string[]): void {
    for (const o of others) this.cutBoth(x, o);
    this.log(`isolate ${x} from ${others.join(",")}`);
  }

  /** Members of different groups cannot talk; members of one group can. */
  partition(groups: readonly (readonly string[])[]): void {
    for (let i = 0; i < groups.length; i++)
      for (let j = i + 1; j < groups.length; j++) for (const a of groups[i]!) for (const b of groups[j]!) this.cutBoth(a, b);
    this.log(`partition ${groups.map((g) => `{${g.join(",")}}`).join(" | ")}`);
  }

  /** {left} | {right}, with `bridge` seeing both sides (it is the only path between them). */
  bridge(left: readonly string[], bridge: string, right: readonly string[]): void {
    for (const a of left) for (const b of right) this.cutBoth(a, b);
    this.log(`bridge {${left.join(",")}} - ${bridge} - {${right.join(",")}}`);
  }

  /** The faults in force, e.g. ["127.0.0.101->127.0.0.102"]. */
  active(): string[] {
    return [...this.faults];
  }

  /** Removes exactly the rules this instance added (found by listing, so none is missed). */
  healAll(): void {
    this.healAllSync();
  }

  healAllSync(): void {
    const mine = ruleLines((c) => c === this.comment);
    for (const line of mine) deleteRuleLine(line);
    if (this.faults.size > 0 || mine.length > 0) this.log(`heal (${mine.length} rules removed)`);
    this.faults.clear();
  }

  /** Heals and forgets this instance (no more exit-hook work). */
  dispose(): void {
    this.healAllSync();
    live.delete(this);
  }
}
