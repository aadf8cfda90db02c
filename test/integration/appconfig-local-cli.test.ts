/**
 * `prio appconfig local` as a user runs it: a child process that prints its URL, serves the SDK,
 * keeps state across a restart with --state-dir, and exits 0 on SIGTERM and SIGINT; bad options
 * and unusable state are one-line errors with exit 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CreateApplicationCommand, GetApplicationCommand } from '@aws-sdk/client-appconfig';
import { appConfigClients } from '../support/appconfig.js';
import { runCli } from '../support/cli.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const dirs: string[] = [];
/** Every child started, so a failed assertion never leaves one running. */
const children: ChildProcess[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'prio-appconfig-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exit: Promise<number | null>;
  /** What it printed on stderr so far. */
  stderr(): string;
}

/** Starts `prio appconfig local --json …` and waits for the JSON it prints once listening. */
function startCli(...args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ['bin/prio.js', 'appconfig', 'local', '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no URL printed; stderr: ${err}`));
    }, 20_000);
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      try {
        const { url } = JSON.parse(out) as { url: string };
        clearTimeout(timer);
        resolve({ child, url, exit, stderr: () => err });
      } catch {
        // the JSON is not complete yet
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening; stderr: ${err}`));
    });
  });
}

describe('prio appconfig local (CLI)', () => {
  it('serves the SDK, keeps state across a restart with --state-dir, exits 0 on SIGTERM and SIGINT', async () => {
    const dir = tempDir();
    const first = await startCli('--state-dir', dir, '--time-scale', '60');
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    let clients = appConfigClients(first.url);
    const app = await clients.control.send(new CreateApplicationCommand({ Name: 'cli-app' }));
    clients.destroy();
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = await startCli('--state-dir', dir, '--log');
    clients = appConfigClients(second.url);
    try {
      expect((await clients.control.send(new GetApplicationCommand({ ApplicationId: app.Id }))).Name).toBe('cli-app');
      // The log line reaches the pipe a moment after the answer reaches the client.
      await vi.waitFor(() => expect(second.stderr()).toMatch(new RegExp(`GET /applications/${app.Id} 200 GetApplication \\d+\\.\\dms`)), { timeout: 5_000 });
    } finally {
      clients.destroy();
    }
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  });

  it('bad options and unusable state are one-line errors with exit 2', async () => {
    const scale = await runCli('appconfig', 'local', '--time-scale', '0');
    expect(scale.code).toBe(2);
    expect(scale.err.trim()).toBe('error: --time-scale must be a positive number, got "0"');
    const port = await runCli('appconfig', 'local', '--port', '70000');
    expect(port.code).toBe(2);
    expect(port.err).toMatch(/--port must be an integer 0-65535/);

    const dir = tempDir();
    writeFileSync(join(dir, 'appconfig-local.json'), '{ not json');
    const corrupt = await runCli('appconfig', 'local', '--state-dir', dir);
    expect(corrupt.code).toBe(2);
    expect(corrupt.err.trim().split('\n')).toHaveLength(1);
    expect(corrupt.err).toContain(join(dir, 'appconfig-local.json'));

    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as { port: number }).port;
    try {
      const inUse = await runCli('appconfig', 'local', '--port', String(taken));
      expect(inUse.code).toBe(2);
      expect(inUse.err).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}`));
    } finally {
      busy.close();
    }
  });
});
