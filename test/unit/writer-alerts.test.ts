import { describe, expect, it } from 'vitest';
import { makeWriter } from '../../functions/writer/app';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { AlertEvaluator, LiveFanout, PointStore, StreamRegistry } from '../../shared/ports';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const stream = newStream(
  parseStreamInput({
    id: 'freezers',
    name: 'Freezers',
    type: 'iot_sensor',
    schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } },
    dimensions: ['deviceId'],
    alerts: [{ name: 'warm', when: 'temperature > -15' }],
  }),
  new Date(NOW),
  () => '',
);
const silent = { error: () => {}, info: () => {} };
const registry = { get: async (id: string) => (id === stream.id ? stream : undefined), addStats: async () => {} } as unknown as StreamRegistry;

/** A store that refuses the points whose temperature is 99, as Timestream refuses records. */
const store: PointStore = {
  write: async (_s, points) => ({
    written: points.filter((p) => p.values.temperature !== 99).length,
    rejected: points.flatMap((p, index) => (p.values.temperature === 99 ? [{ index, reason: 'refused' }] : [])),
  }),
  query: async () => [],
  latest: async () => [],
};

const message = (records: unknown[]) => ({ id: `m${records.length}`, envelope: { streamId: 'freezers', receivedAt: NOW, source: 'http' as const, records } });

describe('the writer hook for alert rules', () => {
  it('evaluates once per stream and batch, with the written points only', async () => {
    const seen: { stream: Stream; points: Datapoint[] }[] = [];
    const alerts: AlertEvaluator = { evaluate: async (s, points) => void seen.push({ stream: s, points }) };
    const writeBatch = makeWriter({ registry, store, clock: { now: () => NOW }, log: silent, alerts });
    await writeBatch([message([{ deviceId: 'f1', temperature: -10 }, { deviceId: 'f1', temperature: 99 }]), message([{ deviceId: 'f2', temperature: -20 }])]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.points.map((p) => [p.dimensions.deviceId, p.values.temperature])).toEqual([
      ['f1', -10],
      ['f2', -20],
    ]);
  });

  it('does not send a written batch back when alert evaluation fails', async () => {
    const errors: string[] = [];
    const alerts: AlertEvaluator = { evaluate: async () => Promise.reject(new Error('DynamoDB down')) };
    const writeBatch = makeWriter({ registry, store, clock: { now: () => NOW }, log: { ...silent, error: (m) => void errors.push(m) }, alerts });
    const summary = await writeBatch([message([{ deviceId: 'f1', temperature: -10 }])]);
    expect(summary).toMatchObject({ failedIds: [], written: 1 });
    expect(errors).toEqual(['alert evaluation failed']);
  });
});

describe('the writer hook for live subscriptions', () => {
  it('publishes each stream’s stored points once per batch, the refused ones left out, before the alert rules', async () => {
    const order: string[] = [];
    const published: Datapoint[][] = [];
    const live: LiveFanout = {
      publishPoints: async (_s, points) => void (order.push('live'), published.push([...points])),
      publish: async () => {},
    };
    const alerts: AlertEvaluator = { evaluate: async () => void order.push('alerts') };
    const writeBatch = makeWriter({ registry, store, clock: { now: () => NOW }, log: silent, alerts, live });
    await writeBatch([message([{ deviceId: 'f1', temperature: -10 }, { deviceId: 'f1', temperature: 99 }])]);
    expect(published.map((ps) => ps.map((p) => p.values.temperature))).toEqual([[-10]]);
    expect(order).toEqual(['live', 'alerts']);
  });

  it('does not send a stored batch back when the fan-out fails', async () => {
    const errors: string[] = [];
    const live: LiveFanout = { publishPoints: async () => Promise.reject(new Error('socket trouble')), publish: async () => {} };
    const writeBatch = makeWriter({ registry, store, clock: { now: () => NOW }, log: { ...silent, error: (m) => void errors.push(m) }, live });
    expect(await writeBatch([message([{ deviceId: 'f1', temperature: -10 }])])).toMatchObject({ failedIds: [], written: 1 });
    expect(errors).toEqual(['live fan-out failed']);
  });
});
