/**
 * Kafka's codecs as producers write them: snappy raw and in xerial's framing (the Java
 * producer's), the LZ4 frame format, zstd frames, gzip; and a clear error for a codec id Kafka
 * does not define. The integration tests read the Java producer's own batches of each codec.
 */
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { compressSync as snappyBlock } from 'snappy';
import { compress, decompress, unsnappy, UnsupportedCodecError } from '../../src/shadow/sources/kafka-codecs.js';
import { FetchedRecordReader } from '../../src/shadow/sources/kafka-fetch.js';

const text = Buffer.from(Array.from({ length: 2000 }, (_, i) => `{"requestId":"req-${i}","classification":"ON_DEMAND"}`).join('\n'));

/** xerial's SnappyOutputStream: magic, version 1, compatible 1, then [int32 length][snappy block]... */
function xerial(data: Buffer, blockBytes: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (let at = 0; at < data.length; at += blockBytes) {
    const block = snappyBlock(data.subarray(at, at + blockBytes));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

describe('Kafka codecs', () => {
  it.each([1, 2, 3, 4])('codec %i: what is compressed inflates to the same bytes', async (id) => {
    const packed = await compress(id, text);
    expect(packed.length).toBeLessThan(text.length);
    expect((await decompress(id, packed)).equals(text)).toBe(true);
  });

  it('reads snappy in xerial framing, several blocks, and as one raw block', async () => {
    expect((await unsnappy(xerial(text, 32 * 1024))).equals(text)).toBe(true);
    expect((await unsnappy(xerial(text, 7))).equals(text)).toBe(true);
    expect((await unsnappy(snappyBlock(text))).equals(text)).toBe(true);
    expect((await unsnappy(xerial(Buffer.alloc(0), 10))).length).toBe(0);
  });

  it('refuses a xerial stream whose block runs past the end', async () => {
    const framed = xerial(text, 1024);
    await expect(unsnappy(framed.subarray(0, framed.length - 3))).rejects.toThrow(/runs past the end/);
  });

  it('names a codec Kafka does not define', async () => {
    await expect(decompress(6, text)).rejects.toThrow(UnsupportedCodecError);
    await expect(decompress(6, text)).rejects.toThrow('codec 6 compression is not supported (none, gzip, snappy, lz4 and zstd are)');
  });

  it('a batch with an unknown codec makes the reader fail with its partition and offset, not read garbage', async () => {
    // One record batch (format 2) of one record, its attributes claiming codec 5.
    const batch = Buffer.alloc(61 + 8);
    batch.writeBigInt64BE(42n, 0); // base offset
    batch.writeInt32BE(batch.length - 12, 8); // batch length
    batch.writeInt8(2, 16); // magic
    batch.writeInt16BE(5, 21); // attributes: codec 5
    batch.writeInt32BE(0, 23); // last offset delta
    batch.writeBigInt64BE(-1n, 43); // producer id
    batch.writeInt32BE(1, 57); // records
    // A true checksum: the batch is whole, only its codec is unknown.
    batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
    const reader = new FetchedRecordReader('t', { partition: 2, errorCode: 0, highWatermark: 43, abortedTransactions: [], records: batch }, 0, undefined);
    await expect(reader.next(100)).rejects.toThrow('partition 2 offset 42: cannot read a codec 5 batch: codec 5 compression is not supported');
  });
});
