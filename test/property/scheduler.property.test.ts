/**
 * Model-based properties of the dispatch core. Random configurations and random command
 * sequences (submit, pump, complete, cancel, advance time) run against the core and against a
 * deliberately simple reference model (scheduler-model.ts); after every command both must have
 * made the same decisions, and the core's trace must satisfy the invariants below.
 *
 * Fairness bound (stated in docs/scheduler.md): over any run of weighted dispatches on one
 * variant during which tiers i and j both stay backlogged, the dispatch counts satisfy
 *   | n_i / w_i − n_j / w_j |  ≤  1 / w_i + 1 / w_j.
 * No starvation: while tier i stays backlogged, at most Σ_{j≠i} (⌊w_j / w_i⌋ + 1) weighted
 * dispatches of other tiers happen before its next one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DispatchCore, type SchedulerConfig, type SchedulerEventKind, type Ticket } from '../../src/scheduler/core/index.js';
import { ReferenceModel } from './scheduler-model.js';

const ACCOUNTS = ['a', 'b', 'c'] as const;
/** Mutation runs (scripts/mutate.mjs) repeat this suite once per mutant: fewer cases each. */
const runs = (n: number) => (process.env.PRIO_MUTATION ? Math.ceil(n / 2) : n);

/**
 * The core specialises its paths once per configuration: one FIFO per tier or per-account flows
 * (fair queuing), plain weighted settling or reclaiming (variants with reserved units), and a
 * backlog bitmask or a scan (more than 31 tiers). Each layout below pins those choices, so every
 * path is exercised in every run rather than by chance.
 */
interface Layout {
  readonly name: string;
  readonly fair: boolean | 'either';
  /** none: no variant has reserved units; all: every variant has some; mixed: either, per variant. */
  readonly reserved: 'none' | 'all' | 'mixed';
  /** More tiers than the backlog bitmask holds. */
  readonly wide?: boolean;
}

const LAYOUTS: readonly Layout[] = [
  { name: 'one FIFO per tier, no reserved units', fair: false, reserved: 'none' },
  { name: 'fair queuing, no reserved units', fair: true, reserved: 'none' },
  { name: 'one FIFO per tier, reserved units everywhere', fair: false, reserved: 'all' },
  { name: 'fair queuing, reserved units everywhere', fair: true, reserved: 'all' },
  { name: 'reserved units on some variants', fair: 'either', reserved: 'mixed' },
  { name: 'more tiers than the backlog bitmask holds', fair: 'either', reserved: 'mixed', wide: true },
];

const configArb = (layout: Layout): fc.Arbitrary<SchedulerConfig> =>
  fc
    .record({
      tierWeights: layout.wide
        ? fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 32, maxLength: 36 })
        : fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
      variants: fc.array(
        fc.record({
          concurrency: fc.integer({ min: 1, max: 3 }),
          queueBound: fc.integer({ min: 1, max: 6 }),
          qosPreemption: fc.boolean(),
          reserves: layout.reserved === 'mixed' ? fc.boolean() : fc.constant(layout.reserved === 'all'),
          reservedA: fc.integer({ min: 1, max: 2 }),
          reservedB: fc.integer({ min: 0, max: 1 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      throttleC: fc.option(fc.record({ rate: fc.integer({ min: 0, max: 40 }), burst: fc.integer({ min: 1, max: 3 }) }), { nil: undefined }),
      fair: layout.fair === 'either' ? fc.boolean() : fc.constant(layout.fair),
    })
    .map(({ tierWeights, variants, throttleC, fair }) => ({
      tierWeights,
      variants: variants.map((v, i) => {
        const limits = { id: `v${i}`, concurrency: v.concurrency, queueBound: v.queueBound, qosPreemption: v.qosPreemption };
        if (!v.reserves) return limits;
        const a = Math.min(v.reservedA, v.concurrency);
        const b = Math.min(v.reservedB, v.concurrency - a);
        return { ...limits, reserved: { a, b } };
      }),
      ...(throttleC === undefined ? {} : { accountRates: { c: throttleC } }),
      fairQueuingByAccount: fair,
    }));

type Command =
  | { readonly op: 'submit'; readonly variant: number; readonly tier: number; readonly account: string; readonly preemptable: boolean; readonly ttl: number | null }
  | { readonly op: 'pump' }
  | { readonly op: 'complete'; readonly pick: number }
  | { readonly op: 'cancel'; readonly pick: number }
  | { readonly op: 'advance'; readonly ms: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('submit' as const), variant: fc.nat(5), tier: fc.nat(39), account: fc.constantFrom(...ACCOUNTS), preemptable: fc.boolean(), ttl: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }) }) },
  { weight: 4, arbitrary: fc.constant({ op: 'pump' as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('complete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 40 }) }) },
);

interface Harness {
  readonly core: DispatchCore<number>;
  readonly tickets: Ticket<number>[];
  readonly events: (readonly [SchedulerEventKind, number, number])[];
  readonly violations: string[];
  /** Weighted dispatches per variant: the tier, and each tier's backlog epoch just before (−1 = empty). */
  readonly weighted: { tier: number; epochs: number[] }[][];
}

/** Runs the core with a listener that checks the invariants that must hold at each transition. */
function harness(config: SchedulerConfig): Harness {
  const tiers = config.tierWeights.length;
  const epochs = config.variants.map(() => new Array<number>(tiers).fill(0));
  const h: Harness = { core: undefined as unknown as DispatchCore<number>, tickets: [], events: [], violations: [], weighted: config.variants.map(() => []) };
  const core: DispatchCore<number> = new DispatchCore<number>(config, (kind, t, now) => {
    h.events.push([kind, t.id, t.variant]);
    const v = t.variant;
    if (core.inflight(v) > config.variants[v]!.concurrency) h.violations.push(`in-flight above the limit on v${v}`);
    if (kind === 'queued' && core.queued(v, t.tier) === 1) epochs[v]![t.tier]!++;
    if (kind === 'shed' && t.shedReason === 'evicted') {
      for (let lower = t.tier + 1; lower < tiers; lower++) {
        if (core.queued(v, lower) > 0) h.violations.push(`evicted tier ${t.tier} while tier ${lower} was queued`);
      }
    }
    if (kind === 'dispatched') {
      if (t.deadline <= now) h.violations.push(`dispatched request ${t.id} after its deadline`);
      if (t.reservedDispatch) return;
      // the next free slot belongs to an owed owner: a weighted dispatch while one is owed is a violation
      for (const account of Object.keys(config.variants[v]!.reserved ?? {})) {
        const r = core.reservedInUse(v, account);
        if (r !== undefined && r.queued > 0 && r.inflight < r.units) h.violations.push(`weighted dispatch on v${v} while ${account} was owed its reserved units`);
      }
      h.weighted[v]!.push({ tier: t.tier, epochs: epochs[v]!.map((e, i) => (i === t.tier || core.queued(v, i) > 0 ? e : -1)) });
    }
  });
  return Object.assign(h, { core });
}

/** Invariants of a settled core (right after a pump). */
function checkSettled(h: Harness, config: SchedulerConfig): void {
  config.variants.forEach((limits, v) => {
    const { core } = h;
    if (core.queued(v) > 0 && core.inflight(v) < limits.concurrency) h.violations.push(`work conservation: idle slot on v${v} while requests wait`);
    if (!limits.qosPreemption) return;
    const owed = Object.keys(limits.reserved ?? {}).some((a) => {
      const r = core.reservedInUse(v, a);
      return r !== undefined && r.queued > 0 && r.inflight < r.units;
    });
    if (!owed) return;
    const borrowerRunning = h.tickets.some((t) => {
      if (t.variant !== v || t.state !== 'running' || !t.preemptable) return false;
      const r = core.reservedInUse(v, t.account);
      return r === undefined || r.inflight > r.units;
    });
    if (borrowerRunning) h.violations.push(`reserved units on v${v} not reclaimed while a preemptable borrower runs`);
  });
}

function byVariant(events: readonly (readonly [SchedulerEventKind, number, number])[], variants: number): string[][] {
  const out: string[][] = Array.from({ length: variants }, () => []);
  for (const [kind, id, v] of events) out[v]!.push(`${kind}:${id}`);
  return out;
}

function checkFairness(h: Harness, weights: readonly number[]): void {
  for (const trace of h.weighted) {
    const n = trace.length;
    for (let a = 0; a < n; a++) {
      const counts = new Array<number>(weights.length).fill(0);
      for (let b = a; b < n; b++) {
        counts[trace[b]!.tier]!++;
        for (let i = 0; i < weights.length; i++) {
          for (let j = i + 1; j < weights.length; j++) {
            const both = (k: number) => trace[k]!.epochs[i]! >= 0 && trace[k]!.epochs[j]! >= 0;
            if (!both(a) || !both(b) || trace[a]!.epochs[i] !== trace[b]!.epochs[i] || trace[a]!.epochs[j] !== trace[b]!.epochs[j]) continue;
            const wi = weights[i]!;
            const wj = weights[j]!;
            const gap = Math.abs(counts[i]! / wi - counts[j]! / wj);
            if (gap > 1 / wi + 1 / wj + 1e-9) h.violations.push(`fairness: tiers ${i},${j} got ${counts[i]},${counts[j]} over dispatches ${a}..${b}`);
          }
        }
      }
    }
    // no starvation: others' dispatches while tier i waits in one backlog epoch
    for (let i = 0; i < weights.length; i++) {
      const allowed = weights.reduce((sum, w, j) => (j === i ? sum : sum + Math.floor(w / weights[i]!) + 1), 0);
      let waiting = 0;
      let epoch = -1;
      for (const d of trace) {
        const e = d.epochs[i]!;
        if (e !== epoch) waiting = 0;
        epoch = e;
        if (e < 0) continue;
        if (d.tier === i) waiting = 0;
        else if (++waiting > allowed) h.violations.push(`starvation: tier ${i} waited ${waiting} dispatches (bound ${allowed})`);
      }
    }
  }
}

/** Applies one command to core and model; returns false when it does not apply to this config. */
function apply(cmd: Command, h: Harness, model: ReferenceModel, config: SchedulerConfig, clock: { now: number }): void {
  const { core, tickets } = h;
  switch (cmd.op) {
    case 'submit': {
      const variant = cmd.variant % config.variants.length;
      const tier = cmd.tier % config.tierWeights.length;
      const id = tickets.length;
      const deadline = cmd.ttl === null ? Number.POSITIVE_INFINITY : clock.now + cmd.ttl;
      tickets.push(core.submit({ id, variant, tier, account: cmd.account, preemptable: cmd.preemptable, ...(cmd.ttl === null ? {} : { deadline }) }, clock.now));
      model.submit(id, variant, tier, cmd.account, cmd.preemptable, deadline, clock.now);
      return;
    }
    case 'pump':
      core.pump(clock.now);
      model.pump(clock.now);
      checkSettled(h, config);
      return;
    case 'complete': {
      const running = tickets.filter((t) => t.state === 'running');
      const t = running[cmd.pick % Math.max(1, running.length)];
      if (t === undefined) return;
      core.complete(t, clock.now);
      model.complete(t.id);
      return;
    }
    case 'cancel': {
      const live = tickets.filter((t) => t.state === 'running' || t.state === 'queued');
      const t = live[cmd.pick % Math.max(1, live.length)];
      if (t === undefined) return;
      core.cancel(t, clock.now);
      model.cancel(t.id);
      return;
    }
    case 'advance':
      clock.now += cmd.ms;
      return;
  }
}

/** Completes everything running, pumps, repeats, until nothing waits or runs. */
function drain(h: Harness, model: ReferenceModel, config: SchedulerConfig, clock: { now: number }): void {
  for (let guard = 0; guard < 10_000; guard++) {
    clock.now += 1;
    for (const t of h.tickets.filter((x) => x.state === 'running')) {
      h.core.complete(t, clock.now);
      model.complete(t.id);
    }
    h.core.pump(clock.now);
    model.pump(clock.now);
    checkSettled(h, config);
    if (!h.tickets.some((t) => t.state === 'running' || t.state === 'queued')) return;
  }
  throw new Error('drain did not finish');
}

const TERMINAL = new Set<SchedulerEventKind>(['completed', 'shed', 'throttled', 'expired', 'preempted', 'cancelled']);
const LEGAL_PATHS = /^((queued dispatched (completed|preempted|cancelled))|(queued (shed|expired|cancelled))|throttled|shed|expired)$/;

describe('scheduler core against the reference model', () => {
  it.each(LAYOUTS)('makes the same decisions as the model and keeps every invariant: $name', (layout) => {
    fc.assert(
      fc.property(configArb(layout), fc.array(commandArb, { minLength: 10, maxLength: 120, size: 'max' }), (config, commands) => {
        const h = harness(config);
        const model = new ReferenceModel(config);
        const clock = { now: 0 };
        for (const cmd of commands) {
          const before = h.events.length;
          const modelBefore = model.events.length;
          apply(cmd, h, model, config, clock);
          expect(byVariant(h.events.slice(before), config.variants.length)).toEqual(byVariant(model.events.slice(modelBefore), config.variants.length));
        }
        drain(h, model, config, clock);
        expect(h.tickets.map((t) => [t.state, t.reservedDispatch])).toEqual(model.requests.map((r) => [r.state, r.reservedDispatch]));
        expect(h.violations).toEqual([]);

        // conservation: one legal path to exactly one terminal state per request, none lost
        const paths = new Map<number, SchedulerEventKind[]>();
        for (const [kind, id] of h.events) paths.set(id, [...(paths.get(id) ?? []), kind]);
        expect(paths.size).toBe(h.tickets.length);
        for (const [id, path] of paths) {
          expect(path.filter((k) => TERMINAL.has(k)), `request ${id}`).toHaveLength(1);
          expect(path.join(' '), `request ${id}`).toMatch(LEGAL_PATHS);
        }
        const counted = [...TERMINAL].reduce((sum, k) => sum + h.core.counters[k], 0);
        expect(counted).toBe(h.tickets.length);

        // FIFO within an account inside a tier (always), and within a tier without fair queuing or reservations
        const dispatchOrder = h.events.filter(([k]) => k === 'dispatched').map(([, id]) => h.tickets[id]!);
        const fifo = (key: (t: Ticket<number>) => string) => {
          const last = new Map<string, number>();
          for (const t of dispatchOrder) {
            const k = key(t);
            expect(t.seq, `FIFO in ${k}`).toBeGreaterThan(last.get(k) ?? -1);
            last.set(k, t.seq);
          }
        };
        fifo((t) => `${t.variant}/${t.tier}/${t.account}`);
        const reservations = config.variants.some((v) => Object.values(v.reserved ?? {}).some((u) => u > 0));
        if (!config.fairQueuingByAccount && !reservations) fifo((t) => `${t.variant}/${t.tier}`);
      }),
      { numRuns: runs(layout.wide ? 40 : 80) },
    );
  });

  it('keeps weighted fairness and no-starvation bounds while tiers stay backlogged', () => {
    const backlogged = fc.record({
      tierWeights: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 2, maxLength: 7 }),
      concurrency: fc.integer({ min: 1, max: 4 }),
      fair: fc.boolean(),
      // bursts of arrivals interleaved with completions keep tiers backlogged, with gaps
      steps: fc.array(fc.record({ arrivals: fc.array(fc.record({ tier: fc.nat(6), account: fc.constantFrom(...ACCOUNTS) }), { maxLength: 8 }), completions: fc.nat(4) }), { minLength: 5, maxLength: 40, size: 'max' }),
    });
    fc.assert(
      fc.property(backlogged, ({ tierWeights, concurrency, fair, steps }) => {
        const config: SchedulerConfig = { tierWeights, variants: [{ id: 'v', concurrency, queueBound: 1000, qosPreemption: false }], fairQueuingByAccount: fair };
        const h = harness(config);
        let now = 0;
        for (const step of steps) {
          now++;
          for (const a of step.arrivals) h.tickets.push(h.core.submit({ id: h.tickets.length, variant: 0, tier: a.tier % tierWeights.length, account: a.account }, now));
          const running = h.tickets.filter((t) => t.state === 'running');
          for (const t of running.slice(0, step.completions)) h.core.complete(t, now);
          h.core.pump(now);
        }
        while (h.tickets.some((t) => t.state === 'running')) {
          now++;
          for (const t of h.tickets.filter((x) => x.state === 'running')) h.core.complete(t, now);
          h.core.pump(now);
        }
        checkFairness(h, tierWeights);
        expect(h.violations).toEqual([]);
        expect(h.tickets.every((t) => t.state === 'completed')).toBe(true);
      }),
      { numRuns: runs(150) },
    );
  });

  it('decides identically for identical inputs (determinism)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LAYOUTS).chain(configArb), fc.array(commandArb, { maxLength: 60 }), (config, commands) => {
        const run = () => {
          const h = harness(config);
          const model = new ReferenceModel(config);
          const clock = { now: 0 };
          for (const cmd of commands) apply(cmd, h, model, config, clock);
          drain(h, model, config, clock);
          return h.events;
        };
        expect(run()).toEqual(run());
      }),
      { numRuns: runs(100) },
    );
  });
});
