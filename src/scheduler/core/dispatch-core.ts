/**
 * The dispatch loop's pure, synchronous core. No timers, no I/O: the caller passes the time
 * in and drives it with `submit`, `pump`, `complete` and `cancel`; every transition is reported
 * to the listener. The runtime adapter (../runtime.ts) and the simulator (../simulate/) are the
 * two drivers.
 *
 * Selection across tiers is start-time fair queuing with unit cost (stride scheduling, a
 * smooth weighted round-robin that copes with tiers joining and leaving the backlog): each tier
 * has a virtual "pass"; the backlogged tier with the smallest pass runs next (ties go to the
 * higher tier) and its pass advances by its stride, L / weight. A tier that becomes backlogged
 * again starts at max(its pass, the variant's virtual time), so idling banks no credit. This
 * gives the fairness bound stated in docs/scheduler.md and checked by the property tests.
 *
 * Data structures are intrusive doubly linked lists threaded through the tickets, so enqueue,
 * dispatch, cancel, expiry and eviction are O(1) and allocate nothing beyond the ticket itself.
 */
import { TokenBucket } from './token-bucket.js';
import type {
  AccountRate,
  SchedulerConfig,
  SchedulerEventKind,
  SchedulerListener,
  ShedReason,
  SubmitRequest,
  TerminalState,
  Ticket,
  TicketState,
  VariantLimits,
} from './types.js';

class TicketImpl<Id> implements Ticket<Id> {
  state: TicketState = 'queued';
  dispatchedAt = Number.NaN;
  endedAt = Number.NaN;
  retryAfter = 0;
  shedReason: ShedReason | undefined = undefined;
  reservedDispatch = false;
  /** Links in a flow's FIFO while queued, in the variant's running list while running. */
  prev: TicketImpl<Id> | null = null;
  next: TicketImpl<Id> | null = null;
  /** Links in the owner's reservation FIFO (only for accounts with reserved units on the variant). */
  resPrev: TicketImpl<Id> | null = null;
  resNext: TicketImpl<Id> | null = null;
  flow: Flow<Id> | null = null;

  constructor(
    readonly id: Id,
    readonly variant: number,
    readonly tier: number,
    readonly account: string,
    readonly preemptable: boolean,
    readonly deadline: number,
    readonly seq: number,
    readonly arrivedAt: number,
    readonly reservation: Reservation<Id> | undefined,
  ) {}
}

/** One account's FIFO inside a tier (or the tier's only FIFO without fair queuing). */
class Flow<Id> {
  head: TicketImpl<Id> | null = null;
  tail: TicketImpl<Id> | null = null;
  count = 0;
  ringPrev: Flow<Id> = this;
  ringNext: Flow<Id> = this;
  constructor(readonly key: string) {}
}

/** A tier's flows. Its queued count and pass live in the variant's typed arrays (see VariantState). */
class TierQueue<Id> {
  /** Active flows take turns; `cursor` is the one served next. Null when the tier is empty. */
  cursor: Flow<Id> | null = null;
  /** Per-account flows under fair queuing; created on demand, dropped when idle. */
  readonly flows = new Map<string, Flow<Id>>();
  /** The tier's only flow without fair queuing. */
  readonly single = new Flow<Id>('');
}

class Reservation<Id> {
  inflight = 0;
  queued = 0;
  head: TicketImpl<Id> | null = null;
  tail: TicketImpl<Id> | null = null;
  constructor(readonly account: string, readonly units: number) {}
  /** The owner is waiting and runs below its reserved units: the next free slot is its own. */
  get owed(): boolean {
    return this.queued > 0 && this.inflight < this.units;
  }
}

class VariantState<Id> {
  queued = 0;
  inflight = 0;
  /** Virtual time: the pass of the tier selected last. */
  vtime = 0;
  /**
   * Bit i set while tier i has queued requests (tiers 0..30), so choosing a tier visits only the
   * backlogged ones. Unused (0) when the config has more than 31 tiers: selection then scans.
   */
  backlog = 0;
  /** Newest running request; the list is kept only where preemption can happen (see tracksRunning). */
  runningTail: TicketImpl<Id> | null = null;
  dirty = false;
  /** Min-heap by deadline of queued tickets that have one (lazily pruned). */
  readonly deadlines: TicketImpl<Id>[] = [];
  readonly tiers: TierQueue<Id>[];
  /**
   * Per tier: queued requests, and the virtual start time of the tier's next dispatch. Typed
   * arrays side by side, so choosing a tier reads two contiguous blocks instead of seven objects.
   */
  readonly tierQueued: Int32Array;
  readonly tierPass: Float64Array;
  readonly reservations: Reservation<Id>[];
  readonly reservationOf: ReadonlyMap<string, Reservation<Id>>;
  constructor(readonly index: number, readonly limits: VariantLimits, tierCount: number) {
    this.tiers = Array.from({ length: tierCount }, () => new TierQueue<Id>());
    this.tierQueued = new Int32Array(tierCount);
    this.tierPass = new Float64Array(tierCount);
    this.reservations = Object.entries(limits.reserved ?? {})
      .filter(([, units]) => units > 0)
      .map(([account, units]) => new Reservation<Id>(account, units));
    this.reservationOf = new Map(this.reservations.map((r) => [r.account, r]));
    this.tracksRunning = this.reservations.length > 0;
  }
  /**
   * Whether running requests are kept in a list: only preemption walks it, and preemption only
   * happens for an owed reservation, so a variant without reservations skips the bookkeeping.
   */
  readonly tracksRunning: boolean;
}

/** Counters since construction, by event kind. */
export type SchedulerCounters = Record<SchedulerEventKind, number>;

const EVENT_KINDS: readonly SchedulerEventKind[] = ['queued', 'dispatched', 'completed', 'shed', 'throttled', 'expired', 'preempted', 'cancelled'];
// Positions in EVENT_KINDS, passed along with the kind so counting needs no lookup by name.
const QUEUED = 0;
const DISPATCHED = 1;
const COMPLETED = 2;
const SHED = 3;
const THROTTLED = 4;
const EXPIRED = 5;
const PREEMPTED = 6;
const CANCELLED = 7;

/** Tiers that fit the backlog bitmask (bit 31 is left alone so masks stay non-negative). */
const MASK_TIERS = 31;

const NO_LISTENER: SchedulerListener<unknown> = () => undefined;

export class DispatchCore<Id = string> {
  readonly tierCount: number;
  /** Stride per tier: L / weight, with L the weights' least common multiple when it is small. */
  readonly strides: readonly number[];
  private readonly variants: VariantState<Id>[];
  private readonly variantIndexById: ReadonlyMap<string, number>;
  private readonly fair: boolean;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly accountRates: Readonly<Record<string, AccountRate>>;
  private readonly defaultAccountRate: AccountRate | undefined;
  private readonly dirty: VariantState<Id>[] = [];
  private seq = 0;
  /** Earliest deadline any variant's heap may hold (a lower bound: stale entries count too). */
  private nextDeadline = Number.POSITIVE_INFINITY;
  private readonly listener: SchedulerListener<Id>;
  /** Bit i set when the listener wants EVENT_KINDS[i]; the others are counted, not delivered. */
  private readonly delivered: number;
  /** Events by kind, indexed as EVENT_KINDS; a typed array keeps the hot path's counting monomorphic. */
  private readonly tally = new Float64Array(EVENT_KINDS.length);
  /** False when no account has a bucket: admission then skips the bucket lookup entirely. */
  private readonly throttling: boolean;

  /**
   * `listenTo` limits which kinds reach the listener (default: all). A driver that only needs
   * dispatches (to start the work) saves a call per queued and per terminal event; counters
   * still count every kind.
   */
  constructor(config: SchedulerConfig, listener?: SchedulerListener<Id>, listenTo: readonly SchedulerEventKind[] = EVENT_KINDS) {
    validateConfig(config);
    this.tierCount = config.tierWeights.length;
    this.strides = stridesFor(config.tierWeights);
    this.variants = config.variants.map((v, i) => new VariantState<Id>(i, v, this.tierCount));
    this.variantIndexById = new Map(config.variants.map((v, i) => [v.id, i]));
    this.fair = config.fairQueuingByAccount ?? false;
    this.accountRates = config.accountRates ?? {};
    this.defaultAccountRate = config.defaultAccountRate;
    this.listener = listener ?? (NO_LISTENER as SchedulerListener<Id>);
    this.delivered = listenTo.reduce((mask, kind) => mask | (1 << EVENT_KINDS.indexOf(kind)), 0);
    this.throttling = Object.keys(this.accountRates).length > 0 || this.defaultAccountRate !== undefined;
  }

  /** Events emitted since construction, by kind. */
  get counters(): SchedulerCounters {
    const out = {} as SchedulerCounters;
    EVENT_KINDS.forEach((kind, i) => (out[kind] = this.tally[i] as number));
    return out;
  }

  /** The index of a variant by its id, or undefined when the config has no such variant. */
  variantIndex(id: string): number | undefined {
    return this.variantIndexById.get(id);
  }

  get variantCount(): number {
    return this.variants.length;
  }

  variantLimits(variant: number): VariantLimits {
    return this.variantAt(variant).limits;
  }

  inflight(variant: number): number {
    return this.variantAt(variant).inflight;
  }

  queued(variant: number, tier?: number): number {
    const v = this.variantAt(variant);
    return tier === undefined ? v.queued : (v.tierQueued[tier] ?? 0);
  }

  /** Running requests of `account` on `variant` (reserved accounts only are tracked; others report undefined). */
  reservedInUse(variant: number, account: string): { readonly units: number; readonly inflight: number; readonly queued: number } | undefined {
    const r = this.variantAt(variant).reservationOf.get(account);
    return r === undefined ? undefined : { units: r.units, inflight: r.inflight, queued: r.queued };
  }

  /**
   * Entries in a variant's deadline index: its queued requests that have a deadline, plus
   * entries of requests that left the queue, dropped when their deadline passes or when they
   * outnumber the queue (at most max(64, 2 × queued) after each expiry check).
   */
  deadlineEntries(variant: number): number {
    return this.variantAt(variant).deadlines.length;
  }

  /** Variants with waiting requests or free slots to fill since the last pump. */
  get hasPendingWork(): boolean {
    return this.dirty.length > 0;
  }

  /**
   * Admits a request: throttles it (no token), expires it (deadline already passed), sheds it
   * or a strictly lower-tier request when the variant's queue is full, or queues it. Never
   * dispatches; call {@link pump} after a batch of submissions.
   */
  submit(request: SubmitRequest<Id>, now: number): Ticket<Id> {
    const v = this.variantAt(request.variant);
    if (!(request.tier >= 0 && request.tier < this.tierCount && Number.isInteger(request.tier))) {
      throw new RangeError(`tier ${request.tier} is not in 0..${this.tierCount - 1}`);
    }
    const ticket = new TicketImpl<Id>(
      request.id,
      request.variant,
      request.tier,
      request.account,
      request.preemptable ?? false,
      request.deadline ?? Number.POSITIVE_INFINITY,
      this.seq++,
      now,
      v.reservations.length === 0 ? undefined : v.reservationOf.get(request.account),
    );
    const bucket = this.throttling ? this.bucketOf(request.account, now) : undefined;
    if (bucket !== undefined) {
      const wait = bucket.take(now);
      if (wait > 0) {
        ticket.retryAfter = wait;
        this.finish(ticket, 'throttled', THROTTLED, now);
        return ticket;
      }
    }
    if (ticket.deadline <= now) {
      this.finish(ticket, 'expired', EXPIRED, now);
      return ticket;
    }
    if (v.queued >= v.limits.queueBound) {
      this.expireDue(v, now);
      if (v.queued >= v.limits.queueBound && !this.evictBelow(v, ticket.tier, now)) {
        ticket.shedReason = 'queue-full';
        this.finish(ticket, 'shed', SHED, now);
        return ticket;
      }
    }
    this.enqueue(v, ticket);
    this.markDirty(v);
    this.emit('queued', QUEUED, ticket, now);
    return ticket;
  }

  /**
   * Expires every overdue queued request (all variants), then brings every variant touched
   * since the last pump to a settled state: returns reserved units to owed owners (preempting borrowers where the model
   * allows), then fills free slots by weighted round-robin. Returns the number dispatched.
   */
  pump(now: number): number {
    if (now >= this.nextDeadline) this.expireOverdue(now);
    let dispatched = 0;
    while (this.dirty.length > 0) {
      const v = this.dirty.pop() as VariantState<Id>;
      v.dirty = false;
      dispatched += this.settle(v, now);
    }
    return dispatched;
  }

  /** Settles one variant (see {@link pump}); for drivers that track variants themselves. */
  pumpVariant(variant: number, now: number): number {
    return this.settle(this.variantAt(variant), now);
  }

  /** Expires queued requests whose deadline is at or before `now`, on every variant; returns how many. */
  expireOverdue(now: number): number {
    let expired = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const v of this.variants) {
      expired += this.expireDue(v, now);
      const top = v.deadlines[0];
      if (top !== undefined && top.deadline < next) next = top.deadline;
    }
    this.nextDeadline = next;
    return expired;
  }

  /** Marks a running request completed and frees its slot. False if it was not running (e.g. preempted meanwhile). */
  complete(ticket: Ticket<Id>, now: number): boolean {
    const t = ticket as TicketImpl<Id>;
    if (t.state !== 'running') return false;
    this.stopRunning(t, 'completed', COMPLETED, now);
    return true;
  }

  /** Cancels a queued or running request. False if it had already reached a terminal state. */
  cancel(ticket: Ticket<Id>, now: number): boolean {
    const t = ticket as TicketImpl<Id>;
    if (t.state === 'queued') {
      this.dequeue(this.variants[t.variant] as VariantState<Id>, t);
      this.finish(t, 'cancelled', CANCELLED, now);
      return true;
    }
    if (t.state === 'running') {
      this.stopRunning(t, 'cancelled', CANCELLED, now);
      return true;
    }
    return false;
  }

  // ---- internals -------------------------------------------------------------------------

  private variantAt(index: number): VariantState<Id> {
    const v = this.variants[index];
    if (v === undefined) throw new RangeError(`variant ${index} is not in 0..${this.variants.length - 1}`);
    return v;
  }

  /** `index` is `kind`'s position in EVENT_KINDS. */
  private emit(kind: SchedulerEventKind, index: number, ticket: TicketImpl<Id>, now: number): void {
    this.tally[index] = (this.tally[index] as number) + 1;
    if ((this.delivered & (1 << index)) !== 0) this.listener(kind, ticket, now);
  }

  private markDirty(v: VariantState<Id>): void {
    if (!v.dirty) {
      v.dirty = true;
      this.dirty.push(v);
    }
  }

  private bucketOf(account: string, now: number): TokenBucket | undefined {
    let bucket = this.buckets.get(account);
    if (bucket === undefined) {
      const rate = this.accountRates[account] ?? this.defaultAccountRate;
      if (rate === undefined) return undefined;
      bucket = new TokenBucket(rate.rate, rate.burst, now);
      this.buckets.set(account, bucket);
    }
    return bucket;
  }

  private settle(v: VariantState<Id>, now: number): number {
    if (v.deadlines.length > 0) this.expireDue(v, now);
    const limit = v.limits.concurrency;
    let dispatched = 0;
    for (;;) {
      const owed = v.reservations.length > 0 ? mostOwed(v.reservations) : undefined;
      if (v.inflight < limit) {
        if (owed !== undefined) {
          this.start(v, owed.head as TicketImpl<Id>, true, now);
        } else if (v.queued > 0) {
          this.start(v, this.nextWeighted(v), false, now);
        } else {
          break;
        }
        dispatched++;
      } else if (owed !== undefined && v.limits.qosPreemption) {
        const victim = preemptionVictim(v);
        if (victim === undefined) break;
        this.stopRunning(victim, 'preempted', PREEMPTED, now);
      } else {
        break;
      }
    }
    return dispatched;
  }

  /** Picks the backlogged tier with the smallest pass (ties: higher tier) and its flow's head. */
  private nextWeighted(v: VariantState<Id>): TicketImpl<Id> {
    const passes = v.tierPass;
    let best = 0;
    let bestPass = Number.POSITIVE_INFINITY;
    if (this.tierCount <= MASK_TIERS) {
      // Lowest set bit first = highest tier first, so a strict '<' keeps ties with the higher tier.
      for (let mask = v.backlog; mask !== 0; mask &= mask - 1) {
        const i = 31 - Math.clz32(mask & -mask);
        const pass = passes[i] as number;
        if (pass < bestPass) {
          best = i;
          bestPass = pass;
        }
      }
    } else {
      const queued = v.tierQueued;
      for (let i = 0; i < queued.length; i++) {
        const pass = passes[i] as number;
        if ((queued[i] as number) > 0 && pass < bestPass) {
          best = i;
          bestPass = pass;
        }
      }
    }
    v.vtime = bestPass;
    passes[best] = bestPass + (this.strides[best] as number);
    const tq = v.tiers[best] as TierQueue<Id>;
    const flow = tq.cursor as Flow<Id>;
    // Round-robin over accounts: the next flow is served next time this tier is picked.
    tq.cursor = flow.ringNext;
    return flow.head as TicketImpl<Id>;
  }

  private start(v: VariantState<Id>, t: TicketImpl<Id>, reserved: boolean, now: number): void {
    this.dequeue(v, t);
    t.state = 'running';
    t.dispatchedAt = now;
    t.reservedDispatch = reserved;
    if (v.tracksRunning) {
      t.prev = v.runningTail;
      t.next = null;
      // Only walked from the tail (newest first, for preemption), so no head is kept.
      if (v.runningTail !== null) v.runningTail.next = t;
      v.runningTail = t;
    }
    v.inflight++;
    if (t.reservation !== undefined) t.reservation.inflight++;
    this.emit('dispatched', DISPATCHED, t, now);
  }

  private stopRunning(t: TicketImpl<Id>, state: 'completed' | 'preempted' | 'cancelled', index: number, now: number): void {
    const v = this.variants[t.variant] as VariantState<Id>;
    if (v.tracksRunning) {
      if (t.prev !== null) t.prev.next = t.next;
      if (t.next === null) v.runningTail = t.prev;
      else t.next.prev = t.prev;
      t.prev = t.next = null;
    }
    v.inflight--;
    if (t.reservation !== undefined) t.reservation.inflight--;
    this.markDirty(v);
    this.finish(t, state, index, now);
  }

  private finish(t: TicketImpl<Id>, state: TerminalState, index: number, now: number): void {
    t.state = state;
    t.endedAt = now;
    this.emit(state, index, t, now);
  }

  private enqueue(v: VariantState<Id>, t: TicketImpl<Id>): void {
    const tq = v.tiers[t.tier] as TierQueue<Id>;
    if (v.tierQueued[t.tier] === 0 && (v.tierPass[t.tier] as number) < v.vtime) v.tierPass[t.tier] = v.vtime;
    let flow = tq.single;
    if (this.fair) {
      const existing = tq.flows.get(t.account);
      if (existing === undefined) {
        flow = new Flow<Id>(t.account);
        tq.flows.set(t.account, flow);
      } else {
        flow = existing;
      }
    }
    if (flow.count === 0) {
      // A newly active flow joins at the end of the current round.
      const cursor = tq.cursor;
      if (cursor === null) {
        flow.ringPrev = flow.ringNext = flow;
        tq.cursor = flow;
      } else {
        flow.ringNext = cursor;
        flow.ringPrev = cursor.ringPrev;
        cursor.ringPrev.ringNext = flow;
        cursor.ringPrev = flow;
      }
    }
    if (this.fair) t.flow = flow;
    t.prev = flow.tail;
    t.next = null;
    if (flow.tail === null) flow.head = t;
    else flow.tail.next = t;
    flow.tail = t;
    flow.count++;
    const tierQueued = (v.tierQueued[t.tier] as number) + 1;
    v.tierQueued[t.tier] = tierQueued;
    if (tierQueued === 1 && t.tier < MASK_TIERS) v.backlog |= 1 << t.tier;
    v.queued++;
    const r = t.reservation;
    if (r !== undefined) {
      t.resPrev = r.tail;
      t.resNext = null;
      if (r.tail === null) r.head = t;
      else r.tail.resNext = t;
      r.tail = t;
      r.queued++;
    }
    if (t.deadline !== Number.POSITIVE_INFINITY) {
      heapPush(v.deadlines, t);
      if (t.deadline < this.nextDeadline) this.nextDeadline = t.deadline;
    }
  }

  private dequeue(v: VariantState<Id>, t: TicketImpl<Id>): void {
    const tq = v.tiers[t.tier] as TierQueue<Id>;
    // Without fair queuing every ticket of the tier is in its single flow, so `flow` is not kept.
    const flow = this.fair ? (t.flow as Flow<Id>) : tq.single;
    if (t.prev === null) flow.head = t.next;
    else t.prev.next = t.next;
    if (t.next === null) flow.tail = t.prev;
    else t.next.prev = t.prev;
    t.prev = t.next = null;
    if (this.fair) t.flow = null;
    flow.count--;
    if (flow.count === 0) {
      if (flow.ringNext === flow) {
        tq.cursor = null;
      } else {
        flow.ringPrev.ringNext = flow.ringNext;
        flow.ringNext.ringPrev = flow.ringPrev;
        if (tq.cursor === flow) tq.cursor = flow.ringNext;
      }
      flow.ringNext = flow.ringPrev = flow;
      // Per-account flows are dropped when idle so memory follows the queued requests.
      if (this.fair) tq.flows.delete(flow.key);
    }
    const tierQueued = (v.tierQueued[t.tier] as number) - 1;
    v.tierQueued[t.tier] = tierQueued;
    if (tierQueued === 0 && t.tier < MASK_TIERS) v.backlog &= ~(1 << t.tier);
    v.queued--;
    const r = t.reservation;
    if (r !== undefined) {
      if (t.resPrev === null) r.head = t.resNext;
      else t.resPrev.resNext = t.resNext;
      if (t.resNext === null) r.tail = t.resPrev;
      else t.resNext.resPrev = t.resPrev;
      t.resPrev = t.resNext = null;
      r.queued--;
    }
  }

  /** Sheds the newest request of the lowest backlogged tier if that tier is strictly below `tier`. */
  private evictBelow(v: VariantState<Id>, tier: number, now: number): boolean {
    for (let i = v.tiers.length - 1; i > tier; i--) {
      if (v.tierQueued[i] === 0) continue;
      const tq = v.tiers[i] as TierQueue<Id>;
      let newest: TicketImpl<Id> | null = null;
      const first = tq.cursor as Flow<Id>;
      let flow = first;
      do {
        const tail = flow.tail as TicketImpl<Id>;
        if (newest === null || tail.seq > newest.seq) newest = tail;
        flow = flow.ringNext;
      } while (flow !== first);
      const victim = newest as TicketImpl<Id>;
      this.dequeue(v, victim);
      victim.shedReason = 'evicted';
      this.finish(victim, 'shed', SHED, now);
      return true;
    }
    return false;
  }

  private expireDue(v: VariantState<Id>, now: number): number {
    const heap = v.deadlines;
    let expired = 0;
    while (heap.length > 0 && (heap[0] as TicketImpl<Id>).deadline <= now) {
      const t = heapPop(heap);
      if (t.state !== 'queued') continue; // left the queue earlier; its heap entry was stale
      this.dequeue(v, t);
      this.finish(t, 'expired', EXPIRED, now);
      expired++;
    }
    // Entries of dispatched or cancelled tickets linger until their deadline; rebuild when they
    // dominate so memory stays proportional to what is queued.
    if (heap.length > 64 && heap.length > 2 * v.queued) {
      const live = heap.filter((t) => t.state === 'queued');
      heap.length = 0;
      for (const t of live) heapPush(heap, t);
    }
    return expired;
  }
}

/** The owed reservation whose oldest waiting request arrived first, if any. */
function mostOwed<Id>(reservations: readonly Reservation<Id>[]): Reservation<Id> | undefined {
  let best: Reservation<Id> | undefined;
  for (const r of reservations) {
    if (r.owed && (best === undefined || (r.head as TicketImpl<Id>).seq < (best.head as TicketImpl<Id>).seq)) best = r;
  }
  return best;
}

/**
 * A running, preemptable request that borrows capacity (its account has no reservation here or
 * runs beyond it): the lowest tier first, and within it the most recently dispatched.
 */
function preemptionVictim<Id>(v: VariantState<Id>): TicketImpl<Id> | undefined {
  let victim: TicketImpl<Id> | undefined;
  for (let t = v.runningTail; t !== null; t = t.prev) {
    if (!t.preemptable) continue;
    const r = t.reservation;
    if (r !== undefined && r.inflight <= r.units) continue;
    if (victim === undefined || t.tier > victim.tier) victim = t;
  }
  return victim;
}

function heapPush<Id>(heap: TicketImpl<Id>[], t: TicketImpl<Id>): void {
  let i = heap.length;
  heap.push(t);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent] as TicketImpl<Id>;
    if (!before(t, p)) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = t;
}

function heapPop<Id>(heap: TicketImpl<Id>[]): TicketImpl<Id> {
  const top = heap[0] as TicketImpl<Id>;
  const last = heap.pop() as TicketImpl<Id>;
  if (heap.length > 0) {
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r] as TicketImpl<Id>, heap[l] as TicketImpl<Id>) ? r : l;
      const child = heap[c] as TicketImpl<Id>;
      if (!before(child, last)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = last;
  }
  return top;
}

/** Deadline order, arrival order on ties, so expiry is deterministic. */
function before<Id>(a: TicketImpl<Id>, b: TicketImpl<Id>): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

/**
 * Stride per tier: L / w. L is the weights' least common multiple while it stays exactly
 * representable, so passes are integers and ties (hence decisions) are exact; beyond that a
 * fixed L keeps the arithmetic deterministic, if no longer exact.
 */
export function stridesFor(weights: readonly number[]): number[] {
  let l = 1;
  for (const w of weights) {
    l = (l / gcd(l, w)) * w;
    if (l > 2 ** 32) {
      l = 2 ** 32;
      break;
    }
  }
  return weights.map((w) => l / w);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Programmer errors in a config built in code; configuration files are validated earlier with pointers. */
function validateConfig(config: SchedulerConfig): void {
  if (config.tierWeights.length === 0) throw new RangeError('at least one tier weight is required');
  config.tierWeights.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 1) throw new RangeError(`tier ${i}: weight must be a positive integer, got ${w}`);
  });
  const ids = new Set<string>();
  for (const v of config.variants) {
    if (ids.has(v.id)) throw new RangeError(`variant "${v.id}" is listed twice`);
    ids.add(v.id);
    if (!Number.isInteger(v.concurrency) || v.concurrency < 1) throw new RangeError(`variant "${v.id}": concurrency must be an integer >= 1`);
    if (!Number.isInteger(v.queueBound) || v.queueBound < 1) throw new RangeError(`variant "${v.id}": queueBound must be an integer >= 1`);
    let reserved = 0;
    for (const [account, units] of Object.entries(v.reserved ?? {})) {
      if (!Number.isInteger(units) || units < 0) throw new RangeError(`variant "${v.id}": reserved units of "${account}" must be an integer >= 0`);
      reserved += units;
    }
    if (reserved > v.concurrency) throw new RangeError(`variant "${v.id}": reserved units (${reserved}) exceed concurrency (${v.concurrency})`);
  }
  const rates = [...Object.entries(config.accountRates ?? {}), ...(config.defaultAccountRate ? [['(default)', config.defaultAccountRate] as const] : [])];
  for (const [account, r] of rates) {
    if (!(r.rate >= 0) || !(r.burst >= 1)) throw new RangeError(`account "${account}": rate must be >= 0 and burst >= 1`);
  }
}
