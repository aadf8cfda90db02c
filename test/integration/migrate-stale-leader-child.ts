/**
 * A controller that stalls (see migrate-failover.test.ts): it takes the migration's lease,
 * prints its fencing token, then stops renewing — as a process frozen by a long pause would —
 * and, when told to on stdin, appends under its old token. Prints what the store said.
 * `node --import tsx migrate-stale-leader-child.ts TABLE ENDPOINT MIGRATION_ID`
 */
import { createInterface } from 'node:readline';
import { DynamoDbEventStore } from '../../src/eventstore/index.js';
import { handleCommand } from '../../src/migration/index.js';

const [table, endpoint, migrationId] = process.argv.slice(2);
if (table === undefined || endpoint === undefined || migrationId === undefined) throw new Error('usage: TABLE ENDPOINT MIGRATION_ID');
const store = new DynamoDbEventStore({ table, endpoint });
const leaseName = `migration-${migrationId}`;
const got = await store.acquire(leaseName, 'stale-leader', 2_000, Date.now());
if (!got.acquired) throw new Error(`lease held by ${got.holder}`);
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
say({ kind: 'acquired', token: got.lease.token });

const lines = createInterface({ input: process.stdin });
for await (const _line of lines) {
  try {
    const r = await handleCommand(
      migrationId,
      { type: 'pause', actor: 'stale-leader', at: new Date().toISOString(), reason: 'late write from a stalled controller' },
      { store, commandId: `stale-${Date.now()}`, clock: () => new Date(), fence: { lease: leaseName, token: got.lease.token } },
    );
    say({ kind: 'appended', outcome: r.outcome });
  } catch (err) {
    say({ kind: 'refused', error: (err as Error).name, message: (err as Error).message });
  }
  break;
}
lines.close();
await store.close();
