/**
 * Conformance of `prio appconfig local` with AppConfig as the unmodified AWS SDK clients see it:
 * every operation through @aws-sdk/client-appconfig and client-appconfigdata, responses parsed
 * without deserialization errors, errors surfacing as the SDK's typed exceptions, and the
 * deployment behaviour (strategies, bake, alarms, stop, one deployment at a time, percentage
 * share across sessions, empty body when unchanged, persistence, injected faults).
 *
 * Most tests use the shared endpoint the test setup started (APPCONFIG_ENDPOINT, time scale
 * 600); those that need a clock of their own, a state dir or faults (which would hit other test
 * files sharing the endpoint) start a private one in-process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppConfigServiceException,
  BadRequestException,
  ConflictException,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateDeploymentStrategyCommand,
  CreateEnvironmentCommand,
  CreateHostedConfigurationVersionCommand,
  DeleteApplicationCommand,
  DeleteConfigurationProfileCommand,
  DeleteDeploymentStrategyCommand,
  DeleteEnvironmentCommand,
  DeleteHostedConfigurationVersionCommand,
  GetApplicationCommand,
  GetConfigurationProfileCommand,
  GetDeploymentCommand,
  GetDeploymentStrategyCommand,
  GetEnvironmentCommand,
  GetHostedConfigurationVersionCommand,
  InternalServerException,
  ListApplicationsCommand,
  ListConfigurationProfilesCommand,
  ListDeploymentsCommand,
  ListDeploymentStrategiesCommand,
  ListEnvironmentsCommand,
  ListHostedConfigurationVersionsCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  StartDeploymentCommand,
  StopDeploymentCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateApplicationCommand,
  UpdateConfigurationProfileCommand,
  UpdateDeploymentStrategyCommand,
  UpdateEnvironmentCommand,
  ValidateConfigurationCommand,
  type AppConfigClient,
  type Deployment,
  type StartDeploymentCommandOutput,
} from '@aws-sdk/client-appconfig';
import {
  BadRequestException as DataBadRequestException,
  GetLatestConfigurationCommand,
  ResourceNotFoundException as DataResourceNotFoundException,
  StartConfigurationSessionCommand,
  ThrottlingException,
  type AppConfigDataClient,
} from '@aws-sdk/client-appconfigdata';
import { startLocalAppConfig, type LocalAppConfig, type LocalAppConfigOptions } from '../../src/appconfig/local/index.js';
import { appConfigClients, appConfigEndpoint, clearFaults, injectFault, listFaults, setAlarm, type AppConfigClients } from '../support/appconfig.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const T0 = Date.parse('2026-01-05T09:00:00Z');
const MIN = 60_000;
const SCHEMA = JSON.stringify({ type: 'object', required: ['rulesVersion'], properties: { rulesVersion: { type: 'integer', minimum: 1 } } });
const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

let shared: AppConfigClients;
beforeAll(() => {
  shared = appConfigClients(appConfigEndpoint());
});
afterAll(() => shared.destroy());

interface Fixture {
  readonly appId: string;
  readonly appName: string;
  readonly envId: string;
  readonly envName: string;
  readonly profileId: string;
  readonly profileName: string;
}

async function fixture(control: AppConfigClient, options: { alarmArn?: string; validate?: boolean } = {}): Promise<Fixture> {
  const appName = unique('prio');
  const app = await control.send(new CreateApplicationCommand({ Name: appName, Description: 'conformance' }));
  const envName = unique('beta');
  const env = await control.send(
    new CreateEnvironmentCommand({ ApplicationId: app.Id, Name: envName, ...(options.alarmArn ? { Monitors: [{ AlarmArn: options.alarmArn }] } : {}) }),
  );
  const profileName = unique('flags');
  const profile = await control.send(
    new CreateConfigurationProfileCommand({
      ApplicationId: app.Id,
      Name: profileName,
      LocationUri: 'hosted',
      ...(options.validate === false ? {} : { Validators: [{ Type: 'JSON_SCHEMA', Content: SCHEMA }] }),
    }),
  );
  return { appId: app.Id ?? '', appName, envId: env.Id ?? '', envName, profileId: profile.Id ?? '', profileName };
}

async function publish(control: AppConfigClient, f: Fixture, doc: unknown, label?: string): Promise<number> {
  const v = await control.send(
    new CreateHostedConfigurationVersionCommand({
      ApplicationId: f.appId,
      ConfigurationProfileId: f.profileId,
      Content: Buffer.from(JSON.stringify(doc)),
      ContentType: 'application/json',
      ...(label ? { VersionLabel: label } : {}),
    }),
  );
  return v.VersionNumber ?? 0;
}

async function strategy(control: AppConfigClient, duration: number, growth: number, bake: number, type: 'LINEAR' | 'EXPONENTIAL' = 'LINEAR'): Promise<string> {
  const s = await control.send(
    new CreateDeploymentStrategyCommand({
      Name: unique('s'),
      DeploymentDurationInMinutes: duration,
      GrowthFactor: growth,
      FinalBakeTimeInMinutes: bake,
      GrowthType: type,
      ReplicateTo: 'NONE',
    }),
  );
  return s.Id ?? '';
}

function deploy(control: AppConfigClient, f: Fixture, strategyId: string, version: number): Promise<StartDeploymentCommandOutput> {
  return control.send(
    new StartDeploymentCommand({
      ApplicationId: f.appId,
      EnvironmentId: f.envId,
      DeploymentStrategyId: strategyId,
      ConfigurationProfileId: f.profileId,
      ConfigurationVersion: String(version),
      Description: 'conformance deployment',
    }),
  );
}

const getDeployment = (control: AppConfigClient, f: Fixture, n: number) =>
  control.send(new GetDeploymentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, DeploymentNumber: n }));

/** Polls GetDeployment until it leaves DEPLOYING/BAKING; returns every state seen, in order. */
async function waitForEnd(control: AppConfigClient, f: Fixture, n: number): Promise<{ last: Deployment; seen: string[] }> {
  const seen: string[] = [];
  for (let i = 0; i < 400; i++) {
    const d = await getDeployment(control, f, n);
    if (seen.at(-1) !== d.State) seen.push(d.State ?? '');
    if (d.State !== 'DEPLOYING' && d.State !== 'BAKING' && d.State !== 'VALIDATING') return { last: d, seen };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`deployment ${n} did not end`);
}

async function session(data: AppConfigDataClient, f: Fixture, byName = false): Promise<string> {
  const s = await data.send(
    new StartConfigurationSessionCommand({
      ApplicationIdentifier: byName ? f.appName : f.appId,
      EnvironmentIdentifier: byName ? f.envName : f.envId,
      ConfigurationProfileIdentifier: byName ? f.profileName : f.profileId,
      RequiredMinimumPollIntervalInSeconds: 1,
    }),
  );
  expect(s.InitialConfigurationToken).toMatch(/\S/);
  return s.InitialConfigurationToken ?? '';
}

/** A private endpoint with a hand-driven clock, for tests that must not depend on real time. */
async function privateEndpoint(options: LocalAppConfigOptions = {}): Promise<{ local: LocalAppConfig; clients: AppConfigClients; clock: { now: number } }> {
  const clock = { now: T0 };
  const local = await startLocalAppConfig({ clock: () => clock.now, ...options });
  return { local, clients: appConfigClients(local.url), clock };
}

describe('control plane through @aws-sdk/client-appconfig', () => {
  it('applications: create, get, list with pagination', async () => {
    const { control } = shared;
    const created = await control.send(new CreateApplicationCommand({ Name: unique('app'), Description: 'd' }));
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created.Id).toMatch(/^[a-z0-9]{7}$/);
    const got = await control.send(new GetApplicationCommand({ ApplicationId: created.Id }));
    expect(got).toMatchObject({ Id: created.Id, Name: created.Name, Description: 'd' });
    await control.send(new CreateApplicationCommand({ Name: unique('app') }));
    const first = await control.send(new ListApplicationsCommand({ MaxResults: 1 }));
    expect(first.Items).toHaveLength(1);
    expect(first.NextToken).toBeDefined();
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await control.send(new ListApplicationsCommand({ MaxResults: 2, ...(token ? { NextToken: token } : {}) }));
      ids.push(...(page.Items ?? []).map((a) => a.Id ?? ''));
      token = page.NextToken;
    } while (token !== undefined);
    expect(ids).toContain(created.Id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('environments: create with monitors, get, list, update', async () => {
    const { control } = shared;
    const f = await fixture(control);
    const env = await control.send(new GetEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }));
    expect(env).toMatchObject({ ApplicationId: f.appId, Id: f.envId, Name: f.envName, State: 'READY_FOR_DEPLOYMENT', Monitors: [] });
    const arn = `arn:aws:cloudwatch:us-east-1:111122223333:alarm:${unique('a')}`;
    const updated = await control.send(
      new UpdateEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, Description: 'watched', Monitors: [{ AlarmArn: arn, AlarmRoleArn: 'arn:aws:iam::111122223333:role/r' }] }),
    );
    expect(updated).toMatchObject({ Description: 'watched', Monitors: [{ AlarmArn: arn, AlarmRoleArn: 'arn:aws:iam::111122223333:role/r' }] });
    const list = await control.send(new ListEnvironmentsCommand({ ApplicationId: f.appId }));
    expect(list.Items?.map((e) => e.Id)).toEqual([f.envId]);
    expect(list.Items?.[0]?.Monitors?.[0]?.AlarmArn).toBe(arn);
  });

  it('configuration profiles: create with a JSON_SCHEMA validator, get, list, filter by type', async () => {
    const { control } = shared;
    const f = await fixture(control);
    const p = await control.send(new GetConfigurationProfileCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId }));
    expect(p).toMatchObject({ Id: f.profileId, Name: f.profileName, LocationUri: 'hosted', Type: 'AWS.Freeform', Validators: [{ Type: 'JSON_SCHEMA', Content: SCHEMA }] });
    await control.send(new CreateConfigurationProfileCommand({ ApplicationId: f.appId, Name: 'ff', LocationUri: 'hosted', Type: 'AWS.AppConfig.FeatureFlags' }));
    const all = await control.send(new ListConfigurationProfilesCommand({ ApplicationId: f.appId }));
    expect(all.Items).toHaveLength(2);
    expect(all.Items?.find((i) => i.Id === f.profileId)?.ValidatorTypes).toEqual(['JSON_SCHEMA']);
    const flags = await control.send(new ListConfigurationProfilesCommand({ ApplicationId: f.appId, Type: 'AWS.AppConfig.FeatureFlags' }));
    expect(flags.Items?.map((i) => i.Name)).toEqual(['ff']);
    await expect(
      control.send(new CreateConfigurationProfileCommand({ ApplicationId: f.appId, Name: 'bad', LocationUri: 'hosted', Validators: [{ Type: 'JSON_SCHEMA', Content: '{not json' }] })),
    ).rejects.toBeInstanceOf(BadRequestException);
  });

  it('hosted versions: numbered from 1, content and headers round-trip, Latest-Version-Number is checked', async () => {
    const { control } = shared;
    const f = await fixture(control);
    const created = await control.send(
      new CreateHostedConfigurationVersionCommand({
        ApplicationId: f.appId,
        ConfigurationProfileId: f.profileId,
        Content: Buffer.from('{"rulesVersion":1}'),
        ContentType: 'application/json',
        Description: 'first',
        VersionLabel: 'v1',
        LatestVersionNumber: 0,
      }),
    );
    expect(created).toMatchObject({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, VersionNumber: 1, ContentType: 'application/json', Description: 'first', VersionLabel: 'v1' });
    expect(text(created.Content)).toBe('{"rulesVersion":1}');
    expect(await publish(control, f, { rulesVersion: 2 }, 'v2')).toBe(2);
    await expect(
      control.send(
        new CreateHostedConfigurationVersionCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, Content: Buffer.from('{}'), ContentType: 'application/json', LatestVersionNumber: 1 }),
      ),
    ).rejects.toBeInstanceOf(ConflictException);
    const got = await control.send(new GetHostedConfigurationVersionCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, VersionNumber: 1 }));
    expect(got).toMatchObject({ VersionNumber: 1, VersionLabel: 'v1', Description: 'first' });
    expect(text(got.Content)).toBe('{"rulesVersion":1}');
    const list = await control.send(new ListHostedConfigurationVersionsCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId }));
    expect(list.Items?.map((i) => [i.VersionNumber, i.VersionLabel])).toEqual([
      [2, 'v2'],
      [1, 'v1'],
    ]);
    const labelled = await control.send(new ListHostedConfigurationVersionsCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, VersionLabel: 'v1' }));
    expect(labelled.Items?.map((i) => i.VersionNumber)).toEqual([1]);
    await expect(control.send(new ValidateConfigurationCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, ConfigurationVersion: '1' }))).resolves.toBeDefined();
  });

  it('deployment strategies: the predefined ones, and custom create/get/list', async () => {
    const { control } = shared;
    const list = await control.send(new ListDeploymentStrategiesCommand({}));
    const ids = list.Items?.map((s) => s.Id) ?? [];
    expect(ids).toEqual(expect.arrayContaining(['AppConfig.AllAtOnce', 'AppConfig.Linear50PercentEvery30Seconds', 'AppConfig.Canary10Percent20Minutes', 'AppConfig.Linear20PercentEvery6Minutes']));
    const canary = await control.send(new GetDeploymentStrategyCommand({ DeploymentStrategyId: 'AppConfig.Canary10Percent20Minutes' }));
    expect(canary).toMatchObject({ GrowthType: 'EXPONENTIAL', GrowthFactor: 10, DeploymentDurationInMinutes: 20, FinalBakeTimeInMinutes: 10 });
    const id = await strategy(control, 10, 25, 5, 'EXPONENTIAL');
    const got = await control.send(new GetDeploymentStrategyCommand({ DeploymentStrategyId: id }));
    expect(got).toMatchObject({ Id: id, DeploymentDurationInMinutes: 10, GrowthFactor: 25, FinalBakeTimeInMinutes: 5, GrowthType: 'EXPONENTIAL', ReplicateTo: 'NONE' });
    await expect(
      control.send(new CreateDeploymentStrategyCommand({ Name: 'bad', DeploymentDurationInMinutes: 10, GrowthFactor: 0, ReplicateTo: 'NONE' })),
    ).rejects.toBeInstanceOf(BadRequestException);
  });

  it('errors surface as the SDK typed exceptions', async () => {
    const { control } = shared;
    const missing = await control.send(new GetApplicationCommand({ ApplicationId: 'nope123' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect((missing as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);
    expect((missing as ResourceNotFoundException).message).toMatch(/nope123/);
    const f = await fixture(control, { validate: false });
    await expect(control.send(new GetDeploymentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, DeploymentNumber: 9 }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(control.send(new GetDeploymentStrategyCommand({ DeploymentStrategyId: 'AppConfig.Nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(control.send(new CreateApplicationCommand({ Name: '' }))).rejects.toBeInstanceOf(BadRequestException);
    await expect(deploy(control, f, 'AppConfig.AllAtOnce', 5)).rejects.toBeInstanceOf(ResourceNotFoundException);
    // AppConfig's quota of 20 environments per application.
    for (let i = 1; i < 20; i++) await control.send(new CreateEnvironmentCommand({ ApplicationId: f.appId, Name: `e${i}` }));
    const quota = await control.send(new CreateEnvironmentCommand({ ApplicationId: f.appId, Name: 'e20' })).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(ServiceQuotaExceededException);
  });
});

describe('updates, deletes and tags through @aws-sdk/client-appconfig', () => {
  it('updates an application, a profile and a custom strategy; the predefined ones are fixed', async () => {
    const { control } = shared;
    const f = await fixture(control);
    const app = await control.send(new UpdateApplicationCommand({ ApplicationId: f.appId, Description: 'renamed', Name: `${f.appName}-2` }));
    expect(app).toMatchObject({ Id: f.appId, Name: `${f.appName}-2`, Description: 'renamed' });
    const profile = await control.send(new UpdateConfigurationProfileCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, Description: 'no schema', Validators: [] }));
    expect(profile).toMatchObject({ Description: 'no schema', Validators: [] });
    const id = await strategy(control, 10, 20, 0);
    const s = await control.send(new UpdateDeploymentStrategyCommand({ DeploymentStrategyId: id, GrowthFactor: 50, GrowthType: 'EXPONENTIAL' }));
    expect(s).toMatchObject({ Id: id, GrowthFactor: 50, GrowthType: 'EXPONENTIAL', DeploymentDurationInMinutes: 10 });
    await expect(control.send(new UpdateDeploymentStrategyCommand({ DeploymentStrategyId: 'AppConfig.AllAtOnce', GrowthFactor: 50 }))).rejects.toBeInstanceOf(BadRequestException);
    await expect(control.send(new DeleteDeploymentStrategyCommand({ DeploymentStrategyId: 'AppConfig.AllAtOnce' }))).rejects.toBeInstanceOf(BadRequestException);
    await control.send(new DeleteDeploymentStrategyCommand({ DeploymentStrategyId: id }));
    await expect(control.send(new GetDeploymentStrategyCommand({ DeploymentStrategyId: id }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('deletes bottom-up; a resource others depend on is a ConflictException', async () => {
    const { control } = shared;
    const f = await fixture(control, { validate: false });
    const v = await publish(control, f, { a: 1 });
    await deploy(control, f, await strategy(control, 600, 10, 0), v);
    await expect(control.send(new DeleteApplicationCommand({ ApplicationId: f.appId }))).rejects.toBeInstanceOf(ConflictException);
    await expect(control.send(new DeleteConfigurationProfileCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId }))).rejects.toBeInstanceOf(ConflictException);
    await expect(control.send(new DeleteHostedConfigurationVersionCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, VersionNumber: v }))).rejects.toBeInstanceOf(ConflictException);
    await expect(control.send(new DeleteEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }))).rejects.toBeInstanceOf(ConflictException);
    await control.send(new StopDeploymentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, DeploymentNumber: 1 }));
    await control.send(new DeleteEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }));
    await control.send(new DeleteHostedConfigurationVersionCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, VersionNumber: v }));
    await control.send(new DeleteConfigurationProfileCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId }));
    const deleted = await control.send(new DeleteApplicationCommand({ ApplicationId: f.appId }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    await expect(control.send(new GetApplicationCommand({ ApplicationId: f.appId }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('tags given at creation and by TagResource, read and removed by ARN', async () => {
    const { control } = shared;
    const app = await control.send(new CreateApplicationCommand({ Name: unique('tagged'), Tags: { team: 'scheduling' } }));
    const arn = `arn:aws:appconfig:us-east-1:111122223333:application/${app.Id}`;
    expect((await control.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual({ team: 'scheduling' });
    await control.send(new TagResourceCommand({ ResourceArn: arn, Tags: { stage: 'beta', owner: 'prio' } }));
    await control.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['team', 'owner'] }));
    expect((await control.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual({ stage: 'beta' });
    const env = await control.send(new CreateEnvironmentCommand({ ApplicationId: app.Id, Name: 'e', Tags: { tier: 'P50' } }));
    expect((await control.send(new ListTagsForResourceCommand({ ResourceArn: `${arn}/environment/${env.Id}` }))).Tags).toEqual({ tier: 'P50' });
    await expect(control.send(new ListTagsForResourceCommand({ ResourceArn: `${arn}/environment/nope123` }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(control.send(new ListTagsForResourceCommand({ ResourceArn: 'not-an-arn' }))).rejects.toBeInstanceOf(BadRequestException);
  });
});

describe('deployments', () => {
  it('run to COMPLETE under the time scale, with AppConfig event log and summaries', async () => {
    const { control } = shared;
    const f = await fixture(control);
    const v = await publish(control, f, { rulesVersion: 1 }, 'r1');
    const s = await strategy(control, 10, 25, 5); // 1 s of rollout and 0.5 s of bake at 600x
    const started = await deploy(control, f, s, v);
    expect(started.$metadata.httpStatusCode).toBe(201);
    expect(started).toMatchObject({
      ApplicationId: f.appId,
      EnvironmentId: f.envId,
      DeploymentNumber: 1,
      DeploymentStrategyId: s,
      ConfigurationProfileId: f.profileId,
      ConfigurationName: f.profileName,
      ConfigurationLocationUri: 'hosted',
      ConfigurationVersion: String(v),
      VersionLabel: 'r1',
      GrowthType: 'LINEAR',
      GrowthFactor: 25,
      DeploymentDurationInMinutes: 10,
      FinalBakeTimeInMinutes: 5,
      State: 'DEPLOYING',
    });
    expect(started.StartedAt).toBeInstanceOf(Date);
    const env = await control.send(new GetEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }));
    expect(['DEPLOYING', 'READY_FOR_DEPLOYMENT']).toContain(env.State);
    const { last, seen } = await waitForEnd(control, f, 1);
    expect(last.State).toBe('COMPLETE');
    expect(last.PercentageComplete).toBe(100);
    expect(last.CompletedAt).toBeInstanceOf(Date);
    expect((last.CompletedAt?.getTime() ?? 0) - (last.StartedAt?.getTime() ?? 0)).toBe(1_500);
    // States only move forward: DEPLOYING → BAKING → COMPLETE.
    const order = ['DEPLOYING', 'BAKING', 'COMPLETE'];
    expect(seen.map((x) => order.indexOf(x))).toEqual([...seen.map((x) => order.indexOf(x))].sort());
    const events = (last.EventLog ?? []).map((e) => e.EventType);
    expect(events[0]).toBe('DEPLOYMENT_COMPLETED'); // newest first, as AppConfig lists them
    expect(events.filter((e) => e === 'PERCENTAGE_UPDATED')).toHaveLength(4);
    expect(events).toContain('BAKE_TIME_STARTED');
    expect(events.at(-1)).toBe('DEPLOYMENT_STARTED');
    expect(last.EventLog?.every((e) => e.OccurredAt instanceof Date && typeof e.TriggeredBy === 'string')).toBe(true);
    const list = await control.send(new ListDeploymentsCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }));
    expect(list.Items).toEqual([expect.objectContaining({ DeploymentNumber: 1, State: 'COMPLETE', PercentageComplete: 100, ConfigurationVersion: String(v), VersionLabel: 'r1' })]);
    expect((await control.send(new GetEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }))).State).toBe('READY_FOR_DEPLOYMENT');
  });

  it('a second deployment while one is in progress is refused, naming it', async () => {
    const { control } = shared;
    const f = await fixture(control);
    const v = await publish(control, f, { rulesVersion: 1 });
    const long = await strategy(control, 600, 10, 0); // a minute of real time at 600x
    await deploy(control, f, long, v);
    const err = await deploy(control, f, 'AppConfig.AllAtOnce', v).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictException);
    expect((err as Error).message).toMatch(/Deployment 1 is already in progress/);
    const stopped = await control.send(new StopDeploymentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, DeploymentNumber: 1 }));
    expect(stopped.$metadata.httpStatusCode).toBe(202);
    expect(stopped.State).toBe('ROLLED_BACK');
    expect(stopped.EventLog?.[0]).toMatchObject({ EventType: 'ROLLBACK_COMPLETED', TriggeredBy: 'USER' });
    expect((await control.send(new GetEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }))).State).toBe('ROLLED_BACK');
    // Once it rolled back, the environment takes a deployment again.
    expect((await deploy(control, f, 'AppConfig.AllAtOnce', v)).DeploymentNumber).toBe(2);
  });

  it('a version failing the JSON_SCHEMA validator is refused at StartDeployment with details', async () => {
    const { control } = shared;
    const f = await fixture(control);
    const bad = await publish(control, f, { rulesVersion: 'three' });
    const err = await deploy(control, f, 'AppConfig.AllAtOnce', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestException);
    const details = (err as BadRequestException).Details;
    expect((err as BadRequestException).Reason).toBe('InvalidConfiguration');
    expect(details?.InvalidConfiguration?.[0]).toMatchObject({ Type: 'JSON_SCHEMA', Location: '/rulesVersion', Value: '"three"' });
    await expect(control.send(new ValidateConfigurationCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, ConfigurationVersion: String(bad) }))).rejects.toBeInstanceOf(
      BadRequestException,
    );
    const list = await control.send(new ListDeploymentsCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }));
    expect(list.Items).toEqual([]);
  });

  it('an alarm going off mid-deployment rolls it back; clients keep the previous version', async () => {
    const { control, data } = shared;
    const arn = `arn:aws:cloudwatch:us-east-1:111122223333:alarm:${unique('errors')}`;
    const f = await fixture(control, { alarmArn: arn });
    const quick = await strategy(control, 0, 100, 0);
    await deploy(control, f, quick, await publish(control, f, { rulesVersion: 1 }));
    const long = await strategy(control, 600, 10, 600);
    await deploy(control, f, long, await publish(control, f, { rulesVersion: 2 }));
    const rolledBack = await setAlarm(arn, 'ALARM');
    expect(rolledBack).toEqual([{ applicationId: f.appId, environmentId: f.envId, deploymentNumber: 2 }]);
    const d = await getDeployment(control, f, 2);
    expect(d.State).toBe('ROLLED_BACK');
    expect(d.EventLog?.[0]).toMatchObject({ EventType: 'ROLLBACK_COMPLETED', TriggeredBy: 'CLOUDWATCH_ALARM' });
    expect(d.EventLog?.[1]?.Description).toContain(arn);
    expect((await control.send(new GetEnvironmentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId }))).State).toBe('ROLLED_BACK');
    const token = await session(data, f);
    const got = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: token }));
    expect(JSON.parse(text(got.Configuration))).toEqual({ rulesVersion: 1 });
    // While the alarm fires, a new deployment rolls back at once; after OK it goes through.
    const again = await deploy(control, f, quick, 2);
    expect(again.State).toBe('ROLLED_BACK');
    await setAlarm(arn, 'OK');
    expect((await deploy(control, f, quick, 2)).State).toBe('COMPLETE');
  });

  it('StopDeployment on a completed deployment is refused unless it reverts', async () => {
    const { control } = shared;
    const f = await fixture(control, { validate: false });
    const quick = await strategy(control, 0, 100, 0);
    await deploy(control, f, quick, await publish(control, f, { a: 1 }));
    await expect(control.send(new StopDeploymentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, DeploymentNumber: 1 }))).rejects.toBeInstanceOf(BadRequestException);
    const reverted = await control.send(new StopDeploymentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, DeploymentNumber: 1, AllowRevert: true }));
    expect(reverted.State).toBe('REVERTED');
    expect(reverted.EventLog?.[0]?.EventType).toBe('REVERT_COMPLETED');
  });
});

describe('AppConfigData through @aws-sdk/client-appconfigdata', () => {
  it('sessions by id or name; body empty when unchanged; new body after a new deployment; spent tokens refused', async () => {
    const { control, data } = shared;
    const f = await fixture(control);
    const quick = await strategy(control, 0, 100, 0);
    await deploy(control, f, quick, await publish(control, f, { rulesVersion: 1 }, 'first'));
    const token = await session(data, f, true);
    const first = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: token }));
    expect(first).toMatchObject({ ContentType: 'application/json', VersionLabel: 'first', NextPollIntervalInSeconds: 1 });
    expect(JSON.parse(text(first.Configuration))).toEqual({ rulesVersion: 1 });
    await new Promise((r) => setTimeout(r, 1_000));
    const second = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: first.NextPollConfigurationToken }));
    expect(second.Configuration?.length ?? 0).toBe(0); // unchanged
    expect(second.VersionLabel).toBeUndefined();
    expect(second.NextPollConfigurationToken).not.toBe(first.NextPollConfigurationToken);
    const spent = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: first.NextPollConfigurationToken })).catch((e: unknown) => e);
    expect(spent).toBeInstanceOf(DataBadRequestException);
    expect((spent as DataBadRequestException).Details?.InvalidParameters?.ConfigurationToken?.Problem).toBe('Expired');
    await deploy(control, f, quick, await publish(control, f, { rulesVersion: 2 }, 'second'));
    await new Promise((r) => setTimeout(r, 1_000));
    const third = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: second.NextPollConfigurationToken }));
    expect(JSON.parse(text(third.Configuration))).toEqual({ rulesVersion: 2 });
    expect(third.VersionLabel).toBe('second');
  });

  it('refuses polls faster than the interval, malformed tokens, and unknown resources', async () => {
    const { control, data } = shared;
    const f = await fixture(control);
    await deploy(control, f, await strategy(control, 0, 100, 0), await publish(control, f, { rulesVersion: 1 }));
    const s = await data.send(
      new StartConfigurationSessionCommand({ ApplicationIdentifier: f.appId, EnvironmentIdentifier: f.envId, ConfigurationProfileIdentifier: f.profileId, RequiredMinimumPollIntervalInSeconds: 30 }),
    );
    const first = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: s.InitialConfigurationToken }));
    expect(first.NextPollIntervalInSeconds).toBe(30);
    const early = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: first.NextPollConfigurationToken })).catch((e: unknown) => e);
    expect((early as DataBadRequestException).Details?.InvalidParameters?.ConfigurationToken?.Problem).toBe('PollIntervalNotSatisfied');
    const corrupt = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: 'garbage' })).catch((e: unknown) => e);
    expect((corrupt as DataBadRequestException).Details?.InvalidParameters?.ConfigurationToken?.Problem).toBe('Corrupted');
    const missing = await data
      .send(new StartConfigurationSessionCommand({ ApplicationIdentifier: f.appId, EnvironmentIdentifier: 'nope', ConfigurationProfileIdentifier: f.profileId }))
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DataResourceNotFoundException);
    expect((missing as DataResourceNotFoundException).ResourceType).toBe('Environment');
    const g = await fixture(control);
    const undeployed = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: await session(data, g) })).catch((e: unknown) => e);
    expect(undeployed).toBeInstanceOf(DataResourceNotFoundException);
  });
});

describe('private endpoints', () => {
  it('the share of sessions served the new version tracks PercentageComplete', async () => {
    const { local, clients, clock } = await privateEndpoint({ timeScale: 1 });
    try {
      const { control, data } = clients;
      const f = await fixture(control);
      await deploy(control, f, await strategy(control, 0, 100, 0), await publish(control, f, { rulesVersion: 1 }));
      const linear = await strategy(control, 40, 25, 10); // 25% every 10 minutes, then 10 minutes of bake
      await deploy(control, f, linear, await publish(control, f, { rulesVersion: 2 }));
      const tokens: string[] = [];
      for (let i = 0; i < 20; i++) tokens.push(await session(data, f));
      const newByMinute: Record<number, boolean[]> = {};
      for (const minute of [0, 10, 20, 30, 40]) {
        clock.now = T0 + minute * MIN;
        const d = await getDeployment(control, f, 2);
        const served: boolean[] = [];
        for (let i = 0; i < tokens.length; i++) {
          const res = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: tokens[i] }));
          tokens[i] = res.NextPollConfigurationToken ?? '';
          const body = text(res.Configuration);
          // An empty body means "what you had"; carry the previous answer forward.
          served.push(body === '' ? (newByMinute[minute - 10]?.[i] ?? false) : (JSON.parse(body) as { rulesVersion: number }).rulesVersion === 2);
        }
        newByMinute[minute] = served;
        const share = (served.filter(Boolean).length / served.length) * 100;
        expect(d.PercentageComplete).toBe(Math.min(100, (minute / 10) * 25));
        expect(Math.abs(share - (d.PercentageComplete ?? 0))).toBeLessThanOrEqual(5); // within one session of 20
      }
      // A session that got the new version keeps it as the rollout grows.
      for (const [minute, served] of Object.entries(newByMinute)) {
        const later = newByMinute[Number(minute) + 10];
        if (later) served.forEach((isNew, i) => isNew && expect(later[i]).toBe(true));
      }
      expect((await getDeployment(control, f, 2)).State).toBe('BAKING');
      clock.now = T0 + 50 * MIN;
      expect((await getDeployment(control, f, 2)).State).toBe('COMPLETE');
    } finally {
      clients.destroy();
      await local.close();
    }
  });

  it('a deployment stopped mid-rollout serves everyone the previous version again', async () => {
    const { local, clients, clock } = await privateEndpoint();
    try {
      const { control, data } = clients;
      const f = await fixture(control);
      await deploy(control, f, await strategy(control, 0, 100, 0), await publish(control, f, { rulesVersion: 1 }));
      await deploy(control, f, await strategy(control, 20, 50, 0), await publish(control, f, { rulesVersion: 2 }));
      const tokens: string[] = [];
      for (let i = 0; i < 10; i++) tokens.push(await session(data, f));
      clock.now = T0 + 10 * MIN; // 50%
      await control.send(new StopDeploymentCommand({ ApplicationId: f.appId, EnvironmentId: f.envId, DeploymentNumber: 2 }));
      clock.now = T0 + 11 * MIN;
      for (const t of tokens) {
        const res = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: t }));
        expect(JSON.parse(text(res.Configuration))).toEqual({ rulesVersion: 1 });
      }
      const d = await getDeployment(control, f, 2);
      expect(d).toMatchObject({ State: 'ROLLED_BACK', PercentageComplete: 50 });
    } finally {
      clients.destroy();
      await local.close();
    }
  });

  it('a token older than 24 hours is refused as expired', async () => {
    const { local, clients, clock } = await privateEndpoint();
    try {
      const { control, data } = clients;
      const f = await fixture(control, { validate: false });
      await deploy(control, f, 'AppConfig.AllAtOnce', await publish(control, f, { a: 1 }));
      const first = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: await session(data, f) }));
      clock.now = T0 + 23 * 60 * MIN;
      const kept = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: first.NextPollConfigurationToken }));
      clock.now += 24 * 60 * MIN + 1;
      const expired = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: kept.NextPollConfigurationToken })).catch((e: unknown) => e);
      expect((expired as DataBadRequestException).Details?.InvalidParameters?.ConfigurationToken?.Problem).toBe('Expired');
    } finally {
      clients.destroy();
      await local.close();
    }
  });

  it('--state-dir: a restarted endpoint keeps applications, versions and deployments, and honours old tokens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prio-appconfig-local-'));
    try {
      const first = await privateEndpoint({ stateDir: dir });
      const { control, data } = first.clients;
      const f = await fixture(control);
      await deploy(control, f, 'AppConfig.AllAtOnce', await publish(control, f, { rulesVersion: 7 }, 'seven'));
      const token = await session(data, f);
      first.clients.destroy();
      await first.local.close();

      const second = await privateEndpoint({ stateDir: dir });
      try {
        const c = second.clients.control;
        expect((await c.send(new GetApplicationCommand({ ApplicationId: f.appId }))).Name).toBe(f.appName);
        const v = await c.send(new GetHostedConfigurationVersionCommand({ ApplicationId: f.appId, ConfigurationProfileId: f.profileId, VersionNumber: 1 }));
        expect(v.VersionLabel).toBe('seven');
        expect((await getDeployment(c, f, 1)).State).toBe('BAKING'); // same clock instant, 10 minutes of bake ahead
        second.clock.now = T0 + 10 * MIN;
        expect((await getDeployment(c, f, 1)).State).toBe('COMPLETE');
        const res = await second.clients.data.send(new GetLatestConfigurationCommand({ ConfigurationToken: token }));
        expect(JSON.parse(text(res.Configuration))).toEqual({ rulesVersion: 7 });
      } finally {
        second.clients.destroy();
        await second.local.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('injected faults reach the SDK: throttling and 5xx are retried by its retry strategy, then succeed', async () => {
    const { local, clients } = await privateEndpoint({ clock: Date.now });
    try {
      const { control, data } = clients;
      const f = await fixture(control);
      await deploy(control, f, await strategy(control, 0, 100, 0), await publish(control, f, { rulesVersion: 1 }));
      const token = await session(data, f);

      await injectFault({ target: 'GetLatestConfiguration', kind: 'throttle', count: 2 }, local.url);
      const res = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: token }));
      expect(res.$metadata.attempts).toBe(3);
      expect(res.$metadata.totalRetryDelay).toBeGreaterThan(0);
      expect(JSON.parse(text(res.Configuration))).toEqual({ rulesVersion: 1 });
      expect(await listFaults(local.url)).toEqual([]); // spent

      await injectFault({ target: 'control', kind: 'error', status: 503, count: 1 }, local.url);
      const app = await control.send(new GetApplicationCommand({ ApplicationId: f.appId }));
      expect(app.$metadata.attempts).toBe(2);

      // Past the SDK's attempts, the typed exception surfaces (two attempts keep the backoff short).
      const twice = appConfigClients(local.url, { maxAttempts: 2 });
      try {
        await injectFault({ target: 'StartConfigurationSession', kind: 'throttle' }, local.url);
        const refused = await session(twice.data, f).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(ThrottlingException);
        expect((refused as ThrottlingException).$metadata.attempts).toBe(2);
        await clearFaults(local.url);
        await injectFault({ target: 'GetApplication', kind: 'throttle' }, local.url);
        const throttled = await twice.control.send(new GetApplicationCommand({ ApplicationId: f.appId })).catch((e: unknown) => e);
        // AppConfig's control-plane model declares no ThrottlingException: the SDK names the generic one.
        expect(throttled).toBeInstanceOf(AppConfigServiceException);
        expect((throttled as Error).name).toBe('ThrottlingException');
        await clearFaults(local.url);
      } finally {
        twice.destroy();
      }
      const once = appConfigClients(local.url, { maxAttempts: 1 });
      try {
        await injectFault({ target: '*', kind: 'error', count: 1 }, local.url);
        await expect(once.control.send(new ListApplicationsCommand({}))).rejects.toBeInstanceOf(InternalServerException);
      } finally {
        once.destroy();
      }
      // A corrupt body arrives as bytes that are not the configuration.
      const fresh = await session(data, f);
      await injectFault({ target: 'GetLatestConfiguration', kind: 'corrupt', count: 1 }, local.url);
      const mangled = await data.send(new GetLatestConfigurationCommand({ ConfigurationToken: fresh }));
      expect(() => JSON.parse(text(mangled.Configuration))).toThrow();
      // A corrupt JSON response is a deserialization error in the SDK.
      await injectFault({ target: 'control', kind: 'corrupt', count: 1 }, local.url);
      await expect(control.send(new GetApplicationCommand({ ApplicationId: f.appId }))).rejects.toThrow(/JSON|Unexpected|Bad control/);
      expect(local.admin.faults()).toEqual([]);
    } finally {
      clients.destroy();
      await local.close();
    }
  });
});
