/**
 * The alarm source that reads the stage fleet's Prometheus /metrics and judges the migration
 * file's alarm rules on the window since the last reset (the start of a deployment, of an
 * evidence run). An instance that misses `unreachableAfter` scrapes in a row makes its fleet
 * count as no longer answering.
 */
import type { AlarmRule, AlarmState } from '../migration/index.js';
import { countersOf, judgeAlarm, parsePrometheusText, sumCounters, windowOf, type AlarmReading, type FleetCounters } from './alarms.js';

export interface AlarmRead {
  readonly readings: readonly AlarmReading[];
  /** Instances that stopped answering. */
  readonly unreachable: readonly string[];
}

/** Where a step's alarms come from. */
export interface AlarmSource {
  /** Starts a new window for the stage's alarms (its next read measures from here). */
  resetWindow(stage: string): Promise<void>;
  read(stage: string, alarms: readonly string[]): Promise<AlarmRead>;
}

export class MetricsAlarmSource implements AlarmSource {
  private readonly baseline = new Map<string, FleetCounters>();
  private readonly misses = new Map<string, number>();

  constructor(
    private readonly fleets: Readonly<Record<string, readonly string[]>>,
    private readonly rules: Readonly<Record<string, AlarmRule>>,
    private readonly unreachableAfter: number,
    private readonly timeoutMs = 2000,
  ) {}

  private async scrape(url: string): Promise<FleetCounters | undefined> {
    try {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const counters = countersOf(parsePrometheusText(await res.text()));
      this.misses.set(url, 0);
      return counters;
    } catch {
      this.misses.set(url, (this.misses.get(url) ?? 0) + 1);
      return undefined;
    }
  }

  async resetWindow(stage: string): Promise<void> {
    for (const url of this.fleets[stage] ?? []) {
      const now = await this.scrape(url);
      if (now !== undefined) this.baseline.set(url, now);
      else this.baseline.delete(url);
    }
  }

  async read(stage: string, alarms: readonly string[]): Promise<AlarmRead> {
    const windows: FleetCounters[] = [];
    const unreachable: string[] = [];
    for (const url of this.fleets[stage] ?? []) {
      const now = await this.scrape(url);
      if (now === undefined) {
        if ((this.misses.get(url) ?? 0) >= this.unreachableAfter) unreachable.push(url);
        continue;
      }
      const before = this.baseline.get(url);
      // Without a baseline the window starts now: an instance's lifetime totals are not this window's.
      if (before === undefined) this.baseline.set(url, now);
      else windows.push(windowOf(before, now));
    }
    const fleet = sumCounters(windows);
    const readings = alarms.map((name): AlarmReading => {
      const rule = this.rules[name];
      if (rule === undefined) return { name, state: 'INSUFFICIENT_DATA', detail: `the migration file declares no rule for alarm ${name}`, measured: null };
      return judgeAlarm(name, rule, fleet);
    });
    return { readings, unreachable };
  }
}

/** Alarm states by name, as evidence records them: a fleet that stopped answering leaves every alarm without data. */
export function alarmStates(read: AlarmRead): Record<string, AlarmState> {
  return Object.fromEntries(read.readings.map((r) => [r.name, read.unreachable.length > 0 && r.state === 'OK' ? 'INSUFFICIENT_DATA' : r.state]));
}
