/**
 * A request log as numbered lines, read through the file source (NDJSON, .gz by name or by
 * content, a named pipe, or - for stdin), for consumers that take the whole log at once
 * (`prio sched simulate`). Shadow replay reads the same source batch by batch.
 */
import { damageSection, describeDamage } from '../core/report.js';
import { fileSource } from './file.js';

/** One log line with its 1-based number; `problem` when the source could not read it whole. */
export interface NumberedLine {
  readonly line: number;
  readonly text: string;
  readonly problem?: string;
}

/** Every line of the log at `path`, and a description of any damage the source met (undefined when none). */
export async function readNdjsonLines(path: string): Promise<{ lines: NumberedLine[]; damage: string | undefined }> {
  const source = fileSource(path);
  const lines: NumberedLine[] = [];
  const decoder = new TextDecoder();
  for await (const batch of source.batches()) {
    for (const r of batch) {
      const line = r.position.kind === 'line' ? r.position.line : 0;
      lines.push(r.sourceError === undefined ? { line, text: r.value === null ? '' : decoder.decode(r.value) } : { line, text: '', problem: r.sourceError });
    }
  }
  return { lines, damage: describeDamage(damageSection(source.damage())) };
}
