/**
 * `init`: what must exist for the pipeline to run — the application, its environments (with
 * their alarm monitors), the three hosted configuration profiles with their JSON Schema
 * validators, and the shipped deployment strategies. `planInit` decides, from what exists,
 * what to create or update (pure, so re-running is provably a no-op); `applyInit` does it.
 */
import {
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateDeploymentStrategyCommand,
  CreateEnvironmentCommand,
  UpdateConfigurationProfileCommand,
  UpdateEnvironmentCommand,
  type AppConfigClient,
} from '@aws-sdk/client-appconfig';
import { PipelineError } from './errors.js';
import { listEnvironments, listProfiles, listStrategies, findApplication, type Named } from './resolve.js';
import { strategyDifferences, type StrategySpec } from './strategies.js';

export interface DesiredSetup {
  readonly application: string;
  readonly environments: readonly { readonly name: string; readonly alarms?: readonly string[] }[];
  /** Alarm role AppConfig assumes to read the alarms (needed by AWS unless its service-linked role does). */
  readonly alarmRoleArn?: string;
  readonly profiles: readonly { readonly name: string; readonly schema: string }[];
  readonly strategies: readonly StrategySpec[];
}

export interface ExistingSetup {
  readonly application: Named | undefined;
  readonly environments: readonly (Named & { readonly alarms: readonly string[] })[];
  readonly profiles: readonly (Named & { readonly schema: string | undefined })[];
  readonly strategies: readonly (Named & Parameters<typeof strategyDifferences>[1])[];
}

export type InitAction =
  | { readonly kind: 'create-application'; readonly name: string }
  | { readonly kind: 'create-environment'; readonly name: string; readonly alarms: readonly string[] }
  | { readonly kind: 'set-alarms'; readonly name: string; readonly id: string; readonly alarms: readonly string[] }
  | { readonly kind: 'create-profile'; readonly name: string; readonly schema: string }
  | { readonly kind: 'set-validator'; readonly name: string; readonly id: string; readonly schema: string }
  | { readonly kind: 'create-strategy'; readonly strategy: StrategySpec };

export interface InitPlan {
  readonly actions: readonly InitAction[];
  /** What already matches, for the report (`environment beta: exists`). */
  readonly unchanged: readonly string[];
  /** What init must not fix by itself (a strategy changed without a new version). */
  readonly problems: readonly string[];
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** Decides what init must do. Alarms are replaced only for the environments `--alarm` names. */
export function planInit(desired: DesiredSetup, existing: ExistingSetup): InitPlan {
  const actions: InitAction[] = [];
  const unchanged: string[] = [];
  const problems: string[] = [];
  if (existing.application === undefined) actions.push({ kind: 'create-application', name: desired.application });
  else unchanged.push(`application ${desired.application}`);
  for (const env of desired.environments) {
    const found = existing.environments.find((e) => e.name === env.name);
    if (found === undefined) actions.push({ kind: 'create-environment', name: env.name, alarms: env.alarms ?? [] });
    else if (env.alarms !== undefined && !sameSet(env.alarms, found.alarms)) actions.push({ kind: 'set-alarms', name: env.name, id: found.id, alarms: env.alarms });
    else unchanged.push(`environment ${env.name}`);
  }
  for (const profile of desired.profiles) {
    const found = existing.profiles.find((p) => p.name === profile.name);
    if (found === undefined) actions.push({ kind: 'create-profile', name: profile.name, schema: profile.schema });
    else if (found.schema !== profile.schema) actions.push({ kind: 'set-validator', name: profile.name, id: found.id, schema: profile.schema });
    else unchanged.push(`profile ${profile.name}`);
  }
  for (const strategy of desired.strategies) {
    const found = existing.strategies.find((s) => s.name === strategy.name);
    if (found === undefined) {
      actions.push({ kind: 'create-strategy', strategy });
      continue;
    }
    const differences = strategyDifferences(strategy, found);
    if (differences.length === 0) unchanged.push(`strategy ${strategy.name}`);
    else problems.push(`strategy ${strategy.name} exists with other parameters (${differences.join('; ')}): raise its version in the strategies file instead of changing it`);
  }
  return { actions, unchanged, problems };
}

/** One line per action, as init reports it. */
export function describeAction(action: InitAction): string {
  switch (action.kind) {
    case 'create-application':
      return `create application ${action.name}`;
    case 'create-environment':
      return `create environment ${action.name}${action.alarms.length === 0 ? '' : ` with alarms ${action.alarms.join(', ')}`}`;
    case 'set-alarms':
      return `set alarms of environment ${action.name} to ${action.alarms.length === 0 ? '(none)' : action.alarms.join(', ')}`;
    case 'create-profile':
      return `create hosted profile ${action.name} with its JSON Schema validator`;
    case 'set-validator':
      return `update the JSON Schema validator of profile ${action.name}`;
    case 'create-strategy':
      return `create deployment strategy ${action.strategy.name}`;
  }
}

/** Reads what exists of the setup. */
export async function readSetup(client: AppConfigClient, application: string): Promise<ExistingSetup> {
  const app = await findApplication(client, application);
  const strategies = await listStrategies(client);
  if (app === undefined) return { application: undefined, environments: [], profiles: [], strategies };
  const [environments, profiles] = await Promise.all([listEnvironments(client, app.id), listProfiles(client, app.id)]);
  return {
    application: app,
    environments: environments.map((e) => ({ id: e.id, name: e.name, alarms: e.alarms })),
    profiles: profiles.map((p) => ({ id: p.id, name: p.name, schema: p.schema })),
    strategies,
  };
}

const monitorsOf = (alarms: readonly string[], roleArn: string | undefined) => alarms.map((AlarmArn) => ({ AlarmArn, ...(roleArn === undefined ? {} : { AlarmRoleArn: roleArn }) }));

/** Carries out a plan in order (the application first: everything else hangs from it). */
export async function applyInit(client: AppConfigClient, desired: DesiredSetup, plan: InitPlan, existing: ExistingSetup): Promise<void> {
  let appId = existing.application?.id;
  const requireApp = (): string => {
    if (appId === undefined) throw new PipelineError('refused', `application ${desired.application} was not created`);
    return appId;
  };
  for (const action of plan.actions) {
    switch (action.kind) {
      case 'create-application': {
        const out = await client.send(new CreateApplicationCommand({ Name: action.name, Description: 'Managed by prio appconfig init' }));
        appId = out.Id;
        break;
      }
      case 'create-environment':
        await client.send(new CreateEnvironmentCommand({ ApplicationId: requireApp(), Name: action.name, Monitors: monitorsOf(action.alarms, desired.alarmRoleArn) }));
        break;
      case 'set-alarms':
        await client.send(new UpdateEnvironmentCommand({ ApplicationId: requireApp(), EnvironmentId: action.id, Monitors: monitorsOf(action.alarms, desired.alarmRoleArn) }));
        break;
      case 'create-profile':
        await client.send(
          new CreateConfigurationProfileCommand({
            ApplicationId: requireApp(),
            Name: action.name,
            LocationUri: 'hosted',
            Type: 'AWS.Freeform',
            Validators: [{ Type: 'JSON_SCHEMA', Content: action.schema }],
          }),
        );
        break;
      case 'set-validator':
        await client.send(new UpdateConfigurationProfileCommand({ ApplicationId: requireApp(), ConfigurationProfileId: action.id, Validators: [{ Type: 'JSON_SCHEMA', Content: action.schema }] }));
        break;
      case 'create-strategy': {
        const s = action.strategy;
        await client.send(
          new CreateDeploymentStrategyCommand({
            Name: s.name,
            Description: s.description,
            DeploymentDurationInMinutes: s.deploymentDurationInMinutes,
            GrowthType: s.growthType,
            GrowthFactor: s.growthFactor,
            FinalBakeTimeInMinutes: s.finalBakeTimeInMinutes,
            ReplicateTo: 'NONE',
          }),
        );
        break;
      }
    }
  }
}
