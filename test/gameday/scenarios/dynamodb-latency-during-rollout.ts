/**
 * The link to DynamoDB is slow for the whole rollout: Toxiproxy adds LATENCY_MS (± jitter) to
 * every answer between `prio rollout run` and DynamoDB Local. Every read, append and lease renewal
 * is slower, but the lease (TTL 2 s, renewed every third of it) must not be lost to slowness: one
 * holder, one fencing token, the migration completed with one deployment for its step.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbEventStore } from '../../../src/eventstore/index.js';
import { sleep } from '../../support/net.js';
import { faultyLink } from '../faults/network.js';
import { LEASE_TTL_MS, auditStream, rolloutFleet, runnerLine, tail } from '../fleet/gd-control.js';
import { observe, type Scenario } from '../scenario.js';

const LATENCY_MS = 300;
const JITTER_MS = 100;

export const scenario: Scenario = {
  id: 'dynamodb-latency-during-rollout',
  title: 'A slow DynamoDB link for the whole rollout',
  family: 'network',
  fault: `Toxiproxy latency ${LATENCY_MS} ± ${JITTER_MS} ms on every answer from DynamoDB Local to \`prio rollout run\` (lease TTL ${LEASE_TTL_MS} ms)`,
  expected: 'the rollout completes; the lease is held throughout by one token (renewals are slow, not lost); one deployment for the step; the stream one valid history',
  hypothesis: { steadyState: 'one lease holder, one token; one deployment per step; the migration completes', bound: `0 lease losses, 1 acquisition; every event under the first token; 1 deployment and 1 DeploymentStarted; exit 0, completed` },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const fleet = await rolloutFleet(ctx, { bakeMinutes: 60, timeScale: 1_800, appConfigTimeScale: 600 });
    const link = await faultyLink(ctx, 'dynamodb', ctx.services.dynamodbEndpoint);
    await link.toxic('latency', { latency: LATENCY_MS, jitter: JITTER_MS });
    // The fault seen for itself: a call through the link takes at least the latency.
    const probe = new DynamoDbEventStore({ table: fleet.table, endpoint: link.url });
    ctx.defer(() => probe.close());
    const probeStarted = Date.now();
    await probe.client.send(new DescribeTableCommand({ TableName: fleet.table }));
    const probeMs = Date.now() - probeStarted;
    ctx.log(`a DescribeTable through the link took ${probeMs} ms`);

    const runner = fleet.runner('runner-1', { endpoint: link.url });
    const code = await Promise.race([runner.exit, sleep(60_000).then(() => -1)]);
    const leaseLines = runner.lines.filter((l) => l.json?.kind === 'lease').map((l) => String(l.json?.message));
    const holdings = leaseLines.filter((m) => m.startsWith('holding')).length;
    const losses = leaseLines.filter((m) => m.startsWith('lost')).length;
    const deployments = await fleet.stepDeployments();
    const audit = await auditStream(fleet.store, fleet.migrationId);
    const tokens = [...new Set(audit.stored.map((e) => e.meta.fencingToken ?? 0))];
    const deployed = runner.lines.find(runnerLine('deployed', fleet.step));
    ctx.log(`runner exit ${code}; lease lines ${JSON.stringify(leaseLines)}; tokens in the stream ${JSON.stringify(tokens)}; step deployments ${JSON.stringify(deployments)}; status ${audit.state.status}`);
    if (code !== 0) ctx.log(`runner: ${tail(runner)}`);

    return {
      faultObserved: probeMs >= LATENCY_MS - JITTER_MS,
      faultEvidence: `a DynamoDB call through the link took ${probeMs} ms (latency toxic ${LATENCY_MS} ± ${JITTER_MS} ms)`,
      observations: [
        observe('during', 'DynamoDB call through the link', probeMs, { text: `≥ ${LATENCY_MS - JITTER_MS} ms`, holds: probeMs >= LATENCY_MS - JITTER_MS }, 'ms'),
        observe('during', 'lease acquisitions', holdings, { text: '= 1', holds: holdings === 1 }),
        observe('during', 'lease losses', losses, { text: '= 0', holds: losses === 0 }),
        observe('after', 'fencing tokens in the stream', tokens.join(', '), { text: 'one token', holds: tokens.length === 1 }),
        observe('after', 'deployments carrying the step\'s marker', deployments.length, { text: '= 1', holds: deployments.length === 1 }),
        observe('after', 'DeploymentStarted events for the step', audit.deploymentsStarted[fleet.step] ?? 0, { text: '= 1', holds: audit.deploymentsStarted[fleet.step] === 1 }),
        observe('after', 'runner exit code', code, { text: '= 0', holds: code === 0 }),
        observe('after', 'migration status (replayed)', audit.state.status, { text: '= completed', holds: audit.state.status === 'completed' && audit.contiguous && audit.duplicated.length === 0 }),
      ],
      notes: [`the step's deployment was recorded complete ${deployed === undefined ? 'never' : `${((deployed.at - probeStarted) / 1000).toFixed(1)} s after the toxic`}; the toxic stayed for the whole rollout`],
    };
  },
};
