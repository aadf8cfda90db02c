/**
 * `prio serve` starts while AppConfig cannot be reached (its AppConfigData link partitioned by
 * Toxiproxy): it must come up on the rules baked into the package, say so on /metrics
 * (source="baked"), serve; and once the link heals, switch to AppConfig by itself. The switch
 * time is measured; `prio serve` runs as a user starts it (the CLI, its own process).
 */
import type { ChildProcess } from 'node:child_process';
import { REHEARSAL_TOKEN_KEYS, startServe } from '../../../scripts/rollout/rehearsal.js';
import { faultyLink } from '../faults/network.js';
import { APP, ENV, configInfo, decisionLoad, okPercent, ownAppConfig, waitFor } from '../fleet/gd-core.js';
import { observe, type Scenario } from '../scenario.js';

/** The provider's longest backoff between retries (its default) plus one poll: the bound of the switch. */
const SWITCH_BOUND_MS = 61_000;

export const scenario: Scenario = {
  id: 'appconfig-unreachable-at-start',
  title: 'prio serve starts while AppConfig is unreachable',
  family: 'network',
  fault: 'Toxiproxy partition between a starting prio serve (CLI) and AppConfigData, healed once it serves',
  expected: 'it comes up on the baked rules (/metrics source="baked") and answers every decision; after the heal it switches to AppConfig by itself',
  hypothesis: { steadyState: 'decisions answered 2xx; /metrics prio_config_info source', bound: '100% answered on the baked rules and after the switch; source appconfig within 61 s of the heal (the default backoff ceiling plus a poll)' },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const own = await ownAppConfig(ctx);
    const link = await faultyLink(ctx, 'appconfigdata-at-start', own.local.url);
    await link.partition();
    const probe = await fetch(`${link.url}/_local/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => `HTTP ${r.status}`, (err: unknown) => `failed (${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)})`);
    ctx.log(`link partitioned before the start; a request through it ${probe}`);

    const env = { ...process.env, PRIO_TOKEN_KEYS: REHEARSAL_TOKEN_KEYS, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };
    const args = ['--port', '0', '--appconfig', `${APP}/${ENV}`, '--appconfig-endpoint', link.url, '--appconfig-poll-seconds', '1', '--log-level', 'info', '--grace-ms', '1000'];
    const startedAt = Date.now();
    const serve = await startServe(args, env, 'baked');
    ctx.defer(() => stop(serve.process));
    const stderr: { at: number; line: string }[] = [];
    let partial = '';
    serve.process.stderr?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') stderr.push({ at: Date.now(), line });
    });
    const upMs = Date.now() - startedAt;
    const atStart = await configInfo(serve.url);
    ctx.log(`prio serve up on ${serve.url} after ${upMs} ms, /metrics source ${atStart?.source ?? 'absent'} version ${atStart?.version ?? ''}`);
    const onBaked = await decisionLoad(ctx, [serve.url], 2_000);
    ctx.log(`on the baked rules: ${onBaked.sent} decisions, ${okPercent(onBaked).toFixed(1)}% 2xx`);

    await link.heal();
    let latest = atStart;
    const switchMs = await waitFor(
      ctx,
      async () => {
        latest = await configInfo(serve.url);
        return latest?.source === 'appconfig';
      },
      SWITCH_BOUND_MS,
    );
    ctx.log(`healed; ${switchMs === undefined ? 'no switch' : `source appconfig (version ${latest?.version ?? ''}) ${switchMs} ms after the heal`}`);
    // The log line goes through the child's stderr pipe: it may arrive a little after /metrics changed.
    const switchLogged = (await waitFor(ctx, () => stderr.some((l) => /switched from baked to appconfig/.test(l.line)), 5_000)) !== undefined;
    const switchLine = switchLogged ? stderr.find((l) => /switched from baked to appconfig/.test(l.line)) : undefined;
    const after = await decisionLoad(ctx, [serve.url], 2_000);
    ctx.log(`after the switch: ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx`);

    return {
      faultObserved: probe.startsWith('failed') && atStart?.source === 'baked',
      faultEvidence: `a request through the partitioned link ${probe}; prio serve started on source ${atStart?.source ?? 'absent'}`,
      observations: [
        observe('during', '/metrics source at start', atStart?.source ?? 'absent', { text: '= baked', holds: atStart?.source === 'baked' }),
        observe('during', 'time from start to serving', upMs, undefined, 'ms'),
        observe('during', 'decisions answered 2xx on the baked rules', okPercent(onBaked), { text: '= 100% (of ≥ 100 sent)', holds: okPercent(onBaked) === 100 && onBaked.sent >= 100 }, '%'),
        observe('after', 'switch to source appconfig after the heal', switchMs ?? -1, { text: `≤ ${SWITCH_BOUND_MS.toLocaleString('en-US')} ms`, holds: switchMs !== undefined }, 'ms'),
        observe('after', 'log line "switched from baked to appconfig"', switchLine !== undefined, { text: 'present', holds: switchLine !== undefined }),
        observe('after', 'decisions answered 2xx on AppConfig', okPercent(after), { text: '= 100% (of ≥ 100 sent)', holds: okPercent(after) === 100 && after.sent >= 100 }, '%'),
      ],
      ...(switchMs === undefined ? {} : { timeToRecoverMs: switchMs }),
      notes: ['recover: from the heal to /metrics showing source="appconfig"; prio serve retries a failed source with its default backoff (1 s doubling to 60 s, jittered), so the switch takes up to that backoff'],
    };
  },
};

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
  });
}
