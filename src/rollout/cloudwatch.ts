/**
 * The alarm source that reads CloudWatch alarm states (DescribeAlarms) instead of judging the
 * fleet's /metrics: each alarm a step's gate names is the CloudWatch alarm its rule names
 * (`"cloudwatch": "<alarm name>"` in the migration file), or the alarm of the same name when the
 * file declares no rule for it. CloudWatch holds the window and the threshold, so a reset starts
 * nothing; an alarm CloudWatch does not know is INSUFFICIENT_DATA (which fails a gate).
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { AlarmRule } from '../migration/index.js';
import type { AlarmRead, AlarmSource } from './alarm-source.js';
import type { AlarmReading } from './alarms.js';

export interface CloudWatchSettings {
  /** Region of the alarms (default: AWS_REGION, then us-east-1). */
  readonly region?: string;
  /** Endpoint (a rehearsal's `prio appconfig local`); default the SDK's, or AWS_ENDPOINT_URL_CLOUDWATCH. */
  readonly endpoint?: string;
}

/** The CloudWatch name of a gate's alarm. */
export function cloudWatchName(alarm: string, rules: Readonly<Record<string, AlarmRule>>): string {
  return rules[alarm]?.cloudwatch ?? alarm;
}

const STATES = new Set(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
/** DescribeAlarms takes at most 100 names a call. */
const NAMES_PER_CALL = 100;

export class CloudWatchAlarmSource implements AlarmSource {
  readonly client: CloudWatchClient;

  constructor(
    private readonly rules: Readonly<Record<string, AlarmRule>>,
    settings: CloudWatchSettings = {},
  ) {
    this.client = new CloudWatchClient({
      region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    });
  }

  async resetWindow(): Promise<void> {
    // CloudWatch evaluates its alarms over their own periods: there is no window to restart.
  }

  async read(_stage: string, alarms: readonly string[]): Promise<AlarmRead> {
    const wanted = [...new Set(alarms.map((a) => cloudWatchName(a, this.rules)))];
    const states = new Map<string, { state: string; reason: string }>();
    for (let i = 0; i < wanted.length; i += NAMES_PER_CALL) {
      let nextToken: string | undefined;
      do {
        const out = await this.client.send(new DescribeAlarmsCommand({ AlarmNames: wanted.slice(i, i + NAMES_PER_CALL), AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], ...(nextToken === undefined ? {} : { NextToken: nextToken }) }));
        for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
          if (a.AlarmName !== undefined) states.set(a.AlarmName, { state: a.StateValue ?? 'INSUFFICIENT_DATA', reason: a.StateReason ?? '' });
        }
        nextToken = out.NextToken;
      } while (nextToken !== undefined);
    }
    const readings = alarms.map((name): AlarmReading => {
      const cw = cloudWatchName(name, this.rules);
      const seen = states.get(cw);
      if (seen === undefined) return { name, state: 'INSUFFICIENT_DATA', detail: `CloudWatch has no alarm named ${cw}`, measured: null };
      const state = STATES.has(seen.state) ? (seen.state as AlarmReading['state']) : 'INSUFFICIENT_DATA';
      return { name, state, detail: `CloudWatch alarm ${cw} is ${seen.state}${seen.reason === '' ? '' : `: ${seen.reason}`}`, measured: null };
    });
    return { readings, unreachable: [] };
  }

  close(): void {
    this.client.destroy();
  }
}
