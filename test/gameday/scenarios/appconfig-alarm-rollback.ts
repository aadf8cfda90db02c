/**
 * An alarm fires in the middle of a gradual flags deployment: AppConfig must roll it back
 * (ROLLED_BACK, TriggeredBy the alarm) and every instance of the fleet — including those that
 * had already taken the new flags — must end on the previous version, while decisions go on.
 */
import { deploy, history, publish } from '../../../src/appconfig/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { APP, DUAL_FLAGS, ENV, decisionLoad, flagsLabel, okPercent, ownAppConfig, startInstance, waitFor, type Instance } from '../fleet/gd-core.js';
import { observe, type Scenario } from '../scenario.js';

const ALARM = 'arn:aws:cloudwatch:us-east-1:111122223333:alarm:prio-gameday-dispatch-errors';
const FLEET = 4;
/** Strategy minutes per real minute: the linear strategy (20 min + 10 min bake) takes 6 s. */
const TIME_SCALE = 300;

export const scenario: Scenario = {
  id: 'appconfig-alarm-rollback',
  title: 'An alarm mid-deployment rolls the flags back across the fleet',
  family: 'config',
  fault: `the environment's CloudWatch alarm set to ALARM (admin API) while a linear flags deployment is under way to ${FLEET} prio serve instances`,
  expected: 'the deployment ends ROLLED_BACK; every instance, including those already on the new flags, ends on the previous flags version; decisions answered throughout',
  hypothesis: { steadyState: 'decisions answered 2xx; the flags version each instance runs', bound: `100% answered; all ${FLEET} instances on the previous flags within 10 s of the alarm` },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const own = await ownAppConfig(ctx, { timeScale: TIME_SCALE, alarms: [ALARM] });
    const fleet: Instance[] = [];
    for (let i = 0; i < FLEET; i += 1) fleet.push(await startInstance(ctx, { endpoint: own.local.url }));
    const urls = fleet.map((f) => f.url);
    const allOnAppConfig = await waitFor(ctx, () => fleet.every((f) => f.provider.status().source === 'appconfig'), 10_000);
    if (allOnAppConfig === undefined) throw new Error('the fleet never loaded its configuration from AppConfig');
    const previous = flagsLabel(fleet[0]?.provider.status().version);
    const onPrevious = () => fleet.filter((f) => flagsLabel(f.provider.status().version) === previous).length;
    const onPreviousBefore = onPrevious();
    const before = await decisionLoad(ctx, urls, 1_500);
    ctx.log(`before: ${onPrevious()}/${FLEET} instances on flags ${previous}; ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx`);

    const duringLoad = decisionLoad(ctx, urls, 6_000);
    const next = await publish(own.conn.client, { app: APP, profile: 'flags', content: flagsDocument(DUAL_FLAGS) });
    const deployedAt = Date.now();
    const started = await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'linear', version: next.version });
    ctx.log(`linear deployment ${started.number} of flags v${next.version} started`);
    const onNew = () => fleet.filter((f) => f.provider.current()?.flags.priorityScheme === 'dual').length;
    const reachedMs = await waitFor(ctx, () => onNew() >= 1, 8_000);
    const stateAtAlarm = (await history(own.conn.client, APP, ENV)).deployments.find((d) => d.number === started.number)?.state ?? 'unknown';
    const newAtAlarm = onNew();
    const alarmAt = Date.now();
    const rolledBack = own.local.admin.setAlarm(ALARM, 'ALARM');
    ctx.log(`alarm set to ALARM with the deployment ${stateAtAlarm} and ${newAtAlarm}/${FLEET} instances on the new flags; ${rolledBack.length} deployment(s) rolled back`);
    let finalState = 'unknown';
    const detectMs = await waitFor(
      ctx,
      async () => {
        finalState = (await history(own.conn.client, APP, ENV)).deployments.find((d) => d.number === started.number)?.state ?? 'unknown';
        return finalState === 'ROLLED_BACK';
      },
      10_000,
    );
    const recoverMs = await waitFor(ctx, () => onPrevious() === FLEET, 10_000);
    const during = await duringLoad;
    ctx.log(`deployment ${finalState} ${detectMs ?? '?'} ms after the alarm; ${onPrevious()}/${FLEET} instances back on flags ${previous} ${recoverMs ?? '?'} ms after it; ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx`);

    own.local.admin.setAlarm(ALARM, 'OK');
    const after = await decisionLoad(ctx, urls, 1_500);
    const finalVersions = fleet.map((f) => flagsLabel(f.provider.status().version));
    ctx.log(`after: flags ${finalVersions.join(', ')}; ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx`);

    const inProgress = stateAtAlarm === 'DEPLOYING' || stateAtAlarm === 'BAKING';
    return {
      faultObserved: inProgress && rolledBack.some((r) => r.deploymentNumber === started.number) && reachedMs !== undefined,
      faultEvidence: `the alarm fired with deployment ${started.number} ${stateAtAlarm} and ${newAtAlarm}/${FLEET} instances on the new flags; the endpoint rolled back deployment(s) ${rolledBack.map((r) => r.deploymentNumber).join(', ') || 'none'}`,
      observations: [
        observe('before', `instances on flags ${previous}`, onPreviousBefore, { text: `= ${FLEET}`, holds: onPreviousBefore === FLEET }),
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(before) === 100 && before.sent >= 50 }, '%'),
        observe('during', 'instances on the new flags when the alarm fired', newAtAlarm, { text: '≥ 1', holds: newAtAlarm >= 1 }),
        observe('during', 'deployment state', finalState, { text: '= ROLLED_BACK', holds: finalState === 'ROLLED_BACK' }),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 300 sent)', holds: okPercent(during) === 100 && during.sent >= 300 }, '%'),
        observe('after', `instances back on flags ${previous}`, onPrevious(), { text: `= ${FLEET} within 10 s of the alarm`, holds: recoverMs !== undefined && onPrevious() === FLEET }),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(after) === 100 && after.sent >= 50 }, '%'),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(recoverMs === undefined ? {} : { timeToRecoverMs: recoverMs }),
      notes: [`detect: from the alarm to the deployment recorded ROLLED_BACK; recover: from the alarm to all ${FLEET} instances on the previous flags (they poll every second); the alarm fired ${alarmAt - deployedAt} ms into the deployment`],
    };
  },
};
