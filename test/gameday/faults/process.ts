/**
 * Process faults for the game day: a child process started by the scenario (a `prio` command or
 * a small lease holder), its output read line by line as it comes, and the signals that fault
 * it — SIGKILL (a crash: no clean-up runs), SIGSTOP/SIGCONT (a pause: a long GC, a frozen VM, a
 * laptop lid). Whatever the outcome, the child is resumed and killed when the scenario ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { eachLine } from '../../support/json-lines-child.js';
import type { ScenarioContext } from '../scenario.js';

/** One line of the child's stdout: parsed when it is JSON, else kept as `text`. */
export interface ChildLine {
  readonly at: number;
  readonly text: string;
  readonly json?: Readonly<Record<string, unknown>>;
}

export interface FaultyProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly lines: ChildLine[];
  /** Resolves with the exit code (128 + signal number's conventional code for a signal: 137 for SIGKILL). */
  readonly exit: Promise<number>;
  stderr(): string;
  /** The first line (already seen or to come) matching `test`; undefined at the deadline or once the child exited without one. */
  waitFor(test: (line: ChildLine) => boolean, timeoutMs: number): Promise<ChildLine | undefined>;
  /** SIGKILL: resolves once the child is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the process stops where it is, timers and sockets frozen. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  running(): boolean;
}

const SIGNAL_CODES: Readonly<Record<string, number>> = { SIGKILL: 137, SIGTERM: 143, SIGINT: 130 };

/** Starts `node <args>` (the project's tsx loader available through `--import tsx`), clean-up registered. */
export function startProcess(ctx: ScenarioContext, label: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): FaultyProcess {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: ChildLine[] = [];
  const waiters = new Set<{ test: (l: ChildLine) => boolean; resolve: (l: ChildLine | undefined) => void }>();
  let stderr = '';
  let paused = false;
  if (child.stdout !== null) {
    eachLine(child.stdout, (text) => {
      let json: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      } catch {
        /* a plain line */
      }
      const line: ChildLine = { at: Date.now(), text, ...(json === undefined ? {} : { json }) };
      lines.push(line);
      for (const w of [...waiters]) if (w.test(line)) w.resolve(line);
    });
  }
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8_000);
  });
  const exit = new Promise<number>((done) => {
    child.once('exit', (code, signal) => done(code ?? (signal === null ? 1 : (SIGNAL_CODES[signal] ?? 128))));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  ctx.defer(async () => {
    if (!running()) return;
    if (paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exit;
  });
  return {
    label,
    child,
    lines,
    exit,
    stderr: () => stderr,
    running,
    waitFor(test, timeoutMs) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const waiter = {
          test,
          resolve: (l: ChildLine | undefined) => {
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', onAbort);
            waiters.delete(waiter);
            resolve(l);
          },
        };
        const timer = setTimeout(() => waiter.resolve(undefined), timeoutMs);
        const onAbort = () => waiter.resolve(undefined);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        waiters.add(waiter);
        // An exit ends the wait: lines still in the pipe arrive before 'close', so look again then.
        child.once('close', () => waiter.resolve(lines.find(test)));
      });
    },
    async kill() {
      if (!running()) return;
      child.kill('SIGKILL');
      await exit;
    },
    pause() {
      paused = true;
      child.kill('SIGSTOP');
    },
    resume() {
      paused = false;
      child.kill('SIGCONT');
    },
  };
}
