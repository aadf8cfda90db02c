/**
 * A batch of raw records as one transferable ArrayBuffer, so handing it to a worker thread
 * moves memory instead of cloning hundreds of small objects: a table of n+1 byte offsets
 * (Uint32, record i is bytes [offsets[i], offsets[i+1]) after the table), then the values'
 * bytes back to back. Positions never travel: the main thread keeps them, by batch and index.
 * The rare record without plain bytes (a null value, a source fault) is listed beside the
 * buffer. Pure.
 */
import type { SourceRecord } from '../source.js';

/** A record the offsets cannot describe alone. */
interface SpecialRecord {
  readonly index: number;
  /** The value was null (a Kafka tombstone); its byte range is empty. */
  readonly nullValue: boolean;
  readonly sourceError?: string;
}

export interface PackedBatch {
  readonly count: number;
  /** Offsets table then bytes; may be longer than needed (a reused buffer). */
  readonly buffer: ArrayBuffer;
  readonly specials: readonly SpecialRecord[];
}

const OFFSET_BYTES = 4;

/** Bytes a buffer needs to pack `records`. */
function packedSize(records: readonly SourceRecord[], from = 0, to = records.length): number {
  let bytes = (to - from + 1) * OFFSET_BYTES;
  for (let i = from; i < to; i++) bytes += (records[i] as SourceRecord).value?.byteLength ?? 0;
  return bytes;
}

/**
 * Packs records [from, to) into `buffer` (at least `packedSize` bytes; a fresh one when omitted).
 * Records above 4 GiB in total cannot occur: sources cap records at a few MiB and batches at thousands.
 */
export function packBatch(records: readonly SourceRecord[], from = 0, to = records.length, buffer?: ArrayBuffer): PackedBatch {
  const count = to - from;
  const size = packedSize(records, from, to);
  // A quarter to spare, so a returned buffer fits the next job nearly always: every buffer
  // dropped for a larger one is external memory the main thread holds until a full collection.
  const target = buffer !== undefined && buffer.byteLength >= size ? buffer : new ArrayBuffer(size + (size >> 2));
  const header = (count + 1) * OFFSET_BYTES;
  const offsets = new Uint32Array(target, 0, count + 1);
  const bytes = new Uint8Array(target);
  const specials: SpecialRecord[] = [];
  let at = header;
  for (let i = 0; i < count; i++) {
    const record = records[from + i] as SourceRecord;
    offsets[i] = at;
    const value = record.value;
    if (value !== null) {
      bytes.set(value, at);
      at += value.byteLength;
    }
    if (value === null || record.sourceError !== undefined) {
      specials.push(record.sourceError === undefined ? { index: i, nullValue: value === null } : { index: i, nullValue: value === null, sourceError: record.sourceError });
    }
  }
  offsets[count] = at;
  return { count, buffer: target, specials };
}

/** Calls `each` with every packed record's value (a view into the buffer, or null) and source fault, in order. */
export function forEachPacked(batch: PackedBatch, each: (index: number, value: Uint8Array | null, sourceError: string | undefined) => void): void {
  const { count, buffer, specials } = batch;
  const offsets = new Uint32Array(buffer, 0, count + 1);
  let nextSpecial = 0;
  for (let i = 0; i < count; i++) {
    const special = specials[nextSpecial];
    const start = offsets[i] as number;
    const value = new Uint8Array(buffer, start, (offsets[i + 1] as number) - start);
    if (special !== undefined && special.index === i) {
      nextSpecial++;
      each(i, special.nullValue ? null : value, special.sourceError);
    } else {
      each(i, value, undefined);
    }
  }
}
