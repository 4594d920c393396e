import { describe, expect, it } from 'vitest';
import { BadRequestError, StreamConflictError } from '../../shared/domain/errors';
import {
  MAX_DIMENSIONS,
  STREAM_ID,
  applyPatch,
  measureFields,
  newStream,
  parseStreamInput,
  parseStreamPatch,
  type Stream,
} from '../../shared/domain/stream-definition';
import { issuesOf } from '../fixtures/domain';

const CREATED = new Date('2026-03-01T12:00:00Z');
const LATER = new Date('2026-03-02T08:30:00Z');

const freezers = {
  name: 'Freezers',
  type: 'iot_sensor',
  schema: {
    deviceId: { type: 'string', required: true },
    temperature: { type: 'number', unit: '°C', range: { min: -50, max: 50 } },
  },
  dimensions: ['deviceId'],
};
const withSchema = (schema: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...freezers, schema, dimensions: [], ...extra });

describe('parseStreamInput', () => {
  it('accepts a full definition and keeps every part of it', () => {
    const input = {
      id: 'freezers-bay-3',
      name: 'Freezers, bay 3',
      description: 'Walk-in freezers',
      type: 'iot_sensor',
      schema: {
        deviceId: { type: 'string', required: true, maxLength: 64 },
        zone: { type: 'integer' },
        door: { type: 'boolean' },
        ts: { type: 'datetime' },
        temperature: { type: 'number', unit: '°C', description: 'air', range: { min: -50, max: 50 } },
        level: { type: 'integer', enum: [1, 2, 3] },
        status: { type: 'string', enum: ['ok', 'fault'] },
        meta: { type: 'object' },
        labels: { type: 'array' },
      },
      timeField: 'ts',
      dimensions: ['deviceId', 'zone', 'door'],
      tags: { site: 'lyon', 'env.tier': 'prod' },
      validation: 'lenient',
    };
    expect(parseStreamInput(input)).toEqual(input);
  });

  it("applies the defaults: timeField 'timestamp', validation 'strict', no dimensions, no tags", () => {
    const parsed = parseStreamInput({ name: 'Orders', type: 'event_stream', schema: { total: { type: 'number' } } });
    expect(parsed).toEqual({
      name: 'Orders',
      type: 'event_stream',
      schema: { total: { type: 'number' } },
      timeField: 'timestamp',
      validation: 'strict',
      dimensions: [],
      tags: {},
    });
  });

  it('trims the name', () => {
    expect(parseStreamInput({ ...freezers, name: '  Freezers  ' }).name).toBe('Freezers');
  });

  it('rejects field names that are not plain identifiers, with the field path and the rule', () => {
    const issues = issuesOf(() => parseStreamInput(withSchema({ 'bad-name': { type: 'number' }, '9lives': { type: 'number' }, ok: { type: 'number' } })));
    expect(issues.map((i) => i.path)).toEqual([
      ['schema', 'bad-name'],
      ['schema', '9lives'],
    ]);
    for (const issue of issues) expect(issue.message).toMatch(/must start with a letter or _/);
  });

  it('rejects a field name longer than 60 characters', () => {
    const long = 'a'.repeat(61);
    expect(issuesOf(() => parseStreamInput(withSchema({ [long]: { type: 'number' } }))).map((i) => i.path)).toEqual([['schema', long]]);
  });

  it.each(['time', 'stream_id', 'measure_name', 'measure_value', 'measure_value_double'])(
    'rejects the reserved field name %s',
    (name) => {
      expect(issuesOf(() => parseStreamInput(withSchema({ [name]: { type: 'number' }, v: { type: 'number' } })))).toEqual([
        { path: ['schema', name], message: `'${name}' is reserved by the store` },
      ]);
    },
  );

  it('rejects an empty schema', () => {
    expect(issuesOf(() => parseStreamInput(withSchema({})))).toEqual([{ path: ['schema'], message: 'a stream needs at least one field, or learnSchema: true to take its fields from its records' }]);
  });

  it('takes a stream that learns its schema without fields, its dimensions as string fields from the start', () => {
    const input = parseStreamInput({ name: 'Meters', type: 'api_pull', learnSchema: true, dimensions: ['meterId'], source: { kind: 'api_pull', url: 'https://api.example.com/m', schedule: 'rate(15 minutes)' } });
    expect(input).toMatchObject({ schema: {}, learnSchema: true, dimensions: ['meterId'] });
    expect(newStream(input, new Date(0), () => 'x')).toMatchObject({ schema: { meterId: { type: 'string' } }, learnSchema: true });
    expect(newStream(parseStreamInput({ ...freezers, learnSchema: false }), new Date(0), () => 'x').learnSchema).toBeUndefined();
  });

  it('rejects a dimension that is not a field of the schema, at its position', () => {
    expect(issuesOf(() => parseStreamInput({ ...freezers, dimensions: ['deviceId', 'site'] }))).toEqual([
      { path: ['dimensions', 1], message: "'site' is not a field of the schema" },
    ]);
  });

  it.each(['number', 'datetime', 'object', 'array'])('rejects a dimension of type %s', (type) => {
    expect(issuesOf(() => parseStreamInput(withSchema({ d: { type }, v: { type: 'number' } }, { dimensions: ['d'] })))).toEqual([
      { path: ['dimensions', 0], message: "dimension 'd' must be a string, integer or boolean field" },
    ]);
  });

  it.each(['string', 'integer', 'boolean'])('accepts a dimension of type %s', (type) => {
    expect(parseStreamInput(withSchema({ d: { type }, v: { type: 'number' } }, { dimensions: ['d'] })).dimensions).toEqual(['d']);
  });

  it('rejects a dimension listed twice', () => {
    expect(issuesOf(() => parseStreamInput({ ...freezers, dimensions: ['deviceId', 'deviceId'] }))).toEqual([
      { path: ['dimensions', 1], message: "'deviceId' is listed twice" },
    ]);
  });

  it(`rejects more than ${MAX_DIMENSIONS} dimensions`, () => {
    const names = Array.from({ length: MAX_DIMENSIONS + 1 }, (_, i) => `d${i}`);
    const schema = Object.fromEntries(names.map((n) => [n, { type: 'string' }]));
    expect(issuesOf(() => parseStreamInput(withSchema(schema, { dimensions: names }))).map((i) => i.path)).toEqual([['dimensions']]);
  });

  it('rejects a time field declared with a type other than datetime', () => {
    expect(issuesOf(() => parseStreamInput(withSchema({ timestamp: { type: 'integer' }, v: { type: 'number' } })))).toEqual([
      { path: ['schema', 'timestamp'], message: "the time field 'timestamp' must have type datetime" },
    ]);
    expect(issuesOf(() => parseStreamInput(withSchema({ at: { type: 'string' } }, { timeField: 'at' }))).map((i) => i.path)).toEqual([
      ['schema', 'at'],
    ]);
  });

  it('accepts a time field the schema does not declare', () => {
    expect(parseStreamInput(withSchema({ v: { type: 'number' } }, { timeField: 'at' })).timeField).toBe('at');
  });

  it('rejects the time field as a dimension', () => {
    const issues = issuesOf(() => parseStreamInput(withSchema({ ts: { type: 'datetime' }, v: { type: 'number' } }, { timeField: 'ts', dimensions: ['ts'] })));
    expect(issues).toContainEqual({ path: ['dimensions', 0], message: 'the time field cannot be a dimension' });
  });

  it.each(['string', 'boolean', 'datetime', 'object', 'array'])('rejects a range on a %s field', (type) => {
    expect(issuesOf(() => parseStreamInput(withSchema({ f: { type, range: { min: 0 } } })))).toEqual([
      { path: ['schema', 'f', 'range'], message: `range applies to number and integer fields, not ${type}` },
    ]);
  });

  it('rejects range.min above range.max', () => {
    expect(issuesOf(() => parseStreamInput(withSchema({ f: { type: 'number', range: { min: 10, max: 1 } } })))).toEqual([
      { path: ['schema', 'f', 'range'], message: 'range.min must not exceed range.max' },
    ]);
  });

  it('accepts range.min equal to range.max', () => {
    expect(parseStreamInput(withSchema({ f: { type: 'integer', range: { min: 3, max: 3 } } })).schema.f?.range).toEqual({ min: 3, max: 3 });
  });

  it('rejects a non-finite range bound with its path', () => {
    const body = JSON.parse('{"name":"x","type":"iot_sensor","schema":{"f":{"type":"number","range":{"max":1e400}}}}') as unknown;
    expect(issuesOf(() => parseStreamInput(body)).map((i) => i.path)).toEqual([['schema', 'f', 'range', 'max']]);
  });

  it.each([
    ['string', [1, 2], 'every enum value must be a string'],
    ['number', ['a'], 'every enum value must be a number'],
    ['integer', [1, '2'], 'every enum value must be a number'],
    ['boolean', [true], null],
    ['object', ['a'], 'enum applies to string, number and integer fields, not object'],
  ])('rejects enum values that do not fit a %s field', (type, values, message) => {
    const issues = issuesOf(() => parseStreamInput(withSchema({ f: { type, enum: values } })));
    expect(issues.every((i) => i.path.join('.').startsWith('schema.f.enum'))).toBe(true);
    if (message) expect(issues).toEqual([{ path: ['schema', 'f', 'enum'], message }]);
  });

  it('rejects an empty enum', () => {
    expect(issuesOf(() => parseStreamInput(withSchema({ f: { type: 'string', enum: [] } }))).map((i) => i.path)).toEqual([['schema', 'f', 'enum']]);
  });

  it('rejects unknown properties at the top, in a field and in a range, naming them', () => {
    expect(issuesOf(() => parseStreamInput({ ...freezers, retention: '7d' }))).toEqual([{ path: [], message: 'Unrecognized key: "retention"' }]);
    expect(issuesOf(() => parseStreamInput(withSchema({ v: { type: 'number', color: 'red' } })))).toEqual([
      { path: ['schema', 'v'], message: 'Unrecognized key: "color"' },
    ]);
    expect(issuesOf(() => parseStreamInput(withSchema({ v: { type: 'number', range: { min: 0, step: 1 } } })))).toEqual([
      { path: ['schema', 'v', 'range'], message: 'Unrecognized key: "step"' },
    ]);
  });

  it.each(['Freezers', '-freezers', 'a b', 'x'.repeat(65), '', 'tributary/x'])('rejects the stream id %j', (id) => {
    const issues = issuesOf(() => parseStreamInput({ ...freezers, id }));
    expect(issues).toEqual([{ path: ['id'], message: 'must be 1-64 of a-z 0-9 _ - and start with a letter or digit' }]);
  });

  it.each(['data', 'ensure', 'backprocess', 'downsample'])('rejects the stream id %j, a route under /v1/streams', (id) => {
    expect(issuesOf(() => parseStreamInput({ ...freezers, id }))).toEqual([{ path: ['id'], message: 'must not be data, ensure, backprocess or downsample: those are routes under /v1/streams' }]);
  });

  it('rejects an unknown field type and stream type, listing the allowed ones', () => {
    const issues = issuesOf(() => parseStreamInput({ ...freezers, type: 'kafka', schema: { v: { type: 'float' } }, dimensions: [] }));
    expect(issues.map((i) => i.path)).toEqual([['type'], ['schema', 'v', 'type']]);
    expect(issues[0]?.message).toContain('iot_sensor');
    expect(issues[1]?.message).toContain('datetime');
  });

  it('rejects bad tag keys with the tag path', () => {
    const issues = issuesOf(() => parseStreamInput({ ...freezers, tags: { 'has space': 'x' } }));
    expect(issues.map((i) => i.path)).toEqual([['tags', 'has space']]);
    expect(issues[0]?.message).toMatch(/tag keys are 1-64 of/);
  });

  it('reports every problem of a definition at once', () => {
    const issues = issuesOf(() =>
      parseStreamInput({ ...freezers, schema: { time: { type: 'number' }, v: { type: 'string' } }, dimensions: ['missing'], timeField: 'v' }),
    );
    expect(issues.map((i) => i.path)).toEqual([['schema', 'time'], ['schema', 'v'], ['dimensions', 0]]);
  });

  it('is a BadRequestError whose message says what was invalid', () => {
    expect(() => parseStreamInput({})).toThrow(BadRequestError);
    expect(() => parseStreamInput({})).toThrow('Invalid stream definition.');
  });
});

describe('newStream', () => {
  const suffix = () => 'k3x9qa';

  it('slugs the name and adds the random suffix when no id is given', () => {
    const stream = newStream(parseStreamInput({ ...freezers, name: 'Freezers — Bay 3 (Lyon)!' }), CREATED, suffix);
    expect(stream.id).toBe('freezers-bay-3-lyon-k3x9qa');
    expect(stream.id).toMatch(STREAM_ID);
  });

  it('folds accents into plain letters', () => {
    expect(newStream(parseStreamInput({ ...freezers, name: 'Café Crème' }), CREATED, suffix).id).toBe('cafe-creme-k3x9qa');
  });

  it("uses 'stream' when nothing of the name survives slugging", () => {
    expect(newStream(parseStreamInput({ ...freezers, name: '温度' }), CREATED, suffix).id).toBe('stream-k3x9qa');
  });

  it('keeps a long name within the stream id limit', () => {
    const stream = newStream(parseStreamInput({ ...freezers, name: 'n'.repeat(128) }), CREATED, suffix);
    expect(stream.id).toBe(`${'n'.repeat(48)}-k3x9qa`);
    expect(stream.id).toMatch(STREAM_ID);
  });

  it("keeps the client's id", () => {
    expect(newStream(parseStreamInput({ ...freezers, id: 'bay-3' }), CREATED, suffix).id).toBe('bay-3');
  });

  it('starts active at version 1, created and updated now, with the definition as given', () => {
    const input = parseStreamInput({ ...freezers, description: 'walk-ins', tags: { site: 'lyon' } });
    expect(newStream(input, CREATED, suffix)).toEqual({
      id: 'freezers-k3x9qa',
      name: 'Freezers',
      description: 'walk-ins',
      type: 'iot_sensor',
      schema: input.schema,
      timeField: 'timestamp',
      dimensions: ['deviceId'],
      tags: { site: 'lyon' },
      validation: 'strict',
      state: 'active',
      createdAt: '2026-03-01T12:00:00.000Z',
      updatedAt: '2026-03-01T12:00:00.000Z',
      version: 1,
      fieldNumbers: { deviceId: 1, temperature: 2, timestamp: 3 },
    });
  });
});

describe('measureFields', () => {
  it('lists every schema field but the time field and the dimensions', () => {
    const stream = newStream(
      parseStreamInput(withSchema({ deviceId: { type: 'string' }, timestamp: { type: 'datetime' }, t: { type: 'number' }, s: { type: 'string' } }, { dimensions: ['deviceId'] })),
      CREATED,
      () => 'x',
    );
    expect(measureFields(stream)).toEqual(['t', 's']);
  });
});

describe('applyPatch', () => {
  const stream: Stream = newStream(parseStreamInput({ ...freezers, tags: { site: 'lyon' } }), CREATED, () => 'k3x9qa');

  it('adds an optional field, bumps the version and sets updatedAt', () => {
    const next = applyPatch(stream, parseStreamPatch({ schema: { humidity: { type: 'number', unit: '%' } } }), LATER);
    expect(next.schema).toEqual({ ...stream.schema, humidity: { type: 'number', unit: '%' } });
    expect(next.version).toBe(2);
    expect(next.updatedAt).toBe(LATER.toISOString());
    expect(next.createdAt).toBe(stream.createdAt);
    expect(stream.schema).not.toHaveProperty('humidity');
  });

  it('lets an existing field change its unit, range or enum but keep its type', () => {
    const next = applyPatch(stream, parseStreamPatch({ schema: { temperature: { type: 'number', unit: 'K', range: { min: 0 } } } }), LATER);
    expect(next.schema.temperature).toEqual({ type: 'number', unit: 'K', range: { min: 0 } });
  });

  it("refuses to change a field's type with a StreamConflictError naming the field and its type", () => {
    const patch = parseStreamPatch({ schema: { temperature: { type: 'string' } } });
    expect(() => applyPatch(stream, patch, LATER)).toThrow(StreamConflictError);
    expect(() => applyPatch(stream, patch, LATER)).toThrow("Field 'temperature' is number; a field's type cannot change.");
  });

  it('refuses a new required field, with the path to required', () => {
    expect(issuesOf(() => applyPatch(stream, parseStreamPatch({ schema: { humidity: { type: 'number', required: true } } }), LATER))).toEqual([
      { path: ['schema', 'humidity', 'required'], message: 'a field added to an existing stream cannot be required' },
    ]);
  });

  it('refuses a new field that breaks the definition (a reserved name)', () => {
    expect(issuesOf(() => applyPatch(stream, parseStreamPatch({ schema: { stream_id: { type: 'string' } } }), LATER))).toEqual([
      { path: ['schema', 'stream_id'], message: "'stream_id' is reserved by the store" },
    ]);
  });

  it('replaces tags and validation, renames, and keeps everything else', () => {
    const next = applyPatch(stream, parseStreamPatch({ tags: { site: 'paris', tier: 'gold' }, validation: 'lenient', name: 'Cold room' }), LATER);
    expect(next).toEqual({
      ...stream,
      name: 'Cold room',
      tags: { site: 'paris', tier: 'gold' },
      validation: 'lenient',
      updatedAt: LATER.toISOString(),
      version: 2,
    });
  });

  it('keeps the id, dimensions, time field and state whatever the patch', () => {
    const next = applyPatch({ ...stream, state: 'paused' }, parseStreamPatch({ description: 'moved' }), LATER);
    expect([next.id, next.dimensions, next.timeField, next.state, next.description]).toEqual([stream.id, ['deviceId'], 'timestamp', 'paused', 'moved']);
  });
});

describe('parseStreamPatch', () => {
  it('refuses properties a patch cannot change (id, type, dimensions, timeField)', () => {
    for (const key of ['id', 'type', 'dimensions', 'timeField']) {
      expect(issuesOf(() => parseStreamPatch({ [key]: 'x' }))).toEqual([{ path: [], message: `Unrecognized key: "${key}"` }]);
    }
  });

  it('checks the field specs it carries', () => {
    expect(issuesOf(() => parseStreamPatch({ schema: { v: { type: 'string', range: { max: 1 } } } }))).toEqual([
      { path: ['schema', 'v', 'range'], message: 'range applies to number and integer fields, not string' },
    ]);
  });
});

describe('names Object.prototype has (constructor, toString, __proto__)', () => {
  const base = { name: 'a', type: 'iot_sensor', schema: { x: { type: 'number' } } };
  const issuesOfBody = (body: unknown) => issuesOf(() => parseStreamInput(body));

  it('are not taken for schema fields when the schema lacks them', () => {
    expect(issuesOfBody({ ...base, dimensions: ['constructor'] })).toEqual([{ path: ['dimensions', 0], message: "'constructor' is not a field of the schema" }]);
    expect(issuesOfBody({ ...base, alerts: [{ name: 'r', when: 'toString > 5' }] })).toEqual([{ path: ['alerts', 0, 'when', 'field'], message: "'toString' is not a field of the schema" }]);
    expect(issuesOfBody({ ...base, alertThresholds: { valueOf: { min: 1 } } })).toEqual([{ path: ['alertThresholds', 'valueOf'], message: "'valueOf' is not a field of the schema" }]);
  });

  it('are ordinary fields when declared, except __proto__, which is refused with its path', () => {
    const input = parseStreamInput({ ...base, schema: { constructor: { type: 'number' }, prototype: { type: 'string' } }, alerts: [{ name: 'r', when: 'constructor > 5' }] });
    expect(Object.keys(input.schema)).toEqual(['constructor', 'prototype']);
    expect(issuesOfBody(JSON.parse('{"name":"a","type":"iot_sensor","schema":{"__proto__":{"type":"number"},"x":{"type":"number"}}}'))).toEqual([
      { path: ['schema', '__proto__'], message: "'__proto__' cannot be a key" },
    ]);
  });
});
