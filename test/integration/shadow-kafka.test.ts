/**
 * Kafka end to end against the real broker the test setup starts: the source and producer
 * (bounded windows, time windows, consumer groups, untouched bad values, checkpoints), the
 * replay's reports through Kafka (same as through the file; a consumer group plus merge the
 * same as one process; every bad Kafka input quarantined with partition and offset), and a
 * broker that goes away mid-replay. All Kafka tests live in this one file on purpose: vitest
 * runs files in parallel, and the restart test takes the shared broker down, so it must run
 * after the others (tests within a file run in order).
 */
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { kafkaSource, type KafkaSourceOptions } from '../../src/shadow/sources/kafka.js';
import { FetchConnection, FetchedRecordReader, type FetchedPartition } from '../../src/shadow/sources/kafka-fetch.js';
import { produceLog } from '../../src/shadow/sources/kafka-produce.js';
import { SourceInterruptedError, type Checkpoint, type SourceRecord } from '../../src/shadow/source.js';
import { CONTROL_ENV, readControlFile, sharedBroker } from '../support/kafka/shared.js';
import { runCli } from '../support/cli.js';
import { compileJavaProducer, type JavaProducer, type ProduceLinesOptions } from '../support/kafka/java-producer.js';
import { keyringFor, DEFAULT_BASELINE, DEFAULT_CANDIDATE, DEFAULT_GATE } from '../../src/cli/shadow.js';
import { aggregateToJson, CHECKPOINT_FORMAT, createProgress, emptyAggregate, judgeParts, readCheckpoint, readJudgeSpec, runReplay, type RecordSource } from '../../src/shadow/index.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const dir = mkdtempSync(join(tmpdir(), 'prio-kafka-source-'));
const t0 = Date.parse('2026-03-01T00:00:00.000Z');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function record(i: number): string {
  return JSON.stringify({
    requestId: `req-${i}`,
    timestamp: new Date(t0 + i * 1000).toISOString(),
    accountId: `acct-${i % 7}`,
    modelId: 'model-a',
    region: 'us-east-1',
    classification: 'ON_DEMAND',
  });
}

function writeLog(name: string, count: number, extra: string[] = []): { file: string; lines: string[] } {
  const lines = [...Array.from({ length: count }, (_, i) => record(i)), ...extra];
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, lines };
}

async function readAll(options: KafkaSourceOptions): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const batch of kafkaSource(options).batches()) out.push(...batch);
  return out;
}

const text = (r: SourceRecord) => (r.value === null ? null : Buffer.from(r.value).toString('utf8'));
const where = (r: SourceRecord) => (r.position.kind === 'kafka' ? `${r.position.partition}:${r.position.offset}` : 'not kafka');
const topicName = (what: string) => `source-${what}-${randomUUID().slice(0, 8)}`;

describe('Kafka source', () => {
  it('replays a produced log whole, keyed by account, every record once with its position', async () => {
    const { file, lines } = writeLog('whole.ndjson', 500);
    const topic = topicName('whole');
    const produced = await produceLog({ brokers, file, topic, partitions: 3 });
    expect(produced).toMatchObject({ created: true, partitions: 3, produced: 500, skipped: [] });
    expect(Object.values(produced.perPartition).reduce((a, b) => a + b, 0)).toBe(500);

    const records = await readAll({ brokers, topic, window: { from: 'beginning' } });
    expect(records.map(text).sort()).toEqual([...lines].sort());
    expect(new Set(records.map(where)).size).toBe(500);
    // Keyed by accountId: each account lives in exactly one partition, in file order.
    const partitionsOfAccount = new Map<string, Set<number>>();
    const perAccount = new Map<string, number[]>();
    for (const r of records) {
      const { accountId, requestId } = JSON.parse(text(r) ?? '') as { accountId: string; requestId: string };
      if (r.position.kind !== 'kafka') throw new Error('expected a Kafka position');
      partitionsOfAccount.set(accountId, (partitionsOfAccount.get(accountId) ?? new Set()).add(r.position.partition));
      perAccount.set(accountId, [...(perAccount.get(accountId) ?? []), Number(requestId.slice(4))]);
    }
    for (const parts of partitionsOfAccount.values()) expect(parts.size).toBe(1);
    for (const ids of perAccount.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));

    // Producing again into the existing topic keeps its partitions.
    const again = await produceLog({ brokers, file, topic, partitions: 9 });
    expect(again).toMatchObject({ created: false, partitions: 3, produced: 500 });
  });

  it('produces from stdin and from a .gz through the shared NDJSON reader; a line over the topic limit is skipped and counted with its line number', async () => {
    const big = JSON.stringify({ ...JSON.parse(record(2)), pad: 'x'.repeat(70 * 1024) });
    // Blank and CRLF lines as the file source reads them: skipped, line numbers kept.
    const body = `${record(0)}\r\n\n${record(1)}\n${big}\n${record(3)}\n`;
    const gz = join(dir, 'produce.ndjson.gz');
    writeFileSync(gz, gzipSync(body));
    const stdin = new PassThrough();
    stdin.end(gzipSync(body)); // recognised as gzip by its magic bytes, as `cat log.gz | prio shadow produce --file -`
    for (const [file, extra] of [[gz, {}], ['-', { stdin }]] as const) {
      const topic = topicName('produce-shared');
      const result = await produceLog({ brokers, file, topic, maxMessageBytes: 64 * 1024, ...extra });
      expect(result.produced, file).toBe(3);
      expect(result.skipped, file).toEqual([{ line: 4, bytes: big.length, reason: expect.stringContaining('max.message.bytes 65536') }]);
      const records = await readAll({ brokers, topic, window: { from: 'beginning' } });
      expect(records.map(text).sort(), file).toEqual([record(0), record(1), record(3)].sort());
    }
  });

  it('stops at the high-water marks taken at start, even while the topic grows', async () => {
    const { file } = writeLog('bounded.ndjson', 300);
    const topic = topicName('bounded');
    await produceLog({ brokers, file, topic, partitions: 2 });
    const source = kafkaSource({ brokers, topic, window: { from: 'beginning' }, maxBytesPerPartition: 4096 });
    let count = 0;
    let grew = false;
    for await (const batch of source.batches()) {
      count += batch.length;
      if (!grew) {
        grew = true;
        await produceLog({ brokers, file, topic });
      }
    }
    expect(count).toBe(300);
    expect(source.windows().reduce((n, w) => n + ((w.end ?? 0) - w.start), 0)).toBe(300);
    expect(source.progress()).toEqual({ done: 300, total: 300, unit: 'records' });
  });

  it('selects a time window through offsets-for-times: [from, to) by request time', async () => {
    const { file } = writeLog('window.ndjson', 200);
    const topic = topicName('window');
    await produceLog({ brokers, file, topic, partitions: 2 });
    const from = new Date(t0 + 50_000);
    const to = new Date(t0 + 120_000);
    const records = await readAll({ brokers, topic, window: { from, to } });
    const ids = records.map((r) => (JSON.parse(text(r) ?? '') as { requestId: string }).requestId).sort();
    expect(ids).toEqual(Array.from({ length: 70 }, (_, i) => `req-${i + 50}`).sort());
    // A window after the last record is empty, not an error.
    expect(await readAll({ brokers, topic, window: { from: new Date(t0 + 10_000_000) } })).toEqual([]);
  });

  it('hands over null, binary and oversized values untouched, with partition and offset', async () => {
    const topic = topicName('bad');
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(4 * 1024 * 1024) }] }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7b]);
    const oversized = Buffer.alloc(1024 * 1024 + 10, 0x61);
    await producer.send({ topic, messages: [{ value: record(1) }, { value: null }, { value: binary }, { value: oversized }, { value: '{"requestId": ' }] });
    await producer.disconnect();

    const records = await readAll({ brokers, topic, window: { from: 'beginning' } });
    expect(records.map(where)).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4']);
    expect(text(records[0] as SourceRecord)).toBe(record(1));
    expect(records[1]?.value).toBeNull();
    expect(Buffer.from(records[2]?.value ?? []).equals(binary)).toBe(true);
    expect(records[3]?.value?.length).toBe(oversized.length);
    expect(text(records[4] as SourceRecord)).toBe('{"requestId": ');
  });

  it('reads gzip-compressed batches and leaves out aborted transactions, with or without a group', async () => {
    const topic = topicName('txn');
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic, compression: CompressionTypes.GZIP, messages: [{ value: record(1) }, { value: record(2) }] });
    await plain.disconnect();
    const transactional = kafka.producer({ transactionalId: `prio-test-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    const aborted = await transactional.transaction();
    await aborted.send({ topic, messages: [{ value: record(3) }, { value: record(4) }] });
    await aborted.abort();
    const committed = await transactional.transaction();
    await committed.send({ topic, compression: CompressionTypes.GZIP, messages: [{ value: record(5) }] });
    await committed.commit();
    await transactional.disconnect();

    const expected = [record(1), record(2), record(5)];
    expect((await readAll({ brokers, topic, window: { from: 'beginning' } })).map(text)).toEqual(expected);
    expect((await readAll({ brokers, topic, group: `g-${randomUUID()}`, window: { from: 'beginning' } })).map(text)).toEqual(expected);
  });

  it('splits the partitions between two members of a consumer group, each record read once', async () => {
    const { file, lines } = writeLog('group.ndjson', 2000);
    const topic = topicName('group');
    await produceLog({ brokers, file, topic, partitions: 4 });
    const group = `group-${randomUUID()}`;
    const member = () => readAll({ brokers, topic, group, window: { from: 'beginning' }, maxBytesPerPartition: 8192 });
    const [a, b] = await Promise.all([member(), member()]);
    const positions = [...a, ...b].map(where);
    expect(positions.length).toBe(2000);
    expect(new Set(positions).size).toBe(2000);
    expect([...a, ...b].map(text).sort()).toEqual([...lines].sort());
    // The group remembers: a member joining after the run finds nothing left.
    expect(await member()).toEqual([]);
  });

  it('follows the topic past its start-time end until stopped, then ends cleanly', async () => {
    const { file } = writeLog('follow.ndjson', 50);
    const topic = topicName('follow');
    await produceLog({ brokers, file, topic, partitions: 2 });
    const stop = new AbortController();
    const source = kafkaSource({ brokers, topic, window: { from: 'beginning' }, follow: true, signal: stop.signal });
    let count = 0;
    let grew = false;
    for await (const batch of source.batches()) {
      count += batch.length;
      if (count >= 50 && !grew) {
        grew = true;
        await produceLog({ brokers, file, topic });
      }
      if (count >= 100) stop.abort();
    }
    expect(count).toBe(100);
    expect(source.windows().every((w) => w.end === undefined)).toBe(true);
    expect(source.progress().total).toBeUndefined();
  });

  it('hands partitions over when a member joins mid-read: every record read once across the members', { timeout: 60_000 }, async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => record(i));
    const topic = topicName('handover');
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 4 }] });
    await admin.disconnect();
    // Small sends make small record batches, so a fetch hands out a few records at a time.
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < lines.length; i += 10) await producer.send({ topic, messages: lines.slice(i, i + 10).map((value, j) => ({ value, partition: (i / 10 + j) % 4 })) });
    await producer.disconnect();
    const group = `group-${randomUUID()}`;
    const options = { brokers, topic, group, window: { from: 'beginning' as const }, maxBytesPerPartition: 4096 };
    const slow: SourceRecord[] = [];
    let joinLate: Promise<SourceRecord[]> | undefined;
    // The first member reads slowly, so the second joins while it still holds every partition.
    for await (const batch of kafkaSource(options).batches()) {
      slow.push(...batch);
      joinLate ??= readAll(options);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const late = await (joinLate ?? Promise.resolve([]));
    expect(late.length).toBeGreaterThan(0);
    const all = [...slow, ...late];
    expect(all.length).toBe(1000);
    expect(new Set(all.map(where)).size).toBe(1000);
    expect(all.map(text).sort()).toEqual([...lines].sort());
  });

  it('resumes from a checkpoint exactly after the last record handed out', async () => {
    const { file, lines } = writeLog('resume.ndjson', 600);
    const topic = topicName('resume');
    await produceLog({ brokers, file, topic, partitions: 3 });
    const first = kafkaSource({ brokers, topic, window: { from: 'beginning' }, maxBytesPerPartition: 2048 });
    const seen: SourceRecord[] = [];
    for await (const batch of first.batches()) {
      seen.push(...batch);
      if (seen.length >= 100) break;
    }
    const checkpoint = first.checkpoint();
    expect(checkpoint.kind).toBe('kafka');
    const rest = await readAll({ brokers, topic, window: { from: 'beginning' }, resumeFrom: checkpoint });
    const all = [...seen, ...rest];
    expect(all.length).toBe(600);
    expect(new Set(all.map(where)).size).toBe(600);
    expect(all.map(text).sort()).toEqual([...lines].sort());
  });

  it('refuses a topic that does not exist, without creating it', async () => {
    const topic = topicName('missing');
    await expect(readAll({ brokers, topic, window: { from: 'beginning' } })).rejects.toThrow(/does not exist/);
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    expect(await admin.listTopics()).not.toContain(topic);
    await admin.disconnect();
  });
});

/** report.json without its wall-clock `run` section, as the bytes the serializer writes. */
function reportWithoutRun(outDir: string): string {
  const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as Record<string, unknown>;
  delete report.run;
  return JSON.stringify(report, null, 2);
}

interface QuarantineLine {
  position: { kind: string; partition?: number; offset?: string; line?: number };
  reason: string;
}

function quarantineOf(outDir: string): QuarantineLine[] {
  const text = readFileSync(join(outDir, 'quarantine.ndjson'), 'utf8').trim();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as QuarantineLine);
}

const oversizedLine = JSON.stringify({ requestId: 'big', timestamp: '2026-03-01T00:00:00Z', accountId: 'a', modelId: 'm', region: 'r', classification: 'ON_DEMAND', pad: 'x'.repeat(1024 * 1024 + 100) });

/** A generated log salted with every bad line a file can hold; `salts` bad lines in all. */
async function saltedLog(name: string, count: number): Promise<{ file: string; records: number; salts: number }> {
  const file = join(dir, name);
  const generated = await runCli('shadow', 'generate', '--count', String(count), '--seed', '11', '--out', file);
  expect(generated.code).toBe(0);
  appendFileSync(file, '{"requestId": "cut-off", "timestamp": \n');
  appendFileSync(file, Buffer.concat([Buffer.from('{"requestId": "'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}\n')]));
  appendFileSync(file, `${oversizedLine}\n`);
  appendFileSync(file, '{"requestId": "no-account", "timestamp": "2026-03-01T00:00:00Z"}\n');
  return { file, records: count + 4, salts: 4 };
}

describe('shadow replay through Kafka', () => {
  const out = (what: string) => join(dir, `out-${what}`);

  it('gives the report the file gives (report.json identical but for run), bad lines quarantined with partition and offset', async () => {
    const { file, records, salts } = await saltedLog('salted.ndjson', 3000);
    const topic = topicName('report');
    const produced = await runCli('shadow', 'produce', '--file', file, '--topic', topic, '--kafka-brokers', brokers.join(','), '--partitions', '4', '--quiet');
    expect(produced.code).toBe(0);
    expect(produced.out).toContain(`${records} messages`);

    const viaFile = await runCli('shadow', 'replay', '--file', file, '--out', out('file'), '--quiet');
    const viaKafka = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--out', out('kafka'), '--quiet', '--json');
    expect(viaFile.code).toBe(0);
    expect(viaKafka.code).toBe(0);
    expect(reportWithoutRun(out('kafka'))).toBe(reportWithoutRun(out('file')));
    const report = JSON.parse(readFileSync(join(out('kafka'), 'report.json'), 'utf8')) as { totals: { read: number; quarantined: number; compared: number }; run: { source: string } };
    expect(report.totals).toMatchObject({ read: records, quarantined: salts, compared: records - salts });
    expect(report.run.source).toBe(`kafka:${topic}@${brokers.join(',')}`);

    const quarantined = quarantineOf(out('kafka'));
    expect(quarantined.map((q) => q.reason).sort()).toEqual(['invalid-utf8', 'malformed-json', 'oversized', 'schema']);
    for (const q of quarantined) {
      expect(q.position.kind).toBe('kafka');
      expect(q.position.partition).toBeGreaterThanOrEqual(0);
      expect(q.position.offset).toMatch(/^\d+$/);
    }
    expect(quarantineOf(out('file')).map((q) => q.reason).sort()).toEqual(quarantined.map((q) => q.reason).sort());
  });

  it('two consumer-group members plus merge give the single-process report', async () => {
    const { file } = await saltedLog('group-salted.ndjson', 4000);
    const topic = topicName('group-report');
    expect((await runCli('shadow', 'produce', '--file', file, '--topic', topic, '--kafka-brokers', brokers.join(','), '--partitions', '4', '--quiet')).code).toBe(0);
    const group = `run-${randomUUID()}`;
    const member = (n: number) => runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--group', group, '--out', out(`member-${n}`), '--quiet');
    const [a, b] = await Promise.all([member(1), member(2)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const merged = await runCli('shadow', 'merge', out('member-1'), out('member-2'), '--out', out('merged'));
    expect(merged.code).toBe(0);
    const single = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--out', out('single'), '--quiet');
    expect(single.code).toBe(0);
    expect(reportWithoutRun(out('merged'))).toBe(reportWithoutRun(out('single')));
    // Every quarantined record appears once across the members, each with its Kafka position.
    const positions = [...quarantineOf(out('member-1')), ...quarantineOf(out('member-2'))].map((q) => `${q.position.partition}:${q.position.offset}`);
    expect(positions.sort()).toEqual(quarantineOf(out('single')).map((q) => `${q.position.partition}:${q.position.offset}`).sort());
  });

  it('quarantines null, binary, oversized and malformed message values with partition and offset', async () => {
    const topic = topicName('bad-values');
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'max.message.bytes', value: String(4 * 1024 * 1024) }] }] });
    await admin.disconnect();
    const generated = join(dir, 'few.ndjson');
    expect((await runCli('shadow', 'generate', '--count', '20', '--seed', '3', '--out', generated)).code).toBe(0);
    const good = readFileSync(generated, 'utf8').trim().split('\n');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        ...good.map((value) => ({ value, partition: 0 })),
        { value: null, partition: 1 },
        { value: Buffer.from([0x00, 0x9f, 0x92, 0x96, 0xff]), partition: 1 },
        { value: oversizedLine, partition: 1 },
        { value: '{"requestId": ', partition: 1 },
      ],
    });
    await producer.disconnect();

    const replayed = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--out', out('bad-values'), '--quiet');
    expect(replayed.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out('bad-values'), 'report.json'), 'utf8')) as { totals: { read: number; quarantined: number; compared: number } };
    expect(report.totals).toEqual({ read: 24, quarantined: 4, compared: 20 });
    const quarantined = quarantineOf(out('bad-values')).map((q) => ({ reason: q.reason, at: `${q.position.partition}:${q.position.offset}` }));
    expect(quarantined).toEqual([
      { reason: 'null-value', at: '1:0' },
      { reason: 'invalid-utf8', at: '1:1' },
      { reason: 'oversized', at: '1:2' },
      { reason: 'malformed-json', at: '1:3' },
    ]);
  });

  it('replays a --from/--to window of request time', async () => {
    const { file } = writeLog('cli-window.ndjson', 200);
    const topic = topicName('cli-window');
    expect((await runCli('shadow', 'produce', '--file', file, '--topic', topic, '--kafka-brokers', brokers.join(','), '--partitions', '3', '--quiet')).code).toBe(0);
    const from = new Date(t0 + 20_000).toISOString();
    const to = new Date(t0 + 80_000).toISOString();
    const replayed = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from', from, '--to', to, '--out', out('cli-window'), '--quiet', '--no-token-check');
    expect(replayed.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out('cli-window'), 'report.json'), 'utf8')) as { totals: { read: number; quarantined: number } };
    expect(report.totals).toMatchObject({ read: 60, quarantined: 0 });
  });

  it('refuses to start on a missing topic or an incomplete window, with exit 2 and no report', async () => {
    const missing = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topicName('absent'), '--from-beginning', '--out', out('absent'), '--quiet');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/does not exist/);
    expect(existsSync(join(out('absent'), 'report.json'))).toBe(false);
    const noStart = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', 'x', '--out', out('x'));
    expect(noStart.code).toBe(2);
    expect(noStart.err).toMatch(/--from-beginning, or --from ISO/);
    const both = await runCli('shadow', 'replay', '--file', 'f.ndjson', '--kafka-brokers', brokers.join(','), '--topic', 'x', '--from-beginning', '--out', out('x'));
    expect(both.code).toBe(2);
  });
});

/**
 * Topics as production producers write them, by the Java producer of the Kafka distribution:
 * transactions aborted by two producers at once, snappy/lz4/zstd/gzip, large batches, a log
 * that no longer starts at offset 0, a compacted topic. Each replay, direct and in a consumer
 * group, must give the report the file replay of the committed lines gives.
 */
describe('topics written by the Java producer', () => {
  const out = (what: string) => join(dir, `out-java-${what}`);
  let java: JavaProducer;
  beforeAll(async () => {
    java = await compileJavaProducer();
  }, 60_000);
  afterAll(() => java?.dispose());

  async function createTopic(topic: string, partitions: number, config: { name: string; value: string }[] = []): Promise<void> {
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: '-1' }, ...config] }] });
    await admin.disconnect();
  }

  async function generated(name: string, count: number, seed: number): Promise<string> {
    const file = join(dir, name);
    expect((await runCli('shadow', 'generate', '--count', String(count), '--seed', String(seed), '--out', file)).code).toBe(0);
    return file;
  }

  /** Replays `file`, then `topic` directly and as a one-member group; all three reports must be equal and hold `lines` records. */
  async function expectSameReports(what: string, file: string, topic: string, lines: number): Promise<void> {
    const kafka = ['--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--quiet'];
    const viaFile = await runCli('shadow', 'replay', '--file', file, '--out', out(`${what}-file`), '--quiet');
    const direct = await runCli('shadow', 'replay', ...kafka, '--out', out(`${what}-direct`));
    const grouped = await runCli('shadow', 'replay', ...kafka, '--group', `g-${randomUUID()}`, '--out', out(`${what}-group`));
    expect([viaFile.code, direct.code, grouped.code], `${direct.err}${grouped.err}`).toEqual([0, 0, 0]);
    const read = (o: string) => (JSON.parse(readFileSync(join(o, 'report.json'), 'utf8')) as { totals: { read: number } }).totals.read;
    expect({ file: read(out(`${what}-file`)), direct: read(out(`${what}-direct`)), group: read(out(`${what}-group`)) }).toEqual({ file: lines, direct: lines, group: lines });
    expect(reportWithoutRun(out(`${what}-direct`))).toBe(reportWithoutRun(out(`${what}-file`)));
    expect(reportWithoutRun(out(`${what}-group`))).toBe(reportWithoutRun(out(`${what}-file`)));
  }

  const transactional = (file: string, topic: string, codec: ProduceLinesOptions['codec']): ProduceLinesOptions => ({
    brokers: brokers.join(','),
    topic,
    file,
    codec,
    chunk: 500,
    abortEvery: 5,
    noiseTransactions: 200,
    noiseSize: 300,
  });

  it(
    'gives only the committed records, direct and in a group, while two producers abort transactions concurrently and one stays open',
    { timeout: 90_000 },
    async () => {
      const count = 20_000;
      const file = await generated('java-txn.ndjson', count, 17);
      const topic = topicName('java-txn');
      await createTopic(topic, 3);
      await java.produce(transactional(file, topic, 'none'));
      // A transaction left open during the replays: beyond the last stable offset, so outside the window.
      const open = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer({ transactionalId: `prio-open-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
      await open.connect();
      const pending = await open.transaction();
      await pending.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ value: record(i) })) });
      try {
        await expectSameReports('txn', file, topic, count);
        // Two members of one group plus merge: the same report again.
        const group = `run-${randomUUID()}`;
        const member = (n: number) =>
          runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--group', group, '--out', out(`txn-member-${n}`), '--quiet');
        expect((await Promise.all([member(1), member(2)])).map((r) => r.code)).toEqual([0, 0]);
        expect((await runCli('shadow', 'merge', out('txn-member-1'), out('txn-member-2'), '--out', out('txn-merged'))).code).toBe(0);
        expect(reportWithoutRun(out('txn-merged'))).toBe(reportWithoutRun(out('txn-file')));
      } finally {
        await pending.abort();
        await open.disconnect();
      }
    },
  );

  /** Codec ids of partition 0's data batches from `offset` on, the largest batch's record count and the first batch's base offset. */
  async function batchesOf(topic: string, offset = 0): Promise<{ codecs: number[]; largest: number; firstBase: number }> {
    const [host, port] = (brokers[0] ?? '').split(':');
    const connection = new FetchConnection(host ?? '127.0.0.1', Number(port), 'prio-test', 10_000);
    try {
      const [fetched] = await connection.fetch(topic, [{ partition: 0, offset, maxBytes: 4 * 1024 * 1024 }], 100, 4 * 1024 * 1024);
      const buf = fetched?.records ?? Buffer.alloc(0);
      const codecs = new Set<number>();
      let largest = 0;
      for (let at = 0; at + 61 <= buf.length; at += 12 + buf.readInt32BE(at + 8)) {
        if ((buf.readInt16BE(at + 21) & 0x20) !== 0) continue; // a transaction marker
        codecs.add(buf.readInt16BE(at + 21) & 0x07);
        largest = Math.max(largest, buf.readInt32BE(at + 57));
      }
      return { codecs: [...codecs], largest, firstBase: buf.length >= 8 ? Number(buf.readBigInt64BE(0)) : -1 };
    } finally {
      connection.close();
    }
  }

  it.each([
    ['gzip', 1],
    ['snappy', 2],
    ['lz4', 3],
    ['zstd', 4],
  ] as const)('reads %s batches the Java producer writes (large batches, aborted transactions), direct and in a group', { timeout: 60_000 }, async (codec, id) => {
    const count = 4000;
    const file = await generated(`java-${codec}.ndjson`, count, 20 + id);
    const topic = topicName(`java-${codec}`);
    await createTopic(topic, 3);
    await java.produce({ ...transactional(file, topic, codec), chunk: 1000, abortEvery: 3 });
    const { codecs, largest } = await batchesOf(topic);
    expect(codecs).toEqual([id]);
    expect(largest).toBeGreaterThan(100);
    await expectSameReports(codec, file, topic, count);
  });

  it('starts at the log start offset once records were deleted (DeleteRecords), in the middle of a compressed batch', { timeout: 60_000 }, async () => {
    const count = 3000;
    const deleted = 1234;
    const file = await generated('java-deleted.ndjson', count, 31);
    const topic = topicName('java-deleted');
    await createTopic(topic, 1);
    // No transactions, one partition: record i is at offset i.
    await java.produce({ ...transactional(file, topic, 'zstd'), chunk: 0, abortEvery: 0, noiseTransactions: 0 });
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs it loaded
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(deleted) }] });
    const [watermarks] = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(watermarks?.low).toBe(String(deleted));
    // The broker still serves the whole zstd batch the new log start falls into.
    const head = await batchesOf(topic, deleted);
    expect(head.codecs).toEqual([4]);
    expect(head.firstBase).toBeLessThan(deleted);
    const rest = join(dir, 'java-deleted-rest.ndjson');
    writeFileSync(rest, `${readFileSync(file, 'utf8').trim().split('\n').slice(deleted).join('\n')}\n`);
    await expectSameReports('deleted', rest, topic, count - deleted);
  });

  it('reads a compacted topic (keyed records, lz4, aborted transactions), direct and in a group', { timeout: 60_000 }, async () => {
    const count = 4000;
    const file = await generated('java-compacted.ndjson', count, 37);
    const topic = topicName('java-compacted');
    await createTopic(topic, 3, [{ name: 'cleanup.policy', value: 'compact' }]);
    await java.produce({ ...transactional(file, topic, 'lz4'), chunk: 1000, abortEvery: 2 });
    await expectSameReports('compacted', file, topic, count);
  });
});

// Last: takes the shared broker down and brings it back.
describe('records retention deleted before the replay read them (issue 11.1)', () => {
  async function deleteBefore(topic: string, offset: number): Promise<void> {
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(offset) }] });
    await admin.disconnect();
  }

  it('a gap met mid-read is counted as damage and the read goes on at the new log start', async () => {
    const topic = topicName('gap-mid');
    // Small record batches, so a small fetch holds only a few of them and the read takes many fetches.
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 600; i += 10) {
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, j) => ({ value: record(i + j) })) });
    }
    await producer.disconnect();
    const source = kafkaSource({ brokers, topic, window: { from: 'beginning' }, maxBytesPerPartition: 2048 });
    const seen: SourceRecord[] = [];
    let deleted = false;
    for await (const batch of source.batches()) {
      seen.push(...batch);
      if (!deleted) {
        await deleteBefore(topic, 400);
        deleted = true;
      }
    }
    const offsets = seen.map((r) => (r.position.kind === 'kafka' ? Number(r.position.offset) : -1));
    const damage = source.damage();
    expect(damage).toHaveLength(1);
    const lost = damage[0]?.recordsLost ?? 0;
    expect(damage[0]).toMatchObject({ kind: 'offset-gap', where: `${topic}/0`, bytesLost: null });
    expect(lost).toBeGreaterThan(0);
    // Every offset is either read once or counted lost, none both.
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(offsets.length + lost).toBe(600);
    expect(offsets.at(-1)).toBe(599);
    expect(source.checkpoint()).toEqual({ kind: 'kafka', topic, nextOffsets: { '0': '600' } });
  });

  it('a gap met mid-read in a consumer group is counted as damage the same way, and the read goes on at the new log start', { timeout: 60_000 }, async () => {
    const topic = topicName('gap-group');
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 600; i += 10) {
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, j) => ({ value: record(i + j) })) });
    }
    await producer.disconnect();
    const source = kafkaSource({ brokers, topic, window: { from: 'beginning' }, group: `g-${randomUUID()}`, maxBytesPerPartition: 2048 });
    const seen: SourceRecord[] = [];
    let deleted = false;
    for await (const batch of source.batches()) {
      seen.push(...batch);
      if (!deleted) {
        await deleteBefore(topic, 400);
        deleted = true;
      }
    }
    const offsets = seen.map((r) => (r.position.kind === 'kafka' ? Number(r.position.offset) : -1));
    const damage = source.damage();
    expect(damage).toHaveLength(1);
    const lost = damage[0]?.recordsLost ?? 0;
    expect(damage[0]).toMatchObject({ kind: 'offset-gap', where: `${topic}/0`, bytesLost: null });
    expect(lost).toBeGreaterThan(0);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(offsets.length + lost).toBe(600);
    expect(offsets.at(-1)).toBe(599);
    expect(source.checkpoint()).toEqual({ kind: 'kafka', topic, nextOffsets: { '0': '600' } });
  });

  it('a resumed replay whose checkpoint retention has overtaken counts the gap, and the default gate fails on it', async () => {
    const { file } = writeLog('gap-resume.ndjson', 600);
    const topic = topicName('gap-resume');
    await produceLog({ brokers, file, topic, partitions: 1 });
    await deleteBefore(topic, 300);
    const source = kafkaSource({ brokers, topic, window: { from: 'beginning' }, resumeFrom: { kind: 'kafka', topic, nextOffsets: { '0': '100' } } });
    const rest: SourceRecord[] = [];
    for await (const batch of source.batches()) rest.push(...batch);
    expect(rest).toHaveLength(300);
    expect(source.damage()).toEqual([expect.objectContaining({ kind: 'offset-gap', where: `${topic}/0`, recordsLost: 200 })]);

    // The same through the CLI: a checkpoint at offset 100, resumed with the default gate.
    const { baseline, candidate } = judgeParts(readJudgeSpec({ baselineFile: DEFAULT_BASELINE, candidateFile: DEFAULT_CANDIDATE }));
    const outDir = join(dir, 'out-gap-resume');
    const checkpointFile = join(dir, 'gap-checkpoint.json');
    writeFileSync(
      checkpointFile,
      JSON.stringify({
        format: CHECKPOINT_FORMAT,
        source: `kafka:${topic}@${brokers.join(',')}`,
        rulesets: { baseline: baseline.name, candidate: candidate.name },
        message: 'interrupted',
        checkpoint: { kind: 'kafka', topic, nextOffsets: { '0': '100' } },
        state: aggregateToJson(emptyAggregate({ tiers: ['P100', 'P90', 'P75', 'P50', 'P25', 'P10', 'P5'], sampleSize: 50, sampleSeed: 1 })),
      }),
    );
    const r = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--out', outDir, '--resume', checkpointFile, '--gate', DEFAULT_GATE, '--quiet');
    expect(r.code).toBe(3);
    expect(r.out).toContain('maxSourceDamage');
    const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as { totals: { read: number }; damage: { recordsLost: number } };
    expect(report.totals.read).toBe(300);
    expect(report.damage.recordsLost).toBe(200);
  });
});

describe('a bounded Kafka replay stopped by a signal (issue 11.3)', () => {
  it('stops after the batch in hand with the checkpoint and partial report; the resume gives the whole report', async () => {
    const { file } = writeLog('signal.ndjson', 3000);
    const topic = topicName('signal');
    await produceLog({ brokers, file, topic, partitions: 3 });
    const quietIo = { out: () => undefined, err: () => undefined };
    const spec = readJudgeSpec({ baselineFile: DEFAULT_BASELINE, candidateFile: DEFAULT_CANDIDATE, keyring: keyringFor(undefined, quietIo) });
    const controller = new AbortController();
    const kafka = kafkaSource({ brokers, topic, window: { from: 'beginning' }, maxBytesPerPartition: 4096 });
    let batches = 0;
    // The source is the real one; the wrapper only sends the signal once two batches are out, as Ctrl-C would.
    const source: RecordSource = {
      label: kafka.label,
      checkpoint: () => kafka.checkpoint(),
      coverage: () => kafka.coverage(),
      async *batches() {
        for await (const batch of kafka.batches()) {
          if (++batches === 2) controller.abort('SIGINT');
          yield batch;
        }
      },
    };
    const outDir = join(dir, 'out-signal');
    const common = { ...judgeParts(spec), outDir, sampleSize: 50, sampleSeed: 1, progress: createProgress({ stream: process.stderr, quiet: true, label: 'replay' }) };
    const result = await runReplay({ ...common, source, signal: controller.signal });
    if (result.kind !== 'interrupted') throw new Error(`expected an interrupted replay, got ${result.kind}`);
    expect(result.error.message).toBe('interrupted by SIGINT');
    expect(result.partial.read).toBeGreaterThan(0);
    expect(result.partial.read).toBeLessThan(3000);
    expect(existsSync(join(outDir, 'report.partial.json'))).toBe(true);
    expect(existsSync(join(outDir, 'report.json'))).toBe(false);
    const resumed = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--out', outDir, '--resume', result.checkpointFile, '--quiet');
    expect(resumed.code).toBe(0);
    const whole = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--out', join(dir, 'out-signal-whole'), '--quiet');
    expect(whole.code).toBe(0);
    expect(reportWithoutRun(outDir)).toBe(reportWithoutRun(join(dir, 'out-signal-whole')));
  });
});

describe('record batches with a bad CRC-32C', () => {
  /** A 1-partition topic written in three uncompressed batches of 100 records (offsets 0-99, 100-199, 200-299). */
  async function threeBatches(what: string): Promise<string> {
    const topic = topicName(what);
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 300; i += 100) await producer.send({ topic, messages: Array.from({ length: 100 }, (_, j) => ({ value: record(i + j) })) });
    await producer.disconnect();
    return topic;
  }

  it('the decoder quarantines a fetched batch with a flipped byte at its partition and offset, and reads the batches around it', async () => {
    const topic = await threeBatches('crc-decoder');
    const [host, port] = (brokers[0] ?? '').split(':');
    const connection = new FetchConnection(host ?? '127.0.0.1', Number(port), 'prio-test', 10_000);
    let fetched: FetchedPartition | undefined;
    try {
      [fetched] = await connection.fetch(topic, [{ partition: 0, offset: 0, maxBytes: 4 * 1024 * 1024 }], 100, 4 * 1024 * 1024);
    } finally {
      connection.close();
    }
    const original = fetched?.records;
    if (fetched === undefined || original == null) throw new Error('nothing fetched');
    const intact = new FetchedRecordReader(topic, fetched, 0, undefined);
    expect(await intact.next(Number.POSITIVE_INFINITY)).toHaveLength(300);
    expect(intact.takeCorrupt()).toEqual([]);

    // Flip one byte inside the second batch's records (past its 61-byte header).
    const records = Buffer.from(original);
    const second = 12 + records.readInt32BE(8);
    expect(Number(records.readBigInt64BE(second))).toBe(100);
    const flip = second + 61 + 40;
    records[flip] = (records[flip] as number) ^ 0x01;
    const reader = new FetchedRecordReader(topic, { ...fetched, records }, 0, undefined);
    const out = await reader.next(Number.POSITIVE_INFINITY);
    const quarantined = out.filter((r) => r.sourceError !== undefined);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]?.position).toEqual({ kind: 'kafka', topic, partition: 0, offset: '100' });
    expect(quarantined[0]?.sourceError).toMatch(/CRC-32C/);
    const offsets = out.filter((r) => r.sourceError === undefined).map((r) => (r.position.kind === 'kafka' ? Number(r.position.offset) : -1));
    expect(offsets).toEqual([...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 200 + i)]);
    expect(reader.takeCorrupt()).toEqual([expect.objectContaining({ partition: 0, baseOffset: 100, lastOffset: 199, records: 100 })]);
  });

  const broker = sharedBroker();
  // Only the broker the test setup started has a log directory we may damage; a cluster named by KAFKA_BROKERS is not ours to corrupt.
  it.skipIf(broker === undefined)('a batch corrupted on the broker\'s disk is quarantined, the replay goes on, and the default gate fails on the damage (direct and group)', { timeout: 60_000 }, async () => {
    const topic = await threeBatches('crc-disk');
    const control = process.env[CONTROL_ENV];
    if (control === undefined) throw new Error('no control file');
    const segment = join(readControlFile(control).dataDir, 'kraft', `${topic}-0`, '00000000000000000000.log');
    const bytes = readFileSync(segment);
    const at = bytes.indexOf('"req-150"');
    expect(at).toBeGreaterThan(0);
    // The broker serves the segment's bytes as they are on disk (it checks no CRC on a fetch).
    const fd = openSync(segment, 'r+');
    try {
      writeSync(fd, Buffer.from('X'), 0, 1, at + 5);
    } finally {
      closeSync(fd);
    }
    const out = (what: string) => join(dir, `out-crc-${what}`);
    const kafka = ['shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--no-token-check', '--quiet', '--gate', DEFAULT_GATE];
    const direct = await runCli(...kafka, '--out', out('direct'));
    const grouped = await runCli(...kafka, '--group', `g-${randomUUID()}`, '--out', out('group'));
    for (const [what, run] of [['direct', direct], ['group', grouped]] as const) {
      expect([what, run.code]).toEqual([what, 3]);
      expect(run.out).toContain('maxSourceDamage');
      const report = JSON.parse(readFileSync(join(out(what), 'report.json'), 'utf8')) as { totals: { read: number; quarantined: number; compared: number }; damage: { recordsLost: number; events: { kind: string; where: string }[] } };
      expect(report.totals).toMatchObject({ read: 201, quarantined: 1, compared: 200 });
      expect(report.damage.recordsLost).toBe(100);
      expect(report.damage.events).toEqual([expect.objectContaining({ kind: 'corrupt-batch', where: `${topic}/0` })]);
      const quarantine = quarantineOf(out(what));
      expect(quarantine).toHaveLength(1);
      expect(quarantine[0]).toMatchObject({ position: { kind: 'kafka', partition: 0, offset: '100' }, reason: 'source-error' });
    }
    expect(reportWithoutRun(out('group'))).toBe(reportWithoutRun(out('direct')));
  });
});

describe('a broker that goes away mid-replay', () => {
  const broker = sharedBroker();

  // Only the broker the test setup started can be killed and restarted; a cluster named by KAFKA_BROKERS is not ours to take down.
  it.skipIf(broker === undefined)(
    'stops with a clear error and a checkpoint after the last record handed out; resuming completes the report',
    { timeout: 120_000 },
    async () => {
      if (broker === undefined) return;
      const { file } = await saltedLog('restart.ndjson', 3000);
      const topic = topicName('restart');
      expect((await runCli('shadow', 'produce', '--file', file, '--topic', topic, '--kafka-brokers', brokers.join(','), '--partitions', '3', '--quiet')).code).toBe(0);
      const outDir = join(dir, 'out-restart');

      // The CLI's replay, on a source that takes the broker down once it has handed out 300 records.
      const kafka = kafkaSource({ brokers, topic, window: { from: 'beginning' }, maxBytesPerPartition: 16 * 1024 });
      const handedOut: SourceRecord[] = [];
      let crashed = false;
      const crashing: RecordSource = {
        label: kafka.label,
        async *batches() {
          for await (const batch of kafka.batches()) {
            if (handedOut.length >= 300 && !crashed) {
              crashed = true;
              await broker.crash();
            }
            handedOut.push(...batch);
            yield batch;
          }
        },
      };
      const quietIo = { out: () => undefined, err: () => undefined };
      const spec = readJudgeSpec({ baselineFile: DEFAULT_BASELINE, candidateFile: DEFAULT_CANDIDATE, keyring: keyringFor(undefined, quietIo) });
      let result;
      try {
        result = await runReplay({
          source: crashing,
          ...judgeParts(spec),
          outDir,
          sampleSize: 50,
          sampleSeed: 1,
          progress: createProgress({ stream: process.stderr, quiet: true, label: 'replay' }),
          // Judged in worker threads only: batches are still in flight when the broker goes, and
          // every one of them must be counted before the checkpoint is written.
          parallel: { workers: 2, spec, startAfterRecords: 0, mainThreadJudges: false },
        });
      } finally {
        // Only a broker this test took down is started again; a second one would find its port taken.
        if (crashed) await broker.start();
      }
      expect(crashed).toBe(true);
      if (result.kind !== 'interrupted') throw new Error(`expected an interrupted replay, got ${result.kind}`);
      expect(result.error).toBeInstanceOf(SourceInterruptedError);
      expect(result.error.message).toMatch(new RegExp(`lost Kafka at ${brokers[0]} while reading topic ${topic}`));
      expect(existsSync(join(outDir, 'report.json'))).toBe(false);
      expect(handedOut.length).toBeGreaterThan(300);
      expect(handedOut.length).toBeLessThan(3004);
      expect(result.partial.read).toBe(handedOut.length);
      // The checkpoint is exactly where the handed-out records end, partition by partition.
      const expected: Record<string, string> = { '0': '0', '1': '0', '2': '0' };
      for (const r of handedOut) if (r.position.kind === 'kafka') expected[String(r.position.partition)] = String(Number(r.position.offset) + 1);
      const saved = readCheckpoint(result.checkpointFile);
      expect(saved.checkpoint).toEqual({ kind: 'kafka', topic, nextOffsets: expected } satisfies Checkpoint);

      const resumed = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--out', outDir, '--resume', result.checkpointFile, '--quiet');
      expect(resumed.code).toBe(0);
      const whole = await runCli('shadow', 'replay', '--file', file, '--out', join(dir, 'out-restart-file'), '--quiet');
      expect(whole.code).toBe(0);
      expect(reportWithoutRun(outDir)).toBe(reportWithoutRun(join(dir, 'out-restart-file')));
      expect(quarantineOf(outDir)).toHaveLength(4);
    },
  );
});
