/**
 * A judge worker: builds the judge from the spec it is started with, judges every packed batch
 * it receives into its own aggregate (the same `countRecord` the main thread runs), answers
 * each batch with its quarantine entries, and hands its aggregate over when asked to finish.
 * Started by pool.ts; the thread boundary is this file's whole job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { emptyAggregate, type ShadowAggregate } from '../aggregate.js';
import { createJudge, type Judge } from '../judge.js';
import { countRecord, excerptOf } from '../replay.js';
import { createTokenChecker } from '../token-cache.js';
import { forEachPacked } from './packing.js';
import type { FromWorker, PositionlessEntry, ToWorker, WorkerSetup } from './protocol.js';
import { judgeParts } from './spec.js';

const port = parentPort;
if (port === null) throw new Error('shadow/parallel/worker.ts runs only as a worker thread');
const send = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

let judge: Judge;
let agg: ShadowAggregate;
try {
  const setup = workerData as WorkerSetup;
  const parts = judgeParts(setup.spec);
  const tokens = parts.tokens === undefined ? undefined : createTokenChecker(parts.tokens.legacy, parts.tokens.dual);
  judge = createJudge({ domain: parts.domain, baseline: parts.baseline, candidate: parts.candidate, ...(tokens === undefined ? {} : { tokens }) });
  agg = emptyAggregate(setup.shape);
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  throw err;
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'finish') {
    send({ type: 'aggregate', aggregate: agg });
    port.close();
    return;
  }
  const quarantine: PositionlessEntry[] = [];
  forEachPacked(message.batch, (index, value, sourceError) => {
    const rejected = countRecord(value, sourceError, agg, judge);
    if (rejected !== undefined) quarantine.push({ index, reason: rejected.reason, detail: rejected.detail, ...excerptOf(rejected.bytes) });
  });
  send({ type: 'judged', job: message.job, quarantine, buffer: message.batch.buffer }, [message.batch.buffer]);
});
send({ type: 'ready' });
