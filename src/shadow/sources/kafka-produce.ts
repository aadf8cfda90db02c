/**
 * Loads an NDJSON request log (optionally .gz) into a Kafka topic, as production would have
 * written it: one message per line, keyed by the request's accountId so one account's records
 * stay in order within one partition, timestamped with the request's own time so a replay can
 * select a time window through offsets-for-times. Lines are sent as they are — malformed JSON,
 * invalid UTF-8 and records over the replay's 1 MiB limit included — so a salted log reaches
 * the replay through Kafka exactly as through the file. Blank lines are skipped, as the file
 * source skips them. A line too large for the topic itself cannot be sent: it is skipped and
 * reported with its line number, never dropped silently.
 */
import type { Readable } from 'node:stream';
import kafkajs, { Partitioners, type Admin, type Message } from 'kafkajs';
import { FileReadError } from '../../config/index.js';
import { timestampMs } from '../core/record.js';
import { describeKafkaError, kafkaClient, type KafkaConnection } from './kafka-client.js';
import { KafkaSourceError } from './kafka.js';
import { CODEC_NAMES, type KafkaCodec } from './kafka-codecs.js';
import { fileSource } from './file.js';
import { rawNdjsonLines } from './lines.js';

export interface ProduceLogOptions extends KafkaConnection {
  /** The NDJSON log (.gz by name or content, a named pipe, or - for stdin). */
  readonly file: string;
  /** What `-` reads (default process.stdin); for tests. */
  readonly stdin?: Readable;
  readonly topic: string;
  /** Partitions of the topic when it has to be created (an existing topic keeps its own). Default 1. */
  readonly partitions?: number;
  /** max.message.bytes of a topic created here: room for records over the replay's 1 MiB limit. Default 4 MiB. */
  readonly maxMessageBytes?: number;
  /** Compression of the record batches sent (as production producers often set it). Default none. */
  readonly compression?: KafkaCodec;
  /** Called after each batch with the messages and value bytes sent so far. */
  readonly onProgress?: (produced: number, bytes: number) => void;
}

export interface SkippedLine {
  readonly line: number;
  readonly bytes: number;
  readonly reason: string;
}

export interface ProduceLogResult {
  readonly topic: string;
  /** Whether this call created the topic. */
  readonly created: boolean;
  readonly partitions: number;
  /** Messages written. */
  readonly produced: number;
  /** Value bytes written. */
  readonly bytes: number;
  /** Messages per partition. */
  readonly perPartition: Readonly<Record<string, number>>;
  /** Lines that could not be written (larger than the topic accepts). */
  readonly skipped: readonly SkippedLine[];
}

/** Bytes sent per request: large enough to amortise the round trip, small enough for any topic. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_MESSAGES = 10_000;
/** What a record batch adds around one message (headers, key, timestamps), generously. */
const MESSAGE_OVERHEAD_BYTES = 1024;

export async function produceLog(options: ProduceLogOptions): Promise<ProduceLogResult> {
  const { topic, file } = options;
  const requestedPartitions = options.partitions ?? 1;
  if (!Number.isInteger(requestedPartitions) || requestedPartitions < 1) throw new RangeError(`partitions must be a positive integer, got ${requestedPartitions}`);
  // A missing file or a directory fails here, before any connection (the reader itself opens later, once the topic's size limit is known).
  fileSource(file, options.stdin === undefined ? {} : { stdin: options.stdin });
  const kafka = kafkaClient({ ...options, clientId: options.clientId ?? 'prio-produce' });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  let topicInfo: { created: boolean; partitions: number; maxMessageBytes: number };
  try {
    await admin.connect();
    topicInfo = await ensureTopic(admin, topic, requestedPartitions, options.maxMessageBytes ?? 4 * 1024 * 1024);
    await producer.connect();
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    throw new KafkaSourceError(`cannot write topic ${topic} to Kafka at ${options.brokers.join(',')}: ${describeKafkaError(err)}`, { cause: err });
  }

  const perPartition: Record<string, number> = {};
  const skipped: SkippedLine[] = [];
  let produced = 0;
  let bytes = 0;
  let sentBytes = 0;
  let pending: Message[] = [];
  let pendingBytes = 0;
  /** Keyless lines (no readable accountId) are spread round-robin, deterministically. */
  let keylessCount = 0;
  /** A line without a readable timestamp takes its predecessor's, so it stays in its time window. */
  let lastTimestamp = Date.now();
  const limit = topicInfo.maxMessageBytes - MESSAGE_OVERHEAD_BYTES;
  const partitionMetadata = partitionList(topicInfo.partitions);
  const partitionOf = Partitioners.DefaultPartitioner();

  const flush = async () => {
    if (pending.length === 0) return;
    await producer.send({ topic, messages: pending, acks: -1, compression: CODEC_NAMES.indexOf(options.compression ?? 'none') });
    produced += pending.length;
    sentBytes += pendingBytes;
    pending = [];
    pendingBytes = 0;
    options.onProgress?.(produced, sentBytes);
  };

  try {
    // Lines over the topic's limit are never buffered whole: the reader counts their bytes and hands their size.
    const reader = rawNdjsonLines(file, { maxRecordBytes: limit, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) });
    for await (const { line, bytes: value, problem, oversizedBytes } of reader) {
      if (oversizedBytes !== undefined) {
        skipped.push({ line, bytes: oversizedBytes, reason: `larger than topic ${topic} accepts (max.message.bytes ${topicInfo.maxMessageBytes})` });
        continue;
      }
      // A truncated or corrupt .gz: what follows the damage cannot be sent, so the load fails as an unreadable file.
      if (problem !== undefined) throw new FileReadError(file, new Error(problem));
      const { accountId, timestamp } = peek(value);
      if (timestamp !== undefined) lastTimestamp = timestamp;
      const message: Message = { value: Buffer.from(value.buffer, value.byteOffset, value.length), timestamp: String(lastTimestamp) };
      let partition: number;
      if (accountId !== undefined) {
        message.key = accountId;
        partition = partitionOf({ topic, partitionMetadata, message });
      } else {
        partition = keylessCount++ % topicInfo.partitions;
      }
      // The partition is chosen here (the same murmur2 choice kafkajs and Java clients make for
      // a key) so the per-partition counts in the result are exact.
      message.partition = partition;
      perPartition[String(partition)] = (perPartition[String(partition)] ?? 0) + 1;
      if (pendingBytes + value.length > BATCH_BYTES || pending.length >= BATCH_MESSAGES) await flush();
      pending.push(message);
      pendingBytes += value.length;
      bytes += value.length;
    }
    await flush();
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    throw new KafkaSourceError(`writing topic ${topic} failed after ${produced} messages: ${describeKafkaError(err)}`, { cause: err });
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return { topic, created: topicInfo.created, partitions: topicInfo.partitions, produced, bytes, perPartition, skipped };
}

/** Creates `topic` unless it exists (kept forever: records keep their request time); says what the topic has. */
export async function ensureTopic(admin: Admin, topic: string, partitions: number, maxMessageBytes: number) {
  const exists = (await admin.listTopics()).includes(topic);
  if (!exists) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: partitions,
          configEntries: [
            { name: 'max.message.bytes', value: String(maxMessageBytes) },
            // Records keep their request time, which may be long past: time-based retention
            // would delete a loaded log at once. The topic keeps it until it is deleted.
            { name: 'retention.ms', value: '-1' },
          ],
        },
      ],
    });
  }
  const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
  });
  const configured = configs.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue;
  return {
    created: !exists,
    partitions: metadata?.partitions.length ?? partitions,
    maxMessageBytes: configured !== undefined && Number(configured) > 0 ? Number(configured) : maxMessageBytes,
  };
}

function partitionList(count: number) {
  return Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
}

/**
 * The accountId (partition key) and timestamp of a line, when it is JSON that has them, read by
 * the record validator's rules (record.ts): a message carries the request's time exactly when
 * the replay would read one from the same line. A line that is otherwise no valid record keeps
 * its key and time (the replay quarantines it wherever it lands).
 */
function peek(value: Uint8Array): { accountId?: string; timestamp?: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8'));
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const record = parsed as { accountId?: unknown; timestamp?: unknown };
  const accountId = typeof record.accountId === 'string' && record.accountId.length > 0 ? record.accountId : undefined;
  const ms = timestampMs(record.timestamp);
  // Kafka timestamps are non-negative; ISO times before 1970 are valid records but get the broker's time.
  const timestamp = ms !== undefined && ms >= 0 ? ms : undefined;
  return { ...(accountId !== undefined ? { accountId } : {}), ...(timestamp !== undefined ? { timestamp } : {}) };
}
