/**
 * A complete local rehearsal fleet for a migration: `prio appconfig local` on a compressed time
 * scale with the application, its environments (one per stage), the rules and the migration's
 * initial flags deployed; per stage a fleet of `prio serve` instances on the simulated upstream,
 * each taking its configuration from its stage's environment through AppConfigData and writing
 * an NDJSON request log; and the rollout settings file describing it all for `prio rollout`.
 * Used by scripts/rollout/rehearse and by the rehearsal integration test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, deploy, history, init, publish } from '../../src/appconfig/index.js';
import { startLocalAppConfig as startLocal, type LocalAppConfig } from '../../src/appconfig/local/index.js';
import type { Plan } from '../../src/migration/index.js';
import { flagsDocument } from '../../src/rollout/index.js';

export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const PRIO = join(ROOT, 'bin', 'prio.js');
export const APPLICATION = 'prio-rehearsal';
/** A fixed development key every instance shares, so sessions move between instances (a rehearsal only). */
export const REHEARSAL_TOKEN_KEYS = `rehearsal:${Buffer.alloc(32, 7).toString('base64')}`;

export interface RehearsalOptions {
  readonly dir: string;
  readonly plan: Plan;
  readonly instancesPerStage: number;
  /** Minutes of migration time per real minute, for the runner's bakes. */
  readonly timeScale: number;
  /** Strategy minutes per real minute in the local AppConfig endpoint. */
  readonly appConfigTimeScale: number;
  readonly pollSeconds: number;
  readonly evidenceRecords: number;
  readonly strategies?: Readonly<Record<string, string>>;
  readonly simMeanMs?: number;
  readonly log?: (line: string) => void;
}

export interface Instance {
  readonly stage: string;
  readonly url: string;
  readonly logFile: string;
  readonly process: ChildProcess;
}

export interface Rehearsal {
  readonly endpoint: string;
  readonly local: LocalAppConfig;
  readonly settingsFile: string;
  readonly instances: readonly Instance[];
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * The classification mix the rehearsal's load sends: provisioned throughput mostly v2 (it stays
 * P100 on the new scale) beside v1 (moves to P90), as in production, so the default gate's
 * P100 downgrade bound means what it says.
 */
export const REHEARSAL_MIX = 'ON_DEMAND:8,PREMIUM_ON_DEMAND:1,PTV1:1,PTV2:2,BATCH:1,FLEX:1';
/** Service tiers as they arrive: most requests name none or DEFAULT. */
export const REHEARSAL_TIERS = 'DEFAULT:4,PRIORITY:1,FLEX:1,none:4';
/** The `prio load` options of a rehearsal's traffic. */
export const REHEARSAL_LOAD_MIX = ['--classifications', REHEARSAL_MIX, '--service-tiers', REHEARSAL_TIERS];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts one `prio serve` child and resolves with its URL once its /metrics show a configuration
 * from `source` (by default AppConfig, not the baked fallback). The game day starts its instances
 * with this too.
 */
export async function startServe(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  source: 'appconfig' | 'agent' | 'file' | 'baked' = 'appconfig',
): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [PRIO, 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`prio serve did not start in 120 s: ${stderr}`)), 120_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolveUrl(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`prio serve exited ${code}: ${stderr}`));
    });
  });
  child.stdout?.resume();
  const loaded = new RegExp(`prio_config_info\\{[^}]*source="${source}"`);
  for (let i = 0; i < 300; i += 1) {
    const metrics = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
    if (loaded.test(metrics)) return { url, process: child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`prio serve at ${url} never loaded its configuration from ${source}: ${stderr}`);
}

/**
 * The application of a rehearsal: an environment per stage of the plan, each running the rules
 * and the plan's initial flags (deployed all at once). Returns the versions deployed.
 */
export async function setUpApplication(client: ReturnType<typeof connect>['client'], plan: Plan, app = APPLICATION): Promise<{ rules: string; flags: string }> {
  const stages = plan.stages.map((s) => s.name);
  await init(client, { app, envs: stages, alarms: new Map() });
  const rules = await publish(client, { app, profile: 'rules', content: readFileSync(join(ROOT, 'rules', 'service_tier.json')) });
  const flags = await publish(client, { app, profile: 'flags', content: flagsDocument(plan.initialFlags) });
  for (const stage of stages) {
    await deploy(client, { app, env: stage, profile: 'rules', strategy: 'all-at-once', version: rules.version });
    await waitComplete(client, stage, app);
    await deploy(client, { app, env: stage, profile: 'flags', strategy: 'all-at-once', version: flags.version });
    await waitComplete(client, stage, app);
  }
  return { rules: String(rules.version), flags: String(flags.version) };
}

async function waitComplete(client: ReturnType<typeof connect>['client'], env: string, app = APPLICATION): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    const h = await history(client, app, env);
    if (h.deployments.every((d) => d.state === 'COMPLETE' || d.state === 'ROLLED_BACK' || d.state === 'REVERTED')) return;
    await sleep(100);
  }
  throw new Error(`deployments to ${env} did not complete`);
}

export async function startRehearsal(o: RehearsalOptions): Promise<Rehearsal> {
  const log = o.log ?? (() => undefined);
  mkdirSync(o.dir, { recursive: true });
  const local = await startLocal({ host: '127.0.0.1', port: 0, timeScale: o.appConfigTimeScale });
  const endpoint = local.url;
  log(`prio appconfig local on ${endpoint} (time scale ${o.appConfigTimeScale})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PRIO_TOKEN_KEYS: REHEARSAL_TOKEN_KEYS,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_APPCONFIG: endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' });
  const conn = connect({ endpointUrl: endpoint, region: 'us-east-1' });
  const instances: Instance[] = [];
  try {
    const stages = o.plan.stages.map((s) => s.name);
    const { rules, flags } = await setUpApplication(conn.client, o.plan);
    log(`application ${APPLICATION}: environments ${stages.join(', ')} run rules v${rules} and the initial flags v${flags}`);

    const starts: Promise<Instance>[] = [];
    for (const stage of stages) {
      for (let i = 0; i < o.instancesPerStage; i += 1) {
        const logFile = join(o.dir, `requests-${stage}-${i}.ndjson`);
        writeFileSync(logFile, '');
        const args = [
          '--port', '0',
          '--upstream', 'sim:',
          '--sim-mean-ms', String(o.simMeanMs ?? 5),
          '--sim-seed', String(i + 1),
          '--appconfig', `${APPLICATION}/${stage}`,
          '--appconfig-endpoint', endpoint,
          '--appconfig-poll-seconds', '1',
          '--request-log', logFile,
          '--region', stage,
          '--grace-ms', '2000',
          '--log-level', 'warn',
        ];
        starts.push(startServe(args, env).then((s) => ({ stage, url: s.url, logFile, process: s.process })));
      }
    }
    const settled = await Promise.allSettled(starts);
    for (const s of settled) if (s.status === 'fulfilled') instances.push(s.value);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    log(`fleet: ${instances.map((i) => `${i.stage} ${i.url}`).join(', ')}`);

    const settings = {
      application: APPLICATION,
      pollSeconds: o.pollSeconds,
      unreachableAfter: 3,
      timeScale: o.timeScale,
      evidenceRecords: o.evidenceRecords,
      outDir: join(o.dir, 'out'),
      stages: Object.fromEntries(
        stages.map((stage) => [
          stage,
          {
            environment: stage,
            strategy: o.strategies?.[stage] ?? 'linear',
            fleet: instances.filter((i) => i.stage === stage).map((i) => i.url),
            requestLog: { files: instances.filter((i) => i.stage === stage).map((i) => i.logFile) },
          },
        ]),
      ),
    };
    const settingsFile = join(o.dir, 'rollout-settings.json');
    writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
    return {
      endpoint,
      local,
      settingsFile,
      instances,
      env,
      async stop() {
        await Promise.all(
          instances.map(
            (i) =>
              new Promise<void>((done) => {
                if (i.process.exitCode !== null) return done();
                i.process.once('exit', () => done());
                i.process.kill('SIGTERM');
                setTimeout(() => i.process.kill('SIGKILL'), 5000).unref();
              }),
          ),
        );
        conn.close();
        await local.close();
      },
    };
  } catch (err) {
    for (const i of instances) i.process.kill('SIGKILL');
    conn.close();
    await local.close();
    throw err;
  }
}

