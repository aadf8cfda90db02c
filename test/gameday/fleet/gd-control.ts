/**
 * Shared setup of the event-store, lease and controller scenarios: a fresh table on the shared
 * DynamoDB Local (dropped when the scenario ends), stores that count the conflicts and fencing
 * refusals DynamoDB's conditional writes produced, and the checks every such scenario makes on
 * the migration stream afterwards (it replays, versions have no gap, no event twice).
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import {
  ConcurrencyConflict,
  DynamoDbEventStore,
  FencedAppend,
  createEventTable,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../../../src/eventstore/index.js';
import { fold, streamOf, type MigrationEvent, type MigrationState } from '../../../src/migration/index.js';
import type { ScenarioContext } from '../scenario.js';

/** A table of its own on the shared DynamoDB Local, dropped at the end; returns its name. */
export async function freshTable(ctx: ScenarioContext, endpoint: string = ctx.services.dynamodbEndpoint): Promise<string> {
  const table = `gd-control-${randomUUID().slice(0, 8)}`;
  const admin = new DynamoDbEventStore({ table, endpoint });
  await createEventTable(admin.client, table);
  ctx.defer(async () => {
    await admin.client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    await admin.close();
  });
  return table;
}

/** An event store with a client of its own (as a separate controller would have), closed at the end. */
export function ownStore(ctx: ScenarioContext, table: string, endpoint: string = ctx.services.dynamodbEndpoint): DynamoDbEventStore {
  const store = new DynamoDbEventStore({ table, endpoint });
  ctx.defer(() => store.close());
  return store;
}

/**
 * Wraps a store and counts what its appends were refused for: a conditional write that lost
 * (ConcurrencyConflict: another writer took the version) or a stale fencing token.
 */
export class CountingStore implements EventStore {
  readonly kind: string;
  conflicts = 0;
  fenced = 0;
  appends = 0;
  firstConflictAt: number | undefined;

  constructor(private readonly inner: EventStore) {
    this.kind = inner.kind;
  }

  read(stream: string): Promise<StoredEvent[]> {
    return this.inner.read(stream);
  }

  forEach(stream: string, visit: (event: StoredEvent) => void): Promise<number> {
    return this.inner.forEach(stream, visit);
  }

  version(stream: string): Promise<number> {
    return this.inner.version(stream);
  }

  async append(stream: string, expectedVersion: number, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    try {
      const result = await this.inner.append(stream, expectedVersion, events, options);
      this.appends += 1;
      return result;
    } catch (err) {
      if (err instanceof ConcurrencyConflict) {
        this.conflicts += 1;
        this.firstConflictAt ??= Date.now();
      }
      if (err instanceof FencedAppend) this.fenced += 1;
      throw err;
    }
  }

  listStreams(prefix?: string): Promise<string[]> {
    return this.inner.listStreams(prefix);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** What the stream of a migration looks like after a fault, read back from the store. */
export interface StreamAudit {
  readonly stored: readonly StoredEvent[];
  readonly state: MigrationState;
  /** Versions 1..n without a gap (the store's read refuses a gap too: then `error` says so). */
  readonly contiguous: boolean;
  /** Command ids whose events appear in more than one append (a command written twice). */
  readonly duplicated: readonly string[];
  /** `DeploymentStarted` events per step. */
  readonly deploymentsStarted: Readonly<Record<string, number>>;
  readonly error?: string;
}

/**
 * Reads the stream back and replays it through the decider's fold. A command's events are
 * appended in one atomic write, so they sit at consecutive versions: the same command id found
 * in two separate runs of versions means it was appended twice.
 */
export async function auditStream(store: EventStore, migrationId: string): Promise<StreamAudit> {
  let stored: StoredEvent[];
  try {
    stored = await store.read(streamOf(migrationId));
  } catch (err) {
    return { stored: [], state: fold([]), contiguous: false, duplicated: [], deploymentsStarted: {}, error: err instanceof Error ? err.message : String(err) };
  }
  const contiguous = stored.every((e, i) => e.version === i + 1);
  const runs = new Map<string, number>();
  stored.forEach((e, i) => {
    if (i === 0 || stored[i - 1]?.meta.commandId !== e.meta.commandId) runs.set(e.meta.commandId, (runs.get(e.meta.commandId) ?? 0) + 1);
  });
  const duplicated = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
  const events = stored.map((e) => e.data as MigrationEvent);
  const deploymentsStarted: Record<string, number> = {};
  for (const e of events) if (e.type === 'DeploymentStarted') deploymentsStarted[e.stepId] = (deploymentsStarted[e.stepId] ?? 0) + 1;
  return { stored, state: fold(events), contiguous, duplicated, deploymentsStarted };
}
