/**
 * Where a replay's results land on disk: report.json/.md/.html, gate.json, quarantine.ndjson
 * and, for an interrupted run, checkpoint.json. The edge of the shadow part that writes files.
 */
import { createWriteStream, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { FileReadError } from '../../config/index.js';
import { ConfigError } from '../../validation/index.js';
import { AggregateFormatError, aggregateFromJson, aggregateToJson, type ShadowAggregate } from '../aggregate.js';
import type { GateVerdict } from '../gate.js';
import type { QuarantineEntry } from '../replay.js';
import { renderHtml } from '../render-html.js';
import { renderMarkdown } from '../render-md.js';
import { serializeReport, type ShadowReport } from '../report.js';
import type { Checkpoint } from '../source.js';

export const REPORT_FILES = {
  json: 'report.json',
  markdown: 'report.md',
  html: 'report.html',
  gate: 'gate.json',
  quarantine: 'quarantine.ndjson',
  checkpoint: 'checkpoint.json',
} as const;

/** Atomic enough for a report: a reader never sees a half-written file under the final name. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Removes results a previous run left in `dir`, so a run that stops half-way can never leave
 * an older, complete-looking report behind. Keeps the quarantine file when resuming.
 */
export function prepareOutputDir(dir: string, options: { keepQuarantine: boolean }): void {
  mkdirSync(dir, { recursive: true });
  for (const name of [REPORT_FILES.json, REPORT_FILES.markdown, REPORT_FILES.html, REPORT_FILES.gate]) rmSync(join(dir, name), { force: true });
  if (!options.keepQuarantine) rmSync(join(dir, REPORT_FILES.quarantine), { force: true });
}

export interface WrittenReports {
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
  readonly gate?: string;
}

export function writeReports(dir: string, report: ShadowReport, verdict?: GateVerdict): WrittenReports {
  mkdirSync(dir, { recursive: true });
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
  }
  // report.json last: its presence says the run completed.
  writeAtomically(files.json, serializeReport(report));
  return gate === undefined ? files : { ...files, gate };
}

/** Appends quarantine entries as NDJSON through a buffered stream. */
export class QuarantineFile {
  readonly path: string;
  readonly #stream: WriteStream;
  #failure: Error | undefined;

  constructor(dir: string, options: { append: boolean }) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, REPORT_FILES.quarantine);
    this.#stream = createWriteStream(this.path, { flags: options.append ? 'a' : 'w' });
    this.#stream.on('error', (err) => {
      this.#failure = err;
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
}

export function writeCheckpoint(
  dir: string,
  source: string,
  rulesets: CheckpointFile['rulesets'],
  message: string,
  checkpoint: Checkpoint,
  partial: ShadowAggregate,
): string {
  const file = join(dir, REPORT_FILES.checkpoint);
  const doc: CheckpointFile = { format: CHECKPOINT_FORMAT, source, rulesets, message, checkpoint, state: aggregateToJson(partial) };
  writeAtomically(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

/** Reads a checkpoint file back: the resume point and the partial aggregate to continue from. */
export function readCheckpoint(file: string): { checkpoint: Checkpoint; partial: ShadowAggregate; source: string; rulesets: CheckpointFile['rulesets'] } {
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
    return { checkpoint: doc.checkpoint, partial: aggregateFromJson(doc.state, 'state'), source: doc.source, rulesets: doc.rulesets };
  } catch (err) {
    if (err instanceof AggregateFormatError) throw new ConfigError([{ file, pointer: '/state', message: err.message }]);
    throw err;
  }
}

export function removeCheckpoint(dir: string): void {
  rmSync(join(dir, REPORT_FILES.checkpoint), { force: true });
}
