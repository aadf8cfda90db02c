/**
 * The lean record-batch decoder of the Kafka source agrees with kafkajs's own encoder (the
 * bytes its producer sends) on any records — null, empty, binary and large values, keys,
 * headers, every codec (gzip, snappy, lz4, zstd) — any window [from, end), and a response cut off mid-batch, as brokers do.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeRecords, FetchedRecordReader, type FetchedPartition } from '../../src/shadow/sources/kafka-fetch.js';
import { registerKafkajsCodecs } from '../../src/shadow/sources/kafka-codecs.js';

interface Encoded {
  readonly buffer: Buffer;
}
interface KafkaRecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}
// kafkajs's protocol encoders are internal CommonJS modules without type declarations.
const require = createRequire(import.meta.url);
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: KafkaRecordInput) => Encoded;
const { RecordBatch: encodeBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (options: {
  compression: number;
  firstOffset: unknown;
  firstTimestamp: number;
  maxTimestamp: number;
  lastOffsetDelta: number;
  records: Encoded[];
}) => Promise<Encoded> };
const Long = require('kafkajs/src/utils/long.js') as { fromNumber(n: number): unknown };
// kafkajs's encoder compresses through its codec registry, which prio fills for snappy, lz4, zstd.
registerKafkajsCodecs();

const value = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 70_000 }).map((n) => Buffer.alloc(n, 0x61)) },
);
const batchSpec = fc.record({
  compression: fc.constantFrom(0, 1, 2, 3, 4),
  values: fc.array(value, { minLength: 1, maxLength: 12 }),
  withKeys: fc.boolean(),
});

async function encode(batches: { compression: number; values: (Buffer | null)[]; withKeys: boolean }[], firstOffset: number) {
  const parts: Buffer[] = [];
  const expected: { offset: number; value: Buffer | null }[] = [];
  let offset = firstOffset;
  for (const b of batches) {
    const records = b.values.map((v, i) =>
      encodeRecord({ offsetDelta: i, timestampDelta: i, key: b.withKeys ? Buffer.from(`key-${i}`) : null, value: v, headers: b.withKeys ? { h: Buffer.from('x') } : {} }),
    );
    const encoded = await encodeBatch({
      compression: b.compression,
      firstOffset: Long.fromNumber(offset),
      firstTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_000 + b.values.length,
      lastOffsetDelta: b.values.length - 1,
      records,
    });
    parts.push(encoded.buffer);
    b.values.forEach((v, i) => expected.push({ offset: offset + i, value: v }));
    offset += b.values.length;
  }
  return { bytes: Buffer.concat(parts), expected, lastComplete: offset, lastBatchBytes: parts[parts.length - 1]?.length ?? 0 };
}

const fetched = (records: Buffer): FetchedPartition => ({ partition: 3, errorCode: 0, highWatermark: 0, abortedTransactions: [], records });

describe('Kafka record-batch decoder', () => {
  it('returns exactly the records in [from, end), values byte for byte, and the offset after the last whole batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchSpec, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.nat(60),
        fc.option(fc.nat(60), { nil: undefined }),
        async (batches, firstOffset, fromDelta, endDelta) => {
          const { bytes, expected, lastComplete } = await encode(batches, firstOffset);
          const from = firstOffset + fromDelta;
          const end = endDelta === undefined ? undefined : from + endDelta;
          const decoded = await decodeRecords('t', fetched(bytes), from, end);
          const want = expected.filter((r) => r.offset >= from && (end === undefined || r.offset < end));
          expect(decoded.records.map((r) => (r.position.kind === 'kafka' ? r.position : null))).toEqual(
            want.map((r) => ({ kind: 'kafka', topic: 't', partition: 3, offset: String(r.offset) })),
          );
          decoded.records.forEach((r, i) => {
            const w = want[i]?.value ?? null;
            if (w === null) expect(r.value).toBeNull();
            else expect(Buffer.from(r.value ?? []).equals(w)).toBe(true);
          });
          if (end === undefined || end >= lastComplete) expect(decoded.nextOffset).toBe(Math.max(from, lastComplete));
        },
      ),
      {
        numRuns: 60,
        // Found by a run: an empty window ([from, from)) in front of a compressed batch, which the
        // reader did not inflate (nothing in it is wanted) and then tried to decode anyway.
        examples: [[[{ compression: 2, values: [Buffer.from([])], withKeys: false }], 0, 0, 0]],
      },
    );
  });

  it('stops before a batch the response cut off, and resumes there', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batchSpec, { minLength: 2, maxLength: 4 }), fc.nat(), async (batches, cutSeed) => {
        const { bytes, expected, lastBatchBytes } = await encode(batches, 0);
        const cut = 1 + (cutSeed % (lastBatchBytes - 1));
        const decoded = await decodeRecords('t', fetched(bytes.subarray(0, bytes.length - cut)), 0, undefined);
        const lastBatchSize = batches[batches.length - 1]?.values.length ?? 0;
        expect(decoded.records.length).toBe(expected.length - lastBatchSize);
        expect(decoded.nextOffset).toBe(expected.length - lastBatchSize);
      }),
      { numRuns: 40 },
    );
  });

  it('read a slice at a time, gives the same records in the same order, each slice whole record batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchSpec, { minLength: 1, maxLength: 5 }),
        fc.nat(60),
        fc.option(fc.nat(60), { nil: undefined }),
        fc.integer({ min: 1, max: 20 }),
        async (batches, from, endDelta, slice) => {
          const { bytes } = await encode(batches, 0);
          const end = endDelta === undefined ? undefined : from + endDelta;
          const whole = await decodeRecords('t', fetched(bytes), from, end);
          const reader = new FetchedRecordReader('t', fetched(bytes), from, end);
          expect(reader.nextOffset).toBe(whole.nextOffset);
          const slices: (typeof whole.records)[] = [];
          for (let records = await reader.next(slice); records.length > 0; records = await reader.next(slice)) slices.push(records);
          expect(await reader.next(slice)).toEqual([]);
          expect(slices.flat().map((r) => r.position)).toEqual(whole.records.map((r) => r.position));
          expect(slices.flat().map((r) => (r.value === null ? null : Buffer.from(r.value).toString('hex')))).toEqual(
            whole.records.map((r) => (r.value === null ? null : Buffer.from(r.value).toString('hex'))),
          );
          // A slice stops at the first batch boundary after `slice` records, so it never exceeds
          // `slice` by more than one batch (at most 12 records here).
          for (const records of slices) expect(records.length).toBeLessThan(slice + 12);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reads a response of compressed batches far larger than its read-ahead, every record in order', async () => {
    // 24 batches of 40 incompressible 8 KiB values per codec: about 8 MiB compressed, eight
    // times the compressed input the reader inflates ahead of the decoding.
    const batches = Array.from({ length: 24 }, (_, i) => ({ compression: 1 + (i % 4), values: Array.from({ length: 40 }, () => randomBytes(8192)), withKeys: false }));
    const { bytes, expected } = await encode(batches, 1000);
    expect(bytes.length).toBeGreaterThan(7 * 1024 * 1024);
    const reader = new FetchedRecordReader('t', fetched(bytes), 1000, undefined);
    const got: string[] = [];
    for (let records = await reader.next(100); records.length > 0; records = await reader.next(100)) {
      for (const r of records) got.push(Buffer.from(r.value ?? []).toString('hex'));
    }
    expect(got).toEqual(expected.map((r) => (r.value ?? Buffer.alloc(0)).toString('hex')));
  });
});
