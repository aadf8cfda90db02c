/**
 * AppConfigData throttles, then fails with 503s (the local endpoint's admin fault API), while
 * `prio serve` runs: the provider must back off rather than hammer the service, keep the
 * configuration in force, keep decisions answered, and take the next deployment once the
 * service answers again.
 */
import { deploy, publish } from '../../../src/appconfig/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { sleep } from '../../support/net.js';
import { APP, DUAL_FLAGS, ENV, decisionLoad, flagsLabel, okPercent, ownAppConfig, startInstance, waitFor } from '../fleet/gd-core.js';
import { observe, type Scenario } from '../scenario.js';

const PHASE_MS = 2_500;
/** Data-plane calls per second the instance may make while every call fails; a retry loop without backoff makes hundreds. */
const RATE_BOUND = 10;

interface Answer {
  readonly at: number;
  readonly status: number;
  readonly operation: string;
}

export const scenario: Scenario = {
  id: 'appconfig-throttling-and-5xx',
  title: 'AppConfigData throttling, then 503s',
  family: 'config',
  fault: `prio appconfig local's admin fault API: every AppConfigData call throttled for ${PHASE_MS / 1000} s, then answered 503 for ${PHASE_MS / 1000} s`,
  expected: 'the provider backs off (a few calls a second at most), keeps the configuration in force and reports the failures; decisions are unaffected; the next deployment is taken once the faults clear',
  hypothesis: { steadyState: 'decisions answered 2xx; the configuration version in force; AppConfigData calls per second', bound: `100% answered; version unchanged during; ≤ ${RATE_BOUND} data-plane calls/s while failing; the next deployment in force within 10 s of the clear` },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const answers: Answer[] = [];
    const own = await ownAppConfig(ctx, {
      onRequest(line) {
        // `METHOD path status operation ms`
        const [, , status, operation] = line.split(' ');
        if (operation === 'GetLatestConfiguration' || operation === 'StartConfigurationSession') answers.push({ at: Date.now(), status: Number(status), operation });
      },
    });
    const instance = await startInstance(ctx, { endpoint: own.local.url });
    const loaded = await waitFor(ctx, () => instance.provider.status().source === 'appconfig', 10_000);
    if (loaded === undefined) throw new Error(`the instance never loaded its configuration from AppConfig: ${instance.provider.status().lastError ?? ''}`);
    const versionBefore = instance.provider.status().version;
    const before = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`before: ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx, version ${versionBefore ?? 'none'}`);

    const warnsBefore = instance.events.filter((e) => e.level === 'warn').length;
    const duringLoad = decisionLoad(ctx, [instance.url], 2 * PHASE_MS);
    const injectedAt = Date.now();
    own.local.admin.injectFault({ target: 'data', kind: 'throttle' });
    ctx.log('every AppConfigData call throttled');
    // Detection is followed while the faults run: the SDK's own retries come before the provider sees a failure.
    const detecting = waitFor(ctx, () => instance.events.filter((e) => e.level === 'warn').length > warnsBefore, 2 * PHASE_MS + 5_000);
    await sleep(Math.max(0, PHASE_MS - (Date.now() - injectedAt)));
    own.local.admin.clearFaults();
    own.local.admin.injectFault({ target: 'data', kind: 'error', status: 503 });
    ctx.log('every AppConfigData call answered 503');
    await sleep(Math.max(0, 2 * PHASE_MS - (Date.now() - injectedAt)));
    own.local.admin.clearFaults();
    const clearedAt = Date.now();
    const during = await duringLoad;
    const detectMs = await detecting;
    const status = instance.provider.status();
    const inWindow = answers.filter((a) => a.at >= injectedAt && a.at <= clearedAt);
    const throttled = inWindow.filter((a) => a.status === 429 || a.status === 400).length;
    const unavailable = inWindow.filter((a) => a.status === 503).length;
    const ratePerSecond = inWindow.length / ((clearedAt - injectedAt) / 1000);
    const failures = instance.events.filter((e) => e.level === 'warn').length - warnsBefore;
    ctx.log(`during: ${inWindow.length} data-plane calls (${throttled} throttled, ${unavailable} 503), ${ratePerSecond.toFixed(1)}/s; ${failures} source failures reported, last error ${status.lastError ?? 'none'}; ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx`);

    const next = await publish(own.conn.client, { app: APP, profile: 'flags', content: flagsDocument(DUAL_FLAGS) });
    await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: next.version });
    const takenMs = await waitFor(ctx, () => instance.provider.current()?.flags.priorityScheme === 'dual', 10_000);
    const recoverMs = takenMs === undefined ? undefined : Date.now() - clearedAt;
    const after = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`after: the next deployment ${recoverMs === undefined ? 'never taken' : `in force ${recoverMs} ms after the faults cleared`}; ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx`);

    return {
      faultObserved: throttled >= 1 && unavailable >= 1 && failures >= 1,
      faultEvidence: `the endpoint answered ${throttled} AppConfigData calls throttled and ${unavailable} with 503; the provider reported ${failures} source failures (last error "${status.lastError ?? 'none'}")`,
      observations: [
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(before) === 100 && before.sent >= 50 }, '%'),
        observe('during', 'AppConfigData calls while failing', Number(ratePerSecond.toFixed(2)), { text: `≤ ${RATE_BOUND}/s (backoff, no retry storm)`, holds: ratePerSecond <= RATE_BOUND }, 'calls/s'),
        observe('during', 'source failures reported', failures, { text: '≥ 1', holds: failures >= 1 }),
        observe('during', 'version in force', flagsLabel(status.version), { text: `= ${flagsLabel(versionBefore)} (unchanged)`, holds: status.version === versionBefore }),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 300 sent)', holds: okPercent(during) === 100 && during.sent >= 300 }, '%'),
        observe('after', 'next deployment in force after the clear', recoverMs ?? -1, { text: '≤ 10,000 ms', holds: recoverMs !== undefined }, 'ms'),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(after) === 100 && after.sent >= 50 }, '%'),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(recoverMs === undefined ? {} : { timeToRecoverMs: recoverMs }),
      notes: ["detect: from the first fault to the provider's first source failure (the SDK's own retries come first); recover: from clearing the faults to the next deployment in force"],
    };
  },
};
