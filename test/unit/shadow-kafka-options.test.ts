/**
 * What the Kafka side refuses before it ever connects: bad broker lists, contradictory or
 * incomplete windows, checkpoints from another source. (Behaviour against a real broker is in
 * test/integration/shadow-kafka.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { kafkaSource, parseBrokers } from '../../src/shadow/index.js';
import { runCli } from '../support/cli.js';

describe('parseBrokers', () => {
  it('accepts host:port lists, trimming blanks', () => {
    expect(parseBrokers('127.0.0.1:9092')).toEqual(['127.0.0.1:9092']);
    expect(parseBrokers(' a:1 , b.example:65535,')).toEqual(['a:1', 'b.example:65535']);
    expect(parseBrokers('[::1]:9092')).toEqual(['[::1]:9092']);
  });

  it('names the entry it cannot read', () => {
    expect(() => parseBrokers('')).toThrow(/no Kafka broker/);
    expect(() => parseBrokers('localhost')).toThrow(/host:port\): localhost/);
    expect(() => parseBrokers('a:1,b:0')).toThrow(/b:0/);
    expect(() => parseBrokers('a:70000')).toThrow(/a:70000/);
  });

  it('round-trips any list of valid host:port entries', () => {
    const host = fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/);
    const entry = fc.tuple(host, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`);
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 5 }), (entries) => {
        expect(parseBrokers(entries.join(','))).toEqual(entries);
      }),
      { numRuns: 200 },
    );
  });
});

describe('kafkaSource options', () => {
  const brokers = ['127.0.0.1:1'];

  it('refuses a window that ends before it starts, and follow with an end', () => {
    expect(() => kafkaSource({ brokers, topic: 't', window: { from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-03-01T00:00:00Z') } })).toThrow(/ends .* before it starts/);
    expect(() => kafkaSource({ brokers, topic: 't', follow: true, window: { from: 'beginning', to: new Date() } })).toThrow(/follow and an end time/);
  });

  it("refuses a checkpoint of another topic or of a file", () => {
    expect(() => kafkaSource({ brokers, topic: 't', window: { from: 'beginning' }, resumeFrom: { kind: 'kafka', topic: 'u', nextOffsets: {} } })).toThrow(/topic u, not to topic t/);
    expect(() => kafkaSource({ brokers, topic: 't', window: { from: 'beginning' }, resumeFrom: { kind: 'line', file: 'x', nextLine: 3 } })).toThrow(/a line source/);
  });

  it('labels itself with topic, brokers and group', () => {
    expect(kafkaSource({ brokers, topic: 't', group: 'g', window: { from: 'beginning' } }).label).toBe('kafka:t@127.0.0.1:1#g');
  });
});

describe('prio shadow replay: Kafka options', () => {
  const replay = (...args: string[]) => runCli('shadow', 'replay', '--out', 'out/never-written', '--quiet', ...args);

  it('is a usage error (exit 2) to give Kafka options without brokers, or brokers without topic or window start', async () => {
    expect(await replay('--topic', 't', '--from-beginning')).toMatchObject({ code: 2, err: expect.stringMatching(/--topic needs --kafka-brokers/) });
    expect(await replay('--kafka-brokers', 'h:1', '--from-beginning')).toMatchObject({ code: 2, err: expect.stringMatching(/needs --topic/) });
    expect(await replay('--kafka-brokers', 'h:1', '--topic', 't')).toMatchObject({ code: 2, err: expect.stringMatching(/--from-beginning, or --from ISO/) });
    expect(await replay('--kafka-brokers', 'h', '--topic', 't', '--from-beginning')).toMatchObject({ code: 2, err: expect.stringMatching(/host:port/) });
  });

  it('is a usage error to give two starts, a bad time, follow with --to, or a file and a topic', async () => {
    expect((await replay('--kafka-brokers', 'h:1', '--topic', 't', '--from-beginning', '--from', '2026-03-01T00:00:00Z')).code).toBe(2);
    expect(await replay('--kafka-brokers', 'h:1', '--topic', 't', '--from', 'yesterday')).toMatchObject({ code: 2, err: expect.stringMatching(/ISO-8601/) });
    expect(await replay('--kafka-brokers', 'h:1', '--topic', 't', '--from-beginning', '--follow', '--to', '2026-03-01T00:00:00Z')).toMatchObject({ code: 2, err: expect.stringMatching(/follow/) });
    expect(await replay('--file', 'x.ndjson', '--kafka-brokers', 'h:1', '--topic', 't', '--from-beginning')).toMatchObject({ code: 2, err: expect.stringMatching(/one source/) });
  });

  it('produce refuses a bad broker list and an unreadable file with exit 2', async () => {
    expect((await runCli('shadow', 'produce', '--file', 'x.ndjson', '--topic', 't', '--kafka-brokers', 'nope', '--quiet')).code).toBe(2);
    expect((await runCli('shadow', 'produce', '--file', '/nonexistent/x.ndjson', '--topic', 't', '--kafka-brokers', '127.0.0.1:1', '--quiet')).code).toBe(2);
  });
});
