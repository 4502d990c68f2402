// Resource quantities for the API layer ("500m", "128Mi", "1.5Gi", "1e3"):
// exact parsing (the grammar lives in src/config/quantity.ts and is shared with
// the cluster config), comparison, conversion and Kubernetes' canonical form.

import { parseQuantity as parseQuantityResult, scaledValue, type Quantity } from "../config/quantity.js";

export type { Quantity } from "../config/quantity.js";

/** A quantity that does not parse; the message says why. */
export class QuantityError extends Error {
  override readonly name = "QuantityError";
}

/** Parses a quantity exactly; throws QuantityError on bad input. */
export function parseQuantity(s: string): Quantity {
  const r = parseQuantityResult(s);
  if (!r.ok) throw new QuantityError(r.message);
  return r.value;
}

/** True when `s` is a quantity Kubernetes would accept. */
export function isValidQuantity(s: unknown): boolean {
  return typeof s === "string" && parseQuantityResult(s).ok;
}

function asQuantity(q: Quantity | string | number): Quantity {
  if (typeof q === "string") return parseQuantity(q);
  if (typeof q === "number") return parseQuantity(numberText(q));
  return q;
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(`${n} is not a quantity`);
  // toString may give "1e-7"; the parser understands the exponent form.
  return String(n);
}

function toSafe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}

/** In thousandths, rounded up as Kubernetes' MilliValue does: "500m" -> 500, "2" -> 2000, "0.1m" -> 1. */
export function toMilli(q: Quantity | string | number): number {
  return toSafe(scaledValue(asQuantity(q), -3).value);
}

/** In whole units, rounded up as Kubernetes' Value does: "128Mi" -> 134217728, "500m" -> 1. */
export function value(q: Quantity | string | number): number {
  return toSafe(scaledValue(asQuantity(q), 0).value);
}

/** Bytes of a memory or storage quantity (same as value). */
export const toBytes = value;

/** The exact value as a fraction num/den with den a power of ten. */
function fraction(q: Quantity): { num: bigint; den: bigint } {
  let num = q.mantissa * (1n << BigInt(q.exp2));
  let den = 1n;
  if (q.exp10 >= 0) num *= 10n ** BigInt(q.exp10);
  else den = 10n ** BigInt(-q.exp10);
  return { num, den };
}

/** -1, 0 or 1 comparing the exact values: "1Gi" > "1G", "1000m" == "1". */
export function compareQuantity(a: Quantity | string | number, b: Quantity | string | number): -1 | 0 | 1 {
  const fa = fraction(asQuantity(a));
  const fb = fraction(asQuantity(b));
  const l = fa.num * fb.den;
  const r = fb.num * fa.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Sum of quantities, in the format of the first one. */
export function addQuantities(a: Quantity | string, b: Quantity | string): Quantity {
  const qa = asQuantity(a);
  const qb = asQuantity(b);
  const fa = fraction(qa);
  const fb = fraction(qb);
  const den = fa.den > fb.den ? fa.den : fb.den;
  const num = fa.num * (den / fa.den) + fb.num * (den / fb.den);
  const exp10 = -(den.toString().length - 1);
  const q: Quantity = { text: "", mantissa: num, exp10, exp2: 0 };
  return { ...q, text: formatQuantity(q, formatOf(qa)) };
}

export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

/** The format a quantity was written in, which its canonical form keeps. */
export function formatOf(q: Quantity): QuantityFormat {
  if (/[KMGTPE]i$/.test(q.text)) return "BinarySI";
  if (/[eE][+-]?\d+$/.test(q.text)) return "DecimalExponent";
  return "DecimalSI";
}

const DECIMAL_SUFFIX: ReadonlyMap<number, string> = new Map([
  [-9, "n"],
  [-6, "u"],
  [-3, "m"],
  [0, ""],
  [3, "k"],
  [6, "M"],
  [9, "G"],
  [12, "T"],
  [15, "P"],
  [18, "E"],
]);
const BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/**
 * Kubernetes' canonical text of a quantity: "1.5Gi" -> "1536Mi", "0.5" -> "500m",
 * "1000" -> "1k", "1500" -> "1500", "1e3" -> "1e3". Values below 1n round up to 1n.
 */
export function formatQuantity(q: Quantity | string | number, format?: QuantityFormat): string {
  const quantity = asQuantity(q);
  const fmt = format ?? formatOf(quantity);
  if (quantity.mantissa === 0n) return "0";
  const { num, den } = fraction(quantity);
  const sign = num < 0n ? "-" : "";
  const absNum = num < 0n ? -num : num;

  if (fmt === "BinarySI" && absNum % den === 0n && absNum / den >= 1024n) {
    let n = absNum / den;
    let k = 0;
    while (k < 6 && n % 1024n === 0n) {
      n /= 1024n;
      k++;
    }
    return `${sign}${n}${BINARY_SUFFIX[k]}`;
  }

  // Decimal: mantissa × 10^e, nano precision at most (rounded up, away from zero).
  let m = absNum;
  let e = -(den.toString().length - 1);
  if (e < -9) {
    const d = 10n ** BigInt(-9 - e);
    m = m % d === 0n ? m / d : m / d + 1n;
    e = -9;
  }
  while (m !== 0n && m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  let e3 = Math.floor(e / 3) * 3;
  if (fmt !== "DecimalExponent" && e3 > 18) e3 = 18;
  m *= 10n ** BigInt(e - e3);
  if (fmt === "DecimalExponent") return `${sign}${m}${e3 === 0 ? "" : `e${e3}`}`;
  return `${sign}${m}${DECIMAL_SUFFIX.get(e3) ?? ""}`;
}

/** Millicores as the canonical CPU text: 1500 -> "1500m", 2000 -> "2". */
export function formatMilli(milli: number): string {
  return formatQuantity({ text: "", mantissa: BigInt(Math.round(milli)), exp10: -3, exp2: 0 }, "DecimalSI");
}

/** Bytes as the canonical binary text: 134217728 -> "128Mi". */
export function formatBytes(bytes: number): string {
  return formatQuantity({ text: "", mantissa: BigInt(Math.round(bytes)), exp10: 0, exp2: 0 }, "BinarySI");
}
