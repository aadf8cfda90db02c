/**
 * The light part of what every command shares: exit codes, the usage error, and the Io that
 * prints. Apart from output.ts (which re-exports it) because output.ts loads the validators,
 * and `prio --help` must start without them.
 */
export const ExitCode = {
  ok: 0,
  /** An error in the data, or findings (lint findings, a rejected token, a refused command). */
  findings: 1,
  /** Bad usage, unreadable file, invalid configuration handed to a command. */
  usage: 2,
  gateFailed: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

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

