import { describe, expect, it } from 'vitest';
import { makeWriter, type QueueMessage } from '../../functions/writer/app';
import { decodeQueueMessage } from '../../shared/aws/ingest-message';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { PointStore, StatsDelta, StreamRegistry } from '../../shared/ports';

// In AWS, MQTT records reach the writer through the IoT topic rule without the ingest function: the
// writer runs the stream's processing stage on those, and only on those (HTTP records ran it at ingest).

const NOW = Date.parse('2026-03-01T12:00:00Z');
const stream = newStream(
  parseStreamInput({
    id: 'ovens',
    name: 'Ovens',
    type: 'iot_sensor',
    validation: 'lenient',
    schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number', unit: 'celsius' } },
    dimensions: ['deviceId'],
    pipeline: [
      { type: 'filter', config: { rules: [{ field: 'temperature', operator: 'lt', value: 1000 }] } },
      { type: 'transform', config: { operations: [{ type: 'convert', field: 'temperature', from: 'fahrenheit' }] } },
    ],
  }),
  new Date(NOW),
  () => '',
);
const silent = { error: () => {}, info: () => {} };

function world() {
  const stats: StatsDelta[] = [];
  const stored: Datapoint[] = [];
  const registry = { get: async (id: string) => (id === stream.id ? stream : undefined), addStats: async (_id: string, d: StatsDelta) => void stats.push(d) } as unknown as StreamRegistry;
  const store: PointStore = { write: async (_s, points) => (stored.push(...points), { written: points.length, rejected: [] }), query: async () => [], latest: async () => [] };
  return { stats, stored, writeBatch: makeWriter({ registry, store, clock: { now: () => NOW }, log: silent }) };
}

/** The topic rule's message, as `INGEST_TOPIC_RULE_SQL` builds it. */
function fromTopicRule(id: string, payload: unknown): QueueMessage {
  const body = JSON.stringify({ payload: Buffer.from(JSON.stringify(payload)).toString('base64'), streamId: 'ovens', deviceId: 'oven-1', receivedAt: NOW });
  const decoded = decodeQueueMessage(body);
  if (!decoded.ok) throw new Error(decoded.reason);
  return { id, envelope: decoded.envelope };
}

describe('the writer and the processing stage', () => {
  it('runs the stage on records from the IoT topic rule: °F stored as °C, the filtered one counted', async () => {
    const { stats, stored, writeBatch } = world();
    const summary = await writeBatch([fromTopicRule('m1', [{ temperature: 212 }, { temperature: 5000 }])]);
    expect(summary).toMatchObject({ written: 1, invalid: 0, failedIds: [] });
    expect(stored.map((p) => [p.dimensions.deviceId, p.values.temperature])).toEqual([['oven-1', 100]]);
    expect(stats[0]).toMatchObject({ points: 1, filtered: 1 });
  });

  it('does not run it again on records that ran it at ingest (an HTTP envelope)', async () => {
    const { stored, writeBatch } = world();
    await writeBatch([{ id: 'h1', envelope: { streamId: 'ovens', receivedAt: NOW, source: 'http', records: [{ deviceId: 'oven-2', temperature: 100 }] } }]);
    expect(stored.map((p) => p.values.temperature)).toEqual([100]);
  });
});

describe("the writer's summary, which the metrics publish", () => {
  it('counts per stream, with how long the oldest record waited, and an unattributable message in the total only', async () => {
    const { writeBatch } = world();
    const summary = await writeBatch([
      { id: 'h1', envelope: { streamId: 'ovens', receivedAt: NOW - 250, source: 'http', records: [{ deviceId: 'oven-2', temperature: 100 }, { temperature: 'hot' }] } },
      { id: 'h2', envelope: { streamId: 'ovens', receivedAt: NOW - 40, source: 'http', records: [{ deviceId: 'oven-3', temperature: 90 }] } },
      { id: 'x1', invalid: { reason: 'not JSON' } },
    ]);
    expect(summary).toMatchObject({ written: 2, invalid: 2, rejected: 0 });
    expect(summary.streams).toEqual({ ovens: { written: 2, invalid: 1, rejected: 0, latencyMs: 250 } });
  });
});
