/**
 * Deployments: what is live where, what is running, what a rollback goes back to. The
 * decisions (`inProgress`, `liveVersions`, `planRollback`) are pure functions of the
 * deployment list of one environment; the calls that gather and act on it follow them.
 */
import {
  GetDeploymentCommand,
  paginateListDeployments,
  StartDeploymentCommand,
  StopDeploymentCommand,
  type AppConfigClient,
  type Deployment,
} from '@aws-sdk/client-appconfig';
import { PipelineError } from './errors.js';
import type { EnvironmentInfo, Named } from './resolve.js';

/** One deployment as the pipeline reasons about it (a ListDeployments item). */
export interface DeploymentRecord {
  readonly number: number;
  /** The configuration profile's name. */
  readonly profile: string;
  readonly version: string;
  readonly state: string;
  readonly percentage: number;
  readonly startedAt: Date | undefined;
  readonly completedAt: Date | undefined;
  readonly durationMinutes: number | undefined;
  readonly bakeMinutes: number | undefined;
}

const RUNNING_STATES = new Set(['VALIDATING', 'DEPLOYING', 'BAKING', 'ROLLING_BACK']);
/** Terminal states and the exit code `watch` ends with: 0 the configuration is live, 3 it was rolled back. */
export const TERMINAL_STATES: Readonly<Record<string, 0 | 3>> = { COMPLETE: 0, ROLLED_BACK: 3, REVERTED: 3 };

export function isRunning(d: Pick<DeploymentRecord, 'state'>): boolean {
  return RUNNING_STATES.has(d.state);
}

const newestFirst = (a: DeploymentRecord, b: DeploymentRecord) => b.number - a.number;

/** The deployment running in the environment (AppConfig runs one per environment at a time). */
export function inProgress(deployments: readonly DeploymentRecord[]): DeploymentRecord | undefined {
  return [...deployments].sort(newestFirst).find(isRunning);
}

/** `#4 rules v7 DEPLOYING 40% since 2026-12-04T05:00:00.000Z` */
export function describeDeployment(d: DeploymentRecord): string {
  const since = d.startedAt === undefined ? '' : ` since ${d.startedAt.toISOString()}`;
  return `#${d.number} ${d.profile} v${d.version} ${d.state} ${Math.round(d.percentage)}%${since}`;
}

export interface LiveVersion {
  readonly profile: string;
  /** The version serving 100% of hosts, from the newest COMPLETE deployment; undefined if none completed. */
  readonly live: DeploymentRecord | undefined;
  /** The deployment now rolling this profile out or back, if any. */
  readonly running: DeploymentRecord | undefined;
}

/** Per profile, what is live and what is on its way, in the environment these deployments belong to. */
export function liveVersions(deployments: readonly DeploymentRecord[], profiles: readonly string[]): LiveVersion[] {
  const sorted = [...deployments].sort(newestFirst);
  return profiles.map((profile) => ({
    profile,
    live: sorted.find((d) => d.profile === profile && d.state === 'COMPLETE'),
    running: sorted.find((d) => d.profile === profile && isRunning(d)),
  }));
}

export type RollbackPlan =
  | { readonly kind: 'stop'; readonly deployment: DeploymentRecord }
  | { readonly kind: 'redeploy'; readonly profile: string; readonly from: DeploymentRecord; readonly toVersion: string }
  | { readonly kind: 'refused'; readonly reason: string };

/**
 * What a rollback does in one environment: stop the deployment in progress (AppConfig then
 * returns the hosts to the previous version), or, when the last one completed, deploy again
 * the version that was live before it. `profile` narrows to one profile; without it the newest
 * deployment's profile is meant.
 */
export function planRollback(deployments: readonly DeploymentRecord[], profile: string | undefined): RollbackPlan {
  const sorted = [...deployments].sort(newestFirst).filter((d) => profile === undefined || d.profile === profile);
  const running = sorted.find(isRunning);
  if (running !== undefined) {
    if (running.state === 'ROLLING_BACK') return { kind: 'refused', reason: `${describeDeployment(running)}: already rolling back` };
    return { kind: 'stop', deployment: running };
  }
  const target = profile ?? sorted[0]?.profile;
  if (target === undefined) return { kind: 'refused', reason: 'nothing was ever deployed here' };
  const completed = sorted.filter((d) => d.profile === target && d.state === 'COMPLETE');
  const current = completed[0];
  if (current === undefined) return { kind: 'refused', reason: `no deployment of ${target} completed here; nothing to roll back` };
  const previous = completed.find((d) => d.version !== current.version);
  if (previous === undefined) return { kind: 'refused', reason: `${target} v${current.version} is the only version ever live here; nothing to roll back to` };
  return { kind: 'redeploy', profile: target, from: current, toVersion: previous.version };
}

// ---------------------------------------------------------------------------------------------
// The calls.

/** Profile names by id, to name deployments whose listing carries only the profile id. */
export type ProfileNames = ReadonlyMap<string, string>;

function record(d: Partial<Pick<Deployment, 'DeploymentNumber' | 'ConfigurationName' | 'ConfigurationProfileId' | 'ConfigurationVersion' | 'State' | 'PercentageComplete' | 'StartedAt' | 'CompletedAt' | 'DeploymentDurationInMinutes' | 'FinalBakeTimeInMinutes'>>, names: ProfileNames): DeploymentRecord {
  return {
    number: d.DeploymentNumber ?? 0,
    profile: d.ConfigurationName ?? names.get(d.ConfigurationProfileId ?? '') ?? d.ConfigurationProfileId ?? '?',
    version: d.ConfigurationVersion ?? '?',
    state: d.State ?? 'UNKNOWN',
    percentage: d.PercentageComplete ?? 0,
    startedAt: d.StartedAt,
    completedAt: d.CompletedAt,
    durationMinutes: d.DeploymentDurationInMinutes,
    bakeMinutes: d.FinalBakeTimeInMinutes,
  };
}

export async function listDeployments(client: AppConfigClient, app: Named, env: Named, names: ProfileNames = new Map()): Promise<DeploymentRecord[]> {
  const out: DeploymentRecord[] = [];
  for await (const page of paginateListDeployments({ client }, { ApplicationId: app.id, EnvironmentId: env.id })) {
    for (const d of page.Items ?? []) out.push(record(d, names));
  }
  return out.sort(newestFirst);
}

export async function getDeployment(client: AppConfigClient, app: Named, env: Named, number: number): Promise<Deployment> {
  return client.send(new GetDeploymentCommand({ ApplicationId: app.id, EnvironmentId: env.id, DeploymentNumber: number }));
}

export function deploymentRecord(d: Deployment, names: ProfileNames = new Map()): DeploymentRecord {
  return record(d, names);
}

export interface DeployRequest {
  readonly app: Named;
  readonly env: EnvironmentInfo;
  readonly profile: Named;
  readonly strategy: Named;
  readonly version: string;
  readonly description?: string;
}

function refusedBecauseRunning(env: Named, running: DeploymentRecord): PipelineError {
  return new PipelineError(
    'refused',
    `a deployment is already in progress in ${env.name}: ${describeDeployment(running)}; watch it, or roll it back, before deploying again`,
  );
}

/**
 * Starts a deployment after checking nothing runs in the environment. AppConfig itself refuses
 * a second one with a ConflictException (another client may start one in between); that refusal
 * is reported the same way.
 */
export async function startDeployment(client: AppConfigClient, request: DeployRequest, names: ProfileNames): Promise<DeploymentRecord> {
  const before = await listDeployments(client, request.app, request.env, names);
  const running = inProgress(before);
  if (running !== undefined) throw refusedBecauseRunning(request.env, running);
  try {
    const out = await client.send(
      new StartDeploymentCommand({
        ApplicationId: request.app.id,
        EnvironmentId: request.env.id,
        ConfigurationProfileId: request.profile.id,
        DeploymentStrategyId: request.strategy.id,
        ConfigurationVersion: request.version,
        ...(request.description === undefined ? {} : { Description: request.description }),
      }),
    );
    return record(out, names);
  } catch (err) {
    if ((err as { name?: string }).name !== 'ConflictException') throw err;
    const now = inProgress(await listDeployments(client, request.app, request.env, names));
    if (now !== undefined) throw refusedBecauseRunning(request.env, now);
    throw err;
  }
}

/**
 * Stops a deployment in progress; AppConfig returns the hosts to the previous version. AppConfig
 * stops only a DEPLOYING deployment unless AllowRevert is given, which a rollback during the
 * bake (the hosts all have the new version, the alarms are still watched) needs too.
 */
export async function stopDeployment(client: AppConfigClient, app: Named, env: Named, number: number, names: ProfileNames): Promise<DeploymentRecord> {
  const out = await client.send(new StopDeploymentCommand({ ApplicationId: app.id, EnvironmentId: env.id, DeploymentNumber: number, AllowRevert: true }));
  return record(out, names);
}
