/**
 * CloudWatch as the rollout's alarm source: the real @aws-sdk/client-cloudwatch reads alarm
 * states (DescribeAlarms) from `prio appconfig local`, which answers for the alarms it models —
 * those its AppConfig environments monitor and those its admin API set.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init } from '../../src/appconfig/index.js';
import { startLocalAppConfig, type LocalAppConfig } from '../../src/appconfig/local/index.js';
import { CloudWatchAlarmSource, alarmStates, parseRolloutSettings } from '../../src/rollout/index.js';

const id = randomUUID().slice(0, 8);
const monitored = `cw-${id}-dispatch-errors`;
const adminOnly = `cw-${id}-token-rejects`;
const arn = (name: string) => `arn:aws:cloudwatch:us-east-1:111122223333:alarm:${name}`;
let endpoint = '';
let own: LocalAppConfig | undefined;
let source: CloudWatchAlarmSource;

async function setAlarm(name: string, state: string): Promise<void> {
  const res = await fetch(`${endpoint}/_local/alarms`, { method: 'PUT', body: JSON.stringify({ arn: arn(name), state }) });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  // Its own endpoint, not a shared one: the CloudWatch answers belong to this build of it.
  own = await startLocalAppConfig({ port: 0 });
  endpoint = own.url;
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local', AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' });
  const conn = connect({ endpointUrl: endpoint, region: 'us-east-1' });
  try {
    // An environment monitoring one alarm: the endpoint models it (OK until set) from then on.
    await init(conn.client, { app: `cw-${id}`, envs: ['beta'], alarms: new Map([['beta', [arn(monitored)]]]) });
  } finally {
    conn.close();
  }
  source = new CloudWatchAlarmSource(
    { 'beta-dispatch-errors': { metric: 'error-rate', max: 0.01, cloudwatch: monitored } },
    { endpoint, region: 'us-east-1' },
  );
}, 60_000);

afterAll(async () => {
  source?.close();
  await own?.close();
});

describe('CloudWatch alarm source against prio appconfig local', () => {
  it('reads the states of the alarms a gate names, by the rule\'s CloudWatch name or the alarm\'s own', async () => {
    const gate = ['beta-dispatch-errors', adminOnly, `cw-${id}-nobody-defined-this`];
    const first = await source.read('beta', gate);
    expect(first.unreachable).toEqual([]);
    // The monitored alarm is known and OK; the other two are unknown to CloudWatch so far.
    expect(alarmStates(first)).toEqual({ 'beta-dispatch-errors': 'OK', [adminOnly]: 'INSUFFICIENT_DATA', [`cw-${id}-nobody-defined-this`]: 'INSUFFICIENT_DATA' });
    expect(first.readings[2]?.detail).toContain(`CloudWatch has no alarm named cw-${id}-nobody-defined-this`);

    await setAlarm(monitored, 'ALARM');
    await setAlarm(adminOnly, 'OK');
    const second = await source.read('beta', gate);
    expect(alarmStates(second)).toEqual({ 'beta-dispatch-errors': 'ALARM', [adminOnly]: 'OK', [`cw-${id}-nobody-defined-this`]: 'INSUFFICIENT_DATA' });
    expect(second.readings[0]?.detail).toContain(`CloudWatch alarm ${monitored} is ALARM`);

    await setAlarm(monitored, 'OK');
    await source.resetWindow();
    expect(alarmStates(await source.read('beta', ['beta-dispatch-errors']))).toEqual({ 'beta-dispatch-errors': 'OK' });
  }, 60_000);

  it('answers only DescribeAlarms, with filters, and refuses any other CloudWatch operation by name', async () => {
    await setAlarm(adminOnly, 'ALARM');
    const post = (target: string, body: object) =>
      fetch(endpoint, { method: 'POST', headers: { 'x-amz-target': `GraniteServiceVersion20100801.${target}`, 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify(body) });
    const byPrefix = (await (await post('DescribeAlarms', { AlarmNamePrefix: `cw-${id}-`, StateValue: 'ALARM' })).json()) as { MetricAlarms: { AlarmName: string }[] };
    expect(byPrefix.MetricAlarms.map((a) => a.AlarmName)).toEqual([adminOnly]);
    const refused = await post('PutMetricAlarm', { AlarmName: 'x' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { __type: string }).__type).toContain('InvalidAction');
  });

  it('is chosen in the settings file; any other source is refused with its pointer', () => {
    const base = { application: 'a', stages: { beta: { environment: 'beta', strategy: 'all-at-once', fleet: ['http://x:1'], requestLog: { files: ['l'] } } } };
    const settings = parseRolloutSettings({ ...base, alarmSource: 'cloudwatch', cloudwatch: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' } }, 's.json');
    expect(settings.alarmSource).toBe('cloudwatch');
    expect(settings.cloudwatch).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' });
    expect(parseRolloutSettings(base, 's.json').alarmSource).toBe('metrics');
    expect(() => parseRolloutSettings({ ...base, alarmSource: 'datadog' }, 's.json')).toThrow(/alarmSource/);
  });
});
