/**
 * Alarms judged from a fleet's Prometheus `/metrics`: the text exposition parsed into samples,
 * two scrapes of each instance turned into the change over the window between them, and each
 * alarm rule of the migration file (error rate, token rejections, fail-closed count, per-tier p99
 * queue wait) judged on the fleet's sum. Pure: the shell scrapes and passes the text in.
 */
import type { AlarmRule, AlarmState } from '../migration/index.js';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a text exposition (comments and malformed lines skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

/** What the alarm rules read from one instance: counters as totals, the wait histogram as cumulative buckets per tier. */
export interface FleetCounters {
  readonly responses: number;
  readonly errors5xx: number;
  readonly tokenRejections: number;
  readonly failClosed: number;
  /** Per tier: cumulative bucket counts by upper bound (seconds, Infinity last). */
  readonly waitBuckets: Readonly<Record<string, readonly (readonly [number, number])[]>>;
}

export const EMPTY_COUNTERS: FleetCounters = { responses: 0, errors5xx: 0, tokenRejections: 0, failClosed: 0, waitBuckets: {} };

export function countersOf(samples: readonly Sample[]): FleetCounters {
  let responses = 0;
  let errors5xx = 0;
  let tokenRejections = 0;
  let failClosed = 0;
  const buckets: Record<string, [number, number][]> = {};
  for (const s of samples) {
    if (s.name === 'prio_http_responses_total') {
      responses += s.value;
      if ((s.labels.status ?? '').startsWith('5')) errors5xx += s.value;
    } else if (s.name === 'prio_session_token_rejections_total') tokenRejections += s.value;
    else if (s.name === 'prio_fail_closed_total') failClosed += s.value;
    else if (s.name === 'prio_queue_wait_seconds_bucket' && s.labels.tier !== undefined && s.labels.le !== undefined) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      (buckets[s.labels.tier] ??= []).push([le, s.value]);
    }
  }
  for (const list of Object.values(buckets)) list.sort((a, b) => a[0] - b[0]);
  return { responses, errors5xx, tokenRejections, failClosed, waitBuckets: buckets };
}

/** The fleet's sum of counters. */
export function sumCounters(all: readonly FleetCounters[]): FleetCounters {
  return all.reduce(addCounters, EMPTY_COUNTERS);
}

function combineBuckets(
  a: FleetCounters['waitBuckets'],
  b: FleetCounters['waitBuckets'],
  op: (x: number, y: number) => number,
): Record<string, (readonly [number, number])[]> {
  const out: Record<string, (readonly [number, number])[]> = {};
  for (const tier of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const bounds = new Map<number, number>();
    for (const [le, v] of a[tier] ?? []) bounds.set(le, v);
    for (const [le, v] of b[tier] ?? []) bounds.set(le, op(bounds.get(le) ?? 0, v));
    for (const [le] of a[tier] ?? []) if (!(b[tier] ?? []).some(([l]) => l === le)) bounds.set(le, op(bounds.get(le) ?? 0, 0));
    out[tier] = [...bounds.entries()].sort((x, y) => x[0] - y[0]);
  }
  return out;
}

function addCounters(a: FleetCounters, b: FleetCounters): FleetCounters {
  return {
    responses: a.responses + b.responses,
    errors5xx: a.errors5xx + b.errors5xx,
    tokenRejections: a.tokenRejections + b.tokenRejections,
    failClosed: a.failClosed + b.failClosed,
    waitBuckets: combineBuckets(a.waitBuckets, b.waitBuckets, (x, y) => x + y),
  };
}

/**
 * What happened between two scrapes of one instance. A counter that went down means the
 * instance restarted: the later totals are then the whole window.
 */
export function windowOf(before: FleetCounters | undefined, after: FleetCounters): FleetCounters {
  if (before === undefined || after.responses < before.responses) return after;
  return {
    responses: after.responses - before.responses,
    errors5xx: Math.max(0, after.errors5xx - before.errors5xx),
    tokenRejections: Math.max(0, after.tokenRejections - before.tokenRejections),
    failClosed: Math.max(0, after.failClosed - before.failClosed),
    waitBuckets: combineBuckets(after.waitBuckets, before.waitBuckets, (x, y) => Math.max(0, x - y)),
  };
}

/** The 99th percentile of a cumulative histogram (the upper bound of the bucket it falls in); undefined when empty. */
export function p99Of(buckets: readonly (readonly [number, number])[]): number | undefined {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = 0.99 * total;
  const hit = buckets.find(([, count]) => count >= rank);
  return hit?.[0];
}

export interface AlarmReading {
  readonly name: string;
  readonly state: AlarmState;
  /** What was measured, in words, e.g. `error rate 0.4% (2 of 500), limit 1%`. */
  readonly detail: string;
  readonly measured: number | null;
}

/** Judges one alarm rule on the fleet's window. */
export function judgeAlarm(name: string, rule: AlarmRule, w: FleetCounters): AlarmReading {
  const verdict = (measured: number, detail: string): AlarmReading => ({ name, state: measured > rule.max ? 'ALARM' : 'OK', detail, measured });
  switch (rule.metric) {
    case 'error-rate': {
      const rate = w.responses === 0 ? 0 : w.errors5xx / w.responses;
      return verdict(rate, `error rate ${(rate * 100).toFixed(2)}% (${w.errors5xx} of ${w.responses}), limit ${(rule.max * 100).toFixed(2)}%`);
    }
    case 'token-rejections':
      return verdict(w.tokenRejections, `${w.tokenRejections} session tokens rejected, limit ${rule.max}`);
    case 'fail-closed':
      return verdict(w.failClosed, `${w.failClosed} requests failed closed, limit ${rule.max}`);
    case 'p99-wait': {
      const tiers = rule.tier === undefined ? Object.keys(w.waitBuckets) : [rule.tier];
      let worst: { tier: string; p99: number } | undefined;
      for (const tier of tiers) {
        const p99 = p99Of(w.waitBuckets[tier] ?? []);
        if (p99 !== undefined && (worst === undefined || p99 > worst.p99)) worst = { tier, p99 };
      }
      if (worst === undefined) return { name, state: 'OK', detail: `no ${rule.tier ?? ''} request dispatched in the window`.replace('  ', ' '), measured: null };
      return verdict(worst.p99, `p99 queue wait of ${worst.tier} ≤ ${worst.p99} s, limit ${rule.max} s`);
    }
  }
}
