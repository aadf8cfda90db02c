/**
 * `prio migrate …`: plan a migration from its definition, then advance, pause, resume, roll
 * back, withdraw a step, abort it, attach gate evidence, and read its status and history — on the file store
 * (default, no setup) or DynamoDB. `drive` runs a controller that holds the migration's lease.
 * Thin: parse, call src/migration with a store, print, exit code. A refused command prints the
 * invariant it would break and exits 1.
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PACKAGE_ROOT, readJsonFile } from '../config/index.js';
import type { EventStore, LeaseManager } from '../eventstore/index.js';
import {
  ALARM_STATES,
  eventsUpTo,
  handleCommand,
  listMigrations,
  historyView,
  loadMigration,
  rebuildMigration,
  parseEvidence,
  parseMigrationDefinition,
  runController,
  stateAt,
  statusView,
  type AlarmState,
  type CommandOutcome,
  type MigrationCommand,
  type MigrationStatusView,
} from '../migration/index.js';
import type { Register } from './main.js';
import { ExitCode, printJson, table, UsageError, type Io } from './output.js';
import { addStoreOptions, describeStore, openStore, reportStoreError, type StoreOptions } from './store.js';

interface CommonOptions extends StoreOptions {
  json?: boolean;
  actor?: string;
  commandId?: string;
}

function defaultActor(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `pid-${process.pid}@${hostname()}`;
  }
}

function common(command: Command, { writes }: { writes: boolean }): Command {
  addStoreOptions(command).option('--json', 'print the result as JSON');
  if (writes) {
    command
      .addOption(new Option('--actor <name>', 'who is acting, recorded with the event (default user@host)').env('PRIO_ACTOR'))
      .option('--command-id <id>', 'idempotency key: re-running with the same id appends nothing new (default: a fresh id)');
  }
  return command;
}

/** Opens the store, runs `body`, closes the store, and maps store failures to exit codes. */
async function withStore(options: StoreOptions, io: Io, setExit: (code: number) => void, body: (store: EventStore) => Promise<number>): Promise<void> {
  const store = openStore(options);
  try {
    setExit(await body(store));
  } catch (err) {
    const code = reportStoreError(err, io);
    if (code === undefined) throw err;
    setExit(code);
  } finally {
    await store.close();
  }
}

function printOutcome(io: Io, options: CommonOptions, id: string, outcome: CommandOutcome): number {
  const now = new Date().toISOString();
  if (outcome.outcome === 'rejected') {
    if (options.json === true) printJson(io, { outcome: 'rejected', migration: id, invariant: outcome.rejection.invariant, message: outcome.rejection.message });
    else io.err(`refused (${outcome.rejection.invariant}): ${outcome.rejection.message}`);
    return ExitCode.findings;
  }
  const view = statusView(outcome.state, now);
  if (options.json === true) {
    printJson(io, { outcome: 'accepted', migration: id, replayed: outcome.replayed, version: outcome.version, events: outcome.events, status: view ?? null });
    return ExitCode.ok;
  }
  const lines = historyView(outcome.events).map((h) => `${outcome.replayed ? 'already done' : 'done'}: ${h.summary}`);
  if (outcome.replayed) lines.unshift('this command id was handled before; nothing new was appended');
  if (view !== undefined) lines.push(`next: ${describeNext(view)}`);
  io.out(lines.join('\n'));
  return ExitCode.ok;
}

function describeNext(view: MigrationStatusView): string {
  const next = view.next.action === 'none' ? 'nothing (migration is ' + view.status + ')' : `${view.next.action}${view.next.step ? ` ${view.next.step}` : ''}`;
  return view.blockedBy ? `${next} — blocked (${view.blockedBy.invariant}): ${view.blockedBy.message}` : next;
}

function renderStatus(view: MigrationStatusView, heading?: string): string {
  const out: string[] = [];
  if (heading !== undefined) out.push(heading);
  out.push(`${view.id} — ${view.title}`);
  out.push(`status:  ${view.status}${view.since ? ` since ${view.since}` : ''}${view.pausedReason ? ` (${view.pausedReason})` : ''}, version ${view.version}`);
  if (view.live) {
    const l = view.live;
    out.push(`live:    ${l.step} in ${l.stage} (phase ${l.phase}) since ${l.startedAt}; bake ${l.bakeRemainingMinutes === 0 ? 'done' : `${l.bakeRemainingMinutes}m left`}; gate ${l.gate}`);
  }
  out.push(`next:    ${describeNext(view)}`);
  out.push('');
  const phaseHeads = view.stages[0]?.phases.map((p) => `phase ${p.phase} ${p.name}`) ?? [];
  out.push(
    table(
      ['stage', ...phaseHeads, 'token read', 'priorities', 'token write', 'service tier', 'rules'],
      view.stages.map((s) => [
        s.stage,
        ...s.phases.map((p) => p.status),
        s.liveFlags.tokenReadMode,
        s.liveFlags.priorityScheme,
        s.liveFlags.tokenWriteMode,
        s.liveFlags.serviceTierMode,
        s.liveFlags.rulesVersion,
      ]),
    ),
  );
  return out.join('\n');
}

function parseAlarms(values: readonly string[]): Record<string, AlarmState> {
  const alarms: Record<string, AlarmState> = {};
  for (const v of values) {
    const [name, state] = v.split('=');
    if (!name || !state || !(ALARM_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`--alarm takes NAME=STATE with STATE one of ${ALARM_STATES.join(', ')}; got "${v}"`);
    }
    alarms[name] = state as AlarmState;
  }
  return alarms;
}

function checkInstant(text: string, option: string): string {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`${option} must be an ISO-8601 instant such as 2026-01-05T09:00:00Z, got "${text}"`);
  return new Date(t).toISOString();
}

export const registerMigrate: Register = (program, io, setExit) => {
  const migrate = program
    .command('migrate')
    .description('Run a migration as an event-sourced rollout: plan, advance stage by stage, roll back, audit.')
    .addHelpText(
      'after',
      `
Every change is an event appended to the migration's stream; every rule of the rollout is
checked before an event is written, and a refused command prints the rule it would break
(exit 1). The file store (.prio/ here) needs no setup; --store dynamodb uses a table made by
\`prio store init\`.

Example session:
  prio migrate plan migrations/001-legacy-4-to-7-tier.json
  prio migrate advance 001-legacy-4-to-7-tier              # starts beta-dual-read
  prio migrate evidence 001-legacy-4-to-7-tier --report out/report.json \\
      --alarm beta-dispatch-errors=OK --alarm beta-token-rejects=OK
  prio migrate advance 001-legacy-4-to-7-tier              # completes it once baked
  prio migrate status 001-legacy-4-to-7-tier
  prio migrate history 001-legacy-4-to-7-tier --at 2026-01-05T12:00:00Z
  prio migrate rollback 001-legacy-4-to-7-tier --to beta-dual-read --reason "token rejects"`,
    );

  const send = async (id: string, options: CommonOptions, build: (at: string, actor: string) => MigrationCommand) =>
    withStore(options, io, setExit, async (store) => {
      const command = build(new Date().toISOString(), options.actor ?? defaultActor());
      const outcome = await handleCommand(id, command, { store, commandId: options.commandId ?? randomUUID(), clock: () => new Date() });
      return printOutcome(io, options, id, outcome);
    });

  common(
    migrate
      .command('plan')
      .description('Validate a migration definition and record it as a new migration.')
      .argument('<file>', 'definition, e.g. migrations/001-legacy-4-to-7-tier.json')
      .addHelpText('after', '\nExample:\n  prio migrate plan migrations/001-legacy-4-to-7-tier.json --store dynamodb --table prio-events'),
    { writes: true },
  ).action(async (file: string, options: CommonOptions) => {
    // Gate files are named relative to the package root (where shadow/gates lives) or the current directory.
    const gateExists = (gate: string) => existsSync(resolve(gate)) || existsSync(resolve(PACKAGE_ROOT, gate));
    const plan = parseMigrationDefinition(readJsonFile(file), file, { gateExists });
    await send(plan.id, options, (at, actor) => ({ type: 'plan', plan, at, actor, reason: `planned from ${file}` }));
  });

  common(
    migrate
      .command('status')
      .description('What is live in each stage and phase, what comes next, and what blocks it. Without ID: every migration in the store.')
      .argument('[id]', 'migration id')
      .addHelpText('after', '\nExamples:\n  prio migrate status\n  prio migrate status 001-legacy-4-to-7-tier --json'),
    { writes: false },
  ).action(async (id: string | undefined, options: CommonOptions) =>
    withStore(options, io, setExit, async (store) => {
      const now = new Date().toISOString();
      if (id === undefined) {
        const views = await listMigrations(store, now);
        if (options.json === true) printJson(io, views);
        else if (views.length === 0) io.out(`no migrations in ${describeStore(options)}; start one with: prio migrate plan FILE`);
        else io.out(table(['migration', 'status', 'live step', 'next', 'blocked by'], views.map((v) => [v.id, v.status, v.live?.step ?? '-', v.next.step ?? v.next.action, v.blockedBy?.invariant ?? '-'])));
        return ExitCode.ok;
      }
      const view = statusView(await rebuildMigration(store, id), now);
      if (view === undefined) throw new UsageError(`no migration "${id}" in ${describeStore(options)}; plan it first: prio migrate plan FILE`);
      if (options.json === true) printJson(io, view);
      else io.out(renderStatus(view));
      return ExitCode.ok;
    }),
  );

  common(
    migrate
      .command('history')
      .description('The timeline of a migration: who did what, when, why, on what evidence. With --at: the state as it was then.')
      .argument('<id>', 'migration id')
      .option('--at <iso>', 'show the state at this past instant and the events up to it')
      .addHelpText('after', '\nExample:\n  prio migrate history 001-legacy-4-to-7-tier --at 2026-01-05T12:00:00Z'),
    { writes: false },
  ).action(async (id: string, options: CommonOptions & { at?: string }) =>
    withStore(options, io, setExit, async (store) => {
      const at = options.at === undefined ? undefined : checkInstant(options.at, '--at');
      const { events, state } = await loadMigration(store, id);
      if (state.plan === undefined) throw new UsageError(`no migration "${id}" in ${describeStore(options)}`);
      const shown = at === undefined ? events : events.slice(0, eventsUpTo(events, at));
      const history = historyView(shown);
      const past = at === undefined ? undefined : statusView(stateAt(events, at), at);
      if (options.json === true) {
        printJson(io, { migration: id, ...(at !== undefined ? { at, state: past ?? null } : {}), history });
        return ExitCode.ok;
      }
      const out: string[] = [];
      if (at !== undefined) out.push(past === undefined ? `as of ${at}: not planned yet` : renderStatus(past, `as of ${at}:`), '');
      out.push(
        table(
          ['#', 'at', 'actor', 'what', 'reason'],
          history.map((h) => [h.version, h.at, h.actor, h.summary + (h.evidence && !h.evidence.passed ? ` — ${h.evidence.failures.join('; ')}` : ''), h.reason ?? '']),
        ),
      );
      io.out(out.join('\n'));
      return ExitCode.ok;
    }),
  );

  common(
    migrate
      .command('advance')
      .description('Take the next step: complete the live step (once baked with a passing gate) or start the next one.')
      .argument('<id>', 'migration id')
      .addHelpText('after', '\nRefused with the rule it would break, e.g. phase 2 before phase 1 is done everywhere.\nExample:\n  prio migrate advance 001-legacy-4-to-7-tier'),
    { writes: true },
  ).action(async (id: string, options: CommonOptions) => send(id, options, (at, actor) => ({ type: 'advance', at, actor })));

  common(
    migrate
      .command('start')
      .description('Start a named step (advance picks the next one for you).')
      .argument('<id>', 'migration id')
      .argument('<step>', 'step id from the definition')
      .addHelpText('after', '\nExample:\n  prio migrate start 001-legacy-4-to-7-tier beta-dual-read'),
    { writes: true },
  ).action(async (id: string, step: string, options: CommonOptions) => send(id, options, (at, actor) => ({ type: 'startStep', stepId: step, at, actor })));

  common(
    migrate
      .command('evidence')
      .description("Attach gate evidence to the live step: a shadow report.json (totals, outcomes) and its gate verdict, plus alarm states.")
      .argument('<id>', 'migration id')
      .requiredOption('--report <file>', 'shadow report.json')
      .option('--verdict <file>', 'gate verdict JSON (e.g. the output of prio shadow gate --json); default: gate.json beside the report, as prio shadow replay --gate writes it')
      .option('--alarm <name=state>', `alarm state (${ALARM_STATES.join(', ')}); repeat for each alarm of the step's gate`, (v: string, acc: string[]) => [...acc, v], [] as string[])
      .addHelpText('after', '\nExample:\n  prio migrate evidence 001-legacy-4-to-7-tier --report out/report.json --verdict out/gate.json \\\n      --alarm beta-dispatch-errors=OK --alarm beta-token-rejects=OK'),
    { writes: true },
  ).action(async (id: string, options: CommonOptions & { report: string; verdict?: string; alarm: string[] }) => {
    // `prio shadow replay --gate` writes its verdict as gate.json beside report.json; use it
    // when no verdict file is named, so the replay's output directory is evidence as it stands.
    const besideReport = join(dirname(options.report), 'gate.json');
    const verdictFile = options.verdict ?? (existsSync(besideReport) ? besideReport : undefined);
    const evidence = parseEvidence({
      report: readJsonFile(options.report),
      reportFile: options.report,
      ...(verdictFile !== undefined ? { verdict: readJsonFile(verdictFile), verdictFile } : {}),
      alarms: parseAlarms(options.alarm),
    });
    await send(id, options, (at, actor) => ({ type: 'attachEvidence', evidence, at, actor }));
  });

  common(
    migrate
      .command('rollback')
      .description('Return to an earlier completed step, or to "start" (before the first step). Always allowed on a live migration; readers keep accepting both formats.')
      .argument('<id>', 'migration id')
      .requiredOption('--to <step>', 'completed step to return to, or "start" to undo every step')
      .requiredOption('--reason <text>', 'why (recorded in the history)')
      .addHelpText('after', '\nExample:\n  prio migrate rollback 001-legacy-4-to-7-tier --to beta-dual-read --reason "token rejects in preprod"'),
    { writes: true },
  ).action(async (id: string, options: CommonOptions & { to: string; reason: string }) =>
    send(id, options, (at, actor) => ({ type: 'rollback', toStep: options.to, reason: options.reason, at, actor })),
  );

  common(
    migrate
      .command('withdraw')
      .description('Take back the live step before its flags were deployed: it returns to pending and the live flags stay as they were. Once a deployment has started, roll back instead.')
      .argument('<id>', 'migration id')
      .requiredOption('--reason <text>', 'why (recorded in the history)')
      .option('--step <step>', 'the live step (default: whichever is live); refused if it is not the live one')
      .option('--pause', 'also pause the migration, so nothing starts again until it is resumed')
      .addHelpText('after', '\nprio rollout run withdraws a step itself when its gate fails; this is the same command by hand.\nExample:\n  prio migrate withdraw 001-legacy-4-to-7-tier --reason "gate replay used the wrong log" --pause'),
    { writes: true },
  ).action(async (id: string, options: CommonOptions & { reason: string; step?: string; pause?: boolean }) =>
    send(id, options, (at, actor) => ({
      type: 'withdrawStep',
      reason: options.reason,
      ...(options.step !== undefined ? { stepId: options.step } : {}),
      ...(options.pause === true ? { pause: true } : {}),
      at,
      actor,
    })),
  );

  for (const [name, description] of [
    ['pause', 'Hold the migration: no step starts or completes until it is resumed (rollback stays possible).'],
    ['resume', 'Continue a paused migration.'],
    ['abort', 'Stop the migration for good; nothing happens to it afterwards.'],
    ['complete', 'Mark the migration complete once every step has completed.'],
  ] as const) {
    common(
      migrate
        .command(name)
        .description(description)
        .argument('<id>', 'migration id')
        .option('--reason <text>', 'why (recorded in the history)')
        .addHelpText('after', `\nExample:\n  prio migrate ${name} 001-legacy-4-to-7-tier --reason "change freeze"`),
      { writes: true },
    ).action(async (id: string, options: CommonOptions & { reason?: string }) =>
      send(id, options, (at, actor) => ({ type: name, at, actor, ...(options.reason !== undefined ? { reason: options.reason } : {}) })),
    );
  }

  common(
    migrate
      .command('drive')
      .description("Run a controller: hold the migration's lease (the file store's lease file, or DynamoDB's lease item) and advance whenever the rules allow, until done.")
      .argument('<id>', 'migration id')
      .option('--owner <name>', 'controller name recorded as actor (default host/pid)')
      .option('--lease-ttl <ms>', 'lease lifetime; another controller takes over this long after this one dies', '3000')
      .option('--tick <ms>', 'how often to renew the lease and try to advance', '500')
      .addHelpText('after', '\nWith --json each line of output is one JSON report (acquired, appended, blocked, fenced, ...).\nExamples:\n  prio migrate drive 001-legacy-4-to-7-tier\n  prio migrate drive 001-legacy-4-to-7-tier --store dynamodb --table prio-events --endpoint http://127.0.0.1:8000'),
    { writes: false },
  ).action(async (id: string, options: CommonOptions & { owner?: string; leaseTtl: string; tick: string }) => {
    const ttl = Number(options.leaseTtl);
    const tick = Number(options.tick);
    if (!(ttl > 0) || !(tick > 0) || tick >= ttl) throw new UsageError('--lease-ttl and --tick must be positive milliseconds, with --tick below --lease-ttl');
    const owner = options.owner ?? `${hostname()}/${process.pid}`;
    await withStore(options, io, setExit, async (store) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const ended = await runController(
          { migrationId: id, owner, leaseTtlMs: ttl, tickMs: tick, signal: stop.signal },
          {
            store,
            leases: store as EventStore & LeaseManager,
            clock: () => new Date(),
            sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
            newId: () => randomUUID(),
            report: (r) => {
              if (options.json === true) io.out(JSON.stringify({ ...r, owner, at: new Date().toISOString() }));
              else io.out(`${new Date().toISOString()} ${owner} ${r.kind}${describeReport(r)}`);
            },
          },
        );
        // Finished (completed/aborted) and stopped by a signal are both normal ends of a controller.
        return ended === 'finished' || ended === 'stopped' ? ExitCode.ok : ExitCode.findings;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  });
};

function describeReport(r: Parameters<Parameters<typeof runController>[1]['report']>[0]): string {
  switch (r.kind) {
    case 'waiting':
      return `: lease held by ${r.holder} until ${new Date(r.expiresAt).toISOString()}`;
    case 'acquired':
    case 'lost':
    case 'fenced':
      return ` (fencing token ${r.token})`;
    case 'appended':
      return `: ${r.events.join(', ')} at version ${r.version} (token ${r.token})`;
    case 'blocked':
      return ` (${r.rejection.invariant}): ${r.rejection.message}`;
    case 'finished':
      return `: migration ${r.status}`;
    case 'error':
      return `: ${r.message} (retrying)`;
    case 'stopped':
      return '';
  }
}

