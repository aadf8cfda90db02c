import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compileRuleSet } from '../../src/rules/index.js';
import {
  admit,
  buildReport,
  compared,
  createJudge,
  createTokenChecker,
  ingest,
  Quarantined,
  serializeReport,
  type QuarantineEntry,
} from '../../src/shadow/index.js';
import {
  aggregateOf,
  baseline,
  candidate,
  domain,
  dualReader,
  generatedLines,
  legacyReader,
  legacyWriter,
  newAggregate,
  record,
  reportOf,
  RULESETS,
  sourceRecords,
  T0,
  v2Writer,
} from '../fixtures/shadow/harness.js';

const line = (fields: Parameters<typeof record>[0] = {}) => JSON.stringify(record(fields));
const tier = (name: string) => {
  const t = domain.scale.tier(name);
  if (t === undefined) throw new Error(name);
  return t;
};

describe('admit: every bad input becomes a quarantine entry with its reason', () => {
  const at = { kind: 'line', file: 'x.ndjson', line: 3 } as const;
  it.each([
    ['malformed-json', Buffer.from('{"requestId": "r1", ')],
    ['invalid-utf8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ['schema', Buffer.from('{"requestId":"r1"}')],
    ['schema', Buffer.from('[1,2,3]')],
    ['schema', Buffer.from(line({ timestamp: 'yesterday' }))],
    ['schema', Buffer.from(line({ accountId: 42 }))],
    ['null-value', null],
  ] as const)('%s', (reason, value) => {
    const out = admit({ position: at, value });
    expect(out).toBeInstanceOf(Quarantined);
    expect((out as QuarantineEntry).reason).toBe(reason);
    expect((out as QuarantineEntry).position).toEqual(at);
  });

  it('a record above 1 MiB is quarantined as oversized without being parsed', () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
    const out = admit({ position: at, value: big }) as QuarantineEntry;
    expect(out.reason).toBe('oversized');
    expect(out.detail).toMatch(/1048586 bytes/);
  });

  it('source errors keep their words and map onto reasons', () => {
    expect((admit({ position: at, value: null, sourceError: 'oversized record: 2000000 bytes' }) as QuarantineEntry).reason).toBe('oversized');
    expect((admit({ position: at, value: null, sourceError: 'truncated or corrupt gzip stream: unexpected end of file' }) as QuarantineEntry).reason).toBe('truncated-gzip');
    const other = admit({ position: at, value: Buffer.from('x'), sourceError: 'broker sent garbage' }) as QuarantineEntry;
    expect(other.reason).toBe('source-error');
    expect(other.detail).toBe('broker sent garbage');
  });

  it('invalid UTF-8 is excerpted as base64 so the quarantine file stays valid JSON', () => {
    const out = admit({ position: at, value: Buffer.from([0xc3, 0x28, 0x41]) }) as QuarantineEntry;
    expect(out.excerptEncoding).toBe('base64');
    expect(Buffer.from(out.excerpt ?? '', 'base64')).toEqual(Buffer.from([0xc3, 0x28, 0x41]));
  });

  it('a valid record comes back as the parsed object', () => {
    expect(admit({ position: at, value: Buffer.from(line({ requestId: 'ok-1' })) })).toMatchObject({ requestId: 'ok-1' });
  });
});

describe('judging records under the shipped rule sets', () => {
  it('classifies same and changed, with the change broken down', () => {
    const { agg } = aggregateOf([
      line({ requestId: 'same-1' }),
      line({ requestId: 'flex-1', classification: 'FLEX', serviceTier: 'FLEX' }),
      line({ requestId: 'ptv1-1', classification: 'PTV1', serviceTier: 'RESERVED', requestType: 'PROVISIONED' }),
    ]);
    const report = reportOf(agg);
    expect(report.outcomes).toEqual({ same: 1, changed: 2, baselineError: 0, candidateError: 0, bothError: 0 });
    // FLEX: P50 q1 -> P10 q10 preemptable; PTV1: P100 -> P90 within legacy level 0.
    expect(report.changes).toEqual({ priority: 2, upgrades: 0, downgrades: 2, withinLegacyLevel: 1, qos: 1, preemptable: 1 });
    expect(report.downgradesByTier).toEqual({ P100: 1, P50: 1 });
    const idx = (n: string) => report.confusion.labels.indexOf(n);
    expect(report.confusion.matrix[idx('P50')]?.[idx('P10')]).toBe(1);
    expect(report.confusion.matrix[idx('P100')]?.[idx('P90')]).toBe(1);
    expect(report.breakdowns.classification.FLEX).toEqual({ same: 0, changed: 1, baselineError: 0, candidateError: 0, bothError: 0 });
    expect(report.sample.records.map((r) => r.record.requestId).sort()).toEqual(['flex-1', 'ptv1-1']);
  });

  it('fail-closed errors are outcomes, counted per side, code and attribute', () => {
    const { agg } = aggregateOf([line({ classification: 'MYSTERY' }), line({ serviceTier: 'GOLD' })]);
    const report = reportOf(agg);
    expect(report.outcomes.bothError).toBe(2);
    expect(report.failClosed).toEqual({
      'baseline|UNKNOWN_VALUE|classification': 1,
      'baseline|UNKNOWN_VALUE|serviceTier': 1,
      'candidate|UNKNOWN_VALUE|classification': 1,
      'candidate|UNKNOWN_VALUE|serviceTier': 1,
    });
    // Values outside the catalog share one breakdown bucket (bounded memory); the sample keeps the value.
    expect(report.breakdowns.classification).toEqual({
      '(unknown)': { same: 0, changed: 0, baselineError: 0, candidateError: 0, bothError: 1 },
      ON_DEMAND: { same: 0, changed: 0, baselineError: 0, candidateError: 0, bothError: 1 },
    });
    expect(Object.keys(report.breakdowns.serviceTier).sort()).toEqual(['(unknown)', 'DEFAULT']);
    const sampled = report.sample.records.find((r) => r.record.classification === 'MYSTERY')?.record;
    expect(sampled?.candidate).toEqual({ error: 'UNKNOWN_VALUE', attribute: 'classification', value: 'MYSTERY' });
  });

  it('tells candidateError from baselineError', () => {
    const narrow = compileRuleSet(
      {
        name: 'default-only',
        scheme: 'tier',
        mode: 'service-tier',
        rules: [{ id: 'default', precedence: 0, when: { serviceTier: 'DEFAULT' }, then: { tier: 'P50', qos: 1, preemptable: false } }],
      },
      'inline.json',
      domain,
    );
    const lines = sourceRecords([line({ serviceTier: 'FLEX', classification: 'FLEX' }), line()]);
    const forward = newAggregate();
    const backward = newAggregate();
    const j1 = createJudge({ domain, baseline, candidate: narrow });
    const j2 = createJudge({ domain, baseline: narrow, candidate });
    for (const raw of lines) {
      ingest(raw, forward, j1, () => undefined);
      ingest(raw, backward, j2, () => undefined);
    }
    expect(reportOf(forward).outcomes).toMatchObject({ candidateError: 1, same: 1 });
    expect(reportOf(forward).failClosed).toEqual({ 'candidate|NO_MATCHING_RULE|(none)': 1 });
    expect(reportOf(backward).outcomes).toMatchObject({ baselineError: 1, same: 1 });
  });
});

describe('session tokens', () => {
  const session = { sessionId: 's-1', accountId: 'acct-1', classification: 'ON_DEMAND', tier: tier('P50'), issuedAt: T0 - 60_000, ttlMs: 3_600_000 };
  const v1 = legacyWriter.issue(session);

  it('counts valid, invalid by reason (expiry judged at the record time) and reader mismatches', () => {
    const tampered = `${v1.slice(0, -2)}${v1.endsWith('AA') ? 'BA' : 'AA'}`;
    const v2 = v2Writer.issue(session);
    const { agg } = aggregateOf([
      line({ requestId: 'a', sessionToken: v1 }),
      line({ requestId: 'b', sessionToken: v1, timestamp: new Date(T0 + 4_000_000).toISOString() }),
      line({ requestId: 'c', sessionToken: tampered }),
      line({ requestId: 'd', sessionToken: v2 }),
      line({ requestId: 'e' }),
    ]);
    const t = reportOf(agg).tokens;
    expect(t).toMatchObject({ absent: 1, unchecked: 0, checked: 4, valid: 2 });
    expect(t.invalid).toEqual({ BAD_SIGNATURE: 1, EXPIRED: 1 });
    // A legacy build cannot read a v2 token: the migration must switch readers before writers.
    expect(t.mismatch).toEqual({ 'legacyRejects:UNSUPPORTED_VERSION': 1 });
  });

  it('the cached checker answers like the plain readers, including after expiry', () => {
    const checker = createTokenChecker(legacyReader, dualReader);
    const expiresAt = session.issuedAt + session.ttlMs;
    for (const now of [T0, expiresAt - 1, expiresAt, expiresAt + 1, T0]) {
      const d = dualReader.read(v1, now);
      expect(checker(v1, now).valid).toBe(d.ok);
      expect(checker(v1, now).reason).toBe(d.ok ? undefined : d.reason);
    }
  });

  it('without keys, tokens are counted as unchecked rather than silently ignored', () => {
    const agg = newAggregate();
    const judge = createJudge({ domain, baseline, candidate });
    for (const raw of sourceRecords([line({ sessionToken: v1 })])) ingest(raw, agg, judge, () => undefined);
    expect(reportOf(agg).tokens).toMatchObject({ unchecked: 1, checked: 0 });
  });
});

describe('baseline fidelity', () => {
  it('is reproduced when observed matches the baseline, and says so first', () => {
    const report = reportOf(aggregateOf(generatedLines(300, 5)).agg);
    expect(Object.keys(report)[1]).toBe('fidelity');
    expect(report.fidelity).toMatchObject({ status: 'reproduced', rate: 1, checked: 300, matched: 300 });
  });

  it('is not reproduced when production did something else, with the mismatching pairs', () => {
    const { agg } = aggregateOf([
      line({ requestId: 'ok', observed: { priority: 2, qos: 1 } }),
      line({ requestId: 'level', observed: { priority: 0, qos: 1 } }),
      line({ requestId: 'qos', observed: { priority: 2, qos: 10 } }),
      line({ requestId: 'tier-name', observed: { priority: 'P50' } }),
      line({ requestId: 'raw', observed: { priority: 30 } }),
    ]);
    const f = reportOf(agg).fidelity;
    expect(f).toMatchObject({ status: 'not-reproduced', checked: 5, matched: 2, priorityMismatch: 2, qosMismatch: 1 });
    expect(f.mismatches).toEqual({ 'L0>L2': 1, 'P25>P50': 1, 'qos 10>1': 1 });
    expect(f.message).toMatch(/does NOT reproduce production/);
  });

  it('is unchecked when no record carries an observed outcome', () => {
    expect(reportOf(aggregateOf([line()]).agg).fidelity).toMatchObject({ status: 'unchecked', rate: null });
  });

  it('drift in generated logs shows up as not reproduced', () => {
    const f = reportOf(aggregateOf(generatedLines(400, 3, 0.05)).agg).fidelity;
    expect(f.status).toBe('not-reproduced');
    expect(f.matched).toBeLessThan(400);
    expect(f.matched).toBeGreaterThan(340);
  });
});

describe('a log salted with every bad-input class is fully accounted for', () => {
  it('read = compared + quarantined, compared = sum of outcomes, each bad record quarantined with its position', () => {
    const good = generatedLines(50, 11);
    const salted: (string | Uint8Array | null)[] = [
      ...good.slice(0, 10),
      '{"requestId": broken',
      Buffer.from([0x7b, 0xff, 0x7d]),
      '{"requestId":"x","timestamp":"2026-03-02T10:00:00Z"}',
      line({ timestamp: 12.5 }),
      line({ observed: { priority: 999 } }),
      null,
      Buffer.alloc(1024 * 1024 + 1, 0x61),
      gzipSync('not ndjson'),
      ...good.slice(10),
      line({ classification: 'MYSTERY' }),
    ];
    const { agg, quarantine } = aggregateOf(salted);
    const report = reportOf(agg);
    expect(report.totals.read).toBe(salted.length);
    expect(report.totals.read).toBe(report.totals.compared + report.totals.quarantined);
    expect(report.totals.compared).toBe(Object.values(report.outcomes).reduce((a, b) => a + b, 0));
    expect(report.totals.compared).toBe(51);
    expect(report.quarantine.byReason).toEqual({ 'invalid-utf8': 2, 'malformed-json': 1, 'null-value': 1, oversized: 1, schema: 3 });
    expect(quarantine.map((q) => q.position.kind === 'line' && q.position.line)).toEqual([11, 12, 13, 14, 15, 16, 17, 18]);
    expect(compared(agg)).toBe(51);
  });
});

describe('report determinism', () => {
  it('the same input gives byte-identical report.json whatever the wall clock', () => {
    const lines = generatedLines(400, 9);
    const a = buildReport(aggregateOf(lines).agg, { rulesets: RULESETS });
    const b = buildReport(aggregateOf(lines).agg, { rulesets: RULESETS });
    expect(serializeReport(a)).toBe(serializeReport(b));
  });

  it('record order does not change the report (merge-friendly sample and sorted keys)', () => {
    const lines = generatedLines(300, 4);
    const forward = serializeReport(reportOf(aggregateOf(lines).agg));
    const backward = serializeReport(reportOf(aggregateOf([...lines].reverse()).agg));
    expect(backward).toBe(forward);
  });

  it('the sample is bounded and seeded', () => {
    const lines = generatedLines(500, 2);
    const small = reportOf(aggregateOf(lines, { sampleSize: 5, sampleSeed: 1 }).agg).sample;
    const other = reportOf(aggregateOf(lines, { sampleSize: 5, sampleSeed: 2 }).agg).sample;
    expect(small.records).toHaveLength(5);
    expect(small.records.map((r) => r.record.requestId)).not.toEqual(other.records.map((r) => r.record.requestId));
  });
});
