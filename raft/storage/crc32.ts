// CRC-32 (IEEE 802.3, the zlib/PNG polynomial) for the checksums on stored
// Raft records. zlib.crc32 (native, Node >= 20.15) when present, since load
// checks every entry; otherwise a table implementation, same results.

import * as zlib from "node:zlib";

const TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Table CRC-32 of `bytes[start, end)`, as an unsigned 32-bit integer. */
export function crc32Table(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `bytes[start, end)`, as an unsigned 32-bit integer. */
export const crc32: (bytes: Uint8Array, start?: number, end?: number) => number =
  typeof native === "function"
    ? (bytes, start = 0, end = bytes.length) => native(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end)) >>> 0
    : crc32Table;
