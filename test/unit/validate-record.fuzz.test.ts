import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FUTURE_MS, MAX_VALUE_DEPTH, compileStream, type Datapoint, type ValidateContext } from '../../shared/domain/validate-record';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const RECEIVED = NOW - 2_000;
const YEAR_0 = Date.parse('0000-01-01T00:00:00Z');

function makeStream(validation: 'strict' | 'lenient'): Stream {
  const input = parseStreamInput({
    name: 'Freezers',
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true, maxLength: 32 },
      zone: { type: 'integer', range: { min: 0, max: 99 } },
      timestamp: { type: 'datetime' },
      temperature: { type: 'number', range: { min: -50, max: 50 } },
      count: { type: 'integer' },
      status: { type: 'string', enum: ['ok', 'fault'] },
      level: { type: 'integer', enum: [1, 2, 3] },
      open: { type: 'boolean' },
      seenAt: { type: 'datetime' },
      meta: { type: 'object' },
      labels: { type: 'array' },
    },
    dimensions: ['deviceId', 'zone'],
    validation,
  });
  return newStream(input, new Date(NOW), () => 'fuzz01');
}
const compiled = { strict: compileStream(makeStream('strict')), lenient: compileStream(makeStream('lenient')) };
const FIELDS = Object.keys(makeStream('strict').schema);

const isPlainRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (r: Record<string, unknown>, k: string): unknown => (Object.hasOwn(r, k) ? r[k] : undefined);

function depth(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depth));
}
function allFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v !== 'object' || v === null) return true;
  return (Array.isArray(v) ? v : Object.values(v)).every(allFinite);
}
function nested(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { k: value };
  return value;
}

/** `n` objects, one inside the other, with `leaf` at the bottom: `n` levels deep. */
function objectChain(n: number, leaf: unknown): Record<string, unknown> {
  let value: Record<string, unknown> = { k: leaf };
  for (let i = 1; i < n; i++) value = { k: value };
  return value;
}

const anyJson = fc.jsonValue({ maxDepth: 4 });
const anyInstant = fc.date({ min: new Date(YEAR_0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
/** Values aimed at the validator's edges, mixed with arbitrary JSON. */
const fieldValue = fc.oneof(
  anyJson,
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(2 ** 53, -(2 ** 53), 8.64e15, 8.64e15 + 1, NOW + MAX_FUTURE_MS, NOW + MAX_FUTURE_MS + 1, 0, -0),
  fc.constantFrom('ok', 'fault', 'OK', '', '1', 'true', 'x'.repeat(2100), '€'.repeat(700)),
  fc.constantFrom(1, 2, 3, 4, 1.5, true, false, null),
  anyInstant.map((d) => d.toISOString()),
  anyInstant.map((d) => d.toISOString().slice(0, 19)),
  fc.integer({ min: 0, max: MAX_VALUE_DEPTH + 3 }).chain((n) => anyJson.map((leaf) => nested(n, leaf))),
  fc.array(fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 1)).map((a) => ({ a })),
);
const instantUpToNow = fc.date({ min: new Date(0), max: new Date(NOW), noInvalidDate: true });
const time = fc.oneof(instantUpToNow.map((d) => d.getTime()), instantUpToNow.map((d) => d.toISOString()));
/** Values that are valid, or nearly so, for each field of the schema. */
const nearlyValid: Record<string, fc.Arbitrary<unknown>> = {
  deviceId: fc.string({ maxLength: 40 }),
  zone: fc.integer({ min: -5, max: 105 }),
  timestamp: time,
  temperature: fc.double({ min: -60, max: 60, noNaN: true }),
  count: fc.oneof(fc.integer(), fc.maxSafeInteger()),
  status: fc.constantFrom('ok', 'fault', 'OK'),
  level: fc.constantFrom(0, 1, 2, 3),
  open: fc.boolean(),
  seenAt: time,
  meta: fc.oneof(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    fc.integer({ min: 1, max: MAX_VALUE_DEPTH + 2 }).map((n) => objectChain(n, 1)),
  ),
  labels: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
};
const schemaRecord = fc.record(
  Object.fromEntries(FIELDS.map((f) => [f, fc.oneof({ arbitrary: nearlyValid[f]!, weight: 5 }, { arbitrary: fieldValue, weight: 1 })])),
  { requiredKeys: [] },
);
const recordLike = fc.oneof(
  { arbitrary: schemaRecord, weight: 8 },
  { arbitrary: fc.tuple(schemaRecord, fc.string(), fieldValue).map(([r, k, v]) => ({ ...r, [k]: v })), weight: 1 },
  { arbitrary: fc.dictionary(fc.string(), anyJson), weight: 1 },
  { arbitrary: anyJson, weight: 1 },
);
const context: fc.Arbitrary<ValidateContext> = fc.record(
  { now: fc.constant(NOW), receivedAt: fc.constant(RECEIVED), deviceId: fc.string({ minLength: 1, maxLength: 16 }) },
  { requiredKeys: ['now', 'receivedAt'] },
);

/** What a datapoint may hold for the fixed schema; returns the first broken rule, or undefined. */
function violation(point: Datapoint, record: unknown, c: ValidateContext, strict: boolean): string | undefined {
  if (!isPlainRecord(record)) return 'a non-object became a point';
  if (strict && Object.keys(record).some((k) => !FIELDS.includes(k))) return 'an unknown field passed in strict mode';
  if (!Number.isSafeInteger(point.time) || point.time < YEAR_0 || point.time > NOW + MAX_FUTURE_MS) return `time ${point.time}`;
  const ts = own(record, 'timestamp');
  if (ts === undefined || ts === null) {
    if (point.time !== RECEIVED) return 'a record without time did not get its receive time';
  } else if (typeof ts === 'number' && point.time !== ts) return 'epoch ms time changed';
  else if (typeof ts === 'string' && point.time !== Date.parse(ts)) return `time ${ts} read as ${point.time}`;

  const { deviceId, zone, ...extraDims } = point.dimensions;
  if (Object.keys(extraDims).length) return 'a dimension outside the schema';
  const rawDevice = own(record, 'deviceId');
  if (typeof rawDevice === 'string' && rawDevice !== '') {
    if (deviceId !== rawDevice || rawDevice.length > 32) return 'deviceId';
  } else if (rawDevice === '' && c.deviceId === undefined) {
    // documented gap: an empty dimension is dropped, so '' satisfies `required` yet the point has no deviceId
    if (deviceId !== undefined) return 'deviceId from nowhere';
  } else if (deviceId !== c.deviceId || deviceId === undefined) return 'required deviceId missing or not from the context';
  const rawZone = own(record, 'zone');
  if (rawZone === undefined || rawZone === null) {
    if (zone !== undefined) return 'zone from nowhere';
  } else if (!(Number.isSafeInteger(rawZone) && (rawZone as number) >= 0 && (rawZone as number) <= 99 && zone === String(rawZone))) {
    return `zone ${String(zone)}`;
  }

  for (const [k, v] of Object.entries(point.values)) {
    const raw = own(record, k);
    switch (k) {
      case 'temperature':
        if (v !== raw || typeof v !== 'number' || !Number.isFinite(v) || v < -50 || v > 50) return k;
        break;
      case 'count':
        if (v !== raw || !Number.isSafeInteger(v)) return k;
        break;
      case 'status':
        if (v !== raw || (v !== 'ok' && v !== 'fault')) return k;
        break;
      case 'level':
        if (v !== raw || (v !== 1 && v !== 2 && v !== 3)) return k;
        break;
      case 'open':
        if (v !== raw || typeof v !== 'boolean') return k;
        break;
      case 'seenAt':
        if (!Number.isSafeInteger(v) || (typeof raw === 'number' && v !== raw)) return k;
        if (typeof raw === 'string' && v !== Date.parse(raw)) return k;
        break;
      case 'meta':
      case 'labels': {
        if (typeof v !== 'string' || v !== JSON.stringify(raw)) return `${k} is not the JSON text of the value`;
        if (Array.isArray(raw) !== (k === 'labels') || !isPlainRecord(raw) === (k === 'meta')) return `${k} has the wrong shape`;
        if (depth(raw) > MAX_VALUE_DEPTH || !allFinite(raw)) return `${k} is too deep or holds a non-finite number`;
        break;
      }
      default:
        return `value '${k}' is not a measure of the schema`;
    }
  }
  for (const k of ['temperature', 'count', 'status', 'level', 'open', 'seenAt', 'meta', 'labels']) {
    const raw = own(record, k);
    if (raw !== undefined && raw !== null && !(k in point.values)) return `'${k}' was dropped`;
  }
  return undefined;
}

describe('validate (fuzzed)', () => {
  it('never throws, and accounts for every record as either a point or at least one issue carrying its index', () => {
    fc.assert(
      fc.property(fc.array(recordLike, { maxLength: 8 }), context, fc.constantFrom<'strict' | 'lenient'>('strict', 'lenient'), (records, c, mode) => {
        const result = compiled[mode].validate(records, c);
        expect(result.points.length + result.invalid).toBe(records.length);
        expect(result.indexes).toHaveLength(result.points.length);
        const failed = new Set(result.issues.map((i) => i.index));
        expect(failed.size).toBe(result.invalid);
        for (const issue of result.issues) {
          expect(Number.isInteger(issue.index) && issue.index! >= 0 && issue.index! < records.length).toBe(true);
          expect(Array.isArray(issue.path)).toBe(true);
          expect(issue.message.length).toBeGreaterThan(0);
        }
        for (let i = 0; i < result.indexes.length; i++) {
          const index = result.indexes[i]!;
          expect(failed.has(index)).toBe(false);
          if (i > 0) expect(index).toBeGreaterThan(result.indexes[i - 1]!);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('only ever returns points whose time, dimensions and values satisfy the schema and come from the record', () => {
    fc.assert(
      fc.property(fc.array(recordLike, { maxLength: 8 }), context, fc.constantFrom<'strict' | 'lenient'>('strict', 'lenient'), (records, c, mode) => {
        const result = compiled[mode].validate(records, c);
        result.points.forEach((point, i) => {
          expect(violation(point, records[result.indexes[i]!], c, mode === 'strict')).toBeUndefined();
        });
      }),
      { numRuns: 400 },
    );
  });

  it('accepts every record built from valid values and normalizes it', () => {
    const valid = fc.record(
      {
        deviceId: fc.string({ minLength: 1, maxLength: 32 }),
        zone: fc.integer({ min: 0, max: 99 }),
        timestamp: time,
        temperature: fc.double({ min: -50, max: 50, noNaN: true }),
        count: fc.maxSafeInteger(),
        status: fc.constantFrom('ok', 'fault'),
        level: fc.constantFrom(1, 2, 3),
        open: fc.boolean(),
        seenAt: time,
        meta: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
          fc.integer({ min: 1, max: MAX_VALUE_DEPTH }).map((n) => objectChain(n, 1)),
        ),
        labels: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
      },
      { requiredKeys: ['deviceId'] },
    );
    const ms = (t: number | string) => (typeof t === 'number' ? t : Date.parse(t));
    fc.assert(
      fc.property(valid, (record) => {
        fc.pre(Buffer.byteLength(JSON.stringify(record)) < 1_500);
        const { points, issues } = compiled.strict.validate([record], { now: NOW, receivedAt: RECEIVED });
        expect(issues).toEqual([]);
        const { deviceId, zone, timestamp, seenAt, meta, labels, ...same } = record;
        expect(points).toEqual([
          {
            time: timestamp === undefined ? RECEIVED : ms(timestamp),
            dimensions: { deviceId, ...(zone !== undefined && { zone: String(zone) }) },
            values: {
              ...same,
              ...(seenAt !== undefined && { seenAt: ms(seenAt) }),
              ...(meta !== undefined && { meta: JSON.stringify(meta) }),
              ...(labels !== undefined && { labels: JSON.stringify(labels) }),
            },
          },
        ]);
      }),
      { numRuns: 300 },
    );
  });
});
