/**
 * The deadline index of a variant's queue: a binary min-heap of the queued entries that have a
 * deadline, earliest first, arrival order (`seq`) on ties so expiry is deterministic.
 *
 * Entries are not removed when they leave the queue some other way (dispatch, cancel,
 * eviction): removal from the middle of a heap would need a back-pointer in every ticket. The
 * caller skips such stale entries when they surface and rebuilds with {@link retain} when they
 * pile up. Pure and synchronous, like the rest of the core.
 */

/** What the heap orders by. `due` is null for entries without a deadline, which never enter. */
export interface DeadlineEntry {
  readonly due: number | null;
  readonly seq: number;
}

export class DeadlineHeap<T extends DeadlineEntry> {
  private readonly items: T[] = [];

  /** Entries held, stale ones included. */
  get size(): number {
    return this.items.length;
  }

  /** The entry with the earliest deadline, without taking it out. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds an entry; its `due` must be a number. */
  push(t: T): void {
    const heap = this.items;
    let i = heap.length;
    heap.push(t);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as T;
      if (!before(t, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = t;
  }

  /** Takes out the entry with the earliest deadline; undefined when the heap is empty. */
  pop(): T | undefined {
    const heap = this.items;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0) {
      const moved = last as T;
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(heap[r] as T, heap[l] as T) ? r : l;
        const child = heap[c] as T;
        if (!before(child, moved)) break;
        heap[i] = child;
        i = c;
      }
      heap[i] = moved;
    }
    return top;
  }

  /** Rebuilds the heap from the entries `keep` accepts, in their current array order. */
  retain(keep: (t: T) => boolean): void {
    const live = this.items.filter(keep);
    this.items.length = 0;
    for (const t of live) this.push(t);
  }
}

/** Deadline order, arrival order on ties. */
function before(a: DeadlineEntry, b: DeadlineEntry): boolean {
  // Only entries with a deadline enter the heap, so `due` is a number here.
  const x = a.due as number;
  const y = b.due as number;
  return x < y || (x === y && a.seq < b.seq);
}
