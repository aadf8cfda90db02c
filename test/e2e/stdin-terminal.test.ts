/**
 * A command that reads stdin says so when stdin is a terminal (issue 11.7), so a newcomer who
 * forgot the pipe is not left staring at a silent prompt. `script` gives the child a real
 * pseudo-terminal; its own stdin is empty, so the command sees end of input at once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';

const root = mkdtempSync(join(tmpdir(), 'prio-tty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const prio = `${process.execPath} ${join(PACKAGE_ROOT, 'bin', 'prio.js')}`;

function atTerminal(args: string): string {
  const r = spawnSync('script', ['-qec', `${prio} ${args}`, '/dev/null'], { cwd: root, input: '', encoding: 'utf8', timeout: 60_000 });
  return r.stdout;
}

// util-linux's script(1) gives the command a real pseudo-terminal; without it there is no terminal to test at.
describe.skipIf(!existsSync('/usr/bin/script'))('commands that read stdin at a terminal say so (issue 11.7)', () => {
  it.each([
    ['token decode', 'reading the token from stdin'],
    ['rules eval --rules rules/legacy.json', 'reading NDJSON requests from stdin'],
    ['shadow replay --file - --out out --quiet', 'reading the request log (NDJSON or gzip) from stdin'],
    ['sched simulate --log - --rules rules/legacy.json', 'reading the request log (NDJSON or gzip) from stdin'],
  ])('prio %s', (args, note) => {
    expect(atTerminal(args)).toContain(note);
  }, 60_000);

  it('and stays quiet when stdin is a pipe', () => {
    const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'prio.js'), 'token', 'decode'], { cwd: root, input: 'x', encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toContain('from stdin');
  }, 60_000);
});
