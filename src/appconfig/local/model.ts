/**
 * What the local AppConfig endpoint stores: plain JSON-serialisable records, one array per
 * resource kind, so the whole state is one document that can be written atomically.
 */
import type { DeploymentStop, RolloutStrategy } from './deployment.js';

export interface ApplicationRecord {
  readonly id: string;
  name: string;
  description?: string;
}

export interface MonitorRecord {
  readonly alarmArn: string;
  readonly alarmRoleArn?: string;
}

export interface EnvironmentRecord {
  readonly applicationId: string;
  readonly id: string;
  name: string;
  description?: string;
  monitors: MonitorRecord[];
}

export interface ValidatorRecord {
  readonly type: 'JSON_SCHEMA' | 'LAMBDA';
  readonly content: string;
}

export interface ProfileRecord {
  readonly applicationId: string;
  readonly id: string;
  name: string;
  description?: string;
  readonly locationUri: string;
  readonly type: string;
  validators: ValidatorRecord[];
}

export interface HostedVersionRecord {
  readonly applicationId: string;
  readonly profileId: string;
  readonly versionNumber: number;
  readonly description?: string;
  readonly contentType: string;
  readonly versionLabel?: string;
  /** The content, base64 (configurations are bytes, not necessarily text). */
  readonly content: string;
}

export interface StrategyRecord extends RolloutStrategy {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly replicateTo: 'NONE' | 'SSM_DOCUMENT';
}

export interface DeploymentRecord {
  readonly applicationId: string;
  readonly environmentId: string;
  readonly deploymentNumber: number;
  readonly strategyId: string;
  readonly strategy: RolloutStrategy;
  readonly profileId: string;
  readonly configurationName: string;
  readonly locationUri: string;
  readonly configurationVersion: string;
  readonly versionLabel?: string;
  readonly description?: string;
  readonly startedAt: number;
  readonly timeScale: number;
  stop?: DeploymentStop;
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface LocalState {
  readonly format: 1;
  applications: ApplicationRecord[];
  environments: EnvironmentRecord[];
  profiles: ProfileRecord[];
  hostedVersions: HostedVersionRecord[];
  strategies: StrategyRecord[];
  deployments: DeploymentRecord[];
  alarms: Record<string, AlarmState>;
  /** Tags by resource path within the ARN (`application/abc1234`), region and account aside. */
  tags: Record<string, Record<string, string>>;
}

export function emptyState(): LocalState {
  return { format: 1, applications: [], environments: [], profiles: [], hostedVersions: [], strategies: [], deployments: [], alarms: {}, tags: {} };
}

/** AppConfig's predefined strategies, as its documentation lists them (ids are their names). */
export const PREDEFINED_STRATEGIES: readonly StrategyRecord[] = [
  {
    id: 'AppConfig.Linear20PercentEvery6Minutes',
    name: 'AppConfig.Linear20PercentEvery6Minutes',
    description: 'AWS Recommended. Deploys to 20% of targets every six minutes for 30 minutes, then bakes for 30 minutes.',
    deploymentDurationInMinutes: 30,
    growthType: 'LINEAR',
    growthFactor: 20,
    finalBakeTimeInMinutes: 30,
    replicateTo: 'NONE',
  },
  {
    id: 'AppConfig.Canary10Percent20Minutes',
    name: 'AppConfig.Canary10Percent20Minutes',
    description: 'AWS Recommended. Exponential growth factor of 10% over 20 minutes, then bakes for 10 minutes.',
    deploymentDurationInMinutes: 20,
    growthType: 'EXPONENTIAL',
    growthFactor: 10,
    finalBakeTimeInMinutes: 10,
    replicateTo: 'NONE',
  },
  {
    id: 'AppConfig.AllAtOnce',
    name: 'AppConfig.AllAtOnce',
    description: 'Quick. Deploys to all targets at once, then bakes for 10 minutes.',
    deploymentDurationInMinutes: 0,
    growthType: 'LINEAR',
    growthFactor: 100,
    finalBakeTimeInMinutes: 10,
    replicateTo: 'NONE',
  },
  {
    id: 'AppConfig.Linear50PercentEvery30Seconds',
    name: 'AppConfig.Linear50PercentEvery30Seconds',
    description: 'Testing/demonstration. Deploys to half of all targets every 30 seconds for one minute, then bakes for 1 minute.',
    deploymentDurationInMinutes: 1,
    growthType: 'LINEAR',
    growthFactor: 50,
    finalBakeTimeInMinutes: 1,
    replicateTo: 'NONE',
  },
];

/** Limits that answer ServiceQuotaExceededException (or PayloadTooLargeException) when passed. */
export interface Quotas {
  readonly applications: number;
  readonly environmentsPerApplication: number;
  readonly profilesPerApplication: number;
  readonly customStrategies: number;
  /** Hosted configuration size, bytes. */
  readonly hostedConfigurationBytes: number;
}

/** AppConfig's default quotas, so the quota errors can be seen locally too. */
export const DEFAULT_QUOTAS: Quotas = {
  applications: 100,
  environmentsPerApplication: 20,
  profilesPerApplication: 100,
  customStrategies: 20,
  hostedConfigurationBytes: 2 * 1024 * 1024,
};
