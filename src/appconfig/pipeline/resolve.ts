/**
 * AppConfig addresses everything by generated ids; people and CI files use names. These
 * resolve names to ids (listing, since the API has no lookup by name) and refuse a name that
 * is unknown or ambiguous with one line naming what does exist.
 */
import {
  GetConfigurationProfileCommand,
  paginateListApplications,
  paginateListConfigurationProfiles,
  paginateListDeploymentStrategies,
  paginateListEnvironments,
  type AppConfigClient,
} from '@aws-sdk/client-appconfig';
import { PipelineError } from './errors.js';

export interface Named {
  readonly id: string;
  readonly name: string;
}

export interface EnvironmentInfo extends Named {
  readonly state: string | undefined;
  readonly alarms: readonly string[];
}

export interface ProfileInfo extends Named {
  /** The JSON Schema validator's content, if the profile has one. */
  readonly schema: string | undefined;
}

export interface StrategyInfo extends Named {
  readonly deploymentDurationInMinutes: number | undefined;
  readonly growthType: string | undefined;
  readonly growthFactor: number | undefined;
  readonly finalBakeTimeInMinutes: number | undefined;
}

const named = (id: string | undefined, name: string | undefined): Named => ({ id: id ?? '', name: name ?? '' });

/** The one item called `name`; undefined when none is; refused when several are. */
function pickByName<T extends Named>(items: readonly T[], name: string, what: string): T | undefined {
  const matches = items.filter((i) => i.name === name);
  if (matches.length > 1) throw new PipelineError('refused', `ambiguous ${what} name "${name}": ${matches.length} share it (${matches.map((m) => m.id).join(', ')}); rename all but one`);
  return matches[0];
}

function unknown(what: string, name: string, items: readonly Named[], hint: string): PipelineError {
  const known = items.length === 0 ? 'none exist' : `known: ${items.map((i) => i.name).join(', ')}`;
  return new PipelineError('not-found', `unknown ${what} "${name}" (${known})${hint}`);
}

async function listApplications(client: AppConfigClient): Promise<Named[]> {
  const out: Named[] = [];
  for await (const page of paginateListApplications({ client }, {})) for (const a of page.Items ?? []) out.push(named(a.Id, a.Name));
  return out;
}

export async function findApplication(client: AppConfigClient, name: string): Promise<Named | undefined> {
  return pickByName(await listApplications(client), name, 'application');
}

export async function resolveApplication(client: AppConfigClient, name: string): Promise<Named> {
  const apps = await listApplications(client);
  const app = pickByName(apps, name, 'application');
  if (app === undefined) throw unknown('application', name, apps, `; create it with: prio appconfig init --app ${name} --envs ...`);
  return app;
}

export async function listEnvironments(client: AppConfigClient, applicationId: string): Promise<EnvironmentInfo[]> {
  const out: EnvironmentInfo[] = [];
  for await (const page of paginateListEnvironments({ client }, { ApplicationId: applicationId })) {
    for (const e of page.Items ?? []) out.push({ ...named(e.Id, e.Name), state: e.State, alarms: (e.Monitors ?? []).flatMap((m) => (m.AlarmArn === undefined ? [] : [m.AlarmArn])) });
  }
  return out;
}

export async function resolveEnvironment(client: AppConfigClient, app: Named, name: string): Promise<EnvironmentInfo> {
  const envs = await listEnvironments(client, app.id);
  const env = pickByName(envs, name, 'environment');
  if (env === undefined) throw unknown(`environment of ${app.name}`, name, envs, '');
  return env;
}

/** Profiles with their validator content (the listing carries only validator types). */
export async function listProfiles(client: AppConfigClient, applicationId: string): Promise<ProfileInfo[]> {
  const summaries: Named[] = [];
  for await (const page of paginateListConfigurationProfiles({ client }, { ApplicationId: applicationId })) {
    for (const p of page.Items ?? []) summaries.push(named(p.Id, p.Name));
  }
  return Promise.all(
    summaries.map(async (p) => {
      const full = await client.send(new GetConfigurationProfileCommand({ ApplicationId: applicationId, ConfigurationProfileId: p.id }));
      return { ...p, schema: full.Validators?.find((v) => v.Type === 'JSON_SCHEMA')?.Content };
    }),
  );
}

export async function listProfileNames(client: AppConfigClient, applicationId: string): Promise<Named[]> {
  const out: Named[] = [];
  for await (const page of paginateListConfigurationProfiles({ client }, { ApplicationId: applicationId })) {
    for (const p of page.Items ?? []) out.push(named(p.Id, p.Name));
  }
  return out;
}

export async function resolveProfile(client: AppConfigClient, app: Named, name: string): Promise<Named> {
  const profiles = await listProfileNames(client, app.id);
  const profile = pickByName(profiles, name, 'configuration profile');
  if (profile === undefined) throw unknown(`profile of ${app.name}`, name, profiles, `; create it with: prio appconfig init --app ${app.name} --envs ...`);
  return profile;
}

export async function listStrategies(client: AppConfigClient): Promise<StrategyInfo[]> {
  const out: StrategyInfo[] = [];
  for await (const page of paginateListDeploymentStrategies({ client }, {})) {
    for (const s of page.Items ?? []) {
      out.push({
        ...named(s.Id, s.Name),
        deploymentDurationInMinutes: s.DeploymentDurationInMinutes,
        growthType: s.GrowthType,
        growthFactor: s.GrowthFactor,
        finalBakeTimeInMinutes: s.FinalBakeTimeInMinutes,
      });
    }
  }
  return out;
}

/** A strategy by full name or id (the short names of the shipped file are mapped before). */
export async function resolveStrategy(client: AppConfigClient, nameOrId: string): Promise<StrategyInfo> {
  const strategies = await listStrategies(client);
  const byId = strategies.find((s) => s.id === nameOrId);
  if (byId !== undefined) return byId;
  const strategy = pickByName(strategies, nameOrId, 'deployment strategy');
  if (strategy === undefined) throw unknown('deployment strategy', nameOrId, strategies, '; prio appconfig init creates the shipped ones');
  return strategy;
}
