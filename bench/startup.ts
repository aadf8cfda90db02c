/**
 * Start-up: wall time of `prio --help` (the built bin, `node bin/prio.js --help`) against
 * `node -e 0` — Node starting and doing nothing — in the same run, interleaved one pair at a
 * time so a burst of other work on the machine hits both alike. Also `prio --version`, and one
 * command group that loads the AWS SDK (`prio appconfig --help`), to show what the lazy loading
 * saves. Builds dist/ first when it is missing or stale.
 *
 *   npm run bench -- startup [--runs 30] [--json]
 *
 * Target (issue 16): `prio --help` under 150 ms median on this machine.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../test/support/build.js';
import type { BenchSuite } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_MS = 150;

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${name} must be a positive integer`);
  return v;
}

/** Wall time of one run of `node ...args`, in milliseconds; throws if it fails. */
function timeRun(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status ?? run.signal}: ${run.stderr.toString()}`);
  return ms;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const round1 = (x: number): number => Math.round(x * 10) / 10;

export const suite: BenchSuite = async ({ args, log }) => {
  const runs = option(args, '--runs', 30);
  ensureBuilt();
  const bin = join(root, 'bin', 'prio.js');
  const cases = [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: 'prio --help', args: [bin, '--help'] },
    { name: 'prio --version', args: [bin, '--version'] },
    { name: 'prio appconfig --help', args: [bin, 'appconfig', '--help'] },
  ];
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  // One warm-up round (file cache), then the measured rounds, each running every case once.
  for (const c of cases) timeRun(c.args);
  for (let i = 0; i < runs; i++) {
    for (const c of cases) times.get(c.name)?.push(timeRun(c.args));
    if ((i + 1) % 10 === 0) log(`startup: ${i + 1}/${runs} rounds`);
  }
  const results = cases.map((c) => {
    const ms = times.get(c.name) ?? [];
    const p50 = median(ms);
    return { name: c.name, opsPerSec: 1000 / p50, medianMs: round1(p50), minMs: round1(Math.min(...ms)), maxMs: round1(Math.max(...ms)), runs: ms.length };
  });
  const help = results.find((r) => r.name === 'prio --help');
  const node = results.find((r) => r.name === 'node -e 0');
  const helpMs = help?.medianMs ?? Number.NaN;
  return Promise.resolve({
    suite: 'startup',
    results,
    overNodeMs: round1(helpMs - (node?.medianMs ?? Number.NaN)),
    targets: [{ target: `prio --help median < ${TARGET_MS} ms`, measured: `${helpMs} ms (node -e 0: ${node?.medianMs} ms)`, met: helpMs < TARGET_MS }],
  });
};
