/**
 * `npm run gameday [-- --only ID,ID] [--ci] [--out DIR] [--list]`: starts the services every
 * scenario may use (the test setup's: Kafka, DynamoDB Local, `prio appconfig local`, Toxiproxy),
 * runs the scenarios one by one, prints each verdict and writes the game-day report (report.md,
 * report.html, results.json) into the output directory.
 *
 * SIGINT or SIGTERM stops the scenario running (its signal is aborted and its clean-up runs),
 * writes the report of what ran and exits 1. Exit 0 when every scenario passed, 1 otherwise,
 * 2 on a usage error (an unknown id, a bad option) or when the scenarios cannot be loaded.
 */
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { Toxiproxy } from 'toxiproxy-node-client';
import setup from '../support/global-setup.js';
import type { GameDayReport } from './report.js';
import { writeGameDayReport } from './report-files.js';
import { loadScenarios, runScenario, type ScenarioRun } from './runner.js';
import type { Scenario } from './scenario.js';

interface Options {
  readonly only?: string;
  readonly ci?: boolean;
  readonly out: string;
  readonly list?: boolean;
}

const program = new Command('npm run gameday --')
  .description('Inject real faults into a local prio fleet, scenario by scenario, and write a game-day report.')
  .option('--only <ids>', 'run only these scenarios (comma-separated ids)')
  .option('--ci', 'run only the fast CI subset (scenarios marked ci)')
  .option('--out <dir>', 'where report.md, report.html and results.json go', 'reports/gameday')
  .option('--list', 'list the scenarios (id, family, CI subset) and exit')
  .addHelpText(
    'after',
    `
Examples:
  npm run gameday                                     # every scenario, report in reports/gameday/
  npm run gameday -- --only appconfig-corrupt-document,appconfig-alarm-rollback --out /tmp/gd
  npm run gameday -- --ci                             # the subset .ci/run runs
  npm run gameday -- --list

Exit codes: 0 every scenario passed, 1 one failed or the run was interrupted (SIGINT/SIGTERM:
the scenario running is stopped and cleaned up, the report of what ran is written), 2 usage error.`,
  )
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

function usage(message: string): never {
  console.error(`gameday: ${message}`);
  process.exit(2);
}

let options: Options;
try {
  options = program.parse(process.argv).opts<Options>();
} catch (err) {
  // --help and --version end here with exit code 0; a bad option already printed its one line.
  process.exit(err instanceof CommanderError ? (err.exitCode === 0 ? 0 : 2) : 2);
}

let all: Scenario[];
try {
  all = await loadScenarios();
} catch (err) {
  usage(`cannot load the scenarios: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
}

if (options.list === true) {
  const width = Math.max(2, ...all.map((s) => s.id.length));
  console.log(`${'id'.padEnd(width)}  ${'family'.padEnd(8)}  ci`);
  for (const s of all) console.log(`${s.id.padEnd(width)}  ${s.family.padEnd(8)}  ${s.ci ? 'yes' : '-'}`);
  console.log(`${all.length} scenarios, ${all.filter((s) => s.ci).length} in the CI subset`);
  process.exit(0);
}

const only = options.only === undefined ? undefined : new Set(options.only.split(',').map((s) => s.trim()).filter(Boolean));
if (only !== undefined && only.size === 0) usage('--only needs at least one scenario id (see --list)');
const unknown = only === undefined ? [] : [...only].filter((id) => !all.some((s) => s.id === id));
if (unknown.length > 0) usage(`no scenario ${unknown.join(', ')} (npm run gameday -- --list shows the ${all.length} there are)`);
const chosen = all.filter((s) => (only === undefined || only.has(s.id)) && (options.ci !== true || s.ci));
if (chosen.length === 0) usage('no scenario matches (see --list)');
const outDir = resolve(options.out);

// A signal stops the scenario in progress; its clean-up and the report still happen. A second
// signal while that clean-up runs exits at once — unless it comes within a second of the first:
// Ctrl-C under `npm run` delivers SIGINT twice, from the terminal and forwarded by npm.
const interrupt = new AbortController();
let firstSignalAt = 0;
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupt.signal.aborted && Date.now() - firstSignalAt < 1_000) return;
  if (interrupt.signal.aborted) {
    console.error(`gameday: ${signal} again, exiting without waiting for clean-up`);
    process.exit(1);
  }
  console.error(`gameday: ${signal}: stopping the scenario in progress, cleaning up, writing the report`);
  firstSignalAt = Date.now();
  interrupt.abort(signal);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const runs: ScenarioRun[] = [];
let teardown: (() => Promise<void>) | undefined;
try {
  teardown = await setup();
  const services = {
    kafkaBrokers: process.env.KAFKA_BROKERS as string,
    dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT as string,
    appConfigEndpoint: process.env.APPCONFIG_ENDPOINT as string,
    toxiproxy: new Toxiproxy(process.env.TOXIPROXY_URL as string),
  };
  for (const scenario of chosen) {
    if (interrupt.signal.aborted) break;
    console.log(`▶ ${scenario.id}: ${scenario.title}`);
    const run = await runScenario(scenario, { services, outDir, signal: interrupt.signal, onLog: (_s, line) => console.log(`  ${line}`) });
    runs.push(run);
    console.log(`${run.passed ? '✔' : '✘'} ${scenario.id} (${(run.durationMs / 1000).toFixed(1)} s)${run.failure === undefined ? '' : `: ${run.failure}`}`);
  }
} catch (err) {
  console.error(`gameday: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  if (!interrupt.signal.aborted) interrupt.abort('a failure to start the services');
} finally {
  await teardown?.().catch((err: unknown) => console.error(`gameday: stopping the services: ${err instanceof Error ? err.message : String(err)}`));
}

const interrupted = interrupt.signal.aborted ? String(interrupt.signal.reason) : undefined;
const report: GameDayReport = {
  generatedAt: new Date().toISOString(),
  command: ['npm run gameday --', ...process.argv.slice(2)].join(' '),
  runs,
  ...(interrupted === undefined ? {} : { interrupted, notRun: chosen.filter((s) => !runs.some((r) => r.scenario.id === s.id)).map((s) => s.id) }),
};
try {
  const files = writeGameDayReport(outDir, report);
  console.log(`report: ${files.html} (also ${files.markdown}, ${files.json})`);
} catch (err) {
  console.error(`gameday: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
const failed = runs.filter((r) => !r.passed);
console.log(`${runs.length - failed.length}/${runs.length} scenarios passed${interrupted === undefined ? '' : ` (interrupted by ${interrupted}, ${chosen.length - runs.length} not run)`}`);
process.exit(failed.length === 0 && interrupted === undefined ? 0 : 1);
