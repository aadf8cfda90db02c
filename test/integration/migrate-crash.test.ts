import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import { DynamoDbEventStore, FileEventStore, createEventTable, dynamoDbClient, type EventStore } from '../../src/eventstore/index.js';
import { handleCommand, loadMigration, type MigrationCommand } from '../../src/migration/index.js';
import { fastPlan } from '../support/migration/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'prio-crash-'));
const endpoint = process.env.DYNAMODB_ENDPOINT ?? '';
const table = `crash-${randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  const client = dynamoDbClient({ endpoint });
  await createEventTable(client, table);
  client.destroy();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type StoreArg = { kind: 'file'; dir: string } | { kind: 'dynamodb'; table: string; endpoint: string };

function child(args: { store: StoreArg; migrationId: string; commandId: string; command: MigrationCommand; crash: string }): Promise<{ signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(PACKAGE_ROOT, 'test/integration/migrate-crash-child.ts'), JSON.stringify(args)], { cwd: PACKAGE_ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve({ signal, out }) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

function scenario(storeArg: StoreArg, open: () => EventStore) {
  return async () => {
    const store = open();
    const id = `crash-${randomUUID().slice(0, 8)}`;
    await handleCommand(id, { type: 'plan', plan: fastPlan(id), actor: 'test', at: new Date().toISOString() }, { store, commandId: 'plan-1', clock: () => new Date() });
    const advance: MigrationCommand = { type: 'advance', actor: 'operator', at: new Date().toISOString() };

    // Killed after deciding, before appending: nothing is written; the re-run appends once.
    expect((await child({ store: storeArg, migrationId: id, commandId: 'adv-1', command: advance, crash: 'before-append' })).signal).toBe('SIGKILL');
    expect((await loadMigration(store, id)).stored).toHaveLength(1);
    const rerun = JSON.parse((await child({ store: storeArg, migrationId: id, commandId: 'adv-1', command: advance, crash: 'none' })).out) as { replayed: boolean; version: number };
    expect(rerun).toMatchObject({ replayed: false, version: 2 });

    // Killed after appending, before replying: the re-run with the same command id appends nothing.
    const pause: MigrationCommand = { type: 'pause', actor: 'operator', at: new Date().toISOString(), reason: 'crash drill' };
    expect((await child({ store: storeArg, migrationId: id, commandId: 'pause-1', command: pause, crash: 'after-append' })).signal).toBe('SIGKILL');
    const again = JSON.parse((await child({ store: storeArg, migrationId: id, commandId: 'pause-1', command: pause, crash: 'none' })).out) as { replayed: boolean; version: number };
    expect(again).toMatchObject({ replayed: true, version: 3 });

    const { stored } = await loadMigration(store, id);
    expect(stored.map((e) => e.type)).toEqual(['MigrationPlanned', 'StepStarted', 'MigrationPaused']);
    expect(stored.map((e) => e.meta.commandId)).toEqual(['plan-1', 'adv-1', 'pause-1']);
    await store.close();
  };
}

describe('a command handler killed mid-command', () => {
  it('leaves no duplicate event on the file store', scenario({ kind: 'file', dir }, () => new FileEventStore({ dir })), 60_000);
  it('leaves no duplicate event on DynamoDB', scenario({ kind: 'dynamodb', table, endpoint }, () => new DynamoDbEventStore({ table, endpoint })), 60_000);
});
