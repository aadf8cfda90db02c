/**
 * The group reader: N processes with the same group id split the partitions. kafkajs's consumer
 * keeps the group protocol (membership, assignments, commits, the handover between members);
 * the records themselves are read again through prio's decoder (kafka-range.ts), because
 * kafkajs 2.2.4 filters aborted transactions wrongly.
 *
 * Kafka moves partitions between members whenever one joins or leaves, so a member may lose a
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
import kafkajs, { type Admin, type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { HandOff } from '../hand-off.js';
import { SourceInterruptedError, type SourceRecord } from '../source.js';
import type { CheckpointTracker } from './kafka-checkpoint.js';
import { describeKafkaError } from './kafka-client.js';
import { KafkaAuthenticationError, PartitionFetchError, type CorruptBatch } from './kafka-fetch.js';
import { KafkaSourceError, partitionLeaders, unreadableError, type KafkaSourceOptions } from './kafka-plan.js';
import { PartitionRangeReader, UnreadableRecordsError, type OffsetGap } from './kafka-range.js';

export interface GroupReaderContext {
  readonly options: KafkaSourceOptions;
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** Planned already (its `plan` set, resumed gaps recorded). */
  readonly tracker: CheckpointTracker;
}

/**
 * Joins the group (or a private throw-away one) and hands out the batches this member commits,
 * then leaves it and disconnects the admin client.
 */
export async function* readGroup(context: GroupReaderContext): AsyncGenerator<readonly SourceRecord[]> {
  const { options, admin, tracker } = context;
  const { topic } = options;
  const channel = new BatchChannel();
  const onAbort = () => channel.end();
  options.signal?.addEventListener('abort', onAbort);
  const consumer = startConsumer(context, channel);
  try {
    await consumer.started;
    for (;;) {
      let next: IteratorResult<readonly SourceRecord[], undefined>;
      try {
        next = await channel.next();
      } catch (err) {
        if (err instanceof Unreadable) throw err.cause;
        throw new SourceInterruptedError(`lost Kafka at ${options.brokers.join(',')} while reading topic ${topic}: ${describeKafkaError(err)}`, tracker.checkpoint(), {
          cause: err,
        });
      }
      if (next.done === true) return;
      // Counted as delivered before the replay sees it: the replay asks for the next batch
      // only once this one is aggregated, so the checkpoint never skips or repeats a record.
      const records = next.value;
      tracker.markDelivered(records);
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

function startConsumer(context: GroupReaderContext, channel: BatchChannel): { consumer: Consumer; ranges: PartitionRangeReader; started: Promise<void> } {
  const { options, kafka, admin, tracker } = context;
  const { topic, group } = options;
  const follow = options.follow ?? false;
  const { plan, held, delivered } = tracker;
  const unreadable = (err: unknown) => unreadableError(options, err);
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
    if (!follow && [...assigned].every(isComplete)) channel.end();
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
    if (error instanceof kafkajs.KafkaJSNotImplemented) channel.unreadable(unreadable(error));
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
      if (!(err instanceof UnreadableRecordsError || err instanceof KafkaAuthenticationError || (err instanceof PartitionFetchError && !err.retriable))) throw err;
      channel.unreadable(unreadable(err));
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
      tracker.gap(g.partition, g.from, g.to, 'while the replay read the partition');
      delivered.set(g.partition, g.to);
    }
    tracker.corrupt(corruptBatches);
    for (const records of slices) await channel.pushAndWait(records);
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

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const committed = new Map<number, number>();
  for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
    for (const p of t.partitions) if (Number(p.offset) >= 0) committed.set(p.partition, Number(p.offset));
  }
  return committed;
}

/** A failure no resume can cure (records that cannot be read), told apart from a lost broker. */
export class Unreadable {
  constructor(readonly cause: Error) {}
}

/**
 * Hands batches from kafkajs's push-style callback to the pull-style iterator through the
 * shared hand-off (../hand-off.ts): `pushAndWait` resolves only once the batch is taken, so
 * kafkajs fetches no further ahead than the replay reads (bounded memory), and a failure is
 * reported after the batches already accepted. Once ended (every partition complete, or the
 * run aborted), a later failure is ignored: nothing more was going to be read.
 * @internal exported for its unit tests only.
 */
export class BatchChannel extends HandOff<readonly SourceRecord[]> {
  private closed = false;

  override end(): void {
    this.closed = true;
    super.end();
  }

  override fail(cause: unknown): void {
    if (!this.closed) super.fail(cause);
  }

  /** Ends the replay with an error no resume can cure. */
  unreadable(cause: Error): void {
    this.fail(new Unreadable(cause));
  }
}
