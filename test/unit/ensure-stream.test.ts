import { describe, expect, it } from 'vitest';
import { configurationDifferences, ensuredTags } from '../../shared/domain/ensure-stream';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';

const NOW = new Date('2026-03-01T12:00:00Z');
const freezers = {
  name: 'Freezers',
  type: 'iot_sensor',
  schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number', unit: '°C' } },
  dimensions: ['deviceId'],
};
const build = (def: Record<string, unknown>, suffix = 'aaaaaa'): Stream => newStream(parseStreamInput(def), NOW, () => suffix);
const paths = (existing: Stream, wanted: Stream, idGiven = false) => configurationDifferences(existing, wanted, { idGiven }).map((i) => i.path);

describe('configurationDifferences', () => {
  it('finds none between a stream and the same definition, whatever their tags, ids and times', () => {
    const existing = { ...build({ ...freezers, tags: { site: 'lyon' } }), version: 4, updatedAt: '2026-03-05T00:00:00.000Z' };
    expect(paths(existing, build({ ...freezers, tags: { site: 'paris', x: 1 } }, 'bbbbbb'))).toEqual([]);
  });

  it('names each member that differs, the schema field by field', () => {
    const wanted = build({ ...freezers, type: 'event_stream', validation: 'lenient', schema: { ...freezers.schema, temperature: { type: 'number', unit: '°F' }, humidity: { type: 'number' } } });
    expect(paths(build(freezers), wanted)).toEqual([['type'], ['validation'], ['schema', 'humidity'], ['schema', 'temperature']]);
  });

  it('compares the defaults the request would create with: an omitted validation is strict', () => {
    const existing = { ...build(freezers), validation: 'lenient' as const };
    expect(configurationDifferences(existing, build(freezers), { idGiven: false })).toEqual([{ path: ['validation'], message: 'is "lenient", not "strict"' }]);
  });

  it('compares a section only when the request gives it', () => {
    const existing = build({ ...freezers, alerts: [{ name: 'warm', when: 'temperature > -15' }] });
    expect(paths(existing, build(freezers))).toEqual([]);
    expect(paths(existing, build({ ...freezers, alerts: [{ name: 'warm', when: 'temperature > -10' }] }))).toEqual([['alerts']]);
  });

  it('lets a stream that learns its schema hold more fields than asked, but not other ones', () => {
    const learning = { name: 'learns', type: 'event_stream', learnSchema: true, schema: { a: { type: 'number' } } };
    const existing = { ...build(learning), schema: { a: { type: 'number' as const }, learned: { type: 'string' as const } } };
    expect(paths(existing, build(learning))).toEqual([]);
    expect(paths(existing, build({ ...learning, schema: { a: { type: 'string' } } }))).toEqual([['schema', 'a']]);
  });

  it('compares the id only when the request gives one', () => {
    const existing = build({ ...freezers, id: 'freezers-1' });
    const wanted = build({ ...freezers, id: 'freezers-2' });
    expect(paths(existing, wanted, false)).toEqual([]);
    expect(paths(existing, wanted, true)).toEqual([['id']]);
  });
});

describe('ensuredTags', () => {
  it('puts the query tags over the definition’s, so the stream is found by them again', () => {
    expect(ensuredTags({ name: 'other', unit: 'C', v: { a: 1 } }, { name: 'foobar', v: { b: 2 } })).toEqual({ name: 'foobar', unit: 'C', v: { a: 1, b: 2 } });
  });
});
