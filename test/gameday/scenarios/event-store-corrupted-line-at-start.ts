/**
 * Damage in the middle of a file-store stream that is not a torn write — one byte flipped in the
 * migration stream's 2nd line (bit rot, a bad sector), and a line of garbage of the same length
 * in the middle of a second stream — found when an operator next runs prio: refused loudly
 * with the line, byte offset and reason by `prio store verify`, `prio migrate` and
 * `prio store repair` alike; never skipped, never "repaired" by dropping lines; nothing changed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { flipByteInLine, lineStarts } from '../faults/disk.js';
import { MIGRATION, MIGRATION_STREAM, OTHER_STREAM, prio, seededStore, verifyStore } from '../fleet/gd-kafka-storage.js';
import { observe, type Scenario } from '../scenario.js';

/** Which byte of line 2 is flipped: inside the event's JSON, past the line's `{"event":` prefix. */
const FLIP_AT = 40;
/** The other stream's line replaced by garbage. */
const GARBAGE_LINE = 3;

export const scenario: Scenario = {
  id: 'event-store-corrupted-line-at-start',
  title: 'A corrupted line in the middle of a file-store stream, found at start',
  family: 'storage',
  fault: `one byte flipped (xor 0x04) in line 2 of the migration stream; line ${GARBAGE_LINE} of a second stream replaced by random bytes of the same length (newline kept)`,
  expected: 'verify reports each stream at its damaged line and byte (checksum mismatch / not an event line), exit 1; prio migrate status and history refuse with the same position, print no state; store repair refuses (not a torn tail); no byte of either file changes',
  hypothesis: { steadyState: 'the streams verify intact and the migration reads', bound: 'both damages reported at the exact line and byte; every command that reads the stream exits 1 with that position; 0 bytes changed, 0 quarantine files' },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const seeded = await seededStore(ctx);
    const clean = await verifyStore(ctx, seeded.dir);

    const original = readFileSync(seeded.migrationFile);
    const flipOffset = flipByteInLine(seeded.migrationFile, 2, FLIP_AT);
    const otherBytes = readFileSync(seeded.otherFile);
    const starts = lineStarts(seeded.otherFile);
    const garbageOffset = starts[GARBAGE_LINE - 1] ?? 0;
    const garbageEnd = (starts[GARBAGE_LINE] ?? otherBytes.length) - 1;
    // Random bytes without a newline, so the line count and the lines after it stay where they were.
    const garbage = Buffer.from(randomBytes(garbageEnd - garbageOffset).map((b) => (b === 0x0a ? 0x20 : b)));
    garbage.copy(otherBytes, garbageOffset);
    writeFileSync(seeded.otherFile, otherBytes);
    const damagedMigration = readFileSync(seeded.migrationFile);
    const damagedOther = readFileSync(seeded.otherFile);
    ctx.log(`flipped a byte in line 2 of ${MIGRATION_STREAM} (line at byte ${flipOffset}); garbage in line ${GARBAGE_LINE} of ${OTHER_STREAM} (byte ${garbageOffset})`);

    const foundAt = Date.now();
    const verify = await verifyStore(ctx, seeded.dir);
    const detectMs = Date.now() - foundAt;
    const migrationRow = verify.rows.find((r) => r.stream === MIGRATION_STREAM);
    const otherRow = verify.rows.find((r) => r.stream === OTHER_STREAM);
    const status = await prio(ctx, 'migrate', 'status', MIGRATION, '--store-dir', seeded.dir);
    const history = await prio(ctx, 'migrate', 'history', MIGRATION, '--store-dir', seeded.dir, '--json');
    const advance = await prio(ctx, 'migrate', 'pause', MIGRATION, '--reason', 'must be refused', '--store-dir', seeded.dir);
    const repair = await prio(ctx, 'store', 'repair', MIGRATION_STREAM, '--store-dir', seeded.dir);
    const repairOther = await prio(ctx, 'store', 'repair', OTHER_STREAM, '--store-dir', seeded.dir);
    const unchanged = readFileSync(seeded.migrationFile).equals(damagedMigration) && readFileSync(seeded.otherFile).equals(damagedOther);
    const quarantines = readdirSync(dirname(seeded.migrationFile)).filter((f) => f.includes('.torn-'));

    const at = (text: string, line: number, byte: number) => text.includes(`line ${line} (byte ${byte})`) || text.includes(`line ${line}, byte ${byte}`);
    const refused = (run: { code: number; out: string; err: string }) => run.code === 1 && at(run.err, 2, flipOffset) && /checksum mismatch/.test(run.err) && run.out === '';
    return {
      faultObserved: !damagedMigration.equals(original) && damagedMigration.length === original.length && migrationRow?.ok === false && otherRow?.ok === false,
      faultEvidence: `verify: ${MIGRATION_STREAM} line ${migrationRow?.line ?? '?'}: ${migrationRow?.reason ?? 'nothing found'}; ${OTHER_STREAM} line ${otherRow?.line ?? '?'}: ${otherRow?.reason ?? 'nothing found'}`,
      observations: [
        observe('before', 'prio store verify', clean.code, { text: 'exit 0, every stream ok', holds: clean.code === 0 && clean.rows.length === 2 && clean.rows.every((r) => r.ok) }),
        observe('during', 'verify: flipped byte', migrationRow === undefined ? 'nothing' : `line ${migrationRow.line ?? '?'}, byte ${migrationRow.offset ?? '?'}: ${migrationRow.reason ?? ''}`, { text: `exit 1; line 2, byte ${flipOffset}, checksum mismatch`, holds: verify.code === 1 && migrationRow?.line === 2 && migrationRow.offset === flipOffset && /checksum mismatch/.test(migrationRow.reason ?? '') }),
        observe('during', 'verify: garbage line', otherRow === undefined ? 'nothing' : `line ${otherRow.line ?? '?'}, byte ${otherRow.offset ?? '?'}: ${otherRow.reason ?? ''}`, { text: `line ${GARBAGE_LINE}, byte ${garbageOffset}, not torn`, holds: otherRow?.line === GARBAGE_LINE && otherRow.offset === garbageOffset && !/torn/.test(otherRow.reason ?? '') }),
        observe('during', 'prio migrate status / history / pause', `exit ${status.code} / ${history.code} / ${advance.code}`, { text: 'each exit 1 naming line 2, byte and checksum mismatch; nothing printed on stdout', holds: refused(status) && refused(history) && refused(advance) }),
        observe('during', 'prio store repair', `exit ${repair.code} / ${repairOther.code}`, { text: 'refused (exit 1) for both: not a torn tail', holds: repair.code === 1 && repairOther.code === 1 && at(repair.err, 2, flipOffset) && at(repairOther.err, GARBAGE_LINE, garbageOffset) }),
        observe('after', 'bytes changed, quarantine files', `${unchanged ? 0 : 'some'}, ${quarantines.length}`, { text: '0, 0 (nothing skipped, dropped or moved)', holds: unchanged && quarantines.length === 0 }),
      ],
      timeToDetectMs: detectMs,
      notes: ['detect: prio store verify\'s run. There is no recovery to time: a damaged middle line is for a person to restore from a backup; the scenario checks that nothing tried to.'],
    };
  },
};
