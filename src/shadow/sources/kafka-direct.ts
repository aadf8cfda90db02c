/**
 * The direct reader: without a consumer group there is nothing to coordinate, so the window is
 * fetched straight from the partition leaders with prio's own connection and decoder
 * (kafka-fetch.ts: TLS and SASL included), several times faster than kafkajs's consumer.
 * kafkajs's admin still answers the metadata questions (leaders, watermarks).
 */
import type { Admin } from 'kafkajs';
import { SourceInterruptedError, type SourceRecord } from '../source.js';
import type { CheckpointTracker } from './kafka-checkpoint.js';
import { describeKafkaError } from './kafka-client.js';
import { FetchConnection, FetchedRecordReader, KafkaAuthenticationError, PartitionFetchError, type FetchedPartition, type FetchPartition } from './kafka-fetch.js';
import { KafkaSourceError, OFFSET_OUT_OF_RANGE, partitionLeaders, sleep, splitHostPort, unreadableError, type KafkaSourceOptions } from './kafka-plan.js';

/**
 * Records per batch handed out by the direct fetch path (whole record batches, so a little
 * more): small enough that a slice's objects die young, large enough that the replay's
 * per-batch work stays negligible.
 */
const DECODE_SLICE_RECORDS = 1024;

export interface DirectReaderContext {
  readonly options: KafkaSourceOptions;
  readonly admin: Admin;
  /** Planned already (its `plan` set, resumed gaps recorded). */
  readonly tracker: CheckpointTracker;
}

/**
 * Without a group there is nothing to coordinate: fetch the window straight from the
 * partition leaders (see kafka-fetch.ts) and hand batches out as they are decoded. The next
 * fetch is sent before a batch is handed out, so the broker works while the replay does.
 */
export async function* readDirect(context: DirectReaderContext): AsyncGenerator<readonly SourceRecord[]> {
  const { options, admin, tracker } = context;
  const { topic } = options;
  const follow = options.follow ?? false;
  const { plan, delivered } = tracker;
  const unreadable = (err: unknown) => unreadableError(options, err);
  const retries = options.retries ?? 5;
  const clientId = options.clientId ?? 'prio-shadow';
  const next = new Map<number, number>();
  const maxBytes = new Map<number, number>();
  for (const w of plan.values()) {
    next.set(w.partition, delivered.get(w.partition) ?? w.start);
    maxBytes.set(w.partition, options.maxBytesPerPartition ?? 8 * 1024 * 1024);
  }
  let leaders = await partitionLeaders(admin, topic);
  const connections = new Map<string, FetchConnection>();
  const closeAll = () => {
    for (const c of connections.values()) c.close();
    connections.clear();
  };
  const onAbort = () => closeAll();
  options.signal?.addEventListener('abort', onAbort);
  const open = () => [...plan.values()].filter((w) => w.end === undefined || (next.get(w.partition) ?? 0) < w.end).map((w) => w.partition);
  // The checkpoint is taken when the loss reaches the replay (below), not when a prefetch
  // notices it: batches handed out in between belong before the checkpoint.
  const lost = (cause: unknown) => new LostKafka(cause);

  /**
   * One fetch from every leader of an unfinished partition; retried (new connections, new
   * leaders) before giving up. A partition whose next offset retention has deleted meanwhile
   * (OFFSET_OUT_OF_RANGE below the log start) moves on to the log start, and the gap is
   * returned with the round: it takes effect once the round's turn comes, after every record
   * fetched before it was handed out, so the checkpoint never counts a gap twice.
   */
  const fetchRound = async (): Promise<{ fetched: FetchedPartition[]; gaps: { partition: number; from: number; to: number }[] }> => {
    const gaps: { partition: number; from: number; to: number }[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        const byLeader = new Map<string, FetchPartition[]>();
        for (const partition of open()) {
          const leader = leaders.get(partition);
          if (leader === undefined) throw new PartitionFetchError(partition, 5);
          const list = byLeader.get(leader) ?? [];
          list.push({ partition, offset: next.get(partition) ?? 0, maxBytes: maxBytes.get(partition) ?? 0 });
          byLeader.set(leader, list);
        }
        const responses = await Promise.all(
          [...byLeader].map(([leader, partitions]) => {
            let connection = connections.get(leader);
            if (connection === undefined) {
              const [host, port] = splitHostPort(leader);
              connection = new FetchConnection(host, port, clientId, 30_000, options.security);
              connections.set(leader, connection);
            }
            return connection.fetch(topic, partitions, follow ? 500 : 100, 32 * 1024 * 1024);
          }),
        );
        const fetched = responses.flat();
        const outOfRange = fetched.filter((f) => f.errorCode === OFFSET_OUT_OF_RANGE);
        if (outOfRange.length > 0 && (await skipDeleted(outOfRange.map((f) => f.partition), gaps))) {
          attempt -= 1;
          continue;
        }
        const failed = fetched.find((f) => f.errorCode !== 0);
        if (failed !== undefined) throw new PartitionFetchError(failed.partition, failed.errorCode);
        return { fetched, gaps };
      } catch (err) {
        closeAll();
        if (options.signal?.aborted) return { fetched: [], gaps };
        if (err instanceof LostKafka) throw err;
        // Refused credentials or a non-retriable partition error: no retry or resume can cure it.
        if (err instanceof KafkaAuthenticationError || (err instanceof PartitionFetchError && !err.retriable)) {
          throw new KafkaSourceError(`cannot read topic ${topic} from Kafka at ${options.brokers.join(',')}: ${err.message}`, { cause: err });
        }
        if (attempt >= retries) throw lost(err);
        await sleep(Math.min(2000, 200 * 2 ** attempt));
        // A partition moved to another leader: ask the cluster again (a lost broker fails here too).
        if (err instanceof PartitionFetchError) leaders = await partitionLeaders(admin, topic).catch((e: unknown) => Promise.reject(lost(e)));
      }
    }
  };

  /** Moves partitions whose next offset is below the log start to it; false when none was (another cause). */
  const skipDeleted = async (partitions: readonly number[], gaps: { partition: number; from: number; to: number }[]): Promise<boolean> => {
    let moved = false;
    const watermarks = await admin.fetchTopicOffsets(topic).catch((e: unknown) => Promise.reject(lost(e)));
    for (const partition of partitions) {
      const low = Number(watermarks.find((w) => w.partition === partition)?.low ?? -1);
      const from = next.get(partition) ?? 0;
      if (low <= from) continue;
      const end = plan.get(partition)?.end;
      const to = end === undefined ? low : Math.min(low, end);
      gaps.push({ partition, from, to });
      next.set(partition, to);
      moved = true;
    }
    return moved;
  };

  try {
    let pending: Promise<{ fetched: FetchedPartition[]; gaps: { partition: number; from: number; to: number }[] }> | undefined = open().length > 0 ? fetchRound() : undefined;
    while (pending !== undefined) {
      let fetched: FetchedPartition[];
      try {
        const round = await pending;
        fetched = round.fetched;
        for (const g of round.gaps) {
          tracker.gap(g.partition, g.from, g.to, 'while the replay read the partition');
          delivered.set(g.partition, g.to);
        }
      } catch (err) {
        if (!(err instanceof LostKafka)) throw err;
        throw new SourceInterruptedError(
          `lost Kafka at ${options.brokers.join(',')} while reading topic ${topic}: ${describeKafkaError(err.cause)}`,
          tracker.checkpoint(),
          { cause: err.cause },
        );
      }
      const ready: FetchedRecordReader[] = [];
      for (const f of fetched) {
        const from = next.get(f.partition) ?? 0;
        const reader = new FetchedRecordReader(topic, f, from, plan.get(f.partition)?.end);
        if (reader.nextOffset > from) next.set(f.partition, reader.nextOffset);
        else if (f.records !== null && f.records.length > 0) {
          // Only part of one batch fit: the batch is larger than the fetch size. Ask for more.
          maxBytes.set(f.partition, Math.min(256 * 1024 * 1024, 2 * (maxBytes.get(f.partition) ?? 0)));
        }
        ready.push(reader);
      }
      const more = !options.signal?.aborted && open().length > 0;
      pending = more ? fetchRound() : undefined;
      // Handled when awaited; never an unhandled rejection if the replay stops first.
      pending?.catch(() => undefined);
      // Decoded a slice at a time while the next fetch is under way (see FetchedRecordReader).
      for (const reader of ready) {
        const next = () => reader.next(DECODE_SLICE_RECORDS).catch((err: unknown) => Promise.reject(unreadable(err)));
        for (let records = await next(); records.length > 0; records = await next()) {
          tracker.corrupt(reader.takeCorrupt());
          tracker.markDelivered(records);
          yield records;
        }
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    closeAll();
  }
}

/** A broker lost for good during a direct read; becomes a SourceInterruptedError with the checkpoint of that moment. */
class LostKafka extends Error {
  constructor(override readonly cause: unknown) {
    super('lost Kafka', { cause });
  }
}
