import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../functions/commons/body';
import { decodeProtobufRecords } from '../../functions/commons/formats/protobuf';
import { BadRequestError, PayloadTooLargeError } from '../../shared/domain/errors';
import { applyPatch, newStream, parseStreamInput, parseStreamPatch, type Stream } from '../../shared/domain/stream-definition';
import { fieldNumbersOf, streamProto } from '../../shared/domain/stream-proto';

const NOW = new Date('2026-12-03T20:00:00Z');
const freezers = newStream(
  parseStreamInput({
    id: 'walk-in-freezers',
    name: 'Freezers',
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true },
      temperature: { type: 'number' },
      door: { type: 'boolean' },
      count: { type: 'integer' },
      timestamp: { type: 'datetime' },
      meta: { type: 'object' },
    },
    dimensions: ['deviceId'],
  }),
  NOW,
  () => 'x',
);

/** Encodes records the way a device does: protobufjs on the `.proto` the stream serves. */
function encodeWith(protoText: string, pkg: string, records: Record<string, unknown>[]): Uint8Array {
  const type = protobuf.parse(protoText, { keepCase: true }).root.lookupType(`${pkg}.Records`);
  return type.encode(type.fromObject({ records })).finish();
}
const PKG = 'tributary.streams.walk_in_freezers';

function refusal(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BadRequestError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('field numbers', () => {
  it('numbers a new stream’s fields 1… in the definition’s order and keeps them as fields are added', () => {
    expect(freezers.fieldNumbers).toEqual({ deviceId: 1, temperature: 2, door: 3, count: 4, timestamp: 5, meta: 6 });
    const grown = applyPatch(freezers, parseStreamPatch({ schema: { humidity: { type: 'number' }, alarm: { type: 'boolean' } } }), NOW);
    expect(grown.fieldNumbers).toEqual({ ...freezers.fieldNumbers, humidity: 7, alarm: 8 });
    const again = applyPatch(grown, parseStreamPatch({ name: 'Renamed' }), NOW);
    expect(again.fieldNumbers).toEqual(grown.fieldNumbers);
  });

  it('gives a stream stored without numbers its fields in name order, and stores exactly those on its next change', () => {
    const { fieldNumbers: _none, ...legacy } = freezers;
    expect(fieldNumbersOf(legacy)).toEqual({ count: 1, deviceId: 2, door: 3, meta: 4, temperature: 5, timestamp: 6 });
    const grown = applyPatch(legacy as Stream, parseStreamPatch({ schema: { aaa: { type: 'number' } } }), NOW);
    expect(grown.fieldNumbers).toEqual({ count: 1, deviceId: 2, door: 3, meta: 4, temperature: 5, timestamp: 6, aaa: 7 });
  });
});

describe('streamProto', () => {
  it('is proto3 that protobufjs reads, one optional field per schema field with its number and type', () => {
    const text = streamProto(freezers);
    expect(text).toContain('package tributary.streams.walk_in_freezers;');
    expect(text).toContain('optional string deviceId = 1; // dimension');
    expect(text).toContain('optional double temperature = 2;');
    expect(text).toContain('optional sint64 count = 4;');
    expect(text).toContain('optional int64 timestamp = 5;');
    expect(text).toContain('repeated Record records = 1;');
    const type = protobuf.parse(text).root.lookupType(`${PKG}.Record`);
    expect(type.fieldsArray.map((f) => [f.name, f.id, f.type])).toEqual([
      ['deviceId', 1, 'string'],
      ['temperature', 2, 'double'],
      ['door', 3, 'bool'],
      ['count', 4, 'sint64'],
      ['timestamp', 5, 'int64'],
      ['meta', 6, 'string'],
    ]);
  });
});

describe('decodeProtobufRecords', () => {
  const records = [
    { deviceId: 'f1', temperature: -18.5, door: false, count: -3, timestamp: 1764792000000, meta: '{"site":"lyon"}' },
    { deviceId: 'f2', temperature: 4 },
  ];

  it('decodes a Records message into the records JSON would carry (unset fields absent, objects from their JSON text)', () => {
    expect(decodeProtobufRecords(encodeWith(streamProto(freezers), PKG, records), DEFAULT_LIMITS, freezers)).toEqual([
      { deviceId: 'f1', temperature: -18.5, door: false, count: -3, timestamp: 1764792000000, meta: { site: 'lyon' } },
      { deviceId: 'f2', temperature: 4 },
    ]);
  });

  it('still decodes bytes encoded with the .proto from before fields were added', () => {
    const old = streamProto(freezers);
    const grown = applyPatch(freezers, parseStreamPatch({ schema: { humidity: { type: 'number' } } }), NOW);
    expect(decodeProtobufRecords(encodeWith(old, PKG, [records[1]!]), DEFAULT_LIMITS, grown)).toEqual([{ deviceId: 'f2', temperature: 4 }]);
  });

  it('refuses a field number the stream does not have, a wrong wire type, truncated bytes and non-UTF-8 text, naming the record', () => {
    const grown = applyPatch(freezers, parseStreamPatch({ schema: { humidity: { type: 'number' } } }), NOW);
    const newer = encodeWith(streamProto(grown), PKG, [{ deviceId: 'f1', humidity: 40 }]);
    expect(refusal(() => decodeProtobufRecords(newer, DEFAULT_LIMITS, freezers)).message).toMatch(/record 0: field number 7 .* is not in the stream's schema/);

    // record 0: field 2 (temperature, a double) sent as a varint
    const wrongWire = Uint8Array.from([0x0a, 0x02, 0x10, 0x01]);
    expect(refusal(() => decodeProtobufRecords(wrongWire, DEFAULT_LIMITS, freezers)).message).toMatch(/'temperature' \(2\) is double, sent with wire type 0/);

    const good = encodeWith(streamProto(freezers), PKG, records);
    expect(refusal(() => decodeProtobufRecords(good.subarray(0, good.length - 2), DEFAULT_LIMITS, freezers)).message).toMatch(/claims|end inside/);

    const latin1 = Uint8Array.from([0x0a, 0x04, 0x0a, 0x02, 0x66, 0xe9]);
    expect(refusal(() => decodeProtobufRecords(latin1, DEFAULT_LIMITS, freezers)).message).toMatch(/'deviceId' is not valid UTF-8/);

    expect(refusal(() => decodeProtobufRecords(new Uint8Array(0), DEFAULT_LIMITS, freezers)).message).toMatch(/no records/);
    expect(refusal(() => decodeProtobufRecords(encodeWith(streamProto(freezers), PKG, [{ deviceId: 'x', meta: '{nope' }]), DEFAULT_LIMITS, freezers)).issues).toEqual([
      { index: 0, path: ['meta'], message: 'must be the JSON text of an object' },
    ]);
  });

  it('is a 413 past maxRecords', () => {
    expect(() => decodeProtobufRecords(encodeWith(streamProto(freezers), PKG, [{}, {}, {}]), { ...DEFAULT_LIMITS, maxRecords: 2 }, freezers)).toThrow(PayloadTooLargeError);
  });

  it('never throws anything but a 400 or 413 on arbitrary bytes (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          decodeProtobufRecords(bytes, DEFAULT_LIMITS, freezers);
        } catch (err) {
          expect(err instanceof BadRequestError || err instanceof PayloadTooLargeError, String(err)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
