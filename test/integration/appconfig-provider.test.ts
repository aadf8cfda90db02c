/**
 * The provider against `prio appconfig local` through the real AppConfigData SDK client: baked
 * start then switch, refused documents, throttling, 5xx and torn bodies survived, and a fleet of
 * providers following a gradual deployment.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import {
  AppConfigClient,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateDeploymentStrategyCommand,
  CreateEnvironmentCommand,
  CreateHostedConfigurationVersionCommand,
  GetDeploymentCommand,
  StartDeploymentCommand,
} from '@aws-sdk/client-appconfig';
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { startLocalAppConfig } from '../../src/appconfig/local/index.js';
import { createConfigProvider, type ConfigProvider, type ProviderLogger } from '../../src/appconfig/index.js';
import { appConfigClients, appConfigEndpoint, clearFaults, injectFault } from '../support/appconfig.js';
import { freePort } from '../support/net.js';

const serviceTier = readFileSync('rules/service_tier.json', 'utf8');
const overrides = readFileSync('rules/overrides.example.json', 'utf8');
const flagsDoc = JSON.parse(readFileSync('rules/flags.json', 'utf8')) as Record<string, unknown>;
const flags = (patch: Record<string, unknown> = {}) => JSON.stringify({ ...flagsDoc, ...patch });
const request = { serviceTier: 'DEFAULT', classification: 'ON_DEMAND', requestType: 'ON_DEMAND' };
const allTo = (tier: string) => JSON.stringify({ ...(JSON.parse(serviceTier) as object), rules: [{ id: `all-${tier}`, precedence: 1, when: {}, then: { tier, preemptable: false } }] });
const quiet: ProviderLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
/** A logger keeping every line, to assert on what a provider said. */
function recording(): { logger: ProviderLogger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (fields: object, message: string) => void lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}
const dummy = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

/** An application with the three profiles, an environment and an instant strategy, on `control`. */
class Setup {
  readonly app = `prio-${randomUUID().slice(0, 8)}`;
  appId = '';
  envId = '';
  strategyId = '';
  readonly profileIds = new Map<string, string>();
  constructor(readonly control: AppConfigClient) {}

  async create(): Promise<this> {
    this.appId = (await this.control.send(new CreateApplicationCommand({ Name: this.app }))).Id ?? '';
    this.envId = (await this.control.send(new CreateEnvironmentCommand({ ApplicationId: this.appId, Name: 'prod' }))).Id ?? '';
    for (const name of ['rules', 'overrides', 'flags']) {
      const p = await this.control.send(new CreateConfigurationProfileCommand({ ApplicationId: this.appId, Name: name, LocationUri: 'hosted', Type: 'AWS.Freeform' }));
      this.profileIds.set(name, p.Id ?? '');
    }
    this.strategyId = await this.strategy(0, 100);
    return this;
  }

  async strategy(durationMinutes: number, growth: number): Promise<string> {
    const s = await this.control.send(
      new CreateDeploymentStrategyCommand({ Name: `s-${randomUUID().slice(0, 8)}`, DeploymentDurationInMinutes: durationMinutes, GrowthFactor: growth, GrowthType: 'LINEAR', FinalBakeTimeInMinutes: 0, ReplicateTo: 'NONE' }),
    );
    return s.Id ?? '';
  }

  /** Hosts `content` as a new version of `profile` and deploys it; returns the deployment number. */
  async deploy(profile: string, content: string, strategyId = this.strategyId): Promise<number> {
    const ConfigurationProfileId = this.profileIds.get(profile) ?? '';
    const v = await this.control.send(
      new CreateHostedConfigurationVersionCommand({ ApplicationId: this.appId, ConfigurationProfileId, Content: new TextEncoder().encode(content), ContentType: 'application/json' }),
    );
    const d = await this.control.send(
      new StartDeploymentCommand({ ApplicationId: this.appId, EnvironmentId: this.envId, DeploymentStrategyId: strategyId, ConfigurationProfileId, ConfigurationVersion: String(v.VersionNumber) }),
    );
    return d.DeploymentNumber ?? 0;
  }

  async percentage(deploymentNumber: number): Promise<number> {
    const d = await this.control.send(new GetDeploymentCommand({ ApplicationId: this.appId, EnvironmentId: this.envId, DeploymentNumber: deploymentNumber }));
    return d.PercentageComplete ?? -1;
  }

  async deployAll(rules = serviceTier, flagsText = flags()): Promise<void> {
    await this.deploy('rules', rules);
    await this.deploy('overrides', overrides);
    await this.deploy('flags', flagsText);
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await clearFaults();
});

const clients = appConfigClients();
afterAll(() => clients.destroy());

/** A provider polling `endpoint` about every 0.3 s (by default), its SDK client making one attempt per call so faults reach it. */
function provider(app: string, endpoint = appConfigEndpoint(), startTimeoutMs = 5_000, logger: ProviderLogger = quiet, pollIntervalScale = 0.3): ConfigProvider {
  const data = new AppConfigDataClient({ ...dummy, endpoint, maxAttempts: 1 });
  const p = createConfigProvider({
    appConfig: { application: app, environment: 'prod', profiles: { rules: 'rules', overrides: 'overrides', flags: 'flags' }, client: data, minimumPollIntervalSeconds: 1, pollIntervalScale },
    backoff: { initialMs: 50, maxMs: 400 },
    startTimeoutMs,
    logger,
  });
  cleanup.push(async () => {
    await p.close();
    data.destroy();
  });
  return p;
}

describe('provider against prio appconfig local (real AppConfigData client)', () => {
  it('starts on the baked rules while AppConfig is unreachable, then switches once it answers', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const p = provider('prio-late', endpoint, 500);
    await p.start();
    expect(p.status()).toMatchObject({ source: 'baked', version: 'baked' });
    expect(p.status().lastError).toMatch(/^appconfig: appconfig:prio-late\/prod\/(rules|overrides|flags): .*ECONNREFUSED/);

    const local = await startLocalAppConfig({ host: '127.0.0.1', port, timeScale: 600 });
    const control = new AppConfigClient({ ...dummy, endpoint });
    cleanup.push(async () => {
      control.destroy();
      await local.close();
    });
    const s = new Setup(control);
    Object.assign(s, { app: 'prio-late' });
    await s.create();
    await s.deployAll(allTo('P25'), flags({ rulesVersion: 'tiered-7.1' }));
    await vi.waitFor(() => expect(p.status().source).toBe('appconfig'), { timeout: 10_000 });
    expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P25');
    expect(p.status().refused).toBe(0);
  });

  it('refuses a bad document and keeps the last good, then takes the next good one', async () => {
    const s = await new Setup(clients.control).create();
    await s.deployAll();
    const log = recording();
    const p = provider(s.app, undefined, undefined, log.logger);
    await p.start();
    const good = p.current();
    expect(good?.source).toBe('appconfig');
    expect(good?.version).toMatch(/^rules:[0-9a-f]{12} overrides:[0-9a-f]{12} flags:[0-9a-f]{12}$/);

    await s.deploy('rules', allTo('P42'));
    await vi.waitFor(() => expect(p.status().refused).toBe(1), { timeout: 10_000 });
    expect(p.current()).toBe(good);
    expect(p.status().lastError).toMatch(/^appconfig:prio-[0-9a-f]{8}\/prod\/rules#\/rules\/0\/then\/tier: unknown tier "P42"/);

    await s.deploy('rules', allTo('P90'));
    await vi.waitFor(() => expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P90'), { timeout: 10_000 });
    await s.deploy('flags', flags({ rulesVersion: 'tiered-7.1' }));
    await vi.waitFor(() => expect(p.current()?.flags.rulesVersion).toBe('tiered-7.1'), { timeout: 10_000 });
    expect(p.status(), log.lines.filter((l) => l.startsWith('error')).join('\n')).toMatchObject({ source: 'appconfig', refused: 1 });
  });

  it('survives throttling, 5xx and a torn body, keeping the last good and catching up afterwards', async () => {
    const s = await new Setup(clients.control).create();
    await s.deployAll();
    const log = recording();
    const p = provider(s.app, undefined, undefined, log.logger);
    await p.start();
    const good = p.current();
    expect(good?.source).toBe('appconfig');
    const failures = (pattern: RegExp) => log.lines.filter((l) => l.startsWith('warn configuration source failed') && pattern.test(l)).length;

    await injectFault({ target: 'GetLatestConfiguration', kind: 'throttle', count: 6 });
    await vi.waitFor(() => expect(failures(/ThrottlingException \(HTTP 429\)/)).toBe(6), { timeout: 10_000 });
    await injectFault({ target: 'data', kind: 'error', status: 503, count: 6 });
    await vi.waitFor(() => expect(failures(/\(HTTP 503\)/)).toBe(6), { timeout: 10_000 });
    expect(p.current()).toBe(good);

    await s.deploy('flags', flags({ priorityScheme: 'dual', tokenReadMode: 'dual' }));
    await vi.waitFor(() => expect(p.current()?.flags.priorityScheme).toBe('dual'), { timeout: 10_000 });
    expect(p.status()).toMatchObject({ source: 'appconfig', refused: 0 });

    // A torn transfer: refused, and the session starts afresh to fetch the whole document again.
    await injectFault({ target: 'GetLatestConfiguration', kind: 'corrupt', count: 1 });
    await s.deploy('flags', flags({ priorityScheme: 'dual', tokenReadMode: 'dual', serviceTierMode: 'observed' }));
    await vi.waitFor(() => expect(p.current()?.flags.serviceTierMode).toBe('observed'), { timeout: 10_000 });
    // The garbage reached the provider once (whichever profile's poll it hit) and was refused as
    // such. Until that profile's fresh session delivers it whole again, a change of another profile
    // (the flags deployment racing it) builds a set that still holds the garbage, and is refused
    // too: one or two refusals, every one of them the torn body, and the whole document in the end.
    expect(p.status().refused).toBeGreaterThanOrEqual(1);
    expect(p.status().refused).toBeLessThanOrEqual(2);
    expect(p.status().lastError).toMatch(/: not valid JSON: /);
  });

  it('across 20 providers, the share on the new version tracks the deployment\'s percentage', async () => {
    const s = await new Setup(clients.control).create();
    await s.deployAll();
    const fleet: ConfigProvider[] = [];
    // One after the other, so each provider's sessions are consecutive on the endpoint.
    for (let i = 0; i < 20; i++) {
      // Every 0.5 s: 60 sessions in all, polling an endpoint on a shared machine.
      const p = provider(s.app, undefined, undefined, undefined, 0.5);
      await p.start();
      fleet.push(p);
    }
    expect(fleet.every((p) => p.current()?.flags.priorityScheme === 'legacy')).toBe(true);

    // 25% more of the targets every 50 strategy minutes (5 s at the endpoint's time scale of 600).
    const gradual = await s.strategy(200, 25);
    const deployment = await s.deploy('flags', flags({ priorityScheme: 'dual' }), gradual);
    const share = () => (100 * fleet.filter((p) => p.current()?.flags.priorityScheme === 'dual').length) / fleet.length;
    const seen: { percentage: number; share: number }[] = [];
    for (const step of [25, 50, 75]) {
      await vi.waitFor(async () => expect(await s.percentage(deployment)).toBe(step), { timeout: 12_000, interval: 100 });
      // Four poll intervals for every provider to have asked since the step.
      await new Promise((r) => setTimeout(r, 2_000));
      const now = share();
      expect(await s.percentage(deployment)).toBe(step);
      seen.push({ percentage: step, share: now });
    }
    await vi.waitFor(() => expect(share()).toBe(100), { timeout: 8_000, interval: 100 });
    expect(await s.percentage(deployment)).toBe(100);
    process.stderr.write(`fleet share by deployment percentage: ${JSON.stringify(seen)}\n`);
    // Golden-ratio buckets split a run of sessions within about one session (5 points) of the exact share.
    for (const { percentage, share: measured } of seen) expect(Math.abs(measured - percentage)).toBeLessThanOrEqual(10);
  }, 60_000);
});
