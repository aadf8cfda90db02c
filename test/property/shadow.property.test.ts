import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import recordSchema from '../../shadow/schema/request-record.schema.json' with { type: 'json' };
import {
  aggregateFromJson,
  aggregateToJson,
  checkRecord,
  checkToken,
  createTokenChecker,
  emptyReservoir,
  mergeAggregates,
  mergeReservoirs,
  offer,
  recordTimeMs,
  serializeReport,
  type RequestRecord,
  type ShadowAggregate,
} from '../../src/shadow/index.js';
import { schemaValidator } from '../../src/validation/index.js';
import { aggregateOf, domain, dualReader, generatedLines, legacyReader, legacyWriter, newAggregate, reportOf, T0, v2Writer } from '../fixtures/shadow/harness.js';

const NUM_RUNS = 60;

describe('record schema: hand-written checks agree with the JSON Schema contract', () => {
  const validate = schemaValidator(recordSchema);
  const junk = fc.oneof(fc.constant(null), fc.integer(), fc.double(), fc.boolean(), fc.constant(''), fc.string(), fc.constant([]), fc.constant({}));
  const isoish = fc.oneof(
    fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    // Canonical shape with any two-digit fields: exercises the range checks of the fast path.
    fc
      .tuple(...Array.from({ length: 5 }, () => fc.integer({ min: 0, max: 99 })))
      .map(([mo, d, h, mi, se]) => `2026-${[mo, d].map((n) => String(n).padStart(2, '0')).join('-')}T${[h, mi, se].map((n) => String(n).padStart(2, '0')).join(':')}.123Z`),
    fc.constantFrom('2026-03-02T10:00:00Z', '2026-03-02T10:00:00+02:00', '2026-02-30T10:00:00.5-11:30', '2026-3-02T10:00:00Z', '2026-03-02 10:00:00Z', '2026-03-02T24:00:00Z', '2026-03-02T10:00:00', '2026-13-01T00:00:00Z'),
  );
  const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constant(undefined) });
  const observed = fc.record(
    {
      priority: fc.oneof(fc.integer({ min: -5, max: 160 }), fc.constantFrom('P75', 'P5', 'P1000', 'X9', 'p50'), junk),
      qos: fc.oneof(fc.constantFrom(0, 1, 10, -1, 1.5), junk),
    },
    { requiredKeys: [] },
  );
  const candidateRecord = fc.record({
    requestId: field(fc.string({ minLength: 1 })),
    timestamp: field(fc.oneof(isoish, fc.integer({ min: -10, max: 9_000_000_000_000_000 }), fc.double())),
    accountId: field(fc.string()),
    modelId: field(fc.string({ minLength: 1 })),
    region: field(fc.string({ minLength: 1 })),
    classification: field(fc.constantFrom('ON_DEMAND', 'FLEX', 'MYSTERY')),
    serviceTier: field(fc.constantFrom('DEFAULT', 'GOLD')),
    requestType: field(fc.constantFrom('ON_DEMAND', 'BATCH')),
    sessionToken: field(fc.string()),
    observed: field(observed),
    extra: fc.option(fc.string()),
  });
  const strip = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));

  it('accept and reject exactly the same documents', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: candidateRecord.map(strip) }, { weight: 1, arbitrary: junk }), (doc) => {
        expect(checkRecord(doc) === undefined).toBe(validate(doc, 'x').length === 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('every generated record is valid', () => {
    for (const line of generatedLines(300, 99)) expect(checkRecord(JSON.parse(line))).toBeUndefined();
  });

  it('the fast UTC timestamp decoder agrees with Date.parse', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        const iso = d.toISOString();
        expect(recordTimeMs({ timestamp: iso } as RequestRecord)).toBe(Date.parse(iso));
      }),
      { numRuns: 1000 },
    );
    expect(recordTimeMs({ timestamp: '2026-02-30T00:00:00.000Z' } as RequestRecord)).toBe(Date.parse('2026-02-30T00:00:00.000Z'));
  });
});

describe('aggregates are a monoid, and aggregating is a homomorphism', () => {
  // A pool of records the arbitraries pick from: generated traffic, drift, and bad input.
  const pool = [
    ...generatedLines(160, 31, 0.05),
    '{"broken',
    '{"requestId":"r"}',
    JSON.stringify({ requestId: 'm', timestamp: 0, accountId: 'a', modelId: 'm', region: 'r', classification: 'MYSTERY' }),
  ];
  const lines = fc.array(fc.constantFrom(...pool), { maxLength: 60 });
  const bytes = (agg: ShadowAggregate) => serializeReport(reportOf(agg));
  const agg = (ls: string[]) => aggregateOf(ls, { sampleSize: 6, sampleSeed: 5 }).agg;
  const empty = () => newAggregate(6, 5);

  it('empty is the identity', () => {
    fc.assert(
      fc.property(lines, (ls) => {
        const a = agg(ls);
        expect(bytes(mergeAggregates(empty(), a))).toBe(bytes(a));
        expect(bytes(mergeAggregates(a, empty()))).toBe(bytes(a));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('merge is commutative and associative', () => {
    fc.assert(
      fc.property(lines, lines, lines, (x, y, z) => {
        const [a, b, c] = [agg(x), agg(y), agg(z)];
        expect(bytes(mergeAggregates(a, b))).toBe(bytes(mergeAggregates(b, a)));
        expect(bytes(mergeAggregates(mergeAggregates(a, b), c))).toBe(bytes(mergeAggregates(a, mergeAggregates(b, c))));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('aggregating a log equals merging the aggregates of any split of it (what consumer groups rely on)', () => {
    fc.assert(
      fc.property(lines, fc.nat(), (ls, cut) => {
        const at = ls.length === 0 ? 0 : cut % (ls.length + 1);
        const whole = agg(ls);
        expect(bytes(mergeAggregates(agg(ls.slice(0, at)), agg(ls.slice(at))))).toBe(bytes(whole));
        expect(whole.read).toBe(whole.quarantined + whole.outcomes.reduce((s, n) => s + n, 0));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the JSON form round-trips losslessly', () => {
    fc.assert(
      fc.property(lines, (ls) => {
        const a = agg(ls);
        expect(bytes(aggregateFromJson(JSON.parse(JSON.stringify(aggregateToJson(a)))))).toBe(bytes(a));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('merge never mutates its inputs', () => {
    const a = agg(pool.slice(0, 40));
    const before = bytes(a);
    mergeAggregates(a, agg(pool.slice(40, 80)));
    expect(bytes(a)).toBe(before);
  });
});

describe('bottom-k sample', () => {
  it('sampling a stream equals merging the samples of its parts, in any order', () => {
    const item = fc.record({ rank: fc.integer({ min: 0, max: 50 }), text: fc.string({ maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), fc.nat(), fc.integer({ min: 0, max: 8 }), (items, cut, k) => {
        const fill = (xs: typeof items) => {
          const r = emptyReservoir<string>(k, 1);
          for (const x of xs) offer(r, x.rank, x.text, x.text);
          return r;
        };
        const at = cut % (items.length + 1);
        const whole = fill(items).items.map((i) => [i.rank, i.text]);
        expect(mergeReservoirs(fill(items.slice(0, at)), fill(items.slice(at))).items.map((i) => [i.rank, i.text])).toEqual(whole);
        expect(fill([...items].reverse()).items.map((i) => [i.rank, i.text])).toEqual(whole);
        expect(whole.length).toBe(Math.min(k, items.length));
      }),
      { numRuns: 300 },
    );
  });
});

describe('cached token checker', () => {
  const tier = domain.scale.tiers[2];
  if (tier === undefined) throw new Error('no tier');
  const issue = (v2: boolean, issuedAt: number, ttlMs: number) =>
    (v2 ? v2Writer : legacyWriter).issue({ sessionId: 's', accountId: 'a', classification: 'ON_DEMAND', tier, issuedAt, ttlMs });
  const token = fc.oneof(
    fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 10_000 })).map(([v2, at, ttl]) => issue(v2, T0 + at, ttl)),
    fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 60 })).map(([at, flip]) => {
      const t = issue(false, T0 + at, 5000);
      const i = Math.min(t.length - 1, 10 + flip);
      return `${t.slice(0, i)}${t[i] === 'A' ? 'B' : 'A'}${t.slice(i + 1)}`;
    }),
    fc.string({ maxLength: 20 }),
  );

  it('answers exactly like reading with both readers every time', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(token, fc.integer({ min: -1000, max: 30_000 })), { minLength: 1, maxLength: 30 }), (reads) => {
        const checker = createTokenChecker(legacyReader, dualReader, 8);
        for (const [t, dt] of [...reads, ...reads]) expect(checker(t, T0 + dt)).toEqual(checkToken(legacyReader, dualReader, t, T0 + dt));
      }),
      { numRuns: 150 },
    );
  });
});
