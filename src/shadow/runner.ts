/**
 * One replay run from source to files: the imperative shell around the pure core. Builds the
 * judge, replays the source with progress, writes the quarantine as it goes, then either the
 * reports (and the gate verdict) or — when the source was interrupted, or a signal stopped the
 * run — a checkpoint and a partial report under its own name (report.partial.*), so a partial
 * result can never pass for a complete one and an earlier complete report stays in place.
 */
import type { Domain } from '../catalog/index.js';
import type { TokenReader } from '../tokens/index.js';
import { emptyAggregate, type ShadowAggregate } from './core/aggregate.js';
import { evaluateGate, type GateSpec, type GateVerdict } from './core/gate.js';
import { createJudge, type RuleSetPort } from './core/judge.js';
import { replayInParallel, type ParallelOptions } from './parallel/pool.js';
import { replay } from './core/replay.js';
import { buildReport, type ShadowReport } from './core/report.js';
import {
  completeOutputDir,
  prepareOutputDir,
  QuarantineFile,
  REPORT_FILES,
  writeCheckpoint,
  writePartialReports,
  writeReports,
  type WrittenReports,
} from './sinks/report-files.js';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { unionCoverage } from './core/coverage.js';
import type { ProgressReporter } from './sinks/progress.js';
import { SourceInterruptedError, type Coverage, type RecordSource } from './source.js';
import type { ProgressReporting } from './sources/file.js';
import { createTokenChecker } from './core/token-cache.js';

export interface NamedRuleSet extends RuleSetPort {
  readonly scheme: string;
}

export interface ReplayRunOptions {
  readonly source: RecordSource & Partial<ProgressReporting>;
  readonly domain: Domain;
  readonly baseline: NamedRuleSet;
  readonly candidate: NamedRuleSet;
  /** Omit to replay without verifying session tokens. */
  readonly tokens?: { readonly legacy: TokenReader; readonly dual: TokenReader };
  readonly outDir: string;
  readonly gate?: GateSpec;
  readonly sampleSize: number;
  readonly sampleSeed: number;
  /** The partial aggregate of an interrupted run being resumed (the source starts at its checkpoint). */
  readonly resumeFrom?: ShadowAggregate;
  /** This run's id (default: a random UUID); a resumed run keeps the interrupted one's. */
  readonly runId?: string;
  /** The interrupted run's id and coverage (from its checkpoint), carried on by the resumed run. */
  readonly resumeRun?: { readonly runId?: string; readonly coverage?: readonly Coverage[] };
  readonly progress: ProgressReporter;
  /** Wall clock, used only for the `run` section. */
  readonly now?: () => number;
  /** Extra facts for the `run` section (input files, group member…). */
  readonly runInfo?: Readonly<Record<string, unknown>>;
  /**
   * Judge in worker threads (see parallel/pool.ts); its spec must describe the same domain,
   * rule sets and keys as the options above. Omitted: everything is judged in this thread.
   * Either way report.json comes out byte for byte the same.
   */
  readonly parallel?: ParallelOptions;
  /**
   * Interrupts the replay (SIGINT, SIGTERM): after the batch in hand, the run stops as if the
   * source had lost its input — checkpoint and partial report written, no report.
   */
  readonly signal?: AbortSignal;
}

export type ReplayRunResult =
  | { readonly kind: 'complete'; readonly report: ShadowReport; readonly verdict?: GateVerdict; readonly files: WrittenReports; readonly quarantineFile: string }
  | {
      readonly kind: 'interrupted';
      readonly error: SourceInterruptedError;
      readonly checkpointFile: string;
      readonly partial: ShadowAggregate;
      /** report.partial.json/.md/.html: the figures so far, never taken for a complete report. */
      readonly partialFiles: WrittenReports;
    };

/**
 * The source, stopped by `signal` between batches: the abort becomes a SourceInterruptedError
 * with the source's checkpoint after the last batch it handed out, which the replay already
 * turns into a checkpoint file. A source that can wait for long (a pipe) honours the signal
 * itself as well; one without a checkpoint cannot be interrupted this way.
 */
export function interruptible<S extends RecordSource>(source: S, signal: AbortSignal): S {
  const checkpoint = source.checkpoint?.bind(source);
  if (checkpoint === undefined) return source;
  const interruption = () => new SourceInterruptedError(`interrupted by ${String(signal.reason ?? 'an abort')}`, checkpoint());
  return {
    ...source,
    async *batches() {
      if (signal.aborted) throw interruption();
      for await (const batch of source.batches()) {
        yield batch;
        if (signal.aborted) throw interruption();
      }
    },
  };
}

export async function runReplay(options: ReplayRunOptions): Promise<ReplayRunResult> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const tiers = options.domain.scale.tiers.map((t) => t.name);
  const agg = options.resumeFrom ?? emptyAggregate({ tiers, sampleSize: options.sampleSize, sampleSeed: options.sampleSeed });
  // With workers this thread judges only a share of the records, and memory counts (each worker
  // keeps its own cache): a smaller cache here. Cache size never changes a verdict, only how
  // often a token is verified again.
  const parallel = options.parallel !== undefined && options.parallel.workers > 0;
  const tokens = options.tokens === undefined ? undefined : createTokenChecker(options.tokens.legacy, options.tokens.dual, parallel ? 8192 : undefined);
  const judge = createJudge({ domain: options.domain, baseline: options.baseline, candidate: options.candidate, ...(tokens === undefined ? {} : { tokens }) });
  prepareOutputDir(options.outDir, { keepQuarantine: options.resumeFrom !== undefined });
  const quarantine = new QuarantineFile(options.outDir, { append: options.resumeFrom !== undefined });
  const readAtStart = agg.read;
  const source = options.signal === undefined ? options.source : interruptible(options.source, options.signal);
  const onBatch = (read: number) => {
    options.progress.update(read, source.progress?.());
    return quarantine.drained();
  };
  let outcome: { aggregate: ShadowAggregate; interruption?: SourceInterruptedError };
  try {
    if (parallel && options.parallel !== undefined) {
      outcome = await replayInParallel({ source, judge, into: agg, quarantine: quarantine.write, onBatch, parallel: options.parallel });
    } else {
      try {
        outcome = { aggregate: await replay({ source, judge, into: agg, quarantine: quarantine.write, onBatch: (a) => onBatch(a.read) }) };
      } catch (err) {
        // The aggregate then holds exactly the records before the checkpoint (see `replay`).
        if (!(err instanceof SourceInterruptedError)) throw err;
        outcome = { aggregate: agg, interruption: err };
      }
    }
  } finally {
    options.progress.stop();
    await quarantine.close();
  }
  const total = outcome.aggregate;
  // Damage is not a record: counted once, after the source has said all it will.
  total.damage.push(...(source.damage?.() ?? []));
  // Every partial report says which run made it and what it covered, so merging it twice, or
  // with another report of the same input, is refused (see merge.ts).
  const runId = options.resumeRun?.runId ?? options.runId ?? randomUUID();
  const own = source.coverage?.();
  const coverage = unionCoverage([...(options.resumeRun?.coverage ?? []), ...(own === undefined ? [] : [own])]);
  const rulesets = {
    baseline: { name: options.baseline.name, scheme: options.baseline.scheme },
    candidate: { name: options.candidate.name, scheme: options.candidate.scheme },
  };
  if (outcome.interruption !== undefined) {
    const names = { baseline: options.baseline.name, candidate: options.candidate.name };
    const checkpointFile = writeCheckpoint(options.outDir, source.label, names, outcome.interruption.message, outcome.interruption.checkpoint, total, { runId, coverage });
    const partial = buildReport(total, {
      rulesets,
      run: { source: source.label, runId, coverage, partial: true, interrupted: outcome.interruption.message, checkpoint: REPORT_FILES.checkpoint, ...options.runInfo },
    });
    const partialFiles = writePartialReports(options.outDir, partial);
    return { kind: 'interrupted', error: outcome.interruption, checkpointFile, partial: total, partialFiles };
  }
  completeOutputDir(options.outDir);
  const finishedAt = now();
  const durationMs = Math.max(0, finishedAt - startedAt);
  const run = {
    source: source.label,
    runId,
    coverage,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs,
    recordsThisRun: total.read - readAtStart,
    recordsPerSecond: durationMs === 0 ? null : Math.round(((total.read - readAtStart) * 1000) / durationMs),
    resumed: options.resumeFrom !== undefined,
    ...options.runInfo,
  };
  const report = buildReport(total, { rulesets, run });
  const verdict = options.gate === undefined ? undefined : evaluateGate(report, options.gate);
  const files = writeReports(options.outDir, report, verdict);
  return { kind: 'complete', report, files, quarantineFile: join(options.outDir, REPORT_FILES.quarantine), ...(verdict === undefined ? {} : { verdict }) };
}
