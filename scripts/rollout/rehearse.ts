/**
 * The whole rehearsal (see scripts/rollout/rehearse and docs/rollout.md): a local fleet, load
 * on it throughout, the migration run stage by stage by `prio rollout run`, then a full rollback
 * to before the first step, and the rollout report. Options: --dir, --rate, --instances,
 * --time-scale, --appconfig-time-scale, --migration.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readJsonFile } from '../../src/config/index.js';
import { parseMigrationDefinition } from '../../src/migration/index.js';
import { PRIO, REHEARSAL_LOAD_MIX, ROOT, startRehearsal } from './rehearsal.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: join(ROOT, 'reports', 'rehearsal') },
    rate: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '2' },
    'time-scale': { type: 'string', default: '1200' },
    'appconfig-time-scale': { type: 'string', default: '600' },
    migration: { type: 'string', default: join(ROOT, 'migrations', '001-legacy-4-to-7-tier.json') },
    'keep-fleet': { type: 'boolean', default: false },
  },
});
const dir = resolve(values.dir);
const migrationFile = resolve(values.migration);
const plan = parseMigrationDefinition(readJsonFile(migrationFile), migrationFile);
const say = (line: string) => process.stdout.write(`[rehearse] ${line}\n`);

function prio(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  say(`prio ${args.join(' ')}`);
  const child = spawn(process.execPath, [PRIO, ...args], { env, stdio: 'inherit' });
  return new Promise((done) => child.once('exit', (code) => done(code ?? 1)));
}

rmSync(dir, { recursive: true, force: true });
const rehearsal = await startRehearsal({
  dir,
  plan,
  instancesPerStage: Number(values.instances),
  timeScale: Number(values['time-scale']),
  appConfigTimeScale: Number(values['appconfig-time-scale']),
  pollSeconds: 0.5,
  evidenceRecords: 5000,
  strategies: { beta: 'all-at-once', preprod: 'linear', prod: 'exponential' },
  log: say,
});
const store = process.env.DYNAMODB_ENDPOINT === undefined ? ['--store', 'file', '--store-dir', join(dir, 'store')] : ['--store', 'dynamodb'];
const env = { ...rehearsal.env };
let exit: number;
try {
  const targets = rehearsal.instances.flatMap((i) => ['--target', i.url]);
  const loadFile = join(dir, 'load.json');
  say(`prio load at ${values.rate} requests/s over ${rehearsal.instances.length} instances until the rehearsal ends`);
  const load = spawn(process.execPath, [PRIO, 'load', ...targets, '--rate', values.rate, '--duration', '3600', '--sessions', '400', ...REHEARSAL_LOAD_MIX, '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let loadOut = '';
  load.stdout?.on('data', (d: Buffer) => (loadOut += d.toString()));
  const loadDone = new Promise<number>((done) => load.once('exit', (code) => done(code ?? 1)));

  const settings = ['--settings', rehearsal.settingsFile];
  await prio(['rollout', 'run', migrationFile, ...settings, ...store, '--dry-run'], env);
  // Every step, but the migration is not marked complete: a completed migration is final, and the rehearsal rolls it back.
  const last = plan.steps[plan.steps.length - 1]?.id ?? '';
  const run = await prio(['rollout', 'run', migrationFile, ...settings, ...store, '--until', last], env);
  say(`prio rollout run exited ${run}`);
  const back = await prio(['rollout', 'rollback', plan.id, '--to', 'start', '--reason', 'rehearsal: full rollback to legacy', ...settings, ...store], env);
  say(`prio rollout rollback exited ${back}`);

  load.kill('SIGINT');
  const loadExit = await loadDone;
  writeFileSync(loadFile, loadOut);
  say(`prio load exited ${loadExit} (report ${loadFile})`);
  const report = await prio(['rollout', 'report', plan.id, ...store, '--load', loadFile, '--out', join(dir, 'report')], env);
  exit = run !== 0 || back !== 0 || loadExit !== 0 || report !== 0 ? 1 : 0;
} finally {
  if (values['keep-fleet'] !== true) await rehearsal.stop();
}
say(exit === 0 ? `done: the migration ran and rolled back; report in ${join(dir, 'report')}` : 'FAILED (see above)');
process.exitCode = exit;
