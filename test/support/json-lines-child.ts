/**
 * A child process whose stdout is JSON lines (`--json` output), followed as it runs: every line
 * kept, parsed when it is JSON (a plain summary line is kept as `{ message }`), and a wait for the
 * first line that matches, whether already seen or still to come.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Calls `onLine` with each line of `stream` (a child's stdout), without its newline, as it arrives. */
export function eachLine(stream: Readable, onLine: (text: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

export interface FollowedChild<L> {
  readonly child: ChildProcess;
  readonly lines: L[];
  /** The exit code; 137 for a SIGKILL. */
  readonly exit: Promise<number>;
  stderr(): string;
  /** The first matching line; undefined at the deadline, or once the child exited without one. */
  waitFor(test: (line: L) => boolean, timeoutMs?: number): Promise<L | undefined>;
}

/** Spawns `node <args>` and follows its stdout; the child is pushed onto `children` for clean-up. */
export function spawnJsonLines<L extends { message?: string }>(
  args: readonly string[],
  options: SpawnOptions,
  children: ChildProcess[],
): FollowedChild<L> {
  const child = spawn(process.execPath, args, options);
  children.push(child);
  const lines: L[] = [];
  let stderr = '';
  const waiters: { test: (l: L) => boolean; resolve: (l: L) => void }[] = [];
  if (child.stdout !== null) {
    eachLine(child.stdout, (text) => {
      let line = { message: text } as L;
      try {
        line = JSON.parse(text) as L;
      } catch {
        /* a summary line */
      }
      lines.push(line);
      for (const w of [...waiters]) if (w.test(line)) w.resolve(line);
    });
  }
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number>((done) => child.once('exit', (code, signal) => done(code ?? (signal === 'SIGKILL' ? 137 : 1))));
  return {
    child,
    lines,
    exit,
    stderr: () => stderr,
    waitFor(test, timeoutMs = 60_000) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        // Lines still in the pipe arrive before the exit settles the wait: look again just after.
        void exit.then(() => setTimeout(() => resolve(lines.find(test)), 50));
        waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}
