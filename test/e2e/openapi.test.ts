import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/commons/openapi';
import { documentDefinition } from '../fixtures/data-streams';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';

const ADMIN = 'trb_openapi-admin-token-0123456789abcd';

describe('GET /v1/openapi.json on the local runtime, and real exchanges checked against it', () => {
  let rt: RuntimeProcess;
  let doc: any;
  let conform: ReturnType<typeof openApiConformance>;
  let checked: ReturnType<ReturnType<typeof openApiConformance>['wrap']>;

  const call = (path: string, init: { method?: string; body?: unknown; token?: string | null; key?: string } = {}) =>
    checked.fetch(`${rt.base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.token !== null && { authorization: `Bearer ${init.token ?? ADMIN}` }),
        'content-type': 'application/json',
        ...(init.key && { 'idempotency-key': init.key }),
      },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_QUIET: '1' });
  });
  afterAll(() => rt?.close());

  it('serves the document without a token, as generated from the schemas, cacheable', async () => {
    const res = await fetch(`${rt.base}/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toMatch(/max-age/);
    doc = await res.json();
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect((await fetch(`${rt.base}/openapi.json`)).status).toBe(200);
    conform = openApiConformance(doc);
    checked = conform.wrap();
  });

  it('every request and answer of a stream’s life matches the document', async () => {
    const created = await call('/v1/streams', { body: { ...documentDefinition('basic-stream-creation'), id: 'oa-temps' } });
    expect(created.status).toBe(201);
    const { ingestToken } = (await created.json()) as { ingestToken: string };
    expect((await call('/v1/streams', { body: { name: 'x', type: 'nope', schema: {} } })).status).toBe(400);
    expect((await call('/v1/streams?limit=5')).status).toBe(200);
    expect((await call('/v1/streams/oa-temps')).status).toBe(200);
    expect((await call('/v1/streams/nope')).status).toBe(404);
    expect((await call('/v1/streams/oa-temps', { token: null })).status).toBe(401);
    expect((await call('/v1/streams/oa-temps', { method: 'PATCH', body: { tags: { env: 'test' } } })).status).toBe(200);
    const records = [0, 1, 2].map((i) => ({ timestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(), temperature: 20 + i }));
    expect((await call('/v1/streams/oa-temps/data', { body: records, token: ingestToken, key: 'oa-1' })).status).toBe(202);
    expect((await call('/v1/streams/oa-temps/data', { body: records, token: ingestToken, key: 'oa-1' })).status).toBe(202);
    expect((await call('/v1/streams/oa-temps/data', { body: records, token: ingestToken })).status).toBe(202);
    expect((await call('/v1/streams/oa-temps/data', { body: { temperature: 'hot' }, token: ingestToken })).status).toBe(400);
    expect((await call('/v1/streams/oa-temps/data', { body: records[0], token: ADMIN.replace('a', 'b') })).status).toBe(401);
    expect((await call('/v1/streams/oa-temps/data?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&limit=2')).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/data?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&granularity=1h&downsamplers=mean,max')).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/data?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&window=session:10m&downsamplers=trend,p95')).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/data?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&window=sliding:1y/1s')).status).toBe(400);
    expect((await call('/v1/streams/oa-temps/data?limit=0')).status).toBe(400);
    expect((await call('/v1/streams/oa-temps/latest')).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/status')).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/tokens', { body: { scope: 'read' } })).status).toBe(201);
    expect((await call('/v1/streams/oa-temps/data', { body: records[0], token: (await (await call('/v1/streams/oa-temps/tokens', { body: { scope: 'read' } })).json() as any).token })).status).toBe(403);
    expect((await call('/v1/streams/oa-temps/pause', { method: 'POST' })).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/data', { body: records[0], token: ingestToken })).status).toBe(409);
    expect((await call('/v1/streams/oa-temps/resume', { method: 'POST' })).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/processor', { method: 'PUT', body: { transformations: [{ name: 'keep', function: 'function keep(data) { return data; }' }] } })).status).toBe(200);
    expect((await call('/v1/streams/oa-temps/alerts')).status).toBe(200);
    expect((await call('/v1/alerts?state=firing')).status).toBe(200);
    expect((await call('/query?q=SHOW%20MEASUREMENTS')).status).toBe(200);
    expect((await call('/v1/streams/oa-temps', { method: 'DELETE' })).status).toBe(204);
    expect(checked.problems).toEqual([]);
    expect(new Set(conform.checked.map((c) => c.split(' ').slice(0, 2).join(' '))).size).toBeGreaterThanOrEqual(16);
  });

  it('would catch an answer that drifted from the document', () => {
    const problems = conform.check({ method: 'GET', path: '/v1/streams/x/status', status: 200, contentType: 'application/json', responseBody: { streamId: 'x', state: 'on' } });
    expect(problems.join('\n')).toMatch(/200 answer/);
    expect(conform.check({ method: 'POST', path: '/v1/streams/x/data', status: 418, contentType: 'application/json', responseBody: {} })).toEqual([expect.stringMatching(/418/)]);
  });
});
