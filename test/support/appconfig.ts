/**
 * Helpers for tests that talk to `prio appconfig local` (started by services/appconfig.ts, or
 * named by APPCONFIG_ENDPOINT): the real SDK clients pointed at it, and its /_local/ admin API.
 */
import { AppConfigClient } from '@aws-sdk/client-appconfig';
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import type { AlarmState, Fault, FaultSpec, RolledBack } from '../../src/appconfig/local/index.js';

/** The endpoint URL the test setup exported. */
export function appConfigEndpoint(): string {
  const url = process.env.APPCONFIG_ENDPOINT;
  if (url === undefined || url === '') throw new Error('APPCONFIG_ENDPOINT is not set: the test setup starts prio appconfig local (test/support/services/appconfig.ts)');
  return url;
}

/** Any credentials do: the local endpoint does not check SigV4 signatures. */
const dummy = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

export interface AppConfigClients {
  readonly control: AppConfigClient;
  readonly data: AppConfigDataClient;
  destroy(): void;
}

export function appConfigClients(endpoint: string = appConfigEndpoint(), extra: { maxAttempts?: number } = {}): AppConfigClients {
  const control = new AppConfigClient({ ...dummy, endpoint, ...extra });
  const data = new AppConfigDataClient({ ...dummy, endpoint, ...extra });
  return {
    control,
    data,
    destroy() {
      control.destroy();
      data.destroy();
    },
  };
}

async function admin<T>(endpoint: string, method: string, path: string, body?: object): Promise<T> {
  const res = await fetch(`${endpoint}/_local/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`admin ${method} /_local/${path}: ${res.status} ${json.error ?? ''}`);
  return json;
}

/** Sets a CloudWatch alarm's state as the environments' monitors see it; returns the deployments it rolled back. */
export async function setAlarm(arn: string, state: AlarmState, endpoint: string = appConfigEndpoint()): Promise<RolledBack[]> {
  return (await admin<{ rolledBack: RolledBack[] }>(endpoint, 'PUT', 'alarms', { arn, state })).rolledBack;
}

export function injectFault(spec: FaultSpec, endpoint: string = appConfigEndpoint()): Promise<Fault> {
  return admin<Fault>(endpoint, 'POST', 'faults', spec);
}

export async function listFaults(endpoint: string = appConfigEndpoint()): Promise<Fault[]> {
  return (await admin<{ faults: Fault[] }>(endpoint, 'GET', 'faults')).faults;
}

export async function clearFaults(endpoint: string = appConfigEndpoint()): Promise<void> {
  await admin(endpoint, 'DELETE', 'faults');
}
