import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/commons/routes';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** Percent-encodes, or (for text with a lone surrogate, which URIs cannot carry) sends its escape as is. */
const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
};
/** A deeper run: TRIBUTARY_FUZZ_RUNS=5000 npx vitest run test/e2e/routes.fuzz.test.ts */
const RUNS = Number(process.env.TRIBUTARY_FUZZ_RUNS ?? 1000);
const TIME_LIMIT_MS = 60_000;

const definition = {
  id: 'fz',
  name: 'Fuzzed',
  type: 'iot_sensor',
  schema: {
    deviceId: { type: 'string', required: true },
    temperature: { type: 'number', range: { min: -50, max: 80 } },
    count: { type: 'integer' },
    ok: { type: 'boolean' },
    state: { type: 'string', enum: ['on', 'off'] },
    at: { type: 'datetime' },
    meta: { type: 'object' },
    list: { type: 'array' },
  },
  dimensions: ['deviceId'],
  tags: { env: 'fuzz' },
};

interface Sent {
  method: string;
  path: string;
  query: string;
  token: string;
  headers: Record<string, string>;
  body: string | undefined;
}

describe('no route answers 5xx for any input a client chose', () => {
  let rt: RuntimeProcess;
  const tokens: Record<string, string> = { admin: ADMIN };

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const created = await fetch(`${rt.base}/v1/streams`, { method: 'POST', headers: admin, body: JSON.stringify(definition) });
    expect(created.status).toBe(201);
    tokens.ingest = ((await created.json()) as { ingestToken: string }).ingestToken;
    const read = await fetch(`${rt.base}/v1/streams/fz/tokens`, { method: 'POST', headers: admin, body: JSON.stringify({ scope: 'read' }) });
    expect(read.status).toBe(201);
    tokens.read = ((await read.json()) as { token: string }).token;
    const data = [{ deviceId: 'd1', temperature: 20, timestamp: new Date(T0).toISOString() }];
    const posted = await fetch(`${rt.base}/v1/streams/fz/data`, { method: 'POST', headers: { ...admin, authorization: `Bearer ${tokens.ingest}` }, body: JSON.stringify(data) });
    expect(posted.status).toBe(202);
  });
  afterAll(() => rt?.close());

  // ---- what a client may send ----
  const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~'), maxLength: 40 });
  const anyText = fc.oneof(printable, fc.string({ unit: 'binary', maxLength: 40 }));
  const id = fc.oneof(
    { weight: 6, arbitrary: fc.constant('fz') },
    { weight: 1, arbitrary: fc.constantFrom('nope', 'demo', '..', '.', '%2F', '%00', '%', '%zz', '%E2%82', 'FZ', '-x', '_') },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,70}$/) },
    { weight: 1, arbitrary: anyText.filter((s) => s.length > 0).map(enc) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 3_000 }).map((n) => 'a'.repeat(n)) },
  );
  const anyMethod = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD');
  const target = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), id).map(([route, i]) => ({ path: route.path.replace('{id}', i), method: route.method as string })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), id, anyMethod).map(([route, i, m]) => ({ path: route.path.replace('{id}', i), method: m as string })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.array(fc.oneof(fc.constantFrom('v1', 'streams', 'alerts', 'data', ''), anyText.map(enc)), { maxLength: 6 }), anyMethod)
        .map(([parts, m]) => ({ path: `/${parts.join('/')}`, method: m as string })),
    },
    { weight: 1, arbitrary: fc.constantFrom(...ROUTES).map((route) => ({ path: `${route.path.replace('{id}', 'fz')}/`, method: route.method as string })) },
  );
  const iso = fc.date({ min: new Date(-1e15), max: new Date(1e15), noInvalidDate: true }).map((d) => d.toISOString());
  const queryValue = fc.oneof(
    anyText,
    iso,
    fc.constantFrom('raw', '1m', '1h', '1d', '0s', '-1m', 'mean', 'mean,min,max,count', 'first,last', 'asc', 'desc', 'firing', 'resolved', '0', '-1', '10001', '1e309', 'NaN', ''),
    fc.integer().map(String),
    fc.double().map(String),
  );
  const queryKey = fc.oneof(
    fc.constantFrom('start', 'end', 'fields', 'granularity', 'downsamplers', 'groupBy', 'limit', 'cursor', 'order', 'state', 'tag.env', 'dim.deviceId', 'dim.', 'dim.temperature', 'tag.x', 'tag.', 'tag.__proto__', 'dim.__proto__'),
    anyText,
  );
  const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'));
  const token = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('admin', 'admin', 'ingest', 'read') },
    { weight: 1, arbitrary: fc.constantFrom('none', 'garbage') },
    { weight: 1, arbitrary: printable.map((s) => `raw:${s}`) },
  );
  const record = fc.record(
    {
      deviceId: fc.oneof(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })),
      temperature: fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)),
      count: fc.oneof(fc.integer(), fc.double(), fc.bigInt().map(String)),
      ok: fc.oneof(fc.boolean(), fc.string({ maxLength: 5 })),
      state: fc.oneof(fc.constantFrom('on', 'off'), fc.string({ maxLength: 5 })),
      at: fc.oneof(iso, fc.string({ maxLength: 10 }), fc.integer()),
      timestamp: fc.oneof(iso, fc.integer(), fc.double(), fc.string({ maxLength: 10 })),
      meta: fc.jsonValue({ maxDepth: 3 }),
      list: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );
  const streamish = fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,10}$/), anyText),
      name: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      type: fc.oneof(fc.constantFrom('iot_sensor', 'api_pull', 'event_stream', 'database'), anyText),
      schema: fc.oneof(
        fc.dictionary(fc.oneof(fc.stringMatching(/^[a-z]{1,8}$/), anyText), fc.record({ type: fc.oneof(fc.constantFrom('number', 'integer', 'string', 'boolean', 'datetime', 'object', 'array'), anyText), required: fc.boolean() }, { requiredKeys: ['type'] }), { maxKeys: 4 }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      dimensions: fc.array(fc.oneof(fc.stringMatching(/^[a-z]{1,8}$/), anyText), { maxLength: 3 }),
      tags: fc.dictionary(anyText, fc.oneof(anyText, fc.jsonValue({ maxDepth: 1 })), { maxKeys: 3 }),
      validation: fc.oneof(fc.constantFrom('strict', 'lenient'), anyText),
      timeField: fc.oneof(fc.constant('timestamp'), anyText),
      alerts: fc.jsonValue({ maxDepth: 3 }),
      scope: fc.oneof(fc.constantFrom('read', 'ingest', 'admin'), anyText),
      label: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.oneof(record, fc.array(record, { maxLength: 5 })).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: streamish.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.constantFrom('', 'null', '[]', '{}', '[null]', '{"__proto__":{"x":1}}', '[{', '"x\\ud800y"', '1e400', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]') },
    { weight: 1, arbitrary: anyText },
  );
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/problem+json', 'text/plain', 'application/x-www-form-urlencoded', 'none', '') },
    { weight: 1, arbitrary: printable },
  );
  const extraHeaders = fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), printable, { maxKeys: 3 });
  const request = fc.record({ target, query, token, contentType, extraHeaders, body });

  it(`${RUNS} random requests (paths, queries, headers, bodies, tokens) get no 5xx, and the runtime serves on`, async () => {
    const failures: { req: Sent; status: number; body: string }[] = [];
    const statuses: Record<number, number> = {};
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const { method: m } = r.target;
        // the stream the other requests aim at stays (deleting it would turn the rest into 401s and 404s)
        const urlPath = m === 'DELETE' && r.target.path === '/v1/streams/fz' ? '/v1/streams/fz-other' : r.target.path;
        const auth = r.token.startsWith('raw:') ? r.token.slice(4) : r.token === 'none' ? '' : r.token === 'garbage' ? 'Bearer trb_not-a-real-token-000000' : `Bearer ${tokens[r.token]}`;
        const headers: Record<string, string> = { ...r.extraHeaders };
        if (auth) headers.authorization = auth;
        if (r.contentType !== 'none') headers['content-type'] = r.contentType;
        const withBody = r.body !== undefined && m !== 'GET' && m !== 'HEAD';
        const req: Sent = { method: m, path: urlPath, query: r.query, token: r.token, headers, body: withBody ? r.body : undefined };
        let res: Response;
        try {
          res = await fetch(`${rt.base}${urlPath}${r.query ? `?${r.query}` : ''}`, { method: m, headers, ...(withBody && { body: r.body }), signal: AbortSignal.timeout(15_000) });
        } catch (err) {
          // a header value fetch itself refuses to send is not a request the server saw
          if (err instanceof TypeError && !(err as { cause?: unknown }).cause) return;
          failures.push({ req, status: 0, body: String((err as Error)?.message) + String((err as { cause?: Error }).cause?.message ?? '') });
          return;
        }
        sent++;
        const text = await res.text();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status < 500) return;
        failures.push({ req, status: res.status, body: text.slice(0, 300) });
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, endOnFailure: true },
    );
    console.log(`route fuzz: ${sent} requests answered; statuses ${JSON.stringify(statuses)}`);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(sent).toBeGreaterThan(RUNS / 4);

    // alive: a normal ingest and query still work
    expect(rt.pid).toBeDefined();
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const created = await fetch(`${rt.base}/v1/streams`, { method: 'POST', headers: admin, body: JSON.stringify({ ...definition, id: 'after', tags: {} }) });
    expect(created.status).toBe(201);
    const { ingestToken } = (await created.json()) as { ingestToken: string };
    const posted = await fetch(`${rt.base}/v1/streams/after/data`, {
      method: 'POST',
      headers: { ...admin, authorization: `Bearer ${ingestToken}` },
      body: JSON.stringify({ deviceId: 'd9', temperature: 12.5, timestamp: new Date(T0).toISOString() }),
    });
    expect(posted.status).toBe(202);
    let points: unknown[] = [];
    for (const until = Date.now() + 15_000; Date.now() < until && points.length === 0; await new Promise((r) => setTimeout(r, 100))) {
      const q = await fetch(`${rt.base}/v1/streams/after/data?start=${new Date(T0).toISOString()}&end=${new Date(T0 + 1000).toISOString()}`, { headers: admin });
      expect(q.status).toBe(200);
      points = ((await q.json()) as { points: unknown[] }).points;
    }
    expect(points).toEqual([expect.objectContaining({ time: new Date(T0).toISOString(), values: expect.objectContaining({ temperature: 12.5 }) })]);
  }, 120_000);
});
