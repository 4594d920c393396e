import { describe, expect, it } from 'vitest';
import { makeWriter, type QueueMessage } from '../../functions/writer/app';
import { StreamConflictError } from '../../shared/domain/errors';
import { newStream, parseStreamInput, type FieldSpec, type Stream } from '../../shared/domain/stream-definition';
import { compileStream } from '../../shared/domain/validate-record';
import type { PointStore, StreamRegistry } from '../../shared/ports';

// A stream without a declared schema (the documents' Energy Management, HVAC Monitoring) learns one: each new
// field is typed by its first value, later values must keep that type, and the writer adds the fields to the
// stream before storing its points.

const NOW = Date.parse('2026-12-04T12:00:00Z');
const meters = newStream(parseStreamInput({ id: 'meters', name: 'Meters', type: 'event_stream', learnSchema: true, dimensions: ['meterId'] }), new Date(NOW), () => '');
const ctx = (learned?: Record<string, FieldSpec>) => ({ now: NOW, ...(learned && { learned }) });

describe('validating records of a stream that learns its schema', () => {
  it('types each new field by its first value, measures and dimensions alike', () => {
    const learned: Record<string, FieldSpec> = {};
    const r = compileStream(meters).validate([{ meterId: 'M-1', timestamp: '2026-12-04T10:00:00Z', consumption: 12.5, online: true, tags: ['a'], site: { floor: 2 }, label: 'hall' }], ctx(learned));
    expect(r.issues).toEqual([]);
    expect(r.points).toEqual([{ time: Date.parse('2026-12-04T10:00:00Z'), dimensions: { meterId: 'M-1' }, values: { consumption: 12.5, online: true, tags: '["a"]', site: '{"floor":2}', label: 'hall' } }]);
    expect(learned).toEqual({ consumption: { type: 'number' }, online: { type: 'boolean' }, tags: { type: 'array' }, site: { type: 'object' }, label: { type: 'string' } });
  });

  it('refuses a later value of another type, in the same batch or a later call of it, naming the learned type', () => {
    const learned: Record<string, FieldSpec> = {};
    const compiled = compileStream(meters);
    const first = compiled.validate([{ consumption: 1 }, { consumption: 'lots' }], ctx(learned));
    expect(first.invalid).toBe(1);
    expect(first.issues).toEqual([{ index: 1, path: ['consumption'], message: expect.stringContaining("(the stream learned 'consumption' as number)") }]);
    const second = compiled.validate([{ consumption: true }], ctx(learned));
    expect(second.issues[0]).toMatchObject({ path: ['consumption'], message: expect.stringContaining('as number') });
  });

  it('refuses keys that cannot be field names, and __proto__ without touching any prototype', () => {
    const learned: Record<string, FieldSpec> = {};
    const r = compileStream(meters).validate([JSON.parse('{"power factor": 0.9, "measure_value": 1, "__proto__": {"polluted": true}, "ok": 1}')], ctx(learned));
    expect(r.issues.map((i) => i.path)).toEqual([['power factor'], ['measure_value'], ['__proto__']]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(learned)).toEqual(['ok']);
  });

  it('stops at the number of fields a stream may have', () => {
    const record = Object.fromEntries(Array.from({ length: 260 }, (_, i) => [`f${i}`, i]));
    const learned: Record<string, FieldSpec> = {};
    const r = compileStream(meters).validate([record], ctx(learned));
    // meterId is declared already: 255 more measures fit
    expect(Object.keys(learned)).toHaveLength(255);
    expect(r.issues[0]).toMatchObject({ path: ['f255'], message: expect.stringContaining('the most a stream may have') });
  });

  it('refuses unknown fields as before on a stream that does not learn', () => {
    const fixed = newStream(parseStreamInput({ id: 'fixed', name: 'Fixed', type: 'event_stream', schema: { a: { type: 'number' } } }), new Date(NOW), () => '');
    expect(compileStream(fixed).validate([{ a: 1, b: 2 }], ctx({})).issues[0]).toMatchObject({ path: ['b'], message: expect.stringContaining('unknown field') });
  });
});

describe('the writer and a stream that learns its schema', () => {
  const message = (id: string, records: unknown[]): QueueMessage => ({ id, envelope: { streamId: 'meters', records, receivedAt: NOW } as never });
  function world(update: (s: Stream) => Promise<void>) {
    const written: Stream[] = [];
    const registry = { get: async () => meters, update, addStats: async () => {} } as unknown as StreamRegistry;
    const store: PointStore = { write: async (s, points) => (written.push(s), { written: points.length, rejected: [] }), query: async () => [], latest: async () => [] };
    return { written, writeBatch: makeWriter({ registry, store, clock: { now: () => NOW }, log: { error: () => {}, info: () => {} } }) };
  }

  it('adds the fields of the whole batch in one update, then stores the points with the stream that has them', async () => {
    const updates: Stream[] = [];
    const { written, writeBatch } = world(async (s) => void updates.push(s));
    const summary = await writeBatch([message('m1', [{ meterId: 'M-1', consumption: 1 }]), message('m2', [{ meterId: 'M-2', voltage: 230 }])]);
    expect(summary).toMatchObject({ written: 2, failedIds: [] });
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ version: meters.version + 1, schema: { meterId: { type: 'string' }, consumption: { type: 'number' }, voltage: { type: 'number' } } });
    expect(written[0]).toBe(updates[0]);
  });

  it('sends the batch back when another writer changed the stream first, storing nothing', async () => {
    const { written, writeBatch } = world(async () => {
      throw new StreamConflictError('version moved');
    });
    const summary = await writeBatch([message('m1', [{ meterId: 'M-1', consumption: 1 }])]);
    expect(summary.failedIds).toEqual(['m1']);
    expect(written).toEqual([]);
  });

  it('writes without an update when the batch brings no new field', async () => {
    const known = { ...meters, schema: { ...meters.schema, consumption: { type: 'number' as const } } };
    const registry = { get: async () => known, update: async () => expect.unreachable(), addStats: async () => {} } as unknown as StreamRegistry;
    const store: PointStore = { write: async (_s, points) => ({ written: points.length, rejected: [] }), query: async () => [], latest: async () => [] };
    const summary = await makeWriter({ registry, store, clock: { now: () => NOW }, log: { error: () => {}, info: () => {} } })([message('m1', [{ meterId: 'M-1', consumption: 2 }])]);
    expect(summary).toMatchObject({ written: 1, failedIds: [] });
  });
});
