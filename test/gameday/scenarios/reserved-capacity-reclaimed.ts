/**
 * Reserved (deferred, borrowable) capacity under load: while its owner is idle, preemptable
 * batch traffic at twice the gateway's capacity borrows every slot, the reserved ones included.
 * Then the owner's provisioned traffic arrives: the dispatch loop must preempt borrowers to give
 * the owner its units at once, so its wait stays far below one service time.
 */
import { sleep } from '../../support/net.js';
import { bucketQuantile, capacityFile, fleetMetric, load, metric, paced, scrape, serve, statusCount } from '../fleet/gd-traffic.js';
import { observe, type Scenario } from '../scenario.js';

const CONCURRENCY = 4;
const RESERVED = 2;
const SERVICE_MS = 600;
const OWNER = 'acct-prov';
const BORROW_RATE = 14;
const OWNER_RATE = 2;
const OWNER_REQUESTS = 10;
/** Without reclaiming, the owner would wait for a completion: on average SERVICE_MS / CONCURRENCY, up to SERVICE_MS. */
const WAIT_BOUND_S = 0.25;

export const scenario: Scenario = {
  id: 'reserved-capacity-reclaimed',
  title: 'Reserved capacity borrowed by lower tiers is reclaimed when its owner arrives',
  family: 'traffic',
  fault: `preemptable BATCH traffic at ${BORROW_RATE}/s on a gateway of ${CONCURRENCY} slots × ${SERVICE_MS} ms (${Math.round((CONCURRENCY * 1000) / SERVICE_MS)}/s), ${RESERVED} of them reserved for ${OWNER}; then ${OWNER}'s PTV1 traffic at ${OWNER_RATE}/s`,
  expected: 'borrowers run on the reserved units while the owner is idle; once it sends, borrowers are preempted (503 preempted, counted) and the owner waits far less than a service time; every owner request answered 2xx',
  hypothesis: {
    steadyState: 'owner queue wait p99; owner answers; borrowers preempted',
    bound: `owner wait p99 ≤ ${WAIT_BOUND_S * 1000} ms (bucket bound); owner 100% 2xx; ≥ 1 borrower preempted; borrowers only 2xx, 429, 503`,
  },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const capacity = capacityFile(ctx, 'capacity', { concurrency: CONCURRENCY, queueBound: 40, qosPreemption: true, reserved: { [OWNER]: RESERVED } });
    const s = await serve(ctx, { args: ['--upstream', 'sim:', '--sim-distribution', 'fixed', '--sim-mean-ms', String(SERVICE_MS), '--capacity', capacity, '--queue-timeout-ms', '3000'] });
    const borrowers = load(ctx, { targets: [s.url], rate: BORROW_RATE, durationMs: 4_000 + (OWNER_REQUESTS / OWNER_RATE) * 1000, classifications: 'ON_DEMAND', requestTypes: 'BATCH', allowStatus: [503] });
    await sleep(2_500);
    const borrowed = await scrape(s.url);
    const running = metric(borrowed, 'prio_scheduler_requests_total', { tier: 'P10', event: 'dispatched' }) - metric(borrowed, 'prio_scheduler_requests_total', { tier: 'P10', event: 'completed' }) - metric(borrowed, 'prio_scheduler_requests_total', { tier: 'P10', event: 'preempted' });
    ctx.log(`before the owner: ${running} borrowers running of ${CONCURRENCY} slots, ${metric(borrowed, 'prio_queue_depth')} queued`);

    const arrivedAt = Date.now();
    let firstPreemptMs: number | undefined;
    const owner = await paced(
      OWNER_REQUESTS,
      OWNER_RATE,
      async (i) => {
        const res = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-prio-account': OWNER, 'x-prio-classification': 'PTV1', 'x-request-id': `owner-${i}` }, body: JSON.stringify({ model: 'model-a', messages: [] }), signal: AbortSignal.timeout(15_000) }).then(
          async (r) => {
            await r.arrayBuffer();
            return { status: r.status, tier: r.headers.get('x-prio-tier') };
          },
          () => ({ status: 0, tier: null }),
        );
        if (firstPreemptMs === undefined && metric(await scrape(s.url), 'prio_scheduler_requests_total', { event: 'preempted' }) > 0) firstPreemptMs = Date.now() - arrivedAt;
        return res;
      },
      ctx.signal,
    );
    const report = await borrowers;
    const text = await scrape(s.url);
    const ownerWait = bucketQuantile([text], 'prio_queue_wait_seconds', { tier: 'P100' }, 0.99);
    const ownerDispatched = metric(text, 'prio_scheduler_requests_total', { tier: 'P100', event: 'dispatched' });
    const preempted = fleetMetric([text], 'prio_scheduler_requests_total', { event: 'preempted' });
    const ownerOk = owner.filter((o) => o.status >= 200 && o.status < 300 && o.tier === 'P100').length;
    const borrowerOdd = report.sent - statusCount(report, /^(2\d\d|429|503)$/);
    const borrower503 = statusCount(report, /^503$/);
    ctx.log(`owner: ${ownerOk}/${owner.length} answered 2xx at P100, wait p99 ≤ ${ownerWait ?? '-'} s; borrowers ${JSON.stringify(report.statuses)}, ${preempted} preempted`);

    return {
      faultObserved: running >= CONCURRENCY - 1 && preempted >= 1,
      faultEvidence: `${running} borrowers ran on the ${CONCURRENCY} slots (${RESERVED} reserved) before the owner came; ${preempted} were preempted to give them back`,
      observations: [
        observe('before', 'borrowers running (reserved units included)', running, { text: `≥ ${CONCURRENCY - 1} of ${CONCURRENCY}`, holds: running >= CONCURRENCY - 1 }),
        observe('during', 'borrowers preempted', preempted, { text: '≥ 1', holds: preempted >= 1 }),
        observe('during', 'owner queue wait p99 (bucket bound)', ownerWait ?? -1, { text: `≤ ${WAIT_BOUND_S} s (of ${OWNER_REQUESTS} dispatched)`, holds: ownerWait !== undefined && ownerWait <= WAIT_BOUND_S && ownerDispatched === OWNER_REQUESTS }, 's'),
        observe('during', 'owner requests answered 2xx at P100', ownerOk, { text: `= ${OWNER_REQUESTS}`, holds: ownerOk === OWNER_REQUESTS }),
        observe('during', 'borrower answers 503 (preempted or expired)', borrower503, undefined),
        observe('during', 'borrower answers other than 2xx, 429, 503', borrowerOdd, { text: '= 0', holds: borrowerOdd === 0 }),
      ],
      ...(firstPreemptMs === undefined ? {} : { timeToDetectMs: firstPreemptMs }),
      notes: ['detect: from the owner\'s first request to the first preemption seen on /metrics (scraped after each owner answer, so an upper bound)'],
    };
  },
};
