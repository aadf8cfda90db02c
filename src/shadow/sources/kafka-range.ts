/**
 * Reads one partition's offsets [from, until) the way the direct path does (kafka-fetch.ts:
 * read_committed fetches from the leader, the project's decoder), for a consumer-group member.
 *
 * Why a group member reads its records a second time: kafkajs 2.2.4's consumer filters aborted
 * transactions wrongly. It takes at most one entry of the broker's aborted-transaction list per
 * message and never sorts the list, so with several transactions aborted in one fetch (two
 * transactional producers are enough) it hands out aborted records, and can drop committed
 * ones. kafkajs keeps what it does right — group membership, assignments, offset commits and
 * the handover between members — and reads read_uncommitted and little at a time, so none of
 * its batches ends up empty through its filter; each batch only tells the member that it owns
 * the partition from that offset on. The records come from here, where the aborted list is
 * sorted and walked in full, a whole fetch at a time; kafkajs is then moved past them (seek).
 */
import type { SourceRecord } from '../source.js';
import { FetchConnection, FetchedRecordReader, KafkaAuthenticationError, PartitionFetchError, type CorruptBatch } from './kafka-fetch.js';
import type { KafkaSecurity } from './kafka-security.js';

/** Records per slice handed out, as on the direct path. */
const SLICE_RECORDS = 1024;

/** The broker served records the decoder cannot read (an unknown codec, corrupt data): no retry helps. */
export class UnreadableRecordsError extends Error {
  override readonly name = 'UnreadableRecordsError';
}

export interface RangeReaderOptions {
  readonly topic: string;
  readonly clientId: string;
  /** `host:port` of each partition's leader, asked again after a failure. */
  readonly leaders: () => Promise<Map<number, string>>;
  /** Failed fetches retried (fresh connection, fresh leaders) before the error surfaces. */
  readonly retries: number;
  readonly maxBytesPerPartition: number;
  readonly security?: KafkaSecurity;
  /** The partition's log start offset now (asked when a fetch falls below it: retention ran ahead). */
  readonly logStart: (partition: number) => Promise<number>;
}

/** Offsets [from, to) of a partition that retention deleted before the member read them. */
export interface OffsetGap {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
}

/** Kafka's error code for a fetch below the log start (or beyond the end). */
const OFFSET_OUT_OF_RANGE = 1;

export class PartitionRangeReader {
  private readonly connections = new Map<string, FetchConnection>();
  private leaders: Map<number, string> | undefined;
  private readonly maxBytes = new Map<number, number>();
  private closed = false;

  constructor(private readonly options: RangeReaderOptions) {}

  /**
   * The committed records of `partition` from `from` on, in slices of whole record batches: at
   * least up to `atLeast`, and as far as the fetches that took bring (never past `atMost`).
   * `next` is the offset after them. Waits (calling `keepAlive` between fetches) while an open
   * transaction holds the partition's last stable offset below `atLeast`, as any read_committed
   * consumer does. Records retention deleted before they were read are skipped to the log
   * start and returned as `gaps`, as the direct path counts them.
   */
  async read(partition: number, from: number, atLeast: number, atMost: number, keepAlive: () => Promise<void>): Promise<{ slices: SourceRecord[][]; next: number; corrupt: CorruptBatch[]; gaps: OffsetGap[] }> {
    const slices: SourceRecord[][] = [];
    /** Batches that failed their CRC-32C check (each stands in `slices` as one quarantine record). */
    const corrupt: CorruptBatch[] = [];
    const gaps: OffsetGap[] = [];
    let next = from;
    while (next < atLeast && !this.closed) {
      let fetched;
      try {
        fetched = await this.fetch(partition, next);
      } catch (err) {
        if (!(err instanceof PartitionFetchError && err.code === OFFSET_OUT_OF_RANGE)) throw err;
        const low = await this.options.logStart(partition);
        if (low <= next) throw err; // beyond the end, not below the start: no gap to skip
        const to = Math.min(low, atMost);
        gaps.push({ partition, from: next, to });
        next = to;
        continue;
      }
      const reader = new FetchedRecordReader(this.options.topic, fetched, next, Number.isFinite(atMost) ? atMost : undefined);
      try {
        for (let records = await reader.next(SLICE_RECORDS); records.length > 0; records = await reader.next(SLICE_RECORDS)) {
          slices.push(records);
          corrupt.push(...reader.takeCorrupt());
        }
      } catch (err) {
        throw new UnreadableRecordsError(err instanceof Error ? err.message : String(err), { cause: err });
      }
      if (reader.nextOffset > next) next = Math.min(reader.nextOffset, atMost);
      else if (fetched.records !== null && fetched.records.length > 0) {
        // Only part of one batch fit: ask for more.
        this.maxBytes.set(partition, Math.min(256 * 1024 * 1024, 2 * this.maxBytesFor(partition)));
      } else await keepAlive();
    }
    // Never a partial range: the caller commits `next` once this returns.
    if (next < atLeast) throw new Error('the replay ended while a range was being read');
    return { slices, next, corrupt, gaps };
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  private maxBytesFor(partition: number): number {
    return this.maxBytes.get(partition) ?? this.options.maxBytesPerPartition;
  }

  private async fetch(partition: number, offset: number) {
    const { topic, clientId, retries } = this.options;
    for (let attempt = 0; ; attempt++) {
      let leader: string | undefined;
      try {
        this.leaders ??= await this.options.leaders();
        leader = this.leaders.get(partition);
        if (leader === undefined) throw new PartitionFetchError(partition, 5);
        let connection = this.connections.get(leader);
        if (connection === undefined) {
          const colon = leader.lastIndexOf(':');
          connection = new FetchConnection(leader.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), Number(leader.slice(colon + 1)), clientId, 30_000, this.options.security);
          this.connections.set(leader, connection);
        }
        const [fetched] = await connection.fetch(topic, [{ partition, offset, maxBytes: this.maxBytesFor(partition) }], 250, 32 * 1024 * 1024);
        if (fetched === undefined) throw new PartitionFetchError(partition, 3);
        if (fetched.errorCode !== 0) throw new PartitionFetchError(partition, fetched.errorCode);
        return fetched;
      } catch (err) {
        if (leader !== undefined) {
          this.connections.get(leader)?.close();
          this.connections.delete(leader);
        }
        if (this.closed || err instanceof KafkaAuthenticationError || (err instanceof PartitionFetchError && !err.retriable) || attempt >= retries) throw err;
        this.leaders = undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 200 * 2 ** attempt)));
      }
    }
  }
}
