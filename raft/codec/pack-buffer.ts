// msgpackr packs into ONE module-wide buffer shared by every Packr in the
// process, and when that buffer fills it allocates a new one of the SAME
// size. After a single snapshot-sized pack (100 MB), the process would keep
// a 100 MB pack buffer for good (found with a heap snapshot of a master).
// After packing something large, hand msgpackr a small fresh buffer instead.
// Earlier results stay valid: they point into the old buffer, which is freed
// once they are.

import { Packr } from "msgpackr";

const LARGE_PACK_BYTES = 1 << 20;
const releaser = new Packr();

/** Call after a pack() whose result was `packedBytes` long. */
export function releaseLargePackBuffer(packedBytes: number): void {
  if (packedBytes < LARGE_PACK_BYTES) return;
  releaser.useBuffer(Buffer.allocUnsafeSlow(8192));
}
