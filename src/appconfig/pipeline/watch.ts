/**
 * `watch`: follows one deployment to its end. `observe` turns each GetDeployment answer into
 * what changed since the last one (state, percentage, new events) — pure, so the lines a person
 * or a CI log sees are tested without a clock; `followDeployment` polls until a terminal state
 * or until told to stop (stopping the watch never stops the deployment).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfigClient, Deployment } from '@aws-sdk/client-appconfig';
import { deploymentRecord, getDeployment, TERMINAL_STATES, type DeploymentRecord, type ProfileNames } from './deployments.js';
import type { Named } from './resolve.js';

export interface WatchEvent {
  readonly at: string | null;
  readonly type: string;
  readonly triggeredBy: string;
  readonly description: string;
}

/**
 * One change worth a line: a new event from the deployment's log, or (event null) a new state or
 * percentage. State and percentage are the deployment's when the change was observed.
 */
export interface WatchLine {
  readonly deployment: number;
  readonly profile: string;
  readonly version: string;
  readonly state: string;
  readonly percentage: number;
  readonly event: WatchEvent | null;
}

export interface WatchMemory {
  readonly state: string | undefined;
  readonly percentage: number | undefined;
  readonly seen: ReadonlySet<string>;
}

export const FRESH: WatchMemory = { state: undefined, percentage: undefined, seen: new Set() };

const eventKey = (e: WatchEvent) => `${e.at ?? ''}|${e.type}|${e.triggeredBy}|${e.description}`;

function eventsOf(d: Deployment): WatchEvent[] {
  const events = (d.EventLog ?? []).map((e) => ({
    at: e.OccurredAt === undefined ? null : e.OccurredAt.toISOString(),
    type: e.EventType ?? 'EVENT',
    triggeredBy: e.TriggeredBy ?? 'APPCONFIG',
    description: e.Description ?? '',
  }));
  // AppConfig lists the newest event first; a log reads oldest first. Reversed before the
  // (stable) sort, so events of the same instant keep their order too.
  return events.reverse().sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
}

/** What changed between the last answer seen and this one. */
export function observe(memory: WatchMemory, d: Deployment, names: ProfileNames = new Map()): { memory: WatchMemory; lines: WatchLine[]; record: DeploymentRecord } {
  const rec = deploymentRecord(d, names);
  const base = { deployment: rec.number, profile: rec.profile, version: rec.version, state: rec.state, percentage: Math.round(rec.percentage * 10) / 10 };
  const seen = new Set(memory.seen);
  const lines: WatchLine[] = [];
  for (const event of eventsOf(d)) {
    const key = eventKey(event);
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push({ ...base, event });
  }
  // Events first: they say why the state below is what it is.
  if (rec.state !== memory.state || base.percentage !== memory.percentage) lines.push({ ...base, event: null });
  return { memory: { state: rec.state, percentage: base.percentage, seen }, lines, record: rec };
}

/**
 * `#3 rules v2 DEPLOYING 40%` for a change of state, `#3 2026-12-04T05:00:01.000Z
 * PERCENTAGE_UPDATED (APPCONFIG): Configuration deployed to 40% of clients` for an event.
 */
export function formatWatchLine(line: WatchLine): string {
  if (line.event === null) return `#${line.deployment} ${line.profile} v${line.version} ${line.state} ${line.percentage}%`;
  const e = line.event;
  return `#${line.deployment} ${e.at ?? '-'} ${e.type} (${e.triggeredBy})${e.description === '' ? '' : `: ${e.description}`}`;
}

/** The exit code of a terminal state (0 COMPLETE, 3 rolled back); undefined while it runs. */
export function terminalExitCode(state: string): 0 | 3 | undefined {
  return TERMINAL_STATES[state];
}

export interface FollowOptions {
  readonly app: Named;
  readonly env: Named;
  readonly deployment: number;
  readonly names: ProfileNames;
  readonly intervalMs: number;
  /** Aborting stops the watch (never the deployment). */
  readonly signal?: AbortSignal;
  readonly onLines: (lines: readonly WatchLine[], record: DeploymentRecord) => void;
}

export type FollowResult =
  | { readonly kind: 'ended'; readonly record: DeploymentRecord; readonly exitCode: 0 | 3 }
  | { readonly kind: 'stopped'; readonly record: DeploymentRecord | undefined };

export async function followDeployment(client: AppConfigClient, options: FollowOptions): Promise<FollowResult> {
  let memory = FRESH;
  let last: DeploymentRecord | undefined;
  // A function, not a narrowed property: the signal may fire during any await below.
  const aborted = () => options.signal?.aborted === true;
  for (;;) {
    if (aborted()) return { kind: 'stopped', record: last };
    let answer: Deployment;
    try {
      answer = await getDeployment(client, options.app, options.env, options.deployment);
    } catch (err) {
      if (aborted()) return { kind: 'stopped', record: last };
      throw err;
    }
    const step = observe(memory, answer, options.names);
    memory = step.memory;
    last = step.record;
    if (step.lines.length > 0) options.onLines(step.lines, step.record);
    const exitCode = terminalExitCode(step.record.state);
    if (exitCode !== undefined) return { kind: 'ended', record: step.record, exitCode };
    try {
      await sleep(options.intervalMs, undefined, options.signal === undefined ? {} : { signal: options.signal });
    } catch {
      return { kind: 'stopped', record: last };
    }
  }
}
