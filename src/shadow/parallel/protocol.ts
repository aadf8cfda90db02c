/** The messages between the judge pool (main thread) and its workers. Pure types. */
import type { AggregateShape, ShadowAggregate } from '../core/aggregate.js';
import type { QuarantineEntry } from '../core/replay.js';
import type { PackedBatch } from './packing.js';
import type { JudgeSpec } from './spec.js';

export interface WorkerSetup {
  readonly spec: JudgeSpec;
  /** Taken from the main thread's aggregate, so every partial aggregate merges with it. */
  readonly shape: AggregateShape;
}

/** A quarantine entry without its position, which only the main thread knows: `index` within the job. */
export type PositionlessEntry = Omit<QuarantineEntry, 'position'> & { readonly index: number };

export type ToWorker =
  | { readonly type: 'judge'; readonly job: number; readonly batch: PackedBatch }
  /** Send the aggregate of everything judged; the worker is then done. */
  | { readonly type: 'finish' };

export type FromWorker =
  | { readonly type: 'ready' }
  /** Job done; the buffer comes back for reuse. */
  | { readonly type: 'judged'; readonly job: number; readonly quarantine: readonly PositionlessEntry[]; readonly buffer: ArrayBuffer }
  | { readonly type: 'aggregate'; readonly aggregate: ShadowAggregate }
  /** The judge could not be built (a bad document should have failed in the main thread first). */
  | { readonly type: 'failed'; readonly message: string };
