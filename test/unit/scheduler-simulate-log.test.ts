import { describe, expect, it } from 'vitest';
import { parseLog } from '../../src/scheduler/index.js';
import { checkRecord } from '../../src/shadow/index.js';
import { timestampMs } from '../../src/shadow/port.js';

/** A record every rule accepts; tests override one field at a time. */
const base = { requestId: 'a', timestamp: 0, accountId: 'x', modelId: 'm', region: 'r', classification: 'FLEX' };

/** The quarantine reason for one record (as a JSON line), or 'accepted'. */
function verdict(line: string): string {
  const { requests, quarantined } = parseLog(line);
  if (requests.length === 1 && quarantined.length === 0) return 'accepted';
  expect(requests).toHaveLength(0);
  expect(quarantined.map((q) => q.line)).toEqual([1]);
  return (quarantined[0] as { reason: string }).reason;
}

const withField = (field: string, value: unknown) => verdict(JSON.stringify({ ...base, [field]: value }));
/** Epoch milliseconds the parser read from a timestamp, or the reason it refused it. */
function arrival(timestamp: unknown): number | string {
  const { requests, quarantined } = parseLog(JSON.stringify({ ...base, timestamp }));
  return requests[0]?.arrivalMs ?? (quarantined[0] as { reason: string }).reason;
}
const BAD_TIMESTAMP = 'field "timestamp" must be ISO-8601 with a zone or epoch milliseconds';

describe('request log lines', () => {
  it('skips blank and whitespace-only lines and tolerates CRLF endings, keeping line numbers', () => {
    const record = JSON.stringify(base);
    const { requests, quarantined } = parseLog(`${record}\r\n   \r\n\t\r\n${JSON.stringify({ ...base, requestId: 'b' })}\r\n[]\r\n`);
    expect(requests.map((r) => r.requestId)).toEqual(['a', 'b']);
    // line 5 is '[]': the blank lines in between were skipped, not quarantined, yet still counted
    expect(quarantined).toEqual([{ line: 5, reason: 'not a JSON object' }]);
  });

  it('quarantines JSON values that are not objects', () => {
    for (const line of ['42', '"text"', 'true', 'null', '[]', `[${JSON.stringify(base)}]`]) {
      expect(verdict(line), line).toBe('not a JSON object');
    }
  });

  it('requires the identifying fields to be non-empty strings, not merely present', () => {
    expect(withField('requestId', 7)).toBe('field "requestId" must be a non-empty string');
    expect(withField('accountId', null)).toBe('field "accountId" must be a non-empty string');
    expect(withField('region', ['r'])).toBe('field "region" must be a non-empty string');
    expect(withField('classification', '')).toBe('field "classification" must be a non-empty string');
    // absent and wrong are told apart (the shadow replay's validator, shared)
    expect(verdict(JSON.stringify({ ...base, modelId: undefined }))).toBe('missing required field "modelId"');
  });

  it('reads serviceTier and requestType as a string, null or absent, all else quarantined', () => {
    const { requests } = parseLog(JSON.stringify({ ...base, serviceTier: null, requestType: null }));
    expect(requests[0]?.attributes).toEqual({ classification: 'FLEX', serviceTier: null, requestType: null, modelId: 'm', region: 'r', accountId: 'x' });
    expect(withField('requestType', 'STREAM')).toBe('accepted');
    expect(withField('requestType', false)).toBe('field "requestType" must be a string or null');
    expect(withField('serviceTier', {})).toBe('field "serviceTier" must be a string or null');
  });

  it('accepts zero service times and deadlines but not infinite, negative or non-numeric ones', () => {
    const { requests } = parseLog(JSON.stringify({ ...base, serviceTimeMs: 0, deadlineMs: 0 }));
    expect(requests.map((r) => [r.serviceTimeMs, r.deadlineMs])).toEqual([[0, 0]]);
    // 1e999 is valid JSON that parses to Infinity
    expect(verdict(JSON.stringify(base).replace('}', ',"serviceTimeMs":1e999}'))).toBe('field "serviceTimeMs" must be a number >= 0');
    expect(verdict(JSON.stringify(base).replace('}', ',"deadlineMs":1e999}'))).toBe('field "deadlineMs" must be a number >= 0');
    expect(withField('deadlineMs', -1)).toBe('field "deadlineMs" must be a number >= 0');
    expect(withField('deadlineMs', '50')).toBe('field "deadlineMs" must be a number >= 0');
    expect(withField('serviceTimeMs', null)).toBe('field "serviceTimeMs" must be a number >= 0');
  });

  it('leaves serviceTimeMs and deadlineMs out of the request when the record has none', () => {
    const { requests } = parseLog(JSON.stringify(base));
    // absent, not present-and-undefined: the simulator draws a service time only for absent ones
    expect(requests[0]).toStrictEqual({
      requestId: 'a',
      arrivalMs: 0,
      accountId: 'x',
      modelId: 'm',
      attributes: { classification: 'FLEX', serviceTier: null, requestType: null, modelId: 'm', region: 'r', accountId: 'x' },
    });
  });
});

describe('request log timestamps', () => {
  it('takes epoch milliseconds as non-negative integers only', () => {
    expect(arrival(0)).toBe(0);
    expect(arrival(1_767_225_600_000)).toBe(1_767_225_600_000);
    expect(arrival(-1)).toBe(BAD_TIMESTAMP);
    expect(arrival(1.5)).toBe(BAD_TIMESTAMP);
    expect(arrival(-1.5)).toBe(BAD_TIMESTAMP);
  });

  it('takes ISO-8601 with a Z or numeric offset, with or without a fraction', () => {
    expect(arrival('2026-01-01T00:00:00Z')).toBe(1_767_225_600_000);
    expect(arrival('2026-01-01T01:00:00+01:00')).toBe(1_767_225_600_000);
    expect(arrival('2025-12-31T22:30:00.250-01:30')).toBe(1_767_225_600_250);
    expect(arrival('2026-01-01T00:00:00.123456789Z')).toBe(1_767_225_600_123);
  });

  it('refuses timestamps without a zone, in other shapes, or of other JSON types', () => {
    expect(arrival('2026-01-01T00:00:00')).toBe(BAD_TIMESTAMP);
    expect(arrival('2026-01-01T00:00:00+0100')).toBe(BAD_TIMESTAMP); // Date.parse would take it
    expect(arrival('2026-01-01T00:00:00+1:00')).toBe(BAD_TIMESTAMP);
    expect(arrival('2026-01-01T00:00:00+01:0')).toBe(BAD_TIMESTAMP);
    expect(arrival('+002026-01-01T00:00:00Z')).toBe(BAD_TIMESTAMP); // an expanded year, which Date.parse would take
    expect(arrival('2026-01-01T00:00:00.1234567891Z')).toBe(BAD_TIMESTAMP);
    // an array's string form is the ISO text itself, which Date.parse would take
    expect(arrival(['2026-01-01T00:00:00Z'])).toBe(BAD_TIMESTAMP);
    expect(arrival(true)).toBe(BAD_TIMESTAMP);
    expect(arrival(null)).toBe(BAD_TIMESTAMP);
    expect(verdict(JSON.stringify({ ...base, timestamp: undefined }))).toBe('missing required field "timestamp"');
    expect(arrival(8_640_000_000_000_001)).toBe(BAD_TIMESTAMP); // beyond what a Date can hold
  });
});

describe('one validator for the simulator and the shadow replay', () => {
  it('refuses exactly the records the replay refuses, with the same reason', () => {
    const bad: Record<string, unknown>[] = [
      { ...base, requestId: '' },
      { ...base, accountId: undefined },
      { ...base, region: 3 },
      { ...base, timestamp: '2026-13-01T00:00:00Z' },
      { ...base, timestamp: '2026-01-01' },
      { ...base, timestamp: 1.5 },
      { ...base, serviceTier: 1 },
      { ...base, requestType: [] },
      { ...base, sessionToken: '' },
      { ...base, observed: 'P1' },
      { ...base, observed: {} },
      { ...base, observed: { priority: 151 } },
      { ...base, observed: { priority: 'high' } },
      { ...base, observed: { priority: 2, qos: -1 } },
    ];
    for (const record of bad) {
      const reason = checkRecord(record);
      expect(reason, JSON.stringify(record)).toBeDefined();
      expect(verdict(JSON.stringify(record))).toBe(reason);
    }
    const good = [base, { ...base, sessionToken: null, observed: { priority: 'P75', qos: 0 } }, { ...base, timestamp: '2026-01-01T00:00:00.5+05:30' }];
    for (const record of good) {
      expect(checkRecord(record)).toBeUndefined();
      expect(verdict(JSON.stringify(record))).toBe('accepted');
    }
  });

  it('reads the same arrival time the replay reads, ISO or epoch', () => {
    expect(arrival('2026-01-01T00:00:00.123Z')).toBe(1_767_225_600_123); // the replay's fast path
    expect(arrival('2026-01-01T05:30:00.5+05:30')).toBe(1_767_225_600_500); // the Date.parse path
  });
});

describe('timestampMs (the time `shadow produce` stamps on a message)', () => {
  it('reads a timestamp by the record rule, or gives undefined', () => {
    expect(timestampMs('2026-01-01T00:00:00Z')).toBe(1_767_225_600_000);
    expect(timestampMs('2026-01-01T00:00:00.250Z')).toBe(1_767_225_600_250);
    expect(timestampMs(1_767_225_600_000)).toBe(1_767_225_600_000);
    // Date.parse would read all of these; the record rule does not, so neither does produce.
    for (const bad of ['2026-01-01', '2026-01-01T00:00:00', 'Thu, 01 Jan 2026 00:00:00 GMT', 1.5, -1, null, undefined]) {
      expect(timestampMs(bad), String(bad)).toBeUndefined();
    }
  });
});
