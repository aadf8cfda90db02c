/**
 * Where a replay's results land on disk: report.json/.md/.html, gate.json, quarantine.ndjson
 * and, for an interrupted run, checkpoint.json and report.partial.json/.md/.html. The edge of
 * the shadow part that writes files.
 *
 * An earlier complete report is replaced only by a complete new one: every file is written
 * under a temporary name and renamed into place, the quarantine of a run in progress lives in
 * quarantine.partial.ndjson until the run completes, and nothing of an earlier run is deleted
 * when a run starts. An interrupted run leaves the earlier report as it was, next to its own
 * checkpoint and partial report (named so that it cannot pass for a complete one).
 */
import { createWriteStream, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { ensureDirectory, FileReadError, FileWriteError } from '../../config/index.js';
import { ConfigError } from '../../validation/index.js';
import { AggregateFormatError, aggregateFromJson, aggregateToJson, type ShadowAggregate } from '../core/aggregate.js';
import type { GateVerdict } from '../core/gate.js';
import type { QuarantineEntry } from '../core/replay.js';
import { renderHtml } from '../core/render-html.js';
import { renderMarkdown } from '../core/render-md.js';
import { serializeReport, type ShadowReport } from '../core/report.js';
import type { Checkpoint, Coverage } from '../source.js';
import { coverageFromJson } from '../core/coverage.js';

export const REPORT_FILES = {
  json: 'report.json',
  markdown: 'report.md',
  html: 'report.html',
  gate: 'gate.json',
  quarantine: 'quarantine.ndjson',
  checkpoint: 'checkpoint.json',
  /** The quarantine of a run not yet complete (appended to when it resumes). */
  partialQuarantine: 'quarantine.partial.ndjson',
  partialJson: 'report.partial.json',
  partialMarkdown: 'report.partial.md',
  partialHtml: 'report.partial.html',
} as const;

/** A reader never sees a half-written file under the final name, and a failed write leaves the old one. */
export function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new FileWriteError(file, 'cannot write', err);
  }
}

/**
 * Makes `dir` ready for a run: creates it and, unless resuming, drops the quarantine a run
 * that never completed left behind. Reports of an earlier complete run stay until replaced.
 */
export function prepareOutputDir(dir: string, options: { keepQuarantine: boolean }): void {
  ensureDirectory(dir);
  if (!options.keepQuarantine) rmSync(join(dir, REPORT_FILES.partialQuarantine), { force: true });
}

/** Moves a completed run's quarantine into place and removes what only an interrupted run needs. */
export function completeOutputDir(dir: string): void {
  renameSync(join(dir, REPORT_FILES.partialQuarantine), join(dir, REPORT_FILES.quarantine));
  for (const name of [REPORT_FILES.checkpoint, REPORT_FILES.partialJson, REPORT_FILES.partialMarkdown, REPORT_FILES.partialHtml]) rmSync(join(dir, name), { force: true });
}

export interface WrittenReports {
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
  readonly gate?: string;
}

export function writeReports(dir: string, report: ShadowReport, verdict?: GateVerdict): WrittenReports {
  ensureDirectory(dir);
  const files = {
    json: join(dir, REPORT_FILES.json),
    markdown: join(dir, REPORT_FILES.markdown),
    html: join(dir, REPORT_FILES.html),
  };
  // The gate verdict is not part of report.json: the same log must give the same report
  // whichever gate an operator applies to it.
  writeAtomically(files.markdown, renderMarkdown(report, verdict));
  writeAtomically(files.html, renderHtml(report, verdict));
  let gate: string | undefined;
  if (verdict !== undefined) {
    gate = join(dir, REPORT_FILES.gate);
    writeAtomically(gate, `${JSON.stringify(verdict, null, 2)}\n`);
  } else {
    // An earlier run's verdict must not sit next to a report it was not given for.
    rmSync(join(dir, REPORT_FILES.gate), { force: true });
  }
  // report.json last: its presence says the run completed.
  writeAtomically(files.json, serializeReport(report));
  return gate === undefined ? files : { ...files, gate };
}

/** The figures of an interrupted run so far, under names no complete run uses. */
export function writePartialReports(dir: string, report: ShadowReport): WrittenReports {
  const files = {
    json: join(dir, REPORT_FILES.partialJson),
    markdown: join(dir, REPORT_FILES.partialMarkdown),
    html: join(dir, REPORT_FILES.partialHtml),
  };
  writeAtomically(files.markdown, renderMarkdown(report));
  writeAtomically(files.html, renderHtml(report));
  writeAtomically(files.json, serializeReport(report));
  return files;
}

/** Appends quarantine entries as NDJSON through a buffered stream. */
export class QuarantineFile {
  readonly path: string;
  readonly #stream: WriteStream;
  #failure: Error | undefined;

  constructor(dir: string, options: { append: boolean; name?: string }) {
    ensureDirectory(dir);
    this.path = join(dir, options.name ?? REPORT_FILES.partialQuarantine);
    this.#stream = createWriteStream(this.path, { flags: options.append ? 'a' : 'w' });
    this.#stream.on('error', (err) => {
      this.#failure = new FileWriteError(this.path, 'cannot write', err);
    });
  }

  /** Resolves once the stream has room again; undefined when it has room now. */
  drained(): Promise<void> | undefined {
    if (!this.#stream.writableNeedDrain) return undefined;
    // An error ends the wait too; the next write then throws it.
    return new Promise((resolve) => {
      const done = (): void => {
        this.#stream.off('drain', done);
        this.#stream.off('error', done);
        resolve();
      };
      this.#stream.once('drain', done);
      this.#stream.once('error', done);
    });
  }

  readonly write = (entry: QuarantineEntry): void => {
    if (this.#failure !== undefined) throw this.#failure;
    this.#stream.write(`${JSON.stringify({ position: entry.position, reason: entry.reason, detail: entry.detail, excerpt: entry.excerpt, excerptEncoding: entry.excerptEncoding })}\n`);
  };

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    if (this.#failure !== undefined) throw this.#failure;
  }
}

export const CHECKPOINT_FORMAT = 'prio.shadow-checkpoint/1';

/** What an interrupted replay leaves: where to resume, and the figures of everything before it. */
export interface CheckpointFile {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly source: string;
  /** Names of the rule sets compared: a resume must compare the same ones. */
  readonly rulesets: { readonly baseline: string; readonly candidate: string };
  readonly message: string;
  readonly checkpoint: Checkpoint;
  readonly state: ReturnType<typeof aggregateToJson>;
  /** The run's id and what it covered so far: a resumed run carries both on (see `prio shadow merge`). */
  readonly runId?: string;
  readonly coverage?: readonly Coverage[];
}

export function writeCheckpoint(
  dir: string,
  source: string,
  rulesets: CheckpointFile['rulesets'],
  message: string,
  checkpoint: Checkpoint,
  partial: ShadowAggregate,
  run: { readonly runId: string; readonly coverage: readonly Coverage[] },
): string {
  const file = join(dir, REPORT_FILES.checkpoint);
  const doc: CheckpointFile = { format: CHECKPOINT_FORMAT, source, rulesets, message, checkpoint, state: aggregateToJson(partial), runId: run.runId, coverage: run.coverage };
  writeAtomically(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

/** Reads a checkpoint file back: the resume point and the partial aggregate to continue from. */
export function readCheckpoint(file: string): {
  checkpoint: Checkpoint;
  partial: ShadowAggregate;
  source: string;
  rulesets: CheckpointFile['rulesets'];
  runId?: string;
  coverage?: readonly Coverage[];
} {
  let doc: Partial<CheckpointFile>;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<CheckpointFile>;
  } catch (err) {
    if (err instanceof SyntaxError) throw new ConfigError([{ file, pointer: '', message: `not valid JSON: ${err.message}` }]);
    throw new FileReadError(file, err);
  }
  if (doc.format !== CHECKPOINT_FORMAT || doc.checkpoint === undefined || typeof doc.source !== 'string' || doc.rulesets === undefined) {
    throw new ConfigError([{ file, pointer: '', message: `not a prio shadow checkpoint (format ${JSON.stringify(doc.format)})` }]);
  }
  try {
    const coverage = coverageFromJson(doc.coverage);
    return {
      checkpoint: doc.checkpoint,
      partial: aggregateFromJson(doc.state, 'state'),
      source: doc.source,
      rulesets: doc.rulesets,
      ...(typeof doc.runId === 'string' ? { runId: doc.runId } : {}),
      ...(coverage === undefined ? {} : { coverage }),
    };
  } catch (err) {
    if (err instanceof AggregateFormatError) throw new ConfigError([{ file, pointer: '/state', message: err.message }]);
    throw err;
  }
}
