import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEventStore, createEventTable } from '../../src/eventstore/index.js';
import { handleCommand, loadMigration, runController, type ControllerReport } from '../../src/migration/index.js';
import { evidenceFor, fastPlan } from '../support/migration/fixtures.js';

const endpoint = process.env.DYNAMODB_ENDPOINT ?? '';
const table = `controller-${randomUUID().slice(0, 8)}`;
const store = new DynamoDbEventStore({ table, endpoint });
beforeAll(async () => {
  await createEventTable(store.client, table);
});
afterAll(() => store.close());

describe('a controller driving a migration', () => {
  it('walks every step as evidence arrives, then completes the migration and gives the lease back', async () => {
    const id = `drive-${randomUUID().slice(0, 8)}`;
    const plan = fastPlan(id);
    const ctx = { store, clock: () => new Date() };
    await handleCommand(id, { type: 'plan', plan, actor: 'test', at: new Date().toISOString() }, { ...ctx, commandId: 'plan' });

    const reports: ControllerReport[] = [];
    const attach = async (stepId: string) => {
      const step = plan.steps.find((s) => s.id === stepId);
      if (step === undefined) throw new Error(stepId);
      await handleCommand(id, { type: 'attachEvidence', evidence: evidenceFor(step), actor: 'ci', at: new Date().toISOString() }, { ...ctx, commandId: randomUUID() });
    };
    let pending = Promise.resolve();
    const ended = await runController(
      { migrationId: id, owner: 'controller-1', leaseTtlMs: 2_000, tickMs: 20 },
      {
        store,
        leases: store,
        clock: () => new Date(),
        sleep: async (ms) => {
          await pending; // play CI: evidence for whatever step the controller is waiting on
          await new Promise((r) => setTimeout(r, ms));
        },
        newId: () => randomUUID(),
        report: (r) => {
          reports.push(r);
          if (r.kind === 'blocked' && r.rejection.invariant === 'passing-gate') {
            const stepId = /attached to (\S+) since/.exec(r.rejection.message)?.[1];
            if (stepId !== undefined) pending = attach(stepId);
          }
        },
      },
    );
    expect(ended).toBe('finished');
    const { state, stored } = await loadMigration(store, id);
    expect(state.status).toBe('completed');
    expect(stored.filter((e) => e.type === 'StepCompleted')).toHaveLength(plan.steps.length);
    const acquired = reports.find((r) => r.kind === 'acquired');
    if (acquired?.kind !== 'acquired') throw new Error('the controller never took the lease');
    const fenced = stored.filter((e) => e.meta.fencingToken !== undefined);
    expect(fenced.length).toBeGreaterThan(plan.steps.length);
    expect(fenced.every((e) => e.meta.fencingToken === acquired.token)).toBe(true);
    // The lease was released: another controller gets it at once, with the next token.
    const next = await store.acquire(`migration-${id}`, 'controller-2', 2_000, Date.now());
    expect(next).toMatchObject({ acquired: true, lease: { token: acquired.token + 1 } });
  }, 60_000);
});
