/**
 * The scheduler core's vocabulary. The core knows tiers only as an array of dispatch weights
 * (index 0 is the highest tier, a larger index is a lower tier), variants as concurrency and
 * queue limits, and accounts as opaque strings: mechanism, never policy. What a tier means
 * (P100, "provisioned") is decided by the rules and passed in as an index.
 */

/** Per model variant limits. */
export interface VariantLimits {
  /** The variant's name (a modelId); the core addresses variants by their index in the config. */
  readonly id: string;
  /** Requests that may run at once on this variant (>= 1). */
  readonly concurrency: number;
  /** Requests that may wait at once on this variant, across all tiers (>= 1). */
  readonly queueBound: number;
  /** Whether the model behind this variant can be interrupted mid-request (QoS preemption). */
  readonly qosPreemption: boolean;
  /**
   * Reserved (provisioned) units per account. Not hard-allocated: idle reserved units run other
   * traffic; the owner reclaims them on demand. The sum must not exceed `concurrency`.
   */
  readonly reserved?: Readonly<Record<string, number>>;
}

/** A token bucket: `rate` tokens per second refill up to `burst`; each request takes one. */
export interface AccountRate {
  readonly rate: number;
  readonly burst: number;
}

export interface SchedulerConfig {
  /** Dispatch weight per tier, highest tier first; positive integers (e.g. `scale.tiers[i].weight`). */
  readonly tierWeights: readonly number[];
  readonly variants: readonly VariantLimits[];
  /** Token bucket per account; accounts not listed use `defaultAccountRate`. */
  readonly accountRates?: Readonly<Record<string, AccountRate>>;
  /** Bucket for accounts not in `accountRates`; absent means such accounts are never throttled. */
  readonly defaultAccountRate?: AccountRate;
  /**
   * Fair queuing by account inside each tier: accounts with waiting requests in a tier take
   * turns, so one account's burst cannot monopolize the tier. FIFO still holds per account.
   */
  readonly fairQueuingByAccount?: boolean;
}

/**
 * A request as handed to {@link DispatchCore.submit}. Times are milliseconds on the caller's clock.
 * The core copies what it keeps into the ticket, so a driver may refill one object per call.
 */
export interface SubmitRequest<Id> {
  readonly id: Id;
  /** Index into `config.variants`. */
  readonly variant: number;
  /** Index into `config.tierWeights` (0 = highest tier). */
  readonly tier: number;
  readonly account: string;
  /** Whether a running request may be preempted to return reserved capacity to its owner. */
  readonly preemptable?: boolean;
  /** Absolute time after which a still-queued request expires; absent means never. */
  readonly deadline?: number;
}

export type TerminalState = 'completed' | 'shed' | 'throttled' | 'expired' | 'preempted' | 'cancelled';
export type TicketState = 'queued' | 'running' | TerminalState;

/** Every transition a request goes through; each ticket emits exactly one terminal kind. */
export type SchedulerEventKind = 'queued' | 'dispatched' | TerminalState;

export const TERMINAL_STATES: readonly TerminalState[] = ['completed', 'shed', 'throttled', 'expired', 'preempted', 'cancelled'];

/** Why a request was shed. */
export type ShedReason =
  /** The variant's queue was full and no strictly lower-tier request was waiting. */
  | 'queue-full'
  /** Evicted from a full queue to make room for a higher-tier arrival. */
  | 'evicted';

/** The core's record of one request, returned by `submit` and passed to every event. */
export interface Ticket<Id> {
  readonly id: Id;
  readonly variant: number;
  readonly tier: number;
  readonly account: string;
  readonly preemptable: boolean;
  /** Infinity when the request has no deadline. */
  readonly deadline: number;
  /** Arrival order across the whole core (0, 1, 2, ...). */
  readonly seq: number;
  readonly arrivedAt: number;
  readonly state: TicketState;
  /** NaN until dispatched. */
  readonly dispatchedAt: number;
  /** NaN until terminal. */
  readonly endedAt: number;
  /** For `throttled`: milliseconds until the account's bucket holds a token again; 0 otherwise. */
  readonly retryAfter: number;
  readonly shedReason: ShedReason | undefined;
  /** True when the request ran on its account's reserved units rather than through weighted round-robin. */
  readonly reservedDispatch: boolean;
}

/** Receives every transition synchronously, in order. Positional so the hot path allocates nothing. */
export type SchedulerListener<Id> = (kind: SchedulerEventKind, ticket: Ticket<Id>, now: number) => void;
