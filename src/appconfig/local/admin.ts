/**
 * The local endpoint's own admin API under /_local/ (no AWS counterpart): alarm states for the
 * environments' monitors, fault injection, reset. Plain JSON in and out; see docs/appconfig-local.md.
 */
import type { LocalContext } from './context.js';
import { parseFaultSpec, type Fault, type FaultSpec, type FaultTable } from './faults.js';
import type { AlarmState, DeploymentRecord } from './model.js';

export const ADMIN_PREFIX = '/_local/';

export interface RolledBack {
  readonly applicationId: string;
  readonly environmentId: string;
  readonly deploymentNumber: number;
}

/** The admin operations, for in-process callers (tests) and the HTTP admin API alike. */
export interface LocalAdmin {
  /** Sets a CloudWatch alarm's state; ALARM rolls back the deployments of environments monitoring it. */
  setAlarm(arn: string, state: AlarmState): RolledBack[];
  alarms(): Readonly<Record<string, AlarmState>>;
  injectFault(spec: FaultSpec): Fault;
  faults(): readonly Fault[];
  /** Clears one fault by id, or all of them. */
  clearFaults(id?: number): number;
  /** Forgets every resource, alarm and fault. */
  reset(): void;
}

export function createAdmin(ctx: LocalContext, faults: FaultTable): LocalAdmin {
  return {
    setAlarm(arn, state) {
      ctx.state.alarms[arn] = state;
      ctx.save();
      return ctx.enforceAlarms().map((d: DeploymentRecord) => ({
        applicationId: d.applicationId,
        environmentId: d.environmentId,
        deploymentNumber: d.deploymentNumber,
      }));
    },
    alarms: () => ({ ...ctx.state.alarms }),
    injectFault: (spec) => faults.add(spec),
    faults: () => faults.list(),
    clearFaults: (id) => faults.clear(id),
    reset() {
      faults.clear();
      ctx.reset();
    },
  };
}

export interface AdminReply {
  readonly status: number;
  readonly body: object;
}

const ALARM_STATES: readonly AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Answers one admin request; `path` starts with /_local/. */
export function handleAdmin(admin: LocalAdmin, info: { timeScale: number; stateLocation: string }, method: string, path: string, body: Buffer): AdminReply {
  const rest = path.slice(ADMIN_PREFIX.length).replace(/\/$/, '');
  const input = parseObject(body);
  if (input === undefined) return { status: 400, body: { error: 'the body must be a JSON object' } };

  if (rest === 'health' && method === 'GET') return { status: 200, body: { ok: true, timeScale: info.timeScale, state: info.stateLocation } };
  if (rest === 'alarms' && method === 'GET') return { status: 200, body: { alarms: admin.alarms() } };
  if (rest === 'alarms' && (method === 'PUT' || method === 'POST')) {
    const { arn, state } = input;
    if (typeof arn !== 'string' || arn === '') return { status: 400, body: { error: 'arn must name the alarm (its ARN, as in the environment monitor)' } };
    if (typeof state !== 'string' || !ALARM_STATES.includes(state as AlarmState)) {
      return { status: 400, body: { error: `state must be one of ${ALARM_STATES.join(', ')}` } };
    }
    return { status: 200, body: { arn, state, rolledBack: admin.setAlarm(arn, state as AlarmState) } };
  }
  if (rest === 'faults' && method === 'GET') return { status: 200, body: { faults: admin.faults() } };
  if (rest === 'faults' && method === 'POST') {
    const spec = parseFaultSpec(input);
    if (typeof spec === 'string') return { status: 400, body: { error: spec } };
    return { status: 201, body: admin.injectFault(spec) };
  }
  if (rest === 'faults' && method === 'DELETE') return { status: 200, body: { cleared: admin.clearFaults() } };
  const one = /^faults\/(\d+)$/.exec(rest);
  if (one !== null && method === 'DELETE') {
    const cleared = admin.clearFaults(Number(one[1]));
    return cleared === 0 ? { status: 404, body: { error: `no fault ${one[1]}` } } : { status: 200, body: { cleared } };
  }
  if (rest === 'reset' && method === 'POST') {
    admin.reset();
    return { status: 200, body: { ok: true } };
  }
  return { status: 404, body: { error: `no admin operation ${method} ${path}` } };
}
