/**
 * The AppConfig control plane: applications, environments, configuration profiles, hosted
 * configuration versions, deployment strategies and deployments, as `@aws-sdk/client-appconfig`
 * sends and reads them (paths, status codes and shapes from its service model).
 */
import { newId, type LocalContext } from './context.js';
import type { DeploymentRecord, EnvironmentRecord, HostedVersionRecord, MonitorRecord, ProfileRecord, StrategyRecord, ValidatorRecord } from './model.js';
import {
  ApiError,
  badRequest,
  compact,
  conflict,
  header,
  jsonBody,
  numberField,
  paginate,
  route,
  stringField,
  type ApiRequest,
  type ApiResponse,
  type Route,
} from './protocol.js';
import { compileValidator, validateContent } from './validators.js';
import { tagOnCreate, tagsOf } from './tags.js';
import { applicationShape, deploymentShape, deploymentSummary, environmentShape, hostedResponse, hostedSummary, profileShape, strategyShape } from './shapes.js';


const json = (status: number, body: object): ApiResponse => ({ status, body });

function quota(what: string, limit: number): ApiError {
  return new ApiError('ServiceQuotaExceededException', `The number of ${what} exceeds the quota of ${limit}.`);
}

export function monitorsOf(input: Record<string, unknown>): MonitorRecord[] | undefined {
  const raw = input.Monitors;
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw badRequest('Monitors must be a list.');
  if (raw.length > 5) throw badRequest('Monitors may hold at most 5 monitors.');
  return raw.map((m: unknown) => {
    if (m === null || typeof m !== 'object') throw badRequest('Each monitor must be an object with AlarmArn.');
    const o = m as Record<string, unknown>;
    const alarmArn = stringField(o, 'AlarmArn', { required: true, max: 2048 }) ?? '';
    const alarmRoleArn = stringField(o, 'AlarmRoleArn', { max: 2048 });
    return alarmRoleArn === undefined ? { alarmArn } : { alarmArn, alarmRoleArn };
  });
}

export function validatorsOf(input: Record<string, unknown>): ValidatorRecord[] {
  const raw = input.Validators;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badRequest('Validators must be a list.');
  if (raw.length > 2) throw badRequest('Validators may hold at most 2 validators.');
  return raw.map((v: unknown) => {
    if (v === null || typeof v !== 'object') throw badRequest('Each validator must be an object with Type and Content.');
    const o = v as Record<string, unknown>;
    const type = stringField(o, 'Type', { required: true });
    const content = stringField(o, 'Content', { required: true, max: 32768 }) ?? '';
    if (type === 'LAMBDA') throw badRequest('LAMBDA validators are not supported by the local AppConfig endpoint; use JSON_SCHEMA.');
    if (type !== 'JSON_SCHEMA') throw badRequest(`Validator Type must be JSON_SCHEMA or LAMBDA, got ${String(type)}.`);
    compileValidator(content);
    return { type, content };
  });
}

function deploymentNumberOf(req: ApiRequest): number {
  const n = Number(req.params.DeploymentNumber);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`DeploymentNumber must be a positive integer, got ${req.params.DeploymentNumber}.`);
  return n;
}

function findDeployment(ctx: LocalContext, req: ApiRequest): DeploymentRecord {
  const appId = req.params.ApplicationId ?? '';
  const envId = req.params.EnvironmentId ?? '';
  ctx.environment(appId, envId);
  const n = deploymentNumberOf(req);
  const d = ctx.deploymentsOf(appId, envId).find((x) => x.deploymentNumber === n);
  if (d === undefined) throw new ApiError('ResourceNotFoundException', `Deployment ${n} not found in environment ${envId}.`, { ResourceName: String(n) });
  return d;
}

export function controlPlaneRoutes(ctx: LocalContext): Route[] {
  const r = (method: string, template: string, operation: string, handle: Route['handle']) => route(method, template, operation, 'control', handle);
  const APP = '/applications/{ApplicationId}';
  const ENV = `${APP}/environments/{EnvironmentId}`;
  const PROFILE = `${APP}/configurationprofiles/{ConfigurationProfileId}`;

  return [
    // Applications
    r('POST', '/applications', 'CreateApplication', (req) => {
      const input = jsonBody(req);
      const tags = tagsOf(input);
      const name = stringField(input, 'Name', { required: true, max: 64 }) ?? '';
      const description = stringField(input, 'Description', { max: 1024 });
      if (ctx.state.applications.length >= ctx.quotas.applications) throw quota('applications', ctx.quotas.applications);
      const app = compact({ id: newId(), name, description });
      ctx.state.applications.push(app);
      tagOnCreate(ctx, `application/${app.id}`, tags);
      ctx.save();
      return json(201, applicationShape(app));
    }),
    r('GET', '/applications', 'ListApplications', (req) => json(200, paginate(ctx.state.applications.map(applicationShape), req.query))),
    r('GET', APP, 'GetApplication', (req) => json(200, applicationShape(ctx.application(req.params.ApplicationId ?? '')))),

    // Environments
    r('POST', `${APP}/environments`, 'CreateEnvironment', (req) => {
      const appId = req.params.ApplicationId ?? '';
      ctx.application(appId);
      const input = jsonBody(req);
      const tags = tagsOf(input);
      const name = stringField(input, 'Name', { required: true, max: 64 }) ?? '';
      const description = stringField(input, 'Description', { max: 1024 });
      const monitors = monitorsOf(input) ?? [];
      if (ctx.state.environments.filter((e) => e.applicationId === appId).length >= ctx.quotas.environmentsPerApplication) {
        throw quota('environments in this application', ctx.quotas.environmentsPerApplication);
      }
      const env: EnvironmentRecord = compact({ applicationId: appId, id: newId(), name, description, monitors });
      ctx.state.environments.push(env);
      tagOnCreate(ctx, `application/${appId}/environment/${env.id}`, tags);
      ctx.save();
      return json(201, environmentShape(ctx, env));
    }),
    r('GET', `${APP}/environments`, 'ListEnvironments', (req) => {
      const appId = req.params.ApplicationId ?? '';
      ctx.application(appId);
      const items = ctx.state.environments.filter((e) => e.applicationId === appId).map((e) => environmentShape(ctx, e));
      return json(200, paginate(items, req.query));
    }),
    r('GET', ENV, 'GetEnvironment', (req) => json(200, environmentShape(ctx, ctx.environment(req.params.ApplicationId ?? '', req.params.EnvironmentId ?? '')))),
    r('PATCH', ENV, 'UpdateEnvironment', (req) => {
      const env = ctx.environment(req.params.ApplicationId ?? '', req.params.EnvironmentId ?? '');
      const input = jsonBody(req);
      const name = stringField(input, 'Name', { max: 64, min: 1 });
      const description = stringField(input, 'Description', { max: 1024 });
      const monitors = monitorsOf(input);
      if (name !== undefined) env.name = name;
      if (description !== undefined) env.description = description;
      if (monitors !== undefined) env.monitors = monitors;
      ctx.save();
      // A newly monitored alarm that is already firing rolls back the deployment in progress.
      ctx.enforceAlarms();
      return json(200, environmentShape(ctx, env));
    }),

    // Configuration profiles
    r('POST', `${APP}/configurationprofiles`, 'CreateConfigurationProfile', (req) => {
      const appId = req.params.ApplicationId ?? '';
      ctx.application(appId);
      const input = jsonBody(req);
      const tags = tagsOf(input);
      const name = stringField(input, 'Name', { required: true, max: 128 }) ?? '';
      const locationUri = stringField(input, 'LocationUri', { required: true, max: 2048 }) ?? '';
      if (locationUri !== 'hosted') {
        throw badRequest(`LocationUri ${locationUri} is not supported by the local AppConfig endpoint: only "hosted" configurations are.`);
      }
      const type = stringField(input, 'Type') ?? 'AWS.Freeform';
      if (type !== 'AWS.Freeform' && type !== 'AWS.AppConfig.FeatureFlags') {
        throw badRequest(`Type must be AWS.Freeform or AWS.AppConfig.FeatureFlags, got ${type}.`);
      }
      const validators = validatorsOf(input);
      if (ctx.state.profiles.filter((p) => p.applicationId === appId).length >= ctx.quotas.profilesPerApplication) {
        throw quota('configuration profiles in this application', ctx.quotas.profilesPerApplication);
      }
      const profile: ProfileRecord = compact({
        applicationId: appId,
        id: newId(),
        name,
        description: stringField(input, 'Description', { max: 1024 }),
        locationUri,
        type,
        validators,
      });
      ctx.state.profiles.push(profile);
      tagOnCreate(ctx, `application/${appId}/configurationprofile/${profile.id}`, tags);
      ctx.save();
      return json(201, profileShape(profile));
    }),
    r('GET', `${APP}/configurationprofiles`, 'ListConfigurationProfiles', (req) => {
      const appId = req.params.ApplicationId ?? '';
      ctx.application(appId);
      const type = req.query.get('type');
      const items = ctx.state.profiles
        .filter((p) => p.applicationId === appId && (type === null || p.type === type))
        .map((p) =>
          compact({ ApplicationId: p.applicationId, Id: p.id, Name: p.name, LocationUri: p.locationUri, ValidatorTypes: p.validators.map((v) => v.type), Type: p.type }),
        );
      return json(200, paginate(items, req.query));
    }),
    r('GET', PROFILE, 'GetConfigurationProfile', (req) => json(200, profileShape(ctx.profile(req.params.ApplicationId ?? '', req.params.ConfigurationProfileId ?? '')))),
    r('POST', `${PROFILE}/validators`, 'ValidateConfiguration', (req) => {
      const profile = ctx.profile(req.params.ApplicationId ?? '', req.params.ConfigurationProfileId ?? '');
      const versionRaw = req.query.get('configuration_version');
      if (versionRaw === null || versionRaw === '') throw badRequest('ConfigurationVersion is required.');
      const version = ctx.hostedVersion(profile.applicationId, profile.id, Number(versionRaw));
      validateContent(profile, version);
      return { status: 204 };
    }),

    // Hosted configuration versions
    r('POST', `${PROFILE}/hostedconfigurationversions`, 'CreateHostedConfigurationVersion', (req) => {
      const profile = ctx.profile(req.params.ApplicationId ?? '', req.params.ConfigurationProfileId ?? '');
      const contentType = header(req, 'content-type');
      if (contentType === undefined || contentType === '') throw badRequest('ContentType is required.');
      if (req.body.length > ctx.quotas.hostedConfigurationBytes) {
        throw new ApiError('PayloadTooLargeException', `The configuration is ${req.body.length} bytes; the limit is ${ctx.quotas.hostedConfigurationBytes}.`, {
          Measure: 'BYTES',
          Limit: ctx.quotas.hostedConfigurationBytes,
          Size: req.body.length,
        });
      }
      const versions = ctx.state.hostedVersions.filter((h) => h.applicationId === profile.applicationId && h.profileId === profile.id);
      const latest = versions.reduce((max, h) => Math.max(max, h.versionNumber), 0);
      const expected = header(req, 'latest-version-number');
      if (expected !== undefined && Number(expected) !== latest) {
        throw conflict(`Latest-Version-Number ${expected} does not match the latest version ${latest} of configuration profile ${profile.id}.`);
      }
      const versionLabel = header(req, 'versionlabel');
      if (versionLabel !== undefined && versions.some((h) => h.versionLabel === versionLabel)) {
        throw conflict(`VersionLabel ${versionLabel} is already used by another version of configuration profile ${profile.id}.`);
      }
      const version: HostedVersionRecord = compact({
        applicationId: profile.applicationId,
        profileId: profile.id,
        versionNumber: latest + 1,
        description: header(req, 'description'),
        contentType,
        versionLabel,
        content: req.body.toString('base64'),
      });
      ctx.state.hostedVersions.push(version);
      ctx.save();
      return hostedResponse(201, version);
    }),
    r('GET', `${PROFILE}/hostedconfigurationversions`, 'ListHostedConfigurationVersions', (req) => {
      const profile = ctx.profile(req.params.ApplicationId ?? '', req.params.ConfigurationProfileId ?? '');
      const label = req.query.get('version_label');
      // A trailing * matches a prefix, as AppConfig's VersionLabel filter does.
      const matches = (l: string | undefined) =>
        label === null || (label.endsWith('*') ? (l ?? '').startsWith(label.slice(0, -1)) : l === label);
      const items = ctx.state.hostedVersions
        .filter((h) => h.applicationId === profile.applicationId && h.profileId === profile.id && matches(h.versionLabel))
        .sort((a, b) => b.versionNumber - a.versionNumber)
        .map(hostedSummary);
      return json(200, paginate(items, req.query));
    }),
    r('GET', `${PROFILE}/hostedconfigurationversions/{VersionNumber}`, 'GetHostedConfigurationVersion', (req) => {
      const profile = ctx.profile(req.params.ApplicationId ?? '', req.params.ConfigurationProfileId ?? '');
      return hostedResponse(200, ctx.hostedVersion(profile.applicationId, profile.id, Number(req.params.VersionNumber)));
    }),

    // Deployment strategies
    r('POST', '/deploymentstrategies', 'CreateDeploymentStrategy', (req) => {
      const input = jsonBody(req);
      const tags = tagsOf(input);
      const name = stringField(input, 'Name', { required: true, max: 64 }) ?? '';
      const growthType = (stringField(input, 'GrowthType') ?? 'LINEAR') as StrategyRecord['growthType'];
      if (growthType !== 'LINEAR' && growthType !== 'EXPONENTIAL') throw badRequest(`GrowthType must be LINEAR or EXPONENTIAL, got ${growthType}.`);
      const replicateTo = (stringField(input, 'ReplicateTo') ?? 'NONE') as StrategyRecord['replicateTo'];
      if (replicateTo !== 'NONE' && replicateTo !== 'SSM_DOCUMENT') throw badRequest(`ReplicateTo must be NONE or SSM_DOCUMENT, got ${replicateTo}.`);
      if (ctx.state.strategies.length >= ctx.quotas.customStrategies) throw quota('deployment strategies', ctx.quotas.customStrategies);
      const strategy: StrategyRecord = compact({
        id: newId(),
        name,
        description: stringField(input, 'Description', { max: 1024 }),
        deploymentDurationInMinutes: numberField(input, 'DeploymentDurationInMinutes', { required: true, min: 0, max: 1440 }) ?? 0,
        growthType,
        growthFactor: numberField(input, 'GrowthFactor', { required: true, min: 1, max: 100 }) ?? 100,
        finalBakeTimeInMinutes: numberField(input, 'FinalBakeTimeInMinutes', { min: 0, max: 1440 }) ?? 0,
        replicateTo,
      });
      ctx.state.strategies.push(strategy);
      tagOnCreate(ctx, `deploymentstrategy/${strategy.id}`, tags);
      ctx.save();
      return json(201, strategyShape(strategy));
    }),
    r('GET', '/deploymentstrategies', 'ListDeploymentStrategies', (req) => json(200, paginate(ctx.strategies().map(strategyShape), req.query))),
    r('GET', '/deploymentstrategies/{DeploymentStrategyId}', 'GetDeploymentStrategy', (req) =>
      json(200, strategyShape(ctx.strategy(req.params.DeploymentStrategyId ?? ''))),
    ),

    // Deployments
    r('POST', `${ENV}/deployments`, 'StartDeployment', (req) => startDeployment(ctx, req)),
    r('GET', `${ENV}/deployments`, 'ListDeployments', (req) => {
      const appId = req.params.ApplicationId ?? '';
      const envId = req.params.EnvironmentId ?? '';
      ctx.environment(appId, envId);
      const now = ctx.now();
      const items = ctx
        .deploymentsOf(appId, envId)
        .slice()
        .reverse()
        .map((d) => deploymentSummary(d, ctx.view(d, now)));
      return json(200, paginate(items, req.query));
    }),
    r('GET', `${ENV}/deployments/{DeploymentNumber}`, 'GetDeployment', (req) => {
      const d = findDeployment(ctx, req);
      return json(200, deploymentShape(d, ctx.view(d)));
    }),
    r('DELETE', `${ENV}/deployments/{DeploymentNumber}`, 'StopDeployment', (req) => {
      const d = findDeployment(ctx, req);
      const now = ctx.now();
      const view = ctx.view(d, now);
      const allowRevert = header(req, 'allow-revert') === 'true';
      if (view.inProgress) {
        d.stop = { at: now, by: 'USER', description: 'Deployment stopped by user; rolling back' };
      } else if (view.state === 'COMPLETE' && allowRevert) {
        const latest = ctx.deploymentsOf(d.applicationId, d.environmentId).at(-1);
        if (latest !== d) throw badRequest(`Only the most recent deployment of environment ${d.environmentId} can be reverted; deployment ${d.deploymentNumber} is not.`);
        d.stop = { at: now, by: 'USER', description: 'Deployment reverted by user', revert: true };
      } else {
        throw badRequest(
          `Deployment ${d.deploymentNumber} is ${view.state} and cannot be stopped${view.state === 'COMPLETE' ? ' (set AllowRevert to revert a completed deployment)' : ''}.`,
        );
      }
      ctx.save();
      return json(202, deploymentShape(d, ctx.view(d, now)));
    }),
  ];
}

function startDeployment(ctx: LocalContext, req: ApiRequest): ApiResponse {
  const appId = req.params.ApplicationId ?? '';
  const envId = req.params.EnvironmentId ?? '';
  const env = ctx.environment(appId, envId);
  const input = jsonBody(req);
  const strategyId = stringField(input, 'DeploymentStrategyId', { required: true }) ?? '';
  const profileId = stringField(input, 'ConfigurationProfileId', { required: true }) ?? '';
  const configurationVersion = stringField(input, 'ConfigurationVersion', { required: true, max: 1024 }) ?? '';
  const description = stringField(input, 'Description', { max: 1024 });
  const expectedLatest = numberField(input, 'LatestDeploymentNumber', { min: 0, max: Number.MAX_SAFE_INTEGER });

  const strategy = ctx.strategy(strategyId);
  const profile = ctx.profile(appId, profileId);
  const versionNumber = Number(configurationVersion);
  if (!Number.isInteger(versionNumber) || versionNumber < 1) {
    throw badRequest(`ConfigurationVersion of a hosted configuration must be a version number, got ${configurationVersion}.`);
  }
  const version = ctx.hostedVersion(appId, profile.id, versionNumber);

  const now = ctx.now();
  const deployments = ctx.deploymentsOf(appId, envId);
  const latestNumber = deployments.at(-1)?.deploymentNumber ?? 0;
  if (expectedLatest !== undefined && expectedLatest !== latestNumber) {
    throw conflict(`LatestDeploymentNumber ${expectedLatest} does not match the latest deployment ${latestNumber} of environment ${envId}.`);
  }
  const running = ctx.inProgress(appId, envId, now);
  if (running !== undefined) {
    throw conflict(
      `Deployment ${running.deploymentNumber} is already in progress in environment ${envId} (${ctx.view(running, now).state}); only one deployment at a time is allowed per environment.`,
    );
  }
  // Validators run before anything is deployed; a failing one refuses the deployment.
  validateContent(profile, version);

  const deployment: DeploymentRecord = compact({
    applicationId: appId,
    environmentId: envId,
    deploymentNumber: latestNumber + 1,
    strategyId: strategy.id,
    strategy: {
      deploymentDurationInMinutes: strategy.deploymentDurationInMinutes,
      growthType: strategy.growthType,
      growthFactor: strategy.growthFactor,
      finalBakeTimeInMinutes: strategy.finalBakeTimeInMinutes,
    },
    profileId: profile.id,
    configurationName: profile.name,
    locationUri: profile.locationUri,
    configurationVersion: String(versionNumber),
    versionLabel: version.versionLabel,
    description,
    startedAt: now,
    timeScale: ctx.timeScale,
  });
  ctx.state.deployments.push(deployment);
  const firing = ctx.firingAlarm(env);
  if (firing !== undefined) deployment.stop = { at: now, by: 'CLOUDWATCH_ALARM', description: `Rollback initiated by alarm ${firing}` };
  ctx.save();
  return json(201, deploymentShape(deployment, ctx.view(deployment, now)));
}
