/**
 * The response shapes of the AppConfig control plane, as its service model names their members,
 * built from the stored records (and, for deployments, from the state machine's view).
 */
import type { LocalContext } from './context.js';
import type { DeploymentView } from './deployment.js';
import type { DeploymentRecord, EnvironmentRecord, HostedVersionRecord, ProfileRecord, StrategyRecord } from './model.js';
import { compact, type ApiResponse } from './protocol.js';

export const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function applicationShape(a: { id: string; name: string; description?: string }) {
  return compact({ Id: a.id, Name: a.name, Description: a.description });
}

export function environmentShape(ctx: LocalContext, e: EnvironmentRecord) {
  return compact({
    ApplicationId: e.applicationId,
    Id: e.id,
    Name: e.name,
    Description: e.description,
    State: ctx.environmentState(e),
    Monitors: e.monitors.map((m) => compact({ AlarmArn: m.alarmArn, AlarmRoleArn: m.alarmRoleArn })),
  });
}

export function profileShape(p: ProfileRecord) {
  return compact({
    ApplicationId: p.applicationId,
    Id: p.id,
    Name: p.name,
    Description: p.description,
    LocationUri: p.locationUri,
    Validators: p.validators.map((v) => ({ Type: v.type, Content: v.content })),
    Type: p.type,
  });
}

export function hostedSummary(h: HostedVersionRecord) {
  return compact({
    ApplicationId: h.applicationId,
    ConfigurationProfileId: h.profileId,
    VersionNumber: h.versionNumber,
    Description: h.description,
    ContentType: h.contentType,
    VersionLabel: h.versionLabel,
  });
}

/** A hosted version travels with its metadata in headers and its content as the raw body. */
export function hostedResponse(status: number, h: HostedVersionRecord): ApiResponse {
  return {
    status,
    headers: compact({
      'Application-Id': h.applicationId,
      'Configuration-Profile-Id': h.profileId,
      'Version-Number': String(h.versionNumber),
      Description: h.description,
      'Content-Type': h.contentType,
      VersionLabel: h.versionLabel,
    }) as Record<string, string>,
    body: Buffer.from(h.content, 'base64'),
  };
}

export function strategyShape(s: StrategyRecord) {
  return compact({
    Id: s.id,
    Name: s.name,
    Description: s.description,
    DeploymentDurationInMinutes: s.deploymentDurationInMinutes,
    GrowthType: s.growthType,
    GrowthFactor: s.growthFactor,
    FinalBakeTimeInMinutes: s.finalBakeTimeInMinutes,
    ReplicateTo: s.replicateTo,
  });
}

export function deploymentShape(d: DeploymentRecord, view: DeploymentView) {
  return compact({
    ApplicationId: d.applicationId,
    EnvironmentId: d.environmentId,
    DeploymentStrategyId: d.strategyId,
    ConfigurationProfileId: d.profileId,
    DeploymentNumber: d.deploymentNumber,
    ConfigurationName: d.configurationName,
    ConfigurationLocationUri: d.locationUri,
    ConfigurationVersion: d.configurationVersion,
    Description: d.description,
    DeploymentDurationInMinutes: d.strategy.deploymentDurationInMinutes,
    GrowthType: d.strategy.growthType,
    GrowthFactor: d.strategy.growthFactor,
    FinalBakeTimeInMinutes: d.strategy.finalBakeTimeInMinutes,
    State: view.state,
    // AppConfig lists a deployment's events newest first.
    EventLog: [...view.events].reverse().map((e) => ({
      EventType: e.eventType,
      TriggeredBy: e.triggeredBy,
      Description: e.description,
      ActionInvocations: [],
      OccurredAt: iso(e.occurredAt),
    })),
    PercentageComplete: view.percentageComplete,
    StartedAt: iso(d.startedAt),
    CompletedAt: iso(view.completedAt),
    AppliedExtensions: [],
    VersionLabel: d.versionLabel,
  });
}

export function deploymentSummary(d: DeploymentRecord, view: DeploymentView) {
  return compact({
    DeploymentNumber: d.deploymentNumber,
    ConfigurationProfileId: d.profileId,
    ConfigurationName: d.configurationName,
    ConfigurationVersion: d.configurationVersion,
    DeploymentDurationInMinutes: d.strategy.deploymentDurationInMinutes,
    GrowthType: d.strategy.growthType,
    GrowthFactor: d.strategy.growthFactor,
    FinalBakeTimeInMinutes: d.strategy.finalBakeTimeInMinutes,
    State: view.state,
    PercentageComplete: view.percentageComplete,
    StartedAt: iso(d.startedAt),
    CompletedAt: iso(view.completedAt),
    VersionLabel: d.versionLabel,
  });
}
