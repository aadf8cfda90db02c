/**
 * The pipeline's operations, one per command: each resolves names, gathers what its decision
 * needs, calls the pure part that decides, and carries the decision out. The CLI only parses
 * options and prints what these return.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import type { Domain } from '../../catalog/index.js';
import { DEFAULT_RULES_DIR, FileReadError, readJsonFile } from '../../config/index.js';
import { diffRuleSets, type StaticDiff } from '../../rules/index.js';
import { fileSource, parseGate, runReplay, type ProgressReporter, type ReplayRunResult } from '../../shadow/index.js';
import { ConfigError } from '../../validation/index.js';
import type { DocumentInput } from '../documents/index.js';
import {
  describeDeployment,
  inProgress,
  listDeployments,
  liveVersions,
  planRollback,
  startDeployment,
  stopDeployment,
  type DeploymentRecord,
  type LiveVersion,
  type ProfileNames,
} from './deployments.js';
import { PipelineError } from './errors.js';
import { applyInit, planInit, readSetup, type DesiredSetup, type InitPlan } from './init.js';
import {
  assemble,
  judgeCandidate,
  shadowPair,
  PROFILE_NAMES,
  PROFILE_SCHEMA_FILES,
  versionLabelOf,
  withCandidate,
  type ConfigurationDocuments,
  type DocumentIssue,
  type ProfileName,
} from './profiles.js';
import { listEnvironments, listProfileNames, resolveApplication, resolveEnvironment, resolveProfile, resolveStrategy, type EnvironmentInfo, type Named } from './resolve.js';
import { inlineSchema } from './schema.js';
import { ALL_AT_ONCE, parseStrategies, strategyNameFor, type StrategySpec } from './strategies.js';
import { fetchVersionDocument, latestVersion, listVersions, publishVersion, type PublishResult } from './versions.js';

export const STRATEGIES_FILE = join(DEFAULT_RULES_DIR, 'deployment-strategies.json');
const SCHEMA_DIR = join(DEFAULT_RULES_DIR, 'schema');

/** The shipped deployment strategies. */
export function shippedStrategies(file: string = STRATEGIES_FILE): readonly StrategySpec[] {
  return parseStrategies(readJsonFile(file), file);
}

/** Each profile's validator content: its schema under rules/schema/, made self-contained. */
export function profileSchemas(schemaDir: string = SCHEMA_DIR): Record<ProfileName, string> {
  const load = (file: string) => readJsonFile(join(schemaDir, file)) as object;
  return Object.fromEntries(PROFILE_NAMES.map((p) => [p, inlineSchema(load(PROFILE_SCHEMA_FILES[p]), load)])) as Record<ProfileName, string>;
}

// ---------------------------------------------------------------------------------------------
// init

export interface InitRequest {
  readonly app: string;
  readonly envs: readonly string[];
  /** Alarm ARNs per environment name; environments not named keep the alarms they have. */
  readonly alarms: ReadonlyMap<string, readonly string[]>;
  readonly alarmRoleArn?: string;
}

export interface InitResult {
  readonly plan: InitPlan;
  readonly applied: boolean;
}

export async function init(client: AppConfigClient, request: InitRequest): Promise<InitResult> {
  for (const env of request.alarms.keys()) {
    if (!request.envs.includes(env)) throw new PipelineError('usage', `--alarm names environment "${env}", which --envs does not list`);
  }
  const schemas = profileSchemas();
  const desired: DesiredSetup = {
    application: request.app,
    environments: request.envs.map((name) => ({ name, ...(request.alarms.has(name) ? { alarms: request.alarms.get(name) ?? [] } : {}) })),
    ...(request.alarmRoleArn === undefined ? {} : { alarmRoleArn: request.alarmRoleArn }),
    profiles: PROFILE_NAMES.map((name) => ({ name, schema: schemas[name] })),
    strategies: shippedStrategies(),
  };
  const existing = await readSetup(client, request.app);
  const plan = planInit(desired, existing);
  if (plan.problems.length > 0) return { plan, applied: false };
  await applyInit(client, desired, plan, existing);
  return { plan, applied: plan.actions.length > 0 };
}

// ---------------------------------------------------------------------------------------------
// Documents: the shipped ones, local files, and what is deployed.

export function documentFrom(file: string): DocumentInput {
  return { file, doc: readJsonFile(file) };
}

/** The documents the package ships: legacy and tier rule sets, the default flags, no overrides. */
export function shippedDocuments(): ConfigurationDocuments {
  return {
    legacy: documentFrom(join(DEFAULT_RULES_DIR, 'legacy.json')),
    rules: documentFrom(join(DEFAULT_RULES_DIR, 'service_tier.json')),
    overrides: null,
    flags: documentFrom(join(DEFAULT_RULES_DIR, 'flags.json')),
  };
}

export interface Target {
  readonly app: Named;
  readonly env: EnvironmentInfo;
}

export async function resolveTarget(client: AppConfigClient, app: string, env: string): Promise<Target> {
  const application = await resolveApplication(client, app);
  return { app: application, env: await resolveEnvironment(client, application, env) };
}

async function profileNames(client: AppConfigClient, app: Named): Promise<{ list: Named[]; byId: ProfileNames }> {
  const list = await listProfileNames(client, app.id);
  return { list, byId: new Map(list.map((p) => [p.id, p.name])) };
}

/**
 * The documents live in an environment, profile by profile; a profile never deployed there
 * keeps the document `fallback` gives it.
 */
export async function deployedDocuments(client: AppConfigClient, target: Target, fallback: ConfigurationDocuments): Promise<{ documents: ConfigurationDocuments; versions: Partial<Record<ProfileName, string>> }> {
  const { list, byId } = await profileNames(client, target.app);
  const live = liveVersions(await listDeployments(client, target.app, target.env, byId), PROFILE_NAMES);
  let documents = fallback;
  const versions: Partial<Record<ProfileName, string>> = {};
  for (const { profile, live: deployment } of live) {
    const named = list.find((p) => p.name === profile);
    if (deployment === undefined || named === undefined) continue;
    const doc = await fetchVersionDocument(client, target.app, named, Number(deployment.version));
    documents = withCandidate(documents, profile as ProfileName, { file: `appconfig:${target.app.name}/${target.env.name}/${profile}@${deployment.version}`, doc });
    versions[profile as ProfileName] = deployment.version;
  }
  return { documents, versions };
}

// ---------------------------------------------------------------------------------------------
// validate

export interface ShadowRequest {
  readonly log: string;
  readonly gate?: string;
  readonly outDir: string;
  readonly progress: ProgressReporter;
}

export interface ValidateRequest {
  readonly profile: ProfileName;
  readonly file: string;
  /** The other profiles' documents (what the candidate is composed with). */
  readonly documents: ConfigurationDocuments;
  /** What is deployed, the baseline of a shadow replay (default: `documents`). */
  readonly deployed?: ConfigurationDocuments;
  readonly shadow?: ShadowRequest;
  readonly domain: Domain;
}

export type ValidateResult =
  | { readonly valid: false; readonly issues: readonly DocumentIssue[] }
  | { readonly valid: true; readonly content: Uint8Array; readonly shadow?: Extract<ReplayRunResult, { kind: 'complete' }> };

/** Reads the file as the bytes that would be published and judges it. */
export async function validate(request: ValidateRequest): Promise<ValidateResult> {
  let content: Uint8Array;
  try {
    content = readFileSync(request.file);
  } catch (err) {
    throw new FileReadError(request.file, err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(content)) as unknown;
  } catch (err) {
    return { valid: false, issues: [{ file: request.file, pointer: '', message: `not valid JSON: ${(err as Error).message}`, stage: 'schema' }] };
  }
  const judgement = judgeCandidate(request.profile, { file: request.file, doc }, request.documents, request.domain);
  if (!judgement.valid) return judgement;
  if (request.shadow === undefined) return { valid: true, content };
  const baselineDocs = request.deployed ?? request.documents;
  const baseline = assemble(baselineDocs, request.domain, 'deployed');
  if (!baseline.valid) throw new ConfigError(baseline.issues);
  const legacyVersion = versionLabelOf(baselineDocs.legacy.doc) ?? '';
  const gate = request.shadow.gate === undefined ? undefined : parseGate(readJsonFile(request.shadow.gate), request.shadow.gate);
  const pair = shadowPair(request.profile, baseline.snapshot, judgement.snapshot, legacyVersion);
  const result = await runReplay({
    source: fileSource(request.shadow.log),
    domain: request.domain,
    baseline: pair.baseline,
    candidate: pair.candidate,
    outDir: request.shadow.outDir,
    ...(gate === undefined ? {} : { gate }),
    sampleSize: 50,
    sampleSeed: 1,
    progress: request.shadow.progress,
    runInfo: { baseline: 'deployed', candidate: request.file, profile: request.profile },
  });
  if (result.kind === 'interrupted') throw new PipelineError('usage', `shadow replay of ${request.shadow.log} interrupted: ${result.error.message}`);
  return { valid: true, content, shadow: result };
}

// ---------------------------------------------------------------------------------------------
// publish

/** The commit checked out in the working directory, if it is a git checkout (best effort). */
export function currentCommit(cwd: string = process.cwd()): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 }).trim();
    return /^[0-9a-f]{40}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

export interface PublishRequest {
  readonly app: string;
  readonly profile: ProfileName;
  readonly content: Uint8Array;
  readonly commit?: string;
  readonly label?: string;
}

export async function publish(client: AppConfigClient, request: PublishRequest): Promise<PublishResult & { readonly app: string; readonly profile: string }> {
  const app = await resolveApplication(client, request.app);
  const profile = await resolveProfile(client, app, request.profile);
  const result = await publishVersion(client, {
    app,
    profile,
    content: request.content,
    ...(request.commit === undefined ? {} : { commit: request.commit }),
    ...(request.label === undefined ? {} : { label: request.label }),
  });
  return { ...result, app: app.name, profile: profile.name };
}

// ---------------------------------------------------------------------------------------------
// deploy

export interface DeployRequest {
  readonly app: string;
  readonly env: string;
  readonly profile: string;
  readonly strategy: string;
  /** Default: the latest hosted version. */
  readonly version?: number;
  readonly description?: string;
}

export async function deploy(client: AppConfigClient, request: DeployRequest): Promise<DeploymentRecord> {
  const target = await resolveTarget(client, request.app, request.env);
  const profile = await resolveProfile(client, target.app, request.profile);
  const strategy = await resolveStrategy(client, strategyNameFor(request.strategy, shippedStrategies()));
  const versions = await listVersions(client, target.app.id, profile.id);
  const version = request.version ?? latestVersion(versions);
  if (version === undefined) throw new PipelineError('refused', `${target.app.name}/${profile.name} has no hosted version yet; publish one first`);
  if (!versions.some((v) => v.version === version)) throw new PipelineError('not-found', `${target.app.name}/${profile.name} has no version ${version} (latest: ${latestVersion(versions) ?? 'none'})`);
  const { byId } = await profileNames(client, target.app);
  return startDeployment(
    client,
    {
      app: target.app,
      env: target.env,
      profile,
      strategy,
      version: String(version),
      description: request.description ?? `prio appconfig deploy ${profile.name} v${version} with ${strategy.name}`,
    },
    byId,
  );
}

// ---------------------------------------------------------------------------------------------
// watch helpers

export interface WatchTarget extends Target {
  readonly deployment: number;
  readonly names: ProfileNames;
}

/** The deployment to follow: the one named, or the newest in the environment. */
export async function watchTarget(client: AppConfigClient, app: string, env: string, deployment: number | undefined): Promise<WatchTarget> {
  const target = await resolveTarget(client, app, env);
  const { byId } = await profileNames(client, target.app);
  if (deployment !== undefined) return { ...target, deployment, names: byId };
  const newest = (await listDeployments(client, target.app, target.env, byId))[0];
  if (newest === undefined) throw new PipelineError('not-found', `nothing was ever deployed to ${target.app.name}/${target.env.name}`);
  return { ...target, deployment: newest.number, names: byId };
}

// ---------------------------------------------------------------------------------------------
// status, history

export interface EnvironmentStatus {
  readonly env: string;
  readonly state: string | undefined;
  readonly profiles: readonly LiveVersion[];
  readonly running: DeploymentRecord | undefined;
}

export async function environmentStatus(client: AppConfigClient, app: Named, env: EnvironmentInfo, names: ProfileNames): Promise<EnvironmentStatus> {
  const deployments = await listDeployments(client, app, env, names);
  const profiles = [...new Set([...PROFILE_NAMES, ...names.values()])];
  return { env: env.name, state: env.state, profiles: liveVersions(deployments, profiles), running: inProgress(deployments) };
}

export async function status(client: AppConfigClient, appName: string): Promise<{ app: string; environments: EnvironmentStatus[] }> {
  const app = await resolveApplication(client, appName);
  const { byId } = await profileNames(client, app);
  const envs = await listEnvironments(client, app.id);
  return { app: app.name, environments: await Promise.all(envs.map((env) => environmentStatus(client, app, env, byId))) };
}

export async function history(client: AppConfigClient, appName: string, envName: string): Promise<{ app: string; env: string; deployments: DeploymentRecord[] }> {
  const target = await resolveTarget(client, appName, envName);
  const { byId } = await profileNames(client, target.app);
  return { app: target.app.name, env: target.env.name, deployments: await listDeployments(client, target.app, target.env, byId) };
}

// ---------------------------------------------------------------------------------------------
// rollback

export interface RollbackResult {
  readonly action: 'stopped' | 'redeployed';
  readonly deployment: DeploymentRecord;
  /** For a redeploy, what was replaced. */
  readonly from?: DeploymentRecord;
  readonly after: EnvironmentStatus;
}

export async function rollback(client: AppConfigClient, request: { app: string; env: string; profile?: string }): Promise<RollbackResult> {
  const target = await resolveTarget(client, request.app, request.env);
  const { list, byId } = await profileNames(client, target.app);
  const deployments = await listDeployments(client, target.app, target.env, byId);
  const plan = planRollback(deployments, request.profile);
  if (plan.kind === 'refused') throw new PipelineError('refused', `cannot roll back ${target.app.name}/${target.env.name}: ${plan.reason}`);
  if (plan.kind === 'stop') {
    const stopped = await stopDeployment(client, target.app, target.env, plan.deployment.number, byId);
    return { action: 'stopped', deployment: stopped, after: await environmentStatus(client, target.app, target.env, byId) };
  }
  const profile = list.find((p) => p.name === plan.profile);
  if (profile === undefined) throw new PipelineError('not-found', `profile ${plan.profile} no longer exists in ${target.app.name}`);
  const allAtOnce = shippedStrategies().find((s) => s.shortName === ALL_AT_ONCE);
  if (allAtOnce === undefined) throw new PipelineError('usage', `${STRATEGIES_FILE} defines no ${ALL_AT_ONCE} strategy, which rollback uses`);
  const strategy = await resolveStrategy(client, allAtOnce.name);
  const started = await startDeployment(
    client,
    {
      app: target.app,
      env: target.env,
      profile,
      strategy,
      version: plan.toVersion,
      description: `prio appconfig rollback: ${plan.profile} v${plan.from.version} (#${plan.from.number}) back to v${plan.toVersion}`,
    },
    byId,
  );
  return { action: 'redeployed', deployment: started, from: plan.from, after: await environmentStatus(client, target.app, target.env, byId) };
}

export { describeDeployment };

// ---------------------------------------------------------------------------------------------
// diff

export interface DiffRequest {
  readonly app: string;
  readonly profile: 'rules' | 'overrides';
  readonly from: number;
  readonly to: number;
  /** What the other profile is composed with (rules for an overrides diff, overrides for a rules diff). */
  readonly documents: ConfigurationDocuments;
  readonly domain: Domain;
}

export async function diffVersions(client: AppConfigClient, request: DiffRequest): Promise<StaticDiff> {
  const app = await resolveApplication(client, request.app);
  const profile = await resolveProfile(client, app, request.profile);
  const compiled = async (version: number) => {
    const doc = await fetchVersionDocument(client, app, profile, version);
    const docs = withCandidate(request.documents, request.profile, { file: `appconfig:${app.name}/${profile.name}@${version}`, doc });
    const judged = assemble(docs, request.domain, String(version));
    if (!judged.valid) throw new ConfigError(judged.issues);
    return judged.snapshot.tiered;
  };
  return diffRuleSets(await compiled(request.from), await compiled(request.to));
}
