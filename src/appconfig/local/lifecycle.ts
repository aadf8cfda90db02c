/**
 * Changing and removing control-plane resources: UpdateApplication, UpdateConfigurationProfile,
 * UpdateDeploymentStrategy and the Delete* operations. A resource that others still depend on is
 * not deleted (ConflictException naming what is left), so a deployment never loses what it
 * deployed; the predefined strategies cannot be changed or deleted.
 */
import type { LocalContext } from './context.js';
import { validatorsOf } from './control-plane.js';
import { PREDEFINED_STRATEGIES, type StrategyRecord } from './model.js';
import { badRequest, conflict, jsonBody, numberField, route, stringField, type ApiRequest, type Route } from './protocol.js';
import { applicationShape, profileShape, strategyShape } from './shapes.js';

const APP = '/applications/{ApplicationId}';
const PROFILE = `${APP}/configurationprofiles/{ConfigurationProfileId}`;

function predefined(id: string): boolean {
  return PREDEFINED_STRATEGIES.some((s) => s.id === id);
}

export function lifecycleRoutes(ctx: LocalContext): Route[] {
  const r = (method: string, template: string, operation: string, handle: Route['handle']) => route(method, template, operation, 'control', handle);
  const appId = (req: ApiRequest) => req.params.ApplicationId ?? '';
  const profileId = (req: ApiRequest) => req.params.ConfigurationProfileId ?? '';

  const deleteStrategy = (req: ApiRequest) => {
    const id = req.params.DeploymentStrategyId ?? '';
    if (predefined(id)) throw badRequest(`${id} is a predefined deployment strategy and cannot be deleted.`);
    ctx.strategy(id);
    ctx.state.strategies = ctx.state.strategies.filter((s) => s.id !== id);
    delete ctx.state.tags[`deploymentstrategy/${id}`];
    ctx.save();
    return { status: 204 };
  };

  return [
    r('PATCH', APP, 'UpdateApplication', (req) => {
      const app = ctx.application(appId(req));
      const input = jsonBody(req);
      const name = stringField(input, 'Name', { min: 1, max: 64 });
      const description = stringField(input, 'Description', { max: 1024 });
      if (name !== undefined) app.name = name;
      if (description !== undefined) app.description = description;
      ctx.save();
      return { status: 200, body: applicationShape(app) };
    }),
    r('PATCH', PROFILE, 'UpdateConfigurationProfile', (req) => {
      const profile = ctx.profile(appId(req), profileId(req));
      const input = jsonBody(req);
      const name = stringField(input, 'Name', { min: 1, max: 128 });
      const description = stringField(input, 'Description', { max: 1024 });
      if (name !== undefined) profile.name = name;
      if (description !== undefined) profile.description = description;
      if (input.Validators !== undefined) profile.validators = validatorsOf(input);
      ctx.save();
      return { status: 200, body: profileShape(profile) };
    }),
    r('PATCH', '/deploymentstrategies/{DeploymentStrategyId}', 'UpdateDeploymentStrategy', (req) => {
      const id = req.params.DeploymentStrategyId ?? '';
      if (predefined(id)) throw badRequest(`${id} is a predefined deployment strategy and cannot be changed.`);
      const current = ctx.strategy(id);
      const input = jsonBody(req);
      const growthType = stringField(input, 'GrowthType');
      if (growthType !== undefined && growthType !== 'LINEAR' && growthType !== 'EXPONENTIAL') {
        throw badRequest(`GrowthType must be LINEAR or EXPONENTIAL, got ${growthType}.`);
      }
      // Deployments copied the strategy at their start: changing it affects only later ones.
      const updated: StrategyRecord = {
        ...current,
        description: stringField(input, 'Description', { max: 1024 }) ?? current.description,
        deploymentDurationInMinutes: numberField(input, 'DeploymentDurationInMinutes', { min: 0, max: 1440 }) ?? current.deploymentDurationInMinutes,
        finalBakeTimeInMinutes: numberField(input, 'FinalBakeTimeInMinutes', { min: 0, max: 1440 }) ?? current.finalBakeTimeInMinutes,
        growthFactor: numberField(input, 'GrowthFactor', { min: 1, max: 100 }) ?? current.growthFactor,
        growthType: growthType ?? current.growthType,
      };
      ctx.state.strategies = ctx.state.strategies.map((s) => (s.id === id ? updated : s));
      ctx.save();
      return { status: 200, body: strategyShape(updated) };
    }),

    r('DELETE', APP, 'DeleteApplication', (req) => {
      const app = ctx.application(appId(req));
      const envs = ctx.state.environments.filter((e) => e.applicationId === app.id).length;
      const profiles = ctx.state.profiles.filter((p) => p.applicationId === app.id).length;
      if (envs > 0 || profiles > 0) {
        throw conflict(`Application ${app.id} still has ${envs} environment(s) and ${profiles} configuration profile(s); delete them first.`);
      }
      ctx.state.applications = ctx.state.applications.filter((a) => a.id !== app.id);
      delete ctx.state.tags[`application/${app.id}`];
      ctx.save();
      return { status: 204 };
    }),
    r('DELETE', `${APP}/environments/{EnvironmentId}`, 'DeleteEnvironment', (req) => {
      const env = ctx.environment(appId(req), req.params.EnvironmentId ?? '');
      const running = ctx.inProgress(env.applicationId, env.id);
      if (running !== undefined) throw conflict(`Deployment ${running.deploymentNumber} is in progress in environment ${env.id}; stop it or wait for it to end.`);
      ctx.state.environments = ctx.state.environments.filter((e) => e !== env);
      ctx.state.deployments = ctx.state.deployments.filter((d) => !(d.applicationId === env.applicationId && d.environmentId === env.id));
      delete ctx.state.tags[`application/${env.applicationId}/environment/${env.id}`];
      ctx.save();
      return { status: 204 };
    }),
    r('DELETE', PROFILE, 'DeleteConfigurationProfile', (req) => {
      const profile = ctx.profile(appId(req), profileId(req));
      const versions = ctx.state.hostedVersions.filter((h) => h.applicationId === profile.applicationId && h.profileId === profile.id).length;
      if (versions > 0) throw conflict(`Configuration profile ${profile.id} still has ${versions} hosted configuration version(s); delete them first.`);
      ctx.state.profiles = ctx.state.profiles.filter((p) => p !== profile);
      delete ctx.state.tags[`application/${profile.applicationId}/configurationprofile/${profile.id}`];
      ctx.save();
      return { status: 204 };
    }),
    r('DELETE', `${PROFILE}/hostedconfigurationversions/{VersionNumber}`, 'DeleteHostedConfigurationVersion', (req) => {
      const profile = ctx.profile(appId(req), profileId(req));
      const version = ctx.hostedVersion(profile.applicationId, profile.id, Number(req.params.VersionNumber));
      const deploying = ctx.state.deployments.find(
        (d) => d.profileId === profile.id && d.configurationVersion === String(version.versionNumber) && ctx.view(d).inProgress,
      );
      if (deploying !== undefined) {
        throw conflict(`Version ${version.versionNumber} is being deployed (deployment ${deploying.deploymentNumber} in environment ${deploying.environmentId}).`);
      }
      ctx.state.hostedVersions = ctx.state.hostedVersions.filter((h) => h !== version);
      ctx.save();
      return { status: 204 };
    }),
    // The service model spells this path "deployementstrategies"; the SDK sends it so.
    r('DELETE', '/deployementstrategies/{DeploymentStrategyId}', 'DeleteDeploymentStrategy', deleteStrategy),
    r('DELETE', '/deploymentstrategies/{DeploymentStrategyId}', 'DeleteDeploymentStrategy', deleteStrategy),
  ];
}
