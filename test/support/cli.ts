/** Runs the prio CLI in-process, as the tests of its command groups do. */
import { main } from '../../src/cli/main.js';

export interface CliRun {
  readonly code: number;
  /** Everything printed to stdout, each write ending in one newline, as a terminal shows it. */
  readonly out: string;
  readonly err: string;
}

/** `prio ...args` without a child process: the exit code and what the command printed. */
export async function runCli(...args: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  // The same newline rule as processIo, so a test sees the bytes a user would.
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  const code = await main(['node', 'prio', ...args], { out: (t) => (out += line(t)), err: (t) => (err += line(t)) });
  return { code, out, err };
}
