/**
 * A bounded, seeded sample that merges exactly: a bottom-k sample. Every candidate item gets a
 * rank from a seeded hash of its key; the sample keeps the k smallest (rank, text) pairs.
 * Because the rank depends only on the item and the seed, never on arrival order, sampling
 * one stream or merging the samples of any split of it keeps the same k items — which is what
 * lets N consumer-group members or N files produce one process's report. Pure.
 */

export interface SampleItem<T> {
  /** Seeded hash of the item's key (unsigned 32-bit). */
  readonly rank: number;
  /** The item's canonical JSON: breaks rank ties and identifies duplicates. */
  readonly text: string;
  readonly value: T;
}

export interface Reservoir<T> {
  readonly capacity: number;
  readonly seed: number;
  /** Sorted by (rank, text) ascending; at most `capacity` items. */
  readonly items: SampleItem<T>[];
}

export function emptyReservoir<T>(capacity: number, seed: number): Reservoir<T> {
  if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`sample capacity must be a non-negative integer, got ${capacity}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`sample seed must be an unsigned 32-bit integer, got ${seed}`);
  return { capacity, seed, items: [] };
}

/** FNV-1a over the UTF-16 code units of `key`, started from the seed; a stable, cheap 32-bit hash. */
export function seededHash(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A final avalanche so keys that differ in their last characters spread over the whole range.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

function compareItems(a: { rank: number; text: string }, b: { rank: number; text: string }): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

/**
 * Whether an item of this rank could enter the sample. Lets the hot path skip building the
 * item (and its JSON) for the vast majority of records once the sample is full.
 */
export function wouldAccept<T>(reservoir: Reservoir<T>, rank: number): boolean {
  if (reservoir.capacity === 0) return false;
  if (reservoir.items.length < reservoir.capacity) return true;
  const last = reservoir.items[reservoir.items.length - 1];
  return last !== undefined && rank <= last.rank;
}

/** Offers an item (mutating the reservoir); `text` must be the value's canonical JSON. */
export function offer<T>(reservoir: Reservoir<T>, rank: number, text: string, value: T): void {
  const items = reservoir.items;
  const candidate = { rank, text, value };
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareItems(items[mid] as SampleItem<T>, candidate) < 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= reservoir.capacity) return;
  items.splice(lo, 0, candidate);
  if (items.length > reservoir.capacity) items.pop();
}

/** The sample of the union of both inputs' streams. Both must share capacity and seed. */
export function mergeReservoirs<T>(a: Reservoir<T>, b: Reservoir<T>): Reservoir<T> {
  if (a.capacity !== b.capacity || a.seed !== b.seed) {
    throw new Error(`cannot merge samples of different shape (capacity ${a.capacity}/${b.capacity}, seed ${a.seed}/${b.seed})`);
  }
  const items: SampleItem<T>[] = [];
  let i = 0;
  let j = 0;
  while (items.length < a.capacity && (i < a.items.length || j < b.items.length)) {
    const x = a.items[i];
    const y = b.items[j];
    if (y === undefined || (x !== undefined && compareItems(x, y) <= 0)) {
      items.push(x as SampleItem<T>);
      i++;
    } else {
      items.push(y);
      j++;
    }
  }
  return { capacity: a.capacity, seed: a.seed, items };
}
