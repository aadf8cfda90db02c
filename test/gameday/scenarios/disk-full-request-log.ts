/**
 * `prio serve` writing its request log (NDJSON, `--request-log`) to a disk that fills up (a
 * real ENOSPC from a small tmpfs): serving never waits on the log, so every decision is still
 * answered; the records that cannot be written are dropped and counted on /metrics and the
 * error is logged once; once space returns the log writes again, one whole record per line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileRequestLog } from '../../../src/service/index.js';
import { checkRecord } from '../../../src/shadow/index.js';
import { smallDisk } from '../faults/disk.js';
import { decisionLoad, okPercent, waitFor } from '../fleet/gd-core.js';
import { requestLogCounts, startLoggingInstance } from '../fleet/gd-kafka-storage.js';
import { observe, type Scenario } from '../scenario.js';

const DISK_BYTES = 512 * 1024;
const RETRY_MS = 500;

export const scenario: Scenario = {
  id: 'disk-full-request-log',
  title: "prio serve's NDJSON request log on a disk that fills up",
  family: 'storage',
  fault: `the request log's ${DISK_BYTES / 1024} KiB tmpfs filled to the last byte during decision load, then freed`,
  expected: 'decisions answered 2xx throughout; records that cannot be written dropped and counted (prio_request_log_records_total{result="dropped"}) and the error logged once; after the space returns records are written again; every line of the file a whole record',
  hypothesis: { steadyState: 'decisions answered 2xx; request records written', bound: '100% answered before, during and after; dropped ≥ 1 during; written grows again within 10 s of the space returning; 0 unreadable lines, as many lines as records counted written' },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const disk = smallDisk(ctx, 'disk', DISK_BYTES);
    const file = join(disk.dir, 'requests.ndjson');
    const instance = await startLoggingInstance(ctx, (events) => fileRequestLog({ file, retryMs: RETRY_MS, ...events }));

    const before = await decisionLoad(ctx, [instance.url], 1_500);
    const countsBefore = await requestLogCounts(instance.url);
    ctx.log(`before: ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx; log written ${countsBefore.written}, dropped ${countsBefore.dropped}`);

    const filled = disk.fill();
    const freeDuring = disk.available();
    const faultAt = Date.now();
    ctx.log(`filler took ${filled} bytes; ${freeDuring} bytes free`);
    const duringLoad = decisionLoad(ctx, [instance.url], 3_000);
    const detectMs = await waitFor(ctx, async () => (await requestLogCounts(instance.url)).dropped > countsBefore.dropped, 3_000);
    const during = await duringLoad;
    const countsDuring = await requestLogCounts(instance.url);
    const errorsDuring = instance.errors.length;
    ctx.log(`during: ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx; log written ${countsDuring.written}, dropped ${countsDuring.dropped}; ${errorsDuring} error line(s)`);

    disk.free();
    const freedAt = Date.now();
    const afterLoad = decisionLoad(ctx, [instance.url], 3_000);
    const recoverMs = await waitFor(ctx, async () => (await requestLogCounts(instance.url)).written > countsDuring.written, 10_000);
    const after = await afterLoad;
    const countsAfter = await requestLogCounts(instance.url);
    ctx.log(`after: ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx; log written ${countsAfter.written}, dropped ${countsAfter.dropped}; writing again ${recoverMs ?? '?'} ms after the space returned`);

    const lines = readFileSync(file, 'utf8').split('\n');
    const last = lines.pop();
    const unreadable = lines.filter((l) => {
      try {
        return checkRecord(JSON.parse(l)) !== undefined;
      } catch {
        return true;
      }
    }).length + (last === '' ? 0 : 1);
    ctx.log(`the file holds ${lines.length} lines, ${unreadable} unreadable`);
    const droppedDuring = countsDuring.dropped - countsBefore.dropped;
    const enospc = instance.errors.some((e) => /ENOSPC/.test(e.message));
    return {
      faultObserved: freeDuring === 0 && enospc,
      faultEvidence: `${freeDuring} bytes free after the filler took ${filled}; the log reported "${instance.errors[0]?.message ?? 'nothing'}"`,
      observations: [
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 100 sent)', holds: okPercent(before) === 100 && before.sent >= 100 }, '%'),
        observe('before', 'records dropped', countsBefore.dropped, { text: '= 0', holds: countsBefore.dropped === 0 && countsBefore.written > 0 }),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 200 sent)', holds: okPercent(during) === 100 && during.sent >= 200 }, '%'),
        observe('during', 'records dropped and counted on /metrics', droppedDuring, { text: '≥ 1', holds: droppedDuring >= 1 }),
        observe('during', 'error lines logged', errorsDuring, { text: '≥ 1 and ≤ 3 (once per failure, not per record)', holds: errorsDuring >= 1 && errorsDuring <= 3 }),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 200 sent)', holds: okPercent(after) === 100 && after.sent >= 200 }, '%'),
        observe('after', 'records written again after the space returned', recoverMs ?? -1, { text: '≤ 10,000 ms', holds: recoverMs !== undefined }, 'ms'),
        observe('after', 'handed over = written + dropped', `${countsAfter.written + countsAfter.dropped} / ${before.sent + during.sent + after.sent}`, { text: 'every record counted once', holds: countsAfter.written + countsAfter.dropped === before.sent + during.sent + after.sent }),
        observe('after', 'unreadable lines in the file', unreadable, { text: '= 0 (no half-written record)', holds: unreadable === 0 }),
        observe('after', 'lines in the file = records counted written', `${lines.length} / ${countsAfter.written}`, { text: 'equal (a record counted dropped is not in the file)', holds: lines.length === countsAfter.written }),
      ],
      ...(detectMs === undefined ? {} : { timeToDetectMs: detectMs }),
      ...(recoverMs === undefined ? {} : { timeToRecoverMs: recoverMs }),
      notes: [`detect: from filling the disk to the first dropped record on /metrics; recover: from removing the filler (${freedAt - faultAt} ms after the fill) to the written count growing (the log retries every ${RETRY_MS} ms)`],
    };
  },
};
