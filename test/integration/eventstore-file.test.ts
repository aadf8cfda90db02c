import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConcurrencyConflict, CorruptStream, FencedAppend, FileEventStore, StoreUnavailable, type NewEvent } from '../../src/eventstore/index.js';
import { PACKAGE_ROOT } from '../../src/config/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'prio-store-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const event = (n: number, commandId = `c${n}`): NewEvent => ({ type: 'Numbered', data: { n, text: 'é ✓' }, meta: { commandId, recordedAt: '2026-01-05T09:00:00.000Z' } });

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PACKAGE_ROOT, 'test/integration/eventstore-writer-child.ts'), ...args], { cwd: PACKAGE_ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

describe('file event store', () => {
  it('appends with optimistic concurrency and reads back in order', async () => {
    const store = new FileEventStore({ dir: tempDir() });
    expect(await store.read('s')).toEqual([]);
    expect(await store.append('s', 0, [event(1), event(2)])).toEqual({ fromVersion: 1, toVersion: 2 });
    await expect(store.append('s', 1, [event(3)])).rejects.toBeInstanceOf(ConcurrencyConflict);
    await store.append('s', 2, [event(3)]);
    const read = await store.read('s');
    expect(read.map((e) => [e.version, (e.data as { n: number }).n])).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(read[0]?.data).toEqual({ n: 1, text: 'é ✓' });
    expect(await store.version('s')).toBe(3);
    // A second instance (another process's view) sees the same head and conflicts the same way.
    const other = new FileEventStore({ dir: store.fileOf('s').replace(/\/streams\/.*$/, '') });
    await expect(other.append('s', 2, [event(9)])).rejects.toThrow('expected version 2, found 3');
    expect(await store.listStreams()).toEqual(['s']);
  });

  it('reports a torn last line with its position, and repairs only when asked, keeping the bytes', async () => {
    const store = new FileEventStore({ dir: tempDir() });
    await store.append('m', 0, [event(1), event(2)]);
    const file = store.fileOf('m');
    const intact = readFileSync(file);
    appendFileSync(file, '{"event":{"version":3,"type":"Num');
    const err = await store.read('m').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStream);
    expect(err).toMatchObject({ line: 3, offset: intact.length });
    expect((err as Error).message).toContain('torn write');
    await expect(store.append('m', 2, [event(3)])).rejects.toBeInstanceOf(CorruptStream);
    expect(readFileSync(file).length).toBeGreaterThan(intact.length); // still there: nothing dropped
    const quarantine = await store.repairTornTail('m');
    expect(quarantine).toBeDefined();
    expect(readFileSync(quarantine ?? '', 'utf8')).toBe('{"event":{"version":3,"type":"Num');
    expect((await store.read('m')).length).toBe(2);
    await store.append('m', 2, [event(3)]);
  });

  it('detects a damaged line by its checksum and refuses to repair it', async () => {
    const store = new FileEventStore({ dir: tempDir() });
    await store.append('d', 0, [event(1), event(2)]);
    const file = store.fileOf('d');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"n":1', '"n":7'));
    const err = (await store.read('d').catch((e: unknown) => e)) as CorruptStream;
    expect(err).toBeInstanceOf(CorruptStream);
    expect(err.line).toBe(1);
    expect(err.reason).toContain('checksum mismatch');
    await expect(store.repairTornTail('d')).rejects.toThrow(CorruptStream);
  });

  it('takes over a lock left by a dead process and refuses an append fenced by a lease it does not hold', async () => {
    const dir = tempDir();
    const store = new FileEventStore({ dir });
    await store.append('l', 0, [event(1)]);
    symlinkSync('999999999', `${store.fileOf('l')}.lock`); // the lock of a process that died holding it
    await store.append('l', 1, [event(2)]);
    expect(readdirSync(join(dir, 'streams'))).toEqual(['l.ndjson']);
    await expect(store.append('l', 2, [event(3)], { fence: { lease: 'x', token: 1 } })).rejects.toBeInstanceOf(FencedAppend);
  });

  it('waits for a held lock without blocking the event loop, then appends', async () => {
    const dir = tempDir();
    const store = new FileEventStore({ dir, lockTimeoutMs: 20_000 });
    await store.append('w', 0, [event(1)]);
    const lock = `${store.fileOf('w')}.lock`;
    // A lock naming a live process (this one): exactly what a writer mid-append leaves on disk.
    symlinkSync(String(process.pid), lock);
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    let settled = false;
    const waiting = store.append('w', 1, [event(2)]).finally(() => (settled = true));
    try {
      // The waiter must leave the loop free: the interval keeps firing while the lock is held.
      while (ticks < 20) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(settled).toBe(false);
      expect(readFileSync(store.fileOf('w'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
      unlinkSync(lock);
      expect(await waiting).toEqual({ fromVersion: 2, toVersion: 2 });
    } finally {
      clearInterval(ticker);
    }
    expect((await store.read('w')).map((e) => e.version)).toEqual([1, 2]);
  });

  it('gives up on a lock held past the timeout with a clear error, without blocking the loop', async () => {
    const store = new FileEventStore({ dir: tempDir(), lockTimeoutMs: 200 });
    await store.append('t', 0, [event(1)]);
    symlinkSync(String(process.pid), `${store.fileOf('t')}.lock`);
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const err = await store.append('t', 1, [event(2)]).catch((e: unknown) => e);
    clearInterval(ticker);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toMatch(new RegExp(`lock .*t\\.ndjson\\.lock is held by process ${process.pid} for more than 200 ms`));
    expect(ticks).toBeGreaterThan(0);
  });

  it('two processes racing for 1,000 rounds: no event lost or duplicated, one winner per version', async () => {
    const dir = tempDir();
    const rounds = 1000;
    const outputs = await Promise.all(['a', 'b'].map((w) => runChild([dir, 'race', w, String(rounds)])));
    const results = outputs.map((o) => JSON.parse(o) as { writer: string; won: { round: number; version: number }[]; conflicts: number });
    const events = await new FileEventStore({ dir }).read('race');
    const wins = results.flatMap((r) => r.won.map((w) => ({ ...w, writer: r.writer })));
    expect(events.length).toBe(wins.length);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    for (const w of wins) expect(events[w.version - 1]?.data).toEqual({ writer: w.writer, round: w.round });
    for (const r of results) expect(r.won.length + r.conflicts).toBe(rounds);
    expect(new Set(events.map((e) => e.meta.commandId)).size).toBe(events.length);
  }, 120_000);

  it('holds a lease with a fencing token: one holder at a time, a new token on takeover, the old token fenced out', async () => {
    const dir = tempDir();
    const a = new FileEventStore({ dir });
    const b = new FileEventStore({ dir }); // another process's view of the same directory
    const first = await a.acquire('migration-x', 'runner-a', 1_000, 10_000);
    expect(first).toMatchObject({ acquired: true, lease: { owner: 'runner-a', token: 1, expiresAt: 11_000 } });
    if (!first.acquired) return;
    expect(await b.acquire('migration-x', 'runner-b', 1_000, 10_500)).toEqual({ acquired: false, holder: 'runner-a', expiresAt: 11_000, token: 1 });
    const renewed = await a.renew(first.lease, 1_000, 10_900);
    expect(renewed?.expiresAt).toBe(11_900);
    expect(await b.acquire('migration-x', 'runner-b', 1_000, 11_500)).toMatchObject({ acquired: false, holder: 'runner-a' });
    await a.append('s', 0, [event(1)], { fence: { lease: 'migration-x', token: 1 } });

    // Expired: b takes over with a new token; a can neither renew nor append under its old one.
    const second = await b.acquire('migration-x', 'runner-b', 1_000, 12_000);
    expect(second).toMatchObject({ acquired: true, lease: { owner: 'runner-b', token: 2 } });
    expect(await a.renew(first.lease, 1_000, 12_001)).toBeUndefined();
    const fenced = await a.append('s', 1, [event(2)], { fence: { lease: 'migration-x', token: 1 } }).catch((e: unknown) => e);
    expect(fenced).toBeInstanceOf(FencedAppend);
    await b.append('s', 1, [event(2)], { fence: { lease: 'migration-x', token: 2 } });
    expect((await a.read('s')).map((e) => (e.data as { n: number }).n)).toEqual([1, 2]);
    // A fence naming a lease nobody ever took is refused too.
    await expect(b.append('s', 2, [event(3)], { fence: { lease: 'never', token: 1 } })).rejects.toBeInstanceOf(FencedAppend);

    // Released: free at once for the next owner, whose token keeps growing.
    if (second.acquired) await b.release(second.lease);
    expect(await a.acquire('migration-x', 'runner-a', 1_000, 12_100)).toMatchObject({ acquired: true, lease: { token: 3 } });
    expect(readFileSync(a.leaseFileOf('migration-x'), 'utf8')).toContain('"token":3');
  });

  it('a lease file that is not a lease is reported, not overwritten', async () => {
    const dir = tempDir();
    const store = new FileEventStore({ dir });
    await store.acquire('l', 'o', 1_000, 0);
    writeFileSync(store.leaseFileOf('l'), '{"owner":"o"}');
    await expect(store.acquire('l', 'p', 1_000, 5_000)).rejects.toThrow(/lease file .* is damaged/);
    expect(readFileSync(store.leaseFileOf('l'), 'utf8')).toBe('{"owner":"o"}');
  });
});
