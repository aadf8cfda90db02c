/**
 * What every command shares: exit codes, error reporting, table and JSON printing.
 * Commands stay thin: parse options, call the library, print with these, return an exit code.
 */
import { ConfigError } from '../validation/index.js';
import { Option, type Command } from 'commander';
import { DEFAULT_RULES_DIR, describeIoCause, FileReadError, FileWriteError } from '../config/index.js';
import { ExitCode, UsageError, type Io } from './io.js';

export { ExitCode, UsageError, processIo, exitQuietlyOnClosedStdout, type Io } from './io.js';

/** The exit code of a command that may apply a gate: 3 when the gate failed, 0 when it passed or none was applied. */
export function gateExitCode(verdict: { readonly passed: boolean } | undefined): ExitCode {
  return verdict !== undefined && !verdict.passed ? ExitCode.gateFailed : ExitCode.ok;
}

/** Maps an error escaping a command to its message and exit code; unknown errors are bugs and keep their stack. */
export function reportError(err: unknown, io: Io): ExitCode {
  if (err instanceof ConfigError) {
    io.err(`invalid configuration:\n${err.message}`);
    return ExitCode.usage;
  }
  if (err instanceof FileReadError || err instanceof FileWriteError || err instanceof UsageError) {
    io.err(`error: ${err.message}`);
    return ExitCode.usage;
  }
  // Every other I/O error a command lets through (a stream that could not open, a rename that
  // failed) is the same one line and exit 2, wherever in the command it happened.
  const ioError = ioErrorOf(err);
  if (ioError !== undefined) {
    io.err(`error: ${ioError.path === undefined ? '' : `${ioError.path}: `}${ioError.syscall === undefined ? '' : `cannot ${ioError.syscall}: `}${describeIoCause(ioError)}`);
    return ExitCode.usage;
  }
  io.err(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return ExitCode.findings;
}

/** The Node I/O error (errno code, often a path) behind `err` or its causes. */
function ioErrorOf(err: unknown): NodeJS.ErrnoException | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && (e as NodeJS.ErrnoException).syscall !== undefined) return e as NodeJS.ErrnoException;
  }
  return undefined;
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

/**
 * Keeps an old option name working after a rename, so nobody's script breaks: a hidden option
 * `oldFlags` (e.g. '--domain <dir>') that sets the option now called `newLong` (e.g.
 * '--rules-dir') and prints a one-line deprecation note.
 */
export function deprecatedAlias(command: Command, io: Io, oldFlags: string, newLong: string): Command {
  const old = new Option(oldFlags).hideHelp();
  const target = command.options.find((o) => o.long === newLong);
  if (target === undefined) throw new Error(`${newLong} must be declared before its alias ${oldFlags}`);
  command.addOption(old);
  command.on(`option:${old.name()}`, (value: unknown) => {
    io.err(`note: ${old.long ?? oldFlags} is deprecated; use ${newLong}`);
    command.setOptionValueWithSource(target.attributeName(), value, 'cli');
  });
  return command;
}

/** What a user waiting on a prompt-less terminal needs to hear when a command reads stdin. */
export function noteStdinAtTerminal(io: Io, what: string): void {
  if (process.stdin.isTTY === true) io.err(`reading ${what} from stdin: paste or type it, end with Ctrl-D (or pipe a file in)`);
}

/** The catalog directory option, one name on every command (`--rules-dir`). */
export function rulesDirOption(): Option {
  return new Option('--rules-dir <dir>', 'directory holding catalog.json and priorities.json').default(DEFAULT_RULES_DIR, 'the packaged rules/');
}

/** Adds the deprecated alias `oldFlags` for --rules-dir to every command of `group` that has --rules-dir. */
export function aliasRulesDir(group: Command, io: Io, oldFlags: string): void {
  for (const c of group.commands) if (c.options.some((o) => o.long === '--rules-dir')) deprecatedAlias(c, io, oldFlags, '--rules-dir');
}
