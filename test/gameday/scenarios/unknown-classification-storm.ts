/**
 * A storm of requests whose classification is not in the catalog — typos, a client on a newer
 * catalog, random junk — through both interfaces of two gateways, beside real traffic. The rules
 * fail closed: each is refused 400 naming the value, never queued nor forwarded, and counted on
 * `prio_fail_closed_total` (the alarm's metric), whose label values stay bounded however many
 * distinct values arrive. The real traffic is unaffected.
 */
import { bucketQuantile, fleetMetric, load, paced, scrape, serveFleet, statusCount } from '../fleet/gd-traffic.js';
import { observe, type Scenario } from '../scenario.js';

const STORM = 800;
const STORM_RATE = 200;
const LOAD_RATE = 80;
const LOAD_MS = 5_000;
/** Real requests find free slots (64 per instance, 10 ms each, 80/s): a storm that took slots or queue places would make them wait. */
const WAIT_BOUND_S = 0.5;
/** Label values the service keeps for fail-closed values before counting the rest as `other` (src/service/metrics.ts). */
const MAX_LABELS = 64;
const NAMED = ['PREMIUM', 'on_demand', 'ON-DEMAND', 'PTV3', 'RESERVED', 'PRIORITY ACCESS'];

function unknown(i: number): string {
  // Mostly a few plausible mistakes, and a long tail of distinct junk a label set must not grow with.
  return i % 3 === 0 ? `JUNK_${i}` : (NAMED[i % NAMED.length] as string);
}

export const scenario: Scenario = {
  id: 'unknown-classification-storm',
  title: 'A storm of unknown classifications: fail closed, alarm metric up, real traffic unaffected',
  family: 'config',
  fault: `${STORM} requests at ${STORM_RATE}/s with classifications outside the catalog (${Math.ceil(STORM / 3)} distinct junk values plus common mistakes), half as gateway requests, half as decisions, beside ${LOAD_RATE}/s of real gateway traffic on 2 instances`,
  expected: 'every unknown classification answered 400 fail-closed naming the value, none queued or forwarded; prio_fail_closed_total counts each, with at most 64 distinct values plus other; the real traffic answered 2xx without waiting for a slot',
  hypothesis: {
    steadyState: 'unknown classifications refused; fail-closed counter; label values; real traffic 2xx and queue wait',
    bound: `100% refused 400 naming the value; counter = the storm; ≤ ${MAX_LABELS + 1} label values per instance; scheduler saw only the real traffic; real 100% 2xx, their queue wait p99 ≤ ${WAIT_BOUND_S * 1000} ms`,
  },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const fleet = await serveFleet(ctx, 2, { args: ['--upstream', 'sim:', '--sim-mean-ms', '10'] });
    const urls = fleet.map((s) => s.url);
    const baseline = await Promise.all(urls.map(scrape));
    const alarmBefore = fleetMetric(baseline, 'prio_fail_closed_total');

    const injectedAt = Date.now();
    let detectMs: number | undefined;
    const during = load(ctx, { targets: urls, rate: LOAD_RATE, durationMs: LOAD_MS, classifications: 'ON_DEMAND:6,PTV1:2,BATCH:1,FLEX:1', sessions: 20 });
    const answers = await paced(
      STORM,
      STORM_RATE,
      async (i) => {
        const url = urls[i % 2] as string;
        const classification = unknown(i);
        const gateway = i % 4 < 2;
        const res = await (gateway
          ? fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-prio-account': `acct-storm-${i % 30}`, 'x-prio-classification': classification }, body: JSON.stringify({ model: 'model-a', messages: [] }), signal: AbortSignal.timeout(10_000) })
          : fetch(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: `acct-storm-${i % 30}`, classification, modelId: 'model-a' }), signal: AbortSignal.timeout(10_000) })
        ).then(
          async (r) => ({ status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> }),
          () => ({ status: 0, body: {} as Record<string, unknown> }),
        );
        if (detectMs === undefined && res.status === 400) detectMs = Date.now() - injectedAt;
        const failClosed = res.body.error === 'fail-closed' && res.body.attribute === 'classification' && res.body.value === classification;
        return { status: res.status, failClosed, classification };
      },
      ctx.signal,
    );
    const report = await during;
    const texts = await Promise.all(urls.map(scrape));

    const refused = answers.filter((a) => a.status === 400 && a.failClosed).length;
    const counted = fleetMetric(texts, 'prio_fail_closed_total') - alarmBefore;
    const labelValues = Math.max(...texts.map((t) => t.split('\n').filter((l) => l.startsWith('prio_fail_closed_total{')).length));
    const other = fleetMetric(texts, 'prio_fail_closed_total', { value: 'other' });
    const scheduled = fleetMetric(texts, 'prio_scheduler_requests_total', { event: 'queued' }) + fleetMetric(texts, 'prio_scheduler_requests_total', { event: 'shed' }) + fleetMetric(texts, 'prio_scheduler_requests_total', { event: 'throttled' });
    const ok = statusCount(report, /^2\d\d$/);
    const p99 = report.latencyMs.all.p99;
    const wait = bucketQuantile(texts, 'prio_queue_wait_seconds', {}, 0.99);
    ctx.log(`storm: ${answers.length} sent, ${refused} refused 400 naming the value; prio_fail_closed_total +${counted} (${other} as other), ${labelValues} label sets on the busiest instance; scheduler saw ${scheduled}`);
    ctx.log(`real traffic: ${report.sent} sent, ${JSON.stringify(report.statuses)}, p99 ${p99} ms (client side, this process busy with the storm too), queue wait p99 ≤ ${wait ?? '-'} s`);

    return {
      faultObserved: answers.length === STORM && counted > 0,
      faultEvidence: `${answers.length} requests with unknown classifications sent; prio_fail_closed_total rose by ${counted}`,
      observations: [
        observe('during', 'unknown classifications refused 400 naming the value', refused, { text: `= ${STORM} (100%)`, holds: refused === STORM }),
        observe('during', 'prio_fail_closed_total increase', counted, { text: `= ${STORM}`, holds: counted === STORM }),
        observe('during', 'fail-closed label sets per instance', labelValues, { text: `≤ ${MAX_LABELS + 1} (values past ${MAX_LABELS} counted as other)`, holds: labelValues <= MAX_LABELS + 1 && other > 0 }),
        observe('during', 'requests the scheduler saw (queued, shed, throttled)', scheduled, { text: `= real gateway traffic sent (${report.sent})`, holds: scheduled === report.sent }),
        observe('during', 'real traffic answered 2xx', report.sent === 0 ? 0 : (100 * ok) / report.sent, { text: '= 100% (of ≥ 300 sent)', holds: ok === report.sent && report.sent >= 300 }, '%'),
        observe('during', 'real traffic queue wait p99 (bucket bound)', wait ?? -1, { text: `≤ ${WAIT_BOUND_S} s`, holds: wait !== undefined && wait <= WAIT_BOUND_S }, 's'),
        observe('during', 'real traffic p99 as the client saw it', p99, undefined, 'ms'),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      notes: ['detect: from the start of the storm to the first 400 fail-closed; the client-side p99 includes this process\'s own event-loop delay (it sends the storm too), so the bound is on the servers\' queue wait'],
    };
  },
};
