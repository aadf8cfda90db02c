/**
 * CloudWatch DescribeAlarms for the alarms the local endpoint already models: those the admin API
 * set a state for and those AppConfig environments monitor (OK until set). The real
 * `@aws-sdk/client-cloudwatch` speaks AWS JSON 1.0 here (`X-Amz-Target:
 * GraniteServiceVersion20100801.DescribeAlarms`), so a rollout can read alarm states from
 * CloudWatch in a rehearsal exactly as it would from AWS. Only DescribeAlarms is answered.
 */
import type { LocalContext } from './context.js';

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801.';

export interface CloudWatchReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

const JSON_TYPE = 'application/x-amz-json-1.0';

function reply(status: number, body: object, headers: Record<string, string> = {}): CloudWatchReply {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: Buffer.from(JSON.stringify(body), 'utf8') };
}

function error(type: string, message: string, status = 400): CloudWatchReply {
  // awsQueryCompatible: the query-mode error code travels in its own header as well.
  return reply(status, { __type: `com.amazonaws.cloudwatch#${type}`, message }, { 'x-amzn-query-error': `${type};Sender` });
}

/** An alarm's name from its ARN (`arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`), or the string itself. */
function alarmNameOf(arn: string): string {
  const at = arn.indexOf(':alarm:');
  return at >= 0 ? arn.slice(at + ':alarm:'.length) : arn;
}

/** Answers one CloudWatch request whose X-Amz-Target is `target`. */
export function handleCloudWatch(ctx: LocalContext, target: string, body: Buffer): CloudWatchReply {
  const operation = target.slice(CLOUDWATCH_TARGET_PREFIX.length);
  if (operation !== 'DescribeAlarms') return error('InvalidAction', `prio appconfig local answers only CloudWatch DescribeAlarms, not ${operation}.`);
  let input: { AlarmNames?: unknown; AlarmNamePrefix?: unknown; StateValue?: unknown };
  try {
    input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as typeof input);
  } catch {
    return error('InvalidParameterValue', 'The request body is not JSON.');
  }
  const names = input.AlarmNames;
  if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) return error('InvalidParameterValue', 'AlarmNames must be a list of strings.');
  const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : undefined;
  const arns = new Set([...Object.keys(ctx.state.alarms), ...ctx.state.environments.flatMap((e) => e.monitors.map((m) => m.alarmArn))]);
  const alarms = [...arns]
    .map((arn) => ({ arn, name: alarmNameOf(arn), state: ctx.alarmState(arn) }))
    .filter((a) => (names === undefined || (names as string[]).includes(a.name)) && (prefix === undefined || a.name.startsWith(prefix)))
    .filter((a) => input.StateValue === undefined || a.state === input.StateValue)
    .sort((a, b) => a.name.localeCompare(b.name));
  return reply(200, {
    MetricAlarms: alarms.map((a) => ({
      AlarmName: a.name,
      AlarmArn: a.arn,
      StateValue: a.state,
      StateReason: a.state === 'OK' ? 'No alarm state set on the local endpoint (OK)' : `Set through the local endpoint's admin API (${a.state})`,
      ActionsEnabled: false,
    })),
    CompositeAlarms: [],
  });
}
