// The store's sorted key index: items ordered by their skey, kept in blocks of
// at most MAX_BLOCK (a one-level B-tree). Finding a position is two binary
// searches, O(log n); inserting or removing moves at most one block plus the
// block list; a scan of k items from a position costs O(log n + k).

const MAX_BLOCK = 512;
const MIN_BLOCK = MAX_BLOCK / 8;

export interface Keyed {
  readonly skey: string;
}

export class OrderedIndex<T extends Keyed> {
  private blocks: T[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Inserts an item whose skey is not in the index yet. */
  insert(item: T): void {
    if (this.blocks.length === 0) {
      this.blocks.push([item]);
      this.count++;
      return;
    }
    let bi = this.blockFor(item.skey);
    if (bi === this.blocks.length) bi--;
    const block = this.blocks[bi]!;
    const i = lowerBound(block, item.skey);
    if (i < block.length && block[i]!.skey === item.skey) throw new Error(`ordered index: duplicate key ${JSON.stringify(item.skey)}`);
    block.splice(i, 0, item);
    this.count++;
    if (block.length > MAX_BLOCK) this.blocks.splice(bi + 1, 0, block.splice(block.length >> 1));
  }

  /** Removes the item with this skey; false if there was none. */
  remove(skey: string): boolean {
    const bi = this.blockFor(skey);
    if (bi === this.blocks.length) return false;
    const block = this.blocks[bi]!;
    const i = lowerBound(block, skey);
    if (i === block.length || block[i]!.skey !== skey) return false;
    block.splice(i, 1);
    this.count--;
    if (block.length === 0) {
      this.blocks.splice(bi, 1);
    } else if (block.length < MIN_BLOCK && bi + 1 < this.blocks.length && block.length + this.blocks[bi + 1]!.length <= MAX_BLOCK) {
      // Merge a thin block into its neighbour so mass deletes do not leave n blocks of one item.
      block.push(...this.blocks[bi + 1]!);
      this.blocks.splice(bi + 1, 1);
    }
    return true;
  }

  /**
   * Calls visit for every item with start <= skey < end (end null: no bound),
   * in key order, until visit returns false.
   */
  scan(start: string, end: string | null, visit: (item: T) => boolean | void): void {
    let bi = this.blockFor(start);
    if (bi === this.blocks.length) return;
    let i = lowerBound(this.blocks[bi]!, start);
    for (; bi < this.blocks.length; bi++, i = 0) {
      const block = this.blocks[bi]!;
      for (; i < block.length; i++) {
        const item = block[i]!;
        if (end !== null && item.skey >= end) return;
        if (visit(item) === false) return;
      }
    }
  }

  /** Every item in key order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const block of this.blocks) yield* block;
  }

  /** The first block whose last item is >= skey (blocks.length if none). */
  private blockFor(skey: string): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid]!;
      if (block[block.length - 1]!.skey < skey) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound<T extends Keyed>(items: readonly T[], skey: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.skey < skey) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
