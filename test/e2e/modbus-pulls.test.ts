import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { documentDefinition } from '../fixtures/data-streams';
import { startedForSuite } from '../fixtures/lifecycle';
import { startPlc } from '../fixtures/modbus-plc';
import { startLocal } from './harness';
import { schedulerClock, waitFor } from '../fixtures/waiting';

/**
 * The Data Streams document's Production Line (Manufacturing Line Integration), created as written on the
 * local runtime and polled over Modbus TCP from a PLC simulated in the test with `modbus-serial`'s own server.
 */

/** The scheduler's clock: the pulls run on real time; the test moves the schedule on past a 10 s wait. */
describe('the Production Line stream polled from a Modbus TCP PLC', () => {
  const clock = schedulerClock();
  const local = startedForSuite(() => startLocal({ pulls: { tick: '* * * * * *', clock } }));
  // production count, line speed, quality status (the enum's index: 0 good), temperature, pressure
  const plc = startedForSuite(() => startPlc({ 40001: 1200, 40002: 85, 40003: 0, 40004: 72, 40005: 3 }));

  it('reads the registers every 10 s into their fields, follows a changed register, refuses a bad enum index and reports the PLC going away', async () => {
    const def = documentDefinition('production-line');
    // the one change a user makes: their PLC's address
    const { id } = await local.createStream({ ...def, source: { ...def.source, endpoint: `plc://127.0.0.1:${plc.port}` } });
    const stream = (await local.api(`/v1/streams/${id}`)).body;
    expect(stream).toMatchObject({ type: 'iot_sensor', tags: { category: 'manufacturing' } });
    expect(stream.source).toMatchObject({
      kind: 'modbus_tcp',
      host: '127.0.0.1',
      port: plc.port,
      unitId: 1,
      schedule: 'rate(10 seconds)',
      registers: { productionCount: { address: 40001 }, lineSpeed: { address: 40002 }, qualityStatus: { address: 40003 }, temperature: { address: 40004 }, pressure: { address: 40005 } },
    });

    // a new stream on a rate is due at once
    const first = await local.waitForPoints(id, 'limit=100', (p) => p.length >= 1);
    expect(first[0].values).toEqual({ productionCount: 1200, lineSpeed: 85, qualityStatus: 'good', temperature: 72, pressure: 3 });
    expect(Math.abs(Date.parse(first[0].time) - Date.now())).toBeLessThan(5_000);
    const afterFirst = (await local.api(`/v1/streams/${id}/status`)).body.pull;
    expect(afterFirst).toMatchObject({ schedule: 'rate(10 seconds)', lastStatus: 'succeeded', recordsEnqueued: 1 });
    // the next poll is due 10 s after the first was
    const due = Date.parse(afterFirst.nextRunAt) - Date.parse(afterFirst.lastRunAt);
    expect(due).toBeGreaterThan(8_000);
    expect(due).toBeLessThanOrEqual(10_000);

    plc.set(40001, 1210);
    plc.set(40003, 2);
    // the next poll, on its real 10 s
    const second = await local.waitForPoints(id, 'limit=100', (p) => p.some((x: any) => x.values.productionCount === 1210), 15_000);
    const changed = second.find((x: any) => x.values.productionCount === 1210)!;
    expect(changed.values).toEqual({ productionCount: 1210, lineSpeed: 85, qualityStatus: 'error', temperature: 72, pressure: 3 });
    const apart = Date.parse(changed.time) - Date.parse(first[0].time);
    expect(apart).toBeGreaterThan(8_000);
    expect(apart).toBeLessThan(12_000);

    // quality status 7 has no enum value: the strict stream refuses that poll's record, counted, the runtime unharmed
    plc.set(40003, 7);
    clock.advance(10_000);
    const refused = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.lastError?.code === 'records.invalid');
    expect(refused.body.pull).toMatchObject({ lastStatus: 'failed', recordsInvalid: 1 });
    expect(refused.body.pull.lastError.message).toContain('qualityStatus: must be a string, got number 7');

    await plc.close();
    clock.advance(10_000);
    const failed = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.lastError?.code === 'source.unreachable');
    expect(failed.body.pull).toMatchObject({ lastStatus: 'failed', failures: 2 });
    expect(failed.body.pull.lastError.message).toContain(`127.0.0.1:${plc.port}`);
    // the runtime keeps answering, and what was polled is still there
    expect((await local.api(`/v1/streams/${id}`)).status).toBe(200);
    const kept = await local.api(`/v1/streams/${id}/data?limit=100`);
    expect(kept.body.points.map((p: any) => p.values.productionCount)).toEqual([1200, 1210]);
  });

  it('answers a manual pull of a PLC nobody listens for with the failure, not an error', async () => {
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as { port: number }).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const def = documentDefinition('production-line');
    const { id } = await local.createStream({ ...def, name: 'Line 8', source: { ...def.source, endpoint: `plc://127.0.0.1:${port}`, timeout: 1_000 } });
    await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.runs >= 1);
    // the scheduled run may still hold the stream's lease (a 409): the manual one follows it
    const run = await waitFor(
      () => local.api(`/v1/streams/${id}/pull`, { method: 'POST' }),
      (r) => r.status === 200,
    );
    expect(run.body).toMatchObject({ status: 'failed', pulled: 0, enqueued: 0, error: { code: 'source.unreachable', message: expect.stringContaining('ECONNREFUSED') } });
  });

  it('fails the poll of a PLC that takes the connection and never answers after the source\'s timeout, and keeps serving', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const def = documentDefinition('production-line');
      const { id } = await local.createStream({ ...def, name: 'Line 9', source: { ...def.source, endpoint: `plc://127.0.0.1:${port}`, timeout: 1_000 } });
      const status = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.runs >= 1);
      expect(status.body.pull).toMatchObject({ lastStatus: 'failed', lastError: { code: 'source.timeout', message: `no answer from the PLC at 127.0.0.1:${port} within 1000 ms` } });
      expect(sockets.size).toBeGreaterThan(0);
      expect((await local.api('/v1/streams?limit=10')).status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
