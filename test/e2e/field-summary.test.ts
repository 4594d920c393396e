import { describe, expect, it } from 'vitest';
import { TributaryClient } from '../../packages/client/src/index';
import { startedForSuite } from '../fixtures/lifecycle';
import { ADMIN, startLocal } from './harness';

// The Data Streams document's ProductionLineMonitor.getProductionMetrics, through the SDK: a per-field
// aggregation over a relative range, read as the document's code reads it.

describe('per-field aggregation on the local runtime', () => {
  const local = startedForSuite(() => startLocal());

  it('answers the document’s sum, average and mode, and computes its quality score from the counts', async () => {
    const client = new TributaryClient({ baseUrl: local.base, token: ADMIN });
    // the document's production line fields (its Modbus source aside: readings come over HTTPS here)
    const { id } = await client.streams.create({
      name: 'Production Line A',
      type: 'iot_sensor',
      schema: { productionCount: { type: 'integer' }, lineSpeed: { type: 'number' }, qualityStatus: { type: 'string', enum: ['good', 'warning', 'error'] }, timestamp: { type: 'datetime' } },
    } as never);
    const now = Date.now();
    const statuses = ['good', 'good', 'good', 'warning', 'error', 'good'];
    const records = statuses.map((qualityStatus, i) => ({ timestamp: new Date(now - (i + 1) * 60_000).toISOString(), productionCount: 100 + i, lineSpeed: 60 + 10 * i, qualityStatus }));
    expect((await client.streams.ingest(id, records)).accepted).toBe(6);
    await local.waitForPoints(id, 'granularity=raw&timeRange=1h', (p) => p.length === 6);

    const data = (await client.streams.query(id, { timeRange: '1d', aggregation: { productionCount: 'sum', lineSpeed: 'average', qualityStatus: 'mode' } })) as Record<string, any>;
    expect(data.productionCount).toBe(615);
    expect(data.lineSpeed).toBe(85);
    expect(data.qualityStatus).toEqual({ good: 4, warning: 1, error: 1 });
    expect(data).toMatchObject({ granularity: 'all', rawPoints: 6, points: [{ values: { productionCount: 615, lineSpeed: 85 } }] });
    // the document's calculateQualityScore
    const score = ((data.qualityStatus.good + data.qualityStatus.warning * 0.5) / (data.qualityStatus.good + data.qualityStatus.warning + data.qualityStatus.error)) * 100;
    expect(score).toBe(75);

    const bad = await local.api(`/v1/streams/${id}/data?timeRange=1d&aggregation.qualityStatus=sum&aggregation.nope=mode`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string[] }) => e.path[0])).toEqual(['aggregation.qualityStatus', 'aggregation.nope']);
  });
});
