/**
 * Three times the fleet's capacity arrives at two `prio serve` gateways: the dispatch loop must
 * shed the lowest tiers first (a full queue evicts the newest request of the lowest tier
 * queued), keep the top tier's wait short, and answer every request it accepted.
 */
import { sleep } from '../../support/net.js';
import { bucketQuantile, capacityFile, fleetMetric, load, scrape, serveFleet, statusCount } from '../fleet/gd-traffic.js';
import { observe, type Scenario } from '../scenario.js';

const INSTANCES = 2;
const CONCURRENCY = 2;
const SERVICE_MS = 100;
const QUEUE_BOUND = 60;
/** Requests per second the fleet can serve: slots × completions per slot per second. */
const CAPACITY = (INSTANCES * CONCURRENCY * 1000) / SERVICE_MS;
const RATE = 3 * CAPACITY;
const DURATION_MS = 6_000;
/** Under the legacy rules: PTV1 → P100, PTV1 on-demand → P75, ON_DEMAND → P50, any BATCH → P10. */
const CLASSIFICATIONS = 'PTV1:1,ON_DEMAND:9';
const REQUEST_TYPES = 'none:6,BATCH:3,ON_DEMAND:1';
/** The top tier's wait bound: a FIFO queue this deep would make it wait QUEUE_BOUND / per-instance capacity = 3 s. */
const TOP_WAIT_BOUND_S = 0.5;

export const scenario: Scenario = {
  id: 'overload-3x-capacity',
  title: 'Three times the fleet capacity: lowest tiers shed first, the top tier unharmed',
  family: 'traffic',
  fault: `prio load at ${RATE} requests/s for ${DURATION_MS / 1000} s on ${INSTANCES} gateways able to serve ${CAPACITY}/s together (concurrency ${CONCURRENCY}, ${SERVICE_MS} ms per request, queue bound ${QUEUE_BOUND})`,
  expected: 'sheds answered 429 and concentrated on the lowest tiers (shed share falls as the tier rises, none for P100); P100 waits briefly; every request answered, every accepted one completed',
  hypothesis: {
    steadyState: 'shed share per tier; P100 queue wait p99; requests answered; accepted requests completed',
    bound: `shed share P10 > P50 > P100 = 0; P100 wait p99 ≤ ${TOP_WAIT_BOUND_S * 1000} ms; only 2xx and 429, none unanswered; completed = 2xx answers, queue empty after`,
  },
  ci: true,
  timeoutMs: 25_000,
  async run(ctx) {
    const capacity = capacityFile(ctx, 'capacity', { concurrency: CONCURRENCY, queueBound: QUEUE_BOUND });
    const fleet = await serveFleet(ctx, INSTANCES, { args: ['--upstream', 'sim:', '--sim-distribution', 'fixed', '--sim-mean-ms', String(SERVICE_MS), '--capacity', capacity] });
    const urls = fleet.map((s) => s.url);
    ctx.log(`fleet: ${urls.join(', ')} (capacity ${CAPACITY}/s together)`);

    const startedAt = Date.now();
    const report = await load(ctx, { targets: urls, rate: RATE, durationMs: DURATION_MS, classifications: CLASSIFICATIONS, requestTypes: REQUEST_TYPES, connections: 3 * QUEUE_BOUND });
    const texts = await Promise.all(urls.map(scrape));
    const tiers = Object.keys(report.latencyMs.byTier);
    const arrivals = (tier: string) => report.latencyMs.byTier[tier]?.count ?? 0;
    const shed = (tier: string) => fleetMetric(texts, 'prio_scheduler_requests_total', { tier, event: 'shed' });
    const share = (tier: string) => (arrivals(tier) === 0 ? 0 : (100 * shed(tier)) / arrivals(tier));
    for (const tier of tiers) ctx.log(`${tier}: ${arrivals(tier)} arrived, ${shed(tier)} shed (${share(tier).toFixed(1)}%), wait p99 ≤ ${bucketQuantile(texts, 'prio_queue_wait_seconds', { tier }, 0.99) ?? '-'} s`);
    const ok = statusCount(report, /^2\d\d$/);
    const refused = statusCount(report, /^429$/);
    const other = report.sent - ok - refused;
    const completed = fleetMetric(texts, 'prio_scheduler_requests_total', { event: 'completed' });
    const dispatched = fleetMetric(texts, 'prio_scheduler_requests_total', { event: 'dispatched' });
    const totalShed = fleetMetric(texts, 'prio_scheduler_requests_total', { event: 'shed' });
    const topWait = bucketQuantile(texts, 'prio_queue_wait_seconds', { tier: 'P100' }, 0.99);
    const midWait = bucketQuantile(texts, 'prio_queue_wait_seconds', { tier: 'P50' }, 0.5);
    ctx.log(`load: ${report.sent} sent in ${report.durationMs} ms, statuses ${JSON.stringify(report.statuses)}; ${dispatched} dispatched, ${completed} completed, ${totalShed} shed`);

    // After: the queue must have drained and a load within capacity must be served whole.
    let depth = fleetMetric(texts, 'prio_queue_depth');
    for (let i = 0; i < 40 && depth > 0; i += 1) {
      await sleep(100);
      depth = fleetMetric(await Promise.all(urls.map(scrape)), 'prio_queue_depth');
    }
    const recoverMs = Date.now() - startedAt - report.durationMs;
    const after = await load(ctx, { targets: urls, rate: CAPACITY / 2, durationMs: 1_000, classifications: CLASSIFICATIONS, requestTypes: REQUEST_TYPES, seed: 12 });
    const afterOk = statusCount(after, /^2\d\d$/);

    const sentEnough = report.sent >= 0.9 * RATE * (DURATION_MS / 1000);
    return {
      faultObserved: sentEnough && totalShed >= 0.2 * report.sent,
      faultEvidence: `${report.sent} requests in ${report.durationMs} ms (${report.achievedRate}/s against a capacity of ${CAPACITY}/s); the fleet shed ${totalShed} and completed ${completed}`,
      observations: [
        observe('during', 'requests sent', report.sent, { text: `≥ ${0.9 * RATE * (DURATION_MS / 1000)} (3× capacity)`, holds: sentEnough }),
        ...tiers.map((tier) => observe('during', `${tier} shed share (${shed(tier)} of ${arrivals(tier)})`, Number(share(tier).toFixed(1)), undefined, '%')),
        observe('during', 'P100 requests shed', shed('P100'), { text: '= 0 (of ≥ 25 arrived)', holds: shed('P100') === 0 && arrivals('P100') >= 25 }),
        observe('during', 'shed share P10 vs P50', `${share('P10').toFixed(1)}% vs ${share('P50').toFixed(1)}%`, { text: 'P10 > P50 > 0', holds: share('P10') > share('P50') && share('P50') > 0 }),
        observe('during', 'P50 queue wait p50 (bucket bound)', midWait ?? -1, undefined, 's'),
        observe('during', 'P100 queue wait p99 (bucket bound)', topWait ?? -1, { text: `≤ ${TOP_WAIT_BOUND_S} s`, holds: topWait !== undefined && topWait <= TOP_WAIT_BOUND_S }, 's'),
        observe('during', 'answers other than 2xx and 429 (unanswered included)', other, { text: '= 0', holds: other === 0 }),
        observe('during', 'completed by the fleet vs 2xx answers', `${completed} vs ${ok}`, { text: 'equal, and = dispatched', holds: completed === ok && dispatched === completed && ok > 0 }),
        observe('after', 'queue depth once drained', depth, { text: '= 0', holds: depth === 0 }),
        observe('after', 'answered 2xx at half capacity', after.sent === 0 ? 0 : (100 * afterOk) / after.sent, { text: '= 100% (of ≥ 20 sent)', holds: afterOk === after.sent && after.sent >= 20 }, '%'),
      ],
      timeToRecoverMs: Math.max(0, recoverMs),
      notes: [`capacity = ${INSTANCES} instances × ${CONCURRENCY} slots × 1000 / ${SERVICE_MS} ms; queue wait quantiles are the bounds of prio_queue_wait_seconds buckets summed over the fleet; recover: from the end of the load to an empty queue`],
    };
  },
};
