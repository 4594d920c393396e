import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/commons/openapi';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { startLocal, type Local } from './harness';

const T0 = Date.UTC(2012, 6, 31, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: number) => iso(T0 + s * 1000);
const all = `start=${iso(T0 - 3_600_000)}&end=${iso(T0 + 3_600_000)}&limit=1000`;
const values = (points: { time: string; values: { value: number } }[]) => points.map((p) => [p.time, p.values.value]);

/**
 * The datastream document's derived streams over HTTP on the local runtime: a counter's derivative, counter
 * resets and counter derivatives (with a wrap at maxValue, and reset by a derived counter_reset stream), a
 * sum, all computed by the writer from source batches posted out of order and twice; the refusals; and
 * backprocessing. Every exchange is checked against the OpenAPI document.
 */
describe('derived streams', () => {
  let local: Local;
  let counter: { id: string; ingestToken: string };
  const conform = openApiConformance(JSON.parse(JSON.stringify(openApiDocument())));
  const problems: string[] = [];

  async function call(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
    const r = await local.api(path, init);
    const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
    problems.push(...conform.check({ method, path: path.split('?')[0]!, requestBody: init.body, status: r.status, contentType: r.type, responseBody: r.body }));
    return r;
  }
  const create = async (body: Record<string, unknown>) => {
    const r = await call('/v1/streams', { body });
    if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const post = (id: string, token: string, records: unknown) => call(`/v1/streams/${id}/data`, { token, body: records });
  const settled = (id: string, n: number) => local.waitForPoints(id, all, (p) => p.length === n);

  beforeAll(async () => {
    local = await startLocal();
    counter = await local.createStream({ id: 'counter', name: 'counter', type: 'iot_sensor', schema: { host: { type: 'string', required: true }, bytes: { type: 'integer' } }, dimensions: ['host'] });
    await create({ id: 'reboots', name: 'reboots', type: 'iot_sensor', schema: { host: { type: 'string', required: true }, rebooted: { type: 'boolean' } }, dimensions: ['host'] });
    await create({ id: 'rate', name: 'rate', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'counter', field: 'bytes' }] });
    await create({ id: 'resets', name: 'resets', type: 'iot_sensor', deriveOp: 'counter_reset', deriveFrom: [{ stream: 'counter' }] });
    await create({ id: 'wrapped', name: 'wrapped', type: 'iot_sensor', deriveOp: 'counter_derivative', deriveFrom: [{ name: 'reset', stream: 'reboots' }, { stream: 'counter' }], deriveArgs: { maxValue: 40 } });
    await create({ id: 'traffic', name: 'traffic', type: 'iot_sensor', deriveOp: 'counter_derivative', deriveFrom: [{ name: 'reset', stream: 'resets' }, { stream: 'counter' }] });
  });
  afterAll(() => local?.close());

  it('computes derivative, counter_reset and counter_derivative from batches posted out of order, one of them twice', async () => {
    const late = [{ host: 'a', bytes: 30, timestamp: at(20) }, { host: 'a', bytes: 5, timestamp: at(30) }];
    const early = [{ host: 'a', bytes: 10, timestamp: at(0) }, { host: 'a', bytes: 20, timestamp: at(10) }];
    expect((await post('counter', counter.ingestToken, late)).status).toBe(202);
    await settled('counter', 2);
    expect((await post('counter', counter.ingestToken, early)).status).toBe(202);
    expect((await post('counter', counter.ingestToken, early)).status).toBe(202);
    const rate = await settled('rate', 3);
    expect(values(rate)).toEqual([[at(10), 1], [at(20), 1], [at(30), -2.5]]);
    expect(rate[0].dimensions).toEqual({ host: 'a' });
    expect(values(await settled('resets', 1))).toEqual([[at(30), 1]]);
    // the document's counter example: 10, 20, 30, 5 with max_value 40 → 10/Δt, 10/Δt, (40 - 30 + 5)/Δt
    expect(values(await settled('wrapped', 3))).toEqual([[at(10), 1], [at(20), 1], [at(30), 1.5]]);
    // reset by the derived counter_reset stream: no rate where the counter restarted
    expect(values(await settled('traffic', 2))).toEqual([[at(10), 1], [at(20), 1]]);
  });

  it('recomputes what a late point changes: the reset moves to it, the old reset point is gone', async () => {
    expect((await post('counter', counter.ingestToken, [{ host: 'a', bytes: 2, timestamp: at(25) }])).status).toBe(202);
    await settled('counter', 5);
    expect(values(await local.waitForPoints('resets', all, (p) => p[0]?.time === at(25)))).toEqual([[at(25), 1]]);
    expect(values(await settled('rate', 4))).toEqual([[at(10), 1], [at(20), 1], [at(25), -5.6], [at(30), 0.6]]);
    expect(values(await local.waitForPoints('traffic', all, (p) => p.length === 3))).toEqual([[at(10), 1], [at(20), 1], [at(30), 0.6]]);
    expect(values(await settled('wrapped', 4))).toEqual([[at(10), 1], [at(20), 1], [at(25), 2.4], [at(30), 0.6]]);
  });

  it('sums streams aligned on the second, per series', async () => {
    const a = await local.createStream({ id: 'in-a', name: 'in-a', type: 'iot_sensor', schema: { host: { type: 'string' }, w: { type: 'number' } }, dimensions: ['host'] });
    const b = await local.createStream({ id: 'in-b', name: 'in-b', type: 'iot_sensor', schema: { host: { type: 'string' }, w: { type: 'number' } }, dimensions: ['host'] });
    await create({ id: 'total', name: 'total', type: 'iot_sensor', deriveOp: 'sum', deriveFrom: [{ stream: 'in-a' }, { stream: 'in-b' }] });
    await post('in-a', a.ingestToken, [{ host: 'x', w: 1.5, timestamp: iso(T0 + 200) }, { host: 'x', w: 2, timestamp: at(1) }, { host: 'y', w: 7, timestamp: at(0) }]);
    await post('in-b', b.ingestToken, [{ host: 'x', w: 10, timestamp: iso(T0 + 900) }, { host: 'y', w: 1, timestamp: at(0) }]);
    const total = await settled('total', 2);
    expect(total.map((p) => [p.time, p.dimensions.host, p.values.value])).toEqual([[at(0), 'x', 11.5], [at(0), 'y', 8]]);
  });

  it('refuses records for a derived stream with 409 on every route, and the delete of a source with dependents', async () => {
    const single = await post('rate', counter.ingestToken, [{ value: 1 }]);
    expect([403, 409]).toContain(single.status);
    const asAdmin = await call('/v1/streams/rate/data', { body: [{ host: 'a', value: 1 }] });
    expect(asAdmin.status).toBe(409);
    expect(asAdmin.body.code).toBe('AppendToDerivedStreamNotAllowed');
    const multi = await call('/v1/streams/data', { body: [{ streamId: 'rate', records: { host: 'a', value: 1 } }] });
    expect(multi.body.results[0]).toMatchObject({ streamId: 'rate', status: 409, problem: { code: 'AppendToDerivedStreamNotAllowed' } });
    const removed = await call('/v1/streams/counter', { method: 'DELETE' });
    expect(removed.status).toBe(409);
    expect(removed.body.code).toBe('OutstandingDependenciesError');
    expect(removed.body.detail).toContain("'rate'");
  });

  it('refuses cycles, unknown operators, bad arguments and a derivative of a string field', async () => {
    const loop = await call('/v1/streams', { body: { id: 'loop', name: 'loop', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'loop' }] } });
    expect(loop.status).toBe(400);
    expect(loop.body.code).toBe('DerivationCycle');
    // a body the document's schema refuses too: not checked against it
    const op = await local.api('/v1/streams', { body: { name: 'x', type: 'iot_sensor', deriveOp: 'integral', deriveFrom: [{ stream: 'counter' }] } });
    expect(op.status).toBe(400);
    expect(op.body).toMatchObject({ code: 'UnsupportedDeriveOperator', errors: [{ path: ['deriveOp'] }] });
    const args = await call('/v1/streams', { body: { name: 'x', type: 'iot_sensor', deriveOp: 'counter_derivative', deriveFrom: [{ stream: 'counter' }] } });
    expect(args.status).toBe(400);
    expect(args.body.code).toBe('InvalidOperatorArguments');
    const missing = await call('/v1/streams', { body: { name: 'x', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'nope' }] } });
    expect(missing.body).toMatchObject({ code: 'InvalidOperatorArguments', errors: [{ path: ['deriveFrom', 0, 'stream'] }] });
    await create({ id: 'labels', name: 'labels', type: 'iot_sensor', schema: { label: { type: 'string' } } });
    const types = await call('/v1/streams', { body: { name: 'x', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'labels' }] } });
    expect(types.status).toBe(400);
    expect(types.body).toMatchObject({ code: 'IncompatibleTypes', errors: [{ path: ['deriveFrom', 0, 'field'] }] });
  });

  it('fills a new derived stream from its sources\' history, and backprocesses on request', async () => {
    const filled = await create({ id: 'rate-filled', name: 'rate-filled', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'counter' }] });
    expect(filled.backprocessed).toEqual({ points: 4 });
    expect(values((await call(`/v1/streams/rate-filled/data?${all}`)).body.points)).toEqual([[at(10), 1], [at(20), 1], [at(25), -5.6], [at(30), 0.6]]);
    await create({ id: 'rate-later', name: 'rate-later', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'counter' }], deriveBackprocess: false });
    expect((await call(`/v1/streams/rate-later/data?${all}`)).body.points).toEqual([]);
    const r = await call('/v1/streams/backprocess?ids=rate-later', { method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ streams: [{ streamId: 'rate-later', points: 4 }], more: false });
    expect((await call(`/v1/streams/rate-later/data?${all}`)).body.points).toHaveLength(4);
  });

  it('deletes a derived stream, then its source once nothing derives from it', async () => {
    await create({ id: 'solo', name: 'solo', type: 'iot_sensor', schema: { v: { type: 'number' } } });
    await create({ id: 'solo-rate', name: 'solo-rate', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'solo' }] });
    expect((await call('/v1/streams/solo', { method: 'DELETE' })).status).toBe(409);
    expect((await call('/v1/streams/solo-rate', { method: 'DELETE' })).status).toBe(204);
    expect((await call('/v1/streams/solo', { method: 'DELETE' })).status).toBe(204);
  });

  it('answers as the OpenAPI document says', () => {
    expect(problems).toEqual([]);
  });
});
