/**
 * Invalid configuration deployed to a running fleet: a flags document the profile's JSON Schema
 * refuses (an unknown priority scheme), and one the schema lets through but the provider must
 * refuse (it names a rule set that does not exist). Neither may be swapped in.
 */
import { deploy, publish } from '../../../src/appconfig/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { APP, DUAL_FLAGS, ENV, configInfo, decisionLoad, flagsLabel, okPercent, ownAppConfig, settled, startInstance, waitFor } from '../fleet/gd-core.js';
import { observe, type Scenario } from '../scenario.js';

const encode = (doc: object) => new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
/** Fails the flags profile's JSON Schema validator: no such priority scheme. */
const SCHEMA_INVALID = { schemaVersion: 1, priorityScheme: 'quantum', tokenReadMode: 'v1', tokenWriteMode: 'v1', serviceTierMode: 'ignored', rulesVersion: 'legacy-4' };
/** Passes the schema, but no rule set is versioned `tiered-9.9`: only the provider can refuse it. */
const UNKNOWN_RULES = { ...SCHEMA_INVALID, priorityScheme: 'dual', tokenReadMode: 'dual', serviceTierMode: 'observed', rulesVersion: 'tiered-9.9' };

export const scenario: Scenario = {
  id: 'appconfig-schema-invalid-document',
  title: 'Invalid flags documents deployed: refused by the validator or by the provider',
  family: 'config',
  fault: 'a flags document failing the profile JSON Schema (priorityScheme "quantum"), then one passing it but naming a rule set that does not exist (rulesVersion "tiered-9.9"), each published and deployed',
  expected: "the endpoint's validator refuses the first at StartDeployment; the second is deployed and the provider refuses it (counted, last error names rulesVersion); the version in force never changes and every decision is answered",
  hypothesis: { steadyState: 'decisions answered 2xx; the configuration version in force', bound: '100% answered; version unchanged until a good deployment, which is in force within 10 s' },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const own = await ownAppConfig(ctx);
    const instance = await startInstance(ctx, { endpoint: own.local.url });
    const loaded = await waitFor(ctx, () => instance.provider.status().source === 'appconfig', 10_000);
    if (loaded === undefined) throw new Error(`the instance never loaded its configuration from AppConfig: ${instance.provider.status().lastError ?? ''}`);
    const versionBefore = instance.provider.status().version;
    const refusedBefore = instance.provider.status().refused;
    const before = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`before: ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx, version ${versionBefore ?? 'none'}`);

    const duringLoad = decisionLoad(ctx, [instance.url], 5_000);
    // 1. Refused by the profile's validator at StartDeployment: nothing reaches the fleet.
    const invalid = await publish(own.conn.client, { app: APP, profile: 'flags', content: encode(SCHEMA_INVALID) });
    const validatorAnswer = await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: invalid.version }).then(
      (d) => `deployment ${d.number} started`,
      (err: unknown) => `refused: ${err instanceof Error ? err.message : String(err)}`,
    );
    ctx.log(`schema-invalid flags v${invalid.version}: ${validatorAnswer}`);

    // 2. Schema-valid, semantically broken: deployed, refused by the provider.
    const broken = await publish(own.conn.client, { app: APP, profile: 'flags', content: encode(UNKNOWN_RULES) });
    const deployedAt = Date.now();
    await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: broken.version });
    const detectMs = await waitFor(ctx, () => instance.provider.status().refused > refusedBefore, 10_000);
    const status = instance.provider.status();
    const metricsDuring = await configInfo(instance.url);
    const during = await duringLoad;
    const refused = status.refused - refusedBefore;
    ctx.log(`flags v${broken.version} (rulesVersion tiered-9.9) deployed: ${refused} refused, last error ${status.lastError ?? 'none'}; ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx`);

    await settled(own.conn, ctx.signal);
    const good = await publish(own.conn.client, { app: APP, profile: 'flags', content: flagsDocument(DUAL_FLAGS) });
    const fixedAt = Date.now();
    await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: good.version });
    const takenMs = await waitFor(ctx, () => instance.provider.current()?.flags.priorityScheme === 'dual', 10_000);
    const after = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`good flags v${good.version}: ${takenMs === undefined ? 'never taken' : `in force after ${takenMs} ms`}; ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx`);

    const validatorRefused = validatorAnswer.startsWith('refused') && /priorityScheme|quantum|validat/i.test(validatorAnswer);
    return {
      faultObserved: validatorRefused && refused >= 1,
      faultEvidence: `StartDeployment of the schema-invalid version: ${validatorAnswer}; the provider refused ${refused} document set(s) after flags v${broken.version} was deployed (last error "${status.lastError ?? 'none'}")`,
      observations: [
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(before) === 100 && before.sent >= 50 }, '%'),
        observe('during', 'schema-invalid version refused at StartDeployment', validatorRefused, { text: 'yes', holds: validatorRefused }),
        observe('during', 'broken document sets refused by the provider', refused, { text: '≥ 1', holds: refused >= 1 }),
        observe('during', 'provider last error', status.lastError ?? 'none', { text: 'names rulesVersion', holds: /rulesVersion|tiered-9\.9/.test(status.lastError ?? '') }),
        observe('during', 'version in force', flagsLabel(status.version), { text: `= ${flagsLabel(versionBefore)} (unchanged)`, holds: status.version === versionBefore }),
        observe('during', '/metrics prio_config_info version', metricsDuring?.version ?? 'absent', { text: 'unchanged', holds: metricsDuring?.version === versionBefore }),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 200 sent)', holds: okPercent(during) === 100 && during.sent >= 200 }, '%'),
        observe('after', 'good deployment in force', takenMs ?? -1, { text: '≤ 10,000 ms', holds: takenMs !== undefined }, 'ms'),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 50 sent)', holds: okPercent(after) === 100 && after.sent >= 50 }, '%'),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(takenMs === undefined ? {} : { timeToRecoverMs: takenMs }),
      notes: [`detect: from deploying the broken flags to the provider refusing them; recover: from deploying good flags (${fixedAt - deployedAt} ms later) to them being in force`],
    };
  },
};
