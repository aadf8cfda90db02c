/**
 * A command handler process that can be killed at a chosen point (see migrate-crash.test.ts):
 * `node --import tsx migrate-crash-child.ts '<json>'` with {store, migrationId, commandId,
 * command, crash}. `crash` is `before-append` (decided, nothing written), `after-append`
 * (written, reply lost) or `none`. The kill is SIGKILL: no cleanup runs, as in a real crash.
 */
import { DynamoDbEventStore, FileEventStore, type EventStore } from '../../src/eventstore/index.js';
import { handleCommand, type MigrationCommand } from '../../src/migration/index.js';

interface Args {
  store: { kind: 'file'; dir: string } | { kind: 'dynamodb'; table: string; endpoint: string };
  migrationId: string;
  commandId: string;
  command: MigrationCommand;
  crash: 'before-append' | 'after-append' | 'none';
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const inner: EventStore = args.store.kind === 'file' ? new FileEventStore({ dir: args.store.dir }) : new DynamoDbEventStore({ table: args.store.table, endpoint: args.store.endpoint });
const crashing: EventStore = {
  kind: inner.kind,
  read: (s) => inner.read(s),
  forEach: (s, visit) => inner.forEach(s, visit),
  version: (s) => inner.version(s),
  listStreams: (p) => inner.listStreams(p),
  close: () => inner.close(),
  append: async (stream, expected, events, options) => {
    if (args.crash === 'before-append') process.kill(process.pid, 'SIGKILL');
    const result = await inner.append(stream, expected, events, options);
    if (args.crash === 'after-append') process.kill(process.pid, 'SIGKILL');
    return result;
  },
};
const outcome = await handleCommand(args.migrationId, args.command, { store: crashing, commandId: args.commandId, clock: () => new Date() });
process.stdout.write(`${JSON.stringify(outcome.outcome === 'accepted' ? { outcome: 'accepted', replayed: outcome.replayed, version: outcome.version, events: outcome.events.map((e) => e.type) } : outcome)}\n`);
await inner.close();
