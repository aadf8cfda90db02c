/**
 * The Kafka decoder's varint reader takes a short path for one- and two-byte varints; it must
 * agree with the general loop (and with a plain BigInt reference) on every input: any value of
 * 32 bits, non-minimal encodings, and arbitrary bytes, including a varint cut off by the end.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeVarint, decodeVarintGeneral } from '../../src/shadow/sources/kafka-fetch.js';

/** Zig-zag then base-128, least significant group first, as Kafka writes record fields. */
function encodeZigZag(value: number): number[] {
  let raw = value >= 0 ? BigInt(value) * 2n : -BigInt(value) * 2n - 1n;
  const bytes: number[] = [];
  do {
    const group = Number(raw & 0x7fn);
    raw >>= 7n;
    bytes.push(raw > 0n ? group | 0x80 : group);
  } while (raw > 0n);
  return bytes;
}

describe('Kafka varint decoding', () => {
  it('reads known encodings, including both ends of the two-byte range and beyond it', () => {
    const cases: [number[], number][] = [
      [[0x00], 0],
      [[0x01], -1],
      [[0x02], 1],
      [[0x7f], -64],
      [[0x7e], 63],
      [[0x80, 0x01], 64],
      [[0xff, 0x7f], -8192],
      [[0xfe, 0x7f], 8191],
      [[0x80, 0x80, 0x01], 8192],
      [[0xfe, 0xff, 0xff, 0xff, 0x0f], 2 ** 31 - 1],
      [[0xff, 0xff, 0xff, 0xff, 0x0f], -(2 ** 31)],
      [[0x80, 0x00], 0], // non-minimal two-byte zero
    ];
    for (const [bytes, expected] of cases) {
      expect(decodeVarint(Buffer.from(bytes), 0)).toEqual({ value: expected, end: bytes.length });
    }
  });

  it('decodes every 32-bit value the way it was encoded, at any position in a buffer', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.uint8Array({ maxLength: 4 }), fc.uint8Array({ maxLength: 4 }), (value, before, after) => {
        const encoded = encodeZigZag(value);
        const buf = Buffer.from([...before, ...encoded, ...after]);
        expect(decodeVarint(buf, before.length)).toEqual({ value, end: before.length + encoded.length });
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the general loop on arbitrary bytes, even when the varint runs past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 6 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const fast = decodeVarint(buf, 0);
        const general = decodeVarintGeneral(buf, 0);
        expect(fast.end).toBe(general.end);
        // toBe compares with Object.is: a zero must not come out as a negative zero on one path only.
        expect(fast.value).toBe(general.value);
      }),
      { numRuns: 3000 },
    );
  });
});
