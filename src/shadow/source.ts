/**
 * The port between where request records come from (an NDJSON file, a Kafka topic) and the
 * replay that judges them. A source yields raw bytes with their position; it never parses
 * records, so every malformed record reaches the replay and is counted and quarantined there.
 */

/** Where a record was read, precise enough to find it again and to resume after it. */
export type SourcePosition =
  | { readonly kind: 'line'; readonly file: string; readonly line: number }
  | { readonly kind: 'kafka'; readonly topic: string; readonly partition: number; readonly offset: string };

export interface SourceRecord {
  readonly position: SourcePosition;
  /** The record's bytes (one NDJSON line without its newline, or a message value); null for a Kafka tombstone. */
  readonly value: Uint8Array | null;
  /**
   * Set when the source itself could not deliver the record whole (an oversized line, the
   * truncated tail of a .gz): the record is quarantined with this reason and never parsed.
   */
  readonly sourceError?: string;
  /** The full size in bytes of a line over the size limit (its `value` is then only an excerpt). */
  readonly oversizedBytes?: number;
}

/** Resume point: the next offset to read per partition (Kafka) or the next line (file). */
export type Checkpoint =
  | { readonly kind: 'line'; readonly file: string; readonly nextLine: number }
  | { readonly kind: 'kafka'; readonly topic: string; readonly nextOffsets: Readonly<Record<string, string>> };

/**
 * Input a source knows it lost: a .gz whose stream is cut or corrupt, a Kafka partition whose
 * oldest records were deleted (retention) before the replay reached them, a Kafka record batch
 * whose CRC-32C does not match (corrupt-batch). Not a record: the
 * records it stood for were never read, so it cannot be counted in `read`; it is reported and
 * gated on its own (report.damage, gate threshold maxSourceDamage).
 */
export interface SourceDamage {
  readonly kind: 'truncated-gzip' | 'offset-gap' | 'corrupt-batch';
  /** The file, or `topic/partition`. */
  readonly where: string;
  /** One sentence: where reading stopped or skipped, and why. */
  readonly detail: string;
  /** Records known lost (a Kafka offset gap); null when the loss cannot be counted (the missing end of a .gz). */
  readonly recordsLost: number | null;
  /** Bytes of the input known not to have been read (compressed bytes of a .gz); null when unknown. */
  readonly bytesLost: number | null;
}

export interface RecordSource {
  /** A label for reports and errors, e.g. `file:logs/x.ndjson` or `kafka:requests@127.0.0.1:9092`. */
  readonly label: string;
  /** Records in batches (batching keeps the per-record cost of async iteration off the hot path). */
  batches(): AsyncIterable<readonly SourceRecord[]>;
  /** What the source knows it lost so far (read once `batches()` has ended or was interrupted). */
  damage?(): readonly SourceDamage[];
  /** The resume point after the last batch handed out (how a replay stopped by a signal resumes). */
  checkpoint?(): Checkpoint;
  /** What the records handed out so far cover (how `prio shadow merge` refuses overlapping partial reports). */
  coverage?(): Coverage | undefined;
}

/**
 * The part of its input a replay covered: lines [from, to) of a file, or per partition of a
 * topic the offset ranges [from, to) it handed out. Two partial reports whose coverages
 * intersect counted some records twice and must not be merged.
 */
export type Coverage =
  | { readonly kind: 'lines'; readonly file: string; readonly from: number; readonly to: number }
  | { readonly kind: 'offsets'; readonly topic: string; readonly partitions: Readonly<Record<string, readonly (readonly [number, number])[]>> };

/**
 * Thrown by a source that loses its input mid-way (a broker that goes away). Carries the
 * checkpoint after the last record already handed out, so a replay can resume exactly there
 * and never passes off a partial report as complete.
 */
export class SourceInterruptedError extends Error {
  override readonly name = 'SourceInterruptedError';
  constructor(message: string, readonly checkpoint: Checkpoint, options?: { cause?: unknown }) {
    super(message, options);
  }
}
