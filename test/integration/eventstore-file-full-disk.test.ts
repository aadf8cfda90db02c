/**
 * The file store on a real full disk (a small tmpfs, filled by a filler file): a failed append
 * leaves no partial line behind and says where and why; appends continue once space returns.
 * Needs permission to mount a tmpfs (root in the project's containers); skipped, saying why, elsewhere.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileEventStore, StoreUnavailable, type NewEvent } from '../../src/eventstore/index.js';
import { smallDisksForThisFile, smallDiskUnsupported } from '../support/full-disk.js';

const unsupported = smallDiskUnsupported();
const disks = smallDisksForThisFile();

const event = (n: number): NewEvent => ({ type: 'Numbered', data: { n, pad: 'p'.repeat(1_000) }, meta: { commandId: `c${n}`, recordedAt: '2026-01-05T09:00:00.000Z' } });

describe.skipIf(unsupported !== undefined)(`file event store on a full disk${unsupported === undefined ? '' : ` (skipped: ${unsupported})`}`, () => {
  it('removes the partial write of a failed append, names the file and cause, and appends again once space returns', async () => {
    const disk = disks.mount('prio-full-');
    const store = new FileEventStore({ dir: join(disk.dir, 'store') });
    await store.append('s', 0, [event(1), event(2)]);
    const file = store.fileOf('s');
    const sizeBefore = statSync(file).size;
    disk.fill();
    expect(disk.available()).toBe(0);

    // Larger than a page: the kernel accepts what fits in the file's last page, then ENOSPC.
    const batch = [3, 4, 5, 6, 7, 8].map(event);
    const err: unknown = await store.append('s', 2, batch).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    const message = (err as Error).message;
    expect(message).toContain(file);
    expect(message).toContain('ENOSPC');
    expect(message).toContain('nothing written');
    expect(message).not.toContain('\n');
    expect(statSync(file).size).toBe(sizeBefore);
    expect(readFileSync(file).at(-1)).toBe(0x0a);
    expect(await store.verify('s')).toBeUndefined();
    expect(await store.version('s')).toBe(2);

    disk.free();
    expect(await store.append('s', 2, batch)).toEqual({ fromVersion: 3, toVersion: 8 });
    const fresh = new FileEventStore({ dir: join(disk.dir, 'store') });
    expect((await fresh.read('s')).map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await fresh.close();
    await store.close();
  });
});
