/**
 * The DynamoDB store: one table, partition key `stream` (S), sort key `version` (N). Each event
 * is one item written with a conditional put (`attribute_not_exists(version)`), so two writers
 * can never both take a version. Leases live in the same table as items at version 0 under
 * `lease#<name>`; an append under a lease is a transaction whose condition check requires the
 * lease to still carry the writer's fencing token.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import {
  AppendTooLarge,
  ConcurrencyConflict,
  CorruptStream,
  FencedAppend,
  StoreUnavailable,
  type AcquireResult,
  type AppendOptions,
  type AppendResult,
  type EventMeta,
  type EventStore,
  type Lease,
  type LeaseManager,
  type NewEvent,
  type StoredEvent,
} from '../port.js';

export interface DynamoDbStoreOptions {
  readonly table: string;
  /** e.g. http://127.0.0.1:8000 for DynamoDB Local; omitted for the real service. */
  readonly endpoint?: string;
  readonly region?: string;
  /** An existing client (tests and benchmarks share one). */
  readonly client?: DynamoDBClient;
}

const LEASE_PREFIX = 'lease#';
/** DynamoDB's limit on the actions of one TransactWriteItems call. */
export const MAX_TRANSACTION_ACTIONS = 100;

/**
 * The most events one append can write atomically: a transaction's 100 actions, less the head
 * check (appending after an existing version) and the fencing check (appending under a lease).
 * 100 for a new stream, 99 after its head, 98 after its head under a lease.
 */
export function maxEventsPerAppend(expectedVersion: number, fenced: boolean): number {
  return MAX_TRANSACTION_ACTIONS - (expectedVersion > 0 ? 1 : 0) - (fenced ? 1 : 0);
}

/** True for an endpoint on this machine, where DynamoDB Local accepts any credentials. */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/**
 * A client for the table's region and endpoint. Placeholder credentials are supplied only for an
 * endpoint on this machine (DynamoDB Local accepts any); the real service uses the default chain.
 */
export function dynamoDbClient(options: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } }): DynamoDBClient {
  const local = isLocalEndpoint(options.endpoint);
  return new DynamoDBClient({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined
      ? { credentials: options.credentials }
      : local
        ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    maxAttempts: local ? 2 : 3,
  });
}

/** Creates the events table (on-demand billing) and waits until it is active. Idempotent. */
export async function createEventTable(client: DynamoDBClient, table: string): Promise<'created' | 'exists'> {
  let outcome: 'created' | 'exists' = 'created';
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [
          { AttributeName: 'stream', AttributeType: 'S' },
          { AttributeName: 'version', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'stream', KeyType: 'HASH' },
          { AttributeName: 'version', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
    outcome = 'exists';
  }
  for (let i = 0; i < 120; i += 1) {
    const d = await client.send(new DescribeTableCommand({ TableName: table }));
    if (d.Table?.TableStatus === 'ACTIVE') return outcome;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new StoreUnavailable(`table ${table} did not become active`);
}

export class DynamoDbEventStore implements EventStore, LeaseManager {
  readonly kind = 'dynamodb';
  readonly table: string;
  readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;

  constructor(options: DynamoDbStoreOptions) {
    this.table = options.table;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? dynamoDbClient(options);
  }

  async read(stream: string): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    await this.forEach(stream, (e) => events.push(e));
    return events;
  }

  async forEach(stream: string, visit: (event: StoredEvent) => void): Promise<number> {
    let version = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new QueryCommand({
            ...this.eventsOf(stream),
            ...(startKey !== undefined ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const event = fromItem(stream, item);
        if (event.version !== version + 1) {
          throw new CorruptStream(stream, `table ${this.table}`, version + 1, -1, `version ${event.version} where ${version + 1} was expected`);
        }
        version = event.version;
        visit(event);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return version;
  }

  async version(stream: string): Promise<number> {
    const page = await this.call(() =>
      this.client.send(
        new QueryCommand({
          ...this.eventsOf(stream),
          ProjectionExpression: '#v',
          ScanIndexForward: false,
          Limit: 1,
        }),
      ),
    );
    const v = page.Items?.[0]?.version?.N;
    return v === undefined ? 0 : Number(v);
  }

  async append(stream: string, expectedVersion: number, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (stream.startsWith(LEASE_PREFIX)) throw new StoreUnavailable(`stream names starting with "${LEASE_PREFIX}" are reserved for leases`);
    if (events.length === 0) return { fromVersion: expectedVersion + 1, toVersion: expectedVersion };
    const fenced = options.fence !== undefined;
    const limit = maxEventsPerAppend(expectedVersion, fenced);
    if (events.length > limit) {
      const checks = [...(expectedVersion > 0 ? ['the head check'] : []), ...(fenced ? ['the fencing check'] : [])];
      throw new AppendTooLarge(stream, events.length, limit, `a DynamoDB transaction takes ${MAX_TRANSACTION_ACTIONS} actions: the events${checks.map((c) => ` plus ${c}`).join('')}`);
    }
    const result = { fromVersion: expectedVersion + 1, toVersion: expectedVersion + events.length };
    const fence = options.fence;
    const items = events.map((e, i) => toItem(stream, expectedVersion + i + 1, e, fence?.token));
    const first = items[0];
    if (items.length === 1 && fence === undefined && first !== undefined) {
      // The common case is one conditional PutItem: the same call a hand-written writer would make.
      try {
        await this.call(() =>
          this.client.send(
            new PutItemCommand({ TableName: this.table, Item: first, ConditionExpression: 'attribute_not_exists(#v)', ExpressionAttributeNames: { '#v': 'version' } }),
          ),
        );
        return result;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) throw new ConcurrencyConflict(stream, expectedVersion);
        throw err;
      }
    }
    const writes: TransactWriteItem[] = items.map((Item) => ({
      Put: { TableName: this.table, Item, ConditionExpression: 'attribute_not_exists(#v)', ExpressionAttributeNames: { '#v': 'version' } },
    }));
    if (expectedVersion > 0) {
      // In a transaction the head can be checked too: appending past a missing version would leave a gap.
      writes.unshift({
        ConditionCheck: {
          TableName: this.table,
          Key: { stream: { S: stream }, version: { N: String(expectedVersion) } },
          ConditionExpression: 'attribute_exists(#v)',
          ExpressionAttributeNames: { '#v': 'version' },
        },
      });
    }
    if (fence !== undefined) {
      writes.unshift({
        ConditionCheck: {
          TableName: this.table,
          Key: leaseKey(fence.lease),
          ConditionExpression: 'fencingToken = :t',
          ExpressionAttributeValues: { ':t': { N: String(fence.token) } },
        },
      });
    }
    try {
      await this.call(() => this.client.send(new TransactWriteItemsCommand({ TransactItems: writes })));
      return result;
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      if (fence !== undefined && reasons[0]?.Code === 'ConditionalCheckFailed') throw new FencedAppend(fence.lease, fence.token);
      if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) throw new ConcurrencyConflict(stream, expectedVersion);
      throw err;
    }
  }

  async listStreams(prefix = ''): Promise<string[]> {
    const streams = new Set<string>();
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      // Every stream has exactly one version-1 item, so filtering on it lists each stream once.
      const page = await this.call(() =>
        this.client.send(
          new ScanCommand({
            TableName: this.table,
            FilterExpression: '#v = :one AND begins_with(#s, :p)',
            ExpressionAttributeNames: { '#v': 'version', '#s': 'stream' },
            ExpressionAttributeValues: { ':one': { N: '1' }, ':p': { S: prefix } },
            ProjectionExpression: '#s',
            ...(startKey !== undefined ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of page.Items ?? []) if (item.stream?.S !== undefined) streams.add(item.stream.S);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return [...streams].filter((s) => !s.startsWith(LEASE_PREFIX)).sort();
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  // -------------------------------------------------------------------------------------------
  // Leases

  async acquire(name: string, owner: string, ttlMs: number, now: number): Promise<AcquireResult> {
    try {
      const out = await this.call(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: leaseKey(name),
            UpdateExpression: 'SET #o = :o, expiresAt = :exp ADD fencingToken :one',
            ConditionExpression: 'attribute_not_exists(expiresAt) OR expiresAt < :now',
            ExpressionAttributeNames: { '#o': 'owner' },
            ExpressionAttributeValues: { ':o': { S: owner }, ':exp': { N: String(now + ttlMs) }, ':now': { N: String(now) }, ':one': { N: '1' } },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return { acquired: true, lease: { name, owner, token: Number(out.Attributes?.fencingToken?.N ?? '0'), expiresAt: now + ttlMs } };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const held = await this.client.send(new GetItemCommand({ TableName: this.table, Key: leaseKey(name), ConsistentRead: true }));
      return {
        acquired: false,
        holder: held.Item?.owner?.S ?? '?',
        expiresAt: Number(held.Item?.expiresAt?.N ?? '0'),
        token: Number(held.Item?.fencingToken?.N ?? '0'),
      };
    }
  }

  async renew(lease: Lease, ttlMs: number, now: number): Promise<Lease | undefined> {
    try {
      await this.call(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: leaseKey(lease.name),
            UpdateExpression: 'SET expiresAt = :exp',
            // An expired lease nobody took yet may still be renewed: its token is still the newest.
            ConditionExpression: 'fencingToken = :t AND #o = :o',
            ExpressionAttributeNames: { '#o': 'owner' },
            ExpressionAttributeValues: { ':t': { N: String(lease.token) }, ':o': { S: lease.owner }, ':exp': { N: String(now + ttlMs) } },
          }),
        ),
      );
      return { ...lease, expiresAt: now + ttlMs };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }

  async release(lease: Lease): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: leaseKey(lease.name),
          UpdateExpression: 'SET expiresAt = :zero',
          ConditionExpression: 'fencingToken = :t',
          ExpressionAttributeValues: { ':t': { N: String(lease.token) }, ':zero': { N: '0' } },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** A consistent query for the event items of `stream`: versions 1 and up (version 0 is a lease's slot). */
  private eventsOf(stream: string) {
    return {
      TableName: this.table,
      KeyConditionExpression: '#s = :s AND #v > :zero',
      ExpressionAttributeNames: { '#s': 'stream', '#v': 'version' },
      ExpressionAttributeValues: { ':s': { S: stream }, ':zero': { N: '0' } },
      ConsistentRead: true,
    };
  }

  /** Turns a missing table into a message that says how to create it. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      if (err instanceof ResourceNotFoundException) {
        throw new StoreUnavailable(`DynamoDB table ${this.table} does not exist: create it with \`prio store init --dynamodb ${this.table}\``);
      }
      throw err;
    }
  }
}

function leaseKey(name: string): Record<string, AttributeValue> {
  return { stream: { S: `${LEASE_PREFIX}${name}` }, version: { N: '0' } };
}

/** The item written for one event; also what a raw writer would put (see bench/events.ts). */
export function toItem(stream: string, version: number, e: NewEvent, fencingToken?: number): Record<string, AttributeValue> {
  return {
    stream: { S: stream },
    version: { N: String(version) },
    type: { S: e.type },
    data: { S: JSON.stringify(e.data) },
    commandId: { S: e.meta.commandId },
    recordedAt: { S: e.meta.recordedAt },
    ...(fencingToken !== undefined ? { fencingToken: { N: String(fencingToken) } } : {}),
  };
}

function fromItem(stream: string, item: Record<string, AttributeValue>): StoredEvent {
  const version = Number(item.version?.N);
  let data: unknown;
  try {
    data = JSON.parse(item.data?.S ?? 'null');
  } catch (err) {
    throw new CorruptStream(stream, 'DynamoDB item', version, -1, `unreadable event data: ${(err as Error).message}`);
  }
  const token = item.fencingToken?.N;
  const meta: EventMeta = {
    commandId: item.commandId?.S ?? '',
    recordedAt: item.recordedAt?.S ?? '',
    ...(token !== undefined ? { fencingToken: Number(token) } : {}),
  };
  return { stream, version, type: item.type?.S ?? '', data, meta };
}
