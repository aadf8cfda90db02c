/**
 * The file event store on a disk that fills up mid-append (a real ENOSPC from a small tmpfs):
 * the append fails with one clear error naming the stream file and the cause, nothing torn or
 * partial is left in the stream, and once space returns appends carry on from the same head —
 * every acknowledged event still there, in order, nothing lost silently.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { FileEventStore, type NewEvent } from '../../../src/eventstore/index.js';
import { smallDisk } from '../faults/disk.js';
import { observe, type Scenario } from '../scenario.js';

const STREAM = 'gameday-disk-full';
const DISK_BYTES = 256 * 1024;
/** Events per append: a batch larger than a page, so a full disk cuts it (a short write, then ENOSPC). */
const BATCH = 6;
const PAYLOAD = 'x'.repeat(900);

function batch(from: number): NewEvent[] {
  return Array.from({ length: BATCH }, (_, i) => ({
    type: 'GameDayEvent',
    data: { n: from + i, payload: PAYLOAD },
    meta: { commandId: `cmd-${from + i}`, recordedAt: new Date().toISOString() },
  }));
}

export const scenario: Scenario = {
  id: 'disk-full-file-store',
  title: 'The file event store on a disk that fills up mid-append',
  family: 'storage',
  fault: `a ${DISK_BYTES / 1024} KiB tmpfs holding the file store, filled to the last byte between appends of ${BATCH} events (~${BATCH} KiB each)`,
  expected: 'each append under the full disk fails with one error naming the stream file and ENOSPC; the stream stays valid (prio store verify: no damage, head unchanged); after the space returns appends continue from the same head and every acknowledged event is there',
  hypothesis: { steadyState: 'acknowledged events readable, the stream verified intact', bound: 'every append before and after the fault acknowledged; each append under the fault refused with path and cause; 0 damage; events read = events acknowledged' },
  ci: true,
  timeoutMs: 25_000,
  async run(ctx) {
    const disk = smallDisk(ctx, 'disk', DISK_BYTES);
    const store = new FileEventStore({ dir: join(disk.dir, 'store') });
    ctx.defer(() => store.close());
    const file = store.fileOf(STREAM);
    let acknowledged = 0;

    // Before: appends go through.
    let beforeFailures = 0;
    for (let i = 0; i < 5; i += 1) {
      try {
        const r = await store.append(STREAM, acknowledged, batch(acknowledged + 1));
        acknowledged = r.toVersion;
      } catch (err) {
        beforeFailures += 1;
        ctx.log(`before: append failed: ${(err as Error).message}`);
      }
    }
    ctx.log(`before: ${acknowledged} events acknowledged, ${disk.available()} bytes free`);

    // Fault: the disk fills to the last byte. The stream file's last page keeps its slack, so an
    // append larger than it is a short write followed by ENOSPC: the partial batch the store must take back.
    const sizeBefore = statSync(file).size;
    const slack = (4096 - (sizeBefore % 4096)) % 4096;
    const filled = disk.fill();
    const freeDuring = disk.available();
    ctx.log(`filler took ${filled} bytes; ${freeDuring} bytes free`);
    const errors: string[] = [];
    let detectMs: number | undefined;
    const faultAt = Date.now();
    for (let i = 0; i < 3; i += 1) {
      try {
        const r = await store.append(STREAM, acknowledged, batch(acknowledged + 1));
        acknowledged = r.toVersion;
        ctx.log(`during: an append of ${BATCH} events was acknowledged on the full disk (fitted in the last page's slack)`);
      } catch (err) {
        detectMs ??= Date.now() - faultAt;
        errors.push((err as Error).message);
      }
    }
    for (const e of new Set(errors)) ctx.log(`during: append refused: ${e}`);
    const sizeDuring = statSync(file).size;
    ctx.log(`during: the file's last page had ${slack} bytes of slack for a ${Buffer.byteLength(JSON.stringify(batch(0)))}-byte batch; the file is ${sizeDuring} bytes, ${sizeBefore} before`);
    const damageDuring = await store.verify(STREAM);
    const headDuring = await store.version(STREAM).catch((err: unknown) => {
      ctx.log(`during: the head cannot be read: ${(err as Error).message}`);
      return -1;
    });
    const readDuring = await store.read(STREAM).then((e) => e.length, () => -1);
    ctx.log(`during: verify ${damageDuring === undefined ? 'intact' : damageDuring.message}; head ${headDuring}; ${readDuring} events read`);

    const ackDuring = acknowledged;
    // After: the space returns; appends continue from the same head.
    disk.free();
    const recoveredAt = Date.now();
    let afterFailures = 0;
    let recoverMs: number | undefined;
    for (let i = 0; i < 5; i += 1) {
      try {
        const r = await store.append(STREAM, acknowledged, batch(acknowledged + 1));
        acknowledged = r.toVersion;
        recoverMs ??= Date.now() - recoveredAt;
      } catch (err) {
        afterFailures += 1;
        ctx.log(`after: append failed: ${(err as Error).message}`);
      }
    }
    // A fresh store (a restarted process) reads the file from scratch.
    const reopened = new FileEventStore({ dir: join(disk.dir, 'store') });
    ctx.defer(() => reopened.close());
    const damageAfter = await reopened.verify(STREAM);
    const events = await reopened.read(STREAM);
    const inOrder = events.every((e, i) => e.version === i + 1 && (e.data as { n: number }).n === i + 1);
    ctx.log(`after: ${acknowledged} acknowledged, ${events.length} read by a fresh store, in order: ${inOrder}; verify ${damageAfter === undefined ? 'intact' : damageAfter.message}`);

    const enospc = errors.filter((e) => /ENOSPC/.test(e));
    const clear = errors.every((e) => e.includes(file) && /ENOSPC|no space/i.test(e) && !e.includes('\n'));
    return {
      faultObserved: freeDuring === 0 && enospc.length >= 1,
      faultEvidence: `${freeDuring} bytes free after the filler took ${filled}; ${enospc.length} of ${errors.length} refused appends failed with ENOSPC`,
      observations: [
        observe('before', 'appends failed', beforeFailures, { text: '= 0', holds: beforeFailures === 0 }),
        observe('during', 'appends refused', errors.length, { text: '≥ 2 of 3', holds: errors.length >= 2 }),
        observe('during', 'refusals naming the stream file and ENOSPC, in one line', errors.length === 0 ? 0 : (100 * errors.filter((e) => e.includes(file) && /ENOSPC/.test(e) && !e.includes('\n')).length) / errors.length, { text: '= 100%', holds: errors.length > 0 && clear }, '%'),
        observe('during', 'bytes the refused appends left in the file', sizeDuring - sizeBefore, { text: '= 0 (a short write taken back; a batch is larger than a page, so none fits the slack)', holds: sizeDuring === sizeBefore }),
        observe('during', 'damage found by verify', damageDuring?.message ?? 'none', { text: 'none (no torn or partial event left)', holds: damageDuring === undefined }),
        observe('during', 'events read = acknowledged', `${readDuring} / ${headDuring} / ${ackDuring}`, { text: 'read = head = acknowledged', holds: readDuring === headDuring && headDuring === ackDuring }),
        observe('after', 'appends failed after the space returned', afterFailures, { text: '= 0', holds: afterFailures === 0 }),
        observe('after', 'damage found by a fresh store', damageAfter?.message ?? 'none', { text: 'none', holds: damageAfter === undefined }),
        observe('after', 'events read by a fresh store', events.length, { text: `= ${acknowledged} acknowledged, versions 1…n in order`, holds: events.length === acknowledged && inOrder }),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(recoverMs === undefined ? {} : { timeToRecoverMs: recoverMs }),
      notes: ['detect: from filling the disk to the first refused append; recover: from removing the filler to the next acknowledged append'],
    };
  },
};
