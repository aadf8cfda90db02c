/**
 * The link to DynamoDB is cut mid-rollout (a Toxiproxy partition: open connections closed, new
 * ones refused) right after the runner started the step, for PARTITION_MS — longer than the lease.
 * What the runner does: every call fails with a connection error, so it logs `retry` lines and
 * waits, 250 ms doubling to 5 s, re-reading the stream each time; it cannot append, and since a
 * step's deployment starts only once the stream holds its passing evidence, it starts none it
 * could not record. Its lease lapses unrenewed, but nobody else took it, so after the heal the
 * same token renews and appends, and the same process completes the migration.
 */
import { sleep } from '../../support/net.js';
import { faultyLink } from '../faults/network.js';
import { auditStream, rolloutFleet, runnerLine, tail } from '../fleet/gd-control.js';
import { observe, type Scenario } from '../scenario.js';

const PARTITION_MS = 5_000;

export const scenario: Scenario = {
  id: 'dynamodb-partition-during-rollout',
  title: 'DynamoDB unreachable mid-rollout, then back',
  family: 'network',
  fault: `Toxiproxy partition of the link between \`prio rollout run\` and DynamoDB Local for ${PARTITION_MS / 1000} s, from the moment the step started`,
  expected: 'the runner retries with backoff (no crash, no exit), starts no deployment whose event it cannot append; after the heal it carries on and completes: one deployment for the step, every deployment recorded in the stream',
  hypothesis: { steadyState: 'no AppConfig deployment without its DeploymentStarted; one deployment per step; the migration completes', bound: '≥ 1 retry line during the partition; 0 deployments unrecorded at the end; 1 deployment; the same runner exits 0, completed' },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const fleet = await rolloutFleet(ctx, { bakeMinutes: 60, timeScale: 1_800, appConfigTimeScale: 600 });
    const link = await faultyLink(ctx, 'dynamodb', ctx.services.dynamodbEndpoint);
    const runner = fleet.runner('runner-1', { endpoint: link.url });
    const started = await runner.waitFor(runnerLine('start', fleet.step), 45_000);
    if (started === undefined) throw new Error(`the runner never started the step: ${tail(runner)}`);
    await link.partition();
    const cutAt = Date.now();
    const seen = runner.lines.length;
    const firstRetry = await runner.waitFor((l) => l.json?.kind === 'retry' && runner.lines.indexOf(l) >= seen, PARTITION_MS);
    await sleep(Math.max(0, PARTITION_MS - (Date.now() - cutAt)));
    const duringDeployments = await fleet.stepDeployments();
    const aliveDuring = runner.running();
    await link.heal();
    const healedAt = Date.now();
    const retries = runner.lines.filter((l) => l.json?.kind === 'retry' && l.at >= cutAt && l.at <= healedAt);
    ctx.log(`partition ${healedAt - cutAt} ms: ${retries.length} retry lines (first "${String(firstRetry?.json?.message ?? 'none')}"); runner ${aliveDuring ? 'still running' : 'exited'}; step deployments meanwhile ${duringDeployments.length}`);

    const code = await Promise.race([runner.exit, sleep(45_000).then(() => -1)]);
    const resumed = runner.lines.find((l) => l.at >= healedAt && l.json?.kind !== undefined && l.json.kind !== 'retry');
    const deployments = await fleet.stepDeployments();
    const audit = await auditStream(fleet.store, fleet.migrationId);
    const recorded = new Set(audit.stored.map((e) => e.data as { type: string; deployment?: { number: number } }).filter((e) => e.type === 'DeploymentStarted').map((e) => e.deployment?.number));
    const unrecorded = deployments.filter((d) => !recorded.has(d.number)).length;
    const tokens = [...new Set(audit.stored.map((e) => e.meta.fencingToken ?? 0))];
    ctx.log(`runner exit ${code}; step deployments ${JSON.stringify(deployments)}, unrecorded ${unrecorded}; tokens ${JSON.stringify(tokens)}; status ${audit.state.status}`);
    if (code !== 0) ctx.log(`runner: ${tail(runner)}`);

    return {
      faultObserved: retries.length >= 1,
      faultEvidence: `${retries.length} retries logged by the runner while the link was cut, the first: ${String(firstRetry?.json?.message ?? 'none')}`,
      observations: [
        observe('during', 'runner retry lines', retries.length, { text: '≥ 1', holds: retries.length >= 1 }),
        observe('during', 'runner still running', aliveDuring, { text: 'yes (waits, does not exit)', holds: aliveDuring }),
        observe('during', 'step deployments started during the partition', duringDeployments.length),
        observe('after', 'deployments without their DeploymentStarted', unrecorded, { text: '= 0', holds: unrecorded === 0 }),
        observe('after', 'deployments carrying the step\'s marker', deployments.length, { text: '= 1', holds: deployments.length === 1 }),
        observe('after', 'DeploymentStarted events for the step', audit.deploymentsStarted[fleet.step] ?? 0, { text: '= 1', holds: audit.deploymentsStarted[fleet.step] === 1 }),
        observe('after', 'runner exit code (the same process)', code, { text: '= 0', holds: code === 0 }),
        observe('after', 'migration status (replayed)', audit.state.status, { text: '= completed', holds: audit.state.status === 'completed' && audit.contiguous && audit.duplicated.length === 0 }),
      ],
      ...(firstRetry === undefined ? {} : { timeToDetectMs: firstRetry.at - cutAt }),
      ...(resumed === undefined ? {} : { timeToRecoverMs: resumed.at - healedAt }),
      notes: ['step deployments started during the partition: 0 unless the step\'s evidence was appended before the cut (the deployment then starts, its DeploymentStarted waits for the heal and is appended once)', 'detect: from the cut to the runner\'s first retry line; recover: from the heal to its next line of progress (bounded by its backoff, at most 5 s)'],
    };
  },
};
