import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConcurrencyConflict, FileEventStore, type AppendOptions, type EventStore, type NewEvent } from '../../src/eventstore/index.js';
import { DEFAULT_BACKOFF, TooManyConflicts, backoffDelay, handleCommand, listMigrations, loadMigration, streamOf, type MigrationCommand, type Step } from '../../src/migration/index.js';
import { evidenceFor, fastPlan } from '../support/migration/fixtures.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fileStore(): FileEventStore {
  const dir = mkdtempSync(join(tmpdir(), 'prio-retry-'));
  dirs.push(dir);
  return new FileEventStore({ dir });
}

const at = '2026-01-05T09:00:00.000Z';
const plan = fastPlan('retry');
const firstStep = plan.steps[0];
if (firstStep === undefined) throw new Error('fast plan has no step');
const attach: MigrationCommand = { type: 'attachEvidence', actor: 'ci', at, evidence: evidenceFor(firstStep) };

/**
 * The real file store, with a rival writer that slips an event in between the service's read
 * and its append, `rivals` times: each of those appends then meets a real ConcurrencyConflict.
 */
function contended(store: FileEventStore, step: Step, rivals: number): { store: EventStore; rivalled: () => number } {
  let rivalled = 0;
  const rivalEvent: NewEvent = {
    type: 'EvidenceAttached',
    data: { type: 'EvidenceAttached', stepId: step.id, evidence: evidenceFor(step), passed: true, failures: [], actor: 'rival', at },
    meta: { commandId: 'rival', recordedAt: at },
  };
  const racing = Object.assign(Object.create(store) as FileEventStore, {
    async append(stream: string, expectedVersion: number, events: readonly NewEvent[], options?: AppendOptions) {
      if (rivalled < rivals) {
        rivalled += 1;
        await store.append(stream, await store.version(stream), [rivalEvent]);
      }
      return store.append(stream, expectedVersion, events, options);
    },
  });
  return { store: racing, rivalled: () => rivalled };
}

async function planned(): Promise<FileEventStore> {
  const store = fileStore();
  const ctx = { store, clock: () => new Date(at) };
  await handleCommand('retry', { type: 'plan', plan, actor: 'test', at }, { ...ctx, commandId: 'plan' });
  const started = await handleCommand('retry', { type: 'advance', actor: 'test', at }, { ...ctx, commandId: 'advance' });
  expect(started.outcome).toBe('accepted');
  return store;
}

describe('conflict retry with backoff', () => {
  it('grows the delay exponentially up to the cap, with jitter within [ceiling/2, ceiling]', () => {
    const policy = { baseMs: 10, capMs: 100 };
    expect([0, 1, 2, 3, 4, 10].map((r) => backoffDelay(r, policy, () => 0))).toEqual([5, 10, 20, 40, 50, 50]);
    expect([0, 1, 2, 3, 4, 10].map((r) => backoffDelay(r, policy, () => 1))).toEqual([10, 20, 40, 80, 100, 100]);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(30);
    for (let retry = 0; retry < 12; retry += 1) {
      const d = backoffDelay(retry);
      expect(d).toBeGreaterThanOrEqual(Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** retry) / 2);
      expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.capMs);
    }
  });

  it('absorbs real conflicts from the file store, waiting the backoff delay before each retry', async () => {
    const store = await planned();
    const racing = contended(store, firstStep, 3);
    const slept: number[] = [];
    const out = await handleCommand('retry', attach, {
      store: racing.store,
      commandId: 'ours',
      clock: () => new Date(at),
      retryDelay: (retry) => 100 * (retry + 1),
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    expect(out.outcome).toBe('accepted');
    expect(racing.rivalled()).toBe(3);
    expect(slept).toEqual([100, 200, 300]);
    const { stored } = await loadMigration(store, 'retry');
    expect(stored.map((e) => e.meta.commandId).slice(-4)).toEqual(['rival', 'rival', 'rival', 'ours']);
  });

  it('gives up after the bounded number of attempts with TooManyConflicts', async () => {
    const store = await planned();
    const head = await store.version(streamOf('retry'));
    const slept: number[] = [];
    const err = await handleCommand('retry', attach, {
      store: contended(store, firstStep, Number.POSITIVE_INFINITY).store,
      commandId: 'ours',
      clock: () => new Date(at),
      maxAttempts: 4,
      sleep: async (ms) => {
        slept.push(ms);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyConflicts);
    expect((err as Error).message).toBe('stream migration-retry kept moving: gave up after 4 attempts');
    expect(slept).toHaveLength(3); // no wait before the first attempt, none after the last
    slept.forEach((ms, retry) => expect(ms).toBeLessThanOrEqual(DEFAULT_BACKOFF.baseMs * 2 ** retry));
    expect(await store.version(streamOf('retry'))).toBe(head + 4); // the rivals' events only
  });

  it('recognises a conflict by its class, not by an error that merely carries its name', async () => {
    const store = await planned();
    const impostor = Object.assign(new Error('stream moved'), { name: 'ConcurrencyConflict' });
    const failing = Object.assign(Object.create(store) as FileEventStore, {
      append: () => Promise.reject(impostor),
    });
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
    };
    await expect(handleCommand('retry', attach, { store: failing, commandId: 'x', clock: () => new Date(at), sleep })).rejects.toBe(impostor);
    expect(slept).toEqual([]);
    expect(new ConcurrencyConflict('s', 1, 2)).toBeInstanceOf(ConcurrencyConflict);
  });
});

describe('listing migrations', () => {
  it('gives the status of every planned migration in the store, in stream order, and nothing else', async () => {
    const store = fileStore();
    const ctx = { store, clock: () => new Date(at) };
    expect(await listMigrations(store, at)).toEqual([]);
    for (const id of ['m-2', 'm-1']) await handleCommand(id, { type: 'plan', plan: fastPlan(id), actor: 'test', at }, { ...ctx, commandId: `plan-${id}` });
    await handleCommand('m-1', { type: 'advance', actor: 'test', at }, { ...ctx, commandId: 'advance-m-1' });
    await store.append('not-a-migration', 0, [{ type: 'Other', data: {}, meta: { commandId: 'o', recordedAt: at } }]);
    const views = await listMigrations(store, at);
    expect(views.map((v) => [v.id, v.status, v.live?.step ?? null])).toEqual([
      ['m-1', 'active', firstStep.id],
      ['m-2', 'active', null],
    ]);
  });
});

describe('the before-append fault-injection point', () => {
  it('sees the decided events while the stream still lacks them; a throw there leaves nothing written', async () => {
    const store = fileStore();
    const ctx = { store, clock: () => new Date(at) };
    await handleCommand('hook', { type: 'plan', plan, actor: 'ci', at }, { ...ctx, commandId: 'plan' });
    const seen: { types: string[]; head: number }[] = [];
    const out = await handleCommand('hook', { type: 'startStep', stepId: firstStep.id, actor: 'ci', at }, {
      ...ctx,
      commandId: 'start',
      beforeAppend: async (events) => {
        seen.push({ types: events.map((e) => e.type), head: await store.version(streamOf('hook')) });
      },
    });
    expect(out.outcome).toBe('accepted');
    expect(seen).toEqual([{ types: ['StepStarted'], head: 1 }]);
    expect(await store.version(streamOf('hook'))).toBe(2);

    // A crash at the point (here a throw) after the decision: the event is not in the stream, and a retry appends it once.
    const crash = handleCommand('hook', attach, { ...ctx, commandId: 'evidence', beforeAppend: () => Promise.reject(new Error('killed here')) });
    await expect(crash).rejects.toThrow('killed here');
    expect(await store.version(streamOf('hook'))).toBe(2);
    const retried = await handleCommand('hook', attach, { ...ctx, commandId: 'evidence' });
    expect(retried.outcome === 'accepted' && retried.version).toBe(3);
  });
});
