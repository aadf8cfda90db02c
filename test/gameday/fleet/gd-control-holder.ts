/**
 * A lease holder as a child process, for the fencing scenario: it takes a migration's lease on
 * DynamoDB and then, in a loop, renews it, works for `workMs` (the window where a pause leaves it
 * believing it still leads), and appends evidence to the live step under its fencing token — the
 * shape of every leader that checks its lease and writes later. One JSON line per thing it does;
 * exit 0 after `count` appends (lease released), 2 when an append was fenced, 3 when a renewal
 * found the lease gone.
 *
 * node --import tsx test/gameday/fleet/gd-control-holder.ts ENDPOINT TABLE MIGRATION OWNER TTL_MS WORK_MS COUNT
 */
import { randomUUID } from 'node:crypto';
import { DynamoDbEventStore, FencedAppend, type Lease } from '../../../src/eventstore/index.js';
import { handleCommand, loadMigration } from '../../../src/migration/index.js';
import { evidenceFor } from '../../support/migration/fixtures.js';

const [endpoint, table, migrationId, owner, ttlArg, workArg, countArg] = process.argv.slice(2);
if (endpoint === undefined || table === undefined || migrationId === undefined || owner === undefined || countArg === undefined) {
  process.stderr.write('usage: gd-control-holder.ts ENDPOINT TABLE MIGRATION OWNER TTL_MS WORK_MS COUNT\n');
  process.exit(64);
}
const ttlMs = Number(ttlArg);
const workMs = Number(workArg);
const count = Number(countArg);
const say = (kind: string, fields: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ kind, owner, at: Date.now(), ...fields })}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const store = new DynamoDbEventStore({ table, endpoint });
const leaseName = `migration-${migrationId}`;
let announced = false;
let lease: Lease;
for (;;) {
  const got = await store.acquire(leaseName, owner, ttlMs, Date.now());
  if (got.acquired) {
    lease = got.lease;
    break;
  }
  if (!announced) say('waiting', { holder: got.holder, token: got.token });
  announced = true;
  await sleep(100);
}
say('acquired', { token: lease.token });

let appended = 0;
let code = 0;
while (appended < count) {
  const renewed = await store.renew(lease, ttlMs, Date.now());
  if (renewed === undefined) {
    say('lost', { token: lease.token });
    code = 3;
    break;
  }
  lease = renewed;
  say('renewed', { token: lease.token, expiresAt: lease.expiresAt });
  await sleep(workMs);
  const { state } = await loadMigration(store, migrationId);
  const step = state.plan?.steps.find((s) => s.id === state.current);
  if (step === undefined) throw new Error(`no live step in ${migrationId}`);
  try {
    const out = await handleCommand(
      migrationId,
      { type: 'attachEvidence', stepId: step.id, evidence: evidenceFor(step), actor: owner, at: new Date().toISOString() },
      { store, commandId: `${owner}/${randomUUID()}`, clock: () => new Date(), fence: { lease: leaseName, token: lease.token } },
    );
    if (out.outcome !== 'accepted') throw new Error(`evidence refused: ${out.rejection.message}`);
    appended += 1;
    say('appended', { token: lease.token, version: out.version });
  } catch (err) {
    if (!(err instanceof FencedAppend)) throw err;
    say('fenced', { token: lease.token, message: err.message });
    code = 2;
    break;
  }
}
if (code === 0) {
  await store.release(lease);
  say('released', { token: lease.token });
}
await store.close();
process.exit(code);
