/**
 * A network partition between `prio serve`'s request-log producer and Kafka (Toxiproxy: the
 * link disabled, open connections cut, new ones refused): serving never waits on the log, so
 * every decision is answered at its usual latency; the batches that cannot be produced are
 * dropped and counted on /metrics; after the heal producing resumes by itself. Every record
 * counted written is in the topic.
 */
import { Kafka, logLevel } from 'kafkajs';
import { kafkaRequestLog } from '../../../src/service/index.js';
import { decisionLoad, okPercent, waitFor } from '../fleet/gd-core.js';
import { ownBroker, requestLogCounts, startLoggingInstance } from '../fleet/gd-kafka-storage.js';
import { observe, type Scenario } from '../scenario.js';

const TOPIC = 'gameday-requests';
/**
 * How much decision p99 may grow during the partition. A decision that waited on the producer
 * would wait its connection timeout (3 s) or its retries (about 6 s); the load's own scheduling
 * on a busy 2-core machine moves p99 by tens to a couple of hundred ms now and then.
 */
const P99_GROWTH_BOUND_MS = 500;

/** Messages in the topic (sum of its partitions' end offsets), read over the broker's own listener. */
async function topicMessages(brokers: string): Promise<number> {
  const admin = new Kafka({ clientId: 'gameday-check', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(TOPIC);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export const scenario: Scenario = {
  id: 'kafka-partitioned-from-request-log',
  title: "A partition between prio serve's request log and Kafka",
  family: 'network',
  fault: "Toxiproxy partition (link disabled) between an in-process prio serve's request-log producer and its own Kafka broker, for the length of 8 s of decision load, then healed",
  expected: 'decisions answered 2xx at their usual latency throughout; the batches that cannot be produced dropped and counted (prio_request_log_records_total{result="dropped"}) and the error logged; producing resumes after the heal; every record counted written is in the topic',
  hypothesis: { steadyState: 'decisions answered 2xx and their p99; request records written to Kafka', bound: `100% answered; p99 during ≤ p99 before + ${P99_GROWTH_BOUND_MS} ms; dropped ≥ 1 during; written grows within 20 s of the heal; written ≤ messages in the topic ≤ written + dropped` },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const broker = await ownBroker(ctx);
    const instance = await startLoggingInstance(ctx, (events) => kafkaRequestLog({ brokers: [broker.proxied], topic: TOPIC, lingerMs: 50, batchSize: 100, ...events }));
    const before = await decisionLoad(ctx, [instance.url], 2_000);
    const ready = await waitFor(ctx, async () => (await requestLogCounts(instance.url)).written >= before.sent, 20_000);
    const countsBefore = await requestLogCounts(instance.url);
    const p99Before = before.latencyMs.all.p99;
    ctx.log(`before: ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx, p99 ${p99Before.toFixed(1)} ms; log written ${countsBefore.written}, dropped ${countsBefore.dropped}${ready === undefined ? ' (not all written within 20 s)' : ''}`);

    await broker.link.partition();
    const partitionedAt = Date.now();
    const duringLoad = decisionLoad(ctx, [instance.url], 8_000);
    const detectMs = await waitFor(ctx, async () => (await requestLogCounts(instance.url)).dropped > countsBefore.dropped, 20_000);
    const during = await duringLoad;
    const countsDuring = await requestLogCounts(instance.url);
    const p99During = during.latencyMs.all.p99;
    const errorsDuring = instance.errors.length;
    ctx.log(`during: ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx, p99 ${p99During.toFixed(1)} ms; log written ${countsDuring.written}, dropped ${countsDuring.dropped}; ${errorsDuring} error line(s)`);

    await broker.link.heal();
    const afterLoad = decisionLoad(ctx, [instance.url], 3_000);
    const recoverMs = await waitFor(ctx, async () => (await requestLogCounts(instance.url)).written > countsDuring.written, 20_000);
    const after = await afterLoad;
    const total = before.sent + during.sent + after.sent;
    await waitFor(ctx, async () => {
      const c = await requestLogCounts(instance.url);
      return c.written + c.dropped >= total;
    }, 20_000);
    const countsAfter = await requestLogCounts(instance.url);
    const inTopic = await topicMessages(broker.direct);
    ctx.log(`after: ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx; log written ${countsAfter.written}, dropped ${countsAfter.dropped}; ${inTopic} messages in the topic; producing again ${recoverMs ?? '?'} ms after the heal`);

    const droppedDuring = countsDuring.dropped - countsBefore.dropped;
    return {
      faultObserved: droppedDuring >= 1 && instance.errors.some((e) => e.at >= partitionedAt && /request log/.test(e.message)),
      faultEvidence: `${droppedDuring} records dropped while the link was partitioned; the log reported "${instance.errors.find((e) => e.at >= partitionedAt)?.message ?? 'nothing'}"`,
      observations: [
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 150 sent)', holds: okPercent(before) === 100 && before.sent >= 150 }, '%'),
        observe('before', 'decision p99', Number(p99Before.toFixed(2)), undefined, 'ms'),
        observe('before', 'records written / dropped', `${countsBefore.written} / ${countsBefore.dropped}`, { text: 'all written, 0 dropped', holds: countsBefore.written === before.sent && countsBefore.dropped === 0 }),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 600 sent)', holds: okPercent(during) === 100 && during.sent >= 600 }, '%'),
        observe('during', 'decision p99', Number(p99During.toFixed(2)), { text: `≤ ${(p99Before + P99_GROWTH_BOUND_MS).toFixed(1)} ms (before + ${P99_GROWTH_BOUND_MS})`, holds: p99During <= p99Before + P99_GROWTH_BOUND_MS }, 'ms'),
        observe('during', 'records dropped and counted on /metrics', droppedDuring, { text: '≥ 1', holds: droppedDuring >= 1 }),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 200 sent)', holds: okPercent(after) === 100 && after.sent >= 200 }, '%'),
        observe('after', 'records written again after the heal', recoverMs ?? -1, { text: '≤ 20,000 ms', holds: recoverMs !== undefined }, 'ms'),
        observe('after', 'written + dropped = records handed over', `${countsAfter.written + countsAfter.dropped} / ${total}`, { text: 'equal (every record counted once)', holds: countsAfter.written + countsAfter.dropped === total }),
        observe('after', 'messages in the topic', inTopic, { text: `≥ ${countsAfter.written} written and ≤ written + dropped (${countsAfter.written + countsAfter.dropped})`, holds: inTopic >= countsAfter.written && inTopic <= countsAfter.written + countsAfter.dropped }),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(recoverMs === undefined ? {} : { timeToRecoverMs: recoverMs }),
      notes: ['detect: from the partition to the first dropped record on /metrics (the producer gives a batch up after its bounded retries, about 6 s); recover: from the heal to the written count growing'],
    };
  },
};
