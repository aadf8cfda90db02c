/**
 * Interruptions lose nothing (issue 11.3): `prio shadow replay` as a child process, stopped by
 * SIGINT or SIGTERM mid-replay. The input is a pipe the test keeps open, so the replay cannot
 * finish before the signal arrives whatever the machine's speed: it has read the first part
 * and waits for more. Then: exit 1, checkpoint and partial report written, the earlier complete
 * report untouched, and the printed resume command, run with the whole log, gives the report
 * an uninterrupted replay gives.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import { runCli } from '../support/cli.js';

const PRIO = join(PACKAGE_ROOT, 'bin', 'prio.js');
const root = mkdtempSync(join(tmpdir(), 'prio-interrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Child {
  readonly code: Promise<number | null>;
  readonly stderr: () => string;
  readonly stdout: () => string;
  readonly stdin: NodeJS.WritableStream;
  readonly kill: (signal: NodeJS.Signals) => void;
}

/** `prio args...` run from `cwd` (outside the checkout, as a newcomer would), stdin a pipe. */
function prio(args: readonly string[], cwd: string): Child {
  const child = spawn(process.execPath, [PRIO, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // The child may stop reading before the test stops writing.
  child.stdin.on('error', () => undefined);
  return {
    code: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    stderr: () => err,
    stdout: () => out,
    stdin: child.stdin,
    kill: (signal) => child.kill(signal),
  };
}

async function until(what: string, ready: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const withoutRun = (file: string): unknown => {
  const { run: _run, ...rest } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return rest;
};

let log: string;
let lines: string[];
beforeAll(async () => {
  log = join(root, 'log.ndjson');
  expect((await runCli('shadow', 'generate', '--count', '12000', '--seed', '3', '--out', log)).code).toBe(0);
  // A few bad lines, so the quarantine (kept across the resume) has something to keep.
  lines = readFileSync(log, 'utf8').trim().split('\n');
  lines.splice(50, 0, '{"requestId": "cut-off');
  lines.splice(9000, 0, 'not json');
}, 60_000);

describe.each([
  ['SIGINT', '0'],
  ['SIGTERM', '2'],
] as const)('prio shadow replay stopped by %s (--workers %s)', (signal, workers) => {
  it('exits 1 with a checkpoint, a partial report and the exact resume command; the earlier report stays until a complete one replaces it', async () => {
    const cwd = join(root, `${signal}-cwd`);
    mkdirSync(cwd);
    const out = join(cwd, 'out');
    // An earlier complete report in --out: the bundled sample.
    const earlier = await runCli('shadow', 'replay', '--file', join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson'), '--out', out, '--quiet');
    expect(earlier.code).toBe(0);
    const earlierReport = readFileSync(join(out, 'report.json'), 'utf8');
    const earlierQuarantine = readFileSync(join(out, 'quarantine.ndjson'), 'utf8');

    const args = ['shadow', 'replay', '--file', '-', '--out', 'out', '--quiet', '--workers', workers];
    const child = prio(args, cwd);
    child.stdin.write(`${lines.slice(0, 6000).join('\n')}\n`);
    // The run has started (its handlers are in place) once its quarantine file exists.
    await until('the replay to start', () => existsSync(join(out, 'quarantine.partial.ndjson')));
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill(signal);
    expect(await child.code).toBe(1);

    const checkpoint = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { checkpoint: { kind: string; nextLine: number }; message: string };
    expect(checkpoint.message).toBe(`interrupted by ${signal}`);
    expect(checkpoint.checkpoint.kind).toBe('line');
    const partial = JSON.parse(readFileSync(join(out, 'report.partial.json'), 'utf8')) as { totals: { read: number }; run: { partial: boolean } };
    expect(partial.run.partial).toBe(true);
    expect(partial.totals.read).toBeGreaterThan(0);
    // Every record before the checkpoint is in the partial figures (line 51 is the cut-off one).
    expect(partial.totals.read).toBe(checkpoint.checkpoint.nextLine - 1);
    expect(readFileSync(join(out, 'report.partial.md'), 'utf8')).toContain('PARTIAL REPORT');
    // The earlier complete report and its quarantine are untouched.
    expect(readFileSync(join(out, 'report.json'), 'utf8')).toBe(earlierReport);
    expect(readFileSync(join(out, 'quarantine.ndjson'), 'utf8')).toBe(earlierQuarantine);

    const printed = /resume with: (.*)$/m.exec(child.stderr())?.[1];
    expect(printed).toBe(`prio ${args.join(' ')} --resume out/checkpoint.json`);
    expect(child.stderr()).not.toMatch(/\bat \S+:\d+:\d+/);

    // The printed command, with the whole log piped in again, finishes the report.
    const resumed = prio((printed ?? '').split(' ').slice(1), cwd);
    resumed.stdin.end(`${lines.join('\n')}\n`);
    expect(await resumed.code).toBe(0);
    for (const gone of ['checkpoint.json', 'report.partial.json', 'report.partial.md', 'report.partial.html', 'quarantine.partial.ndjson']) {
      expect(existsSync(join(out, gone))).toBe(false);
    }
    // Same report as one uninterrupted replay of the whole log.
    const whole = join(root, `${signal}-whole`);
    const single = prio(['shadow', 'replay', '--file', '-', '--out', whole, '--quiet', '--workers', workers], root);
    single.stdin.end(`${lines.join('\n')}\n`);
    expect(await single.code).toBe(0);
    expect(withoutRun(join(out, 'report.json'))).toEqual(withoutRun(join(whole, 'report.json')));
    expect(readFileSync(join(out, 'quarantine.ndjson'), 'utf8')).toBe(readFileSync(join(whole, 'quarantine.ndjson'), 'utf8'));
  }, 120_000);
});
