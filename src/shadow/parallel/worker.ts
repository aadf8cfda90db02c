/**
 * A judge worker: builds the judge from the spec it is started with, judges every packed batch
 * it receives into its own aggregate (the same `countRecord` the main thread runs), answers
 * each batch with its quarantine entries, and hands its aggregate over when asked to finish.
 * Started by pool.ts; the thread boundary is this file's whole job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { emptyAggregate, type ShadowAggregate } from '../core/aggregate.js';
import { createJudge, type Judge } from '../core/judge.js';
import { countRecord, excerptOf } from '../core/replay.js';
import { createTokenChecker } from '../core/token-cache.js';
import { forEachPacked } from './packing.js';
import type { FromWorker, PositionlessEntry, ToWorker, WorkerSetup } from './protocol.js';
import { judgeParts } from './spec.js';

const WORKER_TOKEN_CACHE_SLOTS = 16_384;

const port = parentPort;
if (port === null) throw new Error('shadow/parallel/worker.ts runs only as a worker thread');
const send = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

let judge: Judge;
let agg: ShadowAggregate;
try {
  const setup = workerData as WorkerSetup;
  const parts = judgeParts(setup.spec);
  // A quarter of the default cache: a session's records lie close together in a log, so this
  // re-verifies few more tokens (measured: 82,000 against 77,000 in 1,000,000 records), and
  // every worker holds its own cache.
  const tokens = parts.tokens === undefined ? undefined : createTokenChecker(parts.tokens.legacy, parts.tokens.dual, WORKER_TOKEN_CACHE_SLOTS);
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
