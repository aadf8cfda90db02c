import { describe, expect, it } from 'vitest';
import { DispatchCore, stridesFor, type SchedulerConfig, type SchedulerEventKind, type Ticket } from '../../src/scheduler/core/index.js';

type Event = [SchedulerEventKind, string, number];

function setup(config: Partial<SchedulerConfig> & Pick<SchedulerConfig, 'variants'>) {
  const events: Event[] = [];
  const core = new DispatchCore<string>({ tierWeights: [3, 2, 1], ...config }, (kind, t, now) => events.push([kind, t.id, now]));
  const dispatched = () => events.filter(([k]) => k === 'dispatched').map(([, id]) => id);
  return { core, events, dispatched };
}

const oneVariant = (over: Partial<SchedulerConfig['variants'][number]> = {}) => [{ id: 'm', concurrency: 1, queueBound: 100, qosPreemption: false, ...over }];

/** Pumps and completes whatever runs until nothing is left, one time step per round. */
function runOneByOne(core: DispatchCore<string>, tickets: readonly Ticket<string>[]): void {
  for (let now = 0; core.pump(now) > 0 || tickets.some((t) => t.state === 'running'); now++) {
    for (const t of tickets) if (t.state === 'running') core.complete(t, now);
  }
}

describe('DispatchCore', () => {
  it('dispatches only while in-flight is below the variant limit; completion frees the slot', () => {
    const { core, dispatched } = setup({ variants: oneVariant({ concurrency: 2 }) });
    const tickets = ['a', 'b', 'c'].map((id) => core.submit({ id, variant: 0, tier: 0, account: 'x' }, 0));
    expect(core.pump(0)).toBe(2);
    expect(core.inflight(0)).toBe(2);
    expect(dispatched()).toEqual(['a', 'b']);
    expect(core.complete(tickets[0] as Ticket<string>, 5)).toBe(true);
    expect(core.complete(tickets[0] as Ticket<string>, 5)).toBe(false);
    core.pump(5);
    expect(dispatched()).toEqual(['a', 'b', 'c']);
    expect(tickets[0]?.state).toBe('completed');
    expect(tickets[2]?.state).toBe('running');
    expect(tickets[2]?.dispatchedAt).toBe(5);
  });

  it('interleaves backlogged tiers by weight (3:2:1) and keeps FIFO inside a tier', () => {
    const { core, dispatched } = setup({ variants: oneVariant() });
    const tickets: Ticket<string>[] = [];
    for (let i = 0; i < 4; i++) for (let t = 0; t < 3; t++) tickets.push(core.submit({ id: `t${t}-${i}`, variant: 0, tier: t, account: 'x' }, 0));
    runOneByOne(core, tickets);
    // strides 2, 3, 6: every six dispatches while all are backlogged hold 3, 2 and 1 of each tier
    expect(dispatched().slice(0, 6)).toEqual(['t0-0', 't1-0', 't2-0', 't0-1', 't1-1', 't0-2']);
    expect(dispatched()).toHaveLength(12);
    for (let t = 0; t < 3; t++) {
      const ofTier = dispatched().filter((id) => id.startsWith(`t${t}`));
      expect(ofTier).toEqual([0, 1, 2, 3].map((i) => `t${t}-${i}`));
    }
  });

  it('round-robins accounts inside a tier when fair queuing is on', () => {
    const { core, dispatched } = setup({ variants: oneVariant(), fairQueuingByAccount: true });
    const all = [...['a1', 'a2', 'a3'].map((id) => ({ id, account: 'a' })), { id: 'b1', account: 'b' }, { id: 'b2', account: 'b' }];
    runOneByOne(core, all.map((r) => core.submit({ ...r, variant: 0, tier: 1 }, 0)));
    expect(dispatched()).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
  });

  it('throttles an account over its token bucket at once, with a retry-after', () => {
    const { core } = setup({ variants: oneVariant(), accountRates: { slow: { rate: 2, burst: 2 } } });
    const t1 = core.submit({ id: '1', variant: 0, tier: 0, account: 'slow' }, 0);
    const t2 = core.submit({ id: '2', variant: 0, tier: 0, account: 'slow' }, 0);
    const t3 = core.submit({ id: '3', variant: 0, tier: 0, account: 'slow' }, 100);
    expect([t1.state, t2.state, t3.state]).toEqual(['queued', 'queued', 'throttled']);
    // 2 tokens/s: after 100 ms the bucket holds 0.2, so the next token is 400 ms away
    expect(t3.retryAfter).toBe(400);
    expect(core.submit({ id: '4', variant: 0, tier: 0, account: 'slow' }, 500).state).toBe('queued');
    expect(core.submit({ id: '5', variant: 0, tier: 0, account: 'other' }, 500).state).toBe('queued');
  });

  it('applies the default bucket to unlisted accounts', () => {
    const { core } = setup({ variants: oneVariant(), defaultAccountRate: { rate: 0, burst: 1 } });
    expect(core.submit({ id: '1', variant: 0, tier: 0, account: 'z' }, 0).state).toBe('queued');
    const t = core.submit({ id: '2', variant: 0, tier: 0, account: 'z' }, 10_000);
    expect(t.state).toBe('throttled');
    expect(t.retryAfter).toBe(Number.POSITIVE_INFINITY);
  });

  it('sheds the lowest-tier, newest request when a higher tier arrives at a full queue', () => {
    const { core } = setup({ variants: oneVariant({ queueBound: 3 }) });
    const mid = core.submit({ id: 'mid', variant: 0, tier: 1, account: 'x' }, 0);
    const lowOld = core.submit({ id: 'low-old', variant: 0, tier: 2, account: 'x' }, 0);
    const lowNew = core.submit({ id: 'low-new', variant: 0, tier: 2, account: 'y' }, 1);
    const top = core.submit({ id: 'top', variant: 0, tier: 0, account: 'x' }, 2);
    expect(top.state).toBe('queued');
    expect(lowNew.state).toBe('shed');
    expect(lowNew.shedReason).toBe('evicted');
    // the outcome details belong to their own outcome only
    expect([lowNew.retryAfter, lowNew.reservedDispatch, top.shedReason, top.retryAfter]).toEqual([0, false, undefined, 0]);
    expect(lowOld.state).toBe('queued');
    expect(mid.state).toBe('queued');
    // an arrival no higher than everything queued is itself rejected
    const another = core.submit({ id: 'low-2', variant: 0, tier: 2, account: 'x' }, 3);
    expect(another.state).toBe('shed');
    expect(another.shedReason).toBe('queue-full');
    expect(core.queued(0)).toBe(3);
  });

  it('expires a queued request at its deadline instead of dispatching it', () => {
    const { core, events } = setup({ variants: oneVariant() });
    const running = core.submit({ id: 'r', variant: 0, tier: 0, account: 'x' }, 0);
    core.pump(0);
    const waiting = core.submit({ id: 'w', variant: 0, tier: 0, account: 'x', deadline: 50 }, 1);
    const late = core.submit({ id: 'late', variant: 0, tier: 0, account: 'x', deadline: 1 }, 1);
    expect(late.state).toBe('expired');
    core.complete(running, 60);
    core.pump(60);
    expect(waiting.state).toBe('expired');
    expect(waiting.endedAt).toBe(60);
    expect(events.filter(([k]) => k === 'dispatched')).toHaveLength(1);
    expect(core.expireOverdue(1000)).toBe(0);
  });

  /** Two variants of one slot each, both slots taken, so whatever is submitted next waits. */
  const twoBusyVariants = () => {
    const { core } = setup({ variants: [...oneVariant(), { id: 'n', concurrency: 1, queueBound: 9, qosPreemption: false }] });
    core.submit({ id: 'a', variant: 0, tier: 0, account: 'x' }, 0);
    core.submit({ id: 'b', variant: 1, tier: 0, account: 'x' }, 0);
    core.pump(0);
    return core;
  };

  it('pump expires an idle variant\'s overdue request by the earliest deadline of all variants', () => {
    const core = twoBusyVariants();
    const early = core.submit({ id: 'early', variant: 0, tier: 0, account: 'x', deadline: 10 }, 0);
    const late = core.submit({ id: 'late', variant: 1, tier: 0, account: 'x', deadline: 20 }, 0);
    core.pump(0);
    expect(core.expireOverdue(5)).toBe(0); // recomputes the earliest deadline: 10, on variant 0
    core.pump(15); // no variant has new work; the earliest deadline alone brings the sweep
    expect([early.state, late.state]).toEqual(['expired', 'queued']);
  });

  it('expireOverdue sweeps every variant', () => {
    const core = twoBusyVariants();
    const w1 = core.submit({ id: 'w1', variant: 0, tier: 0, account: 'x', deadline: 10 }, 0);
    const w2 = core.submit({ id: 'w2', variant: 1, tier: 2, account: 'x', deadline: 20 }, 0);
    expect(core.expireOverdue(15)).toBe(1);
    expect(core.expireOverdue(20)).toBe(1);
    expect([w1.state, w2.state]).toEqual(['expired', 'expired']);
  });

  it('lends idle reserved units to others and gives the next free slot back to the owner', () => {
    const { core } = setup({ variants: oneVariant({ concurrency: 2, reserved: { owner: 1 } }) });
    const b1 = core.submit({ id: 'b1', variant: 0, tier: 2, account: 'other' }, 0);
    const b2 = core.submit({ id: 'b2', variant: 0, tier: 2, account: 'other' }, 0);
    core.pump(0);
    const b3 = core.submit({ id: 'b3', variant: 0, tier: 0, account: 'other' }, 0);
    // idle reserved unit serves other traffic: both slots are busy with borrowers
    expect([b1.state, b2.state, b3.state]).toEqual(['running', 'running', 'queued']);
    const own = core.submit({ id: 'own', variant: 0, tier: 2, account: 'owner' }, 1);
    core.pump(1);
    expect(own.state).toBe('queued'); // no QoS preemption on this model: wait for one completion
    core.complete(b1, 2);
    expect(core.pump(2)).toBe(1);
    expect(own.state).toBe('running');
    expect(own.reservedDispatch).toBe(true);
    expect([own.retryAfter, own.shedReason, b1.reservedDispatch]).toEqual([0, undefined, false]);
    expect(b3.state).toBe('queued'); // the owner's request jumped the higher-tier borrower
    expect(core.reservedInUse(0, 'owner')).toEqual({ units: 1, inflight: 1, queued: 0 });
  });

  it('reclaims reserved units by preempting the lowest-tier newest preemptable borrower where QoS preemption is supported', () => {
    const { core } = setup({ variants: oneVariant({ concurrency: 3, qosPreemption: true, reserved: { owner: 2 } }) });
    const keep = core.submit({ id: 'keep', variant: 0, tier: 2, account: 'other', preemptable: false }, 0);
    const oldLow = core.submit({ id: 'old-low', variant: 0, tier: 2, account: 'other', preemptable: true }, 0);
    const newMid = core.submit({ id: 'new-mid', variant: 0, tier: 1, account: 'other', preemptable: true }, 0);
    core.pump(0);
    const own1 = core.submit({ id: 'own1', variant: 0, tier: 1, account: 'owner' }, 1);
    const own2 = core.submit({ id: 'own2', variant: 0, tier: 1, account: 'owner' }, 1);
    core.pump(1);
    expect(oldLow.state).toBe('preempted');
    expect(newMid.state).toBe('preempted');
    expect(keep.state).toBe('running');
    expect([own1.state, own2.state]).toEqual(['running', 'running']);
    // the owner at its reservation is never a borrower
    const own3 = core.submit({ id: 'own3', variant: 0, tier: 0, account: 'owner' }, 2);
    core.pump(2);
    expect(own3.state).toBe('queued');
  });

  it('cancels queued and running requests exactly once', () => {
    const { core, events } = setup({ variants: oneVariant() });
    const a = core.submit({ id: 'a', variant: 0, tier: 0, account: 'x' }, 0);
    const b = core.submit({ id: 'b', variant: 0, tier: 1, account: 'x' }, 0);
    core.pump(0);
    expect(core.cancel(b, 1)).toBe(true);
    expect(core.cancel(a, 1)).toBe(true);
    expect(core.cancel(a, 2)).toBe(false);
    expect(core.complete(a, 2)).toBe(false);
    expect(core.pump(2)).toBe(0);
    expect(events.map(([k, id]) => `${k}:${id}`)).toEqual(['queued:a', 'queued:b', 'dispatched:a', 'cancelled:b', 'cancelled:a']);
    expect(core.counters.cancelled).toBe(2);
  });

  it('rejects programmer errors in code-built configs and requests', () => {
    expect(() => new DispatchCore({ tierWeights: [], variants: [] })).toThrow(RangeError);
    expect(() => new DispatchCore({ tierWeights: [0], variants: [] })).toThrow(/positive integer/);
    expect(() => new DispatchCore({ tierWeights: [1], variants: oneVariant({ reserved: { a: 2 } }) })).toThrow(/exceed/);
    expect(() => new DispatchCore({ tierWeights: [1], variants: [...oneVariant(), ...oneVariant()] })).toThrow(/twice/);
    const { core } = setup({ variants: oneVariant() });
    expect(() => core.submit({ id: 'x', variant: 3, tier: 0, account: 'a' }, 0)).toThrow(RangeError);
    expect(() => core.submit({ id: 'x', variant: 0, tier: 3, account: 'a' }, 0)).toThrow(RangeError);
    expect(core.variantIndex('m')).toBe(0);
    expect(core.variantIndex('nope')).toBeUndefined();
  });

  it('computes exact integer strides from the weights', () => {
    expect(stridesFor([40, 25, 15, 10, 5, 3, 2])).toEqual([15, 24, 40, 60, 120, 200, 300]);
  });
});

describe('DispatchCore edges', () => {
  it('names each invalid limit in code-built configs', () => {
    const variant = { id: 'm', concurrency: 1, queueBound: 1, qosPreemption: false };
    const cases: [Partial<SchedulerConfig>, string][] = [
      [{ tierWeights: [1, 2.5] }, 'tier 1: weight must be a positive integer, got 2.5'],
      [{ variants: [{ ...variant, concurrency: 0 }] }, 'variant "m": concurrency must be an integer >= 1'],
      [{ variants: [{ ...variant, concurrency: 1.5 }] }, 'variant "m": concurrency must be an integer >= 1'],
      [{ variants: [{ ...variant, queueBound: 0 }] }, 'variant "m": queueBound must be an integer >= 1'],
      [{ variants: [{ ...variant, queueBound: 2.5 }] }, 'variant "m": queueBound must be an integer >= 1'],
      [{ variants: [{ ...variant, reserved: { a: -1 } }] }, 'variant "m": reserved units of "a" must be an integer >= 0'],
      [{ variants: [{ ...variant, reserved: { a: 0.5 } }] }, 'variant "m": reserved units of "a" must be an integer >= 0'],
      [{ variants: [{ ...variant, concurrency: 2, reserved: { a: 1, b: 2 } }] }, 'variant "m": reserved units (3) exceed concurrency (2)'],
      [{ accountRates: { a: { rate: -1, burst: 1 } } }, 'account "a": rate must be >= 0 and burst >= 1'],
      [{ accountRates: { a: { rate: 1, burst: 0 } } }, 'account "a": rate must be >= 0 and burst >= 1'],
      [{ defaultAccountRate: { rate: Number.NaN, burst: 1 } }, 'account "(default)": rate must be >= 0 and burst >= 1'],
    ];
    for (const [over, message] of cases) {
      expect(() => new DispatchCore({ tierWeights: [1], variants: [variant], ...over })).toThrow(message);
    }
    // the boundaries themselves are valid
    expect(() => new DispatchCore({ tierWeights: [1], variants: [{ ...variant, concurrency: 2, reserved: { a: 2, b: 0 } }], accountRates: { a: { rate: 0, burst: 1 } } })).not.toThrow();
    expect(() => new DispatchCore({ tierWeights: [1], variants: [variant] }).submit({ id: 'x', variant: 0, tier: 0.5, account: 'a' }, 0)).toThrow('tier 0.5 is not in 0..0');
    expect(() => new DispatchCore({ tierWeights: [1], variants: [variant] }).submit({ id: 'x', variant: -1, tier: 0, account: 'a' }, 0)).toThrow('variant -1 is not in 0..0');
  });

  it('falls back to a fixed stride numerator when the weights have a huge least common multiple', () => {
    const weights = [1_000_003, 1_000_033, 999_983];
    expect(stridesFor(weights)).toEqual(weights.map((w) => 2 ** 32 / w));
    expect(stridesFor([4, 6])).toEqual([3, 2]);
    // and scheduling stays weighted with inexact strides
    const core = new DispatchCore<number>({ tierWeights: [3_000_017, 1_000_003], variants: oneVariant() });
    const tickets = Array.from({ length: 8 }, (_, i) => core.submit({ id: i, variant: 0, tier: i % 2, account: 'a' }, 0));
    const order: number[] = [];
    for (let now = 0; core.pump(now) > 0; now++) {
      const running = tickets.find((t) => t.state === 'running') as Ticket<number>;
      order.push(running.tier);
      core.complete(running, now);
    }
    expect(order).toEqual([0, 1, 0, 0, 0, 1, 1, 1]);
  });

  it('caps a refilled bucket at its burst', () => {
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant(), accountRates: { a: { rate: 1000, burst: 2 } } });
    const at = (now: number) => core.submit({ id: String(now), variant: 0, tier: 0, account: 'a' }, now).state;
    expect([at(0), at(0), at(0)]).toEqual(['queued', 'queued', 'throttled']);
    expect([at(10_000), at(10_000), at(10_000)]).toEqual(['queued', 'queued', 'throttled']);
    // 1 token per ms: 0.5 ms later half a token, so 1 ms to wait (rounded up)
    const early = core.submit({ id: 'early', variant: 0, tier: 0, account: 'a' }, 10_000.5);
    expect(early.retryAfter).toBe(1);
    expect([early.reservedDispatch, early.shedReason]).toEqual([false, undefined]);
  });

  it('reports its limits, queues and pending work', () => {
    const { core } = setup({ variants: [...oneVariant({ reserved: { owner: 1 } }), { id: 'n', concurrency: 2, queueBound: 5, qosPreemption: true }] });
    expect(core.variantCount).toBe(2);
    expect(core.variantLimits(1)).toMatchObject({ id: 'n', concurrency: 2 });
    expect(core.hasPendingWork).toBe(false);
    core.submit({ id: 'a', variant: 1, tier: 2, account: 'x' }, 0);
    core.submit({ id: 'b', variant: 1, tier: 2, account: 'x' }, 0);
    expect(core.hasPendingWork).toBe(true);
    expect([core.queued(1), core.queued(1, 2), core.queued(1, 0), core.queued(1, 9)]).toEqual([2, 2, 0, 0]);
    expect(core.pump(0)).toBe(2);
    expect(core.hasPendingWork).toBe(false);
    expect(core.reservedInUse(0, 'owner')).toEqual({ units: 1, inflight: 0, queued: 0 });
    expect(core.reservedInUse(0, 'x')).toBeUndefined();
    expect(core.counters).toEqual({ queued: 2, dispatched: 2, completed: 0, shed: 0, throttled: 0, expired: 0, preempted: 0, cancelled: 0 });
  });

  it('keeps the deadline index proportional to what is queued', () => {
    const core = new DispatchCore<number>({ tierWeights: [1], variants: oneVariant({ concurrency: 200, queueBound: 500 }) });
    for (let i = 0; i < 150; i++) core.submit({ id: i, variant: 0, tier: 0, account: 'a', deadline: 1_000 + i }, 0);
    expect(core.deadlineEntries(0)).toBe(150);
    core.pump(0); // all dispatched: their entries are stale
    expect(core.queued(0)).toBe(0);
    const late = core.submit({ id: 999, variant: 0, tier: 0, account: 'a', deadline: 5_000 }, 1);
    core.pump(1); // nothing expired yet, but the index is rebuilt from what is queued
    expect(late.state).toBe('running');
    expect(core.deadlineEntries(0)).toBeLessThanOrEqual(64);
    // stale entries below 64 linger until their deadline passes
    const small = new DispatchCore<number>({ tierWeights: [1], variants: oneVariant({ concurrency: 10, queueBound: 50 }) });
    for (let i = 0; i < 10; i++) small.submit({ id: i, variant: 0, tier: 0, account: 'a', deadline: 100 }, 0);
    small.pump(0);
    expect(small.deadlineEntries(0)).toBe(10);
    small.pumpVariant(0, 1);
    expect(small.deadlineEntries(0)).toBe(10);
    expect(small.expireOverdue(100)).toBe(0);
    expect(small.deadlineEntries(0)).toBe(0);
  });

  it('expires at exactly the deadline, not before', () => {
    const { core } = setup({ variants: oneVariant() });
    const blocker = core.submit({ id: 'b', variant: 0, tier: 0, account: 'x' }, 0);
    core.pump(0);
    const w = core.submit({ id: 'w', variant: 0, tier: 0, account: 'x', deadline: 10 }, 0);
    core.pump(9);
    expect(w.state).toBe('queued');
    core.pump(10);
    expect(w.state).toBe('expired');
    expect(blocker.state).toBe('running');
  });

  it('counts a tier\'s queued requests across its accounts\' flows under fair queuing', () => {
    const { core } = setup({ variants: oneVariant({ queueBound: 10 }), fairQueuingByAccount: true });
    const tickets = ['a', 'b', 'a', 'c', 'b'].map((account, i) => core.submit({ id: `${account}${i}`, variant: 0, tier: 1, account }, 0));
    core.submit({ id: 'top', variant: 0, tier: 0, account: 'a' }, 0);
    expect([core.queued(0), core.queued(0, 0), core.queued(0, 1), core.queued(0, 2), core.queued(0, -1)]).toEqual([6, 1, 5, 0, 0]);
    core.cancel(tickets[3] as Ticket<string>, 1); // c's only request: its flow leaves the round
    expect(core.queued(0, 1)).toBe(4);
    core.pump(1); // one slot: the higher tier goes first
    expect([core.queued(0, 0), core.queued(0, 1)]).toEqual([0, 4]);
  });

  it('evicts the newest request across accounts of the lowest tier under fair queuing', () => {
    const { core } = setup({ variants: oneVariant({ queueBound: 3 }), fairQueuingByAccount: true });
    const a1 = core.submit({ id: 'a1', variant: 0, tier: 2, account: 'a' }, 0);
    const b1 = core.submit({ id: 'b1', variant: 0, tier: 2, account: 'b' }, 1);
    const a2 = core.submit({ id: 'a2', variant: 0, tier: 2, account: 'a' }, 2);
    core.submit({ id: 'top', variant: 0, tier: 0, account: 'c' }, 3);
    expect([a1.state, b1.state, a2.state]).toEqual(['queued', 'queued', 'shed']);
    core.submit({ id: 'top2', variant: 0, tier: 1, account: 'c' }, 4);
    expect([a1.state, b1.state]).toEqual(['queued', 'shed']);
  });
});

describe('DispatchCore decisions in detail', () => {
  /** Dispatch order with one slot: complete whatever runs after each pump. */
  function drainOrder(core: DispatchCore<string>, tickets: Ticket<string>[], start = 0): string[] {
    const order: string[] = [];
    for (let now = start; core.pump(now) > 0; now++) {
      const running = tickets.filter((t) => t.state === 'running');
      for (const t of running) {
        order.push(t.id);
        core.complete(t, now);
      }
    }
    return order;
  }

  it('does not lower the pass of a tier that is still backlogged when more of it arrives', () => {
    const core = new DispatchCore<string>({ tierWeights: [1, 1], variants: oneVariant() });
    const tickets = [core.submit({ id: 'a1', variant: 0, tier: 0, account: 'x' }, 0), core.submit({ id: 'a2', variant: 0, tier: 0, account: 'x' }, 0), core.submit({ id: 'b1', variant: 0, tier: 1, account: 'x' }, 0)];
    core.pump(0); // a1 runs; tier 0 stays backlogged with a2
    tickets.push(core.submit({ id: 'a3', variant: 0, tier: 0, account: 'x' }, 1));
    core.complete(tickets[0] as Ticket<string>, 1);
    expect(drainOrder(core, tickets, 1)).toEqual(['b1', 'a2', 'a3']);
  });

  it('keeps one FIFO per tier across accounts unless fair queuing is asked for', () => {
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant() });
    const tickets = ['a1', 'a2', 'b1'].map((id) => core.submit({ id, variant: 0, tier: 0, account: id[0] as string }, 0));
    expect(drainOrder(core, tickets)).toEqual(['a1', 'a2', 'b1']);
  });

  it('keeps the turn order when an account that is not next leaves the round', () => {
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant(), fairQueuingByAccount: true });
    const blocker = core.submit({ id: 'blocker', variant: 0, tier: 0, account: 'z' }, 0);
    core.pump(0);
    const tickets = ['a1', 'b1', 'c1', 'a2', 'c2'].map((id) => core.submit({ id, variant: 0, tier: 0, account: id[0] as string }, 1));
    core.cancel(tickets[1] as Ticket<string>, 1); // b leaves; a is still next, then c
    core.complete(blocker, 2);
    expect(drainOrder(core, tickets, 2)).toEqual(['a1', 'c1', 'a2', 'c2']);
  });

  it('preempts the lowest tier first, and within a tier the most recently dispatched', () => {
    const config = (running: [string, number][]) => {
      const core = new DispatchCore<string>({ tierWeights: [1, 1, 1], variants: oneVariant({ concurrency: running.length, qosPreemption: true, reserved: { owner: 1 } }) });
      const tickets = running.map(([id, tier], i) => {
        const t = core.submit({ id, variant: 0, tier, account: 'other', preemptable: true }, i);
        core.pump(i);
        return t;
      });
      core.submit({ id: 'own', variant: 0, tier: 0, account: 'owner' }, 10);
      core.pump(10);
      return tickets.filter((t) => t.state === 'preempted').map((t) => t.id);
    };
    expect(config([['low-old', 2], ['mid-new', 1]])).toEqual(['low-old']);
    expect(config([['mid-old', 1], ['low-new', 2]])).toEqual(['low-new']);
    expect(config([['low-1', 2], ['low-2', 2], ['top', 0]])).toEqual(['low-2']);
  });

  it('does not preempt a request that did not say it may be', () => {
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant({ qosPreemption: true, reserved: { owner: 1 } }) });
    const borrower = core.submit({ id: 'b', variant: 0, tier: 0, account: 'other' }, 0);
    core.pump(0);
    const own = core.submit({ id: 'o', variant: 0, tier: 0, account: 'owner' }, 1);
    core.pump(1);
    expect([borrower.state, borrower.preemptable, own.state]).toEqual(['running', false, 'queued']);
  });

  it('expires on pumpVariant too, and requests with one deadline in arrival order', () => {
    const { core, events } = setup({ variants: oneVariant() });
    const blocker = core.submit({ id: 'b', variant: 0, tier: 0, account: 'x' }, 0);
    core.pumpVariant(0, 0);
    core.submit({ id: 'w1', variant: 0, tier: 1, account: 'x', deadline: 5 }, 1);
    core.submit({ id: 'w2', variant: 0, tier: 0, account: 'x', deadline: 5 }, 2);
    core.submit({ id: 'w0', variant: 0, tier: 0, account: 'x', deadline: 4 }, 3);
    core.complete(blocker, 6);
    expect(core.pumpVariant(0, 6)).toBe(0);
    expect(events.filter(([k]) => k === 'expired').map(([, id]) => id)).toEqual(['w0', 'w1', 'w2']);
  });

  it('indexes only requests that have a deadline', () => {
    const core = new DispatchCore<number>({ tierWeights: [1], variants: oneVariant({ queueBound: 10 }) });
    for (let i = 0; i < 5; i++) core.submit({ id: i, variant: 0, tier: 0, account: 'a' }, 0);
    const never = core.submit({ id: 5, variant: 0, tier: 0, account: 'a', deadline: Number.POSITIVE_INFINITY }, 0);
    expect(core.deadlineEntries(0)).toBe(0);
    expect([never.deadline, never.dispatchedAt, never.endedAt]).toEqual([Number.POSITIVE_INFINITY, Number.NaN, Number.NaN]);
    expect(() => core.submit({ id: 9, variant: 0, tier: -1, account: 'a' }, 0)).toThrow('tier -1 is not in 0..0');
  });
});

describe('DispatchCore reclaiming in detail', () => {
  it('preempts an owner running beyond its own units when another owner is owed', () => {
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant({ concurrency: 2, qosPreemption: true, reserved: { a: 1, b: 1 } }) });
    const [a1, a2] = ['a1', 'a2'].map((id) => core.submit({ id, variant: 0, tier: 0, account: 'a', preemptable: true }, 0)) as [Ticket<string>, Ticket<string>];
    expect(core.pump(0)).toBe(2); // a runs on its own unit and on b's idle one
    const b = core.submit({ id: 'b', variant: 0, tier: 0, account: 'b' }, 1);
    expect(core.pump(1)).toBe(1);
    expect([a1.state, a2.state, b.state]).toEqual(['running', 'preempted', 'running']);
  });

  it('treats zero reserved units as no reservation', () => {
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant({ reserved: { a: 0, b: 1 } }) });
    expect(core.reservedInUse(0, 'a')).toBeUndefined();
    expect(core.reservedInUse(0, 'b')).toEqual({ units: 1, inflight: 0, queued: 0 });
  });

  it('never preempts a request that already ended, whatever order the running list lost its members in', () => {
    const core = new DispatchCore<string>({ tierWeights: [1, 1, 1], variants: oneVariant({ concurrency: 3, qosPreemption: true, reserved: { owner: 1 } }) });
    const borrow = (id: string, tier: number, now: number) => {
      const t = core.submit({ id, variant: 0, tier, account: 'x', preemptable: true }, now);
      core.pump(now);
      return t;
    };
    const [b1, b2, b3] = [borrow('b1', 2, 0), borrow('b2', 0, 0), borrow('b3', 0, 0)];
    // middle, then head, then tail
    core.complete(b2, 1);
    core.complete(b1, 1);
    core.complete(b3, 1);
    const [b4, b5, b6] = [borrow('b4', 0, 2), borrow('b5', 0, 2), borrow('b6', 0, 2)];
    core.submit({ id: 'own', variant: 0, tier: 0, account: 'owner' }, 3);
    core.pump(3);
    expect([b1.state, b2.state, b3.state]).toEqual(['completed', 'completed', 'completed']);
    expect([b4.state, b5.state, b6.state]).toEqual(['running', 'running', 'preempted']);
  });

  it('never preempts an owner running within its own units, even for another owner', () => {
    const core = new DispatchCore<string>({ tierWeights: [1, 1], variants: oneVariant({ concurrency: 2, qosPreemption: true, reserved: { a: 1, b: 1 } }) });
    const a = core.submit({ id: 'a', variant: 0, tier: 1, account: 'a', preemptable: true }, 0);
    const borrower = core.submit({ id: 'x', variant: 0, tier: 0, account: 'x', preemptable: true }, 0);
    core.pump(0);
    const b = core.submit({ id: 'b', variant: 0, tier: 0, account: 'b' }, 1);
    core.pump(1);
    expect([a.state, borrower.state, b.state]).toEqual(['running', 'preempted', 'running']);
  });

  it('still finds the newest borrower after a request in the middle of the running list completes', () => {
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant({ concurrency: 3, qosPreemption: true, reserved: { owner: 2 } }) });
    const [b1, b2, b3] = ['b1', 'b2', 'b3'].map((id, i) => {
      const t = core.submit({ id, variant: 0, tier: 0, account: 'x', preemptable: true }, i);
      core.pump(i);
      return t;
    }) as [Ticket<string>, Ticket<string>, Ticket<string>];
    core.complete(b2, 5);
    const o1 = core.submit({ id: 'o1', variant: 0, tier: 0, account: 'owner' }, 5);
    const o2 = core.submit({ id: 'o2', variant: 0, tier: 0, account: 'owner' }, 5);
    core.pump(5);
    expect([b1.state, b3.state, o1.state, o2.state]).toEqual(['running', 'preempted', 'running', 'running']);
  });

  it('rebuilds the deadline index only past 64 entries and past twice the queue', () => {
    const at64 = new DispatchCore<number>({ tierWeights: [1], variants: oneVariant({ concurrency: 64, queueBound: 500 }) });
    for (let i = 0; i < 64; i++) at64.submit({ id: i, variant: 0, tier: 0, account: 'a', deadline: 1_000 }, 0);
    at64.pump(0); // all 64 run: every entry is stale
    at64.pumpVariant(0, 1);
    expect(at64.deadlineEntries(0)).toBe(64);
    at64.submit({ id: 64, variant: 0, tier: 0, account: 'a', deadline: 1_000 }, 1);
    at64.pumpVariant(0, 1); // 65 entries for 1 queued: rebuilt
    expect(at64.deadlineEntries(0)).toBe(1);

    const twice = new DispatchCore<number>({ tierWeights: [1], variants: oneVariant({ concurrency: 50, queueBound: 500 }) });
    const tickets = Array.from({ length: 100 }, (_, i) => twice.submit({ id: i, variant: 0, tier: 0, account: 'a', deadline: 1_000 }, 0));
    twice.pump(0); // 50 run, 50 wait: 100 entries, exactly twice the queue
    twice.pumpVariant(0, 1);
    expect(twice.deadlineEntries(0)).toBe(100);
    twice.cancel(tickets[99] as Ticket<number>, 1); // 49 wait: now more than twice
    twice.pumpVariant(0, 1);
    expect(twice.deadlineEntries(0)).toBe(49);
  });

  it('keeps queued deadlines when the deadline index is rebuilt', () => {
    const core = new DispatchCore<number>({ tierWeights: [1], variants: oneVariant({ concurrency: 100, queueBound: 500 }) });
    const all = Array.from({ length: 110 }, (_, i) => core.submit({ id: i, variant: 0, tier: 0, account: 'a', deadline: 1_000 }, 0));
    core.pump(0); // 100 run (their entries go stale), 10 wait
    expect(core.deadlineEntries(0)).toBe(110);
    core.pumpVariant(0, 1); // nothing due; the index is rebuilt: over 64 entries and over twice the queue
    expect(core.deadlineEntries(0)).toBe(10);
    expect(core.pumpVariant(0, 1_000)).toBe(0);
    expect(all.filter((t) => t.state === 'expired')).toHaveLength(10);
    expect(() => new DispatchCore({ tierWeights: [], variants: [] })).toThrow('at least one tier weight is required');
  });
});

describe('DispatchCore delivery and selection', () => {
  it('delivers only the kinds the listener asked for, and still counts every kind', () => {
    const heard: [SchedulerEventKind, string][] = [];
    const core = new DispatchCore<string>({ tierWeights: [1], variants: oneVariant({ queueBound: 1 }) }, (kind, t) => heard.push([kind, t.id]), ['dispatched', 'shed']);
    const a = core.submit({ id: 'a', variant: 0, tier: 0, account: 'x' }, 0);
    core.pump(0);
    core.submit({ id: 'b', variant: 0, tier: 0, account: 'x' }, 0);
    core.submit({ id: 'c', variant: 0, tier: 0, account: 'x' }, 0); // queue full: shed
    core.complete(a, 1);
    expect(heard).toEqual([
      ['dispatched', 'a'],
      ['shed', 'c'],
    ]);
    expect(core.counters).toMatchObject({ queued: 2, dispatched: 1, shed: 1, completed: 1 });
  });

  it('copies what it keeps from a request, so one request object can be refilled for the next', () => {
    const core = new DispatchCore<string>({ tierWeights: [1, 1], variants: oneVariant() });
    const request = { id: 'a', variant: 0, tier: 1, account: 'x', preemptable: true, deadline: 50 };
    const a = core.submit(request, 0);
    Object.assign(request, { id: 'b', tier: 0, account: 'y', preemptable: false, deadline: 60 });
    const b = core.submit(request, 1);
    expect([a.id, a.tier, a.account, a.preemptable, a.deadline]).toEqual(['a', 1, 'x', true, 50]);
    expect([b.id, b.tier, b.account, b.preemptable, b.deadline]).toEqual(['b', 0, 'y', false, 60]);
    expect(core.queued(0, 1)).toBe(1);
  });

  it('selects by pass across more tiers than the backlog bitmask holds, ties to the higher tier', () => {
    const tiers = 40;
    const core = new DispatchCore<string>({ tierWeights: Array.from({ length: tiers }, () => 1), variants: oneVariant() });
    // Arrivals lowest tier first: with equal weights and passes, the higher tier must still win.
    const tickets = Array.from({ length: tiers }, (_, k) => core.submit({ id: `t${tiers - 1 - k}`, variant: 0, tier: tiers - 1 - k, account: 'x' }, 0));
    const order: string[] = [];
    for (let now = 0; core.pump(now) > 0; now++) {
      for (const t of tickets) {
        if (t.state === 'running') {
          order.push(t.id);
          core.complete(t, now);
        }
      }
    }
    expect(order).toEqual(Array.from({ length: tiers }, (_, i) => `t${i}`));
    // A tier past the bitmask still takes its weighted turn while a masked tier stays backlogged.
    const mixed = new DispatchCore<string>({ tierWeights: [...Array.from({ length: 34 }, () => 1), 2], variants: oneVariant() });
    const queued = ['a1', 'a2', 'a3'].map((id) => mixed.submit({ id, variant: 0, tier: 0, account: 'x' }, 0));
    queued.push(...['z1', 'z2', 'z3'].map((id) => mixed.submit({ id, variant: 0, tier: 34, account: 'x' }, 0)));
    const mixedOrder: string[] = [];
    for (let now = 0; mixed.pump(now) > 0; now++) {
      for (const t of queued) {
        if (t.state === 'running') {
          mixedOrder.push(t.id);
          mixed.complete(t, now);
        }
      }
    }
    expect(mixedOrder).toEqual(['a1', 'z1', 'z2', 'a2', 'z3', 'a3']);
  });
});
