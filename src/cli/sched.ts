/**
 * `prio sched …`: the scheduler's commands. `simulate` replays a request log through the
 * dispatch core in virtual time under one or more rule sets and reports per-tier latency.
 */
import { join, relative } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_RULES_DIR, loadDomain, loadRuleSet, readJsonFile } from '../config/index.js';
import { FailClosedError } from '../rules/index.js';
import { parseCapacity, parseLogLines, simulate, type SimulationReport, type TierAssignment } from '../scheduler/index.js';
import { readNdjsonLines } from '../shadow/index.js';
import { ExitCode, noteStdinAtTerminal, printJson, table, UsageError, type Io } from './output.js';
import type { Register } from './main.js';

interface SimulateOptions {
  log: string;
  rules: string[];
  capacity: string;
  seed: number;
  serviceMeanMs: number;
  deadlineMs?: number;
  rulesDir?: string;
  json?: boolean;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

export const registerSched: Register = (program, io, setExit) => {
  const sched = program
    .command('sched')
    .description('The dispatch loop: simulate how a mapping schedules recorded traffic.')
    .addHelpText('after', '\nExample:\n  $ prio sched simulate --log shadow/samples/requests.ndjson --rules rules/legacy.json --rules rules/service_tier.json\n');
  sched
    .command('simulate')
    .summary('Replay a request log through the scheduler core in virtual time; per-tier wait, throughput, drops.')
    // One paragraph, no hard line breaks: commander wraps it to the terminal's width.
    .description(
      [
        'Replay a request log through the scheduler core in virtual time and report, per tier, queue wait p50/p95/p99,',
        'throughput and shed/throttled/expired/preempted counts. Arrivals come from the log timestamps; service times',
        "from each record's serviceTimeMs or a seeded exponential distribution, so the same seed gives the same report.",
        'Give --rules more than once to compare mappings. Requests the rules fail closed on and lines that are not',
        'records are counted, never dropped.',
      ].join(' '),
    )
    .requiredOption('--log <file>', 'request log: NDJSON, .gz, a named pipe, or - for stdin (one request record per line)')
    .option('--rules <file>', 'rule set mapping requests to tiers (repeat to compare; at least one)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(
      new Option('--capacity <file>', 'capacity file: per-variant limits, reserved units, account token buckets').default(DEFAULT_CAPACITY, 'rules/simulate-capacity.json, shipped with prio'),
    )
    .option('--seed <n>', 'seed for drawn service times', nonNegativeInt, 1)
    .option('--service-mean-ms <ms>', 'mean of the exponential service time for records without serviceTimeMs', positiveNumber, 200)
    .option('--deadline-ms <ms>', 'queue deadline for records without deadlineMs (default: none)', positiveNumber)
    .option('--rules-dir <dir>', 'directory with catalog.json and priorities.json (default: the packaged rules/)')
    .option('--json', 'print the reports as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  prio sched simulate --log shadow/samples/requests.ndjson \\\n' +
        '    --rules rules/legacy.json --rules rules/service_tier.json \\\n' +
        '    --seed 7\n' +
        '  zcat day.ndjson.gz | prio sched simulate --log - --rules rules/service_tier.json --capacity my-capacity.json\n',
    )
    .action(async (options: SimulateOptions) => {
      setExit(await runSimulate(options, io));
    });
};

/** The capacity file shipped with the package, used when --capacity is not given. */
const DEFAULT_CAPACITY = join(DEFAULT_RULES_DIR, 'simulate-capacity.json');

async function runSimulate(options: SimulateOptions, io: Io): Promise<number> {
  if (options.rules.length === 0) {
    throw new UsageError('nothing to simulate: give --rules FILE (repeat it to compare mappings), e.g. --rules rules/legacy.json --rules rules/service_tier.json');
  }
  const domain = loadDomain(options.rulesDir);
  const capacity = parseCapacity(readJsonFile(options.capacity), options.capacity);
  const ruleSets = options.rules.map((file) => ({ file, compiled: loadRuleSet(file, domain) }));
  if (options.log === '-') noteStdinAtTerminal(io, 'the request log (NDJSON or gzip)');
  const read = await readNdjsonLines(options.log);
  const log = parseLogLines(read.lines);
  if (log.requests.length + log.quarantined.length === 0) throw new UsageError(`${options.log}: no request records: nothing to simulate`);
  if (read.damage !== undefined) io.err(`error: ${options.log}: ${read.damage}`);
  const tiers = domain.scale.tiers.map((t) => ({ name: t.name, weight: t.weight }));

  const runs = ruleSets.map(({ file, compiled }) => {
    const assign = (request: { attributes: Parameters<typeof compiled.evaluate>[0] }): TierAssignment => {
      try {
        const outcome = compiled.evaluate(request.attributes);
        return { tier: outcome.tier.rank, preemptable: outcome.preemptable };
      } catch (err) {
        if (err instanceof FailClosedError) return { failClosed: err.code };
        throw err;
      }
    };
    const report = simulate({
      requests: log.requests,
      assign,
      capacity,
      tiers,
      seed: options.seed,
      meanServiceMs: options.serviceMeanMs,
      ...(options.deadlineMs === undefined ? {} : { defaultDeadlineMs: options.deadlineMs }),
    });
    return { rules: file, ruleSet: compiled.name, report };
  });

  const quarantined = { total: log.quarantined.length, lines: log.quarantined.slice(0, 20) };
  // A damaged log is simulated as far as it goes, and says so in its exit status.
  const exit = read.damage === undefined ? ExitCode.ok : ExitCode.findings;
  if (options.json) {
    printJson(io, { log: options.log, capacity: relative(process.cwd(), options.capacity) || options.capacity, seed: options.seed, quarantined, damaged: read.damage ?? null, runs });
    return exit;
  }
  for (const q of quarantined.lines) io.err(`${options.log}:${q.line}: quarantined: ${q.reason}`);
  if (quarantined.total > quarantined.lines.length) io.err(`… ${quarantined.total - quarantined.lines.length} more quarantined lines`);
  io.out(`log ${options.log}: ${log.requests.length + quarantined.total} lines, ${quarantined.total} quarantined; seed ${options.seed}`);
  for (const run of runs) io.out(`\n${describeRun(run.rules, run.ruleSet, run.report)}`);
  return exit;
}

function describeRun(file: string, name: string, r: SimulationReport): string {
  const fmt = (n: number | undefined) => (n === undefined ? '-' : String(Math.round(n)));
  const rows = r.tiers.map((t) => [
    t.tier,
    t.weight,
    t.arrived,
    t.completed,
    t.shed,
    t.throttled,
    t.expired,
    t.preempted,
    fmt(t.waitMs?.p50),
    fmt(t.waitMs?.p95),
    fmt(t.waitMs?.p99),
    t.throughputPerSec.toFixed(1),
  ]);
  const reasons = Object.entries(r.failClosed.byReason).map(([k, v]) => `${k} ${v}`).join(', ');
  const models = Object.entries(r.unknownVariant.byModel).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `rules ${file} (${name}): ${r.scheduled} of ${r.requests} scheduled over ${(r.durationMs / 1000).toFixed(1)} s virtual`,
    table(['tier', 'weight', 'arrived', 'completed', 'shed', 'throttled', 'expired', 'preempted', 'wait p50 ms', 'p95 ms', 'p99 ms', 'done/s'], rows),
    `fail-closed: ${r.failClosed.total}${reasons ? ` (${reasons})` : ''}; unknown variant: ${r.unknownVariant.total}${models ? ` (${models})` : ''}`,
  ].join('\n');
}
