/**
 * `prio serve` taking its configuration from AppConfig (the real AppConfigData SDK client
 * against `prio appconfig local`): it starts on the deployed flags, and a flags deployment
 * switches its ranking live.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateDeploymentStrategyCommand,
  CreateEnvironmentCommand,
  CreateHostedConfigurationVersionCommand,
  StartDeploymentCommand,
} from '@aws-sdk/client-appconfig';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_DIR, PACKAGE_ROOT } from '../../src/config/index.js';
import { appConfigClients, appConfigEndpoint } from '../support/appconfig.js';
import { LEGACY_FLAGS, PHASE2_FLAGS, post } from '../support/serve.js';

const clients = appConfigClients();
const children: ChildProcess[] = [];
afterAll(() => {
  clients.destroy();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('prio serve on AppConfig', () => {
  it('ranks by the deployed flags and follows a new deployment', async () => {
    const { control } = clients;
    const app = `serve-${randomUUID().slice(0, 8)}`;
    const appId = (await control.send(new CreateApplicationCommand({ Name: app }))).Id ?? '';
    const envId = (await control.send(new CreateEnvironmentCommand({ ApplicationId: appId, Name: 'prod' }))).Id ?? '';
    const strategy = (await control.send(new CreateDeploymentStrategyCommand({ Name: `now-${app}`, DeploymentDurationInMinutes: 0, GrowthFactor: 100, GrowthType: 'LINEAR', FinalBakeTimeInMinutes: 0, ReplicateTo: 'NONE' }))).Id ?? '';
    const profiles = new Map<string, string>();
    for (const name of ['rules', 'overrides', 'flags']) {
      profiles.set(name, (await control.send(new CreateConfigurationProfileCommand({ ApplicationId: appId, Name: name, LocationUri: 'hosted', Type: 'AWS.Freeform' }))).Id ?? '');
    }
    const deploy = async (profile: string, content: string) => {
      const ConfigurationProfileId = profiles.get(profile) ?? '';
      const v = await control.send(new CreateHostedConfigurationVersionCommand({ ApplicationId: appId, ConfigurationProfileId, Content: new TextEncoder().encode(content), ContentType: 'application/json' }));
      await control.send(new StartDeploymentCommand({ ApplicationId: appId, EnvironmentId: envId, DeploymentStrategyId: strategy, ConfigurationProfileId, ConfigurationVersion: String(v.VersionNumber) }));
    };
    await deploy('rules', readFileSync(join(DEFAULT_RULES_DIR, 'service_tier.json'), 'utf8'));
    await deploy('overrides', readFileSync(join(DEFAULT_RULES_DIR, 'overrides.example.json'), 'utf8'));
    await deploy('flags', JSON.stringify({ schemaVersion: 1, ...LEGACY_FLAGS }));

    const child = spawn(
      process.execPath,
      [join(PACKAGE_ROOT, 'bin', 'prio.js'), 'serve', '--dev-keys', '--port', '0', '--log-level', 'warn', '--appconfig', `${app}/prod`, '--appconfig-overrides', '--appconfig-endpoint', appConfigEndpoint(), '--appconfig-poll-seconds', '1', '--appconfig-poll-scale', '0.3'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (let i = 0; i < 600 && !out.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /listening on (http\S+)/.exec(out)?.[1];
    if (url === undefined) throw new Error(`prio serve did not start: ${err}`);

    const ready = (await (await fetch(`${url}/readyz`)).json()) as { source: string };
    expect(ready.source).toBe('appconfig');
    const request = { accountId: 'acct-1', classification: 'PTV1', serviceTier: 'RESERVED', modelId: 'm' };
    expect((await post(`${url}/v1/decide`, request)).body).toMatchObject({ mapping: 'legacy', tier: 'P100' });

    await deploy('flags', JSON.stringify({ schemaVersion: 1, ...PHASE2_FLAGS }));
    let decided: Record<string, unknown> = {};
    for (let i = 0; i < 300 && decided.mapping !== 'tiered'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      decided = (await post(`${url}/v1/decide`, request)).body;
    }
    expect(decided).toMatchObject({ mapping: 'tiered', tier: 'P90' });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/prio_config_info\{version="[^"]+",source="appconfig",priority_scheme="dual"/);

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
