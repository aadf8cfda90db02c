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
 * The common path is kept to what every request needs: without fair queuing a tier's FIFO hangs
 * straight off the variant (heads/tails per tier); per-account flows and their round-robin ring
 * (./flow-ring.ts) exist only under fair queuing. Deadlines are indexed by ./deadline-heap.ts. Variants without reserved units settle by plain weighted
 * round-robin and keep no running list; requests of accounts without reserved units carry no
 * reservation links.
 */
import { DeadlineHeap } from './deadline-heap.js';
import { FlowRing } from './flow-ring.js';
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

/** `TicketImpl.detail` for a request that ran on its account's reserved units. */
const RESERVED_DISPATCH = -1;
/** `TicketImpl.detail` for a request shed to make room for a higher tier. */
const EVICTED = -2;

class TicketImpl<Id> implements Ticket<Id> {
  state: TicketState = 'queued';
  /**
   * Null until dispatched / ended (read as NaN through the getters). A slot that holds null as
   * well as numbers stays a plain tagged slot; a slot initialised to NaN would become a boxed
   * double, and every ticket would allocate a separate heap number for it.
   */
  dispatchTime: number | null = null;
  endTime: number | null = null;
  /**
   * The rarely read outcome details share one slot, read through the getters below: the
   * retry-after in ms of a throttled request, otherwise RESERVED_DISPATCH, EVICTED or 0. Every
   * field costs every request a store and memory while it waits; these three are read by few.
   */
  detail = 0;
  /** Links in the tier's FIFO (or its account's flow) while queued, in the variant's running list while running. */
  prev: TicketImpl<Id> | null = null;
  next: TicketImpl<Id> | null = null;
  /** What the adapter driving the core keeps for this request ({@link DispatchCore.attach}); never read by the core. */
  attachment: unknown = null;

  constructor(
    readonly id: Id,
    readonly variant: number,
    readonly tier: number,
    readonly account: string,
    readonly preemptable: boolean,
    /** Null when the request has no deadline (read as Infinity), for the same reason as dispatchTime. */
    readonly due: number | null,
    readonly seq: number,
    readonly arrivedAt: number,
    /** Only for an account with reserved units on the variant: its reservation and place in the owner's FIFO. */
    readonly claim: Claim<Id> | null,
  ) {}

  get dispatchedAt(): number {
    return this.dispatchTime ?? Number.NaN;
  }

  get endedAt(): number {
    return this.endTime ?? Number.NaN;
  }

  get deadline(): number {
    return this.due ?? Number.POSITIVE_INFINITY;
  }

  get retryAfter(): number {
    return this.state === 'throttled' ? this.detail : 0;
  }

  get shedReason(): ShedReason | undefined {
    if (this.state !== 'shed') return undefined;
    return this.detail === EVICTED ? 'evicted' : 'queue-full';
  }

  get reservedDispatch(): boolean {
    return this.detail === RESERVED_DISPATCH;
  }
}

/**
 * An owner's request in its reservation's FIFO (across tiers). Kept off the ticket so requests
 * of accounts without reserved units (nearly all) carry one null field instead of three.
 */
class Claim<Id> {
  prev: TicketImpl<Id> | null = null;
  next: TicketImpl<Id> | null = null;
  constructor(readonly reservation: Reservation<Id>) {}
}

class Reservation<Id> {
  inflight = 0;
  queued = 0;
  /** The owner's queued requests, oldest first (linked through their claims). */
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
  /** Copied from the limits so the hot path reads them off this object. */
  readonly concurrency: number;
  readonly queueBound: number;
  /** Queued tickets that have a deadline, earliest first (lazily pruned). */
  readonly deadlines = new DeadlineHeap<TicketImpl<Id>>();
  /**
   * Without fair queuing, each tier's FIFO is threaded through its tickets from heads[tier] to
   * tails[tier]. Empty arrays under fair queuing, where `fairTiers` holds each tier's flow ring.
   */
  readonly heads: (TicketImpl<Id> | null)[];
  readonly tails: (TicketImpl<Id> | null)[];
  readonly fairTiers: FlowRing<TicketImpl<Id>>[];
  /**
   * Per tier: the virtual start time of the tier's next dispatch, in one contiguous block.
   * Per-tier queue lengths are not kept: emptiness is a null head (or cursor), which the FIFO
   * upkeep reads anyway, and a counter would cost every request a load and a store.
   */
  readonly tierPass: Float64Array;
  readonly reservations: Reservation<Id>[];
  readonly reservationOf: ReadonlyMap<string, Reservation<Id>>;
  /**
   * Whether the variant has reserved units. Without them nothing is ever owed, so settling is
   * plain weighted round-robin and running requests need no list: only preemption walks it,
   * and preemption only happens for an owed reservation.
   */
  readonly tracksRunning: boolean;
  constructor(readonly index: number, readonly limits: VariantLimits, tierCount: number, fair: boolean) {
    this.concurrency = limits.concurrency;
    this.queueBound = limits.queueBound;
    this.heads = fair ? [] : new Array<TicketImpl<Id> | null>(tierCount).fill(null);
    this.tails = fair ? [] : new Array<TicketImpl<Id> | null>(tierCount).fill(null);
    this.fairTiers = fair ? Array.from({ length: tierCount }, () => new FlowRing<TicketImpl<Id>>()) : [];
    this.tierPass = new Float64Array(tierCount);
    this.reservations = Object.entries(limits.reserved ?? {})
      .filter(([, units]) => units > 0)
      .map(([account, units]) => new Reservation<Id>(account, units));
    this.reservationOf = new Map(this.reservations.map((r) => [r.account, r]));
    this.tracksRunning = this.reservations.length > 0;
  }
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
  /**
   * Fair queuing by account is fixed per core: every tier FIFO is either threaded straight
   * through the variant's heads/tails (off) or split into per-account flows (on). The common
   * path never touches the flow machinery.
   */
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
  /** Whether the tier count fits the backlog bitmask (see VariantState.backlog). */
  private readonly masked: boolean;

  /**
   * `listenTo` limits which kinds reach the listener (default: all). A driver that only needs
   * dispatches (to start the work) saves a call per queued and per terminal event; counters
   * still count every kind.
   */
  constructor(config: SchedulerConfig, listener?: SchedulerListener<Id>, listenTo: readonly SchedulerEventKind[] = EVENT_KINDS) {
    validateConfig(config);
    this.tierCount = config.tierWeights.length;
    this.strides = stridesFor(config.tierWeights);
    this.fair = config.fairQueuingByAccount ?? false;
    this.variants = config.variants.map((v, i) => new VariantState<Id>(i, v, this.tierCount, this.fair));
    this.variantIndexById = new Map(config.variants.map((v, i) => [v.id, i]));
    this.accountRates = config.accountRates ?? {};
    this.defaultAccountRate = config.defaultAccountRate;
    this.listener = listener ?? (NO_LISTENER as SchedulerListener<Id>);
    this.delivered = listenTo.reduce((mask, kind) => mask | (1 << EVENT_KINDS.indexOf(kind)), 0);
    this.throttling = Object.keys(this.accountRates).length > 0 || this.defaultAccountRate !== undefined;
    this.masked = this.tierCount <= MASK_TIERS;
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
    if (tier === undefined) return v.queued;
    if (!this.validTier(tier)) return 0;
    // An inspection, not a hot path: counted by walking the tier's FIFO (or its flows).
    if (this.fair) return (v.fairTiers[tier] as FlowRing<TicketImpl<Id>>).count();
    let count = 0;
    for (let t = v.heads[tier] as TicketImpl<Id> | null; t !== null; t = t.next) count++;
    return count;
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
    return this.variantAt(variant).deadlines.size;
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
    const tier = request.tier;
    if (!this.validTier(tier)) {
      throw new RangeError(`tier ${tier} is not in 0..${this.tierCount - 1}`);
    }
    const account = request.account;
    const deadline = request.deadline;
    const reservation = v.tracksRunning ? v.reservationOf.get(account) : undefined;
    const ticket = new TicketImpl<Id>(
      request.id,
      v.index,
      tier,
      account,
      request.preemptable ?? false,
      // An explicit Infinity is no deadline: it is never indexed.
      deadline === undefined || deadline === Number.POSITIVE_INFINITY ? null : deadline,
      this.seq++,
      now,
      reservation === undefined ? null : new Claim<Id>(reservation),
    );
    if (this.throttling) {
      const bucket = this.bucketOf(account, now);
      const wait = bucket === undefined ? 0 : bucket.take(now);
      if (wait > 0) {
        ticket.detail = wait;
        this.finish(ticket, 'throttled', THROTTLED, now);
        return ticket;
      }
    }
    if (ticket.due !== null && ticket.due <= now) {
      this.finish(ticket, 'expired', EXPIRED, now);
      return ticket;
    }
    if (v.queued >= v.queueBound) {
      this.expireDue(v, now);
      if (v.queued >= v.queueBound && !this.evictBelow(v, tier, now)) {
        this.finish(ticket, 'shed', SHED, now);
        return ticket;
      }
    }
    this.enqueue(v, ticket);
    if (!v.dirty) {
      v.dirty = true;
      this.dirty.push(v);
    }
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
    const dirty = this.dirty;
    while (dirty.length > 0) {
      const v = dirty.pop() as VariantState<Id>;
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
      const top = v.deadlines.peek();
      if (top !== undefined && (top.due as number) < next) next = top.due as number;
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

  /**
   * Keeps `value` on the ticket for whoever drives the core (the runtime keeps its per-request
   * state there, so it needs no map from ticket to state). The core never reads it. Set it back
   * to null when the request ends: the deadline index may hold an ended ticket a while longer.
   */
  attach(ticket: Ticket<Id>, value: unknown): void {
    (ticket as TicketImpl<Id>).attachment = value;
  }

  /** What {@link attach} put on the ticket; null if nothing. */
  attachment(ticket: Ticket<Id>): unknown {
    return (ticket as TicketImpl<Id>).attachment;
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

  /** One unsigned comparison rejects negative, fractional and NaN tiers alike. */
  private validTier(tier: number): boolean {
    return tier >>> 0 === tier && tier < this.tierCount;
  }

  /** Whether a tier of a variant has no request queued. */
  private tierEmpty(v: VariantState<Id>, tier: number): boolean {
    return this.fair ? (v.fairTiers[tier] as FlowRing<TicketImpl<Id>>).empty : v.heads[tier] === null;
  }

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
    if (v.deadlines.size > 0) this.expireDue(v, now);
    if (v.tracksRunning) return this.settleReserved(v, now);
    // No reserved units: nothing is ever owed, so free slots go straight to weighted round-robin.
    let dispatched = 0;
    const limit = v.concurrency;
    while (v.inflight < limit && v.queued > 0) {
      this.start(v, this.fair ? this.takeWeightedFair(v) : this.takeWeighted(v), now);
      dispatched++;
    }
    return dispatched;
  }

  /** Settling a variant with reserved units: owed owners first, preempting borrowers where allowed. */
  private settleReserved(v: VariantState<Id>, now: number): number {
    const limit = v.concurrency;
    let dispatched = 0;
    for (;;) {
      const owed = mostOwed(v.reservations);
      if (v.inflight < limit) {
        if (owed !== undefined) {
          const t = owed.head as TicketImpl<Id>;
          this.dequeue(v, t);
          t.detail = RESERVED_DISPATCH;
          this.start(v, t, now);
        } else if (v.queued > 0) {
          this.start(v, this.fair ? this.takeWeightedFair(v) : this.takeWeighted(v), now);
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

  /**
   * Picks the backlogged tier with the smallest pass (ties: higher tier), advances its pass by
   * its stride and returns the tier.
   */
  private nextTier(v: VariantState<Id>): number {
    const passes = v.tierPass;
    let best = 0;
    let bestPass = Number.POSITIVE_INFINITY;
    if (this.masked) {
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
      for (let i = 0; i < passes.length; i++) {
        const pass = passes[i] as number;
        if (pass < bestPass && !this.tierEmpty(v, i)) {
          best = i;
          bestPass = pass;
        }
      }
    }
    v.vtime = bestPass;
    passes[best] = bestPass + (this.strides[best] as number);
    return best;
  }

  /** Takes the head of the weighted choice's tier FIFO out of the queue (no fair queuing). */
  private takeWeighted(v: VariantState<Id>): TicketImpl<Id> {
    const tier = this.nextTier(v);
    const t = v.heads[tier] as TicketImpl<Id>;
    const next = t.next;
    v.heads[tier] = next;
    if (next === null) {
      v.tails[tier] = null;
      this.leaveQueue(v, t, true);
    } else {
      next.prev = null;
      t.next = null;
      this.leaveQueue(v, t, false);
    }
    return t;
  }

  /** Takes the head of the next flow in the weighted choice's tier out of the queue (fair queuing). */
  private takeWeightedFair(v: VariantState<Id>): TicketImpl<Id> {
    const ring = v.fairTiers[this.nextTier(v)] as FlowRing<TicketImpl<Id>>;
    // Round-robin over accounts: the next flow is served next time this tier is picked.
    const t = ring.take();
    this.leaveQueue(v, t, ring.empty);
    return t;
  }

  /** Moves a ticket already taken out of the queue to running. */
  private start(v: VariantState<Id>, t: TicketImpl<Id>, now: number): void {
    t.state = 'running';
    t.dispatchTime = now;
    if (v.tracksRunning) {
      // Only walked from the tail (newest first, for preemption), so no head is kept.
      t.prev = v.runningTail;
      if (v.runningTail !== null) v.runningTail.next = t;
      v.runningTail = t;
      if (t.claim !== null) t.claim.reservation.inflight++;
    }
    v.inflight++;
    this.emit('dispatched', DISPATCHED, t, now);
  }

  private stopRunning(t: TicketImpl<Id>, state: 'completed' | 'preempted' | 'cancelled', index: number, now: number): void {
    const v = this.variants[t.variant] as VariantState<Id>;
    if (v.tracksRunning) {
      if (t.prev !== null) t.prev.next = t.next;
      if (t.next === null) v.runningTail = t.prev;
      else t.next.prev = t.prev;
      t.prev = t.next = null;
      if (t.claim !== null) t.claim.reservation.inflight--;
    }
    v.inflight--;
    if (!v.dirty) {
      v.dirty = true;
      this.dirty.push(v);
    }
    this.finish(t, state, index, now);
  }

  private finish(t: TicketImpl<Id>, state: TerminalState, index: number, now: number): void {
    t.state = state;
    t.endTime = now;
    this.emit(state, index, t, now);
  }

  private enqueue(v: VariantState<Id>, t: TicketImpl<Id>): void {
    const tier = t.tier;
    let wasEmpty: boolean;
    if (this.fair) {
      wasEmpty = (v.fairTiers[tier] as FlowRing<TicketImpl<Id>>).join(t);
    } else {
      const tail = v.tails[tier] as TicketImpl<Id> | null;
      t.prev = tail;
      wasEmpty = tail === null;
      if (wasEmpty) v.heads[tier] = t;
      else (tail as TicketImpl<Id>).next = t;
      v.tails[tier] = t;
    }
    if (wasEmpty) {
      // A tier that becomes backlogged again starts no earlier than the variant's virtual time.
      if ((v.tierPass[tier] as number) < v.vtime) v.tierPass[tier] = v.vtime;
      if (this.masked) v.backlog |= 1 << tier;
    }
    v.queued++;
    const claim = t.claim;
    if (claim !== null) {
      const r = claim.reservation;
      claim.prev = r.tail;
      if (r.tail === null) r.head = t;
      else (r.tail.claim as Claim<Id>).next = t;
      r.tail = t;
      r.queued++;
    }
    const due = t.due;
    if (due !== null) {
      v.deadlines.push(t);
      if (due < this.nextDeadline) this.nextDeadline = due;
    }
  }

  /** Takes any queued ticket out of its FIFO and the variant's counts (cancel, expiry, eviction, reserved dispatch). */
  private dequeue(v: VariantState<Id>, t: TicketImpl<Id>): void {
    const tier = t.tier;
    if (this.fair) {
      const ring = v.fairTiers[tier] as FlowRing<TicketImpl<Id>>;
      ring.remove(t);
      this.leaveQueue(v, t, ring.empty);
    } else {
      if (t.prev === null) v.heads[tier] = t.next;
      else t.prev.next = t.next;
      if (t.next === null) v.tails[tier] = t.prev;
      else t.next.prev = t.prev;
      t.prev = t.next = null;
      this.leaveQueue(v, t, v.heads[tier] === null);
    }
  }

  /**
   * The variant's count, backlog bit and reservation FIFO of a ticket already unlinked from its
   * tier FIFO; `emptied` says whether that left the tier with nothing queued.
   */
  private leaveQueue(v: VariantState<Id>, t: TicketImpl<Id>, emptied: boolean): void {
    if (emptied && this.masked) v.backlog &= ~(1 << t.tier);
    v.queued--;
    const claim = t.claim;
    if (claim !== null) {
      const r = claim.reservation;
      const { prev, next } = claim;
      if (prev === null) r.head = next;
      else (prev.claim as Claim<Id>).next = next;
      if (next === null) r.tail = prev;
      else (next.claim as Claim<Id>).prev = prev;
      claim.prev = claim.next = null;
      r.queued--;
    }
  }

  /** Sheds the newest request of the lowest backlogged tier if that tier is strictly below `tier`. */
  private evictBelow(v: VariantState<Id>, tier: number, now: number): boolean {
    for (let i = this.tierCount - 1; i > tier; i--) {
      if (this.tierEmpty(v, i)) continue;
      const victim = (this.fair ? (v.fairTiers[i] as FlowRing<TicketImpl<Id>>).newest() : v.tails[i]) as TicketImpl<Id>;
      this.dequeue(v, victim);
      victim.detail = EVICTED;
      this.finish(victim, 'shed', SHED, now);
      return true;
    }
    return false;
  }

  private expireDue(v: VariantState<Id>, now: number): number {
    const heap = v.deadlines;
    let expired = 0;
    while (heap.size > 0 && ((heap.peek() as TicketImpl<Id>).due as number) <= now) {
      const t = heap.pop() as TicketImpl<Id>;
      if (t.state !== 'queued') continue; // left the queue earlier; its heap entry was stale
      this.dequeue(v, t);
      this.finish(t, 'expired', EXPIRED, now);
      expired++;
    }
    // Entries of dispatched or cancelled tickets linger until their deadline; rebuild when they
    // dominate so memory stays proportional to what is queued.
    if (heap.size > 64 && heap.size > 2 * v.queued) heap.retain((t) => t.state === 'queued');
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
    const claim = t.claim;
    if (claim !== null && claim.reservation.inflight <= claim.reservation.units) continue;
    if (victim === undefined || t.tier > victim.tier) victim = t;
  }
  return victim;
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
