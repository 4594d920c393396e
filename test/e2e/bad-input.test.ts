import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishQos1, startLocal, type Local } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Every bad input of the foundation issue, each answered with its status and a problem+json a person can
 * act on; afterwards the data accepted before is intact and the service still serves.
 */
describe('bad input gets a clear answer and loses nothing', () => {
  let local: Local;
  let stream: { id: string; ingestToken: string };
  let other: { id: string; ingestToken: string };
  const good = [
    { deviceId: 'd1', timestamp: iso(T0), temperature: 20.5, status: 'ok' },
    { deviceId: 'd1', timestamp: iso(T0 + 60_000), temperature: 21, status: 'ok' },
  ];
  const definition = {
    name: 'Strict sensors',
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true },
      temperature: { type: 'number', range: { min: -50, max: 80 }, required: true },
      status: { type: 'string', enum: ['ok', 'fault'] },
      meta: { type: 'object' },
    },
    dimensions: ['deviceId'],
  };

  const post = (body: unknown, init: { token?: string | null; raw?: string; contentType?: string; id?: string } = {}) =>
    local.api(`/v1/streams/${init.id ?? stream.id}/data`, {
      token: init.token === undefined ? stream.ingestToken : init.token,
      ...(init.raw !== undefined ? { raw: init.raw } : { body }),
      ...(init.contentType && { contentType: init.contentType }),
    });

  const expectProblem = (r: { status: number; type: string; body: any }, status: number, detail?: RegExp) => {
    expect(r.status).toBe(status);
    expect(r.type).toBe('application/problem+json');
    expect(r.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    if (detail) expect(r.body.detail).toMatch(detail);
  };
  const expectFieldError = (r: { status: number; type: string; body: any }, index: number, path: (string | number)[], message: RegExp) => {
    expectProblem(r, 400);
    expect(r.body.errors).toEqual(expect.arrayContaining([{ index, path, message: expect.stringMatching(message) }]));
  };

  beforeAll(async () => {
    local = await startLocal();
    stream = await local.createStream(definition);
    other = await local.createStream({ ...definition, name: 'Other' });
    expect((await post(good)).status).toBe(202);
    await local.waitForPoints(stream.id, `start=${iso(T0)}&end=${iso(T0 + 3_600_000)}`, (p) => p.length === 2);
  });
  afterAll(() => local?.close());

  it('malformed JSON → 400 saying where it broke', async () => {
    expectProblem(await post(undefined, { raw: '[{"deviceId": "d1", "temperature": 2' }), 400, /not valid JSON/);
  });
  it('wrong content type → 415', async () => {
    expectProblem(await post(undefined, { raw: 'deviceId=d1', contentType: 'application/x-www-form-urlencoded' }), 415, /application\/json/);
  });
  it('an empty array → 400', async () => {
    expectProblem(await post([]), 400, /empty/);
  });
  it('an empty body → 400', async () => {
    expectProblem(await post(undefined, { raw: '' }), 400, /empty/);
  });
  it('1e400 (Infinity once parsed) → 400 at the field', async () => {
    expectFieldError(await post(undefined, { raw: '{"deviceId":"d1","temperature":1e400}' }), 0, ['temperature'], /finite/);
  });
  it('a number sent as a string → 400 naming the type and value', async () => {
    expectFieldError(await post([good[0], { deviceId: 'd1', temperature: '21.5' }]), 1, ['temperature'], /must be a number, got string "21.5"/);
  });
  it('an out-of-range value → 400 with the range', async () => {
    expectFieldError(await post({ deviceId: 'd1', temperature: 81 }), 0, ['temperature'], /outside the range \[-50, 80\]/);
  });
  it('a value outside the enum → 400 listing the allowed values', async () => {
    expectFieldError(await post({ deviceId: 'd1', temperature: 1, status: 'melting' }), 0, ['status'], /one of "ok", "fault"/);
  });
  it('an unknown field in a strict stream → 400', async () => {
    expectFieldError(await post({ deviceId: 'd1', temperature: 1, humidity: 3 }), 0, ['humidity'], /unknown field/);
  });
  it('a missing required field → 400', async () => {
    expectFieldError(await post({ deviceId: 'd1' }), 0, ['temperature'], /required/);
  });
  it('a timestamp that does not parse → 400', async () => {
    expectFieldError(await post({ deviceId: 'd1', temperature: 1, timestamp: 'yesterday noon' }), 0, ['timestamp'], /RFC 3339/);
  });
  it('a timestamp more than 15 minutes in the future → 400', async () => {
    expectFieldError(await post({ deviceId: 'd1', temperature: 1, timestamp: iso(Date.now() + 20 * 60_000) }), 0, ['timestamp'], /future/);
  });
  it('every invalid record of a batch is listed, not just the first', async () => {
    const r = await post([{ deviceId: 'd1', temperature: 'x' }, good[0], { temperature: 1 }]);
    expectProblem(r, 400);
    expect(r.body.errors.map((e: any) => [e.index, e.path])).toEqual([
      [0, ['temperature']],
      [2, ['deviceId']],
    ]);
  });
  it('a body over the size limit → 413', async () => {
    const big = JSON.stringify({ deviceId: 'd1', temperature: 1, meta: { pad: 'x'.repeat(6 * 1024 * 1024) } });
    expectProblem(await post(undefined, { raw: big }), 413, /bytes/);
  });
  it('a 50 000-record array → 413 telling the maximum per request', async () => {
    const many = Array.from({ length: 50_000 }, () => ({ deviceId: 'd1', temperature: 1 }));
    expectProblem(await post(many), 413, /at most 10000/);
  });
  it('deeply nested JSON → 400, answered fast', async () => {
    const deep = `{"deviceId":"d1","temperature":1,"meta":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    const started = performance.now();
    expectProblem(await post(undefined, { raw: deep }), 400, /nested deeper/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
  it('an unknown stream → 404 (admin token)', async () => {
    expectProblem(await post(good, { id: 'no-such-stream', token: 'trb_e2e-admin-token-0123456789abcdef' }), 404, /no-such-stream/);
  });
  it('no token → 401', async () => {
    expectProblem(await post(good, { token: null }), 401, /Bearer/);
  });
  it('an unknown token → 401', async () => {
    expectProblem(await post(good, { token: 'trb_not-a-real-token' }), 401, /not known/);
  });
  it("another stream's ingest token → 403", async () => {
    expectProblem(await post(good, { token: other.ingestToken }), 403, new RegExp(`ingest:${stream.id}`));
  });
  it('an ingest token cannot read → 403', async () => {
    expectProblem(await local.api(`/v1/streams/${stream.id}/data`, { token: stream.ingestToken }), 403, /read:/);
  });
  it('an ingest token cannot manage streams → 403', async () => {
    expectProblem(await local.api('/v1/streams', { token: stream.ingestToken }), 403, /admin/);
  });
  it('a paused stream → 409, and resumes', async () => {
    expect((await local.api(`/v1/streams/${other.id}/pause`, { method: 'POST' })).status).toBe(200);
    expectProblem(await post(good, { id: other.id, token: other.ingestToken }), 409, /paused/);
    expect((await local.api(`/v1/streams/${other.id}/resume`, { method: 'POST' })).status).toBe(200);
    expect((await post(good, { id: other.id, token: other.ingestToken })).status).toBe(202);
  });
  it('an invalid stream definition → 400 with every field path', async () => {
    const r = await local.api('/v1/streams', { body: { name: '', type: 'toaster', schema: { 'bad name': { type: 'number' } } } });
    expectProblem(r, 400);
    const paths = r.body.errors.map((e: any) => e.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['name', 'type', 'schema.bad name']));
  });
  it('bad query parameters → 400 naming the parameter', async () => {
    const r = await local.api(`/v1/streams/${stream.id}/data?granularity=7m&fields=nope&limit=0`);
    expectProblem(r, 400);
    expect(r.body.errors.map((e: any) => e.path[0]).sort()).toEqual(['fields', 'granularity', 'limit']);
  });
  it('an unknown route → 404, a wrong method → 405', async () => {
    expectProblem(await local.api('/v2/nothing'), 404);
    expectProblem(await local.api(`/v1/streams/${stream.id}/data`, { method: 'PUT', body: {} }), 405);
  });

  describe('over MQTT', () => {
    it('a wrong password is refused at CONNECT', async () => {
      await expect(local.device('d1', 'trb_wrong')).rejects.toThrow();
    });
    it("a device publishing to another stream's topic is disconnected, never PUBACKed, and nothing is stored", async () => {
      const device = await local.device('intruder', stream.ingestToken);
      const outcome = await publishQos1(device, `tributary/${other.id}/data`, JSON.stringify({ deviceId: 'intruder', temperature: 5, timestamp: iso(T0 + 7_200_000) }));
      expect(outcome).toBe('closed');
      const r = await local.api(`/v1/streams/${other.id}/data?start=${iso(T0 + 7_200_000)}&end=${iso(T0 + 7_300_000)}`);
      expect(r.body.points).toEqual([]);
    });
    it('an invalid payload is refused by closing the connection, never PUBACKed', async () => {
      const device = await local.device('d2', stream.ingestToken);
      expect(await publishQos1(device, `tributary/${stream.id}/data`, '{"temperature": "hot"}')).toBe('closed');
      const device2 = await local.device('d3', stream.ingestToken);
      expect(await publishQos1(device2, `tributary/${stream.id}/data`, 'not json')).toBe('closed');
    });
  });

  it('after all of that, the accepted data is intact and the service still serves', async () => {
    const r = await local.api(`/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(T0 + 3_600_000)}`);
    expect(r.status).toBe(200);
    expect(r.body.points.map((p: any) => p.values.temperature)).toEqual([20.5, 21]);
    expect((await post({ deviceId: 'd1', temperature: 22, timestamp: iso(T0 + 120_000) })).status).toBe(202);
    await local.waitForPoints(stream.id, `start=${iso(T0)}&end=${iso(T0 + 3_600_000)}`, (p) => p.length === 3);
  });
});
