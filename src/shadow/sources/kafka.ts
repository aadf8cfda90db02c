/**
 * Kafka source: replays a topic (or a time window of it) as raw message values with their
 * partition and offset. Values pass through untouched — a null tombstone or a binary value
 * reaches the replay, which quarantines it — so nothing read is lost or altered.
 *
 * Bounded by default: the end of every partition is fixed when the replay starts (the
 * high-water marks then, or the offsets for `window.to`), so a replay of a live topic still
 * ends and its report describes a definite set of records. `follow` keeps reading instead.
 *
 * Two read paths, one module each, sharing one checkpoint tracker (kafka-checkpoint.ts): alone
 * (no group), kafka-direct.ts fetches straight from the partition leaders through
 * kafka-fetch.ts, which decodes several times faster than kafkajs's consumer; in a group,
 * kafka-group.ts lets kafkajs's consumer do the group membership (as below) and reads the
 * records again through the same decoder (kafka-range.ts: kafkajs 2.2.4 filters aborted
 * transactions wrongly). kafkajs answers every metadata question for both (partitions,
 * leaders, watermarks, offsets-for-times; kafka-plan.ts fixes the window). This file plans
 * the window and hands over to one of them.
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
import { createCheckpointTracker } from './kafka-checkpoint.js';
import { describeKafkaError, kafkaClient } from './kafka-client.js';
import { readDirect } from './kafka-direct.js';
import { readGroup } from './kafka-group.js';
import { KafkaSourceError, planWindows, type KafkaSource, type KafkaSourceOptions } from './kafka-plan.js';
import type { SourceRecord } from '../source.js';

export { KafkaSourceError, type KafkaSource, type KafkaSourceOptions, type KafkaWindow, type PartitionWindow } from './kafka-plan.js';

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
  const tracker = createCheckpointTracker(topic, group);

  async function* batches(): AsyncGenerator<readonly SourceRecord[]> {
    if (options.signal?.aborted) return;
    const kafka = kafkaClient({ ...options, clientId: options.clientId ?? 'prio-shadow' });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const planned = await planWindows(admin, topic, window, follow, resume);
      tracker.plan = planned.plan;
      for (const g of planned.gaps) {
        tracker.gap(g.partition, g.from, g.to, 'before the resumed replay started');
        // The resume point moves past the gap: an interrupted resume must not count it again.
        tracker.delivered.set(g.partition, g.to);
      }
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      if (err instanceof KafkaSourceError) throw err;
      throw new KafkaSourceError(`cannot read topic ${topic} from Kafka at ${options.brokers.join(',')}: ${describeKafkaError(err)}`, { cause: err });
    }
    if (group === undefined) {
      try {
        yield* readDirect({ options, admin, tracker });
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      return;
    }
    yield* readGroup({ options, kafka, admin, tracker });
  }

  return {
    label,
    batches,
    checkpoint: () => tracker.checkpoint(),
    progress: () => tracker.progress(),
    windows: () => [...tracker.plan.values()],
    damage: () => tracker.damage(),
    coverage: () => tracker.coverage(),
  };
}
