/**
 * `npm run bench -- shadow [--json] [--records N] [--rss-records N | --no-rss] [--rounds N] [--workers N] [--no-kafka]`
 *
 * File half: replays a generated N-record NDJSON file (default 1,000,000) through the real
 * file source, judge and aggregate, twice: as `prio shadow replay` runs by default (`prio`:
 * judged in the default number of worker threads, `--workers N` to choose) and in one thread
 * (`prio:single-thread`, what `--workers 0` does). In the same process run it measures the
 * practical ceiling — read the same file, split lines, JSON.parse each, in one thread — on the
 * same bytes. Rounds interleave the passes so background load hits all alike; the best round of
 * each counts. Wall-clock rates and rates per CPU second (all threads of the process) are both
 * reported: the first shows the parallel speed-up, the second what a record costs. Peak RSS is
 * measured in a child process running the real `prio shadow replay` over a 5,000,000-record file.
 *
 * Kafka half: if bench/shadow-kafka.ts exists and exports `benchShadowKafka(context)`, it runs
 * after the file half on the same generated log and its results and targets are appended.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { developmentTokenKeyring, DEFAULT_RULES_DIR } from '../src/config/index.js';
import {
  buildReport,
  compared,
  createJudge,
  createTokenChecker,
  defaultWorkerCount,
  emptyAggregate,
  fileSource,
  generateRecords,
  JOB_RECORDS,
  judgeParts,
  readJudgeSpec,
  replay,
  replayInParallel,
  serializeReport,
  type RecordSource,
  type ShadowAggregate,
} from '../src/shadow/index.js';
import { createTokenWriter } from '../src/tokens/index.js';
import type { BenchOptions, BenchReport, BenchResult, BenchSuite } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..');

/** What the Kafka half receives: the generated log and its size, and where to log. */
export interface ShadowBenchContext {
  readonly file: string;
  readonly records: number;
  readonly log: (message: string) => void;
  readonly args: readonly string[];
}
export type ShadowBenchHalf = (context: ShadowBenchContext) => Promise<Pick<BenchReport, 'results' | 'targets'>>;

/** A positive integer option `name N` from the suite's arguments, or `fallback`. */
export function argValue(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} needs a positive integer`);
  return n;
}

const keyring = developmentTokenKeyring();
/** The judge `prio shadow replay` builds on its defaults, in every thread that judges. */
const spec = readJudgeSpec({ baselineFile: join(DEFAULT_RULES_DIR, 'legacy.json'), candidateFile: join(DEFAULT_RULES_DIR, 'service_tier.json'), keyring });
const { domain, baseline, candidate, tokens } = judgeParts(spec);

/** Generates (once, cached in the temp dir) the N-record log every pass reads. */
export async function benchLog(records: number, log: (m: string) => void): Promise<string> {
  const dir = join(tmpdir(), 'prio-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `shadow-${records}-seed1.ndjson`);
  if (existsSync(file)) return file;
  log(`generating ${records.toLocaleString('en-US')} records into ${file} ...`);
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  const tokenWriter = createTokenWriter({ domain, keyring, mode: 'legacy' });
  let buffer = '';
  for (const r of generateRecords({ count: records, seed: 1 }, { domain, baseline, tokenWriter })) {
    buffer += `${JSON.stringify(r)}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  renameSync(tmp, file);
  return file;
}

/** The ceiling: read the file, split lines, JSON.parse each. Returns the number of records parsed. */
async function parseOnly(file: string): Promise<number> {
  let n = 0;
  let pending: Buffer | null = null;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    const buf: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk]);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      JSON.parse(buf.toString('utf8', start, nl));
      n++;
      start = nl + 1;
    }
    pending = start < buf.length ? buf.subarray(start) : null;
  }
  if (pending !== null && pending.length > 0) {
    JSON.parse(pending.toString('utf8'));
    n++;
  }
  return n;
}

/** A judge and an empty aggregate as `prio shadow replay` builds them (shared with the Kafka half). */
export function replayParts(): { judge: ReturnType<typeof createJudge>; agg: ShadowAggregate } {
  const judge = createJudge({ domain, baseline, candidate, ...(tokens === undefined ? {} : { tokens: createTokenChecker(tokens.legacy, tokens.dual) }) });
  return { judge, agg: emptyAggregate({ tiers: domain.scale.tiers.map((t) => t.name), sampleSize: 50, sampleSeed: 1 }) };
}

/**
 * The whole source replayed as `prio shadow replay --workers <workers>` does it (0: in this
 * thread), minus the report files. Returns the aggregate.
 */
export async function replaySource(source: RecordSource, workers: number): Promise<ShadowAggregate> {
  const { judge, agg } = replayParts();
  const quarantine = () => undefined;
  if (workers === 0) return replay({ source, judge, into: agg, quarantine });
  return (await replayInParallel({ source, judge, into: agg, quarantine, parallel: { workers, spec } })).aggregate;
}

/** The file source as `prio shadow replay` opens it when judging in workers (whole jobs per batch). */
const threadedSource = (file: string) => fileSource(file, { batchSize: JOB_RECORDS });

/** report.json's bytes for an aggregate (without `run`): how two passes are shown to agree. */
export function reportBytes(agg: ShadowAggregate): string {
  return serializeReport(buildReport(agg, { rulesets: { baseline: { name: baseline.name, scheme: baseline.scheme }, candidate: { name: candidate.name, scheme: candidate.scheme } } }));
}

/**
 * Wall-clock seconds, and the process's CPU seconds (user + system, all threads) over the same
 * span: on a shared machine the wall clock also counts time spent waiting for a core, while CPU
 * time counts only the work, so both are reported.
 */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Peak RSS of the real CLI replaying `file`, measured inside a child process. */
function peakRss(file: string): number {
  const out = join(tmpdir(), 'prio-bench', `rss-out-${process.pid}`);
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'shadow', 'rss-child.ts'), file, out], { cwd: ROOT, encoding: 'utf8' });
  rmSync(out, { recursive: true, force: true });
  if (child.status !== 0) throw new Error(`peak-RSS child failed (${child.status}): ${child.stderr}`);
  const parsed = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { maxRssBytes?: number; read?: number };
  if (typeof parsed.maxRssBytes !== 'number') throw new Error(`peak-RSS child printed no figure: ${child.stdout}`);
  return parsed.maxRssBytes;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')} records/s`;

export const suite: BenchSuite = async (options: BenchOptions) => {
  const records = argValue(options.args, '--records', 1_000_000);
  const rounds = argValue(options.args, '--rounds', 3);
  const rssRecords = options.args.includes('--no-rss') ? 0 : argValue(options.args, '--rss-records', 5_000_000);
  const workers = options.args.includes('--workers') ? argValue(options.args, '--workers', 1) : defaultWorkerCount();
  const file = await benchLog(records, options.log);
  const bytes = statSync(file).size;

  // Agreement first: every pass must see the same records, prio must judge them all, and the
  // threaded replay must come to the same report as the single-threaded one.
  const single = await replaySource(fileSource(file), 0);
  const threaded = await replaySource(threadedSource(file), workers);
  const parsedCount = await parseOnly(file);
  for (const [name, agg] of [['single-thread', single], [`${workers} workers`, threaded]] as const) {
    if (agg.read !== parsedCount || compared(agg) !== parsedCount) {
      throw new Error(`passes disagree: parse-only saw ${parsedCount} records, prio (${name}) read ${agg.read} and compared ${compared(agg)}`);
    }
  }
  if (reportBytes(threaded) !== reportBytes(single)) throw new Error(`prio with ${workers} workers and prio single-threaded wrote different reports`);

  const passes = {
    ceiling: { seconds: Infinity, cpuSeconds: Infinity },
    prio: { seconds: Infinity, cpuSeconds: Infinity },
    single: { seconds: Infinity, cpuSeconds: Infinity },
  };
  const keepBest = (best: { seconds: number; cpuSeconds: number }, run: { seconds: number; cpuSeconds: number }) => {
    best.seconds = Math.min(best.seconds, run.seconds);
    best.cpuSeconds = Math.min(best.cpuSeconds, run.cpuSeconds);
  };
  const rates = (run: { seconds: number; cpuSeconds: number }) => `${rate(records / run.seconds)} (${rate(records / run.cpuSeconds)} per CPU second)`;
  for (let round = 1; round <= rounds; round++) {
    const ceiling = await timed(() => parseOnly(file));
    const prio = await timed(() => replaySource(threadedSource(file), workers));
    const singleRun = await timed(() => replaySource(fileSource(file), 0));
    keepBest(passes.ceiling, ceiling);
    keepBest(passes.prio, prio);
    keepBest(passes.single, singleRun);
    options.log(`round ${round}: parse-only ${rates(ceiling)}, prio replay (${workers} workers) ${rates(prio)}, prio single-thread ${rates(singleRun)}`);
  }
  const prioRate = records / passes.prio.seconds;
  const singleRate = records / passes.single.seconds;
  const ceilingRate = records / passes.ceiling.seconds;
  const what = 'shadow replay of an NDJSON file (parse, validate, two rule sets, two token readers, aggregates)';
  const results: BenchResult[] = [
    { name: 'prio', opsPerSec: prioRate, what: `${what}; default worker threads`, workers, records, bytes, seconds: passes.prio.seconds, perCpuSecond: records / passes.prio.cpuSeconds },
    { name: 'prio:single-thread', opsPerSec: singleRate, what: `${what}; --workers 0`, workers: 0, records, bytes, seconds: passes.single.seconds, perCpuSecond: records / passes.single.cpuSeconds },
    {
      name: 'ceiling:parse-only',
      opsPerSec: ceilingRate,
      what: 'read the same file, split lines, JSON.parse (one thread)',
      records,
      bytes,
      seconds: passes.ceiling.seconds,
      perCpuSecond: records / passes.ceiling.cpuSeconds,
    },
  ];
  const share = (r: number) => `${((r / ceilingRate) * 100).toFixed(1)}%`;
  const targets: { target: string; measured: string; met: boolean }[] = [
    { target: 'replay >= 300,000 records/s', measured: `${rate(prioRate)} with ${workers} workers; single-thread ${rate(singleRate)}`, met: prioRate >= 300_000 },
    {
      target: 'replay >= 50% of the parse-only rate',
      measured:
        `${share(prioRate)} with ${workers} workers; single-thread ${share(singleRate)} ` +
        `(per CPU second: ${((passes.ceiling.cpuSeconds / passes.prio.cpuSeconds) * 100).toFixed(1)}% with workers, ${((passes.ceiling.cpuSeconds / passes.single.cpuSeconds) * 100).toFixed(1)}% single-thread)`,
      met: prioRate >= ceilingRate / 2,
    },
  ];
  if (rssRecords > 0) {
    const rssFile = await benchLog(rssRecords, options.log);
    options.log(`measuring peak RSS of prio shadow replay over ${rssRecords.toLocaleString('en-US')} records ...`);
    const rss = peakRss(rssFile);
    targets.push({ target: `peak RSS < 256 MB at ${rssRecords.toLocaleString('en-US')} records`, measured: mb(rss), met: rss < 256 * 1024 * 1024 });
  }

  const kafkaHalf = join(here, 'shadow-kafka.ts');
  if (options.args.includes('--no-kafka')) {
    options.log('--no-kafka: Kafka half skipped');
  } else if (existsSync(kafkaHalf)) {
    const mod = (await import(pathToFileURL(kafkaHalf).href)) as { benchShadowKafka?: ShadowBenchHalf };
    if (mod.benchShadowKafka !== undefined) {
      const kafka = await mod.benchShadowKafka({ file, records, log: options.log, args: options.args });
      results.push(...kafka.results);
      targets.push(...(kafka.targets ?? []));
    }
  } else {
    options.log('no bench/shadow-kafka.ts: Kafka half skipped');
  }
  return { suite: 'shadow', results, targets };
};
