/**
 * Every I/O error on every command is one line naming the path and the cause, exit 2 (issue
 * 11.4): an --out that is a file, lies under a file or cannot be created (under /proc, where a
 * recursive mkdir used to spin), a generate --out into a missing directory, a store stream or
 * store directory that does not exist. Never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import { runCli, type CliRun } from '../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'prio-io-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sample = join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson');

/** Exit 2 and exactly one `error:` line that names `path` (notes before it are allowed), no stack. */
function expectOneLineIoError(r: CliRun, path: string, cause: RegExp): void {
  expect(r.code).toBe(2);
  const errors = r.err.split('\n').filter((l) => l.startsWith('error:'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toContain(path);
  expect(errors[0]).toMatch(cause);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.err).not.toContain('internal error');
}

describe('I/O errors are one line and exit 2 (issue 11.4)', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');

  it('shadow replay --out naming an existing file', async () => {
    expectOneLineIoError(await runCli('shadow', 'replay', '--file', sample, '--out', file, '--quiet'), file, /not a directory/);
  });

  it('shadow replay --out under a file', async () => {
    expectOneLineIoError(await runCli('shadow', 'replay', '--file', sample, '--out', join(file, 'sub'), '--quiet'), file, /not a directory/);
  });

  it('shadow replay --out where nothing can be created (/proc): a child process, killed if it spins', async () => {
    const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'prio.js'), 'shadow', 'replay', '--file', sample, '--out', '/proc/prio-out', '--quiet'], {
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL',
    });
    expectOneLineIoError({ code: r.status ?? -1, out: r.stdout, err: r.stderr }, '/proc/prio-out', /cannot create/);
  }, 30_000);

  it('shadow merge --out naming an existing file', async () => {
    const part = join(root, 'part');
    expect((await runCli('shadow', 'replay', '--file', sample, '--out', part, '--quiet')).code).toBe(0);
    expectOneLineIoError(await runCli('shadow', 'merge', part, '--out', file), file, /not a directory/);
  });

  it('shadow generate --out into a missing directory', async () => {
    const target = join(root, 'missing', 'dir', 'log.ndjson');
    expectOneLineIoError(await runCli('shadow', 'generate', '--count', '10', '--out', target), target, /no such file or directory/);
  });

  it('store repair of a stream that does not exist, and store verify of a missing directory', async () => {
    const store = join(root, 'store');
    mkdirSync(store);
    expectOneLineIoError(await runCli('store', 'repair', 'no-such-stream', '--store-dir', store), 'no-such-stream', /no such stream/);
    const missing = join(root, 'no-store');
    expectOneLineIoError(await runCli('store', 'verify', '--store-dir', missing), missing, /no such directory/);
    expectOneLineIoError(await runCli('store', 'repair', 'x', '--store-dir', missing), missing, /no such directory/);
  });

  it('store repair refusing damage that is not a torn last line does not point back at itself', async () => {
    const store = join(root, 'damaged-store');
    expect((await runCli('migrate', 'plan', join(PACKAGE_ROOT, 'migrations', '001-legacy-4-to-7-tier.json'), '--store-dir', store)).code).toBe(0);
    const stream = join(store, 'streams', 'migration-001-legacy-4-to-7-tier.ndjson');
    const [first, ...rest] = readFileSync(stream, 'utf8').split('\n');
    // Damage the first (complete) line: a checksum mismatch, not a torn tail.
    writeFileSync(stream, [(first ?? '').replace('"version":1', '"version":7'), ...rest].join('\n'));
    const r = await runCli('store', 'repair', 'migration-001-legacy-4-to-7-tier', '--store-dir', store);
    expect(r.code).toBe(1);
    expect(r.err).not.toContain('prio store repair');
    expect(r.err).toContain('restore migration-001-legacy-4-to-7-tier from a backup');
  });
});
