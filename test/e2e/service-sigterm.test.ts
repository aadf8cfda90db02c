/**
 * SIGTERM under load, on the real binary (`node bin/prio.js serve` as a child process): the
 * service stops accepting, serves what it had accepted, writes every one to the request log and
 * exits 0. When the grace period is too short, what is left is answered 503, never dropped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function startChild(args: string[]): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null>; stdout: () => string }> {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'prio.js'), 'serve', '--dev-keys', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 600 && !/listening on (http\S+)/.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`prio serve exited ${child.exitCode}: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /listening on (http\S+)/.exec(out)?.[1];
  if (url === undefined) throw new Error(`prio serve did not start: ${err}`);
  return { child, url, exit, stdout: () => out };
}

async function queuedTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^prio_scheduler_requests_total\{[^}]*event="queued"\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

function setup(concurrency: number): { dir: string; capacity: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'prio-serve-sigterm-'));
  dirs.push(dir);
  const capacity = join(dir, 'capacity.json');
  writeFileSync(capacity, JSON.stringify({ variants: {}, defaultVariant: { concurrency, queueBound: 1000 } }));
  return { dir, capacity, log: join(dir, 'requests.ndjson') };
}

function send(url: string, i: number): Promise<{ id: string; status: number | string; body: string }> {
  const id = `req-${i}`;
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-prio-account': `acct-${i % 3}`, 'x-prio-classification': i % 2 === 0 ? 'ON_DEMAND' : 'PTV1' },
    body: JSON.stringify({ model: 'model-a' }),
  }).then(
    async (r) => ({ id, status: r.status, body: await r.text() }),
    (e: Error) => ({ id, status: `error: ${e.message}`, body: '' }),
  );
}

describe('prio serve on SIGTERM', () => {
  it('serves every accepted request, logs each, refuses new ones and exits 0', async () => {
    const { capacity, log } = setup(4);
    const { child, url, exit, stdout } = await startChild(['--upstream', 'sim:', '--sim-mean-ms', '300', '--sim-distribution', 'fixed', '--capacity', capacity, '--request-log', log, '--grace-ms', '20000']);
    const accepted = Array.from({ length: 24 }, (_, i) => send(url, i));
    for (let i = 0; i < 400 && (await queuedTotal(url)) < 24; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await queuedTotal(url)).toBe(24);
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const late = await send(url, 99);
    expect(late.status === 503 || String(late.status).startsWith('error')).toBe(true);

    const results = await Promise.all(accepted);
    expect(results.map((r) => r.status)).toEqual(Array(24).fill(200));
    expect(await exit).toBe(0);
    expect(stdout()).toContain('24 in-flight requests finished, 0 answered 503');
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requestId: string; outcome: string; observed: { priority: number } });
    expect(records.map((r) => r.requestId).sort()).toEqual(results.map((r) => r.id).sort());
    expect(records.every((r) => r.outcome === 'completed')).toBe(true);
  });

  it('answers 503 to what is still queued when the grace period runs out, and logs it', async () => {
    const { capacity, log } = setup(2);
    const { child, url, exit } = await startChild(['--upstream', 'sim:', '--sim-mean-ms', '1500', '--sim-distribution', 'fixed', '--capacity', capacity, '--request-log', log, '--grace-ms', '300']);
    const accepted = Array.from({ length: 8 }, (_, i) => send(url, i));
    for (let i = 0; i < 400 && (await queuedTotal(url)) < 8; i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGTERM');
    const results = await Promise.all(accepted);
    expect(await exit).toBe(0);
    for (const r of results) expect(r.status === 503 ? JSON.parse(r.body).error : r.status).toBe('draining');
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requestId: string; outcome: string; status: number });
    expect(records).toHaveLength(8);
    expect(records.every((r) => r.outcome === 'cancelled' && r.status === 503)).toBe(true);
  });
});
