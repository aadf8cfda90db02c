/**
 * What every command shares: exit codes, error reporting, table and JSON printing.
 * Commands stay thin: parse options, call the library, print with these, return an exit code.
 */
import { ConfigError } from '../validation/index.js';
import { FileReadError } from '../config/index.js';

export const ExitCode = {
  ok: 0,
  /** An error in the data, or findings (lint findings, a rejected token, a refused command). */
  findings: 1,
  /** Bad usage, unreadable file, invalid configuration handed to a command. */
  usage: 2,
  gateFailed: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of a command that may apply a gate: 3 when the gate failed, 0 when it passed or none was applied. */
export function gateExitCode(verdict: { readonly passed: boolean } | undefined): ExitCode {
  return verdict !== undefined && !verdict.passed ? ExitCode.gateFailed : ExitCode.ok;
}

/** Thrown by commands for a usage problem the option parser cannot see (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  },
  err: (text) => {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  },
};

/**
 * A reader that stops early (`prio token normalize --table | head`) closes stdout; that is
 * the reader's choice, not a failure, so the process ends quietly instead of crashing on EPIPE.
 */
export function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

/** Maps an error escaping a command to its message and exit code; unknown errors are bugs and keep their stack. */
export function reportError(err: unknown, io: Io): ExitCode {
  if (err instanceof ConfigError) {
    io.err(`invalid configuration:\n${err.message}`);
    return ExitCode.usage;
  }
  if (err instanceof FileReadError || err instanceof UsageError) {
    io.err(`error: ${err.message}`);
    return ExitCode.usage;
  }
  io.err(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return ExitCode.findings;
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** A cell that reads as a figure: a number, a formatted number ("1.8", "12,400", "50.50%") or "-" for none. */
const FIGURE = /^(-|-?[\d,]+(\.\d+)?%?)$/;

/**
 * Renders rows as an aligned plain-text table. Columns of figures are right-aligned, including
 * figures already formatted as strings and "-" placeholders, as long as one cell is a real figure.
 */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = headers.map(
    (_, c) =>
      rows.some((r) => r[c] !== '-' && r[c] !== undefined) &&
      rows.every((r) => typeof r[c] === 'number' || FIGURE.test(String(r[c]))),
  );
  const line = (r: readonly string[]) =>
    r.map((v, c) => (numeric[c] ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0))).join('  ').trimEnd();
  const [head, ...body] = cells;
  return [line(head ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * The one signal handler of long-running commands: the first SIGINT or SIGTERM aborts the
 * returned signal (its reason is the signal's name) so the command stops cleanly and writes
 * what it must; a second one exits at once (130), for a user who will not wait. `dispose`
 * removes the handlers once the command is done.
 */
export function interruptOnSignals(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

/** A word as a POSIX shell reads it back unchanged (quoted only when it needs to be). */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
