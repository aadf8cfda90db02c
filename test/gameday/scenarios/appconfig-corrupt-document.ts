/**
 * A configuration body that arrives corrupt (cut short, then garbage bytes, as a broken proxy or
 * a torn transfer gives it) is refused by the provider of a running `prio serve`: counted, its
 * cause kept as the last error, the version in force unchanged, decisions unaffected; and the
 * source recovers by itself, taking the next good deployment.
 */
import { publish, deploy } from '../../../src/appconfig/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { APP, DUAL_FLAGS, ENV, configInfo, decisionLoad, flagsLabel, okPercent, ownAppConfig, startInstance, waitFor } from '../fleet/gd-core.js';
import { observe, type Scenario } from '../scenario.js';

const CORRUPT_ANSWERS = 2;

export const scenario: Scenario = {
  id: 'appconfig-corrupt-document',
  title: 'A corrupt configuration body is refused, the last good one kept',
  family: 'config',
  fault: `prio appconfig local's admin fault API corrupts ${CORRUPT_ANSWERS} GetLatestConfiguration answers (half the body, then garbage bytes)`,
  expected: 'each corrupt body refused and counted (status().refused, lastError names it), the version in force and /metrics unchanged, every decision answered; the next good deployment is taken',
  hypothesis: { steadyState: 'decisions answered 2xx; the configuration version in force', bound: '100% answered before, during and after; version unchanged during; the next deployment in force within 10 s' },
  ci: true,
  timeoutMs: 25_000,
  async run(ctx) {
    const own = await ownAppConfig(ctx);
    const instance = await startInstance(ctx, { endpoint: own.local.url });
    const onAppConfig = await waitFor(ctx, () => instance.provider.status().source === 'appconfig', 10_000);
    if (onAppConfig === undefined) throw new Error(`the instance never loaded its configuration from AppConfig: ${instance.provider.status().lastError ?? ''}`);
    const versionBefore = instance.provider.status().version;
    const refusedBefore = instance.provider.status().refused;
    const sourceBefore = String(instance.provider.status().source);

    const before = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`before: ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx, version ${versionBefore ?? 'none'}`);

    const injectedAt = Date.now();
    const fault = own.local.admin.injectFault({ target: 'GetLatestConfiguration', kind: 'corrupt', count: CORRUPT_ANSWERS });
    ctx.log(`fault ${fault.id}: the next ${CORRUPT_ANSWERS} GetLatestConfiguration answers are corrupt`);
    const duringLoad = decisionLoad(ctx, [instance.url], 3_000);
    const detectMs = await waitFor(ctx, () => instance.provider.status().refused > refusedBefore, 10_000);
    const spentMs = await waitFor(ctx, () => own.local.admin.faults().length === 0, 10_000);
    const during = await duringLoad;
    const status = instance.provider.status();
    const metricsDuring = await configInfo(instance.url);
    const refused = status.refused - refusedBefore;
    ctx.log(`during: ${refused} refused (last error: ${status.lastError ?? 'none'}), ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx, version ${status.version ?? 'none'}`);

    // Recovery: the next good deployment reaches the instance.
    const next = await publish(own.conn.client, { app: APP, profile: 'flags', content: flagsDocument(DUAL_FLAGS) });
    const deployedAt = Date.now();
    await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: next.version });
    const takenMs = await waitFor(ctx, () => instance.provider.current()?.flags.priorityScheme === 'dual', 10_000);
    const after = await decisionLoad(ctx, [instance.url], 1_500);
    const metricsAfter = await configInfo(instance.url);
    ctx.log(`after: flags v${next.version} ${takenMs === undefined ? 'never taken' : `in force ${takenMs} ms after the deployment`}; ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx`);

    const corruptSeen = fault.hits >= 1 || spentMs !== undefined;
    return {
      faultObserved: corruptSeen && refused >= 1 && /JSON|parse|Unexpected|token/i.test(status.lastError ?? ''),
      faultEvidence: `the endpoint served ${spentMs === undefined ? 'fewer than' : 'all'} ${CORRUPT_ANSWERS} corrupt answers; the provider refused ${refused}, last error "${status.lastError ?? 'none'}"`,
      observations: [
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(before) === 100 && before.sent >= 50 }, '%'),
        observe('before', 'configuration source', sourceBefore, { text: '= appconfig', holds: sourceBefore === 'appconfig' }),
        observe('during', 'corrupt documents refused', refused, { text: `≥ 1 and ≤ ${CORRUPT_ANSWERS + 1}`, holds: refused >= 1 && refused <= CORRUPT_ANSWERS + 1 }),
        observe('during', 'version in force', flagsLabel(status.version), { text: `= ${flagsLabel(versionBefore)} (unchanged)`, holds: status.version === versionBefore }),
        observe('during', '/metrics prio_config_info version', metricsDuring?.version ?? 'absent', { text: 'unchanged', holds: metricsDuring?.version === versionBefore }),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 100 sent)', holds: okPercent(during) === 100 && during.sent >= 100 }, '%'),
        observe('during', 'time to refuse the first corrupt body', detectMs ?? -1, { text: '≤ 10,000 ms', holds: detectMs !== undefined }, 'ms'),
        observe('after', 'next deployment in force', takenMs ?? -1, { text: '≤ 10,000 ms', holds: takenMs !== undefined }, 'ms'),
        observe('after', '/metrics priority_scheme', metricsAfter?.scheme ?? 'absent', { text: '= dual', holds: metricsAfter?.scheme === 'dual' }),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(after) === 100 && after.sent >= 50 }, '%'),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(takenMs === undefined ? {} : { timeToRecoverMs: takenMs }),
      notes: [
        `detect: from the fault's injection to the first refusal; recover: from deploying the next good flags (${deployedAt - injectedAt} ms after the injection, the corrupt answers spent after ${spentMs ?? '?'} ms) to them being in force — the steady state itself never broke`,
      ],
    };
  },
};
