import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/commons/openapi';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { ADMIN, startLocal, type Local } from './harness';

/**
 * The datastream document's `append_multiple` (`POST /v1/streams/data`) and `check_timestamp`
 * (`?checkTimestamp=true`, or an entry's `checkTimestamp`), its own examples translated to HTTP.
 */
describe('append_multiple and check_timestamp on the local runtime', () => {
  let local: Local;
  const conform = openApiConformance(JSON.parse(JSON.stringify(openApiDocument())));
  const problems: string[] = [];
  const schema = { value: { type: 'number', range: { max: 1000 } } };
  const all = 'start=2000-01-01T00:00:00Z&end=2000-02-01T00:00:00Z&limit=1000';

  async function call(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
    const r = await local.api(path, init);
    problems.push(...conform.check({ method: init.method ?? 'POST', path: path.split('?')[0]!, requestBody: init.body, status: r.status, contentType: r.type, responseBody: r.body }));
    return r;
  }

  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(() => local?.close());

  it('appends 200 points alternating between two streams in one request, 100 stored in each (test_append_multiple)', async () => {
    await local.createStream({ id: 'foo', name: 'foo', type: 'iot_sensor', schema });
    await local.createStream({ id: 'foo2', name: 'foo2', type: 'iot_sensor', schema });
    const t0 = Date.UTC(2000, 0, 1, 12, 0, 0);
    const body = Array.from({ length: 200 }, (_, i) => ({ streamId: ['foo', 'foo2'][i % 2], records: { value: i, timestamp: new Date(t0 + i * 1000).toISOString() } }));
    const r = await call('/v1/streams/data', { body });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ results: [{ streamId: 'foo', status: 202, accepted: 100 }, { streamId: 'foo2', status: 202, accepted: 100 }] });
    const foo = await local.waitForPoints('foo', all, (p) => p.length === 100);
    expect(foo.map((p) => p.values.value)).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i));
    await local.waitForPoints('foo2', all, (p) => p.length === 100);
  });

  it('answers a retry under the same Idempotency-Key from the first time, storing nothing again, and per token', async () => {
    const a = await local.createStream({ id: 'multi-keyed', name: 'keyed', type: 'iot_sensor', schema });
    // records without a time get their arrival time: a retry stored again would be new points
    const body = JSON.stringify([{ streamId: 'multi-keyed', records: { value: 1 } }]);
    const send = (key: string, token: string, text = body) =>
      fetch(`${local.base}/v1/streams/data`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key }, body: text });
    const first = await send('k-1', a.ingestToken);
    expect(first.status).toBe(202);
    const again = await send('k-1', a.ingestToken);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect((await send('k-1', a.ingestToken, JSON.stringify([{ streamId: 'multi-keyed', records: { value: 3 } }]))).status).toBe(422);
    // the same key from another caller is its own request
    const admin = await send('k-1', ADMIN);
    expect(admin.status).toBe(202);
    expect(admin.headers.get('idempotent-replayed')).toBeNull();
    const now = Date.now();
    // one point per request taken: the first and the admin's, not the replay
    const stored = await local.waitForPoints('multi-keyed', `start=${now - 600_000}&end=${now + 60_000}&limit=1000`, (p) => p.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await local.api(`/v1/streams/multi-keyed/data?start=${now - 600_000}&end=${now + 60_000}&limit=1000`)).body.points).toHaveLength(stored.length);
    expect(stored).toHaveLength(2);
  });

  it('takes or refuses each stream on its own: invalid, unknown, paused and out of scope ones get their problem, the others are stored (207)', async () => {
    const ok = await local.createStream({ id: 'multi-ok', name: 'ok', type: 'iot_sensor', schema });
    const lenient = await local.createStream({ id: 'multi-lenient', name: 'lenient', type: 'iot_sensor', schema, validation: 'lenient' });
    await local.createStream({ id: 'multi-bad', name: 'bad', type: 'iot_sensor', schema });
    await local.createStream({ id: 'multi-paused', name: 'paused', type: 'iot_sensor', schema });
    await local.api('/v1/streams/multi-paused/pause', { method: 'POST' });
    const at = (s: number) => new Date(Date.UTC(2000, 0, 2, 0, 0, s)).toISOString();
    const body = [
      { streamId: 'multi-ok', records: [{ value: 1, timestamp: at(1) }, { value: 2, timestamp: at(2) }] },
      { streamId: 'multi-lenient', records: [{ value: 1, timestamp: at(1) }, { value: 5000, timestamp: at(2) }] },
      { streamId: 'multi-bad', records: [{ value: 'x', timestamp: at(1) }] },
      { streamId: 'multi-paused', records: { value: 1 } },
      { streamId: 'multi-nope', records: { value: 1 } },
    ];
    const r = await call('/v1/streams/data', { body });
    expect(r.status).toBe(207);
    const byStream = Object.fromEntries(r.body.results.map((x: { streamId: string }) => [x.streamId, x]));
    expect(byStream['multi-ok']).toEqual({ streamId: 'multi-ok', status: 202, accepted: 2 });
    expect(byStream['multi-lenient']).toMatchObject({ status: 202, accepted: 1, rejected: [{ index: 1, path: ['value'] }] });
    expect(byStream['multi-bad']).toMatchObject({ status: 400, problem: { code: 'InvalidRecords', errors: [{ index: 0, path: ['value'] }] } });
    expect(byStream['multi-paused']).toMatchObject({ status: 409, problem: { code: 'StreamPaused' } });
    expect(byStream['multi-nope']).toMatchObject({ status: 404, problem: { code: 'StreamNotFound' } });
    await local.waitForPoints('multi-ok', all, (p) => p.length === 2);
    await local.waitForPoints('multi-lenient', all, (p) => p.length === 1);
    expect((await local.api(`/v1/streams/multi-bad/data?${all}`)).body.points).toEqual([]);

    // an ingest token names its own stream only: the other stream of the request is a 403 result
    const mixed = await call('/v1/streams/data', { token: ok.ingestToken, body: [{ streamId: 'multi-ok', records: { value: 3, timestamp: at(3) } }, { streamId: 'multi-lenient', records: { value: 3 } }] });
    expect(mixed.status).toBe(207);
    expect(mixed.body.results).toMatchObject([{ streamId: 'multi-ok', status: 202 }, { streamId: 'multi-lenient', status: 403, problem: { code: 'Forbidden' } }]);
    const read = (await local.api('/v1/streams/multi-ok/tokens', { body: { scope: 'read' } })).body.token;
    expect((await call('/v1/streams/data', { token: read, body: [{ streamId: 'multi-ok', records: { value: 4 } }] })).status).toBe(403);
    expect(lenient.ingestToken).toMatch(/^trb_/);
  });

  it('refuses a body of another shape whole, naming each problem', async () => {
    const r = await local.api('/v1/streams/data', { body: [{ streamId: 'Not An Id', records: 1, extra: true }] });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { path: unknown[] }) => e.path)).toEqual([[0, 'extra'], [0, 'streamId'], [0, 'records']]);
    expect((await local.api('/v1/streams/data', { body: [] })).status).toBe(400);
  });

  it('with checkTimestamp refuses a point older than the stream’s newest, and takes it without (test_monotonicity_timestamp)', async () => {
    const { id, ingestToken } = await local.createStream({ id: 'fooclub', name: 'fooclub', type: 'iot_sensor', schema });
    const day = (d: number) => new Date(Date.UTC(2000, 0, d, 12, 0, 0)).toISOString();
    const append = (timestamp: string, check: boolean) => call(`/v1/streams/${id}/data${check ? '?checkTimestamp=true' : ''}`, { token: ingestToken, body: { value: 1, timestamp } });
    expect((await append(day(1), true)).status).toBe(202);
    expect((await append(day(3), true)).status).toBe(202);
    const refused = await append(day(2), true);
    expect(refused.status).toBe(409);
    expect(refused.type).toBe('application/problem+json');
    expect(refused.body).toMatchObject({
      code: 'InvalidTimestamp',
      errors: [{ index: 0, path: ['timestamp'], message: "2000-01-02T12:00:00.000Z is older than the stream's newest point (2000-01-03T12:00:00.000Z)" }],
    });
    expect((await append(day(3), true)).status).toBe(202); // equal is allowed
    expect((await append(day(2), false)).status).toBe(202);
    const points = await local.waitForPoints(id, all, (p) => p.length === 3);
    expect(points.map((p) => p.time)).toEqual([day(1), day(2), day(3)]);
    expect((await local.api(`/v1/streams/${id}/status`)).body.newestPointAt).toBe(day(3));
  });

  it('with checkTimestamp refuses records out of order within one request, and holds points stored unchecked to the same rule', async () => {
    const { id, ingestToken } = await local.createStream({ id: 'ordered', name: 'ordered', type: 'iot_sensor', schema });
    const at = (s: number) => new Date(Date.UTC(2000, 0, 5, 0, 0, s)).toISOString();
    const disordered = await call(`/v1/streams/${id}/data?checkTimestamp=true`, { token: ingestToken, body: [{ value: 1, timestamp: at(1) }, { value: 2, timestamp: at(3) }, { value: 3, timestamp: at(2) }] });
    expect(disordered.status).toBe(409);
    expect(disordered.body.errors).toEqual([{ index: 2, path: ['timestamp'], message: `${at(2)} is older than the record before it (${at(3)})` }]);
    // unchecked points move the newest once stored
    expect((await call(`/v1/streams/${id}/data`, { token: ingestToken, body: { value: 1, timestamp: at(10) } })).status).toBe(202);
    await local.waitForPoints(id, all, (p) => p.length === 1);
    const multi = await call('/v1/streams/data', { body: [{ streamId: id, records: { value: 1, timestamp: at(5) }, checkTimestamp: true }] });
    expect(multi.status).toBe(207);
    expect(multi.body.results[0]).toMatchObject({ status: 409, problem: { code: 'InvalidTimestamp' } });
    expect((await call(`/v1/streams/${id}/data?checkTimestamp=maybe`, { token: ingestToken, body: { value: 1 } })).status).toBe(400);
  });

  it('every exchange matched the OpenAPI document', () => {
    expect(problems).toEqual([]);
  });
});
