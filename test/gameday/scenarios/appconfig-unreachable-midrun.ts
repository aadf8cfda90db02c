/**
 * AppConfig becomes unreachable while `prio serve` runs: its AppConfigData connections are reset
 * (Toxiproxy reset_peer), then the link is cut entirely (a partition). The provider must keep the
 * last good configuration, say what failed (its last error), keep every decision answered, and
 * take the next deployment once the link heals.
 */
import { deploy, publish } from '../../../src/appconfig/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { sleep } from '../../support/net.js';
import { faultyLink } from '../faults/network.js';
import { APP, DUAL_FLAGS, ENV, configInfo, decisionLoad, flagsLabel, okPercent, ownAppConfig, startInstance, waitFor } from '../fleet/gd-core.js';
import { observe, type Scenario } from '../scenario.js';

const RESET_MS = 2_500;
const PARTITION_MS = 2_500;

export const scenario: Scenario = {
  id: 'appconfig-unreachable-midrun',
  title: 'AppConfig unreachable mid-run: connections reset, then a partition',
  family: 'network',
  fault: `Toxiproxy between prio serve and AppConfigData: reset_peer for ${RESET_MS / 1000} s, then a full partition for ${PARTITION_MS / 1000} s`,
  expected: 'the configuration in force kept, the provider reports the failure as its last error, every decision answered; after the heal the next deployment is taken',
  hypothesis: { steadyState: 'decisions answered 2xx; the configuration version in force', bound: '100% answered before, during and after; version unchanged during the fault; the next deployment in force within 10 s of the heal' },
  ci: true,
  timeoutMs: 25_000,
  async run(ctx) {
    const own = await ownAppConfig(ctx);
    const link = await faultyLink(ctx, 'appconfigdata', own.local.url);
    const instance = await startInstance(ctx, { endpoint: link.url });
    const loaded = await waitFor(ctx, () => instance.provider.status().source === 'appconfig', 10_000);
    if (loaded === undefined) throw new Error(`the instance never loaded its configuration from AppConfig: ${instance.provider.status().lastError ?? ''}`);
    const versionBefore = instance.provider.status().version;
    const before = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`before: ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx, version ${versionBefore ?? 'none'}, last error ${instance.provider.status().lastError ?? 'none'}`);

    const failuresBefore = instance.events.filter((e) => e.level === 'warn').length;
    const duringLoad = decisionLoad(ctx, [instance.url], RESET_MS + PARTITION_MS);
    const injectedAt = Date.now();
    const removeReset = await link.toxic('reset_peer', { timeout: 0 });
    ctx.log('reset_peer on the AppConfigData link');
    const detectMs = await waitFor(ctx, () => instance.events.filter((e) => e.level === 'warn').length > failuresBefore, RESET_MS);
    await sleep(Math.max(0, RESET_MS - (Date.now() - injectedAt)));
    await removeReset();
    await link.partition();
    ctx.log('partition of the AppConfigData link');
    const probe = await fetch(`${link.url}/_local/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => `HTTP ${r.status}`, (err: unknown) => `failed (${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)})`);
    const during = await duringLoad;
    const status = instance.provider.status();
    const metricsDuring = await configInfo(instance.url);
    const failures = instance.events.filter((e) => e.level === 'warn').length - failuresBefore;
    ctx.log(`during: ${failures} source failures, last error ${status.lastError ?? 'none'}; probe through the partition ${probe}; ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx`);

    await link.clear();
    const healedAt = Date.now();
    const next = await publish(own.conn.client, { app: APP, profile: 'flags', content: flagsDocument(DUAL_FLAGS) });
    await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: next.version });
    const takenMs = await waitFor(ctx, () => instance.provider.current()?.flags.priorityScheme === 'dual', 10_000);
    const recoverMs = takenMs === undefined ? undefined : Date.now() - healedAt;
    const after = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`after: the next deployment ${recoverMs === undefined ? 'never taken' : `in force ${recoverMs} ms after the heal`}; ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx`);

    return {
      faultObserved: failures >= 1 && probe.startsWith('failed') && status.lastError !== null,
      faultEvidence: `${failures} AppConfigData polls failed through the link (last error "${status.lastError ?? 'none'}"); a request through the partitioned link ${probe}`,
      observations: [
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(before) === 100 && before.sent >= 50 }, '%'),
        observe('during', 'source failures reported', failures, { text: '≥ 1', holds: failures >= 1 }),
        observe('during', 'provider last error', status.lastError ?? 'none', { text: 'names the AppConfig source', holds: /^appconfig: /.test(status.lastError ?? '') }),
        observe('during', 'version in force', flagsLabel(status.version), { text: `= ${flagsLabel(versionBefore)} (unchanged)`, holds: status.version === versionBefore && status.source === 'appconfig' }),
        observe('during', '/metrics prio_config_info', `${metricsDuring?.source ?? 'absent'} ${metricsDuring?.version ?? ''}`, { text: 'source appconfig, version unchanged', holds: metricsDuring?.source === 'appconfig' && metricsDuring.version === versionBefore }),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 200 sent)', holds: okPercent(during) === 100 && during.sent >= 200 }, '%'),
        observe('after', 'next deployment in force after the heal', recoverMs ?? -1, { text: '≤ 10,000 ms', holds: recoverMs !== undefined }, 'ms'),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(after) === 100 && after.sent >= 50 }, '%'),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(recoverMs === undefined ? {} : { timeToRecoverMs: recoverMs }),
      notes: ['detect: from the reset_peer toxic to the provider logging its first source failure; recover: from the heal to the next deployment in force (the provider backs off 200 ms doubling to 2 s between retries here)'],
    };
  },
};
