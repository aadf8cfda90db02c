/**
 * A file-store stream whose last line was torn (a crash mid-append: the file ends part-way
 * through a line) found when an operator next runs prio: `prio store verify` and
 * `prio migrate` report it with its line, byte offset and reason and change nothing;
 * `prio store repair` moves exactly the torn bytes into a quarantine file; every other event,
 * and every other stream, is as it was; the migration can be driven on.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tearLastLine } from '../faults/disk.js';
import { MIGRATION, MIGRATION_STREAM, historyOf, prio, seededStore, verifyStore } from '../fleet/gd-kafka-storage.js';
import { observe, type Scenario } from '../scenario.js';

/** Bytes of the last line left by the torn write. */
const KEEP = 120;

export const scenario: Scenario = {
  id: 'event-store-truncated-line-at-start',
  title: 'A torn last line in a file-store stream, found at start',
  family: 'storage',
  fault: `the migration stream's last line (its 4th event) cut after ${KEEP} bytes, no newline — as a crash mid-append leaves it`,
  expected: 'verify and prio migrate name the stream, line 4, its byte offset and "torn write", exit 1, change nothing; store repair quarantines exactly the torn bytes; afterwards verify is clean, the first 3 events and the other stream unchanged, and the migration takes its next command',
  hypothesis: { steadyState: 'the stream verifies intact and its history reads', bound: 'damage reported at the exact line and byte; 0 bytes changed before the repair; quarantine = the torn bytes; events 1–3 and the other stream byte-identical after' },
  ci: true,
  timeoutMs: 60_000,
  async run(ctx) {
    const seeded = await seededStore(ctx);
    const clean = await verifyStore(ctx, seeded.dir);
    const original = readFileSync(seeded.migrationFile);
    const other = readFileSync(seeded.otherFile);

    const offset = tearLastLine(seeded.migrationFile, KEEP);
    const torn = readFileSync(seeded.migrationFile);
    ctx.log(`tore line 4 of ${MIGRATION_STREAM}: the file now ends ${KEEP} bytes into it (byte ${offset})`);

    const foundAt = Date.now();
    const verify = await verifyStore(ctx, seeded.dir);
    const detectMs = Date.now() - foundAt;
    const row = verify.rows.find((r) => r.stream === MIGRATION_STREAM);
    const status = await prio(ctx, 'migrate', 'status', MIGRATION, '--store-dir', seeded.dir);
    const unchanged = readFileSync(seeded.migrationFile).equals(torn);

    const repairedAt = Date.now();
    const repair = await prio(ctx, 'store', 'repair', MIGRATION_STREAM, '--store-dir', seeded.dir, '--json');
    const quarantine = repair.code === 0 ? (JSON.parse(repair.out) as { quarantine: string | null }).quarantine : null;
    const quarantined = quarantine === null ? undefined : readFileSync(quarantine);
    const after = await verifyStore(ctx, seeded.dir);
    const recoverMs = Date.now() - repairedAt;
    const history = await historyOf(ctx, seeded.dir);
    const kept = JSON.stringify(history) === JSON.stringify(seeded.history.slice(0, 3));
    const prefixKept = readFileSync(seeded.migrationFile).equals(original.subarray(0, offset));
    const otherKept = readFileSync(seeded.otherFile).equals(other);
    const streamsDir = dirname(seeded.migrationFile);
    const quarantines = readdirSync(streamsDir).filter((f) => f.includes('.torn-'));
    // The lost 4th event (the resume) is issued again: the stream takes appends once more.
    const again = await prio(ctx, 'migrate', 'resume', MIGRATION, '--reason', 'again after the repair', '--store-dir', seeded.dir);
    const historyAgain = await historyOf(ctx, seeded.dir);
    ctx.log(`repair: quarantine ${quarantine ?? 'none'} (${quarantined?.length ?? 0} bytes); history ${history?.length ?? 0} events, then ${historyAgain?.length ?? 0} after the next command`);

    const named = (text: string) => text.includes(MIGRATION_STREAM) && text.includes('line 4') && text.includes(`byte ${offset}`) && /torn/.test(text);
    return {
      faultObserved: torn.length === offset + KEEP && torn.at(-1) !== 0x0a && row?.ok === false,
      faultEvidence: `the file ends ${KEEP} bytes into line 4 (byte ${offset}, no newline); verify: ${row?.reason ?? 'nothing found'}`,
      observations: [
        observe('before', 'prio store verify', clean.code, { text: 'exit 0, every stream ok', holds: clean.code === 0 && clean.rows.length === 2 && clean.rows.every((r) => r.ok) }),
        observe('during', 'prio store verify finds', row === undefined ? 'nothing' : `line ${row.line ?? '?'}, byte ${row.offset ?? '?'}: ${row.reason ?? ''}`, { text: `exit 1; line 4, byte ${offset}, torn write`, holds: verify.code === 1 && row?.line === 4 && row.offset === offset && /^torn write/.test(row.reason ?? '') }),
        observe('during', 'other stream in verify', verify.rows.find((r) => r.stream !== MIGRATION_STREAM)?.ok === true ? 'ok' : 'not ok', { text: 'ok', holds: verify.rows.find((r) => r.stream !== MIGRATION_STREAM)?.ok === true }),
        observe('during', 'prio migrate status', `exit ${status.code}`, { text: 'exit 1, the error names stream, line, byte and "torn"', holds: status.code === 1 && named(status.err) && status.out === '' }),
        observe('during', 'bytes changed before the repair', unchanged ? 0 : 'some', { text: '= 0', holds: unchanged }),
        observe('after', 'quarantine holds the torn bytes', quarantined === undefined ? 'no quarantine' : `${quarantined.length} bytes`, { text: `= the ${KEEP} torn bytes exactly`, holds: quarantined !== undefined && quarantined.equals(torn.subarray(offset)) && quarantines.length === 1 }),
        observe('after', 'prio store verify', after.code, { text: 'exit 0, every stream ok', holds: after.code === 0 && after.rows.every((r) => r.ok) }),
        observe('after', 'events 1–3 kept', kept && prefixKept ? 'byte-identical' : 'changed', { text: 'byte-identical, history = the first 3 entries', holds: kept && prefixKept }),
        observe('after', 'other stream', otherKept ? 'byte-identical' : 'changed', { text: 'byte-identical', holds: otherKept }),
        observe('after', 'the next command appends', `exit ${again.code}, ${historyAgain?.length ?? 0} events`, { text: 'exit 0, 4 events', holds: again.code === 0 && historyAgain?.length === 4 }),
      ],
      timeToDetectMs: detectMs,
      timeToRecoverMs: recoverMs,
      notes: [`detect: prio store verify's run; recover: prio store repair until verify is clean again. Quarantine kept beside the stream in ${join('store', 'streams')}.`],
    };
  },
};
