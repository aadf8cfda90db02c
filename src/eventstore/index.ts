/**
 * Event stores. Two public surfaces:
 * - port.ts: the port (append-only streams with optimistic concurrency, leases with fencing
 *   tokens) and its typed errors. No imports at all, so the functional core (migration/) may
 *   import it, values included (`instanceof ConcurrencyConflict`), without loading an adapter.
 * - adapters.ts: the file store (embedded default, `.prio/`) and DynamoDB, which do I/O.
 * This index re-exports both for the shell (CLI, tests, benches).
 */
export * from './port.js';
export * from './adapters.js';
