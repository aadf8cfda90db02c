import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import {
  AppendTooLarge,
  ConcurrencyConflict,
  DynamoDbEventStore,
  FencedAppend,
  StoreUnavailable,
  MAX_TRANSACTION_ACTIONS,
  createEventTable,
  dynamoDbClient,
  maxEventsPerAppend,
  toItem,
  type NewEvent,
} from '../../src/eventstore/index.js';

const endpoint = process.env.DYNAMODB_ENDPOINT;
const table = `events-${randomUUID().slice(0, 8)}`;
const client = dynamoDbClient({ endpoint });
const event = (n: number, commandId = `c${n}`): NewEvent => ({ type: 'Numbered', data: { n }, meta: { commandId, recordedAt: '2026-01-05T09:00:00.000Z' } });

beforeAll(async () => {
  expect(endpoint, 'DYNAMODB_ENDPOINT is set by the test setup').toBeDefined();
  expect(await createEventTable(client, table)).toBe('created');
  expect(await createEventTable(client, table)).toBe('exists');
});
afterAll(() => client.destroy());

describe('DynamoDB event store', () => {
  it('appends with conditional writes and reads back in order', async () => {
    const store = new DynamoDbEventStore({ table, client });
    expect(await store.read('s')).toEqual([]);
    expect(await store.version('s')).toBe(0);
    await store.append('s', 0, [event(1)]);
    await store.append('s', 1, [event(2), event(3)]);
    await expect(store.append('s', 1, [event(9)])).rejects.toBeInstanceOf(ConcurrencyConflict);
    await expect(store.append('s', 2, [event(9), event(10)])).rejects.toBeInstanceOf(ConcurrencyConflict);
    // A batch appended past the head would leave a gap: refused.
    await expect(store.append('s', 7, [event(9), event(10)])).rejects.toBeInstanceOf(ConcurrencyConflict);
    const read = await store.read('s');
    expect(read.map((e) => [e.version, (e.data as { n: number }).n, e.meta.commandId])).toEqual([
      [1, 1, 'c1'],
      [2, 2, 'c2'],
      [3, 3, 'c3'],
    ]);
    expect(await store.version('s')).toBe(3);
    await store.append('t', 0, [event(1)]);
    expect(await store.listStreams()).toEqual(['s', 't']);
  });

  it('names the command that creates a missing table', async () => {
    const store = new DynamoDbEventStore({ table: 'no-such-table', client });
    const err = await store.read('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toContain('prio store init --dynamodb no-such-table');
  });

  it('grants a lease to one owner at a time and refuses appends with a stale fencing token', async () => {
    const store = new DynamoDbEventStore({ table, client });
    const now = Date.now();
    const a = await store.acquire('m1', 'a', 1_000, now);
    const b = await store.acquire('m1', 'b', 1_000, now + 10);
    expect(a.acquired).toBe(true);
    expect(b).toMatchObject({ acquired: false, holder: 'a' });
    if (!a.acquired) throw new Error('unreachable');
    await store.append('fenced', 0, [event(1)], { fence: { lease: 'm1', token: a.lease.token } });
    const c = await store.acquire('m1', 'b', 1_000, now + 2_000); // a's lease expired
    if (!c.acquired) throw new Error('b should take the expired lease');
    expect(c.lease.token).toBe(a.lease.token + 1);
    expect(await store.renew(a.lease, 1_000, now + 2_001)).toBeUndefined();
    await expect(store.append('fenced', 1, [event(2)], { fence: { lease: 'm1', token: a.lease.token } })).rejects.toBeInstanceOf(FencedAppend);
    await store.append('fenced', 1, [event(2)], { fence: { lease: 'm1', token: c.lease.token } });
    expect((await store.read('fenced')).map((e) => e.meta.fencingToken)).toEqual([a.lease.token, c.lease.token]);
    await store.release(c.lease);
    const d = await store.acquire('m1', 'a', 1_000, now + 2_002);
    expect(d.acquired && d.lease.token).toBe(c.lease.token + 1);
  });

  it('appends exactly the largest atomic batch, and refuses one event more whole, with the limit named', async () => {
    const store = new DynamoDbEventStore({ table, client });
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => event(from + i, `batch-${from + i}`));
    const refused = async (stream: string, expected: number, count: number, fence?: { lease: string; token: number }) => {
      const before = await store.read(stream);
      const err = await store.append(stream, expected, batch(expected + 1, count), fence === undefined ? {} : { fence }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppendTooLarge);
      expect(err).toMatchObject({ stream, events: count, limit: count - 1 });
      expect((err as Error).message).toContain(`at most ${count - 1}`);
      expect(await store.read(stream)).toEqual(before); // nothing half-written
    };
    const lease = await store.acquire(`batch-${randomUUID()}`, 'bulk', 60_000, Date.now());
    if (!lease.acquired) throw new Error('a fresh lease is free');
    const fence = { lease: lease.lease.name, token: lease.lease.token };

    // New stream: 100 puts, no head check.
    const fresh = `batch-${randomUUID()}`;
    expect(maxEventsPerAppend(0, false)).toBe(MAX_TRANSACTION_ACTIONS);
    await refused(fresh, 0, 101);
    expect(await store.append(fresh, 0, batch(1, 100))).toEqual({ fromVersion: 1, toVersion: 100 });
    // After the head: 99 puts and the head check.
    await refused(fresh, 100, 100);
    expect(await store.append(fresh, 100, batch(101, 99))).toEqual({ fromVersion: 101, toVersion: 199 });
    // After the head under a lease: 98 puts, the head check and the fencing check.
    await refused(fresh, 199, 99, fence);
    expect(await store.append(fresh, 199, batch(200, 98), { fence })).toEqual({ fromVersion: 200, toVersion: 297 });
    // New stream under a lease: 99 puts and the fencing check.
    const fencedFresh = `batch-${randomUUID()}`;
    await refused(fencedFresh, 0, 100, fence);
    expect(await store.append(fencedFresh, 0, batch(1, 99), { fence })).toEqual({ fromVersion: 1, toVersion: 99 });

    const read = await store.read(fresh);
    expect(read.map((e) => e.version)).toEqual(Array.from({ length: 297 }, (_, i) => i + 1));
    expect(read.slice(199).every((e) => e.meta.fencingToken === fence.token)).toBe(true);
    expect(await store.version(fencedFresh)).toBe(99);
  });

  it('the bound is DynamoDB Local\'s own: a transaction of 101 actions is refused by the service', async () => {
    const stream = `raw-${randomUUID()}`;
    const put = (version: number) => ({ Put: { TableName: table, Item: toItem(stream, version, event(version)), ConditionExpression: 'attribute_not_exists(#v)', ExpressionAttributeNames: { '#v': 'version' } } });
    const tooMany = Array.from({ length: MAX_TRANSACTION_ACTIONS + 1 }, (_, i) => put(i + 1));
    await expect(client.send(new TransactWriteItemsCommand({ TransactItems: tooMany }))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(await new DynamoDbEventStore({ table, client }).version(stream)).toBe(0);
  });

  it('two writers racing for 1,000 rounds: no event lost or duplicated, exactly one winner per version', async () => {
    // Two clients, as two processes would have; every round both append at the same version.
    const writers = ['a', 'b'].map((name) => ({ name, store: new DynamoDbEventStore({ table, client: dynamoDbClient({ endpoint }) }) }));
    const stream = `race-${randomUUID()}`;
    const winners: string[] = [];
    for (let round = 0; round < 1000; round += 1) {
      const outcomes = await Promise.allSettled(
        writers.map((w) => w.store.append(stream, round, [{ type: 'Raced', data: { writer: w.name, round }, meta: { commandId: `${w.name}-${round}`, recordedAt: '' } }])),
      );
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [writers[i]?.name ?? '?'] : []));
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConcurrencyConflict);
      expect(won).toHaveLength(1);
      winners.push(won[0] ?? '?');
    }
    const events = await writers[0]?.store.read(stream);
    expect(events?.map((e) => e.data)).toEqual(winners.map((writer, round) => ({ writer, round })));
    for (const w of writers) w.store.client.destroy();
  }, 120_000);
});
