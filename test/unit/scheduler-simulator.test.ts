import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, PACKAGE_ROOT } from '../../src/config/index.js';
import { parseCapacity, parseLog, percentiles, schedulerConfigFor, simulate, type Capacity, type SimRequest, type TierAssignment } from '../../src/scheduler/index.js';
import { exponentialMs } from '../../src/scheduler/simulate/random.js';
import { configIssues } from '../support/config-issues.js';

const fixtures = join(PACKAGE_ROOT, 'test', 'fixtures', 'scheduler');
const tiers = [
  { name: 'HIGH', weight: 3 },
  { name: 'LOW', weight: 1 },
];

function request(id: number, arrivalMs: number, extra: Partial<SimRequest<{ tier: number }>> = {}): SimRequest<{ tier: number }> {
  return { requestId: `r${id}`, arrivalMs, accountId: 'acct', modelId: 'm', serviceTimeMs: 100, attributes: { tier: id % 2 }, ...extra };
}

/** A tier report with every count zero and no waits, for spreading the figures a test expects over. */
function idle(tier: string, weight: number) {
  return { tier, weight, arrived: 0, dispatched: 0, completed: 0, shed: 0, throttled: 0, expired: 0, preempted: 0, waitMs: null, throughputPerSec: 0 };
}
const only = [{ name: 'ONLY', weight: 1 }];
const allTierZero = (): TierAssignment => ({ tier: 0, preemptable: false });

const byTier = (r: SimRequest<{ tier: number }>): TierAssignment => ({ tier: r.attributes.tier, preemptable: false });
const oneSlot: Capacity = { variants: { m: { concurrency: 1, queueBound: 100 } } };

describe('capacity file', () => {
  it('reports schema problems with file and pointer', () => {
    const issues = configIssues(() =>
      parseCapacity({ variants: { m: { concurrency: 0, queueBound: 1, extra: true } }, accounts: { a: { rate: -1, burst: 1 } } }, 'cap.json'),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'cap.json', pointer: '/variants/m/concurrency' }),
        expect.objectContaining({ file: 'cap.json', pointer: '/variants/m', message: 'unknown property "extra"' }),
        expect.objectContaining({ file: 'cap.json', pointer: '/accounts/a/rate' }),
      ]),
    );
  });

  it('rejects reserved units above the concurrency, pointing at them', () => {
    expect(() => parseCapacity({ variants: { 'a/b': { concurrency: 2, queueBound: 1, reserved: { x: 2, y: 1 } } } }, 'cap.json')).toThrow(
      'cap.json#/variants/a~1b/reserved: reserved units (3) exceed concurrency (2)',
    );
    expect(() => parseCapacity({ variants: {}, defaultVariant: { concurrency: 1, queueBound: 1, reserved: { x: 2 } } }, 'c.json')).toThrow('/defaultVariant/reserved');
  });

  it('builds a core config for the models a log uses, falling back to defaultVariant', () => {
    const capacity = parseCapacity(readJsonFile(join(fixtures, 'capacity.json')), 'capacity.json');
    const config = schedulerConfigFor(capacity, [2, 1], ['model-large', 'unknown', 'model-large']);
    expect(config.variants.map((v) => v.id)).toEqual(['model-large']);
    expect(config.variants[0]).toMatchObject({ concurrency: 4, qosPreemption: true, reserved: { 'acct-prov': 2 } });
    expect(config.fairQueuingByAccount).toBe(true);
    const withDefault = schedulerConfigFor({ ...capacity, defaultVariant: { concurrency: 3, queueBound: 5 }, defaultAccount: { rate: 1, burst: 1 } }, [1], ['x']);
    expect(withDefault.variants).toEqual([{ id: 'x', concurrency: 3, queueBound: 5, qosPreemption: false, reserved: {} }]);
    expect(withDefault.defaultAccountRate).toEqual({ rate: 1, burst: 1 });
  });
});

describe('request log', () => {
  it('parses records and quarantines unusable lines with their line numbers', () => {
    const text = [
      JSON.stringify({ requestId: 'a', timestamp: '2026-01-01T00:00:00.500Z', accountId: 'x', modelId: 'm', region: 'r', classification: 'ON_DEMAND', serviceTimeMs: 20 }),
      '',
      '[1]',
      JSON.stringify({ requestId: 'b', timestamp: 1_767_225_601_000, accountId: 'x', modelId: 'm', region: 'r', classification: 'FLEX', serviceTier: 'FLEX', deadlineMs: 50 }),
      JSON.stringify({ requestId: 'c', timestamp: '2026-01-01 00:00:00', accountId: 'x', modelId: 'm', region: 'r', classification: 'FLEX' }),
      JSON.stringify({ requestId: 'd', timestamp: 1, accountId: 'x', modelId: 'm', region: 'r', classification: 'FLEX', serviceTimeMs: -1 }),
      JSON.stringify({ requestId: 'e', timestamp: 1, accountId: 'x', modelId: '', region: 'r', classification: 'FLEX' }),
      JSON.stringify({ requestId: 'f', timestamp: 1, accountId: 'x', modelId: 'm', region: 'r', classification: 'FLEX', serviceTier: 3 }),
      '{oops',
    ].join('\n');
    const { requests, quarantined } = parseLog(text);
    expect(requests.map((r) => [r.requestId, r.arrivalMs, r.serviceTimeMs, r.deadlineMs])).toEqual([
      ['a', 1_767_225_600_500, 20, undefined],
      ['b', 1_767_225_601_000, undefined, 50],
    ]);
    expect(requests[1]?.attributes).toEqual({ classification: 'FLEX', serviceTier: 'FLEX', requestType: null, modelId: 'm', region: 'r', accountId: 'x' });
    expect(quarantined).toEqual([
      { line: 3, reason: 'not a JSON object' },
      { line: 5, reason: 'field "timestamp" must be ISO-8601 with a zone or epoch milliseconds' },
      { line: 6, reason: 'field "serviceTimeMs" must be a number >= 0' },
      { line: 7, reason: 'field "modelId" must be a non-empty string' },
      { line: 8, reason: 'field "serviceTier" must be a string or null' },
      { line: 9, reason: 'not valid JSON' },
    ]);
  });
});

describe('simulator', () => {
  it('replays arrivals in virtual time and reports per-tier waits', () => {
    // one slot, 100 ms each: r0 (HIGH) runs at 0 and r1 (LOW) waits; r2 (HIGH) arrives after
    // HIGH has had its turn, so LOW's pass is the smaller one and r1 runs next (no banked credit)
    const report = simulate({ requests: [request(0, 1000), request(1, 1000), request(2, 1010)], assign: byTier, capacity: oneSlot, tiers, seed: 1, meanServiceMs: 50 });
    expect(report.requests).toBe(3);
    expect(report.scheduled).toBe(3);
    expect(report.durationMs).toBe(300);
    const [high, low] = report.tiers;
    expect(high).toMatchObject({ tier: 'HIGH', arrived: 2, dispatched: 2, completed: 2, waitMs: { p50: 0, p95: 190, p99: 190, max: 190 } });
    expect(low).toMatchObject({ tier: 'LOW', arrived: 1, completed: 1, waitMs: { p50: 100, p99: 100 } });
    expect(high?.throughputPerSec).toBeCloseTo(2000 / 300);
  });

  it('counts fail-closed requests and unknown variants instead of dropping them', () => {
    const report = simulate({
      requests: [request(0, 0), request(1, 0, { modelId: 'elsewhere' }), request(2, 5, { requestId: 'nope' })],
      assign: (r) => (r.requestId === 'nope' ? { failClosed: 'UNKNOWN_VALUE' } : byTier(r)),
      capacity: oneSlot,
      tiers,
      seed: 1,
      meanServiceMs: 10,
    });
    expect(report.failClosed).toEqual({ total: 1, byReason: { UNKNOWN_VALUE: 1 } });
    expect(report.unknownVariant).toEqual({ total: 1, byModel: { elsewhere: 1 } });
    expect(report.scheduled).toBe(1);
    expect(report.tiers.reduce((n, t) => n + t.arrived, 0)).toBe(1);
  });

  it('sheds, expires and preempts in virtual time', () => {
    const capacity: Capacity = { variants: { m: { concurrency: 1, queueBound: 1, qosPreemption: true, reserved: { owner: 1 } } } };
    const requests = [
      request(1, 0, { accountId: 'borrower', serviceTimeMs: 500 }), // LOW, preemptable, runs at once
      request(3, 10, { accountId: 'other' }), // LOW, waits
      request(5, 20, { accountId: 'other' }), // LOW, queue full: shed
      request(0, 30, { accountId: 'owner' }), // HIGH: evicts r3, then reclaims the slot from r1
      request(7, 40, { accountId: 'other', deadlineMs: 5 }), // LOW: expires
    ];
    const report = simulate({ requests, assign: (r) => ({ tier: r.attributes.tier, preemptable: true }), capacity, tiers, seed: 1, meanServiceMs: 10 });
    const [high, low] = report.tiers;
    expect(low).toMatchObject({ arrived: 4, shed: 2, preempted: 1, expired: 1, completed: 0 });
    expect(high).toMatchObject({ arrived: 1, completed: 1, waitMs: { p50: 0 } });
  });

  it('is deterministic for a seed and draws service times from it', () => {
    const requests = Array.from({ length: 200 }, (_, i) => request(i, i * 3, { serviceTimeMs: undefined } as Partial<SimRequest<{ tier: number }>>)).map(({ serviceTimeMs: _s, ...r }) => r);
    const run = (seed: number) => simulate({ requests, assign: byTier, capacity: oneSlot, tiers, seed, meanServiceMs: 5 });
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('replays the fixture log deterministically under a real-shaped capacity', () => {
    const { requests, quarantined } = parseLog(readFileSync(join(fixtures, 'requests.ndjson'), 'utf8'));
    expect(quarantined).toHaveLength(2);
    const capacity = parseCapacity(readJsonFile(join(fixtures, 'capacity.json')), 'capacity.json');
    const assign = (r: SimRequest<{ classification: string }>): TierAssignment => (r.attributes.classification === 'MYSTERY' ? { failClosed: 'UNKNOWN_VALUE' } : { tier: r.attributes.classification.length % 2, preemptable: true });
    const a = simulate({ requests, assign, capacity, tiers, seed: 3, meanServiceMs: 200 });
    expect(a).toEqual(simulate({ requests, assign, capacity, tiers, seed: 3, meanServiceMs: 200 }));
    const ended = a.tiers.reduce((n, t) => n + t.completed + t.shed + t.throttled + t.expired + t.preempted, 0);
    expect(ended).toBe(a.scheduled);
    expect(a.scheduled + a.failClosed.total + a.unknownVariant.total).toBe(requests.length);
  });

  it('sorts the log by arrival, stably, and measures time from the first arrival', () => {
    // given out of order: c last in time but first in the log; a and b share a timestamp, a first
    const requests = [
      request(3, 5020, { requestId: 'c', serviceTimeMs: 10 }),
      request(1, 5000, { requestId: 'a', serviceTimeMs: 100 }),
      request(2, 5000, { requestId: 'b', serviceTimeMs: 300 }),
    ];
    const report = simulate({ requests, assign: allTierZero, capacity: oneSlot, tiers: only, seed: 1, meanServiceMs: 50 });
    // a runs 0-100, b 100-400 (wait 100), c 400-410 (wait 380); b first would give waits 0, 300, 380
    expect(report).toEqual({
      requests: 3,
      scheduled: 3,
      failClosed: { total: 0, byReason: {} },
      unknownVariant: { total: 0, byModel: {} },
      durationMs: 410,
      // toEqual also proves no other tally (queued) leaks into the report
      tiers: [{ ...idle('ONLY', 1), arrived: 3, dispatched: 3, completed: 3, waitMs: { p50: 100, p95: 380, p99: 380, max: 380 }, throughputPerSec: 3000 / 410 }],
    });
  });

  it('reports an empty log as zero everywhere, not as NaN throughput', () => {
    const report = simulate({ requests: [], assign: byTier, capacity: oneSlot, tiers, seed: 1, meanServiceMs: 50 });
    expect(report).toEqual({
      requests: 0,
      scheduled: 0,
      failClosed: { total: 0, byReason: {} },
      unknownVariant: { total: 0, byModel: {} },
      durationMs: 0,
      tiers: [idle('HIGH', 3), idle('LOW', 1)],
    });
  });

  it('sets deadlines relative to arrival, the request\'s own before the default', () => {
    const requests = [
      request(1, 0, { requestId: 'a', serviceTimeMs: 100 }), // runs 0-100
      request(2, 50, { requestId: 'b', serviceTimeMs: 10, deadlineMs: 60 }), // due 110: runs 100-110
      request(3, 60, { requestId: 'c', serviceTimeMs: 10, deadlineMs: 40 }), // due 100: expires as the slot frees
      request(4, 70, { requestId: 'd', serviceTimeMs: 10 }), // default 45, due 115: runs 110-120
    ];
    const report = simulate({ requests, assign: allTierZero, capacity: oneSlot, tiers: only, seed: 1, meanServiceMs: 50, defaultDeadlineMs: 45 });
    expect(report.durationMs).toBe(120);
    expect(report.tiers).toEqual([
      { ...idle('ONLY', 1), arrived: 4, dispatched: 3, completed: 3, expired: 1, waitMs: { p50: 40, p95: 50, p99: 50, max: 50 }, throughputPerSec: 3000 / 120 },
    ]);
  });

  it('completes requests in time order however their completions interleave', () => {
    // Two models, one per tier, everything arriving at 0 and served first come first served:
    // each queued request takes the model's earliest free slot. The completion times are pushed
    // far out of order (400, 300, 200, 100 first), which only an earliest-first queue replays in
    // order. Model a (4 slots) starts its requests at 0, 0, 0, 0, 100, 200, 250, 300, 310, 350,
    // 400, 430 and is done at 900; model b (2 slots) at 0, 0, 120, 180, 220, 260, done at 490.
    const run = (a: number[], b: number[]) => {
      const requests = [...a.map((serviceTimeMs, i) => request(i, 0, { modelId: 'a', serviceTimeMs })), ...b.map((serviceTimeMs, i) => request(i, 0, { modelId: 'b', serviceTimeMs }))];
      const capacity: Capacity = { variants: { a: { concurrency: 4, queueBound: 20 }, b: { concurrency: 2, queueBound: 20 } } };
      const report = simulate({ requests, assign: (r) => ({ tier: r.modelId === 'a' ? 0 : 1, preemptable: false }), capacity, tiers, seed: 1, meanServiceMs: 50 });
      return { durationMs: report.durationMs, tiers: report.tiers.map((t) => [t.completed, t.waitMs]) };
    };
    expect(run([400, 300, 200, 100, 250, 50, 350, 10, 150, 80, 500, 30], [220, 120, 60, 310, 40, 90])).toEqual({
      durationMs: 900,
      tiers: [
        [12, { p50: 200, p95: 430, p99: 430, max: 430 }],
        [6, { p50: 120, p95: 260, p99: 260, max: 260 }],
      ],
    });
    // a starts at 0, 0, 0, 0, 110, 160, 320, 350 (done at 690); b at 0, 0, 120, 460, 510, 840 (done
    // at 850). Here a completion left below a later one in the queue would free b's slot late.
    expect(run([350, 390, 110, 320, 50, 300, 370, 230], [460, 120, 390, 380, 340, 10])).toEqual({
      durationMs: 850,
      tiers: [
        [8, { p50: 0, p95: 350, p99: 350, max: 350 }],
        [6, { p50: 120, p95: 840, p99: 840, max: 840 }],
      ],
    });
  });

  it('draws exponential service times by inverse transform, at least 1 ms', () => {
    // -mean * ln(1 - u): u = 0.5 gives mean * ln 2
    expect(exponentialMs(() => 0.5, 100)).toBe(69);
    expect(exponentialMs(() => 0.9, 10)).toBe(23);
    expect(exponentialMs(() => 0, 100)).toBe(1);
  });

  it('computes nearest-rank percentiles', () => {
    expect(percentiles([])).toBeNull();
    expect(percentiles([5, 1, 3, 2, 4])).toEqual({ p50: 3, p95: 5, p99: 5, max: 5 });
    expect(percentiles(Array.from({ length: 100 }, (_, i) => i + 1))).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 });
  });
});
