/**
 * The stages' AppConfig environments as the runner sees and moves them, over the deploy
 * pipeline's library and the real SDK client: what flags each environment has live and what it
 * is deploying, publishing a flags document (once: identical bytes find their version), finding
 * a deployment a crashed runner started (by the marker in its description), starting, following
 * and stopping deployments.
 */
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import {
  fetchVersionDocument,
  getDeployment,
  inProgress,
  listDeployments,
  publishVersion,
  resolveApplication,
  resolveEnvironment,
  resolveProfile,
  resolveStrategy,
  shippedStrategies,
  startDeployment,
  stopDeployment,
  strategyNameFor,
  type EnvironmentInfo,
  type Named,
  parseFlagsDocument,
} from '../appconfig/index.js';
import type { Flags } from '../migration/index.js';
import type { StageObservation } from './planner.js';
import type { RolloutSettings } from './settings.js';

/** The flags document the flags profile holds. */
export function flagsDocument(flags: Flags): Uint8Array {
  const doc = { schemaVersion: 1, priorityScheme: flags.priorityScheme, tokenReadMode: flags.tokenReadMode, tokenWriteMode: flags.tokenWriteMode, serviceTierMode: flags.serviceTierMode, rulesVersion: flags.rulesVersion };
  return new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
}

export class StageEnvironments {
  private app: Named | undefined;
  private flagsProfile: Named | undefined;
  private readonly envs = new Map<string, EnvironmentInfo>();
  private readonly strategies = new Map<string, Named>();
  /** Flags documents by hosted version number: versions never change. */
  private readonly flagsByVersion = new Map<string, Flags>();

  constructor(
    private readonly client: AppConfigClient,
    private readonly settings: RolloutSettings,
  ) {}

  private async application(): Promise<Named> {
    this.app ??= await resolveApplication(this.client, this.settings.application);
    return this.app;
  }

  private async profile(): Promise<Named> {
    this.flagsProfile ??= await resolveProfile(this.client, await this.application(), this.settings.profiles.flags);
    return this.flagsProfile;
  }

  async environment(stage: string): Promise<EnvironmentInfo> {
    const settings = this.settings.stages[stage];
    if (settings === undefined) throw new Error(`no settings for stage ${stage}`);
    let env = this.envs.get(stage);
    if (env === undefined) {
      env = await resolveEnvironment(this.client, await this.application(), settings.environment);
      this.envs.set(stage, env);
    }
    return env;
  }

  private async strategy(name: string): Promise<Named> {
    let found = this.strategies.get(name);
    if (found === undefined) {
      found = await resolveStrategy(this.client, strategyNameFor(name, shippedStrategies()));
      this.strategies.set(name, found);
    }
    return found;
  }

  private async flagsOf(version: string): Promise<Flags | undefined> {
    const cached = this.flagsByVersion.get(version);
    if (cached !== undefined) return cached;
    const app = await this.application();
    const profile = await this.profile();
    try {
      const flags = parseFlagsDocument(await fetchVersionDocument(this.client, app, profile, Number(version)), `appconfig:${app.name}/${profile.name}@${version}`);
      this.flagsByVersion.set(version, flags);
      return flags;
    } catch {
      return undefined; // a document that is not a flags document runs nothing the migration knows
    }
  }

  /** What a stage's environment has live and is deploying. */
  async observe(stage: string): Promise<StageObservation> {
    const app = await this.application();
    const env = await this.environment(stage);
    const profile = await this.profile();
    const deployments = (await listDeployments(this.client, app, env, new Map([[profile.id, profile.name]]))).filter((d) => d.profile === profile.name);
    const live = deployments.find((d) => d.state === 'COMPLETE');
    const running = inProgress(deployments);
    return {
      deployedFlags: live === undefined ? undefined : await this.flagsOf(live.version),
      running: running === undefined ? undefined : { number: running.number, state: running.state },
    };
  }

  /** Publishes the flags document (or finds the version holding it). */
  async publish(flags: Flags): Promise<string> {
    const result = await publishVersion(this.client, { app: await this.application(), profile: await this.profile(), content: flagsDocument(flags) });
    this.flagsByVersion.set(String(result.version), flags);
    return String(result.version);
  }

  /** A deployment of `version` whose description carries `marker`, started in the stage (a runner that crashed after starting it). */
  async findDeployment(stage: string, version: string, marker: string): Promise<number | undefined> {
    const app = await this.application();
    const env = await this.environment(stage);
    const profile = await this.profile();
    const candidates = (await listDeployments(this.client, app, env, new Map([[profile.id, profile.name]]))).filter((d) => d.profile === profile.name && d.version === version);
    for (const d of candidates) {
      const full = await getDeployment(this.client, app, env, d.number);
      if ((full.Description ?? '').includes(marker)) return d.number;
    }
    return undefined;
  }

  async start(stage: string, version: string, strategyName: string, description: string): Promise<number> {
    const app = await this.application();
    const profile = await this.profile();
    const record = await startDeployment(
      this.client,
      { app, env: await this.environment(stage), profile, strategy: await this.strategy(strategyName), version, description },
      new Map([[profile.id, profile.name]]),
    );
    return record.number;
  }

  async state(stage: string, number: number): Promise<string> {
    const out = await getDeployment(this.client, await this.application(), await this.environment(stage), number);
    return out.State ?? 'UNKNOWN';
  }

  async stop(stage: string, number: number): Promise<void> {
    const profile = await this.profile();
    await stopDeployment(this.client, await this.application(), await this.environment(stage), number, new Map([[profile.id, profile.name]]));
  }
}
