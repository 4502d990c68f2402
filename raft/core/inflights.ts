// Flow control for one follower in replicate state: the AppendEntries sent
// but not yet acknowledged, bounded by count and by payload bytes.

interface Inflight {
  lastIndex: number;
  bytes: number;
}

export class Inflights {
  private queue: Inflight[] = [];
  private head = 0;
  private totalBytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  add(lastIndex: number, bytes: number): void {
    this.queue.push({ lastIndex, bytes });
    this.totalBytes += bytes;
  }

  /** Frees every message whose last entry is at or below `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.head < this.queue.length && this.queue[this.head]!.lastIndex <= index) {
      this.totalBytes -= this.queue[this.head]!.bytes;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Frees the oldest message: it was probably lost, and a full window would stall replication forever. */
  freeFirstOne(): void {
    if (this.head >= this.queue.length) return;
    this.totalBytes -= this.queue[this.head]!.bytes;
    this.head++;
  }

  full(): boolean {
    return this.count() >= this.maxMessages || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes);
  }

  count(): number {
    return this.queue.length - this.head;
  }

  reset(): void {
    this.queue = [];
    this.head = 0;
    this.totalBytes = 0;
  }
}
