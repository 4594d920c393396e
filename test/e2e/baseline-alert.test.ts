import { describe, expect, it } from 'vitest';
import { documentDefinition } from '../fixtures/data-streams';
import { startedForSuite } from '../fixtures/lifecycle';
import { startLocal } from './harness';
import { alertHelpers } from '../fixtures/alert-settle';

/**
 * The HVAC Monitoring stream's alert as the Data Streams document writes it: energyConsumption greater than
 * `historical_average * 1.2`, each reading against the mean of the 7 days before it (DuckDB on one machine).
 */

const emails: string[] = [];
const local = startedForSuite(() => startLocal({ alerts: { retryIntervalMs: 5, emailLog: (line) => emails.push(line) } }));

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

const { alertsOf, settle } = alertHelpers(local);

describe("an alert against the field's own history (the document's baseline) on the local runtime", () => {
  it('fires on a reading above 1.2 × the mean of the 7 days before it, per series, and not without history', async () => {
    const hvac = documentDefinition('hvac-monitoring');
    const created = await local.api('/v1/streams', {
      body: {
        name: 'HVAC energy',
        type: 'iot_sensor',
        schema: { zone: { type: 'string', required: true }, energyConsumption: { type: 'number' }, timestamp: { type: 'datetime', required: true } },
        dimensions: ['zone'],
        processing: { alerting: { ...hvac.processing.alerting, energyConsumption: { ...hvac.processing.alerting.energyConsumption, severity: 'warning', actions: [{ type: 'email' }] } } },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id, ingestToken } = created.body;
    expect(created.body.alerts).toEqual([
      expect.objectContaining({ name: 'energyConsumption greater_than', when: { field: 'energyConsumption', op: '>', baseline: { agg: 'avg', over: '7d', factor: 1.2, offset: 0 } } }),
    ]);

    const now = Date.now();
    // zone b has no history: its first reading cannot be judged against one
    await settle(id, [{ zone: 'b', energyConsumption: 500, timestamp: iso(now - 2 * HOUR) }], ingestToken);
    // zone a: three days ago 90 and 110 (mean 100); ten days ago 1000, outside the 7 days
    await settle(id, [
      { zone: 'a', energyConsumption: 1000, timestamp: iso(now - 240 * HOUR) },
      { zone: 'a', energyConsumption: 90, timestamp: iso(now - 72 * HOUR) },
      { zone: 'a', energyConsumption: 110, timestamp: iso(now - 71 * HOUR) },
    ], ingestToken);
    expect(await alertsOf(id)).toEqual([]);

    // 119 is under 1.2 × 100; it becomes history: the next reading is judged against mean(90, 110, 119) × 1.2 = 127.6
    await settle(id, [{ zone: 'a', energyConsumption: 119, timestamp: iso(now - HOUR) }], ingestToken);
    expect(await alertsOf(id)).toEqual([]);
    await settle(id, [{ zone: 'a', energyConsumption: 130, timestamp: iso(now - HOUR / 4) }], ingestToken);
    const until = Date.now() + 10_000;
    let alerts = await alertsOf(id);
    while (alerts.length === 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      alerts = await alertsOf(id);
    }
    expect(alerts).toEqual([expect.objectContaining({ rule: 'energyConsumption greater_than', dimensions: { zone: 'a' }, value: 130, state: 'firing' })]);
  });

  it('refuses a baseline it cannot read, and a baseline next to a threshold, by path', async () => {
    const r = await local.api('/v1/streams', {
      body: {
        name: 'HVAC bad',
        type: 'iot_sensor',
        schema: { energyConsumption: { type: 'number' } },
        processing: { alerting: { energyConsumption: { condition: 'greater_than', baseline: 'yesterday * 2' } } },
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([{ path: ['processing', 'alerting', 'energyConsumption', 'baseline'], message: expect.stringContaining('historical_average * 1.2') }]);
  });
});
