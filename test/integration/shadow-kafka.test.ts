/**
 * Kafka end to end against the real broker the test setup starts: the source and producer
 * (bounded windows, time windows, consumer groups, untouched bad values, checkpoints), and a
 * broker that goes away mid-replay. All Kafka tests live in this one file on purpose: vitest
 * runs files in parallel, and the restart test takes the shared broker down, so it must run
 * after the others (tests within a file run in order).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaSource, type KafkaSourceOptions } from '../../src/shadow/sources/kafka.js';
import { produceLog } from '../../src/shadow/sources/kafka-produce.js';
import { SourceInterruptedError, type Checkpoint, type SourceRecord } from '../../src/shadow/source.js';
import { sharedBroker } from '../support/kafka/shared.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const dir = mkdtempSync(join(tmpdir(), 'prio-kafka-source-'));
const t0 = Date.parse('2026-03-01T00:00:00.000Z');

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

// Last: takes the shared broker down and brings it back.
describe('a broker that goes away mid-replay', () => {
  const broker = sharedBroker();

  it.skipIf(broker === undefined)('fails with a checkpoint after the last record handed out; resuming completes the log', { timeout: 90_000 }, async () => {
    if (broker === undefined) return;
    const { file, lines } = writeLog('restart.ndjson', 3000);
    const topic = topicName('restart');
    await produceLog({ brokers, file, topic, partitions: 3 });
    const source = kafkaSource({ brokers, topic, window: { from: 'beginning' }, maxBytesPerPartition: 4096 });
    const before: SourceRecord[] = [];
    let interruption: unknown;
    try {
      for await (const batch of source.batches()) {
        before.push(...batch);
        if (before.length >= 300 && before.length - batch.length < 300) await broker.crash();
      }
    } catch (err) {
      interruption = err;
    } finally {
      await broker.start();
    }
    expect(interruption).toBeInstanceOf(SourceInterruptedError);
    const { checkpoint, message } = interruption as SourceInterruptedError;
    expect(message).toMatch(new RegExp(`lost Kafka at ${brokers[0]} while reading topic ${topic}`));
    expect(before.length).toBeGreaterThanOrEqual(300);
    expect(before.length).toBeLessThan(3000);
    // The checkpoint is exactly where the handed-out records end, partition by partition.
    const expected: Record<string, string> = { '0': '0', '1': '0', '2': '0' };
    for (const r of before) if (r.position.kind === 'kafka') expected[String(r.position.partition)] = String(Number(r.position.offset) + 1);
    expect(checkpoint).toEqual({ kind: 'kafka', topic, nextOffsets: expected } satisfies Checkpoint);

    const rest = await readAll({ brokers, topic, window: { from: 'beginning' }, resumeFrom: checkpoint });
    const all = [...before, ...rest];
    expect(all.length).toBe(3000);
    expect(new Set(all.map(where)).size).toBe(3000);
    expect(all.map(text).sort()).toEqual([...lines].sort());
  });
});
