/**
 * `prio rollout run|status|rollback`: the phased rollout runner (src/rollout). Thin: parse
 * options, open the store and the AppConfig connection, call the library, print, exit code.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { connect, describeAwsError, PipelineError } from '../appconfig/index.js';
import { loadDomain, PACKAGE_ROOT, readJsonFile, DEFAULT_RULES_DIR } from '../config/index.js';
import type { EventStore, LeaseManager } from '../eventstore/index.js';
import { handleCommand, loadMigration, parseMigrationDefinition, type MigrationEvent, type Plan } from '../migration/index.js';
import {
  buildRolloutReport,
  renderRolloutHtml,
  renderRolloutMarkdown,
  type LoadSummary,
  gatherEvidence,
  CloudWatchAlarmSource,
  MetricsAlarmSource,
  parseRolloutSettings,
  planView,
  rolloutStatus,
  RuleSetsByVersion,
  runRollout,
  pauseBeforeAppend,
  PAUSE_BEFORE_APPEND_ENV,
  scaledClock,
  StageEnvironments,
  RolloutError,
  type RolloutSettings,
  type RunOutcome,
  type RunnerEvent,
} from '../rollout/index.js';
import { createProgress } from '../shadow/index.js';
import type { Register } from './main.js';
import { ExitCode, printJson, table, UsageError, type Io } from './output.js';
import { addStoreOptions, openStore, reportStoreError, type StoreOptions } from './store.js';

interface RolloutCliOptions extends StoreOptions {
  settings?: string;
  appconfigEndpoint?: string;
  appconfigRegion?: string;
  owner?: string;
  leaseTtl: string;
  until?: string;
  dryRun?: boolean;
  json?: boolean;
  to?: string;
  reason?: string;
  load?: string;
  out: string;
}

/** MIGRATION is a definition file (planned when the stream is empty) or the id of a planned migration. */
function migrationArgument(arg: string): { id: string; plan?: Plan } {
  if (arg.endsWith('.json') || existsSync(arg)) {
    const gateExists = (gate: string) => existsSync(resolve(gate)) || existsSync(resolve(PACKAGE_ROOT, gate));
    const plan = parseMigrationDefinition(readJsonFile(arg), arg, { gateExists });
    return { id: plan.id, plan };
  }
  return { id: arg };
}

function loadSettings(options: RolloutCliOptions, plan: Plan | undefined): RolloutSettings {
  if (options.settings === undefined) throw new UsageError('--settings FILE is required: the stages\' AppConfig environments, strategies, fleets and request logs (see scripts/rollout/)');
  return parseRolloutSettings(readJsonFile(options.settings), options.settings, plan);
}

function common(command: Command): Command {
  return addStoreOptions(command)
    .option('--settings <file>', 'rollout settings: per stage its AppConfig environment, strategy, fleet and request logs')
    .addOption(new Option('--appconfig-endpoint <url>', 'AppConfig endpoint (prio appconfig local in a rehearsal)').env('AWS_ENDPOINT_URL_APPCONFIG'))
    .option('--appconfig-region <region>', 'AWS region of AppConfig')
    .option('--json', 'print JSON (one line per event while running)');
}

async function withStore(options: StoreOptions, io: Io, setExit: (code: number) => void, body: (store: EventStore) => Promise<number>): Promise<void> {
  const store = openStore(options);
  try {
    setExit(await body(store));
  } catch (err) {
    const stored = reportStoreError(err, io);
    if (stored !== undefined) return setExit(stored);
    if (err instanceof RolloutError) {
      io.err(`error: ${err.message}`);
      return setExit(ExitCode.findings);
    }
    const aws = err instanceof PipelineError ? err : describeAwsError(err, 'AppConfig');
    if (aws === undefined) throw err;
    io.err(`error: ${aws.message}`);
    setExit(ExitCode.usage);
  } finally {
    await store.close();
  }
}

function outcomeExit(outcome: RunOutcome): number {
  switch (outcome.kind) {
    case 'completed':
    case 'until-reached':
    case 'reconciled':
      return ExitCode.ok;
    case 'rolled-back':
    case 'paused':
      return ExitCode.gateFailed;
    case 'aborted':
    case 'stopped':
      return ExitCode.findings;
  }
}

async function drive(io: Io, options: RolloutCliOptions, migration: { id: string; plan?: Plan }, extra: { reconcileOnly?: boolean }, store: EventStore): Promise<RunOutcome> {
  const loaded = await loadMigration(store, migration.id);
  const plan = loaded.state.plan ?? migration.plan;
  const settings = loadSettings(options, plan);
  const conn = connect({
    ...(options.appconfigEndpoint === undefined ? {} : { endpointUrl: options.appconfigEndpoint }),
    ...(options.appconfigRegion === undefined ? {} : { region: options.appconfigRegion }),
  });
  const domain = loadDomain();
  const ruleSets = new RuleSetsByVersion([resolve(DEFAULT_RULES_DIR, 'legacy.json'), resolve(DEFAULT_RULES_DIR, 'service_tier.json')], domain);
  const fleets = Object.fromEntries(Object.entries(settings.stages).map(([name, s]) => [name, s.fleet]));
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const owner = options.owner ?? `${hostname()}/${process.pid}`;
  const print = (e: RunnerEvent) => (options.json === true ? io.out(JSON.stringify({ ...e, owner })) : io.out(`${e.at} ${e.kind.padEnd(9)} ${e.message}`));
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  // Game days only: wait between deciding an event and appending it, so a scenario can kill the runner there.
  const beforeAppend = pauseBeforeAppend(process.env[PAUSE_BEFORE_APPEND_ENV], print, sleep);
  try {
    return await runRollout(
      {
        migrationId: migration.id,
        ...(migration.plan === undefined ? {} : { plan: migration.plan }),
        owner,
        settings,
        ...(options.until === undefined ? {} : { until: options.until }),
        leaseTtlMs: Number(options.leaseTtl),
        signal: stop.signal,
        ...(extra.reconcileOnly === true ? { reconcileOnly: true } : {}),
      },
      {
        store,
        // Both stores hold leases: DynamoDB's lease item, or the file store's lease file.
        leases: store as EventStore & LeaseManager,
        stages: new StageEnvironments(conn.client, settings),
        alarms:
          settings.alarmSource === 'cloudwatch'
            ? new CloudWatchAlarmSource(plan?.alarms ?? {}, settings.cloudwatch ?? {})
            : new MetricsAlarmSource(fleets, plan?.alarms ?? {}, settings.unreachableAfter),
        evidence: (req) => gatherEvidence({ ...req, domain, ruleSets, progress: createProgress({ stream: process.stderr, quiet: true, label: 'evidence' }) }),
        wall: Date.now,
        sleep,
        newId: randomUUID,
        log: print,
        ...(beforeAppend === undefined ? {} : { beforeAppend }),
      },
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    conn.close();
  }
}

async function summary(io: Io, options: RolloutCliOptions, store: EventStore, id: string, outcome: RunOutcome, scale: number): Promise<void> {
  const { state, events } = await loadMigration(store, id);
  const anchor = Date.parse(events[0]?.at ?? new Date().toISOString());
  const view = rolloutStatus(state, scaledClock(anchor, scale)().toISOString());
  if (options.json === true) {
    printJson(io, { outcome, status: view });
    return;
  }
  const headline: Record<RunOutcome['kind'], string> = {
    completed: `${id}: every step completed`,
    'until-reached': `${id}: reached ${'step' in outcome ? outcome.step : ''}`,
    reconciled: `${id}: every stage runs the flags the migration says`,
    'rolled-back': `${id}: ROLLED BACK — ${'reason' in outcome ? outcome.reason : ''}`,
    paused: `${id}: paused — ${'reason' in outcome ? outcome.reason : ''}`,
    aborted: `${id}: aborted`,
    stopped: `${id}: stopped before finishing (run again to carry on)`,
  };
  io.out(headline[outcome.kind]);
  if (view !== undefined) io.out(`live now:\n${table(['stage', 'flags'], view.stages.map((s) => [s.stage, s.flags]))}`);
}

export const registerRollout: Register = (program, io, setExit) => {
  const group = program
    .command('rollout')
    .description('Drive a migration through its stages: evidence, flags published to AppConfig, deployed, watched, baked under alarms, completed; rolled back by itself on trouble.')
    .addHelpText('after', '\nExamples:\n  prio rollout run migrations/001-legacy-4-to-7-tier.json --settings rollout.json --store dynamodb --dry-run\n  prio rollout status 001-legacy-4-to-7-tier --store dynamodb\n  prio rollout rollback 001-legacy-4-to-7-tier --to start --reason "game day" --settings rollout.json --store dynamodb\n\nSee docs/rollout.md.');

  common(
    group
      .command('run')
      .description('Hold the migration\'s lease and walk its steps until it completes (exit 0), or roll back the live step on a failed gate, a rolled-back deployment, an alarm or a fleet that stops answering (exit 3). Killed and started again, it carries on where the event stream says it is.')
      .argument('<migration>', 'a definition file (planned if new) or the id of a planned migration')
      .option('--until <step>', 'stop once this step has completed (one pipeline stage)')
      .option('--dry-run', 'print the plan: steps, flags, strategies, bake time; change nothing')
      .option('--owner <name>', 'runner name recorded as the actor (default host/pid)')
      .option('--lease-ttl <ms>', 'lease time to live; a waiting runner takes over this long after the holder dies', '5000'),
  )
    .addHelpText('after', '\nExample:\n  prio rollout run migrations/001-legacy-4-to-7-tier.json --settings scripts/rollout/rehearsal.json --store dynamodb --table prio-events\n')
    .action(async (arg: string, options: RolloutCliOptions) => {
      const migration = migrationArgument(arg);
      if (!(Number(options.leaseTtl) >= 200)) throw new UsageError(`--lease-ttl must be at least 200 ms, got "${options.leaseTtl}"`);
      if (options.dryRun === true) {
        await withStore(options, io, setExit, async (store) => {
          const plan = (await loadMigration(store, migration.id)).state.plan ?? migration.plan;
          if (plan === undefined) throw new UsageError(`migration ${migration.id} is not planned: give its definition file`);
          const settings = options.settings === undefined ? undefined : loadSettings(options, plan);
          const view = planView(plan, settings);
          if (options.json === true) printJson(io, view);
          else {
            io.out(
              table(
                ['step', 'phase', 'stage', 'environment', 'strategy', 'flags', 'bake', 'alarms'],
                view.steps.map((s) => [s.step, s.phase, s.stage, s.environment ?? '-', s.strategy ?? '-', `read ${s.flags.tokenReadMode}/${s.flags.priorityScheme} write ${s.flags.tokenWriteMode} tiers ${s.flags.serviceTierMode} rules ${s.flags.rulesVersion}`, `${s.bakeMinutes}m`, s.alarms.join(', ')]),
              ),
            );
            io.out(`total bake time: ${view.totalBakeMinutes} min${view.timeScale === 1 ? '' : ` (${view.totalBakeRealMinutes.toFixed(1)} min at time scale ${view.timeScale})`}`);
          }
          return ExitCode.ok;
        });
        return;
      }
      await withStore(options, io, setExit, async (store) => {
        const outcome = await drive(io, options, migration, {}, store);
        await summary(io, options, store, migration.id, outcome, loadSettings(options, undefined).timeScale);
        return outcomeExit(outcome);
      });
    });

  common(
    group
      .command('status')
      .description('Where the rollout is: the live step, what is deploying, the bake left and the last evidence.')
      .argument('<migration>', 'migration id or definition file'),
  )
    .addHelpText('after', '\nExample:\n  prio rollout status 001-legacy-4-to-7-tier --store dynamodb\n')
    .action(async (arg: string, options: RolloutCliOptions) => {
      const migration = migrationArgument(arg);
      await withStore(options, io, setExit, async (store) => {
        const { state, events } = await loadMigration(store, migration.id);
        const scale = options.settings === undefined ? 1 : loadSettings(options, state.plan).timeScale;
        const anchor = Date.parse(events[0]?.at ?? new Date().toISOString());
        const view = rolloutStatus(state, scaledClock(anchor, scale)().toISOString());
        if (view === undefined) {
          io.err(`error: migration ${migration.id} is not planned`);
          return ExitCode.findings;
        }
        if (options.json === true) {
          printJson(io, view);
          return ExitCode.ok;
        }
        io.out(`${view.migration}: ${view.status}${view.pausedReason === undefined ? '' : ` (${view.pausedReason})`}`);
        if (view.live !== undefined) {
          const d = view.live.deployment;
          io.out(
            `live: ${view.live.step} in ${view.live.stage}, ${view.live.phase}${d === undefined ? '' : `, ${d.environment} deployment #${d.number} (flags v${d.configVersion})`}, bake left ${view.live.bakeLeftMinutes} min${scale === 1 ? '' : ` (${(view.live.bakeLeftMinutes / scale).toFixed(1)} real min at time scale ${scale})`}`,
          );
        }
        if (view.lastEvidence !== undefined) {
          const e = view.lastEvidence;
          io.out(`last evidence: ${e.step} at ${e.at}: gate ${e.passed ? 'passed' : `FAILED (${e.failures.join('; ')})`}, ${e.compared} compared, ${e.changed} changed`);
        }
        io.out(table(['stage', 'flags live'], view.stages.map((s) => [s.stage, s.flags])));
        io.out(table(['step', 'status', 'runs'], view.steps.map((s) => [s.id, s.status, s.runs])));
        return ExitCode.ok;
      });
    });

  addStoreOptions(
    group
      .command('report')
      .description('Write the rollout report (report.md and a self-contained report.html): the timeline of steps, deployments, bakes, evidence, alarms and rollbacks, and, given a prio load --json report, the load\'s per-tier latency and errors across the rollout.')
      .argument('<migration>', 'migration id or definition file')
      .option('--load <file>', 'the JSON report of prio load run across the rollout')
      .option('--out <dir>', 'where to write report.md and report.html', 'reports/rollout')
      .option('--json', 'print the report model as JSON'),
  )
    .addHelpText('after', '\nExample:\n  prio rollout report 001-legacy-4-to-7-tier --store dynamodb --load load.json --out reports/rollout\n')
    .action(async (arg: string, options: RolloutCliOptions) => {
      const migration = migrationArgument(arg);
      await withStore(options, io, setExit, async (store) => {
        const { stored } = await loadMigration(store, migration.id);
        if (stored.length === 0) {
          io.err(`error: migration ${migration.id} has no events in this store`);
          return ExitCode.findings;
        }
        const load = options.load === undefined ? undefined : (readJsonFile(options.load) as LoadSummary);
        const report = buildRolloutReport(
          stored.map((e) => ({ event: e.data as MigrationEvent, recordedAt: e.meta.recordedAt })),
          load,
          new Date().toISOString(),
        );
        mkdirSync(options.out, { recursive: true });
        writeFileSync(resolve(options.out, 'report.md'), renderRolloutMarkdown(report));
        writeFileSync(resolve(options.out, 'report.html'), renderRolloutHtml(report));
        if (options.json === true) printJson(io, report);
        else io.out(`rollout report: ${resolve(options.out, 'report.md')}, ${resolve(options.out, 'report.html')}`);
        return ExitCode.ok;
      });
    });

  common(
    group
      .command('rollback')
      .description('Take the fleet back to an earlier step on purpose, in the safe order (writers back to v1 before any reader could lose v2; readers stay dual), and pause the migration.')
      .argument('<migration>', 'migration id or definition file')
      .requiredOption('--to <step>', 'a completed step, or "start" to undo every step')
      .requiredOption('--reason <text>', 'why, for the record')
      .option('--owner <name>', 'recorded as the actor (default host/pid)')
      .option('--lease-ttl <ms>', 'lease time to live', '5000'),
  )
    .addHelpText('after', '\nExample:\n  prio rollout rollback 001-legacy-4-to-7-tier --to beta-dual-read --reason "token rejects in preprod" --settings rollout.json --store dynamodb\n')
    .action(async (arg: string, options: RolloutCliOptions) => {
      const migration = migrationArgument(arg);
      await withStore(options, io, setExit, async (store) => {
        const owner = options.owner ?? `${hostname()}/${process.pid}`;
        const { events } = await loadMigration(store, migration.id);
        // The runner's clock (scaled in a rehearsal), so the stream's instants stay in order.
        const at = scaledClock(Date.parse(events[0]?.at ?? new Date().toISOString()), loadSettings(options, undefined).timeScale)().toISOString();
        const out = await handleCommand(
          migration.id,
          { type: 'rollback', toStep: options.to ?? '', reason: options.reason ?? '', pause: true, actor: owner, at },
          { store, commandId: randomUUID(), clock: () => new Date() },
        );
        if (out.outcome === 'rejected') {
          io.err(`refused (${out.rejection.invariant}): ${out.rejection.message}`);
          return ExitCode.findings;
        }
        io.out(`rolled back to ${options.to}; bringing every stage to its flags`);
        const outcome = await drive(io, options, migration, { reconcileOnly: true }, store);
        await summary(io, options, store, migration.id, outcome, loadSettings(options, undefined).timeScale);
        return outcome.kind === 'reconciled' ? ExitCode.ok : outcomeExit(outcome);
      });
    });
};
