/**
 * A lean Kafka fetch path for the replay: Fetch requests (version 4) straight to the partition
 * leaders over one socket each, and a decoder for record batches (magic 2) that hands values
 * out as slices of the response, without per-record 64-bit arithmetic or header objects.
 *
 * Why not kafkajs for this part: its decoder builds several objects per record (offsets go
 * through a 64-bit Long class and back to strings), and on a replay that spends most of its
 * time there — a CPU profile shows the garbage collector alone at about 30%. kafkajs still does
 * everything else (metadata, offsets-for-times, consumer groups); this file only reads bytes
 * the broker already agreed to serve. Reads every codec Kafka defines (none, gzip, snappy, lz4,
 * zstd: kafka-codecs.ts), control batches and aborted transactions (read_committed, like
 * kafkajs's and librdkafka's default).
 */
import { crc32c } from '@node-rs/crc32';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { SourceRecord } from '../source.js';
import { codecName, decompress } from './kafka-codecs.js';
import { saslAuthenticate, tlsOptions, type KafkaSasl, type KafkaSecurity } from './kafka-security.js';

const FETCH_API_KEY = 1;
const SASL_HANDSHAKE_API_KEY = 17;
const SASL_AUTHENTICATE_API_KEY = 36;
/** Compressed input inflated (or being inflated) ahead of the decoding, per reader. */
const INFLATE_AHEAD_BYTES = 1024 * 1024;
const FETCH_VERSION = 4;
const READ_COMMITTED = 1;
const BATCH_HEADER_BYTES = 61;

/** A Kafka error code returned for one partition of a fetch. */
export class PartitionFetchError extends Error {
  override readonly name = 'PartitionFetchError';
  constructor(
    readonly partition: number,
    readonly code: number,
  ) {
    super(`partition ${partition}: ${ERROR_NAMES.get(code) ?? 'error'} (Kafka error code ${code})`);
  }

  /** Errors that a fresh look at the cluster's metadata (a new leader) can cure. */
  get retriable(): boolean {
    return RETRIABLE_CODES.has(this.code);
  }
}

const ERROR_NAMES = new Map<number, string>([
  [1, 'OFFSET_OUT_OF_RANGE (the records were deleted by retention)'],
  [3, 'UNKNOWN_TOPIC_OR_PARTITION'],
  [6, 'NOT_LEADER_OR_FOLLOWER'],
  [74, 'FENCED_LEADER_EPOCH'],
  [75, 'UNKNOWN_LEADER_EPOCH'],
]);
const RETRIABLE_CODES = new Set([3, 5, 6, 9, 74, 75]);

export interface FetchPartition {
  readonly partition: number;
  readonly offset: number;
  readonly maxBytes: number;
}

export interface FetchedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly abortedTransactions: readonly { readonly producerId: bigint; readonly firstOffset: number }[];
  /** The raw record batches (possibly ending in a partial batch), or null. */
  readonly records: Buffer | null;
}

/** The broker refused this client's credentials or mechanism: no retry helps. */
export class KafkaAuthenticationError extends Error {
  override readonly name = 'KafkaAuthenticationError';
}

/** One connection to one broker (plaintext or TLS, SASL-authenticated when configured); one request in flight at a time. */
export class FetchConnection {
  private readonly socket: Socket;
  private readonly connected: Promise<void>;
  /** The size prefix of the next response, filled by the socket. */
  private readonly sizePrefix = Buffer.alloc(4);
  private sizePrefixFilled = 0;
  /** The response being received, once its size is known; the socket reads straight into it. */
  private frame: Buffer | undefined;
  private frameFilled = 0;
  private correlationId = 0;
  private waiting: { resolve: (frame: Buffer) => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined;
  private failure: Error | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly clientId: string,
    private readonly requestTimeoutMs: number,
    security?: KafkaSecurity,
  ) {
    const tls = security?.tls;
    if (tls !== undefined) {
      // TLS decrypts into chunks of its own, so `onread` (below) cannot apply: each chunk is
      // copied into the response buffer the same way the plaintext socket fills it.
      this.socket = tlsConnect({ host, port, ...tlsOptions(tls, host) });
      this.socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    } else {
      this.socket = this.plainSocket(host, port);
    }
    this.socket.setNoDelay(true);
    const opened = new Promise<void>((resolve, reject) => {
      this.socket.once(tls !== undefined ? 'secureConnect' : 'connect', () => resolve());
      this.socket.once('error', reject);
    });
    const sasl = security?.sasl;
    this.connected = sasl === undefined ? opened : opened.then(() => this.authenticate(sasl));
    this.connected.catch(() => undefined);
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error(`connection to ${host}:${port} closed`)));
  }

  private plainSocket(host: string, port: number): Socket {
    // The socket reads into memory this connection names (`onread`), not into chunks of its
    // own: each response gets one buffer of its exact size and the kernel fills it directly,
    // where chunks would be allocated per read and then copied once more into a joined buffer.
    // Every response has a buffer of its own that is never reused, so the views into it that
    // the decoder hands out stay valid however long the replay holds them.
    return connect({
      port,
      host,
      onread: {
        buffer: () => this.readTarget(),
        callback: (bytesRead: number) => {
          this.onRead(bytesRead);
          return true;
        },
      },
    });
  }

  /** Feeds a chunk the TLS socket decrypted through the same framing as the plaintext reads. */
  private onChunk(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.failure === undefined) {
      const target = this.readTarget();
      const n = Math.min(target.length, chunk.length - at);
      chunk.copy(target, 0, at, at + n);
      at += n;
      this.onRead(n);
    }
  }

  /**
   * SaslHandshake (v1) naming the mechanism, then SaslAuthenticate (v1) rounds until the
   * mechanism is done (kafka-security.ts). A refusal is a {@link KafkaAuthenticationError}
   * carrying the broker's own reason.
   */
  private async authenticate(sasl: KafkaSasl): Promise<void> {
    const mechanism = sasl.mechanism.toUpperCase();
    const handshake = await this.request(this.frameRequest(SASL_HANDSHAKE_API_KEY, 1, kafkaString(mechanism)), this.requestTimeoutMs);
    const handshakeError = handshake.readInt16BE(4);
    if (handshakeError !== 0) {
      const enabled: string[] = [];
      let at = 6;
      const count = handshake.readInt32BE(at);
      at += 4;
      for (let i = 0; i < count; i++) {
        const length = handshake.readInt16BE(at);
        enabled.push(handshake.toString('utf8', at + 2, at + 2 + length));
        at += 2 + length;
      }
      throw new KafkaAuthenticationError(`${this.host}:${this.port} does not accept SASL ${mechanism} (it accepts ${enabled.join(', ') || 'none'})`);
    }
    await saslAuthenticate(sasl, async (bytes) => {
      const body = Buffer.alloc(4 + bytes.length);
      body.writeInt32BE(bytes.length, 0);
      bytes.copy(body, 4);
      const answer = await this.request(this.frameRequest(SASL_AUTHENTICATE_API_KEY, 1, body), this.requestTimeoutMs);
      const errorCode = answer.readInt16BE(4);
      let at = 6;
      const messageLength = answer.readInt16BE(at);
      at += 2;
      const message = messageLength < 0 ? undefined : answer.toString('utf8', at, at + messageLength);
      at += Math.max(0, messageLength);
      if (errorCode !== 0) throw new KafkaAuthenticationError(`SASL ${mechanism} authentication failed at ${this.host}:${this.port}: ${message ?? `Kafka error code ${errorCode}`}`);
      const length = answer.readInt32BE(at);
      return answer.subarray(at + 4, at + 4 + Math.max(0, length));
    }).catch((err: unknown) => {
      if (err instanceof KafkaAuthenticationError) throw err;
      throw new KafkaAuthenticationError(err instanceof Error ? err.message : String(err), { cause: err });
    });
  }

  /** A request with header v1 (api key, version, correlation id, client id) around `body`. */
  private frameRequest(apiKey: number, version: number, body: Buffer): Buffer {
    const client = Buffer.from(this.clientId, 'utf8');
    const size = 2 + 2 + 4 + 2 + client.length + body.length;
    const out = Buffer.alloc(4 + size);
    let at = out.writeInt32BE(size, 0);
    at = out.writeInt16BE(apiKey, at);
    at = out.writeInt16BE(version, at);
    at = out.writeInt32BE(++this.correlationId, at);
    at = out.writeInt16BE(client.length, at);
    at += client.copy(out, at);
    body.copy(out, at);
    return out;
  }

  async fetch(topic: string, partitions: readonly FetchPartition[], maxWaitMs: number, maxBytes: number): Promise<FetchedPartition[]> {
    await this.connected;
    if (this.failure) throw this.failure;
    const correlationId = ++this.correlationId;
    const frame = await this.request(encodeFetch(this.clientId, correlationId, topic, partitions, maxWaitMs, maxBytes), maxWaitMs + this.requestTimeoutMs);
    return decodeFetchResponse(frame, correlationId);
  }

  close(): void {
    this.fail(new Error('connection closed'));
    this.socket.destroy();
  }

  private request(bytes: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer from ${this.host}:${this.port} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = { resolve, reject, timer };
      this.socket.write(bytes);
    });
  }

  /** Where the socket's next read goes: the rest of the size prefix, or the rest of the response. */
  private readTarget(): Uint8Array {
    return this.frame === undefined ? this.sizePrefix.subarray(this.sizePrefixFilled) : this.frame.subarray(this.frameFilled);
  }

  private onRead(bytesRead: number): void {
    if (this.frame === undefined) {
      this.sizePrefixFilled += bytesRead;
      if (this.sizePrefixFilled < 4) return;
      this.sizePrefixFilled = 0;
      const size = this.sizePrefix.readInt32BE(0);
      if (size < 4) {
        this.fail(new Error(`malformed response from ${this.host}:${this.port} (size ${size})`));
        return;
      }
      // Not zero-filled: the socket writes every byte before the response is handed out.
      this.frame = Buffer.allocUnsafeSlow(size);
      this.frameFilled = 0;
      return;
    }
    this.frameFilled += bytesRead;
    if (this.frameFilled < this.frame.length) return;
    const frame = this.frame;
    this.frame = undefined;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) {
      clearTimeout(waiting.timer);
      waiting.resolve(frame);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(err);
    }
    this.socket.destroy();
  }
}

function kafkaString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(2 + bytes.length);
  out.writeInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function encodeFetch(clientId: string, correlationId: number, topic: string, partitions: readonly FetchPartition[], maxWaitMs: number, maxBytes: number): Buffer {
  const client = Buffer.from(clientId, 'utf8');
  const topicName = Buffer.from(topic, 'utf8');
  const size = 2 + 2 + 4 + 2 + client.length + 4 + 4 + 4 + 4 + 1 + 4 + 2 + topicName.length + 4 + partitions.length * 16;
  const out = Buffer.alloc(4 + size);
  let at = out.writeInt32BE(size, 0);
  at = out.writeInt16BE(FETCH_API_KEY, at);
  at = out.writeInt16BE(FETCH_VERSION, at);
  at = out.writeInt32BE(correlationId, at);
  at = out.writeInt16BE(client.length, at);
  at += client.copy(out, at);
  at = out.writeInt32BE(-1, at); // replica id: a consumer
  at = out.writeInt32BE(maxWaitMs, at);
  at = out.writeInt32BE(1, at); // min bytes
  at = out.writeInt32BE(maxBytes, at);
  at = out.writeInt8(READ_COMMITTED, at);
  at = out.writeInt32BE(1, at); // one topic
  at = out.writeInt16BE(topicName.length, at);
  at += topicName.copy(out, at);
  at = out.writeInt32BE(partitions.length, at);
  for (const p of partitions) {
    at = out.writeInt32BE(p.partition, at);
    at = out.writeBigInt64BE(BigInt(p.offset), at);
    at = out.writeInt32BE(p.maxBytes, at);
  }
  return out;
}

function decodeFetchResponse(frame: Buffer, correlationId: number): FetchedPartition[] {
  let at = 0;
  const id = frame.readInt32BE(at);
  at += 4;
  if (id !== correlationId) throw new Error(`fetch response out of order (correlation id ${id}, expected ${correlationId})`);
  at += 4; // throttle time
  const topics = frame.readInt32BE(at);
  at += 4;
  const out: FetchedPartition[] = [];
  for (let t = 0; t < topics; t++) {
    at += 2 + frame.readInt16BE(at); // topic name
    const count = frame.readInt32BE(at);
    at += 4;
    for (let i = 0; i < count; i++) {
      const partition = frame.readInt32BE(at);
      const errorCode = frame.readInt16BE(at + 4);
      const highWatermark = Number(frame.readBigInt64BE(at + 6));
      at += 4 + 2 + 8 + 8; // partition, error, high watermark, last stable offset
      const aborted = frame.readInt32BE(at);
      at += 4;
      const abortedTransactions: { producerId: bigint; firstOffset: number }[] = [];
      for (let a = 0; a < aborted; a++) {
        abortedTransactions.push({ producerId: frame.readBigInt64BE(at), firstOffset: Number(frame.readBigInt64BE(at + 8)) });
        at += 16;
      }
      const length = frame.readInt32BE(at);
      at += 4;
      const records = length < 0 ? null : frame.subarray(at, at + length);
      at += Math.max(0, length);
      out.push({ partition, errorCode, highWatermark, abortedTransactions, records });
    }
  }
  return out;
}

/**
 * A record batch whose CRC-32C does not match its bytes: corrupted on disk or on the way. None of
 * its records is handed out as data (any byte of them may be wrong); one quarantine record
 * stands at its base offset, and the source reports the batch as damage.
 */
export interface CorruptBatch {
  readonly partition: number;
  readonly baseOffset: number;
  /** Offset of its last record, as its header says (the header's offsets are all one can go by). */
  readonly lastOffset: number;
  readonly records: number;
  readonly bytes: number;
  readonly detail: string;
}

/** The Kafka header fields a batch's CRC-32C covers: everything from the attributes (byte 21) to its end. */
const CRC_OFFSET = 17;
const CRC_COVERED_FROM = 21;

export interface DecodedRecords {
  readonly records: SourceRecord[];
  /** The offset to fetch next (past every complete batch in the response). */
  readonly nextOffset: number;
}

/**
 * The records of `fetched` within [from, end), as source records whose values are slices of
 * the response, or of its batches once inflated (no further copy). Skips control batches and,
 * in read_committed fashion, the batches of aborted transactions.
 * @internal exported for its unit tests only.
 */
export async function decodeRecords(topic: string, fetched: FetchedPartition, from: number, end: number | undefined): Promise<DecodedRecords> {
  const reader = new FetchedRecordReader(topic, fetched, from, end);
  return { records: await reader.next(Number.POSITIVE_INFINITY), nextOffset: reader.nextOffset };
}

/**
 * Decodes the records of one fetched partition a slice at a time. Why slices: a response holds
 * up to tens of thousands of records, and decoded all at once their objects outlive the young
 * generation while the replay works through them, so the garbage collector copies and then
 * marks every one of them; a slice is done with before the next one is made.
 *
 * Compressed batches are inflated off the main thread (kafka-codecs.ts), several at once and a
 * bounded distance ahead of the decoding ({@link INFLATE_AHEAD_BYTES} of compressed input): a
 * response of 8 MiB of zstd can hold ten times as much once inflated, and only the slices the
 * replay holds need to be.
 */
export class FetchedRecordReader {
  /** The offset to fetch next (past every complete batch in the response), known before any record is decoded. */
  readonly nextOffset: number;
  /** Records sections inflated or being inflated, by the position of their batch in the response. */
  private readonly inflated = new Map<number, Promise<Buffer>>();
  /** Position of the next batch to consider for inflation. */
  private inflateAt = 0;
  private at = 0;
  /** Offset past the batches decoded so far: decoding stops where the window ends, like {@link nextOffset}. */
  private decodedNext: number;
  private done: boolean;
  private readonly abortStarts: { readonly producerId: bigint; readonly firstOffset: number }[];
  private readonly abortedProducers = new Set<bigint>();
  /** Batches that failed their CRC-32C check since the last {@link takeCorrupt}. */
  private corrupt: CorruptBatch[] = [];

  constructor(
    private readonly topic: string,
    private readonly fetched: FetchedPartition,
    private readonly from: number,
    private readonly end: number | undefined,
  ) {
    this.decodedNext = from;
    this.done = fetched.records === null;
    this.nextOffset = fetched.records === null ? from : scanNextOffset(fetched.records, fetched.partition, from, end);
    this.abortStarts = [...fetched.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
    // Inflating starts at once, so it overlaps the next fetch and the records before it.
    if (fetched.records !== null) this.inflateAhead(fetched.records);
  }

  /** Starts inflating the compressed data batches ahead of the decoding, up to {@link INFLATE_AHEAD_BYTES} (control batches are never compressed). */
  private inflateAhead(buf: Buffer): void {
    const { partition } = this.fetched;
    this.inflateAt = Math.max(this.inflateAt, this.at);
    while (this.inflateAt + 12 <= buf.length && this.inflateAt - this.at < INFLATE_AHEAD_BYTES) {
      const at = this.inflateAt;
      const batchEnd = at + 12 + buf.readInt32BE(at + 8);
      if (batchEnd > buf.length || buf.readInt8(at + 16) !== 2) return;
      const baseOffset = Number(buf.readBigInt64BE(at));
      if (this.end !== undefined && baseOffset >= this.end) return;
      const attributes = buf.readInt16BE(at + 21);
      const codec = attributes & 0x07;
      if (codec !== 0 && (attributes & 0x20) === 0 && baseOffset + buf.readInt32BE(at + 23) + 1 > this.from) {
        const body = decompress(codec, buf.subarray(at + BATCH_HEADER_BYTES, batchEnd)).catch((err: unknown) => {
          throw new Error(`partition ${partition} offset ${baseOffset}: cannot read a ${codecName(codec)} batch: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        });
        // Awaited when the decoding gets there; this keeps a failure from being reported as unhandled first.
        body.catch(() => undefined);
        this.inflated.set(at, body);
      }
      this.inflateAt = batchEnd;
    }
  }

  /** The corrupt batches met since the last call (each already stands in the records as one quarantine record). */
  takeCorrupt(): CorruptBatch[] {
    const corrupt = this.corrupt;
    if (corrupt.length > 0) this.corrupt = [];
    return corrupt;
  }

  /**
   * Whole record batches until at least `atLeast` records are out or the response ends; empty
   * once it has. Rejects on a batch that cannot be inflated (unknown codec, corrupt data). A
   * batch whose CRC-32C fails becomes one quarantine record at its base offset (see
   * {@link CorruptBatch}, {@link takeCorrupt}).
   */
  async next(atLeast: number): Promise<SourceRecord[]> {
    const records: SourceRecord[] = [];
    const buf = this.fetched.records;
    if (buf === null) return records;
    const { partition } = this.fetched;
    const { abortStarts, abortedProducers, from, end } = this;
    while (!this.done && records.length < atLeast) {
      const at = this.at;
      if (at + 12 > buf.length) {
        this.done = true;
        break;
      }
      const baseOffset = Number(buf.readBigInt64BE(at));
      const batchLength = buf.readInt32BE(at + 8);
      const batchEnd = at + 12 + batchLength;
      if (batchEnd > buf.length) {
        this.done = true; // a partial batch at the end of the response
        break;
      }
      const magic = buf.readInt8(at + 16);
      if (magic !== 2) throw unsupportedFormat(partition, baseOffset, magic);
      const attributes = buf.readInt16BE(at + 21);
      const lastOffsetDelta = buf.readInt32BE(at + 23);
      const producerId = buf.readBigInt64BE(at + 43);
      const count = buf.readInt32BE(at + 57);
      const isTransactional = (attributes & 0x10) !== 0;
      const isControl = (attributes & 0x20) !== 0;
      const batchNext = baseOffset + lastOffsetDelta + 1;
      while (abortStarts.length > 0 && (abortStarts[0] as { firstOffset: number }).firstOffset <= baseOffset + lastOffsetDelta) {
        abortedProducers.add((abortStarts.shift() as { producerId: bigint }).producerId);
      }
      // A data batch wholly at or past `end` holds nothing wanted: it is neither inflated nor decoded.
      if (isControl) {
        // An abort or commit marker ends its producer's transaction.
        if (isTransactional) abortedProducers.delete(producerId);
      } else if (!(isTransactional && abortedProducers.has(producerId)) && batchNext > from && (end === undefined || baseOffset < end)) {
        // Checked before anything of the batch is used: a flipped bit in a length would
        // otherwise misplace every record after it, and one in a value would pass unseen.
        const stored = buf.readUInt32BE(at + CRC_OFFSET);
        const computed = crc32c(buf.subarray(at + CRC_COVERED_FROM, batchEnd)) >>> 0;
        if (stored !== computed) {
          this.quarantineCorrupt(records, at, baseOffset, batchNext - 1, count, batchEnd - at, stored, computed);
          this.inflated.delete(at);
          this.decodedNext = Math.max(this.decodedNext, batchNext);
          this.at = batchEnd;
          if (end !== undefined && this.decodedNext >= end) this.done = true;
          continue;
        }
        let body: Buffer;
        if ((attributes & 0x07) === 0) body = buf.subarray(at + BATCH_HEADER_BYTES, batchEnd);
        else {
          this.inflateAhead(buf);
          const inflating = this.inflated.get(at);
          if (inflating === undefined) throw new Error(`partition ${partition} offset ${baseOffset}: a compressed batch was not inflated`);
          body = await inflating;
          // The records hold views into the body; the reader needs it no longer.
          this.inflated.delete(at);
        }
        decodeBatchRecords(body, count, baseOffset, this.topic, partition, from, end, records);
      }
      this.decodedNext = Math.max(this.decodedNext, batchNext);
      this.at = batchEnd;
      if (end !== undefined && this.decodedNext >= end) this.done = true;
    }
    return records;
  }

  private quarantineCorrupt(into: SourceRecord[], at: number, baseOffset: number, lastOffset: number, count: number, bytes: number, stored: number, computed: number): void {
    const { partition } = this.fetched;
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const detail = `record batch at offsets ${baseOffset} to ${lastOffset} (${count} records, ${bytes} bytes) failed its CRC-32C check (stored ${hex(stored)}, computed ${hex(computed)}): corrupt, none of its records read`;
    this.corrupt.push({ partition, baseOffset, lastOffset, records: count, bytes, detail });
    // The position is the batch's first offset within the window (where a reader would look for it).
    const offset = Math.max(baseOffset, this.from);
    into.push({
      position: { kind: 'kafka', topic: this.topic, partition, offset: String(offset) },
      value: this.fetched.records === null ? null : this.fetched.records.subarray(at, at + Math.min(bytes, 256)),
      sourceError: `corrupt record batch: ${detail}`,
    });
  }
}

/** The offset past the last complete batch of `buf` (stopping at `end`), from the batch headers alone. */
function scanNextOffset(buf: Buffer, partition: number, from: number, end: number | undefined): number {
  let nextOffset = from;
  let at = 0;
  while (at + 12 <= buf.length) {
    const batchEnd = at + 12 + buf.readInt32BE(at + 8);
    if (batchEnd > buf.length) break;
    const baseOffset = Number(buf.readBigInt64BE(at));
    // Checked here too, so an unreadable response fails before the next fetch is sent.
    const magic = buf.readInt8(at + 16);
    if (magic !== 2) throw unsupportedFormat(partition, baseOffset, magic);
    nextOffset = Math.max(nextOffset, baseOffset + buf.readInt32BE(at + 23) + 1);
    at = batchEnd;
    if (end !== undefined && nextOffset >= end) break;
  }
  return nextOffset;
}

function unsupportedFormat(partition: number, baseOffset: number, magic: number): Error {
  return new Error(`partition ${partition} offset ${baseOffset}: record batch format ${magic} is not supported (Kafka 0.11+ writes format 2)`);
}

function decodeBatchRecords(body: Buffer, count: number, baseOffset: number, topic: string, partition: number, from: number, end: number | undefined, into: SourceRecord[]): void {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = readVarint(body, at);
    const recordEnd = varintEnd + length;
    let p = varintEnd + 1; // attributes
    p = skipVarint(body, p); // timestamp delta
    const offsetDelta = readVarint(body, p);
    const keyLength = readVarint(body, varintEnd);
    p = varintEnd + Math.max(0, keyLength);
    const valueLength = readVarint(body, p);
    const valueStart = varintEnd;
    const offset = baseOffset + offsetDelta;
    if (offset >= from && (end === undefined || offset < end)) {
      into.push({
        position: { kind: 'kafka', topic, partition, offset: String(offset) },
        // A plain view costs a fraction of a Buffer's subarray, and the replay needs only bytes.
        value: valueLength < 0 ? null : new Uint8Array(body.buffer, body.byteOffset + valueStart, valueLength),
      });
    }
    at = recordEnd;
  }
}

/** Where the varint {@link readVarint} read last ends: a second result without a tuple allocated per call. */
let varintEnd = 0;

/**
 * Zig-zag varint at `at`; sets {@link varintEnd}. Nearly every varint of a record (lengths,
 * deltas) is one or two bytes, so those take a path of plain integer operations; longer ones
 * go through {@link readLongVarint}, which stays exact past 2^31.
 */
function readVarint(buf: Buffer, at: number): number {
  const first = buf[at] as number;
  if (first < 0x80) {
    varintEnd = at + 1;
    return (first >>> 1) ^ -(first & 1);
  }
  const second = buf[at + 1] as number;
  if (second < 0x80) {
    varintEnd = at + 2;
    const raw = (first & 0x7f) | (second << 7);
    return (raw >>> 1) ^ -(raw & 1);
  }
  // Past the end of the buffer `first` or `second` is undefined: the comparisons above are
  // false and the general loop below decides, as it always did.
  return readLongVarint(buf, at);
}

/** Any zig-zag varint (up to 32 bits of payload); sets {@link varintEnd}. */
function readLongVarint(buf: Buffer, at: number): number {
  let raw = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = buf[at++] as number;
    raw += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  varintEnd = at;
  // Zig-zag: 0,1,2,3 -> 0,-1,1,-2 (arithmetic, so values above 2^31 stay exact).
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

/**
 * The zig-zag varint at `at` and where it ends, for tests that hold the fast path to the general one.
 * @internal exported for its unit tests only.
 */
export function decodeVarint(buf: Buffer, at: number): { readonly value: number; readonly end: number } {
  const value = readVarint(buf, at);
  return { value, end: varintEnd };
}

/**
 * The same through the general loop only.
 * @internal exported for its unit tests only.
 */
export function decodeVarintGeneral(buf: Buffer, at: number): { readonly value: number; readonly end: number } {
  const value = readLongVarint(buf, at);
  return { value, end: varintEnd };
}

function skipVarint(buf: Buffer, at: number): number {
  while ((buf[at++] as number) & 0x80);
  return at;
}
