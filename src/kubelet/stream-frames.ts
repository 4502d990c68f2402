// Docker's multiplexed stream format (non-TTY attach, logs and exec): frames
// of an 8-byte header [stream, 0, 0, 0, size (big-endian u32)] and a payload.
// A small incremental decoder, so partial frames across chunks are handled.

export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const stream = this.buf[0]!;
      this.onFrame(stream, this.buf.subarray(8, 8 + size));
      this.buf = this.buf.subarray(8 + size);
    }
  }
}

/** Decodes a whole multiplexed buffer into the payloads, in order. */
export function demuxAll(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  new FrameDecoder((_s, p) => parts.push(Buffer.from(p))).push(data);
  return Buffer.concat(parts);
}
