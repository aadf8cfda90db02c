import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import { DynamoDbEventStore, FileEventStore, createEventTable, type EventStore } from '../../src/eventstore/index.js';
import { handleCommand, loadMigration, type Plan } from '../../src/migration/index.js';
import { evidenceFor, fastPlan } from '../support/migration/fixtures.js';
import { eachLine } from '../support/json-lines-child.js';

const endpoint = process.env.DYNAMODB_ENDPOINT ?? '';
const table = `failover-${randomUUID().slice(0, 8)}`;
const store = new DynamoDbEventStore({ table, endpoint });
const fileDir = mkdtempSync(join(tmpdir(), 'prio-failover-'));
const fileStore = new FileEventStore({ dir: fileDir });
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  await createEventTable(store.client, table);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await store.close();
  rmSync(fileDir, { recursive: true, force: true });
});

interface Report {
  kind: string;
  token?: number;
  events?: string[];
  owner?: string;
  error?: string;
  /** When the controller reported it (its own clock: the same machine's). */
  at?: string;
}

/** A child process whose stdout is JSON lines, with a way to wait for a line matching a test. */
function launch(args: string[]) {
  const child = spawn(process.execPath, args, { cwd: PACKAGE_ROOT });
  children.push(child);
  const reports: Report[] = [];
  const waiters: { test: (r: Report) => boolean; resolve: (r: Report) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  eachLine(child.stdout, (line) => {
    if (!line.startsWith('{')) return;
    const r = JSON.parse(line) as Report;
    reports.push(r);
    for (const w of [...waiters]) {
      if (w.test(r)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
  });
  const waitFor = (test: (r: Report) => boolean, timeoutMs = 45_000): Promise<Report> => {
    const seen = reports.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; reports so far: ${JSON.stringify(reports)}\n${stderr}`)), timeoutMs);
      waiters.push({ test, resolve: (r) => (clearTimeout(timer), resolve(r)) });
    });
  };
  return { child, reports, waitFor };
}

/** Where each store's controllers keep their events and lease: the CLI's options and the test's own handle. */
const stores = {
  dynamodb: { store: store as EventStore, args: ['--store', 'dynamodb', '--table', table, '--endpoint', endpoint] },
  file: { store: fileStore as EventStore, args: ['--store-dir', fileDir] },
};
type StoreName = keyof typeof stores;

const controller = (id: string, owner: string, on: StoreName = 'dynamodb') =>
  launch([join(PACKAGE_ROOT, 'bin/prio.js'), 'migrate', 'drive', id, ...stores[on].args, '--owner', owner, '--lease-ttl', '2000', '--tick', '200', '--json']);

async function attachEvidence(id: string, plan: Plan, stepId: string, on: StoreName) {
  const step = plan.steps.find((s) => s.id === stepId);
  if (step === undefined) throw new Error(stepId);
  const r = await handleCommand(id, { type: 'attachEvidence', evidence: evidenceFor(step), actor: 'ci', at: new Date().toISOString() }, { store: stores[on].store, commandId: randomUUID(), clock: () => new Date() });
  expect(r.outcome).toBe('accepted');
}

async function planned(on: StoreName = 'dynamodb'): Promise<{ id: string; plan: Plan }> {
  const id = `fo-${randomUUID().slice(0, 8)}`;
  const plan = fastPlan(id);
  await handleCommand(id, { type: 'plan', plan, actor: 'test', at: new Date().toISOString() }, { store: stores[on].store, commandId: 'plan', clock: () => new Date() });
  return { id, plan };
}

describe('controller failover', () => {
  it.each(['dynamodb', 'file'] as const)('on %s: when the leader is killed, the other controller takes over within 10 s and continues from the stream', async (on) => {
    const { id, plan } = await planned(on);
    const a = controller(id, 'controller-a', on);
    const first = await a.waitFor((r) => r.kind === 'appended');
    expect(first.events).toEqual(['StepStarted']);
    await a.waitFor((r) => r.kind === 'blocked');
    const b = controller(id, 'controller-b', on);
    await b.waitFor((r) => r.kind === 'waiting');

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await attachEvidence(id, plan, 'beta-dual-read', on);
    const acquired = await b.waitFor((r) => r.kind === 'acquired');
    // Timed by the controller's own report, so a busy test runner does not add its own delays.
    const tookOverMs = Date.parse(acquired.at ?? '') - killedAt;
    expect(tookOverMs).toBeLessThan(10_000);
    expect(acquired.token).toBeGreaterThan(first.token ?? Infinity);
    await b.waitFor((r) => r.kind === 'appended' && (r.events ?? []).includes('StepCompleted'));
    await b.waitFor((r) => r.kind === 'appended' && (r.events ?? []).includes('StepStarted'));

    const { stored, state } = await loadMigration(stores[on].store, id);
    expect(state.current).toBe('preprod-dual-read');
    expect(stored.map((e) => e.meta.fencingToken ?? 0)).toEqual([0, first.token, 0, acquired.token, acquired.token]);
    b.child.kill('SIGTERM');
  }, 120_000);

  it("refuses a stalled former leader's late append by its fencing token", async () => {
    const { id } = await planned();
    const stale = launch(['--import', 'tsx', join(PACKAGE_ROOT, 'test/integration/migrate-stale-leader-child.ts'), table, endpoint, id]);
    const old = await stale.waitFor((r) => r.kind === 'acquired');
    const c = controller(id, 'controller-c');
    const taken = await c.waitFor((r) => r.kind === 'acquired');
    expect(taken.token).toBe((old.token ?? 0) + 1);
    await c.waitFor((r) => r.kind === 'appended');
    const before = (await loadMigration(store, id)).stored.length;

    stale.child.stdin.write('append now\n');
    const refused = await stale.waitFor((r) => r.kind === 'refused' || r.kind === 'appended');
    expect(refused).toMatchObject({ kind: 'refused', error: 'FencedAppend' });
    const after = await loadMigration(store, id);
    expect(after.stored.length).toBe(before);
    expect(after.stored.some((e) => e.meta.fencingToken === old.token)).toBe(false);
    c.child.kill('SIGTERM');
  }, 120_000);
});
