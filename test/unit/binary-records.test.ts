import { encode as msgpack } from '@msgpack/msgpack';
import { encode as cbor } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCborRecords, decodeMsgpackRecords } from '../../functions/commons/formats/binary';
import { DEFAULT_LIMITS } from '../../functions/commons/body';
import { BadRequestError, PayloadTooLargeError } from '../../shared/domain/errors';

const RECORDS = [
  { deviceId: 'f1', temperature: -18.5, door: false, count: 3, note: 'é😀', at: '2026-12-03T20:00:00.000Z', tags: ['a'], nested: { x: null } },
  { deviceId: 'f2', temperature: 4 },
];

/** A map with one key `a`, nested `depth` deep, around the value 1. */
function deepMsgpack(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth * 3 + 1);
  for (let i = 0; i < depth; i++) bytes.set([0x81, 0xa1, 0x61], i * 3);
  bytes[depth * 3] = 0x01;
  return bytes;
}
function deepCbor(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth * 3 + 1);
  for (let i = 0; i < depth; i++) bytes.set([0xa1, 0x61, 0x61], i * 3);
  bytes[depth * 3] = 0x01;
  return bytes;
}

function refusal(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BadRequestError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe.each([
  ['MessagePack', decodeMsgpackRecords, (v: unknown) => msgpack(v, { useBigInt64: true }), deepMsgpack],
  ['CBOR', decodeCborRecords, (v: unknown) => cbor(v), deepCbor],
] as const)('%s records', (format, decode, encode, deep) => {
  it('decodes to the same records as the JSON of them, one record or an array', () => {
    expect(decode(encode(RECORDS), DEFAULT_LIMITS)).toEqual(RECORDS);
    expect(decode(encode(RECORDS[1]), DEFAULT_LIMITS)).toEqual([RECORDS[1]]);
  });

  it('refuses a map nested 10,000 deep with a 400 naming the depth limit, without blowing the stack', () => {
    expect(refusal(() => decode(deep(10_000), DEFAULT_LIMITS)).message).toMatch(new RegExp(`${format === 'CBOR' ? 'CBOR' : 'MessagePack'} is nested deeper than 32 levels`));
    expect(decode(deep(31), DEFAULT_LIMITS)).toHaveLength(1);
  });

  it('refuses truncated bytes, trailing bytes, an empty array and an empty body with a 400', () => {
    const bytes = encode(RECORDS);
    expect(refusal(() => decode(bytes.subarray(0, bytes.length - 3), DEFAULT_LIMITS)).message).toMatch(/ends at byte|not valid/);
    expect(refusal(() => decode(Uint8Array.from([...bytes, 0x01]), DEFAULT_LIMITS)).message).toMatch(/bytes after its/);
    expect(refusal(() => decode(encode([]), DEFAULT_LIMITS)).message).toMatch(/empty/);
    expect(refusal(() => decode(new Uint8Array(0), DEFAULT_LIMITS)).message).toMatch(/empty/);
    // a map whose second key is a bin 8 header with its length byte missing (fast-check found it)
    if (format !== 'CBOR') expect(refusal(() => decode(Uint8Array.from([0x82, 0xa1, 0x00, 0x00, 0xc4]), DEFAULT_LIMITS)).message).toMatch(/ends at byte 5/);
  });

  it('refuses byte strings and integers beyond 2^53 at their path', () => {
    expect(refusal(() => decode(encode({ raw: Uint8Array.from([1, 2]) }), DEFAULT_LIMITS)).issues).toEqual([{ path: ['raw'], message: expect.stringContaining('byte strings') }]);
    // cborg refuses such an integer itself, without a path
    const big = refusal(() => decode(encode({ big: 2n ** 60n }), DEFAULT_LIMITS));
    if (format === 'CBOR') expect(big.message).toMatch(/safe integer range/);
    else expect(big.issues).toEqual([{ path: ['big'], message: expect.stringContaining('kept exactly') }]);
  });

  it('is a 413 past maxRecords and past maxBytes', () => {
    expect(() => decode(encode([{}, {}, {}]), { ...DEFAULT_LIMITS, maxRecords: 2 })).toThrow(PayloadTooLargeError);
    expect(() => decode(encode([{ a: 'x'.repeat(100) }]), { ...DEFAULT_LIMITS, maxBytes: 50 })).toThrow(PayloadTooLargeError);
  });

  it('never throws anything but a 400 or 413 on arbitrary bytes (fast-check)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.anything().map((v) => { try { return encode(v); } catch { return new Uint8Array([0xc1]); } })), (bytes) => {
        try {
          decode(bytes, DEFAULT_LIMITS);
        } catch (err) {
          expect(err instanceof BadRequestError || err instanceof PayloadTooLargeError, String(err)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('CBOR strictness', () => {
  it('refuses indefinite lengths, undefined, NaN and duplicate keys', () => {
    expect(refusal(() => decodeCborRecords(Uint8Array.from([0x9f, 0x01, 0xff]), DEFAULT_LIMITS)).message).toMatch(/CBOR/);
    expect(refusal(() => decodeCborRecords(Uint8Array.from([0xa1, 0x61, 0x61, 0xf7]), DEFAULT_LIMITS)).message).toMatch(/CBOR/);
    expect(refusal(() => decodeCborRecords(Uint8Array.from([0xa1, 0x61, 0x61, 0xf9, 0x7e, 0x00]), DEFAULT_LIMITS)).message).toMatch(/CBOR/);
    expect(refusal(() => decodeCborRecords(Uint8Array.from([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]), DEFAULT_LIMITS)).message).toMatch(/CBOR/);
  });
});
