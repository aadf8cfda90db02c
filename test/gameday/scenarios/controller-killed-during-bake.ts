/**
 * `prio rollout run` is SIGKILLed while the step bakes: its deployment complete and recorded,
 * the step waiting out its bake under the alarms. A new runner takes the lease once it lapses,
 * bakes only what is left (the bake is counted from the deployment's completion in the stream,
 * not from the restart), starts no deployment, and completes the migration.
 */
import { sleep } from '../../support/net.js';
import { LEASE_TTL_MS, auditStream, rolloutFleet, runnerLine, tail } from '../fleet/gd-control.js';
import { observe, type Scenario } from '../scenario.js';

/** 120 migration minutes at 1,200× = 6 s of real bake. */
const BAKE_MINUTES = 120;
const TIME_SCALE = 1_200;

export const scenario: Scenario = {
  id: 'controller-killed-during-bake',
  title: 'The rollout runner killed while its step bakes',
  family: 'process',
  fault: 'SIGKILL of `prio rollout run` 1 s into the step\'s bake (its deployment complete and recorded); a new runner started at once',
  expected: 'the new runner takes the lease once it lapses, starts no deployment, finishes the bake where the stream says it stands, and completes the migration',
  hypothesis: { steadyState: 'one AppConfig deployment per step run; the bake counted once; the migration completes', bound: 'exactly 1 deployment carrying the step\'s marker; 0 started by the restarted runner; 1 DeploymentStarted; the step completes no earlier than its bake allows; exit 0, completed' },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const fleet = await rolloutFleet(ctx, { bakeMinutes: BAKE_MINUTES, timeScale: TIME_SCALE, appConfigTimeScale: 600 });
    const first = fleet.runner('runner-1');
    const baking = await first.waitFor(runnerLine('deployed', fleet.step), 45_000);
    if (baking === undefined) throw new Error(`the runner never reached the bake: ${tail(first)}`);
    await sleep(1_000);
    await first.kill();
    const killedAt = Date.now();
    const atKill = await auditStream(fleet.store, fleet.migrationId);
    const progress = atKill.state.steps[fleet.step];
    const bakingAtKill = progress?.deployment?.completedAt !== undefined && progress.status !== 'completed';
    ctx.log(`runner-1 killed ${killedAt - baking.at} ms into the bake; step ${progress?.status ?? 'unknown'}, deployment completed at ${progress?.deployment?.completedAt ?? 'never'}`);

    const second = fleet.runner('runner-2');
    const holding = await second.waitFor((l) => l.json?.kind === 'lease' && String(l.json.message).startsWith('holding'), 20_000);
    const code = await Promise.race([second.exit, sleep(45_000).then(() => -1)]);
    const startedAgain = second.lines.filter(runnerLine('deploy', fleet.step)).length;
    const deployments = await fleet.stepDeployments();
    const audit = await auditStream(fleet.store, fleet.migrationId);
    const done = audit.state.steps[fleet.step];
    // The step's bake in migration time, as the decider counts it (deployment complete → step completed).
    const completedEvent = audit.stored.map((e) => e.data as { type: string; stepId?: string; at: string }).find((e) => e.type === 'StepCompleted' && e.stepId === fleet.step);
    const bakedMinutes = completedEvent === undefined || done?.deployment?.completedAt === undefined ? -1 : (Date.parse(completedEvent.at) - Date.parse(done.deployment.completedAt)) / 60_000;
    ctx.log(`runner-2 exit ${code}, started ${startedAgain} deployments; step deployments ${JSON.stringify(deployments)}; baked ${bakedMinutes.toFixed(1)} migration minutes; stream ${audit.stored.length} events, status ${audit.state.status}`);
    if (code !== 0) ctx.log(`runner-2: ${tail(second)}`);

    return {
      faultObserved: first.child.signalCode === 'SIGKILL' && bakingAtKill,
      faultEvidence: `runner-1 died of ${first.child.signalCode ?? 'nothing'} with the step ${progress?.status ?? 'unknown'} and its deployment recorded complete (${progress?.deployment?.completedAt ?? 'not recorded'}): mid-bake`,
      observations: [
        observe('during', 'step baking when the runner died', bakingAtKill, { text: 'yes (deployment complete, step not)', holds: bakingAtKill }),
        observe('after', 'restarted runner took the lease', holding === undefined ? -1 : holding.at - killedAt, { text: `within ${LEASE_TTL_MS} ms TTL + 10 s`, holds: holding !== undefined }, 'ms'),
        observe('after', 'deployments carrying the step\'s marker', deployments.length, { text: '= 1', holds: deployments.length === 1 }),
        observe('after', 'deployments the restarted runner started', startedAgain, { text: '= 0', holds: startedAgain === 0 }),
        observe('after', 'DeploymentStarted events for the step', audit.deploymentsStarted[fleet.step] ?? 0, { text: '= 1', holds: audit.deploymentsStarted[fleet.step] === 1 }),
        observe('after', 'bake before the step completed', Number(bakedMinutes.toFixed(1)), { text: `≥ ${BAKE_MINUTES} migration min`, holds: bakedMinutes >= BAKE_MINUTES }, 'min'),
        observe('after', 'restarted runner exit code', code, { text: '= 0', holds: code === 0 }),
        observe('after', 'migration status (replayed)', audit.state.status, { text: '= completed', holds: audit.state.status === 'completed' }),
        observe('after', 'stream without gap or duplicate', audit.contiguous && audit.duplicated.length === 0, { text: 'yes', holds: audit.contiguous && audit.duplicated.length === 0 && audit.error === undefined }),
      ],
      ...(holding === undefined ? {} : { timeToRecoverMs: holding.at - killedAt }),
      notes: [`recover: from the kill to the new runner holding the lease (the dead one's lapses after ${LEASE_TTL_MS} ms)`],
    };
  },
};
