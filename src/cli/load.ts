/**
 * `prio load`: open-loop load over one or more `prio serve` instances with sticky sessions
 * bouncing between them; per-tier latency, status counts and mis-ranked sessions (src/load).
 */
import { InvalidArgumentError, Option } from 'commander';
import { NONE, parseMix, runLoad, TargetUnavailable, type LoadReport } from '../load/index.js';
import type { Register } from './main.js';
import { ExitCode, printJson, table, UsageError, type Io } from './output.js';

interface LoadCliOptions {
  target: string[];
  mode: 'gateway' | 'decide';
  rate: number;
  duration?: number;
  requests?: number;
  sessions: number;
  accounts: number;
  classifications: string;
  serviceTiers: string;
  requestTypes: string;
  models: string;
  seed: number;
  stream?: boolean;
  allowStatus: number[];
  timeoutMs: number;
  json?: boolean;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

function seconds(value: string): number {
  return positiveNumber(value) * 1000;
}

function targetUrl(value: string, previous: string[]): string[] {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:') throw new Error('not http');
  } catch {
    throw new InvalidArgumentError(`not an http URL: ${value}`);
  }
  return [...previous, value.replace(/\/$/, '')];
}

function statusList(value: string, previous: number[]): number[] {
  const codes = value.split(',').map(Number);
  if (codes.some((c) => !Number.isInteger(c) || c < 100 || c > 599)) throw new InvalidArgumentError('must be HTTP status codes, e.g. 503');
  return [...previous, ...codes];
}

export const registerLoad: Register = (program, io, setExit) => {
  program
    .command('load')
    .summary('Open-loop load over prio serve instances: per-tier latency, status counts, mis-ranked sessions.')
    .description(
      [
        'Send requests at a fixed rate (open loop: latency is measured from the intended send time, so a slow server cannot hide',
        'behind a slower send rate) to one or more prio serve instances. Sticky sessions bounce between the targets round robin,',
        'each carrying the token the last answer handed back; a session whose tier differs between two answers while no',
        "target's configuration changed is mis-ranked. Exits 1 when a request failed unexpectedly (anything but 2xx and 429,",
        'unless --allow-status) or a session was mis-ranked.',
      ].join(' '),
    )
    .requiredOption('--target <url>', 'a prio serve base URL (repeat for a fleet)', targetUrl, [] as string[])
    .addOption(new Option('--mode <mode>', 'gateway requests or POST /v1/decide').choices(['gateway', 'decide']).default('gateway'))
    .option('--rate <n>', 'requests per second, all targets together', positiveNumber, 100)
    .option('--duration <s>', 'send for this many seconds', seconds)
    .option('--requests <n>', 'send this many requests', nonNegativeInt)
    .option('--sessions <n>', 'sticky sessions in the pool', nonNegativeInt, 100)
    .option('--accounts <n>', 'distinct accounts', nonNegativeInt, 20)
    .option('--classifications <mix>', 'classification mix, NAME:WEIGHT,...', 'ON_DEMAND:6,PREMIUM_ON_DEMAND:1,PTV1:1,BATCH:1,FLEX:1')
    .option('--service-tiers <mix>', `service tier mix (${NONE}: no header)`, 'DEFAULT:4,PRIORITY:1,FLEX:1,none:2')
    .option('--request-types <mix>', `request type mix (${NONE}: no header)`, 'none:4,ON_DEMAND:2,BATCH:1')
    .option('--models <list>', 'models, comma-separated', 'model-a')
    .option('--seed <n>', 'seed of the session mix', nonNegativeInt, 1)
    .option('--stream', 'ask the gateway for streamed answers')
    .option('--allow-status <codes>', 'statuses that are not failures besides 2xx and 429 (comma-separated, repeatable)', statusList, [] as number[])
    .option('--timeout-ms <ms>', 'per-request timeout', positiveNumber, 30_000)
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExample:\n  prio load --target http://127.0.0.1:8080 --target http://127.0.0.1:8081 --rate 500 --duration 10 --sessions 200\n')
    .action(async (options: LoadCliOptions) => {
      setExit(await runLoadCommand(options, io));
    });
};

async function runLoadCommand(options: LoadCliOptions, io: Io): Promise<number> {
  if (options.duration === undefined && options.requests === undefined) throw new UsageError('give --duration, --requests, or both');
  let mixes;
  try {
    mixes = {
      classifications: parseMix(options.classifications),
      serviceTiers: parseMix(options.serviceTiers, true),
      requestTypes: parseMix(options.requestTypes, true),
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const models = options.models.split(',').map((m) => m.trim()).filter((m) => m !== '');
  if (models.length === 0) throw new UsageError('--models names no model');
  // SIGINT or SIGTERM ends the run early and still prints its report (a rehearsal stops its load this way).
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let report: LoadReport;
  try {
    report = await runLoad({
      signal: stop.signal,
      targets: options.target,
      mode: options.mode,
      rate: options.rate,
      ...(options.duration === undefined ? {} : { durationMs: options.duration }),
      ...(options.requests === undefined ? {} : { requests: options.requests }),
      sessions: options.sessions,
      accounts: Math.max(1, options.accounts),
      ...mixes,
      models,
      seed: options.seed,
      stream: options.stream === true,
      allowStatus: options.allowStatus,
      timeoutMs: options.timeoutMs,
      onNote: options.json ? undefined : (m) => io.err(m),
    });
  } catch (err) {
    if (!(err instanceof TargetUnavailable)) throw err;
    io.err(`error: ${err.message}`);
    return ExitCode.usage;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (options.json) printJson(io, report);
  else io.out(describe(report));
  return report.ok ? ExitCode.ok : ExitCode.findings;
}

function describe(r: LoadReport): string {
  const row = (name: string, s: LoadReport['latencyMs']['all']) => [name, s.count, s.p50.toFixed(2), s.p90.toFixed(2), s.p99.toFixed(2), s.p999.toFixed(2), s.max.toFixed(2)];
  const statuses = Object.entries(r.statuses)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `${r.sent} requests to ${r.targets.length} target(s) in ${(r.durationMs / 1000).toFixed(1)} s (${r.achievedRate}/s of ${r.rate}/s asked), mode ${r.mode}`,
    `statuses: ${statuses}; unexpected: ${r.unexpected}`,
    '',
    'latency from the intended send time (ms)',
    table(['tier', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'], [...Object.entries(r.latencyMs.byTier).map(([t, s]) => row(t, s)), row('all', r.latencyMs.all)]),
    '',
    `sessions: ${r.sessions.pool} in the pool, ${r.sessions.compared} compared, ${r.sessions.misRanked} mis-ranked, ${r.sessions.tierChanged} changed tier across a configuration change or not, ${r.sessions.sessionless} requests sent without a session`,
    ...r.sessions.examples.map((e) => `  mis-ranked ${e.session} (${e.account}, ${e.classification}): ${e.tiers.join(' → ')}`),
    `configuration versions seen: ${r.configVersionsSeen.join(', ') || '-'}`,
    r.ok ? 'ok' : 'FAILED: unexpected failures or mis-ranked sessions',
  ].join('\n');
}
