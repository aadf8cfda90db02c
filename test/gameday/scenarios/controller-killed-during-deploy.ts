/**
 * `prio rollout run` is SIGKILLed while the step's AppConfig deployment is rolling out (a linear
 * deployment, 20 % of hosts at a time). A new runner started in its place waits for the dead one's
 * lease to lapse, finds the deployment by the marker in its description instead of starting a
 * second, follows it to the end, bakes and completes the migration.
 */
import { sleep } from '../../support/net.js';
import { LEASE_TTL_MS, auditStream, rolloutFleet, runnerLine, tail } from '../fleet/gd-control.js';
import { observe, type Scenario } from '../scenario.js';

export const scenario: Scenario = {
  id: 'controller-killed-during-deploy',
  title: 'The rollout runner killed while its deployment rolls out',
  family: 'process',
  fault: 'SIGKILL of `prio rollout run` right after it started the step\'s linear AppConfig deployment (the deployment still DEPLOYING); a new runner started at once',
  expected: 'the new runner takes the lease once it lapses, re-attaches to the running deployment (no second one), and completes the migration; the stream replays without a gap or a duplicate',
  hypothesis: { steadyState: 'one AppConfig deployment per step run; the migration completes', bound: 'exactly 1 deployment carrying the step\'s marker; 1 DeploymentStarted; the restarted runner exits 0 with the migration completed' },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    // Linear: 20 min deploying + 10 baking, at 300× = 4 s + 2 s; the step bakes 60 migration minutes at 1,800× = 2 s.
    const fleet = await rolloutFleet(ctx, { bakeMinutes: 60, timeScale: 1_800, appConfigTimeScale: 300 });
    const first = fleet.runner('runner-1');
    const deploying = await first.waitFor(runnerLine('deploy', fleet.step), 45_000);
    if (deploying === undefined) throw new Error(`the runner never started the deployment: ${tail(first)}`);
    await first.kill();
    const killedAt = Date.now();
    const stateAtKill = await fleet.latestState();
    const stream = await auditStream(fleet.store, fleet.migrationId);
    const recordedAtKill = stream.deploymentsStarted[fleet.step] ?? 0;
    ctx.log(`runner-1 killed ${killedAt - deploying.at} ms after "${String(deploying.json?.message)}"; deployment ${stateAtKill}; DeploymentStarted in the stream: ${recordedAtKill}`);

    const second = fleet.runner('runner-2');
    const holding = await second.waitFor((l) => l.json?.kind === 'lease' && String(l.json.message).startsWith('holding'), 20_000);
    const code = await Promise.race([second.exit, sleep(45_000).then(() => -1)]);
    const reattached = second.lines.some((l) => runnerLine('deploy', fleet.step)(l) && String(l.json?.message).startsWith('found deployment'));
    const startedAgain = second.lines.filter((l) => runnerLine('deploy', fleet.step)(l) && !String(l.json?.message).startsWith('found deployment')).length;
    const deployments = await fleet.stepDeployments();
    const audit = await auditStream(fleet.store, fleet.migrationId);
    ctx.log(`runner-2 exit ${code}: ${reattached ? 're-attached by the marker' : 'did not re-attach by the marker'}, started ${startedAgain} deployments; step deployments ${JSON.stringify(deployments)}; stream ${audit.stored.length} events, status ${audit.state.status}`);
    if (code !== 0) ctx.log(`runner-2: ${tail(second)}`);

    const faultObserved = first.child.signalCode === 'SIGKILL' && stateAtKill === 'DEPLOYING';
    return {
      faultObserved,
      faultEvidence: `runner-1 died of ${first.child.signalCode ?? 'nothing'} with the step's deployment ${stateAtKill}`,
      observations: [
        observe('during', 'deployment state when the runner died', stateAtKill, { text: '= DEPLOYING', holds: stateAtKill === 'DEPLOYING' }),
        observe('after', 'restarted runner took the lease', holding === undefined ? -1 : holding.at - killedAt, { text: `within ${LEASE_TTL_MS} ms TTL + 10 s`, holds: holding !== undefined }, 'ms'),
        observe('after', 'deployments carrying the step\'s marker', deployments.length, { text: '= 1', holds: deployments.length === 1 }),
        observe('after', 'deployments the restarted runner started', startedAgain, { text: '= 0 (re-attached)', holds: startedAgain === 0 }),
        observe('after', 'DeploymentStarted events for the step', audit.deploymentsStarted[fleet.step] ?? 0, { text: '= 1', holds: audit.deploymentsStarted[fleet.step] === 1 }),
        observe('after', 'restarted runner exit code', code, { text: '= 0', holds: code === 0 }),
        observe('after', 'migration status (replayed)', audit.state.status, { text: '= completed', holds: audit.state.status === 'completed' }),
        observe('after', 'stream without gap or duplicate', audit.contiguous && audit.duplicated.length === 0, { text: 'yes', holds: audit.contiguous && audit.duplicated.length === 0 && audit.error === undefined }),
      ],
      ...(holding === undefined ? {} : { timeToRecoverMs: holding.at - killedAt }),
      notes: [`recover: from the kill to the new runner holding the lease (the dead one's lapses after ${LEASE_TTL_MS} ms); DeploymentStarted already in the stream when it died: ${recordedAtKill}`],
    };
  },
};
