/**
 * Writes a game-day report into a directory: report.md, report.html and results.json, each
 * through a temporary file and a rename (the shadow report's writer), so a reader never sees half
 * a file; results.json last, its presence saying the report is whole.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from '../../src/shadow/index.js';
import { renderGameDayHtml, renderGameDayMarkdown, renderResultsJson, type GameDayReport } from './report.js';

export interface WrittenGameDayReport {
  readonly markdown: string;
  readonly html: string;
  readonly json: string;
}

export function writeGameDayReport(dir: string, report: GameDayReport): WrittenGameDayReport {
  mkdirSync(dir, { recursive: true });
  const files = { markdown: join(dir, 'report.md'), html: join(dir, 'report.html'), json: join(dir, 'results.json') };
  writeAtomically(files.markdown, renderGameDayMarkdown(report));
  writeAtomically(files.html, renderGameDayHtml(report));
  writeAtomically(files.json, renderResultsJson(report));
  return files;
}
