/**
 * `prio shadow merge` refuses inputs that would count records twice (issue 11.2): the same
 * partial report given twice, a copy of it, two replays of the same file, a merged report
 * together with one of its own parts. Disjoint parts still merge into the single-run report.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import { runCli } from '../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'prio-merge-overlap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sample = join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson');

async function replay(file: string, out: string): Promise<string> {
  expect((await runCli('shadow', 'replay', '--file', file, '--out', out, '--quiet')).code).toBe(0);
  return out;
}

function refused(r: { code: number; err: string; out: string }, why: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.err).toMatch(why);
  expect(r.err).toContain('count those records twice');
  // One line: `error: <report> <why>; …`.
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/^error: /);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('prio shadow merge refuses overlapping or duplicate partial reports (issue 11.2)', () => {
  const lines = readFileSync(sample, 'utf8').trim().split('\n');
  const half = Math.floor(lines.length / 2);
  const first = join(root, 'first.ndjson');
  const second = join(root, 'second.ndjson');
  writeFileSync(first, `${lines.slice(0, half).join('\n')}\n`);
  writeFileSync(second, `${lines.slice(half).join('\n')}\n`);

  it('refuses the same report twice, and a copy of it, each with a clear message', async () => {
    const d = await replay(first, join(root, 'd'));
    refused(await runCli('shadow', 'merge', d, d, '--out', join(root, 'twice')), /is given twice/);
    refused(await runCli('shadow', 'merge', d, join(d, 'report.json'), '--out', join(root, 'twice-file')), /is given twice/);
    const copy = join(root, 'd-copy');
    cpSync(d, copy, { recursive: true });
    refused(await runCli('shadow', 'merge', d, copy, '--out', join(root, 'copied')), /same replay \(run [0-9a-f-]+\)/);
  });

  it('refuses two replays of the same file, naming the lines both cover', async () => {
    const a = await replay(first, join(root, 'a'));
    const b = await replay(first, join(root, 'b'));
    refused(await runCli('shadow', 'merge', a, b, '--out', join(root, 'ab')), new RegExp(`covers lines 1-${half} of ${first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('merges disjoint parts into the single-run report, and refuses that merge together with one of its parts', async () => {
    const p1 = await replay(first, join(root, 'p1'));
    const p2 = await replay(second, join(root, 'p2'));
    const merged = join(root, 'merged');
    const r = await runCli('shadow', 'merge', p1, p2, '--out', merged);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(merged, 'report.json'), 'utf8')) as { totals: { read: number }; run: { runIds: string[]; coverage: unknown[] } };
    expect(report.totals.read).toBe(lines.length);
    expect(report.run.runIds).toHaveLength(2);
    expect(report.run.coverage).toEqual([
      { kind: 'lines', file: first, from: 1, to: half + 1 },
      { kind: 'lines', file: second, from: 1, to: lines.length - half + 1 },
    ]);
    refused(await runCli('shadow', 'merge', merged, p2, '--out', join(root, 'again')), /same replay/);
  });
});
