/**
 * The README's typical session, run as a newcomer would: from a directory outside the checkout
 * (issue 11.6). Paths of packaged files (rules/…, shadow/gates/…, migrations/…) that do not
 * exist under the current directory are found in the package, as `demo` finds them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';

const cwd = mkdtempSync(join(tmpdir(), 'prio-newcomer-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function prio(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'prio.js'), ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("the README's typical session outside the checkout (issue 11.6)", () => {
  it('finds packaged rule sets, gates and migrations by their packaged paths', () => {
    const check = prio('rules', 'check', 'rules/legacy.json', 'rules/service_tier.json');
    expect(check.err).not.toContain('ENOENT');
    expect(check.code).toBe(0);
    expect(prio('shadow', 'generate', '--count', '2000', '--seed', '7', '--out', 'requests.ndjson').code).toBe(0);
    const replay = prio('shadow', 'replay', '--file', 'requests.ndjson', '--out', 'shadow-out', '--gate', 'shadow/gates/default.json', '--quiet');
    expect(replay.err).not.toContain('cannot read');
    expect([0, 3]).toContain(replay.code);
    const plan = prio('migrate', 'plan', 'migrations/001-legacy-4-to-7-tier.json', '--store-dir', 'store');
    expect(plan.err).not.toContain('cannot read');
    expect(plan.code).toBe(0);
  }, 120_000);

  it('a path that exists nowhere is still reported as the user wrote it', () => {
    const r = prio('rules', 'check', 'rules/nope.json');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error: rules\/nope\.json: cannot read/m);
  }, 60_000);
});
