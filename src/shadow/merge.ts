/**
 * `prio shadow merge`: combines the partial reports of N replays (consumer-group members, or
 * one replay per file) into the report one process would have written. Partial reports are
 * lossless aggregates, and aggregates are a monoid, so the merged report.json is byte-identical
 * to a single run's apart from `run`. Quarantine files are concatenated in argument order.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FileReadError } from '../config/index.js';
import { ConfigError } from '../validation/index.js';
import { mergeAggregates, type ShadowAggregate } from './core/aggregate.js';
import { evaluateGate, type GateSpec, type GateVerdict } from './core/gate.js';
import { aggregateFromReport, buildReport, type ShadowReport } from './core/report.js';
import { coverageFromJson, overlapOf, unionCoverage } from './core/coverage.js';
import type { Coverage } from './source.js';
import { completeOutputDir, prepareOutputDir, REPORT_FILES, writeReports, type WrittenReports } from './sinks/report-files.js';

export interface MergeResult {
  readonly report: ShadowReport;
  readonly verdict?: GateVerdict;
  readonly files: WrittenReports;
}

function reportFileOf(input: string): string {
  try {
    return statSync(input).isDirectory() ? join(input, REPORT_FILES.json) : input;
  } catch (err) {
    throw new FileReadError(input, err);
  }
}

function readPartial(input: string): { file: string; aggregate: ShadowAggregate; rulesets: ShadowReport['rulesets']; run: unknown } {
  const file = reportFileOf(input);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new ConfigError([{ file, pointer: '', message: `not valid JSON: ${err.message}` }]);
    throw new FileReadError(file, err);
  }
  // A document that is no shadow report is refused with the file, the JSON pointer and the problem.
  const { aggregate, rulesets } = aggregateFromReport(doc, file);
  return { file, aggregate, rulesets, run: (doc as { run?: unknown }).run ?? null };
}

/** Thrown when partial reports would count records twice: a usage error, not a bad document. */
export class MergeRefused extends Error {
  override readonly name = 'MergeRefused';
}

/** The run ids a report stands for: its own, or those of the reports merged into it. */
function runIdsOf(run: unknown): string[] {
  const r = run as { runId?: unknown; runIds?: unknown } | null;
  if (typeof r?.runId === 'string') return [r.runId];
  if (Array.isArray(r?.runIds)) return r.runIds.filter((x): x is string => typeof x === 'string');
  return [];
}

/**
 * Refuses inputs that would count records twice: the same file given twice, two reports of
 * the same run (a copied directory), or two reports whose coverage overlaps (two replays of
 * one file, group members that read the same offsets). Reports written before runs carried
 * ids and coverage are checked by path only.
 */
function refuseOverlaps(partials: readonly { file: string; run: unknown }[]): void {
  const seen: { file: string; real: string; ids: string[]; coverage: Coverage[] | undefined }[] = [];
  for (const p of partials) {
    const real = realpathSync(p.file);
    const ids = runIdsOf(p.run);
    const coverage = coverageFromJson((p.run as { coverage?: unknown } | null)?.coverage);
    for (const earlier of seen) {
      const refuse = (why: string) => {
        throw new MergeRefused(`${p.file} ${why}; merging it would count those records twice (each partial report must cover its own part of the input)`);
      };
      if (earlier.real === real) refuse(`is given twice (also as ${earlier.file})`);
      const shared = ids.find((id) => earlier.ids.includes(id));
      if (shared !== undefined) refuse(`comes from the same replay (run ${shared}) as ${earlier.file}`);
      const overlap = coverage === undefined || earlier.coverage === undefined ? undefined : overlapOf(earlier.coverage, coverage);
      if (overlap !== undefined) refuse(`covers ${overlap}, which ${earlier.file} covers too`);
    }
    seen.push({ file: p.file, real, ids, coverage });
  }
}

export async function mergeReports(inputs: readonly string[], outDir: string, gate?: GateSpec): Promise<MergeResult> {
  if (inputs.length === 0) throw new Error('merge needs at least one partial report');
  const partials = inputs.map(readPartial);
  const first = partials[0] as (typeof partials)[number];
  const sameRuleSets = (p: (typeof partials)[number]): boolean => JSON.stringify(p.rulesets) === JSON.stringify(first.rulesets);
  const odd = partials.find((p) => !sameRuleSets(p));
  if (odd !== undefined) {
    throw new ConfigError([{ file: odd.file, pointer: '/rulesets', message: `compares other rule sets than ${first.file}; only replays of the same comparison merge` }]);
  }
  refuseOverlaps(partials);
  let merged = first.aggregate;
  for (const p of partials.slice(1)) {
    try {
      merged = mergeAggregates(merged, p.aggregate);
    } catch (err) {
      throw new ConfigError([{ file: p.file, pointer: '', message: (err as Error).message }]);
    }
  }
  prepareOutputDir(outDir, { keepQuarantine: false });
  // Quarantine first, so the reports (report.json last) only appear once everything is in place.
  const out = createWriteStream(join(outDir, REPORT_FILES.partialQuarantine));
  for (const input of inputs) {
    const q = join(statSync(input).isDirectory() ? input : join(input, '..'), REPORT_FILES.quarantine);
    if (existsSync(q)) await pipeline(createReadStream(q), out, { end: false });
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  completeOutputDir(outDir);
  const coverage = unionCoverage(partials.flatMap((p) => coverageFromJson((p.run as { coverage?: unknown } | null)?.coverage) ?? []));
  const run = { runIds: partials.flatMap((p) => runIdsOf(p.run)), coverage, merged: partials.map((p) => ({ report: p.file, run: p.run })) };
  const report = buildReport(merged, { rulesets: first.rulesets, run });
  const verdict = gate === undefined ? undefined : evaluateGate(report, gate);
  const files = writeReports(outDir, report, verdict);
  return { report, files, ...(verdict === undefined ? {} : { verdict }) };
}
