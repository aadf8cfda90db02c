import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMix } from '../../src/load/index.js';
import { fileRequestLog, fromDecisionBody, fromHeaders, modelOfBody, serviceTimeSampler } from '../../src/service/index.js';
import { checkRecord } from '../../src/shadow/index.js';
import { runCli } from '../support/cli.js';

describe('wire: request attributes', () => {
  it('reads the gateway headers, the model from an OpenAI-style body when no header names it, and the default region', () => {
    const body = Buffer.from(JSON.stringify({ model: 'from-body', messages: [] }));
    const wire = fromHeaders({ 'x-prio-account': 'a1', 'x-prio-classification': 'PTV1', 'x-prio-service-tier': 'RESERVED', 'x-prio-session-token': 't' }, modelOfBody(body, 'application/json'), 'eu-1');
    expect(wire).toEqual({ request: { accountId: 'a1', classification: 'PTV1', modelId: 'from-body', region: 'eu-1', serviceTier: 'RESERVED', requestType: null }, sessionToken: 't', sessionId: undefined, requestId: undefined });
    const header = fromHeaders({ 'x-prio-account': 'a1', 'x-prio-classification': 'PTV1', 'x-prio-model': 'from-header', 'x-prio-region': 'us-2' }, 'from-body', 'eu-1');
    expect(header).toMatchObject({ request: { modelId: 'from-header', region: 'us-2' } });
  });

  it('names what is missing', () => {
    expect(fromHeaders({ 'x-prio-classification': 'PTV1' }, 'm', 'r')).toEqual({ message: 'missing header x-prio-account' });
    expect(fromHeaders({ 'x-prio-account': 'a' }, 'm', 'r')).toEqual({ message: 'missing header x-prio-classification' });
    expect(fromHeaders({ 'x-prio-account': 'a', 'x-prio-classification': 'PTV1' }, undefined, 'r')).toMatchObject({ message: expect.stringContaining('no model') });
    expect(modelOfBody(Buffer.from('{"model":"m"}'), 'text/plain')).toBeUndefined();
    expect(modelOfBody(Buffer.from('not json'), 'application/json')).toBeUndefined();
  });

  it('finds the body model as JSON.parse would, for any JSON object, and none in a body broken around its keys', () => {
    /** What the gateway read before the body was scanned: the whole body parsed. */
    const parsed = (text: string): string | undefined => {
      const doc = JSON.parse(text) as unknown;
      const m = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as { model?: unknown }).model : undefined;
      return typeof m === 'string' && m !== '' ? m : undefined;
    };
    const model = fc.oneof(fc.string(), fc.constant('model-a'), fc.jsonValue());
    const doc = fc.tuple(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }), fc.option(model, { nil: undefined }), fc.boolean(), fc.constantFrom(undefined, 2, '\t'));
    fc.assert(
      fc.property(doc, ([rest, m, first, space]) => {
        const obj = m === undefined ? rest : first ? { model: m, ...rest } : { ...rest, model: m };
        const text = JSON.stringify(obj, null, space);
        expect(modelOfBody(Buffer.from(text), 'application/json')).toBe(parsed(text));
      }),
      { numRuns: 500 },
    );
    expect(modelOfBody(Buffer.from('{"mod\\u0065l":"escaped-key","a":[1,{"model":"nested"}]}'), 'application/json')).toBe('escaped-key');
    expect(modelOfBody(Buffer.from('{"model":"first","model":"last"}'), 'application/json')).toBe('last');
    expect(modelOfBody(Buffer.from('{"model":"m\\u00e9"}'), 'application/json')).toBe('m\u00e9');
    for (const broken of ['{"model":"m"', '{"model" "m"}', '{"model":"m",}', '{"model":"m"} x', '["model","m"]', '{"a":[1,2}, "model":"m"}', '{"a":"\n", "model":"m"}', '{model:"m"}']) {
      expect(modelOfBody(Buffer.from(broken), 'application/json'), broken).toBeUndefined();
    }
  });

  it('reads a decision body and refuses what is not one', () => {
    expect(fromDecisionBody(Buffer.from('{"accountId":"a","classification":"BATCH","modelId":"m","requestType":"BATCH"}'), 'r')).toMatchObject({ request: { accountId: 'a', requestType: 'BATCH', serviceTier: null, region: 'r' } });
    expect(fromDecisionBody(Buffer.from('[1]'), 'r')).toEqual({ message: 'body must be a JSON object' });
    expect(fromDecisionBody(Buffer.from('{'), 'r')).toEqual({ message: 'body is not JSON' });
    expect(fromDecisionBody(Buffer.from('{"accountId":"a","classification":"X"}'), 'r')).toEqual({ message: 'missing field "modelId"' });
    expect(fromDecisionBody(Buffer.from('{"accountId":7,"classification":"X","modelId":"m"}'), 'r')).toEqual({ message: 'field "accountId" must be a string' });
  });
});

describe('load mixes and service times', () => {
  it('parses NAME:WEIGHT lists, none as no value, and names a bad entry', () => {
    expect(parseMix('A:3,B')).toEqual([
      { value: 'A', weight: 3 },
      { value: 'B', weight: 1 },
    ]);
    expect(parseMix('none:2,X', true)).toEqual([
      { value: null, weight: 2 },
      { value: 'X', weight: 1 },
    ]);
    expect(() => parseMix('A:0')).toThrow('bad mix entry "A:0"');
    expect(() => parseMix(' , ')).toThrow('empty mix');
  });

  it('draws service times from the distribution asked for', () => {
    expect(serviceTimeSampler('fixed', 20)()).toBe(20);
    expect(serviceTimeSampler('exponential', 0)()).toBe(0);
    const uniform = serviceTimeSampler('uniform', 10, 3);
    const draws = Array.from({ length: 1000 }, uniform);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(20);
    const exp = serviceTimeSampler('exponential', 10, 3);
    const mean = Array.from({ length: 20_000 }, exp).reduce((a, b) => a + b, 0) / 20_000;
    expect(mean).toBeGreaterThan(9);
    expect(mean).toBeLessThan(11);
  });
});

describe('NDJSON request log', () => {
  it('writes valid request records, counts them, and counts a failing file as dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prio-reqlog-'));
    try {
      const counts = { written: 0, dropped: 0 };
      const log = fileRequestLog({ file: join(dir, 'log.ndjson'), onCount: (e, n) => (counts[e] += n) });
      const record = { requestId: 'r1', timestamp: '2026-01-01T00:00:00.000Z', accountId: 'a', modelId: 'm', region: 'r', classification: 'PTV1', observed: { priority: 0, qos: 0 } };
      log.write(record);
      log.write({ ...record, requestId: 'r2' });
      await log.close();
      const lines = readFileSync(join(dir, 'log.ndjson'), 'utf8').trim().split('\n');
      expect(lines.map((l) => checkRecord(JSON.parse(l)))).toEqual([undefined, undefined]);
      expect(counts).toEqual({ written: 2, dropped: 0 });

      const errors: string[] = [];
      const broken = fileRequestLog({ file: join(dir, 'missing-dir', 'log.ndjson'), onCount: (e, n) => (counts[e] += n), onError: (m) => errors.push(m) });
      await new Promise((r) => setTimeout(r, 50));
      broken.write(record);
      await broken.close();
      expect(counts.dropped).toBe(1);
      expect(errors[0]).toContain('missing-dir');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CLI usage errors', () => {
  it('prio serve and prio load refuse bad options with exit 2 and one line', async () => {
    const both = await runCli('serve', '--dev-keys', '--request-log', 'x.ndjson', '--request-log-kafka', '127.0.0.1:9092');
    expect(both.code).toBe(2);
    expect(both.err).toBe('error: give --request-log or --request-log-kafka, not both\n');
    const capacity = await runCli('serve', '--dev-keys', '--capacity', '/nonexistent/capacity.json');
    expect(capacity.code).toBe(2);
    expect(capacity.err).toMatch(/^error: \/nonexistent\/capacity.json: cannot read/);
    const halfAppConfig = await runCli('serve', '--dev-keys', '--appconfig-app', 'a');
    expect(halfAppConfig.err).toBe('error: give --appconfig-app and --appconfig-env together\n');
    const badPair = await runCli('serve', '--dev-keys', '--appconfig', 'app-only');
    expect(badPair.err).toBe('error: --appconfig takes APPLICATION/ENVIRONMENT, got "app-only"\n');
    const badProfiles = await runCli('serve', '--dev-keys', '--appconfig-app', 'a', '--appconfig-env', 'e', '--appconfig-profiles', 'rules=r');
    expect(badProfiles.code).toBe(2);
    expect(badProfiles.err).toBe('error: --appconfig-profiles must name the rules and flags profiles\n');
    const noBound = await runCli('load', '--target', 'http://127.0.0.1:1');
    expect(noBound.code).toBe(2);
    expect(noBound.err).toBe('error: give --duration, --requests, or both\n');
    const badMix = await runCli('load', '--target', 'http://127.0.0.1:1', '--requests', '1', '--classifications', 'A:x');
    expect(badMix.err).toContain('bad mix entry "A:x"');
    const down = await runCli('load', '--target', 'http://127.0.0.1:1', '--requests', '1');
    expect(down.code).toBe(2);
    expect(down.err).toMatch(/^error: target http:\/\/127.0.0.1:1 is not available: /);
  });
});
