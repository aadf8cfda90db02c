/**
 * Replays requests through the core in virtual time: arrivals at the log's timestamps, service
 * times from the record or a seeded exponential distribution, every arrival of one millisecond
 * submitted before one pump (as the runtime batches per tick). Pure and deterministic for a seed.
 *
 * Nothing is dropped silently: requests the rules fail closed on, and requests for a modelId the
 * capacity file has no limits for, are counted in the report.
 */
import { DispatchCore, type SchedulerEventKind, type Ticket } from '../core/index.js';
import { schedulerConfigFor, type Capacity } from '../capacity.js';
import { seededRandom } from '../../random/index.js';
import { exponentialMs } from './random.js';

export interface SimRequest<A> {
  readonly requestId: string;
  /** Arrival, epoch milliseconds. */
  readonly arrivalMs: number;
  readonly accountId: string;
  readonly modelId: string;
  /** Observed service time; drawn from the seeded distribution when absent. */
  readonly serviceTimeMs?: number;
  /** Relative deadline: the request expires if still queued this long after arrival. */
  readonly deadlineMs?: number;
  /** What the tier assignment reads (the raw record). */
  readonly attributes: A;
}

/** The tier a request lands in, or why the rules refused to place it. */
export type TierAssignment = { readonly tier: number; readonly preemptable: boolean } | { readonly failClosed: string };

export interface SimulationOptions<A> {
  readonly requests: readonly SimRequest<A>[];
  readonly assign: (request: SimRequest<A>) => TierAssignment;
  readonly capacity: Capacity;
  /** Highest tier first, as in priorities.json. */
  readonly tiers: readonly { readonly name: string; readonly weight: number }[];
  readonly seed: number;
  /** Mean of the exponential service time for requests without one. */
  readonly meanServiceMs: number;
  /** Deadline for requests without their own; absent means none. */
  readonly defaultDeadlineMs?: number;
}

export interface WaitPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface TierReport {
  readonly tier: string;
  readonly weight: number;
  readonly arrived: number;
  readonly dispatched: number;
  readonly completed: number;
  readonly shed: number;
  readonly throttled: number;
  readonly expired: number;
  readonly preempted: number;
  /** Queue wait (dispatch − arrival) of dispatched requests, milliseconds; null when none ran. */
  readonly waitMs: WaitPercentiles | null;
  /** Completions per second of virtual time. */
  readonly throughputPerSec: number;
}

export interface SimulationReport {
  readonly requests: number;
  readonly scheduled: number;
  readonly failClosed: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  /** Requests for a modelId without limits in the capacity file (and no defaultVariant). */
  readonly unknownVariant: { readonly total: number; readonly byModel: Readonly<Record<string, number>> };
  /** Virtual time from the first arrival to the last completion, milliseconds. */
  readonly durationMs: number;
  readonly tiers: readonly TierReport[];
}

interface TierTally {
  arrived: number;
  dispatched: number;
  completed: number;
  shed: number;
  throttled: number;
  expired: number;
  preempted: number;
  waits: number[];
}

export function simulate<A>(options: SimulationOptions<A>): SimulationReport {
  const random = seededRandom(options.seed);
  // Stable sort by arrival keeps log order for equal timestamps.
  const requests = [...options.requests].sort((a, b) => a.arrivalMs - b.arrivalMs);
  // Drawn in arrival order before anything runs, so a request's service time does not depend on the mapping.
  const serviceMs = requests.map((r) => r.serviceTimeMs ?? exponentialMs(random, options.meanServiceMs));

  const config = schedulerConfigFor(
    options.capacity,
    options.tiers.map((t) => t.weight),
    requests.map((r) => r.modelId),
  );
  const tallies: TierTally[] = options.tiers.map(() => ({ arrived: 0, dispatched: 0, completed: 0, shed: 0, throttled: 0, expired: 0, preempted: 0, waits: [] }));
  const completions = new CompletionQueue();
  const core = new DispatchCore<number>(config, (kind: SchedulerEventKind, ticket: Ticket<number>, now: number) => {
    const tally = tallies[ticket.tier] as TierTally;
    switch (kind) {
      case 'queued':
      case 'cancelled':
        return;
      case 'dispatched':
        tally.dispatched++;
        tally.waits.push(now - ticket.arrivedAt);
        completions.push(now + (serviceMs[ticket.id] as number), ticket);
        return;
      default:
        tally[kind]++;
    }
  });

  const failClosed: Record<string, number> = {};
  const unknownVariant: Record<string, number> = {};
  let failClosedTotal = 0;
  let unknownTotal = 0;
  const origin = requests[0]?.arrivalMs ?? 0;
  let lastEvent = 0;
  let next = 0;
  while (next < requests.length || completions.size > 0) {
    const arrivalAt = next < requests.length ? (requests[next] as SimRequest<A>).arrivalMs - origin : Number.POSITIVE_INFINITY;
    const now = Math.min(arrivalAt, completions.nextTime);
    while (completions.size > 0 && completions.nextTime === now) {
      // false when the request was preempted meanwhile: its slot was freed then
      core.complete(completions.pop(), now);
    }
    while (next < requests.length && (requests[next] as SimRequest<A>).arrivalMs - origin === now) {
      const index = next++;
      const request = requests[index] as SimRequest<A>;
      const assignment = options.assign(request);
      if ('failClosed' in assignment) {
        failClosed[assignment.failClosed] = (failClosed[assignment.failClosed] ?? 0) + 1;
        failClosedTotal++;
        continue;
      }
      const variant = core.variantIndex(request.modelId);
      if (variant === undefined) {
        unknownVariant[request.modelId] = (unknownVariant[request.modelId] ?? 0) + 1;
        unknownTotal++;
        continue;
      }
      (tallies[assignment.tier] as TierTally).arrived++;
      const deadline = request.deadlineMs ?? options.defaultDeadlineMs;
      core.submit(
        {
          id: index,
          variant,
          tier: assignment.tier,
          account: request.accountId,
          preemptable: assignment.preemptable,
          ...(deadline === undefined ? {} : { deadline: now + deadline }),
        },
        now,
      );
    }
    core.pump(now);
    lastEvent = now;
  }

  const durationMs = lastEvent;
  return {
    requests: requests.length,
    scheduled: requests.length - failClosedTotal - unknownTotal,
    failClosed: { total: failClosedTotal, byReason: failClosed },
    unknownVariant: { total: unknownTotal, byModel: unknownVariant },
    durationMs,
    tiers: options.tiers.map((t, i) => {
      const { waits, ...counts } = tallies[i] as TierTally;
      return {
        tier: t.name,
        weight: t.weight,
        ...counts,
        waitMs: percentiles(waits),
        throughputPerSec: durationMs > 0 ? (counts.completed * 1000) / durationMs : 0,
      };
    }),
  };
}

/** Nearest-rank percentiles of exact values (deterministic, no binning). */
export function percentiles(values: number[]): WaitPercentiles | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] as number };
}

interface Completion {
  readonly time: number;
  readonly seq: number;
  readonly ticket: Ticket<number>;
}

/** Pending completions (a binary min-heap), earliest first; equal times in dispatch order. */
class CompletionQueue {
  private readonly heap: Completion[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  get nextTime(): number {
    return this.heap[0]?.time ?? Number.POSITIVE_INFINITY;
  }

  push(time: number, ticket: Ticket<number>): void {
    const entry: Completion = { time, seq: this.seq++, ticket };
    const heap = this.heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Completion;
      if (!earlier(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  pop(): Ticket<number> {
    const heap = this.heap;
    const top = heap[0] as Completion;
    const last = heap.pop() as Completion;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && earlier(heap[l + 1] as Completion, heap[l] as Completion) ? l + 1 : l;
        const child = heap[c] as Completion;
        if (!earlier(child, last)) break;
        heap[i] = child;
        i = c;
      }
      heap[i] = last;
    }
    return top.ticket;
  }
}

function earlier(a: Completion, b: Completion): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
