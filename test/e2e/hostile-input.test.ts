import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishQos1, startLocal, type Local } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const window = `start=${iso(T0)}&end=${iso(T0 + 3_600_000)}`;

/**
 * Issue 18, items 5-11: inputs a client chose that used to earn a 503, a 500, a silently dropped key, an
 * unfiltered list or an altered value. Each is now a 4xx problem+json naming what is wrong.
 */
describe('hostile input is refused with a 4xx naming the field', () => {
  let local: Local;
  let stream: { id: string; ingestToken: string };
  const definition = {
    name: 'Hostile input',
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true },
      temperature: { type: 'number' },
      label: { type: 'string' },
      meta: { type: 'object' },
    },
    dimensions: ['deviceId'],
    tags: { site: 'north' },
  };

  const expectProblem = (r: { status: number; type: string; body: any }, status: number, path?: (string | number)[]) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.type).toBe('application/problem+json');
    if (path) expect(r.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  };

  beforeAll(async () => {
    local = await startLocal();
    stream = await local.createStream(definition);
    await local.createStream({ ...definition, name: 'Hostile input, south', tags: { site: 'south' } });
  });
  afterAll(() => local?.close());

  it('an empty tag key in a list filter is a 400, not a 503', async () => {
    expectProblem(await local.api('/v1/streams?tag.=x'), 400, ['tag.']);
  });

  it('?tag.__proto__=x is a 400, never the list of every stream', async () => {
    const r = await local.api('/v1/streams?tag.__proto__=x');
    expectProblem(r, 400, ['tag.__proto__']);
  });

  it('a 3,000-character id is a 404 on every route with an id, never a 5xx', async () => {
    const long = 'a'.repeat(3000);
    const calls: [string, string, unknown?][] = [
      ['GET', `/v1/streams/${long}`],
      ['PATCH', `/v1/streams/${long}`, { name: 'x' }],
      ['DELETE', `/v1/streams/${long}`],
      ['POST', `/v1/streams/${long}/pause`],
      ['POST', `/v1/streams/${long}/resume`],
      ['GET', `/v1/streams/${long}/status`],
      ['POST', `/v1/streams/${long}/tokens`, { scope: 'read' }],
      ['POST', `/v1/streams/${long}/data`, { deviceId: 'd1', temperature: 1 }],
      ['GET', `/v1/streams/${long}/data?${window}`],
      ['GET', `/v1/streams/${long}/latest`],
      ['POST', `/v1/streams/${long}/pull`],
      ['GET', `/v1/streams/${long}/alerts`],
      ['POST', `/v1/streams/${long}/alert-secret`],
      ['POST', `/v1/alerts/${long}.${'b'.repeat(20)}/ack`],
      ['POST', `/v1/alerts/${long}/ack`],
    ];
    for (const [method, path, body] of calls) {
      const r = await local.api(path, { method, ...(body !== undefined && { body }) });
      expect(`${method} ${path.slice(0, 30)}… → ${r.status}`).toBe(`${method} ${path.slice(0, 30)}… → 404`);
      expect(r.type).toBe('application/problem+json');
    }
  });

  it('a token request whose body is not an object (null, an array, a number) is a 400, not a 500', async () => {
    for (const raw of ['null', '[]', '5', '"read"']) {
      expectProblem(await local.api(`/v1/streams/${stream.id}/tokens`, { method: 'POST', raw }), 400, []);
    }
    expect((await local.api(`/v1/streams/${stream.id}/tokens`, { method: 'POST', raw: '{"scope":"read"}' })).status).toBe(201);
  });

  it('a schema field named __proto__ is a 400 naming it, at create and at update', async () => {
    const raw = JSON.stringify({ ...definition, name: 'Proto' }).replace('"deviceId":{', '"__proto__":{"type":"number"},"deviceId":{');
    expect(raw).toContain('"__proto__"');
    expectProblem(await local.api('/v1/streams', { raw }), 400, ['schema', '__proto__']);
    const patch = await local.api(`/v1/streams/${stream.id}`, { method: 'PATCH', raw: '{"schema":{"__proto__":{"type":"number"}}}' });
    expectProblem(patch, 400, ['schema', '__proto__']);
  });

  it('a tag key __proto__ is a 400 naming it, at create and at update', async () => {
    const raw = JSON.stringify({ ...definition, name: 'Proto tags', tags: { site: 'x' } }).replace('"tags":{', '"tags":{"__proto__":"x",');
    expectProblem(await local.api('/v1/streams', { raw }), 400, ['tags', '__proto__']);
    const patch = await local.api(`/v1/streams/${stream.id}`, { method: 'PATCH', raw: '{"tags":{"__proto__":"x"}}' });
    expectProblem(patch, 400, ['tags', '__proto__']);
    expect((await local.api(`/v1/streams/${stream.id}`)).body.tags).toEqual({ site: 'north' });
  });

  it('a tag value or name with a lone surrogate is a 400 naming the field', async () => {
    const raw = JSON.stringify({ ...definition, name: 'Lone', tags: { site: 'PLACEHOLDER' } }).replace('PLACEHOLDER', 'x\\ud800y');
    expectProblem(await local.api('/v1/streams', { raw }), 400, ['tags', 'site']);
    expectProblem(await local.api(`/v1/streams/${stream.id}`, { method: 'PATCH', raw: '{"name":"a\\udfffb"}' }), 400, ['name']);
  });

  describe('a lone UTF-16 surrogate in a record', () => {
    const send = (raw: string) => local.api(`/v1/streams/${stream.id}/data`, { token: stream.ingestToken, raw });

    it('in a string field over HTTP: 400 naming the field, nothing stored', async () => {
      const r = await send(`{"deviceId":"d1","timestamp":"${iso(T0)}","label":"x\\ud800y"}`);
      expectProblem(r, 400, ['label']);
      expect(r.body.errors[0].message).toMatch(/lone UTF-16 surrogate/);
    });

    it('in a dimension value, a nested object value or a nested key over HTTP: 400 naming the path', async () => {
      expectProblem(await send(`{"deviceId":"d\\udc00","timestamp":"${iso(T0)}"}`), 400, ['deviceId']);
      expectProblem(await send(`{"deviceId":"d1","timestamp":"${iso(T0)}","meta":{"a":["ok","\\ud83d"]}}`), 400, ['meta', 'a', 1]);
      expectProblem(await send(`{"deviceId":"d1","timestamp":"${iso(T0)}","meta":{"k\\ud800":1}}`), 400, ['meta', 'k\ud800']);
    });

    it('over MQTT: the publish is refused (no PUBACK), and nothing is stored', async () => {
      const device = await local.device('d9', stream.ingestToken);
      const outcome = await publishQos1(device, `tributary/${stream.id}/data`, `{"deviceId":"d9","timestamp":"${iso(T0 + 1000)}","label":"x\\ud800y"}`);
      expect(outcome).toBe('closed');
    });

    it('a well-formed pair (an emoji) is stored exactly, and none of the refused records was stored', async () => {
      expect((await send(`{"deviceId":"d1","timestamp":"${iso(T0 + 2000)}","label":"x\\ud83d\\ude00y"}`)).status).toBe(202);
      const points = await local.waitForPoints(stream.id, window, (p) => p.length >= 1);
      await new Promise((r) => setTimeout(r, 300));
      const all = (await local.api(`/v1/streams/${stream.id}/data?${window}`)).body.points;
      expect(all).toHaveLength(1);
      expect(points[0].values.label).toBe('x😀y');
    });
  });
});
