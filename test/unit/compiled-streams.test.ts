import { describe, expect, it } from 'vitest';
import { compiledStreams } from '../../functions/commons/compiled';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';

const stream = newStream(
  parseStreamInput({
    id: 'ovens',
    name: 'Ovens',
    type: 'iot_sensor',
    schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number', unit: 'celsius' } },
    dimensions: ['deviceId'],
    pipeline: [{ type: 'transform', config: { operations: [{ type: 'convert', field: 'temperature', from: 'fahrenheit' }] } }],
  }),
  new Date('2026-03-01T12:00:00Z'),
  () => '',
);

describe('compiledStreams', () => {
  it('compiles a stream version once, however many batches use it, and again when the stream changes', async () => {
    const compiled = compiledStreams();
    const first = compiled.for(stream);
    expect(compiled.for({ ...stream })).toBe(first);
    const changed: Stream = { ...stream, version: stream.version + 1, updatedAt: '2026-03-01T13:00:00.000Z', pipeline: [] };
    const second = compiled.for(changed);
    expect(second).not.toBe(first);
    expect(compiled.for(changed)).toBe(second);
    // the versions behave as compiled: °F converted by the first, stored as sent by the second
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect((await first.prepare([{ deviceId: 'o1', temperature: 212 }], { now })).result.points[0]?.values.temperature).toBe(100);
    expect((await second.prepare([{ deviceId: 'o1', temperature: 212 }], { now })).result.points[0]?.values.temperature).toBe(212);
  });

  it('keeps at most `max` streams, dropping the oldest', () => {
    const compiled = compiledStreams(2);
    const a = compiled.for({ ...stream, id: 'a' });
    compiled.for({ ...stream, id: 'b' });
    compiled.for({ ...stream, id: 'c' });
    expect(compiled.for({ ...stream, id: 'a' })).not.toBe(a);
  });
});
