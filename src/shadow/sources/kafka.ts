/**
 * Kafka source: replays a topic (or a time window of it) as raw message values with their
 * partition and offset. Values pass through untouched — a null tombstone or a binary value
 * reaches the replay, which quarantines it — so nothing read is lost or altered.
 *
 * Bounded by default: the end of every partition is fixed when the replay starts (the
 * high-water marks then, or the offsets for `window.to`), so a replay of a live topic still
 * ends and its report describes a definite set of records. `follow` keeps reading instead.
 *
 * Two read paths. Alone (no group), the source fetches straight from the partition leaders
 * through kafka-fetch.ts, which decodes several times faster than kafkajs's consumer; kafkajs
 * still answers every metadata question (partitions, leaders, watermarks, offsets-for-times).
 * In a group, kafkajs's consumer does the group membership, as below, and the records are read
 * again through the same decoder (kafka-range.ts: kafkajs 2.2.4 filters aborted transactions
 * wrongly).
 *
 * Consumer groups (`group`): N processes with the same group id split the partitions. Kafka
 * moves partitions between members whenever one joins or leaves, so a member may lose a
 * partition half-way. Each member therefore commits a batch's offsets to the group *before*
 * handing the batch to the replay: a batch is either counted by this member (commit succeeded)
 * or left for the partition's next owner (commit refused because the group is rebalancing),
 * never both, never neither. The next owner starts at the committed offset. A member stops
 * once every partition it holds has reached its end; leaving hands whatever it held to the
 * others, who find those partitions already complete. Members do not wait for the group to
 * settle first: with handover by commit, any sequence of joins and leaves gives the same
 * union, and waiting would only add a timeout to tune. See docs/kafka.md.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { type Checkpoint, type Coverage, type RecordSource, type SourceDamage, SourceInterruptedError, type SourceRecord } from '../source.js';
import type { ProgressReporting, SourceProgress } from './file.js';
import { describeKafkaError, kafkaClient, type KafkaConnection } from './kafka-client.js';
import { FetchConnection, FetchedRecordReader, PartitionFetchError, type CorruptBatch, type FetchedPartition, type FetchPartition } from './kafka-fetch.js';
import { PartitionRangeReader, UnreadableRecordsError, type OffsetGap } from './kafka-range.js';

/**
 * Records per batch handed out by the direct fetch path (whole record batches, so a little
 * more): small enough that a slice's objects die young, large enough that the replay's
 * per-batch work stays negligible.
 */
const DECODE_SLICE_RECORDS = 1024;

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
const OFFSET_OUT_OF_RANGE = 1;

export function kafkaSource(options: KafkaSourceOptions): KafkaSource {
  const { topic, window, group } = options;
  const follow = options.follow ?? false;
  if (!topic) throw new RangeError('a Kafka topic is required');
  if (follow && window.to !== undefined) throw new RangeError('follow and an end time exclude each other: a followed replay has no end');
  if (window.to !== undefined && window.from !== 'beginning' && window.to.getTime() < window.from.getTime()) {
    throw new RangeError(`the window ends (${window.to.toISOString()}) before it starts (${window.from.toISOString()})`);
  }
  const resume = options.resumeFrom;
  if (resume !== undefined && (resume.kind !== 'kafka' || resume.topic !== topic)) {
    const what = resume.kind === 'kafka' ? `topic ${resume.topic}` : `a ${resume.kind} source`;
    throw new RangeError(`the checkpoint belongs to ${what}, not to topic ${topic}`);
  }
  const label = `kafka:${topic}@${options.brokers.join(',')}${group ? `#${group}` : ''}`;

  let plan = new Map<number, PartitionWindow>();
  /** Next offset to hand out per partition: what the checkpoint says. */
  const delivered = new Map<number, number>();
  /** Partitions this process has held at some point (a group member reports only those). */
  const held = new Set<number>();
  let deliveredRecords = 0;
  /** Offset gaps met so far: records retention deleted before this replay read them. */
  const damage: SourceDamage[] = [];
  /** Records a gap: from `from` (the next offset this replay wanted) to `to` (where the partition now starts). */
  function gap(partition: number, from: number, to: number, when: string): void {
    damage.push({
      kind: 'offset-gap',
      where: `${topic}/${partition}`,
      detail: `offsets ${from} to ${to - 1} were deleted (retention ran ahead of the replay) ${when}`,
      recordsLost: to - from,
      bytesLost: null,
    });
  }

  /** Records a batch that failed its CRC-32C check (its quarantine record is handed out with it). */
  function corrupt(batches: readonly CorruptBatch[]): void {
    for (const c of batches) damage.push({ kind: 'corrupt-batch', where: `${topic}/${c.partition}`, detail: c.detail, recordsLost: c.records, bytesLost: c.bytes });
  }

  function checkpoint(): Checkpoint {
    const nextOffsets: Record<string, string> = {};
    for (const w of [...plan.values()].sort((a, b) => a.partition - b.partition)) {
      if (group !== undefined && !held.has(w.partition)) continue;
      nextOffsets[String(w.partition)] = String(delivered.get(w.partition) ?? w.start);
    }
    return { kind: 'kafka', topic, nextOffsets };
  }

  /** Offset ranges handed out per partition, adjacent ones joined (see {@link Coverage}). */
  const covered = new Map<number, [number, number][]>();

  /** Moves the checkpoint past a batch about to be handed out (its last record ends each partition's run). */
  function markDelivered(records: readonly SourceRecord[]): void {
    const first = records[0];
    const last = records[records.length - 1];
    if (first !== undefined && last !== undefined && first.position.kind === 'kafka' && last.position.kind === 'kafka') {
      const partition = last.position.partition;
      const to = Number(last.position.offset) + 1;
      // Alone, a partition is read from its start without anyone else: one range. In a group
      // another member may read between two batches: a batch joins the range before it only
      // when it starts where that range ends.
      const from = group === undefined ? (delivered.get(partition) ?? plan.get(partition)?.start ?? Number(first.position.offset)) : Number(first.position.offset);
      const ranges = covered.get(partition) ?? [];
      const previous = ranges[ranges.length - 1];
      if (previous !== undefined && previous[1] === from) previous[1] = to;
      else ranges.push([from, to]);
      covered.set(partition, ranges);
      delivered.set(partition, to);
    }
    deliveredRecords += records.length;
  }

  function unreadable(err: unknown): KafkaSourceError {
    return new KafkaSourceError(`cannot read topic ${topic} from Kafka at ${options.brokers.join(',')}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  function coverage(): Coverage {
    const partitions: Record<string, [number, number][]> = {};
    for (const [p, ranges] of [...covered].sort((a, b) => a[0] - b[0])) partitions[String(p)] = ranges.map(([a, b]) => [a, b]);
    return { kind: 'offsets', topic, partitions };
  }

  function progress(): SourceProgress {
    let total: number | undefined = 0;
    for (const w of plan.values()) total = w.end === undefined || total === undefined ? undefined : total + Math.max(0, w.end - w.start);
    // A group member reads an unknown share of the topic; a followed topic has no end.
    return { done: deliveredRecords, total: group === undefined ? total : undefined, unit: 'records' };
  }

  async function* batches(): AsyncGenerator<readonly SourceRecord[]> {
    if (options.signal?.aborted) return;
    const kafka = kafkaClient({ ...options, clientId: options.clientId ?? 'prio-shadow' });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const planned = await planWindows(admin, topic, window, follow, resume);
      plan = planned.plan;
      for (const g of planned.gaps) {
        gap(g.partition, g.from, g.to, 'before the resumed replay started');
        // The resume point moves past the gap: an interrupted resume must not count it again.
        delivered.set(g.partition, g.to);
      }
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      if (err instanceof KafkaSourceError) throw err;
      throw new KafkaSourceError(`cannot read topic ${topic} from Kafka at ${options.brokers.join(',')}: ${describeKafkaError(err)}`, { cause: err });
    }
    if (group === undefined) {
      try {
        yield* readDirect(admin);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      return;
    }
    const channel = new BatchChannel();
    const onAbort = () => channel.close();
    options.signal?.addEventListener('abort', onAbort);
    const consumer = startConsumer(kafka, admin, channel);
    try {
      await consumer.started;
      for (;;) {
        const next = await channel.next();
        if (next.kind === 'end') return;
        if (next.kind === 'unreadable') throw next.cause;
        if (next.kind === 'failed') {
          throw new SourceInterruptedError(
            `lost Kafka at ${options.brokers.join(',')} while reading topic ${topic}: ${describeKafkaError(next.cause)}`,
            checkpoint(),
            { cause: next.cause },
          );
        }
        // Counted as delivered before the replay sees it: the replay asks for the next batch
        // only once this one is aggregated, so the checkpoint never skips or repeats a record.
        const records = next.records;
        markDelivered(records);
        yield records;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      channel.dispose();
      consumer.ranges.close();
      await consumer.consumer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Without a group there is nothing to coordinate: fetch the window straight from the
   * partition leaders (see kafka-fetch.ts) and hand batches out as they are decoded. The next
   * fetch is sent before a batch is handed out, so the broker works while the replay does.
   */
  async function* readDirect(admin: Admin): AsyncGenerator<readonly SourceRecord[]> {
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
          if (err instanceof PartitionFetchError && !err.retriable) {
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
            gap(g.partition, g.from, g.to, 'while the replay read the partition');
            delivered.set(g.partition, g.to);
          }
        } catch (err) {
          if (!(err instanceof LostKafka)) throw err;
          throw new SourceInterruptedError(
            `lost Kafka at ${options.brokers.join(',')} while reading topic ${topic}: ${describeKafkaError(err.cause)}`,
            checkpoint(),
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
            corrupt(reader.takeCorrupt());
            markDelivered(records);
            yield records;
          }
        }
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      closeAll();
    }
  }

  function startConsumer(kafka: Kafka, admin: Admin, channel: BatchChannel): { consumer: Consumer; ranges: PartitionRangeReader; started: Promise<void> } {
    const groupId = group ?? `prio-shadow-${randomUUID()}`;
    const retries = options.retries ?? 5;
    const ranges = new PartitionRangeReader({
      topic,
      clientId: options.clientId ?? 'prio-shadow',
      leaders: () => partitionLeaders(admin, topic),
      retries,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 8 * 1024 * 1024,
      ...(options.security === undefined ? {} : { security: options.security }),
      logStart: async (partition) => Number((await admin.fetchTopicOffsets(topic)).find((w) => w.partition === partition)?.low ?? -1),
    });
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      // kafkajs's batches only say which offsets this member owns (the records are read again
      // through kafka-range.ts); read_uncommitted keeps its faulty aborted-transaction filter
      // from emptying a batch, which would then never reach eachBatch.
      readUncommitted: true,
      // Its batches only announce ownership; the broker still sends at least one whole batch.
      maxBytesPerPartition: Math.min(64 * 1024, options.maxBytesPerPartition ?? 8 * 1024 * 1024),
      maxBytes: 32 * 1024 * 1024,
      // A bounded replay is done when its partitions reach their ends; a long fetch wait
      // would only delay noticing the last records of a quiet partition.
      maxWaitTimeInMs: 250,
      heartbeatInterval: 1000,
      // kafkajs restarts a crashed consumer forever by default; a lost broker must surface.
      retry: { retries, initialRetryTime: 200, maxRetryTime: 2000, restartOnFailure: () => Promise.resolve(false) },
    });
    /** Next offset to fetch per partition this process holds now. */
    const fetchNext = new Map<number, number>();
    let assigned = new Set<number>();
    let ready: Promise<void> = Promise.resolve();

    const endOf = (partition: number) => plan.get(partition)?.end ?? (follow ? undefined : 0);
    const isComplete = (partition: number) => {
      const end = endOf(partition);
      return end !== undefined && (fetchNext.get(partition) ?? 0) >= end;
    };
    const finishIfComplete = () => {
      if (!follow && [...assigned].every(isComplete)) channel.close();
    };

    const onAssignment = async (partitions: readonly number[]) => {
      assigned = new Set(partitions);
      const committed = group === undefined ? new Map<number, number>() : await committedOffsets(admin, groupId, topic);
      for (const partition of partitions) {
        held.add(partition);
        const start = plan.get(partition)?.start ?? 0;
        // In a group the committed offset is where the previous owner stopped; alone, where
        // this process got to before a rejoin. Never before the window's start.
        const reached = group === undefined ? fetchNext.get(partition) : committed.get(partition);
        const next = Math.max(start, reached ?? start);
        fetchNext.set(partition, next);
        // Rejoins happen between batches, after the last pushed batch was handed out, so `next`
        // is also where this process's own deliveries for the partition end.
        delivered.set(partition, next);
        if (group === undefined || committed.get(partition) !== next) consumer.seek({ topic, partition, offset: String(next) });
        if (isComplete(partition)) consumer.pause([{ topic, partitions: [partition] }]);
      }
      finishIfComplete();
    };

    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      ready = onAssignment(event.payload.memberAssignment[topic] ?? []);
      ready.catch((err: unknown) => channel.fail(err));
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const error = event.payload.error;
      // A codec kafkajs does not know is no lost broker: resuming would meet it again.
      if (error.name === 'KafkaJSNotImplemented') channel.abort(unreadable(error));
      else channel.fail(error);
    });

    const eachBatch = async ({ batch, isRunning, isStale, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload) => {
      await ready;
      const partition = batch.partition;
      if (!isRunning() || isStale() || !assigned.has(partition) || isComplete(partition)) return;
      const from = fetchNext.get(partition) ?? 0;
      const end = endOf(partition);
      // The batch may end in records kafkajs does not hand out (transaction markers): move past
      // them too, or a partition ending in a marker would never complete.
      let after = Math.min(Number(batch.lastOffset()) + 1, end ?? Number.POSITIVE_INFINITY);
      if (after <= from) return;
      const kafkajsNext = after;
      // kafkajs's records are not used: the committed ones from `from` on are read again, at
      // least as far as kafkajs's batch went, and as far as a fetch of the decoder's brings.
      let slices: SourceRecord[][];
      let corruptBatches: CorruptBatch[];
      let gaps: OffsetGap[];
      try {
        ({ slices, next: after, corrupt: corruptBatches, gaps } = await ranges.read(partition, from, after, end ?? Number.POSITIVE_INFINITY, heartbeat));
      } catch (err) {
        if (!(err instanceof UnreadableRecordsError || (err instanceof PartitionFetchError && !err.retriable))) throw err;
        channel.abort(unreadable(err));
        return;
      }
      if (!isRunning() || isStale() || !assigned.has(partition)) return;
      // Commit first: if the group is rebalancing this throws, kafkajs rejoins, and the batch
      // goes to whoever owns the partition next, from this same offset.
      if (group !== undefined && slices.length > 0) await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(after) }] }] });
      fetchNext.set(partition, after);
      if (isComplete(partition)) consumer.pause([{ topic, partitions: [partition] }]);
      else if (after > kafkajsNext) consumer.seek({ topic, partition, offset: String(after) });
      // The batch is this member's now (committed): so is any damage found in it. A gap moves
      // the resume point past it, as on the direct path, so an interrupted resume does not
      // count it again; the records before it were handed out already (push waits for that).
      for (const g of gaps) {
        gap(g.partition, g.from, g.to, 'while the replay read the partition');
        delivered.set(g.partition, g.to);
      }
      corrupt(corruptBatches);
      for (const records of slices) await channel.push(records);
      finishIfComplete();
      if (isRunning()) await heartbeat();
    };
    // A fetch holding nothing but markers or aborted records never reaches eachBatch; kafkajs
    // reports it (batchSize 0) with the offset it moved to.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { partition, batchSize, lastOffset } = event.payload;
      if (event.payload.topic !== topic || batchSize !== 0 || !assigned.has(partition)) return;
      const end = endOf(partition);
      const after = Math.min(Number(lastOffset) + 1, end ?? Number.POSITIVE_INFINITY);
      if (after <= (fetchNext.get(partition) ?? 0)) return;
      fetchNext.set(partition, after);
      if (isComplete(partition)) consumer.pause([{ topic, partitions: [partition] }]);
      finishIfComplete();
    });

    const started = (async () => {
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch });
      } catch (err) {
        throw new KafkaSourceError(`cannot consume topic ${topic} from Kafka at ${options.brokers.join(',')}: ${describeKafkaError(err)}`, { cause: err });
      }
    })();
    return { consumer, ranges, started };
  }

  return { label, batches, checkpoint, progress, windows: () => [...plan.values()], damage: () => damage, coverage };
}

/** Start and end offset of every partition, as fixed when the replay starts. */
async function planWindows(
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

/** A broker lost for good during a direct read; becomes a SourceInterruptedError with the checkpoint of that moment. */
class LostKafka extends Error {
  constructor(override readonly cause: unknown) {
    super('lost Kafka', { cause });
  }
}

/** `host:port` of each partition's leader. */
async function partitionLeaders(admin: Admin, topic: string): Promise<Map<number, string>> {
  const [{ brokers }, metadata] = await Promise.all([admin.describeCluster(), admin.fetchTopicMetadata({ topics: [topic] })]);
  const addresses = new Map(brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
  const leaders = new Map<number, string>();
  for (const p of metadata.topics[0]?.partitions ?? []) {
    const address = addresses.get(p.leader);
    if (address !== undefined) leaders.set(p.partitionId, address);
  }
  return leaders;
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), Number(address.slice(colon + 1))];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const committed = new Map<number, number>();
  for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
    for (const p of t.partitions) if (Number(p.offset) >= 0) committed.set(p.partition, Number(p.offset));
  }
  return committed;
}

type ChannelItem =
  | { readonly kind: 'batch'; readonly records: readonly SourceRecord[] }
  | { readonly kind: 'end' }
  | { readonly kind: 'failed'; readonly cause: unknown }
  | { readonly kind: 'unreadable'; readonly cause: Error };

/**
 * Hands batches from kafkajs's push-style callback to the pull-style iterator one at a time:
 * `push` resolves only once the batch is taken, so kafkajs fetches no further ahead than the
 * replay reads (bounded memory). A failure is reported after the batches already accepted.
 */
class BatchChannel {
  private readonly queue: { records: readonly SourceRecord[]; taken: () => void }[] = [];
  private waiting: ((item: ChannelItem) => void) | undefined;
  private closed = false;
  private failure: { cause: unknown; unreadable: boolean } | undefined;

  push(records: readonly SourceRecord[]): Promise<void> {
    if (this.closed || this.failure) return Promise.resolve();
    return new Promise((taken) => {
      this.queue.push({ records, taken });
      this.wake();
    });
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Ends the channel for good, releasing every waiting `push` so kafkajs can stop. */
  dispose(): void {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.taken();
    this.wake();
  }

  fail(cause: unknown): void {
    if (this.closed || this.failure) return;
    this.failure = { cause, unreadable: false };
    this.wake();
  }

  /** Ends the replay with an error no resume can cure (records that cannot be read). */
  abort(cause: Error): void {
    if (this.closed || this.failure) return;
    this.failure = { cause, unreadable: true };
    this.wake();
  }

  next(): Promise<ChannelItem> {
    const item = this.take();
    if (item) return Promise.resolve(item);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  private take(): ChannelItem | undefined {
    const head = this.queue.shift();
    if (head) {
      head.taken();
      return { kind: 'batch', records: head.records };
    }
    if (this.failure) return this.failure.unreadable ? { kind: 'unreadable', cause: this.failure.cause as Error } : { kind: 'failed', cause: this.failure.cause };
    if (this.closed) return { kind: 'end' };
    return undefined;
  }

  private wake(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    const item = this.take();
    if (!item) return;
    this.waiting = undefined;
    waiting(item);
  }
}
