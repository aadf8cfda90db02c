/**
 * The AppConfig scenarios' shared setup: a `prio appconfig local` of the scenario's own (its
 * faults hit no one else), the application seeded with the rules and the legacy flags through the
 * deploy pipeline, `prio serve` instances taking their configuration from it through the real
 * AppConfigData client (in-process, so the provider's status — refusals, last error — and its log
 * lines are observable), bounded decision load from `prio load`'s library, and /metrics read as
 * an operator would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConfigProvider, connect, deploy, history, init, publish, startLocalAppConfig, type Backoff, type ConfigProvider, type Connection, type LocalAppConfig } from '../../../src/appconfig/index.js';
import { loadDomain } from '../../../src/config/index.js';
import { parseMix, runLoad, type LoadReport } from '../../../src/load/index.js';
import type { Flags } from '../../../src/migration/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { startService, type Service } from '../../../src/service/index.js';
import { Keyring } from '../../../src/tokens/index.js';
import { ROOT } from '../../../scripts/rollout/rehearsal.js';
import { silent } from '../../support/serve.js';
import { sleep } from '../../support/net.js';
import type { ScenarioContext } from '../scenario.js';

export const APP = 'prio-gameday';
export const ENV = 'gameday';
export const LEGACY_FLAGS: Flags = { priorityScheme: 'legacy', tokenReadMode: 'v1', tokenWriteMode: 'v1', serviceTierMode: 'ignored', rulesVersion: 'legacy-4' };
export const DUAL_FLAGS: Flags = { priorityScheme: 'dual', tokenReadMode: 'dual', tokenWriteMode: 'v1', serviceTierMode: 'observed', rulesVersion: 'tiered-7.1' };
/** Any credentials do for the local endpoint: it checks no signature. */
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const domain = loadDomain();
const keyring = new Keyring([{ kid: 'gameday', secret: new Uint8Array(32).fill(0x6d) }]);

export interface OwnAppConfig {
  readonly local: LocalAppConfig;
  readonly conn: Connection;
  /** The flags version deployed by `seed`, as AppConfig numbers it. */
  readonly flagsVersion: number;
  readonly rulesVersion: number;
}

/** Waits until no deployment of the environment is in progress; returns the last one's state. */
export async function settled(conn: Connection, signal: AbortSignal, timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !signal.aborted) {
    const h = await history(conn.client, APP, ENV);
    if (h.deployments.every((d) => d.state !== 'DEPLOYING' && d.state !== 'BAKING')) return h.deployments[0]?.state ?? 'none';
    await sleep(100);
  }
  throw new Error(`deployments to ${APP}/${ENV} still in progress after ${timeoutMs} ms`);
}

/**
 * Starts a `prio appconfig local` for this scenario alone (closed at its end) and deploys the
 * rules and the legacy flags to one environment, all at once, as `prio appconfig` would.
 */
export async function ownAppConfig(ctx: ScenarioContext, o: { timeScale?: number; alarms?: readonly string[]; onRequest?: (line: string) => void } = {}): Promise<OwnAppConfig> {
  const local = await startLocalAppConfig({ host: '127.0.0.1', port: 0, timeScale: o.timeScale ?? 600, ...(o.onRequest === undefined ? {} : { onRequest: o.onRequest }) });
  ctx.defer(() => local.close());
  // The pipeline's client takes its credentials from the environment, as `prio appconfig` does;
  // the local endpoint checks no signature, so dummy ones are set when none are.
  process.env.AWS_ACCESS_KEY_ID ??= CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= CREDENTIALS.secretAccessKey;
  const conn = connect({ endpointUrl: local.url, region: 'us-east-1' });
  ctx.defer(() => conn.close());
  await init(conn.client, { app: APP, envs: [ENV], alarms: new Map(o.alarms === undefined ? [] : [[ENV, o.alarms]]) });
  const rules = await publish(conn.client, { app: APP, profile: 'rules', content: readFileSync(join(ROOT, 'rules', 'service_tier.json')) });
  const flags = await publish(conn.client, { app: APP, profile: 'flags', content: flagsDocument(LEGACY_FLAGS) });
  await deploy(conn.client, { app: APP, env: ENV, profile: 'rules', strategy: 'all-at-once', version: rules.version });
  await settled(conn, ctx.signal);
  await deploy(conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: flags.version });
  await settled(conn, ctx.signal);
  ctx.log(`own prio appconfig local on ${local.url}: ${APP}/${ENV} runs rules v${rules.version}, legacy flags v${flags.version}`);
  return { local, conn, flagsVersion: flags.version, rulesVersion: rules.version };
}

/** One line the provider logged, with when. */
export interface ProviderEvent {
  readonly at: number;
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: object;
}

export interface Instance {
  readonly url: string;
  readonly provider: ConfigProvider;
  readonly service: Service;
  readonly events: ProviderEvent[];
}

export interface InstanceOptions {
  /** AppConfigData endpoint (the own endpoint, or a Toxiproxy link in front of it). */
  readonly endpoint: string;
  readonly backoff?: Backoff;
  readonly startTimeoutMs?: number;
}

/**
 * A `prio serve` in decision mode, in this process, whose provider polls AppConfigData every
 * second through the real SDK client (as `prio serve --appconfig … --appconfig-poll-seconds 1`
 * builds it), with a backoff short enough for a scenario's seconds.
 */
export async function startInstance(ctx: ScenarioContext, o: InstanceOptions): Promise<Instance> {
  const events: ProviderEvent[] = [];
  const record = (level: ProviderEvent['level']) => (fields: object, message: string) => {
    events.push({ at: Date.now(), level, message, fields });
  };
  const provider = createConfigProvider({
    appConfig: {
      application: APP,
      environment: ENV,
      profiles: { rules: 'rules', flags: 'flags' },
      clientConfig: { endpoint: o.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
      minimumPollIntervalSeconds: 1,
    },
    backoff: o.backoff ?? { initialMs: 200, maxMs: 2_000 },
    startTimeoutMs: o.startTimeoutMs ?? 5_000,
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
  });
  ctx.defer(() => provider.close());
  // As `prio serve` does: the provider first (AppConfig, or the baked rules once the start times out), then the service.
  await provider.start();
  const service = await startService({
    provider,
    domain,
    capacity: { variants: {}, defaultVariant: { concurrency: 64, queueBound: 4_096 } },
    keyring,
    logger: silent,
    processMetrics: false,
  });
  ctx.defer(async () => {
    await service.close(1_000);
  });
  return { url: service.url, provider, service, events };
}

/** Bounded decision load (`prio load`'s library) on the instances for `durationMs`. */
export function decisionLoad(ctx: ScenarioContext, urls: readonly string[], durationMs: number, rate = 100): Promise<LoadReport> {
  return runLoad({
    targets: urls,
    mode: 'decide',
    rate,
    durationMs,
    sessions: 40,
    accounts: 20,
    classifications: parseMix('ON_DEMAND:6,PREMIUM_ON_DEMAND:1,PTV1:1,BATCH:1,FLEX:1'),
    serviceTiers: parseMix('none', true),
    requestTypes: parseMix('none', true),
    models: ['model-a'],
    seed: 7,
    timeoutMs: 5_000,
    connections: 16,
    signal: ctx.signal,
  });
}

/** Share of the load's requests answered 2xx, in percent (100 when nothing was sent: callers check `sent`). */
export function okPercent(report: LoadReport): number {
  if (report.sent === 0) return 100;
  const ok = Object.entries(report.statuses)
    .filter(([status]) => /^2\d\d$/.test(status))
    .reduce((n, [, count]) => n + count, 0);
  return (100 * ok) / report.sent;
}

/** The `prio_config_info` labels an instance exports right now (what a dashboard sees). */
export async function configInfo(url: string): Promise<{ version: string; source: string; scheme: string } | undefined> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const line = /prio_config_info\{([^}]*)\}\s+1/.exec(text);
  if (line === null) return undefined;
  const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(line[1] as string)?.[1] ?? '';
  return { version: label('version'), source: label('source'), scheme: label('priority_scheme') };
}

/** Polls `check` every 50 ms until it holds; resolves with the ms it took, or undefined at the deadline. */
export async function waitFor(ctx: ScenarioContext, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs && !ctx.signal.aborted) {
    if (await check()) return Date.now() - started;
    await sleep(50);
  }
  return undefined;
}

/** The flags label of a provider's version (`rules:… flags:<label>`), or the whole version. */
export function flagsLabel(version: string | null | undefined): string {
  if (version === null || version === undefined) return 'none';
  return /flags:(\S+)/.exec(version)?.[1] ?? version;
}
