/**
 * Fair queuing by account inside one tier: each account with requests waiting has a FIFO (its
 * flow), and the active flows take turns in a ring. A newly active flow joins at the end of the
 * current round; a flow that empties leaves the ring and is dropped, so memory follows the
 * queued requests.
 *
 * Everything is intrusive: the requests' own `prev`/`next` links thread each flow, and the
 * flows' `ringPrev`/`ringNext` thread the ring, so join, leave and take are O(1) and allocate
 * nothing but a flow when an account becomes active. Pure and synchronous, like the rest of the
 * core.
 */

/** A request as the ring needs it: its account, its arrival order and the links of its flow. */
export interface FlowMember<T> {
  readonly account: string;
  readonly seq: number;
  prev: T | null;
  next: T | null;
}

/** One account's FIFO. Exists only while the account has requests waiting in the tier. */
class Flow<T extends FlowMember<T>> {
  head: T | null = null;
  tail: T | null = null;
  ringPrev: Flow<T> = this;
  ringNext: Flow<T> = this;
  constructor(readonly key: string) {}
}

export class FlowRing<T extends FlowMember<T>> {
  /** Active flows take turns; `cursor` is the one served next. Null when nothing is queued. */
  private cursor: Flow<T> | null = null;
  private readonly flows = new Map<string, Flow<T>>();

  get empty(): boolean {
    return this.cursor === null;
  }

  /** Active flows (accounts with requests waiting). */
  get flowCount(): number {
    return this.flows.size;
  }

  /** Appends a request to its account's flow. Returns whether the ring was empty before. */
  join(t: T): boolean {
    const wasEmpty = this.cursor === null;
    let flow = this.flows.get(t.account);
    if (flow === undefined) {
      flow = new Flow<T>(t.account);
      this.flows.set(t.account, flow);
      const cursor = this.cursor;
      if (cursor === null) {
        this.cursor = flow;
      } else {
        flow.ringNext = cursor;
        flow.ringPrev = cursor.ringPrev;
        cursor.ringPrev.ringNext = flow;
        cursor.ringPrev = flow;
      }
    }
    t.prev = flow.tail;
    if (flow.tail === null) flow.head = t;
    else flow.tail.next = t;
    flow.tail = t;
    return wasEmpty;
  }

  /**
   * Takes the oldest request of the flow whose turn it is; the next flow is served next time.
   * The ring must not be empty.
   */
  take(): T {
    const flow = this.cursor as Flow<T>;
    this.cursor = flow.ringNext;
    const t = flow.head as T;
    this.unlink(flow, t);
    return t;
  }

  /** Takes a queued request out of its flow wherever it stands (cancel, expiry, eviction). */
  remove(t: T): void {
    this.unlink(this.flows.get(t.account) as Flow<T>, t);
  }

  /** The most recently arrived request (largest `seq`) over all flows; undefined when empty. */
  newest(): T | undefined {
    const first = this.cursor;
    if (first === null) return undefined;
    // The newest of the tier is the newest of its flows' tails.
    let newest = first;
    for (let flow = first.ringNext; flow !== first; flow = flow.ringNext) {
      if ((flow.tail as T).seq > (newest.tail as T).seq) newest = flow;
    }
    return newest.tail as T;
  }

  /** Requests queued, walked flow by flow (an inspection, not a hot path). */
  count(): number {
    const first = this.cursor;
    if (first === null) return 0;
    let count = 0;
    let flow = first;
    do {
      for (let t = flow.head; t !== null; t = t.next) count++;
      flow = flow.ringNext;
    } while (flow !== first);
    return count;
  }

  /** The accounts of the active flows in the order they will be served, starting with the cursor's. */
  order(): string[] {
    const first = this.cursor;
    if (first === null) return [];
    const out: string[] = [];
    let flow = first;
    do {
      out.push(flow.key);
      flow = flow.ringNext;
    } while (flow !== first);
    return out;
  }

  private unlink(flow: Flow<T>, t: T): void {
    if (t.prev === null) flow.head = t.next;
    else t.prev.next = t.next;
    if (t.next === null) flow.tail = t.prev;
    else t.next.prev = t.prev;
    t.prev = t.next = null;
    if (flow.head === null) {
      if (flow.ringNext === flow) {
        this.cursor = null;
      } else {
        flow.ringPrev.ringNext = flow.ringNext;
        flow.ringNext.ringPrev = flow.ringPrev;
        if (this.cursor === flow) this.cursor = flow.ringNext;
      }
      this.flows.delete(flow.key);
    }
  }
}
