/**
 * DynamoDB throttles the rollout runner for a while: every call answered with
 * ProvisionedThroughputExceededException or ThrottlingException for THROTTLE_MS, from the moment
 * the step has started. DynamoDB Local cannot throttle, so a loopback HTTP proxy in front of it
 * answers the errors exactly as DynamoDB does (fleet/gd-control.ts, `throttlingProxy`: the one
 * mock here, for a fault the real service cannot produce). The runner must back off and retry
 * (not crash, not hammer the table), and complete the migration with no event twice.
 */
import { sleep } from '../../support/net.js';
import { auditStream, rolloutFleet, runnerLine, tail, throttlingProxy } from '../fleet/gd-control.js';
import { observe, type Scenario } from '../scenario.js';

const THROTTLE_MS = 4_000;
/** Calls a second the runner may make while every call is refused: its own backoff and the SDK's keep it well below this. */
const MAX_RATE = 20;

export const scenario: Scenario = {
  id: 'dynamodb-throttling-during-rollout',
  title: 'DynamoDB throttles the rollout runner mid-step',
  family: 'network',
  fault: `every DynamoDB call of \`prio rollout run\` answered ProvisionedThroughputExceededException / ThrottlingException (HTTP 400, in turn) for ${THROTTLE_MS / 1000} s after the step started (a loopback proxy: DynamoDB Local cannot throttle)`,
  expected: 'the runner reports the store as throttled, backs off and retries (no crash, a bounded call rate), then completes the migration: one deployment for the step, no event twice',
  hypothesis: { steadyState: 'the rollout progresses; the stream one valid history', bound: `≤ ${MAX_RATE} calls/s while throttled; exit 0, completed; 1 deployment and 1 DeploymentStarted for the step; 0 commands appended twice` },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const fleet = await rolloutFleet(ctx, { bakeMinutes: 60, timeScale: 1_800, appConfigTimeScale: 600 });
    const proxy = await throttlingProxy(ctx);
    const runner = fleet.runner('runner-1', { endpoint: proxy.url });
    const started = await runner.waitFor(runnerLine('start', fleet.step), 45_000);
    if (started === undefined) throw new Error(`the runner never started the step: ${tail(runner)}`);
    proxy.throttle();
    const throttledAt = Date.now();
    const seenBefore = runner.lines.length;
    const detected = await runner.waitFor((l) => l.json?.kind === 'retry' && runner.lines.indexOf(l) >= seenBefore, THROTTLE_MS);
    await sleep(Math.max(0, THROTTLE_MS - (Date.now() - throttledAt)));
    proxy.pass();
    const passedAt = Date.now();
    const during = proxy.arrivals.filter((t) => t >= throttledAt && t < passedAt).length;
    const rate = during / ((passedAt - throttledAt) / 1000);
    const storeLines = runner.lines.filter((l) => l.json?.kind === 'retry');
    ctx.log(`throttled ${proxy.counts.throttled} calls over ${passedAt - throttledAt} ms (${rate.toFixed(1)}/s); runner: ${storeLines.length} retry lines, first "${String(storeLines[0]?.json?.message ?? 'none')}"`);

    const code = await Promise.race([runner.exit, sleep(45_000).then(() => -1)]);
    const resumed = runner.lines.find((l) => l.at >= passedAt && l.json?.kind !== 'retry' && l.json?.kind !== undefined);
    const deployments = await fleet.stepDeployments();
    const audit = await auditStream(fleet.store, fleet.migrationId);
    ctx.log(`runner exit ${code}; step deployments ${JSON.stringify(deployments)}; stream ${audit.stored.length} events, status ${audit.state.status}`);
    if (code !== 0) ctx.log(`runner: ${tail(runner)}`);

    return {
      faultObserved: proxy.counts.throttled >= 1,
      faultEvidence: `${proxy.counts.throttled} DynamoDB calls answered with a throttling error while the step ran; the runner ${storeLines.length > 0 ? `reported: ${String(storeLines[0]?.json?.message)}` : 'reported nothing'}`,
      observations: [
        observe('during', 'runner reported the store throttled', storeLines.length, { text: '≥ 1 line', holds: storeLines.length >= 1 }),
        observe('during', 'DynamoDB calls while throttled', Number(rate.toFixed(1)), { text: `≤ ${MAX_RATE}/s (backs off)`, holds: rate <= MAX_RATE }, '/s'),
        observe('after', 'runner exit code', code, { text: '= 0 (did not crash)', holds: code === 0 }),
        observe('after', 'migration status (replayed)', audit.state.status, { text: '= completed', holds: audit.state.status === 'completed' }),
        observe('after', 'deployments carrying the step\'s marker', deployments.length, { text: '= 1', holds: deployments.length === 1 }),
        observe('after', 'DeploymentStarted events for the step', audit.deploymentsStarted[fleet.step] ?? 0, { text: '= 1', holds: audit.deploymentsStarted[fleet.step] === 1 }),
        observe('after', 'commands appended twice', audit.duplicated.length, { text: '= 0', holds: audit.duplicated.length === 0 && audit.contiguous && audit.error === undefined }),
      ],
      ...(detected === undefined ? {} : { timeToDetectMs: detected.at - throttledAt }),
      ...(resumed === undefined ? {} : { timeToRecoverMs: resumed.at - passedAt }),
      notes: ['detect: from the first throttled call to the runner\'s first retry line; recover: from the end of the throttling to the runner\'s next line of progress'],
    };
  },
};
