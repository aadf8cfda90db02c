/**
 * `prio shadow …`: replay recorded traffic against two rule sets, merge partial reports, apply
 * a gate, generate logs. Thin: parses options, opens sources and files at the edge, calls
 * src/shadow, prints a summary, returns an exit code.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_RULES_DIR, loadDomain, loadRuleSet, loadTokenKeyring, PACKAGE_ROOT, readJsonFile } from '../config/index.js';
import type { Domain } from '../catalog/index.js';
import {
  createProgress,
  defaultWorkerCount,
  fileSource,
  JOB_RECORDS,
  judgeParts,
  readJudgeSpec,
  generateRecords,
  MergeRefused,
  mergeReports,
  parseGate,
  readCheckpoint,
  resumeMismatch,
  runReplay,
  evaluateGate,
  aggregateFromReport,
  buildReport,
  describeDamage,
  type Checkpoint,
  type GateSpec,
  writeNdjson,
  type GateVerdict,
  type RecordSource,
  type ShadowReport,
} from '../shadow/index.js';
import { createTokenReader, createTokenWriter, type Keyring } from '../tokens/index.js';
import type { Register } from './main.js';
import { ExitCode, gateExitCode, interruptOnSignals, noteStdinAtTerminal, printJson, shellWord, table, UsageError, type Io } from './output.js';
import { addKafkaSourceOptions, kafkaSourceFromOptions, registerProduce } from './shadow-kafka.js';

export const DEFAULT_BASELINE = join(DEFAULT_RULES_DIR, 'legacy.json');
export const DEFAULT_CANDIDATE = join(DEFAULT_RULES_DIR, 'service_tier.json');
export const DEFAULT_GATE = join(PACKAGE_ROOT, 'shadow', 'gates', 'default.json');

const shown = (file: string): string => relative(process.cwd(), file) || file;

/**
 * The command line that resumes this run: the user's own arguments, without any earlier
 * --resume, plus --resume CHECKPOINT. Read from the root command's rawArgs (commander keeps
 * the argv it parsed there; its typings do not declare it).
 */
function resumeCommand(command: Command, checkpointFile: string): string {
  let root = command;
  while (root.parent !== null) root = root.parent;
  const args = ((root as unknown as { rawArgs?: string[] }).rawArgs ?? []).slice(2);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--resume') i += 1;
    else if (!a.startsWith('--resume=')) kept.push(a);
  }
  return ['prio', ...kept, '--resume', shown(checkpointFile)].map(shellWord).join(' ');
}

function positiveInt(what: string, min = 0) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${what} must be an integer >= ${min}, got "${text}"`);
    return n;
  };
}

// ---------------------------------------------------------------------------------------------
// Sources. A replay reads from exactly one source; `addSourceOptions` declares the options of
// every source and `selectSource` picks one from them. A new source (Kafka lives in
// src/shadow/sources/kafka.ts) adds its options in `addSourceOptions` and one branch in
// `selectSource`; nothing else in the replay command needs to change.

interface SourceOptions {
  file?: string;
  [option: string]: unknown;
}

function addSourceOptions(command: Command): Command {
  return addKafkaSourceOptions(command.option('--file <path>', 'NDJSON request log: a file, a named pipe, or - for stdin (gzip is decompressed, by name or by content)'));
}

/**
 * The source the options name, started at `resumeFrom` when resuming an interrupted run.
 * `stop` (SIGINT/SIGTERM) is handed to sources that may wait for long (a pipe, a followed topic).
 */
function selectSource(options: SourceOptions, resumeFrom?: Checkpoint, workers = 0, stop?: AbortSignal): RecordSource {
  if (options.file !== undefined && options.kafkaBrokers !== undefined) throw new UsageError('name one source: --file or --kafka-brokers');
  if (options.file !== undefined) {
    // Workers get whole jobs at once; one thread reads on in small batches, as before.
    return fileSource(options.file, {
      ...(resumeFrom === undefined ? {} : { resumeFrom }),
      ...(workers > 0 ? { batchSize: JOB_RECORDS } : {}),
      ...(stop === undefined ? {} : { signal: stop }),
    });
  }
  const kafka = kafkaSourceFromOptions(options, resumeFrom, stop);
  if (kafka !== undefined) return kafka;
  throw new UsageError('name a source: --file PATH, or --kafka-brokers H:P --topic T with --from-beginning or --from ISO');
}

// ---------------------------------------------------------------------------------------------

interface ReplayOptions extends SourceOptions {
  baseline: string;
  candidate: string;
  out: string;
  gate?: string;
  sampleSize: number;
  sampleSeed: number;
  keyFile?: string;
  tokenCheck: boolean;
  resume?: string;
  workers?: number;
  quiet?: boolean;
  json?: boolean;
}

function tokenReaders(domain: Domain, keyring: Keyring) {
  return { legacy: createTokenReader({ domain, keyring, mode: 'legacy' }), dual: createTokenReader({ domain, keyring, mode: 'dual' }) };
}

function keyringFor(keyFile: string | undefined, io: Io, use: 'verified' | 'signed' = 'verified'): Keyring {
  const loaded = loadTokenKeyring({ keyFile, allowDevelopmentKey: true });
  if (loaded.source === 'development') {
    io.err(`note: no --key-file and no PRIO_TOKEN_KEYS: session tokens are ${use} with ${loaded.origin} (fine for generated logs, not for production ones).`);
  }
  return loaded.keyring;
}

function loadGate(file: string | undefined): GateSpec | undefined {
  return file === undefined ? undefined : parseGate(readJsonFile(file), file);
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** The short human summary every shadow command prints. */
export function summarize(report: ShadowReport, verdict: GateVerdict | undefined): string {
  const lines: string[] = [];
  lines.push(`baseline fidelity: ${report.fidelity.status} (${pct(report.fidelity.rate)} of ${report.fidelity.checked} observed)`);
  if (report.fidelity.status !== 'reproduced') lines.push(`  ${report.fidelity.message}`);
  const damage = describeDamage(report.damage);
  if (damage !== undefined) {
    lines.push(`SOURCE DAMAGED: ${damage.replace(/^Source damaged: /, '')}`);
    for (const e of report.damage.events) lines.push(`  ${e.kind} ${e.where}: ${e.detail}`);
  }
  lines.push(`read ${report.totals.read}: compared ${report.totals.compared}, quarantined ${report.totals.quarantined}`);
  const reasons = Object.entries(report.quarantine.byReason);
  if (reasons.length > 0) lines.push(`  quarantined by reason (see ${report.quarantine.file}): ${reasons.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(
    table(
      ['outcome', 'records', 'share'],
      (['same', 'changed', 'baselineError', 'candidateError', 'bothError'] as const).map((k) => [k, report.outcomes[k], pct(report.shares[k])]),
    ),
  );
  const c = report.changes;
  lines.push(`changes: priority ${c.priority} (up ${c.upgrades}, down ${c.downgrades}), qos ${c.qos}, preemptable ${c.preemptable}`);
  const t = report.tokens;
  lines.push(`tokens: ${t.checked} checked, ${t.valid} valid, ${Object.values(t.mismatch).reduce((a, b) => a + b, 0)} legacy/dual mismatches`);
  if (verdict !== undefined) lines.push(formatVerdict(verdict));
  return lines.join('\n');
}

function formatVerdict(verdict: GateVerdict): string {
  if (verdict.passed) return `gate: PASSED (${verdict.checks.length} thresholds)`;
  return [`gate: FAILED (${verdict.failed.length} of ${verdict.checks.length} thresholds)`, ...verdict.failed.map((c) => `  ${c.threshold}: ${c.detail}`)].join('\n');
}

function registerReplay(shadow: Command, io: Io, setExit: (code: number) => void): void {
  const command = shadow
    .command('replay')
    .description('Replay a request log against the baseline and the candidate rule sets; write report.json/.md/.html and quarantine.ndjson to --out.');
  addSourceOptions(command)
    .addOption(new Option('--baseline <file>', 'rule set in force (what production runs)').default(DEFAULT_BASELINE, 'rules/legacy.json'))
    .addOption(new Option('--candidate <file>', 'rule set to roll out').default(DEFAULT_CANDIDATE, 'rules/service_tier.json'))
    .requiredOption('--out <dir>', 'directory for the reports')
    .option('--gate <file>', 'apply a gate file: exit 3 when a threshold fails (see shadow/gates/default.json)')
    .option('--sample-size <n>', 'records kept in the seeded sample of changed records', positiveInt('--sample-size'), 50)
    .option('--sample-seed <n>', 'seed of the sample (same seed, same sample)', positiveInt('--sample-seed'), 1)
    .option('--key-file <file>', 'token keys (kid:base64secret,...); default $PRIO_TOKEN_KEYS, else the public development key')
    .option('--no-token-check', 'do not verify session tokens')
    .option('--resume <checkpoint>', 'continue an interrupted replay from its checkpoint.json (same source, same --out)')
    .option(
      '--workers <n>',
      `worker threads that judge records; 0 judges in the main thread (default: min(4, cores), none on one core: ${defaultWorkerCount()} here)`,
      positiveInt('--workers'),
    )
    .option('--quiet', 'no progress output')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Every record read is either compared (same / changed / baselineError / candidateError /
bothError) or quarantined with its position and reason: read = compared + quarantined.
The same input always gives a byte-identical report.json (wall-clock facts live under "run").
Interrupted (Ctrl-C, SIGTERM, or a source that loses its input), the replay stops after the
batch in hand, writes checkpoint.json and report.partial.json/.md/.html, prints the command
that resumes it and exits 1. Reports are written under temporary names and renamed into
place, so the report of an earlier complete run in --out stays until a complete new one
replaces it. A second Ctrl-C exits at once (130) without a checkpoint.

Workers: the main thread reads the source and writes the quarantine in source order; worker
threads parse and judge. The first 20,000 records are judged in the main thread while the
workers start, so a small log never waits for them. Partial figures merge exactly: report.json
and quarantine.ndjson are byte-identical whatever --workers is.

Exit status: 0 done (gate passed), 3 gate failed, 1 replay interrupted or error, 2 usage or unreadable input.

Examples:
  $ prio shadow replay --file shadow/samples/requests.ndjson --out reports/shadow
  $ prio shadow replay --file logs/day.ndjson.gz --out out/day --gate shadow/gates/default.json --quiet
  $ prio shadow replay --file logs/day.ndjson --out out/day --workers 0     # one thread`,
    )
    .action(async (options: ReplayOptions, command: Command) => {
      const workers = options.workers ?? defaultWorkerCount();
      // One spec for this thread's judge and every worker's: they judge alike by construction.
      const spec = readJudgeSpec({
        baselineFile: options.baseline,
        candidateFile: options.candidate,
        ...(options.tokenCheck ? { keyring: keyringFor(options.keyFile, io) } : {}),
      });
      const { domain, baseline, candidate, tokens } = judgeParts(spec);
      const gate = loadGate(options.gate);
      const resumed = options.resume === undefined ? undefined : readCheckpoint(options.resume);
      if (options.file === '-') noteStdinAtTerminal(io, 'the request log (NDJSON or gzip)');
      const stop = interruptOnSignals();
      try {
        await replayOnce(stop.signal);
      } finally {
        stop.dispose();
      }
      async function replayOnce(signal: AbortSignal): Promise<void> {
        const source = selectSource(options, resumed?.checkpoint, workers, signal);
        if (resumed !== undefined) {
          const mismatch = resumeMismatch(resumed, { source: source.label, rulesets: { baseline: baseline.name, candidate: candidate.name } });
          if (mismatch !== undefined) throw new UsageError(`${options.resume}: ${mismatch}`);
        }
        const result = await runReplay({
          source,
          domain,
          baseline,
          candidate,
          ...(tokens === undefined ? {} : { tokens }),
          outDir: options.out,
          ...(gate === undefined ? {} : { gate }),
          sampleSize: options.sampleSize,
          sampleSeed: options.sampleSeed,
          ...(resumed === undefined
            ? {}
            : {
                resumeFrom: resumed.partial,
                resumeRun: { ...(resumed.runId === undefined ? {} : { runId: resumed.runId }), ...(resumed.coverage === undefined ? {} : { coverage: resumed.coverage }) },
              }),
          progress: createProgress({ stream: process.stderr, quiet: options.quiet === true, label: 'replay' }),
          runInfo: { baselineFile: shown(options.baseline), candidateFile: shown(options.candidate), workers },
          ...(workers > 0 ? { parallel: { workers, spec } } : {}),
          // Following a topic, a signal is its end (the source stops and the report is written).
          ...(options.follow === true ? {} : { signal }),
        });
        if (result.kind === 'interrupted') {
          const resume = resumeCommand(command, result.checkpointFile);
          io.err(
            `error: replay interrupted after ${result.partial.read} records: ${result.error.message}\n` +
              `partial report (not complete, no gate applied): ${shown(result.partialFiles.json)}, ${shown(result.partialFiles.html)}\n` +
              `resume with: ${resume}`,
          );
          if (options.json === true) {
            printJson(io, {
              status: 'interrupted',
              message: result.error.message,
              checkpoint: result.checkpointFile,
              partialReports: result.partialFiles,
              resume,
              read: result.partial.read,
            });
          }
          setExit(ExitCode.findings);
          return;
        }
        if (options.json === true) {
          printJson(io, {
            status: 'complete',
            reports: result.files,
            quarantine: result.quarantineFile,
            fidelity: result.report.fidelity,
            totals: result.report.totals,
            outcomes: result.report.outcomes,
            gate: result.verdict ?? null,
          });
        } else {
          io.out(`${summarize(result.report, result.verdict)}\nreports: ${shown(result.files.json)}, ${shown(result.files.markdown)}, ${shown(result.files.html)}`);
        }
        setExit(gateExitCode(result.verdict));
      }
    });
}

function registerMerge(shadow: Command, io: Io, setExit: (code: number) => void): void {
  shadow
    .command('merge')
    .description('Combine the partial reports of several replays (consumer-group members, or one per file) into the report one replay would have written.')
    .argument('<dirs...>', 'directories (or report.json files) of the partial replays')
    .requiredOption('--out <dir>', 'directory for the merged reports')
    .option('--gate <file>', 'apply a gate file to the merged report: exit 3 when a threshold fails')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
The merged report.json is byte-identical to a single replay's over the same records (except
"run"); quarantine.ndjson files are concatenated in argument order.

Exit status: 0 merged (gate passed), 3 gate failed, 2 unreadable or incompatible partial reports.

Example:
  $ prio shadow merge out/member-1 out/member-2 --out out/all --gate shadow/gates/default.json`,
    )
    .action(async (dirs: string[], options: { out: string; gate?: string; json?: boolean }) => {
      const out = resolve(options.out);
      if (dirs.some((d) => resolve(d) === out)) throw new UsageError('--out must not be one of the partial report directories');
      let result;
      try {
        result = await mergeReports(dirs, options.out, loadGate(options.gate));
      } catch (err) {
        if (err instanceof MergeRefused) throw new UsageError(err.message);
        throw err;
      }
      if (options.json === true) printJson(io, { reports: result.files, totals: result.report.totals, outcomes: result.report.outcomes, gate: result.verdict ?? null });
      else io.out(`merged ${dirs.length} partial reports\n${summarize(result.report, result.verdict)}\nreports: ${shown(result.files.json)}, ${shown(result.files.html)}`);
      setExit(gateExitCode(result.verdict));
    });
}

function registerGate(shadow: Command, io: Io, setExit: (code: number) => void): void {
  shadow
    .command('gate')
    .description('Apply a gate to an existing shadow report: exit 0 when every threshold holds, 3 when any fails.')
    .argument('<report>', 'report.json, or the directory holding it')
    .addOption(new Option('--gate <file>', 'gate file').default(DEFAULT_GATE, 'shadow/gates/default.json'))
    .option('--json', 'print the verdict as JSON')
    .addHelpText(
      'after',
      `
Each failed threshold is listed with its measured value, e.g.
  maxCandidateErrors: records only the candidate refuses: 12 (limit 0)

Exit status: 0 passed, 3 failed, 2 unreadable report or gate file.

Example:
  $ prio shadow gate reports/shadow --gate shadow/gates/default.json`,
    )
    .action((reportPath: string, options: { gate: string; json?: boolean }) => {
      const file = existsSync(join(reportPath, 'report.json')) ? join(reportPath, 'report.json') : reportPath;
      const doc = readJsonFile(file);
      // Round-trip through the aggregate: a report that does not add up is refused, not gated.
      const { aggregate, rulesets } = aggregateFromReport(doc, file);
      const report = buildReport(aggregate, { rulesets });
      const verdict = evaluateGate(report, loadGate(options.gate) ?? {});
      if (options.json === true) printJson(io, verdict);
      else {
        io.out(
          `${formatVerdict(verdict)}\n${table(
            ['threshold', 'result', 'measured'],
            verdict.checks.map((c) => [c.threshold, c.passed ? 'pass' : 'FAIL', c.detail]),
          )}`,
        );
      }
      setExit(gateExitCode(verdict));
    });
}

interface GenerateCliOptions {
  json?: boolean;
  count: number;
  seed: number;
  out?: string;
  drift: number;
  keyFile?: string;
  tokens: boolean;
  baseline: string;
}

function registerGenerate(shadow: Command, io: Io, setExit: (code: number) => void): void {
  shadow
    .command('generate')
    .description('Write a realistic request log: skewed account and model popularity, every service tier and classification, session tokens, observed outcomes.')
    .requiredOption('--count <n>', 'number of records', positiveInt('--count'))
    .option('--seed <n>', 'seed: the same seed gives the same log', positiveInt('--seed'), 1)
    .option('--out <file>', 'output file (.gz is compressed); default stdout')
    .option('--drift <share>', 'share (0-1) of records whose observed priority differs from the baseline', (t) => {
      const x = Number(t);
      if (!(x >= 0 && x <= 1)) throw new UsageError(`--drift must be between 0 and 1, got "${t}"`);
      return x;
    }, 0)
    .addOption(new Option('--baseline <file>', 'rule set that produced the observed outcomes').default(DEFAULT_BASELINE, 'rules/legacy.json'))
    .option('--key-file <file>', 'token keys; default $PRIO_TOKEN_KEYS, else the public development key')
    .option('--no-tokens', 'records carry no session tokens')
    .option('--json', 'with --out: print {"out", "records", "seed"} as JSON (without --out the log itself goes to stdout)')
    .addHelpText(
      'after',
      `
Examples:
  $ prio shadow generate --count 1000 --seed 7 --out logs/sample.ndjson
  $ prio shadow generate --count 1000000 --seed 1 --out logs/big.ndjson.gz
  $ prio shadow generate --count 500 --drift 0.02 | head -3`,
    )
    .action(async (options: GenerateCliOptions) => {
      const domain = loadDomain();
      const baseline = loadRuleSet(options.baseline, domain);
      const tokenWriter = options.tokens ? createTokenWriter({ domain, keyring: keyringFor(options.keyFile, io, 'signed'), mode: 'legacy' }) : undefined;
      const records = generateRecords(
        { count: options.count, seed: options.seed, drift: options.drift },
        { domain, baseline, ...(tokenWriter === undefined ? {} : { tokenWriter }) },
      );
      if (options.json === true && options.out === undefined) throw new UsageError('--json needs --out: without it the log itself is written to stdout');
      await writeNdjson(records, options.out);
      if (options.json === true) printJson(io, { out: options.out, records: options.count, seed: options.seed });
      else if (options.out !== undefined) io.err(`wrote ${options.count} records to ${options.out}`);
      setExit(ExitCode.ok);
    });
}

export const registerShadow: Register = (program, io, setExit) => {
  const shadow = program
    .command('shadow')
    .description('Shadow mode: replay recorded traffic against the old and new mapping, report the difference, gate the rollout.')
    .addHelpText(
      'after',
      `
Examples:
  $ prio shadow generate --count 100000 --seed 7 --out /tmp/requests.ndjson
  $ prio shadow replay --file /tmp/requests.ndjson --out /tmp/shadow --gate shadow/gates/default.json
  $ zcat day.ndjson.gz | prio shadow replay --file - --out /tmp/day
  $ prio shadow merge out/member-1 out/member-2 --out out/all`,
    );
  registerReplay(shadow, io, setExit);
  registerMerge(shadow, io, setExit);
  registerGate(shadow, io, setExit);
  registerGenerate(shadow, io, setExit);
  registerProduce(shadow, io, setExit);
};

// Re-exported for the demo, which runs the same replay on embedded defaults.
export { tokenReaders, keyringFor, loadGate };
