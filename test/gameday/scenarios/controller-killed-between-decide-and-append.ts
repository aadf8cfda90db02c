/**
 * `prio rollout run` is SIGKILLed after it decided an event and before it appended it, at four
 * points of one step in turn: StepStarted, DeploymentStarted (its AppConfig deployment already
 * started), DeploymentCompleted and StepCompleted. The runner's fault-injection point
 * (PRIO_TEST_PAUSE_BEFORE_APPEND, off unless set) holds it there; each time a new runner is
 * started in its place. The last one, without the point, completes the migration: every event
 * of the step exactly once, one deployment for the step.
 */
import { PAUSE_BEFORE_APPEND_ENV } from '../../../src/rollout/index.js';
import { sleep } from '../../support/net.js';
import { auditStream, rolloutFleet, runnerLine, tail } from '../fleet/gd-control.js';
import { observe, type Observation, type Scenario } from '../scenario.js';

const POINTS = ['StepStarted', 'DeploymentStarted', 'DeploymentCompleted', 'StepCompleted'] as const;

export const scenario: Scenario = {
  id: 'controller-killed-between-decide-and-append',
  title: 'The rollout runner killed between deciding an event and appending it',
  family: 'process',
  fault: `SIGKILL of \`prio rollout run\` held at its fault-injection point (${PAUSE_BEFORE_APPEND_ENV}) after deciding ${POINTS.join(', then ')}, before appending it; a new runner each time`,
  expected: 'the decided event is not in the stream when the runner dies; each new runner decides again from the stream and appends it once; the deployment started before a kill is found by its marker, not started again; the migration completes',
  hypothesis: { steadyState: 'each event of the step once; one AppConfig deployment per step run', bound: 'StepStarted, DeploymentStarted, DeploymentCompleted, StepCompleted = 1 each; 1 deployment carrying the marker; the last runner exits 0 with the migration completed' },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const fleet = await rolloutFleet(ctx, { bakeMinutes: 60, timeScale: 1_800, appConfigTimeScale: 600 });
    const kills: { point: string; inStream: number; killedAt: number }[] = [];
    for (const [i, point] of POINTS.entries()) {
      const runner = fleet.runner(`runner-${i + 1}`, { env: { [PAUSE_BEFORE_APPEND_ENV]: `${point}:60000` } });
      const held = await runner.waitFor((l) => l.json?.kind === 'fault-point' && String(l.json.message).startsWith(`decided ${point};`), 45_000);
      if (held === undefined) throw new Error(`runner-${i + 1} never reached the point before appending ${point}: ${tail(runner)}`);
      const before = await auditStream(fleet.store, fleet.migrationId);
      const inStream = before.stored.filter((e) => e.type === point).length;
      await runner.kill();
      kills.push({ point, inStream, killedAt: Date.now() });
      ctx.log(`runner-${i + 1} killed holding a decided ${point} (in the stream: ${inStream}); stream at ${before.stored.length} events`);
    }
    const last = fleet.runner('runner-last');
    const code = await Promise.race([last.exit, sleep(45_000).then(() => -1)]);
    const startedAgain = last.lines.filter((l) => runnerLine('deploy', fleet.step)(l) && !String(l.json?.message).startsWith('found deployment')).length;
    const deployments = await fleet.stepDeployments();
    const audit = await auditStream(fleet.store, fleet.migrationId);
    const counts = Object.fromEntries(POINTS.map((p) => [p, audit.stored.filter((e) => e.type === p).length]));
    ctx.log(`runner-last exit ${code}; events ${JSON.stringify(counts)}; step deployments ${JSON.stringify(deployments)}; status ${audit.state.status}`);
    if (code !== 0) ctx.log(`runner-last: ${tail(last)}`);

    const unwritten = kills.filter((k) => k.inStream === 0).length;
    const perPoint: Observation[] = POINTS.map((p) => observe('after', `${p} events`, counts[p] ?? 0, { text: '= 1', holds: counts[p] === 1 }));
    return {
      faultObserved: kills.length === POINTS.length && unwritten === POINTS.length,
      faultEvidence: `${kills.length} runners SIGKILLed at the point between deciding and appending (${kills.map((k) => `${k.point}: ${k.inStream} in the stream`).join(', ')})`,
      observations: [
        observe('during', 'kills with the decided event not yet in the stream', unwritten, { text: `= ${POINTS.length}`, holds: unwritten === POINTS.length }),
        ...perPoint,
        observe('after', 'deployments carrying the step\'s marker', deployments.length, { text: '= 1', holds: deployments.length === 1 }),
        observe('after', 'deployments the last runner started', startedAgain, { text: '= 0 (started before the kill at DeploymentStarted)', holds: startedAgain === 0 }),
        observe('after', 'last runner exit code', code, { text: '= 0', holds: code === 0 }),
        observe('after', 'migration status (replayed)', audit.state.status, { text: '= completed', holds: audit.state.status === 'completed' }),
        observe('after', 'stream without gap or duplicate', audit.contiguous && audit.duplicated.length === 0, { text: 'yes', holds: audit.contiguous && audit.duplicated.length === 0 && audit.error === undefined }),
      ],
      notes: ['each runner after the first waits for the killed one\'s lease to lapse (2 s TTL) before it decides again'],
    };
  },
};
