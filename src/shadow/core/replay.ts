/**
 * The replay loop: pulls raw records from a source, turns each into either a judged record or
 * a quarantine entry, and folds everything into one aggregate. Every record the source hands
 * out is counted exactly once in `read`, so read = compared + quarantined holds by
 * construction. No file or network I/O here: the source and the quarantine sink are passed in.
 */
import { isUtf8 } from 'node:buffer';
import type { ShadowAggregate } from './aggregate.js';
import { increment } from './aggregate.js';
import type { Judge } from './judge.js';
import { MAX_RECORD_BYTES, validateRecord, type RequestRecord } from './record.js';
import type { RecordSource, SourcePosition, SourceRecord } from '../source.js';

export const QUARANTINE_REASONS = [
  'oversized',
  'truncated-gzip',
  'source-error',
  'null-value',
  'invalid-utf8',
  'malformed-json',
  'schema',
] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

/** One line of quarantine.ndjson: where the record was, why it was set aside, and what it started with. */
export interface QuarantineEntry {
  readonly position: SourcePosition;
  readonly reason: QuarantineReason;
  readonly detail: string;
  /** The record's first bytes: text when it is valid UTF-8, else base64 (see `excerptEncoding`). */
  readonly excerpt: string | null;
  readonly excerptEncoding: 'utf8' | 'base64';
}

const EXCERPT_CHARS = 200;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Why a record cannot be judged, before its position is attached: what {@link examine} returns
 * for a bad record. Kept apart from the position so a worker thread, which never sees
 * positions, can examine records too (see parallel/).
 */
export class Rejected {
  constructor(
    readonly reason: QuarantineReason,
    readonly detail: string,
    /** The bytes the quarantine excerpt is taken from. */
    readonly bytes: Uint8Array | null,
  ) {}
}

/** A quarantine entry as a class, so the replay tells it from a record by `instanceof`, whatever fields a record carries. */
export class Quarantined implements QuarantineEntry {
  readonly excerpt: string | null;
  readonly excerptEncoding: 'utf8' | 'base64';
  constructor(
    readonly position: SourcePosition,
    readonly reason: QuarantineReason,
    readonly detail: string,
    bytes: Uint8Array | null,
  ) {
    const e = excerptOf(bytes);
    this.excerpt = e.excerpt;
    this.excerptEncoding = e.excerptEncoding;
  }
}

/** Maps a source's own fault description onto a quarantine reason. */
export function sourceErrorReason(sourceError: string): QuarantineReason {
  if (/^oversized/i.test(sourceError)) return 'oversized';
  if (/gzip/i.test(sourceError)) return 'truncated-gzip';
  return 'source-error';
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The quarantine excerpt of a record's bytes: text when they are valid UTF-8, else base64. */
export function excerptOf(bytes: Uint8Array | null): Pick<QuarantineEntry, 'excerpt' | 'excerptEncoding'> {
  if (bytes === null) return { excerpt: null, excerptEncoding: 'utf8' };
  const buf = asBuffer(bytes);
  const head = buf.subarray(0, EXCERPT_CHARS * 4);
  if (isUtf8(head) || isUtf8(buf)) {
    return { excerpt: head.toString('utf8').slice(0, EXCERPT_CHARS), excerptEncoding: 'utf8' };
  }
  return { excerpt: buf.subarray(0, EXCERPT_CHARS).toString('base64'), excerptEncoding: 'base64' };
}

/**
 * Parses and validates one record's bytes (`sourceError` set when the source could not
 * deliver it whole). Returns the record, or why it cannot be judged. Never throws on any input.
 */
export function examine(value: Uint8Array | null, sourceError: string | undefined): RequestRecord | Rejected {
  if (sourceError !== undefined) return new Rejected(sourceErrorReason(sourceError), sourceError, value);
  if (value === null) return new Rejected('null-value', 'message has no value (null or tombstone)', null);
  if (value.byteLength > MAX_RECORD_BYTES) {
    const detail = `oversized record: ${value.byteLength} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`;
    return new Rejected('oversized', detail, value.subarray(0, 256));
  }
  let text: string;
  try {
    // Validates and decodes in one pass (a leading byte-order mark is dropped).
    text = STRICT_UTF8.decode(value);
  } catch {
    return new Rejected('invalid-utf8', 'record bytes are not valid UTF-8', value);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return new Rejected('malformed-json', `not valid JSON: ${(err as Error).message}`, value);
  }
  const checked = validateRecord(parsed);
  return typeof checked === 'string' ? new Rejected('schema', checked, value) : checked;
}

/**
 * Parses and validates one raw record. Returns the record, or the quarantine entry that says
 * why it cannot be judged. Never throws on any input.
 */
export function admit(raw: SourceRecord): RequestRecord | Quarantined {
  const examined = examine(raw.value, raw.sourceError);
  return examined instanceof Rejected ? new Quarantined(raw.position, examined.reason, examined.detail, examined.bytes) : examined;
}

export type QuarantineSink = (entry: QuarantineEntry) => void;

export interface ReplayOptions {
  readonly source: RecordSource;
  readonly judge: Judge;
  /** Accumulates into this aggregate (an empty one, or the partial state of an interrupted run). */
  readonly into: ShadowAggregate;
  readonly quarantine: QuarantineSink;
  /**
   * Called after every batch with the aggregate so far. May return a promise (a quarantine
   * file that needs to drain): the replay waits for it before pulling the next batch, so a log
   * of nothing but garbage cannot pile up unwritten quarantine entries in memory.
   */
  readonly onBatch?: (agg: ShadowAggregate, last: SourcePosition | undefined) => Promise<void> | void;
}

/**
 * Counts one record's bytes into the aggregate: judged, or counted as quarantined under its
 * reason, in which case the rejection is returned for the caller to write down with the
 * record's position. The one per-record step of every replay, in the main thread or a worker.
 */
export function countRecord(value: Uint8Array | null, sourceError: string | undefined, agg: ShadowAggregate, judge: Judge): Rejected | undefined {
  agg.read += 1;
  const examined = examine(value, sourceError);
  if (examined instanceof Rejected) {
    agg.quarantined += 1;
    increment(agg.quarantineReasons, examined.reason);
    return examined;
  }
  judge(examined, agg);
  return undefined;
}

/** Counts one raw record into the aggregate: judged, or quarantined with its reason. */
export function ingest(raw: SourceRecord, agg: ShadowAggregate, judge: Judge, quarantine: QuarantineSink): void {
  const rejected = countRecord(raw.value, raw.sourceError, agg, judge);
  if (rejected !== undefined) quarantine(new Quarantined(raw.position, rejected.reason, rejected.detail, rejected.bytes));
}

/**
 * Replays the whole source into `options.into` and returns it. A source that loses its input
 * throws (`SourceInterruptedError` carries the checkpoint); the aggregate then holds exactly the
 * records before that checkpoint, which is what a resumed run continues from.
 */
export async function replay(options: ReplayOptions): Promise<ShadowAggregate> {
  const { source, judge, into, quarantine, onBatch } = options;
  for await (const batch of source.batches()) {
    for (let i = 0; i < batch.length; i++) ingest(batch[i] as SourceRecord, into, judge, quarantine);
    const pending = onBatch?.(into, batch.length > 0 ? batch[batch.length - 1]?.position : undefined);
    if (pending !== undefined) await pending;
  }
  return into;
}
