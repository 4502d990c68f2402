// Byte-key helpers. Inside the store a key is also held as a latin1 string
// ("skey"): one char per byte, so JS string order is byte order and the string
// can key a Map. Ranges follow etcd's forms (single key, [key, end), key..∞).

import { Buffer } from "node:buffer";

/** A key range in skey form. `end: null` is unbounded. */
export type KeyRange = { kind: "key"; key: string } | { kind: "range"; start: string; end: string | null };

const EMPTY = Buffer.alloc(0);

/** The shared empty value (tombstones, keysOnly results). Never mutate it. */
export function emptyBytes(): Uint8Array {
  return EMPTY;
}

export function toSkey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

export function fromSkey(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/** An exact-size copy the store owns: not a view into a larger buffer (which
 *  would keep a whole Raft entry or snapshot alive) and not from Node's pool. */
export function ownBytes(b: Uint8Array): Buffer {
  if (b.byteLength === 0) return EMPTY;
  const out = Buffer.alloc(b.byteLength);
  out.set(b);
  return out;
}

/** etcd's range forms: absent/empty rangeEnd = single key, [0] = every key >= key. */
export function toKeyRange(key: Uint8Array, rangeEnd?: Uint8Array): KeyRange {
  if (rangeEnd === undefined || rangeEnd.byteLength === 0) return { kind: "key", key: toSkey(key) };
  if (rangeEnd.byteLength === 1 && rangeEnd[0] === 0) return { kind: "range", start: toSkey(key), end: null };
  return { kind: "range", start: toSkey(key), end: toSkey(rangeEnd) };
}

export function inRange(r: KeyRange, skey: string): boolean {
  if (r.kind === "key") return skey === r.key;
  return skey >= r.start && (r.end === null || skey < r.end);
}

/** The rangeEnd that selects every key with this prefix (etcd's "key + 1"). */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff (or the prefix is empty): no upper bound.
  return Buffer.from([0]);
}
