/**
 * What the Kafka source's parts share (kafka.ts puts them together): the options, the window
 * each partition is read in (fixed when the replay starts), where each partition's leader is,
 * and the error a replay that cannot start or cannot read its records ends with.
 */
import type { Admin } from 'kafkajs';
import type { Checkpoint, Coverage, RecordSource, SourceDamage } from '../source.js';
import type { ProgressReporting } from './file.js';
import type { KafkaConnection } from './kafka-client.js';

export interface KafkaWindow {
  /** Where each partition starts: its first retained record, or its first record at or after this time. */
  readonly from: 'beginning' | Date;
  /**
   * Where each partition stops (exclusive): its first record at or after this time. Default:
   * its high-water mark when the replay starts. Record time is the message timestamp, which
   * `produceLog` sets to the request's own timestamp.
   */
  readonly to?: Date;
}

export interface KafkaSourceOptions extends KafkaConnection {
  readonly topic: string;
  readonly window: KafkaWindow;
  /** Keep reading past the end (new records as they arrive) until `signal` aborts. */
  readonly follow?: boolean;
  /** Join this consumer group and read only the partitions Kafka assigns to this process. */
  readonly group?: string;
  /** Start each partition at the checkpoint's next offset instead of the window's start. */
  readonly resumeFrom?: Checkpoint;
  /** Ends the replay (cleanly, after the batch in hand): how a `follow` replay is stopped. */
  readonly signal?: AbortSignal;
  /** Largest fetch per partition; must exceed the largest message. Default 8 MiB. */
  readonly maxBytesPerPartition?: number;
}

/**
 * The replay could not start (no broker answered, the topic does not exist, a bad checkpoint),
 * or met records it cannot read (an unknown codec, corrupt data), which no resume would cure.
 */
export class KafkaSourceError extends Error {
  override readonly name = 'KafkaSourceError';
}

/** Where one partition is read from and to, fixed when the replay starts. */
export interface PartitionWindow {
  readonly partition: number;
  readonly start: number;
  /** Exclusive; undefined when following. */
  readonly end: number | undefined;
}

export interface KafkaSource extends RecordSource, ProgressReporting {
  /** The resume point after the last record handed out (see {@link SourceInterruptedError}). */
  checkpoint(): Checkpoint;
  /** The window per partition, once `batches()` has started (empty before). */
  windows(): readonly PartitionWindow[];
  /** Offset gaps met so far (see {@link SourceDamage}). */
  damage(): readonly SourceDamage[];
  /** Offset ranges handed out so far, per partition. */
  coverage(): Coverage;
}

/** Kafka's error code for a fetch below the log start (or beyond the end). */
export const OFFSET_OUT_OF_RANGE = 1;

/** A {@link KafkaSourceError} for records the broker served that cannot be read. */
export function unreadableError(options: Pick<KafkaSourceOptions, 'topic' | 'brokers'>, err: unknown): KafkaSourceError {
  return new KafkaSourceError(`cannot read topic ${options.topic} from Kafka at ${options.brokers.join(',')}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Start and end offset of every partition, as fixed when the replay starts. */
export async function planWindows(
  admin: Admin,
  topic: string,
  window: KafkaWindow,
  follow: boolean,
  resume: Checkpoint | undefined,
): Promise<{ plan: Map<number, PartitionWindow>; gaps: { partition: number; from: number; to: number }[] }> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) throw new KafkaSourceError(`topic ${topic} does not exist (topics are never created by a replay)`);
  const watermarks = await admin.fetchTopicOffsets(topic);
  const starts = new Map<number, number>();
  if (window.from === 'beginning') {
    for (const w of watermarks) starts.set(w.partition, Number(w.low));
  } else {
    for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, window.from.getTime())) starts.set(o.partition, Number(o.offset));
  }
  const ends = new Map<number, number>();
  if (window.to !== undefined) {
    for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, window.to.getTime())) ends.set(o.partition, Number(o.offset));
  } else {
    for (const w of watermarks) ends.set(w.partition, Number(w.high));
  }
  const resumeAt = resume?.kind === 'kafka' ? resume.nextOffsets : {};
  for (const key of Object.keys(resumeAt)) {
    if (!watermarks.some((w) => String(w.partition) === key)) throw new KafkaSourceError(`the checkpoint names partition ${key}, which topic ${topic} does not have`);
  }
  const plan = new Map<number, PartitionWindow>();
  const gaps: { partition: number; from: number; to: number }[] = [];
  for (const w of watermarks) {
    const resumed = resumeAt[String(w.partition)];
    const low = Number(w.low);
    let start = Math.max(low, starts.get(w.partition) ?? low);
    if (resumed !== undefined) {
      if (!/^\d+$/.test(resumed)) throw new KafkaSourceError(`the checkpoint's offset for partition ${w.partition} is not an offset: ${resumed}`);
      start = Math.max(start, Number(resumed));
    }
    const end = follow ? undefined : (ends.get(w.partition) ?? Number(w.high));
    // Retention may have deleted records past the checkpoint since the interrupted run.
    const gapEnd = end === undefined ? low : Math.min(low, end);
    if (resumed !== undefined && Number(resumed) < gapEnd) gaps.push({ partition: w.partition, from: Number(resumed), to: gapEnd });
    plan.set(w.partition, { partition: w.partition, start, end });
  }
  return { plan, gaps };
}

/** `host:port` of each partition's leader. */
export async function partitionLeaders(admin: Admin, topic: string): Promise<Map<number, string>> {
  const [{ brokers }, metadata] = await Promise.all([admin.describeCluster(), admin.fetchTopicMetadata({ topics: [topic] })]);
  const addresses = new Map(brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
  const leaders = new Map<number, string>();
  for (const p of metadata.topics[0]?.partitions ?? []) {
    const address = addresses.get(p.leader);
    if (address !== undefined) leaders.set(p.partitionId, address);
  }
  return leaders;
}

export function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), Number(address.slice(colon + 1))];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
