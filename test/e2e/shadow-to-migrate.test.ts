/**
 * The seam between the two halves of a rollout: the output directory of a gated shadow
 * replay is the evidence a migration step needs, with no file to hand-assemble.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import { runCli as run } from '../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'prio-shadow-migrate-'));

describe('shadow replay → migrate evidence', () => {
  it('attaches the verdict that replay --gate wrote beside report.json', async () => {
    const out = join(root, 'shadow');
    const store = ['--store-dir', join(root, 'store')];
    const replay = await run('shadow', 'replay', '--file', join(PACKAGE_ROOT, 'shadow/samples/requests.ndjson'), '--out', out, '--gate', join(PACKAGE_ROOT, 'shadow/gates/default.json'), '--quiet');
    expect(replay.code).toBe(0);
    expect((await run('migrate', 'plan', join(PACKAGE_ROOT, 'migrations/001-legacy-4-to-7-tier.json'), ...store)).code).toBe(0);
    expect((await run('migrate', 'advance', '001-legacy-4-to-7-tier', ...store)).code).toBe(0);

    const evidence = await run('migrate', 'evidence', '001-legacy-4-to-7-tier', '--report', join(out, 'report.json'), '--alarm', 'beta-dispatch-errors=OK', '--alarm', 'beta-token-rejects=OK', ...store);
    expect(evidence.err).toBe('');
    expect(evidence.code).toBe(0);
    expect(evidence.out).toContain('gate passed');

    const status = await run('migrate', 'status', '001-legacy-4-to-7-tier', ...store);
    expect(status.out).toContain('gate passed');
    expect(status.out).not.toContain('gate missing');
  });
});
