/**
 * Kafka's record-batch compression codecs, in one place for both read paths: the lean fetch
 * decoder (kafka-fetch.ts) and kafkajs (consumer groups, the log producer), whose codec
 * registry knows only gzip out of the box.
 *
 * - gzip: Node's zlib.
 * - snappy: the `snappy` package. The Java producer writes snappy in xerial's framing
 *   (a magic header, then length-prefixed snappy blocks); librdkafka and kafkajs codecs may
 *   write one raw snappy block. Both are read.
 * - lz4: `lz4-napi`. Kafka (record-batch format 2) writes the standard LZ4 frame format.
 * - zstd: `@mongodb-js/zstd`, which reads frames with and without a content size (the Java
 *   producer streams, so its frames carry none).
 *
 * Every codec decompresses off the main thread (zlib's and the native packages' async calls run
 * on libuv's thread pool), so the fetch decoder can inflate a response's batches in parallel
 * while the replay judges the records before them.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import kafkajs from 'kafkajs';
import { compressFrame as lz4CompressFrame, decompressFrame as lz4DecompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** Codec ids as the low three bits of a record batch's attributes carry them. */
export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCodec = (typeof CODEC_NAMES)[number];

/**
 * A batch compressed with a codec Kafka does not define (ids 5–7).
 * @internal exported for its unit tests only.
 */
export class UnsupportedCodecError extends Error {
  override readonly name = 'UnsupportedCodecError';
}

/** The name of codec `id` for messages ("codec 6" for an id Kafka does not define). */
export function codecName(id: number): string {
  return (CODEC_NAMES as readonly string[])[id] ?? `codec ${id}`;
}

/** Inflates the records section of a batch compressed with codec `id` (1–4). */
export async function decompress(id: number, data: Buffer): Promise<Buffer> {
  switch (id) {
    case 1:
      return gunzipAsync(data);
    case 2:
      return unsnappy(data);
    case 3:
      return lz4DecompressFrame(data);
    case 4:
      return zstdDecompress(data);
    default:
      throw new UnsupportedCodecError(`${codecName(id)} compression is not supported (none, gzip, snappy, lz4 and zstd are)`);
  }
}

/** xerial's stream header: magic, then version and minimum compatible version (int32 each). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = XERIAL_MAGIC.length + 8;

/**
 * Snappy as Kafka producers write it: xerial-framed blocks (Java) or one raw block.
 * @internal exported for its unit tests only.
 */
export async function unsnappy(data: Buffer): Promise<Buffer> {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return (await snappyUncompress(data)) as Buffer;
  }
  const blocks: Promise<string | Buffer>[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < data.length) {
    if (at + 4 > data.length) throw new Error('snappy (xerial framing): block length cut off');
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > data.length) throw new Error(`snappy (xerial framing): block of ${length} bytes runs past the end`);
    blocks.push(snappyUncompress(data.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat((await Promise.all(blocks)) as Buffer[]);
}

/**
 * Compresses with codec `id` as a Kafka producer would (raw snappy, LZ4 frame, zstd frame).
 * @internal exported for its unit tests only.
 */
export async function compress(id: number, data: Buffer): Promise<Buffer> {
  switch (id) {
    case 1:
      return gzipAsync(data);
    case 2:
      return snappyCompress(data);
    case 3:
      return lz4CompressFrame(data);
    case 4:
      return zstdCompress(data);
    default:
      throw new UnsupportedCodecError(`${codecName(id)} compression is not supported`);
  }
}

// kafkajs is CommonJS and Node cannot see these two among its named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

let registered = false;

/**
 * Teaches kafkajs snappy, lz4 and zstd (its registry is process-wide; gzip it has). Called
 * where prio creates a kafkajs client, so a consumer group reads, and the log producer can
 * write, every codec the fetch decoder reads.
 */
export function registerKafkajsCodecs(): void {
  if (registered) return;
  registered = true;
  const codec = (id: number) => () => ({
    compress: (encoder: { buffer: Buffer }) => compress(id, encoder.buffer),
    decompress: (buffer: Buffer) => decompress(id, buffer),
  });
  CompressionCodecs[CompressionTypes.Snappy] = codec(CompressionTypes.Snappy);
  CompressionCodecs[CompressionTypes.LZ4] = codec(CompressionTypes.LZ4);
  CompressionCodecs[CompressionTypes.ZSTD] = codec(CompressionTypes.ZSTD);
}
