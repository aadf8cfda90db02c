/**
 * The state both planes share: the stored resources, the clock, and the questions both ask
 * (which deployment holds an environment, which version a session is served, which alarms fire).
 */
import { randomBytes } from 'node:crypto';
import { deploymentAt, servesNewVersion, type DeploymentView } from './deployment.js';
import {
  DEFAULT_QUOTAS,
  emptyState,
  PREDEFINED_STRATEGIES,
  type AlarmState,
  type ApplicationRecord,
  type DeploymentRecord,
  type EnvironmentRecord,
  type HostedVersionRecord,
  type LocalState,
  type ProfileRecord,
  type Quotas,
  type StrategyRecord,
} from './model.js';
import { notFound } from './protocol.js';
import type { StateStore } from './store.js';

export type Clock = () => number;

/** What a configuration session is served at one instant. */
export interface ServedVersion {
  readonly deployment: DeploymentRecord;
  readonly version: HostedVersionRecord;
}

export class LocalContext {
  state: LocalState;

  constructor(
    private readonly store: StateStore,
    readonly clock: Clock,
    readonly timeScale: number,
    readonly quotas: Quotas = DEFAULT_QUOTAS,
  ) {
    this.state = store.load();
  }

  now(): number {
    return this.clock();
  }

  /** Persists the state after a change (a no-op cost for the in-memory store). */
  save(): void {
    this.store.save(this.state);
  }

  reset(): void {
    this.state = emptyState();
    this.save();
  }

  application(id: string): ApplicationRecord {
    const app = this.state.applications.find((a) => a.id === id);
    if (app === undefined) throw notFound(`Application ${id} not found.`, { ResourceName: id });
    return app;
  }

  environment(applicationId: string, id: string): EnvironmentRecord {
    this.application(applicationId);
    const env = this.state.environments.find((e) => e.applicationId === applicationId && e.id === id);
    if (env === undefined) throw notFound(`Environment ${id} not found in application ${applicationId}.`, { ResourceName: id });
    return env;
  }

  profile(applicationId: string, id: string): ProfileRecord {
    this.application(applicationId);
    const profile = this.state.profiles.find((p) => p.applicationId === applicationId && p.id === id);
    if (profile === undefined) throw notFound(`Configuration profile ${id} not found in application ${applicationId}.`, { ResourceName: id });
    return profile;
  }

  hostedVersion(applicationId: string, profileId: string, versionNumber: number): HostedVersionRecord {
    const v = this.state.hostedVersions.find((h) => h.applicationId === applicationId && h.profileId === profileId && h.versionNumber === versionNumber);
    if (v === undefined) {
      throw notFound(`Hosted configuration version ${versionNumber} not found for configuration profile ${profileId}.`, { ResourceName: String(versionNumber) });
    }
    return v;
  }

  strategies(): StrategyRecord[] {
    return [...PREDEFINED_STRATEGIES, ...this.state.strategies];
  }

  strategy(id: string): StrategyRecord {
    const s = this.strategies().find((x) => x.id === id);
    if (s === undefined) throw notFound(`Deployment strategy ${id} not found.`, { ResourceName: id });
    return s;
  }

  deploymentsOf(applicationId: string, environmentId: string): DeploymentRecord[] {
    return this.state.deployments.filter((d) => d.applicationId === applicationId && d.environmentId === environmentId);
  }

  view(d: DeploymentRecord, now = this.now()): DeploymentView {
    return deploymentAt({ strategy: d.strategy, startedAt: d.startedAt, timeScale: d.timeScale, ...(d.stop ? { stop: d.stop } : {}) }, now);
  }

  /** The deployment still rolling out or baking in an environment, if any. */
  inProgress(applicationId: string, environmentId: string, now = this.now()): DeploymentRecord | undefined {
    return this.deploymentsOf(applicationId, environmentId).find((d) => this.view(d, now).inProgress);
  }

  /** AppConfig's environment state, derived from its latest deployment. */
  environmentState(env: EnvironmentRecord, now = this.now()): string {
    const latest = this.deploymentsOf(env.applicationId, env.id).at(-1);
    if (latest === undefined) return 'READY_FOR_DEPLOYMENT';
    const state = this.view(latest, now).state;
    if (state === 'DEPLOYING' || state === 'BAKING' || state === 'VALIDATING') return 'DEPLOYING';
    if (state === 'ROLLING_BACK' || state === 'ROLLED_BACK' || state === 'REVERTED') return state;
    return 'READY_FOR_DEPLOYMENT';
  }

  /**
   * The version a session in `bucket` is served for a profile in an environment: walking back
   * from the latest deployment of that profile, the first that serves this bucket (a rolled-back
   * or reverted deployment serves nobody; one in progress serves the buckets below its percentage).
   */
  served(applicationId: string, environmentId: string, profileId: string, bucket: number, now = this.now()): ServedVersion | undefined {
    const deployments = this.state.deployments;
    for (let i = deployments.length - 1; i >= 0; i--) {
      const d = deployments[i];
      if (d === undefined || d.applicationId !== applicationId || d.environmentId !== environmentId || d.profileId !== profileId) continue;
      if (!servesNewVersion(this.view(d, now), bucket)) continue;
      const version = this.state.hostedVersions.find(
        (h) => h.applicationId === applicationId && h.profileId === profileId && String(h.versionNumber) === d.configurationVersion,
      );
      if (version !== undefined) return { deployment: d, version };
    }
    return undefined;
  }

  alarmState(arn: string): AlarmState {
    return this.state.alarms[arn] ?? 'OK';
  }

  /** The first monitored alarm of an environment that is in ALARM, if any. */
  firingAlarm(env: EnvironmentRecord): string | undefined {
    return env.monitors.find((m) => this.alarmState(m.alarmArn) === 'ALARM')?.alarmArn;
  }

  /**
   * Rolls back the in-progress deployment of every environment that monitors a firing alarm, as
   * AppConfig does when a CloudWatch alarm goes off during a deployment or its final bake.
   * Returns the deployments rolled back.
   */
  enforceAlarms(now = this.now()): DeploymentRecord[] {
    const rolledBack: DeploymentRecord[] = [];
    for (const env of this.state.environments) {
      const arn = this.firingAlarm(env);
      if (arn === undefined) continue;
      const d = this.inProgress(env.applicationId, env.id, now);
      if (d === undefined) continue;
      d.stop = { at: now, by: 'CLOUDWATCH_ALARM', description: `Rollback initiated by alarm ${arn}` };
      rolledBack.push(d);
    }
    if (rolledBack.length > 0) this.save();
    return rolledBack;
  }
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A 7-character lowercase id, the shape AppConfig gives its resources. */
export function newId(): string {
  const bytes = randomBytes(7);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}
