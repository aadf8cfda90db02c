/**
 * Parallel judging: the replay loop of replay.ts with the judging spread over worker threads.
 *
 * The main thread pulls batches from the source, keeps their positions, packs their bytes into
 * one transferable buffer per job (packing.ts) and hands each job to the least busy worker.
 * Every worker judges into its own aggregate with the same code the main thread runs; at the
 * end the partial aggregates are merged. Aggregates are a monoid and the sample is a seeded
 * bottom-k reservoir, so the merged aggregate is exactly the one a single thread builds, for
 * any number of workers and any split of the batches. Quarantine entries come back per job and
 * are written in source order, as they would be by one thread.
 *
 * Small inputs stay in the main thread: workers start only once `startAfterRecords` records
 * have been read. The main thread judges every job no worker has room for, so it helps while
 * workers start and whenever they are all busy. When the source is interrupted, every job
 * already handed out is judged and merged before the result returns, so the partial aggregate
 * holds exactly the records before the source's checkpoint. Workers are terminated on every way
 * out. An I/O edge (threads); the judging itself stays in the core.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { mergeAggregates, type ShadowAggregate } from '../core/aggregate.js';
import type { Judge } from '../core/judge.js';
import { countRecord, Quarantined, type QuarantineEntry, type QuarantineSink } from '../core/replay.js';
import { SourceInterruptedError, type RecordSource, type SourcePosition, type SourceRecord } from '../source.js';
import { HandOff } from '../hand-off.js';
import { packBatch } from './packing.js';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';
import type { JudgeSpec } from './spec.js';
import { workerEntry } from './worker-entry.js';

/**
 * Workers when none are asked for: one core fewer than the machine has, up to 4, because the
 * main thread judges too whenever every worker is busy; none on a single core, where a worker
 * only adds a thread to feed.
 */
export function defaultWorkerCount(cores: number = availableParallelism()): number {
  return cores >= 2 ? Math.min(4, cores - 1) : 0;
}

export interface ParallelOptions {
  /** Worker threads (at least 1). */
  readonly workers: number;
  /** What every worker builds its judge from; must describe the main thread's judge. */
  readonly spec: JudgeSpec;
  /**
   * Records the main thread judges before any worker starts (default 20,000, well under a
   * second): a small log never pays for starting threads.
   */
  readonly startAfterRecords?: number;
  /**
   * Whether the main thread judges a job itself when no worker has room for it (default true):
   * while the workers start, and whenever they are all busy, so the main thread is never idle
   * waiting for them. False waits for a worker instead, so every job after the start is judged
   * by one (the determinism tests use it).
   */
  readonly mainThreadJudges?: boolean;
  /** Jobs handed to one worker before the main thread waits for an answer (default 4). */
  readonly queueDepth?: number;
}

export interface ParallelReplayOptions {
  readonly source: RecordSource;
  /** The main thread's judge, built from the same spec as the workers'. */
  readonly judge: Judge;
  /** The main thread's aggregate: an empty one, or the partial state of an interrupted run. Not changed by workers. */
  readonly into: ShadowAggregate;
  readonly quarantine: QuarantineSink;
  /** Called in source order after each job's records are all counted, with the records counted so far (including `into`'s). May return a promise to wait for. */
  readonly onBatch?: (recordsDone: number) => Promise<void> | void;
  readonly parallel: ParallelOptions;
}

export interface ParallelReplayResult {
  /** Everything counted: `into` merged with every worker's aggregate. */
  readonly aggregate: ShadowAggregate;
  /** Set when the source was interrupted: `aggregate` then holds exactly the records before its checkpoint. */
  readonly interruption?: SourceInterruptedError;
}

/**
 * Records per job: source batches larger than this are split, so a large Kafka fetch still
 * spreads over every worker; a file source hands out batches of this size when judged in
 * workers (`fileSource(path, { batchSize: JOB_RECORDS })`). Large enough that a job's message
 * costs little next to judging it, small enough to keep every worker busy.
 */
export const JOB_RECORDS = 2048;
/** A job also ends at this many bytes of values: records may be up to 1 MiB each. */
const JOB_BYTES = 16 * 1024 * 1024;

/** Where the job starting at `from` ends: at most JOB_RECORDS records and, past its first record, JOB_BYTES bytes. */
function jobEnd(records: readonly SourceRecord[], from: number): number {
  const last = Math.min(records.length, from + JOB_RECORDS);
  let bytes = (records[from] as SourceRecord).value?.byteLength ?? 0;
  let to = from + 1;
  for (; to < last; to++) {
    bytes += (records[to] as SourceRecord).value?.byteLength ?? 0;
    if (bytes > JOB_BYTES) break;
  }
  return to;
}

/**
 * A worker's young generation, capped: almost everything a worker allocates (parsed records)
 * dies at once, so a smaller nursery costs little time, and by default every isolate may grow
 * one of about 48 MB, which kept the replay of 5,000,000 records above its 256 MB RSS budget.
 */
const WORKER_YOUNG_GENERATION_MB = 8;

interface Job {
  readonly count: number;
  readonly positionOf: (index: number) => SourcePosition;
  entries: readonly QuarantineEntry[];
  done: boolean;
}

interface Lane {
  readonly worker: Worker;
  ready: boolean;
  inFlight: number;
  finished: boolean;
  aggregate: ShadowAggregate | undefined;
}

/** Offsets up to 15 digits are exact as doubles (below 2^53). */
const EXACT_OFFSET_DIGITS = 15;

/**
 * The positions of records [from, to), kept as numbers while their job is out; a position
 * becomes an object again only for a quarantined record. Why: thousands of small position
 * objects held for the length of a job outlive the young generation, and the old generation
 * they are promoted to then grows the main thread's heap by tens of megabytes. A batch whose
 * positions do not share one file or topic keeps its objects as they are.
 */
function positionTable(records: readonly SourceRecord[], from: number, to: number): (index: number) => SourcePosition {
  const count = to - from;
  const first = records[from]?.position;
  if (first?.kind === 'line') {
    const { file } = first;
    const lines = new Float64Array(count);
    let i = 0;
    for (; i < count; i++) {
      const p = (records[from + i] as SourceRecord).position;
      if (p.kind !== 'line' || p.file !== file) break;
      lines[i] = p.line;
    }
    // Built in the file source's own key order, so quarantine lines come out byte for byte the same.
    if (i === count) return (index) => ({ kind: 'line', file, line: lines[index] as number });
  } else if (first?.kind === 'kafka') {
    const { topic } = first;
    const partitions = new Int32Array(count);
    const offsets = new Float64Array(count);
    let i = 0;
    for (; i < count; i++) {
      const p = (records[from + i] as SourceRecord).position;
      if (p.kind !== 'kafka' || p.topic !== topic || p.offset.length > EXACT_OFFSET_DIGITS) break;
      partitions[i] = p.partition;
      offsets[i] = Number(p.offset);
    }
    if (i === count) return (index) => ({ kind: 'kafka', topic, partition: partitions[index] as number, offset: String(offsets[index]) });
  }
  const positions = records.slice(from, to).map((r) => r.position);
  return (index) => positions[index] as SourcePosition;
}

export async function replayInParallel(options: ParallelReplayOptions): Promise<ParallelReplayResult> {
  const { source, judge, into, quarantine, onBatch, parallel } = options;
  if (!Number.isInteger(parallel.workers) || parallel.workers < 1) throw new RangeError(`workers must be a positive integer, got ${parallel.workers}`);
  const startAfter = parallel.startAfterRecords ?? 20_000;
  const mainThreadJudges = parallel.mainThreadJudges ?? true;
  const depth = parallel.queueDepth ?? 2;
  const setup: WorkerSetup = {
    spec: parallel.spec,
    shape: { tiers: into.labels.slice(0, -1), sampleSize: into.sample.capacity, sampleSeed: into.sample.seed },
  };

  const lanes: Lane[] = [];
  const jobs = new Map<number, Job>();
  const spareBuffers: ArrayBuffer[] = [];
  let nextJob = 0;
  let nextToFlush = 0;
  let dispatched = 0;
  let counted = into.read;
  let failure: Error | undefined;
  // Every worker message or failure is handed over as an event; the loops below re-check the
  // state after each, so an event that arrives while nobody waits is never lost.
  const events = new HandOff<void>();
  let allReady: Promise<void> | undefined;
  let closed = false;

  const wakeUp = (): void => events.push(undefined);
  const fail = (err: Error): void => {
    failure ??= err;
    wakeUp();
  };
  /** Resolves on the next message or failure of any worker. */
  const nextEvent = async (): Promise<void> => {
    await events.next();
  };
  const check = (): void => {
    if (failure !== undefined) throw failure;
  };

  /** Starts the workers; resolves once every one is ready (or has failed). */
  async function startWorkers(): Promise<void> {
    const entry = await workerEntry();
    // The replay may have ended while the entry was being prepared: start nothing then.
    if (closed) return;
    const readies: Promise<void>[] = [];
    for (let i = 0; i < parallel.workers; i++) {
      const worker = new Worker(entry, { workerData: setup, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
      const lane: Lane = { worker, ready: false, inFlight: 0, finished: false, aggregate: undefined };
      lanes.push(lane);
      readies.push(
        new Promise<void>((resolve) => {
          worker.on('message', (message: FromWorker) => {
            switch (message.type) {
              case 'ready':
                lane.ready = true;
                resolve();
                break;
              case 'judged': {
                const job = jobs.get(message.job);
                if (job === undefined) return fail(new Error(`judge worker answered job ${message.job}, which is not pending`));
                job.entries = message.quarantine.map((e) => ({
                  position: job.positionOf(e.index),
                  reason: e.reason,
                  detail: e.detail,
                  excerpt: e.excerpt,
                  excerptEncoding: e.excerptEncoding,
                }));
                job.done = true;
                lane.inFlight -= 1;
                spareBuffers.push(message.buffer);
                break;
              }
              case 'aggregate':
                lane.aggregate = message.aggregate;
                lane.finished = true;
                break;
              case 'failed':
                fail(new Error(`a judge worker could not start: ${message.message}`));
                resolve();
                break;
            }
            wakeUp();
          });
          worker.on('error', (err) => {
            fail(err);
            resolve();
          });
          worker.on('exit', (code) => {
            if (!lane.finished) fail(new Error(`a judge worker stopped (exit code ${code}) before handing over its figures`));
            resolve();
          });
        }),
      );
    }
    await Promise.all(readies);
  }

  /** The ready worker with the fewest jobs, if any has room. */
  function freeLane(): Lane | undefined {
    let best: Lane | undefined;
    for (const lane of lanes) if (lane.ready && lane.inFlight < depth && (best === undefined || lane.inFlight < best.inFlight)) best = lane;
    return best;
  }

  async function flush(): Promise<void> {
    for (let job = jobs.get(nextToFlush); job !== undefined && job.done; job = jobs.get(nextToFlush)) {
      jobs.delete(nextToFlush);
      nextToFlush += 1;
      for (const entry of job.entries) quarantine(entry);
      counted += job.count;
      const pending = onBatch?.(counted);
      if (pending !== undefined) await pending;
    }
  }

  async function dispatch(records: readonly SourceRecord[], from: number, to: number): Promise<void> {
    const count = to - from;
    const id = nextJob++;
    const job: Job = { count, positionOf: positionTable(records, from, to), entries: [], done: false };
    jobs.set(id, job);
    dispatched += count;
    let lane = freeLane();
    while (lane === undefined && !mainThreadJudges && lanes.length > 0) {
      await nextEvent();
      check();
      await flush();
      lane = freeLane();
    }
    if (lane !== undefined) {
      const batch = packBatch(records, from, to, spareBuffers.pop());
      lane.inFlight += 1;
      lane.worker.postMessage({ type: 'judge', job: id, batch } satisfies ToWorker, [batch.buffer]);
      return;
    }
    const entries: QuarantineEntry[] = [];
    for (let i = from; i < to; i++) {
      const raw = records[i] as SourceRecord;
      const rejected = countRecord(raw.value, raw.sourceError, into, judge);
      if (rejected !== undefined) entries.push(new Quarantined(raw.position, rejected.reason, rejected.detail, rejected.bytes));
    }
    job.entries = entries;
    job.done = true;
    // Judging here blocked the event loop; let the workers' answers in before the next job, or a
    // large source batch (a Kafka fetch) would all be judged here while the workers sit idle.
    if (lanes.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  let interruption: SourceInterruptedError | undefined;
  try {
    try {
      for await (const batch of source.batches()) {
        for (let from = 0, to = 0; from < batch.length; from = to) {
          to = jobEnd(batch, from);
          if (allReady === undefined && dispatched >= startAfter) {
            allReady = startWorkers();
            // Not awaited when the main thread judges meanwhile; a failure still ends the replay.
            allReady.catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
            if (!mainThreadJudges) await allReady;
          }
          check();
          await dispatch(batch, from, to);
          await flush();
        }
      }
    } catch (err) {
      // Whatever was handed out before the interruption is still judged and counted below.
      if (!(err instanceof SourceInterruptedError)) throw err;
      interruption = err;
    }
    while (jobs.size > 0) {
      check();
      await flush();
      if (jobs.size > 0) await nextEvent();
    }
    let aggregate = into;
    for (const lane of lanes) {
      // A worker still starting when the source ended was never given a job: nothing to collect.
      if (!lane.ready) continue;
      lane.worker.postMessage({ type: 'finish' } satisfies ToWorker);
      while (!lane.finished) {
        check();
        await nextEvent();
      }
      check();
      aggregate = mergeAggregates(aggregate, lane.aggregate as ShadowAggregate);
    }
    return interruption === undefined ? { aggregate } : { aggregate, interruption };
  } finally {
    closed = true;
    // Workers still being created would otherwise appear after this cleanup.
    await workerEntry().catch(() => undefined);
    for (const lane of lanes) lane.finished = true;
    await Promise.all(lanes.map((lane) => lane.worker.terminate()));
  }
}
