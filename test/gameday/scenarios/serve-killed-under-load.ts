/**
 * One `prio serve` gateway of three is SIGKILLed under load. A client that takes a failing
 * instance out of rotation (as a load balancer's passive health check does) must see the two
 * survivors absorb the traffic; the only failures allowed are the killed instance's own
 * requests in flight, and every request the survivors accepted is answered and completed.
 */
import { failoverTraffic, fleetMetric, scrape, serveFleet, stopServe } from '../fleet/gd-traffic.js';
import { sleep } from '../../support/net.js';
import { observe, type Scenario } from '../scenario.js';

const RATE = 90;
const DURATION_MS = 6_000;
const KILL_AFTER_MS = 2_000;
const SERVICE_MS = 150;

export const scenario: Scenario = {
  id: 'serve-killed-under-load',
  title: 'One prio serve of three SIGKILLed under load',
  family: 'process',
  fault: `SIGKILL to one of 3 gateways (${SERVICE_MS} ms per request) ${KILL_AFTER_MS / 1000} s into ${RATE} requests/s`,
  expected: 'failures only on the killed instance and no more than its requests in flight at the kill (plus any sent to it before the client noticed, counted); the survivors answer all they accepted, 2xx, and complete them',
  hypothesis: {
    steadyState: 'requests answered 2xx by the survivors; failures on the killed instance; survivors\' completed = their 2xx',
    bound: 'survivors 100% 2xx; failures ≤ in flight at the kill + sent to it before removal, and ≥ 1; no failure elsewhere',
  },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const fleet = await serveFleet(ctx, 3, { args: ['--upstream', 'sim:', '--sim-distribution', 'fixed', '--sim-mean-ms', String(SERVICE_MS)] });
    const urls = fleet.map((s) => s.url);
    const victim = 1;
    const traffic = failoverTraffic(ctx, { targets: urls, rate: RATE, durationMs: DURATION_MS });
    await sleep(KILL_AFTER_MS);
    traffic.mark();
    const killedAt = Date.now();
    const victimProcess = fleet[victim];
    if (victimProcess === undefined) throw new Error('no victim');
    const stopped = stopServe(victimProcess, 'SIGKILL');
    await stopped;
    ctx.log(`SIGKILL to ${urls[victim]} (pid ${victimProcess.process.pid}): exit signal ${victimProcess.process.signalCode ?? 'none'}`);
    const r = await traffic.done;
    const survivors = urls.map((u, i) => ({ u, i })).filter(({ i }) => i !== victim);
    const texts = await Promise.all(survivors.map(({ u }) => scrape(u)));
    const survivorsOk = survivors.reduce((n, { i }) => n + (r.ok[i] ?? 0), 0);
    const survivorsBad = survivors.reduce((n, { i }) => n + (r.failed[i] ?? 0) + (r.otherStatus[i] ?? 0), 0);
    const completed = fleetMetric(texts, 'prio_scheduler_requests_total', { event: 'completed' });
    const inFlightAtKill = r.outstandingAtMark[victim] ?? 0;
    const sentBeforeRemoval = r.sentAfterMark[victim] ?? 0;
    const victimFailed = r.failed[victim] ?? 0;
    const detectMs = r.failedAt[victim] === undefined ? undefined : (r.failedAt[victim] as number) - killedAt;
    const recoverMs = r.firstOkAfterMark === undefined ? undefined : r.firstOkAfterMark - killedAt;
    ctx.log(`sent ${r.sent}: ok per instance ${r.ok.join('/')}, failed ${r.failed.join('/')}, other statuses ${r.otherStatus.join('/')}, rerouted ${r.rerouted}; at the kill ${inFlightAtKill} in flight on the victim, ${sentBeforeRemoval} sent to it after; survivors completed ${completed}`);

    return {
      faultObserved: victimProcess.process.signalCode === 'SIGKILL' && r.failedAt[victim] !== undefined,
      faultEvidence: `the instance exited on ${victimProcess.process.signalCode ?? 'nothing'}; the client saw it fail ${detectMs ?? '?'} ms later and removed it (${victimFailed} requests failed, ${r.rerouted} refused connections rerouted)`,
      observations: [
        observe('before', 'requests in flight on the victim at the kill', inFlightAtKill, { text: '≥ 1 (the kill hit live work)', holds: inFlightAtKill >= 1 }),
        observe('during', 'failed requests on the killed instance', victimFailed, { text: `≥ 1 and ≤ ${inFlightAtKill} in flight + ${sentBeforeRemoval} sent before removal`, holds: victimFailed >= 1 && victimFailed <= inFlightAtKill + sentBeforeRemoval }),
        observe('during', 'requests sent to it after the kill, before removal', sentBeforeRemoval, undefined),
        observe('during', 'survivors: answers other than 2xx or no answer', survivorsBad, { text: '= 0', holds: survivorsBad === 0 }),
        observe('during', 'survivors: completed vs 2xx answers', `${completed} vs ${survivorsOk}`, { text: 'equal', holds: completed === survivorsOk && survivorsOk > 0 }),
        observe('after', 'requests answered 2xx overall', r.sent === 0 ? 0 : Number(((100 * r.ok.reduce((a, b) => a + b, 0)) / r.sent).toFixed(2)), { text: `= 100% less the killed instance's failures (${r.sent - victimFailed} of ${r.sent})`, holds: r.ok.reduce((a, b) => a + b, 0) === r.sent - victimFailed }, '%'),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(recoverMs === undefined ? {} : { timeToRecoverMs: recoverMs }),
      notes: ['the client is a load balancer with passive health checks: a connection failure takes the instance out; a refused connection was never accepted and goes to the next instance; detect: kill → first failure seen; recover: kill → first 2xx from a survivor'],
    };
  },
};
