import { describe, expect, it } from 'vitest';
import { MAX_FUTURE_MS, MAX_RECORD_BYTES, MAX_VALUE_DEPTH, compileStream, type ValidateContext } from '../../shared/domain/validate-record';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const RECEIVED = Date.parse('2026-03-01T11:59:58Z');
const ctx: ValidateContext = { now: NOW, receivedAt: RECEIVED };

function makeStream(definition: Record<string, unknown>): Stream {
  return newStream(parseStreamInput({ name: 'Freezers', type: 'iot_sensor', ...definition }), new Date(NOW - 86_400_000), () => 'k3x9qa');
}

/** Every field type, two dimensions (one an integer), ranges and enums. */
const freezers = makeStream({
  schema: {
    deviceId: { type: 'string', required: true },
    zone: { type: 'integer' },
    timestamp: { type: 'datetime' },
    temperature: { type: 'number', unit: '°C', range: { min: -50, max: 50 } },
    count: { type: 'integer' },
    status: { type: 'string', enum: ['ok', 'fault'] },
    level: { type: 'integer', enum: [1, 2, 3] },
    open: { type: 'boolean' },
    seenAt: { type: 'datetime' },
    meta: { type: 'object' },
    labels: { type: 'array' },
    note: { type: 'string' },
  },
  dimensions: ['deviceId', 'zone'],
});
const compiled = compileStream(freezers);
const validate = (records: unknown[], c: ValidateContext = ctx) => compiled.validate(records, c);

/** Validates one record and returns its only issue (fails the test if there is not exactly one). */
function onlyIssue(record: unknown, c: ValidateContext = ctx) {
  const result = validate([record], c);
  expect(result.points).toEqual([]);
  expect(result.invalid).toBe(1);
  expect(result.issues).toHaveLength(1);
  return result.issues[0]!;
}

function nested(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('validate: accepted records become datapoints', () => {
  it('accepts every field type and normalizes datetimes to epoch ms, objects and arrays to JSON text, an integer dimension to a string', () => {
    const result = validate([
      {
        deviceId: 'f1',
        zone: 3,
        timestamp: '2026-03-01T11:59:00Z',
        temperature: -18.5,
        count: 7,
        status: 'ok',
        level: 2,
        open: true,
        seenAt: '2026-03-01T11:00:00+01:00',
        meta: { a: 1, b: [true, null] },
        labels: ['x', 2],
        note: '',
      },
    ]);
    expect(result.issues).toEqual([]);
    expect(result.indexes).toEqual([0]);
    expect(result.points).toEqual([
      {
        time: Date.parse('2026-03-01T11:59:00Z'),
        dimensions: { deviceId: 'f1', zone: '3' },
        values: {
          temperature: -18.5,
          count: 7,
          status: 'ok',
          level: 2,
          open: true,
          seenAt: Date.parse('2026-03-01T10:00:00Z'),
          meta: '{"a":1,"b":[true,null]}',
          labels: '["x",2]',
          note: '',
        },
      },
    ]);
  });

  it('turns a boolean dimension into the text true or false', () => {
    const stream = compileStream(makeStream({ schema: { door: { type: 'boolean' }, v: { type: 'number' } }, dimensions: ['door'] }));
    const { points } = stream.validate([{ door: false, v: 1 }], ctx);
    expect(points[0]?.dimensions).toEqual({ door: 'false' });
  });

  it('accepts a datetime measure given as epoch milliseconds', () => {
    const { points } = validate([{ deviceId: 'f1', seenAt: 1_767_225_600_000 }]);
    expect(points[0]?.values.seenAt).toBe(1_767_225_600_000);
  });

  it('accepts the bounds of range.min and range.max themselves', () => {
    const { points, issues } = validate([
      { deviceId: 'f1', temperature: -50 },
      { deviceId: 'f1', temperature: 50 },
    ]);
    expect(issues).toEqual([]);
    expect(points.map((p) => p.values.temperature)).toEqual([-50, 50]);
  });

  it('treats a null optional field as absent and leaves it out of the datapoint', () => {
    const { points } = validate([{ deviceId: 'f1', temperature: null, zone: null }]);
    expect(points).toEqual([{ time: RECEIVED, dimensions: { deviceId: 'f1' }, values: {} }]);
  });
});

describe('validate: wrong types are rejected with the expected type and the value received', () => {
  it.each([
    ['temperature', '21.5', 'must be a number, got string "21.5"'],
    ['temperature', true, 'must be a number, got boolean true'],
    ['count', '7', 'must be an integer, got string "7"'],
    ['count', 7.5, 'must be an integer, got 7.5'],
    ['zone', '3', 'must be an integer, got string "3"'],
    ['note', 5, 'must be a string, got number 5'],
    ['note', { a: 1 }, 'must be a string, got an object'],
    ['open', 'true', 'must be true or false, got string "true"'],
    ['open', 1, 'must be true or false, got number 1'],
    ['meta', [1, 2], 'must be an object, got an array'],
    ['meta', 'x', 'must be an object, got string "x"'],
    ['labels', { a: 1 }, 'must be an array, got an object'],
    ['labels', 3, 'must be an array, got number 3'],
  ])('rejects %s = %j and says "%s"', (field, value, message) => {
    expect(onlyIssue({ deviceId: 'f1', [field]: value })).toEqual({ index: 0, path: [field], message });
  });

  it('rejects a datetime that is not a date-time and explains the accepted forms', () => {
    const issue = onlyIssue({ deviceId: 'f1', seenAt: 'yesterday' });
    expect(issue.path).toEqual(['seenAt']);
    expect(issue.message).toContain('RFC 3339');
    expect(issue.message).toContain('epoch milliseconds');
    expect(issue.message).toContain('got string "yesterday"');
  });

  it('shortens a long received string in the message instead of echoing it whole', () => {
    const issue = onlyIssue({ deviceId: 'f1', temperature: 'x'.repeat(500) });
    expect(issue.message).toContain(`"${'x'.repeat(40)}…"`);
    expect(issue.message.length).toBeLessThan(100);
  });
});

describe('validate: numbers', () => {
  it('rejects Infinity from an overflowing JSON literal (1e400) as not finite', () => {
    const record = JSON.parse('{"deviceId":"f1","temperature":1e400}') as unknown;
    expect(onlyIssue(record)).toEqual({ index: 0, path: ['temperature'], message: 'must be a finite number, got Infinity' });
  });

  it.each([
    ['temperature', Number.NaN, 'must be a finite number, got NaN'],
    ['temperature', Number.NEGATIVE_INFINITY, 'must be a finite number, got -Infinity'],
    ['count', Number.POSITIVE_INFINITY, 'must be a finite number, got Infinity'],
  ])('rejects %s = %s as not finite', (field, value, message) => {
    expect(onlyIssue({ deviceId: 'f1', [field]: value })).toEqual({ index: 0, path: [field], message });
  });

  it('rejects an integer beyond 2^53 that JSON would round, saying it cannot be kept exactly', () => {
    const record = JSON.parse('{"deviceId":"f1","count":9007199254740993}') as unknown;
    expect(onlyIssue(record)).toEqual({ index: 0, path: ['count'], message: 'integer 9007199254740992 is too large to keep exactly' });
    expect(onlyIssue({ deviceId: 'f1', count: -(2 ** 60) }).path).toEqual(['count']);
  });

  it('accepts the largest safe integer', () => {
    expect(validate([{ deviceId: 'f1', count: Number.MAX_SAFE_INTEGER }]).points[0]?.values.count).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('rejects a value above range.max and reports its field path and the range', () => {
    expect(onlyIssue({ deviceId: 'f1', temperature: 50.01 })).toEqual({
      index: 0,
      path: ['temperature'],
      message: '50.01 is outside the range [-50, 50]',
    });
  });

  it('rejects a value below range.min', () => {
    expect(onlyIssue({ deviceId: 'f1', temperature: -50.5 })).toEqual({
      index: 0,
      path: ['temperature'],
      message: '-50.5 is outside the range [-50, 50]',
    });
  });

  it('applies a range with only a min', () => {
    const stream = compileStream(makeStream({ schema: { n: { type: 'integer', range: { min: 0 } } } }));
    expect(stream.validate([{ n: -1 }], ctx).issues.map((i) => i.path)).toEqual([['n']]);
    expect(stream.validate([{ n: 1e9 }], ctx).points).toHaveLength(1);
  });
});

describe('validate: enums', () => {
  it('rejects a string outside the enum and lists the allowed values', () => {
    expect(onlyIssue({ deviceId: 'f1', status: 'broken' })).toEqual({
      index: 0,
      path: ['status'],
      message: 'must be one of "ok", "fault", got "broken"',
    });
  });

  it('rejects a number outside the enum and lists the allowed values', () => {
    expect(onlyIssue({ deviceId: 'f1', level: 4 })).toEqual({ index: 0, path: ['level'], message: 'must be one of 1, 2, 3, got 4' });
  });

  it('does not accept the text of an allowed number', () => {
    expect(onlyIssue({ deviceId: 'f1', level: '2' }).message).toBe('must be an integer, got string "2"');
  });

  it('accepts every enum value', () => {
    const { points } = validate([
      { deviceId: 'f1', status: 'ok', level: 1 },
      { deviceId: 'f1', status: 'fault', level: 3 },
    ]);
    expect(points.map((p) => [p.values.status, p.values.level])).toEqual([
      ['ok', 1],
      ['fault', 3],
    ]);
  });
});

describe('validate: required and unknown fields', () => {
  it('rejects a record without a required field, naming the field and its type', () => {
    expect(onlyIssue({ temperature: 1 })).toEqual({ index: 0, path: ['deviceId'], message: "required field 'deviceId' (string) is missing" });
  });

  it('counts a null required field as missing', () => {
    expect(onlyIssue({ deviceId: null, temperature: 1 })).toEqual({
      index: 0,
      path: ['deviceId'],
      message: "required field 'deviceId' (string) is missing",
    });
  });

  it('reports a missing required field whose name is also a property every object inherits', () => {
    const stream = compileStream(makeStream({ schema: { constructor: { type: 'number', required: true }, v: { type: 'number' } } }));
    const { points, issues } = stream.validate([{ v: 1 }], ctx);
    expect(points).toEqual([]);
    expect(issues).toEqual([{ index: 0, path: ['constructor'], message: "required field 'constructor' (number) is missing" }]);
  });

  it('rejects a field the schema does not declare when the stream is strict', () => {
    expect(onlyIssue({ deviceId: 'f1', humidity: 40 })).toEqual({
      index: 0,
      path: ['humidity'],
      message: "unknown field 'humidity'; the stream's schema does not declare it",
    });
  });

  it('ignores a field the schema does not declare when the stream is lenient', () => {
    const lenient = compileStream({ ...freezers, validation: 'lenient' });
    const { points, issues } = lenient.validate([{ deviceId: 'f1', humidity: 40, temperature: 2 }], ctx);
    expect(issues).toEqual([]);
    expect(points).toEqual([{ time: RECEIVED, dimensions: { deviceId: 'f1' }, values: { temperature: 2 } }]);
  });

  it('still rejects a badly typed declared field when the stream is lenient', () => {
    const lenient = compileStream({ ...freezers, validation: 'lenient' });
    expect(lenient.validate([{ deviceId: 'f1', temperature: 'warm' }], ctx).issues.map((i) => i.path)).toEqual([['temperature']]);
  });
});

describe('validate: records that are not objects', () => {
  it.each([
    [[1, 2], 'a record must be a JSON object, got an array'],
    ['f1', 'a record must be a JSON object, got string "f1"'],
    [null, 'a record must be a JSON object, got null'],
    [42, 'a record must be a JSON object, got number 42'],
  ])('rejects %j at its index with the root path', (record, message) => {
    const result = validate([{ deviceId: 'ok' }, record]);
    expect(result.indexes).toEqual([0]);
    expect(result.issues).toEqual([{ index: 1, path: [], message }]);
    expect(result.invalid).toBe(1);
  });
});

describe('validate: the time field', () => {
  it('reads an RFC 3339 time with an offset as the instant it names', () => {
    const { points } = validate([{ deviceId: 'f1', timestamp: '2026-03-01T13:30:00.250+02:00' }]);
    expect(points[0]?.time).toBe(Date.parse('2026-03-01T11:30:00.250Z'));
  });

  it('reads epoch milliseconds as they are', () => {
    const { points } = validate([{ deviceId: 'f1', timestamp: 1_772_366_000_000 }]);
    expect(points[0]?.time).toBe(1_772_366_000_000);
  });

  it.each([
    ['an unparsable text', 'last tuesday'],
    ['a time without a zone', '2026-03-01T11:00:00'],
    ['a date without a time', '2026-03-01'],
    ['fractional epoch milliseconds', 1_772_366_000_000.5],
    ['negative epoch milliseconds', -1],
    ['a boolean', true],
  ])('rejects %s with the time field path', (_what, value) => {
    const issue = onlyIssue({ deviceId: 'f1', timestamp: value });
    expect(issue.path).toEqual(['timestamp']);
    expect(issue.message).toMatch(/^must be an RFC 3339 date-time with a time zone .* or epoch milliseconds, got /);
  });

  it('rejects epoch milliseconds past the last instant a Date can hold with an issue instead of throwing', () => {
    expect(() => validate([{ deviceId: 'f1', timestamp: Number.MAX_SAFE_INTEGER }])).not.toThrow();
    expect(onlyIssue({ deviceId: 'f1', timestamp: Number.MAX_SAFE_INTEGER }).path).toEqual(['timestamp']);
  });

  it('rejects a time more than 15 minutes in the future, naming the time', () => {
    const t = NOW + MAX_FUTURE_MS + 1;
    expect(onlyIssue({ deviceId: 'f1', timestamp: t })).toEqual({
      index: 0,
      path: ['timestamp'],
      message: `time ${new Date(t).toISOString()} lies more than 15 minutes in the future`,
    });
  });

  it('accepts a time exactly 15 minutes in the future (clock skew)', () => {
    expect(validate([{ deviceId: 'f1', timestamp: NOW + MAX_FUTURE_MS }]).points[0]?.time).toBe(NOW + MAX_FUTURE_MS);
  });

  it('gives a record without a time its receive time', () => {
    expect(validate([{ deviceId: 'f1' }]).points[0]?.time).toBe(RECEIVED);
    expect(validate([{ deviceId: 'f1', timestamp: null }]).points[0]?.time).toBe(RECEIVED);
  });

  it('falls back to now when the context has no receive time', () => {
    expect(validate([{ deviceId: 'f1' }], { now: NOW }).points[0]?.time).toBe(NOW);
  });

  it('reads a time field the schema does not declare, without calling it unknown or storing it as a measure', () => {
    const stream = compileStream(makeStream({ schema: { v: { type: 'number' } } }));
    const { points, issues } = stream.validate([{ v: 1, timestamp: '2026-03-01T11:00:00Z' }], ctx);
    expect(issues).toEqual([]);
    expect(points).toEqual([{ time: Date.parse('2026-03-01T11:00:00Z'), dimensions: {}, values: { v: 1 } }]);
  });

  it('rejects a bad value in a time field the schema does not declare', () => {
    const stream = compileStream(makeStream({ schema: { v: { type: 'number' } } }));
    const { issues } = stream.validate([{ v: 1, timestamp: 'noon' }], ctx);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ index: 0, path: ['timestamp'] });
    expect(issues[0]?.message).toContain('got string "noon"');
  });

  it('treats a null undeclared time field as absent, like a declared one', () => {
    const stream = compileStream(makeStream({ schema: { v: { type: 'number' } } }));
    const { points, issues } = stream.validate([{ v: 1, timestamp: null }], ctx);
    expect(issues).toEqual([]);
    expect(points[0]?.time).toBe(RECEIVED);
  });

  it('uses a custom timeField and treats "timestamp" as an ordinary unknown field', () => {
    const stream = compileStream(makeStream({ schema: { ts: { type: 'datetime' }, v: { type: 'number' } }, timeField: 'ts' }));
    expect(stream.validate([{ v: 1, ts: '2026-03-01T10:00:00Z' }], ctx).points[0]?.time).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(stream.validate([{ v: 1, timestamp: '2026-03-01T10:00:00Z' }], ctx).issues.map((i) => i.path)).toEqual([['timestamp']]);
  });
});

describe('validate: the deviceId dimension', () => {
  it('fills a missing deviceId from the context (the MQTT username)', () => {
    const { points } = validate([{ temperature: 3 }], { ...ctx, deviceId: 'dev-7' });
    expect(points).toEqual([{ time: RECEIVED, dimensions: { deviceId: 'dev-7' }, values: { temperature: 3 } }]);
  });

  it('lets the context satisfy a required deviceId', () => {
    const { issues, points } = validate([{ deviceId: null, temperature: 3 }], { ...ctx, deviceId: 'dev-7' });
    expect(issues).toEqual([]);
    expect(points[0]?.dimensions.deviceId).toBe('dev-7');
  });

  it("keeps the record's own deviceId over the context's", () => {
    expect(validate([{ deviceId: 'f1' }], { ...ctx, deviceId: 'dev-7' }).points[0]?.dimensions.deviceId).toBe('f1');
  });

  it('adds no deviceId to a stream that does not have it as a dimension', () => {
    const stream = compileStream(makeStream({ schema: { v: { type: 'number' } } }));
    expect(stream.validate([{ v: 1 }], { ...ctx, deviceId: 'dev-7' }).points[0]?.dimensions).toEqual({});
  });
});

describe('validate: size and depth', () => {
  it('rejects a record over 2 KB once stored and says how large it is', () => {
    const { issues, points } = validate([{ deviceId: 'f1', note: 'x'.repeat(MAX_RECORD_BYTES) }]);
    expect(points).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ index: 0, path: [] });
    expect(issues[0]?.message).toMatch(new RegExp(`^the record is \\d+ bytes once stored; the limit is ${MAX_RECORD_BYTES}$`));
  });

  it('counts bytes, not characters: 700 euro signs are 2100 bytes', () => {
    expect(validate([{ deviceId: 'f1', note: 'e'.repeat(700) }]).points).toHaveLength(1);
    expect(validate([{ deviceId: 'f1', note: '€'.repeat(700) }]).issues[0]?.message).toMatch(/bytes once stored/);
  });

  it('accepts a record comfortably under the limit', () => {
    expect(validate([{ deviceId: 'f1', note: 'x'.repeat(1500) }]).points).toHaveLength(1);
  });

  it(`accepts an object nested ${MAX_VALUE_DEPTH} levels deep with a value at the bottom`, () => {
    const meta = nested(MAX_VALUE_DEPTH, 1);
    const { points, issues } = validate([{ deviceId: 'f1', meta }]);
    expect(issues).toEqual([]);
    expect(points[0]?.values.meta).toBe(JSON.stringify(meta));
  });

  it('rejects an object nested one level deeper, with the path to the level past the cap', () => {
    expect(onlyIssue({ deviceId: 'f1', meta: nested(MAX_VALUE_DEPTH + 1, 1) })).toEqual({
      index: 0,
      path: ['meta', ...Array.from({ length: MAX_VALUE_DEPTH }, () => 'a')],
      message: `nested deeper than ${MAX_VALUE_DEPTH} levels`,
    });
  });

  it('counts only objects and arrays as levels: a value at the bottom adds none', () => {
    const emptyAtBottom = validate([{ deviceId: 'f1', meta: nested(MAX_VALUE_DEPTH - 1, {}) }]);
    const valueAtBottom = validate([{ deviceId: 'f1', meta: nested(MAX_VALUE_DEPTH - 1, { x: 1 }) }]);
    const oneTooDeep = validate([{ deviceId: 'f1', meta: nested(MAX_VALUE_DEPTH, {}) }]);
    expect(emptyAtBottom.issues).toEqual([]);
    expect(valueAtBottom.issues).toEqual([]);
    expect(oneTooDeep.issues.map((i) => i.message)).toEqual([`nested deeper than ${MAX_VALUE_DEPTH} levels`]);
  });

  it('rejects a non-finite number inside an array field with the index path into it', () => {
    const record = JSON.parse('{"deviceId":"f1","labels":[1,{"x":[2,1e400]}]}') as unknown;
    expect(onlyIssue(record)).toEqual({ index: 0, path: ['labels', 1, 'x', 1], message: 'must be a finite number, got Infinity' });
  });
});

describe('validate: batches', () => {
  it('returns the good records with their batch positions and every problem with its index and path', () => {
    const result = validate([
      { deviceId: 'a', temperature: 1 },
      { deviceId: 'b', temperature: 'hot' },
      { deviceId: 'c', temperature: 3 },
      'not a record',
      { temperature: 99, status: 'meh' },
      { deviceId: 'f', temperature: 6 },
    ]);
    expect(result.points.map((p) => p.dimensions.deviceId)).toEqual(['a', 'c', 'f']);
    expect(result.indexes).toEqual([0, 2, 5]);
    expect(result.invalid).toBe(3);
    expect(result.issues.map(({ index, path }) => ({ index, path }))).toEqual([
      { index: 1, path: ['temperature'] },
      { index: 3, path: [] },
      { index: 4, path: ['temperature'] },
      { index: 4, path: ['status'] },
      { index: 4, path: ['deviceId'] },
    ]);
  });

  it('returns nothing and no issues for an empty batch', () => {
    expect(validate([])).toEqual({ points: [], indexes: [], issues: [], invalid: 0 });
  });
});
