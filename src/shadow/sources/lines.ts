/**
 * The one NDJSON reader for consumers that take lines rather than replay records: `prio sched
 * simulate` (the whole log at once), `prio shadow produce` (raw bytes, streamed) and `prio rules
 * eval` (text, streamed). All of them read through the file source, so they accept the same
 * inputs (a file, .gz by name or by content, a named pipe, or - for stdin), skip blank lines
 * and `\r\n` endings the same way and keep the same line numbers. Shadow replay reads the same
 * source batch by batch.
 */
import { damageSection, describeDamage } from '../core/report.js';
import type { SourceDamage } from '../source.js';
import { fileSource, type FileSourceOptions } from './file.js';

/** One log line with its 1-based number; `problem` when the source could not read it whole. */
export interface NumberedLine {
  readonly line: number;
  readonly text: string;
  readonly problem?: string;
}

/** One non-blank line as bytes; `problem` (and `oversizedBytes` for a line over the limit) when the source could not read it whole. */
export interface RawLine {
  readonly line: number;
  /** The line without its ending; for a line with a problem, at most an excerpt. */
  readonly bytes: Uint8Array;
  readonly problem?: string;
  /** The full size of a line over `maxRecordBytes` (`bytes` then holds only its start). */
  readonly oversizedBytes?: number;
}

/** What the reader met besides lines, read once the generator is done. */
export interface LineReadDamage {
  damage(): readonly SourceDamage[];
}

const EMPTY = new Uint8Array(0);

/**
 * The non-blank lines of the NDJSON input at `path` (`-` for stdin), streamed as bytes. Lines
 * over `options.maxRecordBytes` (default 1 MiB) come with a problem and their size, never
 * buffered whole; a truncated or corrupt .gz ends with one line with a problem, and is listed
 * by `damage()`.
 */
export function rawNdjsonLines(path: string, options: Pick<FileSourceOptions, 'maxRecordBytes' | 'stdin' | 'signal'> = {}): AsyncIterable<RawLine> & LineReadDamage {
  const source = fileSource(path, options);
  return {
    damage: () => source.damage(),
    async *[Symbol.asyncIterator]() {
      for await (const batch of source.batches()) {
        for (const r of batch) {
          const line = r.position.kind === 'line' ? r.position.line : 0;
          const bytes = r.value ?? EMPTY;
          if (r.sourceError === undefined) yield { line, bytes };
          else yield { line, bytes, problem: r.sourceError, ...(r.oversizedBytes === undefined ? {} : { oversizedBytes: r.oversizedBytes }) };
        }
      }
    },
  };
}

/** The non-blank lines of the NDJSON input at `path` (`-` for stdin) as UTF-8 text, streamed. */
export function ndjsonLines(path: string, options: Pick<FileSourceOptions, 'maxRecordBytes' | 'stdin' | 'signal'> = {}): AsyncIterable<NumberedLine> & LineReadDamage {
  const raw = rawNdjsonLines(path, options);
  const decoder = new TextDecoder();
  return {
    damage: () => raw.damage(),
    async *[Symbol.asyncIterator]() {
      for await (const r of raw) yield r.problem === undefined ? { line: r.line, text: decoder.decode(r.bytes) } : { line: r.line, text: '', problem: r.problem };
    },
  };
}

/** Every line of the log at `path`, and a description of any damage the source met (undefined when none). */
export async function readNdjsonLines(path: string, options: Pick<FileSourceOptions, 'stdin'> = {}): Promise<{ lines: NumberedLine[]; damage: string | undefined }> {
  const reader = ndjsonLines(path, options);
  const lines: NumberedLine[] = [];
  for await (const line of reader) lines.push(line);
  return { lines, damage: describeDamage(damageSection(reader.damage())) };
}
