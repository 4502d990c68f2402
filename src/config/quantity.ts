// Kubernetes resource quantities ("500m", "4Gi", "1.5", "1e3"), parsed exactly
// with BigInt so that "0.1" CPU is 100 millicores and not 100.00000000000001.
// Used by the config (node capacity) and by the API layer (requests, limits).

/** A parsed quantity. Its value is exactly `mantissa × 10^exp10 × 2^exp2`. */
export interface Quantity {
  /** The text it was parsed from, kept so it can be shown back unchanged. */
  readonly text: string;
  readonly mantissa: bigint;
  readonly exp10: number;
  readonly exp2: number;
}

export type QuantityResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Longer texts are refused before any arithmetic: a quantity is a short word. */
export const MAX_QUANTITY_LENGTH = 64;
/** Bound on the decimal exponent form ("1e64") so BigInt powers stay small. */
export const MAX_QUANTITY_EXPONENT = 64;

interface Scale {
  exp10: number;
  exp2: number;
}

// Kubernetes' suffixes. "E" alone is exa (10^18); "e"/"E" followed by digits is
// the decimal exponent form and is handled separately.
const SUFFIXES: ReadonlyMap<string, Scale> = new Map<string, Scale>([
  ["n", { exp10: -9, exp2: 0 }],
  ["u", { exp10: -6, exp2: 0 }],
  ["m", { exp10: -3, exp2: 0 }],
  ["", { exp10: 0, exp2: 0 }],
  ["k", { exp10: 3, exp2: 0 }],
  ["M", { exp10: 6, exp2: 0 }],
  ["G", { exp10: 9, exp2: 0 }],
  ["T", { exp10: 12, exp2: 0 }],
  ["P", { exp10: 15, exp2: 0 }],
  ["E", { exp10: 18, exp2: 0 }],
  ["Ki", { exp10: 0, exp2: 10 }],
  ["Mi", { exp10: 0, exp2: 20 }],
  ["Gi", { exp10: 0, exp2: 30 }],
  ["Ti", { exp10: 0, exp2: 40 }],
  ["Pi", { exp10: 0, exp2: 50 }],
  ["Ei", { exp10: 0, exp2: 60 }],
]);

const NUMBER_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(.*)$/s;
const EXPONENT_RE = /^[eE]([+-]?\d+)$/;

/** Parses a quantity in Kubernetes' grammar: a signed decimal number and an optional suffix. */
export function parseQuantity(text: string): QuantityResult<Quantity> {
  if (typeof text !== "string") return { ok: false, message: "must be a string quantity" };
  if (text.length === 0) return { ok: false, message: "must not be empty" };
  if (text.length > MAX_QUANTITY_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_QUANTITY_LENGTH} characters` };
  }
  const match = NUMBER_RE.exec(text);
  if (match === null) {
    return { ok: false, message: `"${text}" is not a quantity (expected a number with an optional suffix, e.g. "500m", "2", "4Gi")` };
  }
  const sign = match[1] ?? "";
  const digits = match[2] ?? "";
  const suffix = match[3] ?? "";

  let scale = SUFFIXES.get(suffix);
  if (scale === undefined) {
    const exp = EXPONENT_RE.exec(suffix);
    if (exp === null) {
      return {
        ok: false,
        message: `"${text}" has an unknown suffix "${suffix}" (use one of m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or none)`,
      };
    }
    const e = Number(exp[1]);
    if (Math.abs(e) > MAX_QUANTITY_EXPONENT) {
      return { ok: false, message: `"${text}" has an exponent beyond ±${MAX_QUANTITY_EXPONENT}` };
    }
    scale = { exp10: e, exp2: 0 };
  }

  const dot = digits.indexOf(".");
  const intPart = dot < 0 ? digits : digits.slice(0, dot);
  const fracPart = dot < 0 ? "" : digits.slice(dot + 1);
  const magnitude = BigInt(`${intPart}${fracPart}` || "0");
  return {
    ok: true,
    value: {
      text,
      mantissa: sign === "-" ? -magnitude : magnitude,
      exp10: scale.exp10 - fracPart.length,
      exp2: scale.exp2,
    },
  };
}

/**
 * The quantity as a whole number of units of 10^unitExp10 (0: base units,
 * -3: milli-units), rounded up as Kubernetes rounds ("0.1m" CPU is 1m).
 * `exact` is false when rounding changed the value.
 */
export function scaledValue(q: Quantity, unitExp10 = 0): { value: bigint; exact: boolean } {
  const e = q.exp10 - unitExp10;
  const num = q.mantissa * (1n << BigInt(q.exp2)) * (e > 0 ? 10n ** BigInt(e) : 1n);
  const den = e < 0 ? 10n ** BigInt(-e) : 1n;
  const exact = num % den === 0n;
  // BigInt division truncates towards zero, which is already the ceiling for negatives.
  const value = num > 0n && !exact ? num / den + 1n : num / den;
  return { value, exact };
}

function toSafeNumber(v: bigint, text: string): QuantityResult<number> {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, message: `"${text}" is too large` };
  return { ok: true, value: Number(v) };
}

/** CPU in millicores: "2" -> 2000, "500m" -> 500, "1.5" -> 1500, "0.1m" -> 1 (rounded up). */
export function parseCpuMillicores(text: string): QuantityResult<number> {
  const parsed = parseQuantity(text);
  if (!parsed.ok) return parsed;
  if (parsed.value.mantissa < 0n) return { ok: false, message: `"${text}" must not be negative` };
  return toSafeNumber(scaledValue(parsed.value, -3).value, text);
}

export interface MemoryParseOptions {
  /**
   * Kubernetes accepts fractional bytes ("512m" is 0.512 bytes) and rounds up;
   * that is nearly always a mistake for "512Mi", so it is refused unless asked for.
   */
  allowFractionalBytes?: boolean;
}

/** Memory in bytes: "4Gi" -> 4294967296, "512Mi", "1G" -> 10^9, "1000000" -> 1000000. */
export function parseMemoryBytes(text: string, opts: MemoryParseOptions = {}): QuantityResult<number> {
  const parsed = parseQuantity(text);
  if (!parsed.ok) return parsed;
  if (parsed.value.mantissa < 0n) return { ok: false, message: `"${text}" must not be negative` };
  const { value, exact } = scaledValue(parsed.value, 0);
  if (!exact && opts.allowFractionalBytes !== true) {
    const hint = text.endsWith("m") ? ` ("m" is milli; did you mean "${text.slice(0, -1)}Mi"?)` : "";
    return { ok: false, message: `"${text}" is not a whole number of bytes${hint}` };
  }
  return toSafeNumber(value, text);
}
