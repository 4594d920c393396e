import { describe, expect, it } from 'vitest';
import { documentDefinition } from '../fixtures/data-streams';
import { startedForSuite } from '../fixtures/lifecycle';
import { METERS, startVendor, VENDOR_TOKEN } from '../fixtures/vendor-server';
import { startLocal } from './harness';

/**
 * The Data Streams document's Energy Management stream as written: no schema (its fields come from the
 * records), a bearer token for the building's API, and a cost_calculation transformation in JavaScript.
 */

const vendor = startedForSuite(startVendor);
const local = startedForSuite(() => startLocal({ pulls: { env: { TRIBUTARY_SECRET_ENERGY_MANAGEMENT_TOKEN: VENDOR_TOKEN } } }));

async function waitFor<T>(probe: () => Promise<T>, until: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last = await probe();
  while (!until(last) && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await probe();
  }
  return last;
}

describe("a stream without a schema (the document's Energy Management) on the local runtime", () => {
  let id: string;
  let ingestToken: string;

  it('is created as written: it learns its schema, its pull sends the stream’s bearer token, its transformation is a script stage', async () => {
    const def = documentDefinition('energy-management');
    // what a user changes: their API's address, and which field tells the meters apart (the document names none)
    ({ id, ingestToken } = await local.createStream({ ...def, dimensions: ['meterId'], source: { ...def.source, endpoint: `${vendor.base}/buildings/hq/meters` } }));
    const stream = (await local.api(`/v1/streams/${id}`)).body;
    expect(stream).toMatchObject({
      learnSchema: true,
      schema: { meterId: { type: 'string' } },
      dimensions: ['meterId'],
      tags: { category: 'energy' },
      source: { kind: 'api_pull', schedule: 'cron(0/15 * * * ? *)', headers: { authorization: 'Bearer ${secret:ENERGY_MANAGEMENT_TOKEN}' } },
      pipeline: [{ name: 'cost_calculation', type: 'transform', config: { script: expect.stringMatching(/^function calculateCost\(data\)/) } }],
    });
  });

  it('pulls the meters through the transformation and stores every field the records carry, typed by their values', async () => {
    const run = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(run.body).toMatchObject({ status: 'succeeded', enqueued: 3 });
    const points = await local.waitForPoints(id, 'limit=100&start=2026-12-04T00:00:00Z&end=2026-12-05T00:00:00Z', (p) => p.length === 3);
    const byTime = (p: any) => `${p.time} ${p.dimensions.meterId}`;
    expect(points.sort((a, b) => byTime(a).localeCompare(byTime(b))).map((p) => ({ time: p.time, ...p.dimensions, ...p.values }))).toEqual([
      // 10:00 is a peak hour (9-17): 0.15 per kWh; 20:00 is not: 0.08
      { time: '2026-12-04T10:00:00.000Z', meterId: 'M-1', consumption: 12.5, cost: 12.5 * 0.15, rateType: 'peak' },
      { time: '2026-12-04T10:00:00.000Z', meterId: 'M-2', consumption: 4, cost: 4 * 0.15, rateType: 'peak' },
      { time: '2026-12-04T20:00:00.000Z', meterId: 'M-1', consumption: 10, cost: 10 * 0.08, rateType: 'offPeak' },
    ]);
    expect(METERS).toHaveLength(3);
    const { schema, version } = (await local.api(`/v1/streams/${id}`)).body;
    expect(schema).toEqual({ meterId: { type: 'string' }, consumption: { type: 'number' }, cost: { type: 'number' }, rateType: { type: 'string' } });
    expect(version).toBe(2);
  });

  it('downsamples a learned field like a declared one', async () => {
    const r = await local.api(`/v1/streams/${id}/data?start=2026-12-04T00:00:00Z&end=2026-12-05T00:00:00Z&aggregation=daily&fields=cost`);
    expect(r.status).toBe(200);
    expect(r.body.points).toHaveLength(1);
    expect(r.body.points[0].values.cost.count).toBe(3);
    expect(r.body.points[0].values.cost.max).toBeCloseTo(1.875, 10);
  });

  it('refuses a record that gives a learned field another type, naming it, and learns a field a later record brings', async () => {
    const wrong = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { timestamp: '2026-12-04T11:00:00Z', meterId: 'M-3', consumption: 'lots' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([expect.objectContaining({ path: ['consumption'], message: expect.stringContaining('number') })]);

    const bad = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { timestamp: '2026-12-04T11:00:00Z', 'power factor': 0.9 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ path: ['power factor'], message: expect.stringContaining("cannot add field 'power factor'") });

    const more = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { timestamp: '2026-12-04T11:00:00Z', meterId: 'M-3', consumption: 3, voltage: 231.5, online: true } });
    expect(more.status).toBe(202);
    const learned = await waitFor(() => local.api(`/v1/streams/${id}`), (r) => r.body.schema.voltage !== undefined);
    expect(learned.body.schema).toMatchObject({ voltage: { type: 'number' }, online: { type: 'boolean' } });
    const points = await local.waitForPoints(id, 'limit=100&start=2026-12-04T11:00:00Z&end=2026-12-04T12:00:00Z', (p) => p.length === 1);
    // the transformation ran on the pushed record too: 11:00 is peak
    expect(points[0]).toMatchObject({ dimensions: { meterId: 'M-3' }, values: { consumption: 3, voltage: 231.5, online: true, cost: 3 * 0.15, rateType: 'peak' } });
  });

  it('refuses new fields again once learning is switched off', async () => {
    const frozen = await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: { learnSchema: false } });
    expect(frozen.status).toBe(200);
    expect(frozen.body.learnSchema).toBeUndefined();
    const r = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { timestamp: '2026-12-04T12:00:00Z', consumption: 1, frequency: 50 } });
    expect(r.status).toBe(400);
    expect(r.body.errors[0]).toMatchObject({ path: ['frequency'], message: expect.stringContaining('unknown field') });
  });
});
