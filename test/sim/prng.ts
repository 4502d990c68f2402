// Seeded pseudo-random numbers for the deterministic simulator: sfc32 seeded
// through splitmix32, all in 32-bit integer math. Streams fork by label, so a
// node's core gets its own stream and adding a draw in one place does not
// shift every other decision of the run.

/** splitmix32: a good 32-bit mixer, used to seed and to derive fork keys. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a over a string's UTF-16 code units (labels are ASCII). */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Identifies this stream; forks derive from it, not from the current state. */
  readonly key: number;

  constructor(seed: number, key?: number) {
    this.key = key ?? mix32(seed >>> 0);
    let s = this.key;
    this.a = s = mix32(s);
    this.b = s = mix32(s);
    this.c = s = mix32(s);
    this.d = mix32(s) | 1;
    // Warm up: the first outputs of sfc32 correlate with the seed words.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) throw new Error(`Prng.int: bad bound ${n}`);
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Prng.pick: empty list");
    return items[this.int(items.length)] as T;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = out[i] as T;
      out[i] = out[j] as T;
      out[j] = t;
    }
    return out;
  }

  /** Steps until the next event of a Poisson process with `rate` events per step (>= 1). */
  geometric(rate: number): number {
    if (rate <= 0) return Number.POSITIVE_INFINITY;
    if (rate >= 1) return 1;
    const u = 1 - this.float(); // (0, 1]
    return Math.max(1, Math.ceil(Math.log(u) / Math.log(1 - rate)));
  }

  /** An independent stream named `label`, the same whatever was drawn from this one. */
  fork(label: string): Prng {
    return new Prng(0, mix32(this.key ^ hashLabel(label)));
  }
}
