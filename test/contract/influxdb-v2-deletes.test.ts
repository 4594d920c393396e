import { describe, expect, it } from 'vitest';
import { InfluxDbPointStore } from '../../shared/aws/influxdb-point-store';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';

// InfluxDB 2.x (Timestream for InfluxDB) takes no InfluxQL DELETE on its v1 /query: deletes go to
// POST /api/v2/delete?org=…&bucket=… with {start, stop, predicate} (InfluxDB 2 API reference, "Delete data"),
// answered 204. No InfluxDB 2 runs here: the requests are checked against that shape, the answers are its.
const stream = newStream(parseStreamInput({ id: 'rate', name: 'Rate', type: 'iot_sensor', schema: { host: { type: 'string' }, v: { type: 'number' } }, dimensions: ['host'] }), new Date(0), () => 'x');

function recordingInflux() {
  const calls: { path: string; query: Record<string, string>; body: unknown }[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : init?.body instanceof URLSearchParams ? Object.fromEntries(init.body) : undefined;
    calls.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), body });
    if (url.pathname === '/api/v2/delete') return new Response(null, { status: 204 });
    return new Response(JSON.stringify({ results: [{ statement_id: 0 }] }), { status: 200 });
  };
  return { calls, store: new InfluxDbPointStore({ url: 'https://abc-xyz.eu-west-1.timestream-influxdb.amazonaws.com:8086', database: 'tributary', version: '2.x', fetch: fetch as typeof globalThis.fetch }) };
}

describe('InfluxDbPointStore on InfluxDB 2.x: deletes through /api/v2/delete', () => {
  it('replaces a series’ span by deleting it with a predicate on the measurement and every dimension, then writing', async () => {
    const { calls, store } = recordingInflux();
    await store.replaceSeries(stream, { host: 'a "b" \\c' }, 1_000, 9_000, [{ time: 2_000, dimensions: { host: 'a "b" \\c' }, values: { v: 1 } }]);
    expect(calls[0]).toEqual({
      path: '/api/v2/delete',
      query: { org: 'tributary', bucket: 'tributary' },
      body: { start: '1970-01-01T00:00:01.000Z', stop: '1970-01-01T00:00:09.000Z', predicate: '_measurement="rate" AND host="a \\"b\\" \\\\c"' },
    });
    expect(calls.some((c) => c.path === '/query' && String((c.body as { q?: string })?.q ?? c.query.q).startsWith('DELETE'))).toBe(false);
    expect(calls.at(-1)!.path).toBe('/write');
  });

  it('sends no delete it cannot spell (a series without the dimension), and erases a stream over the widest range', async () => {
    const { calls, store } = recordingInflux();
    await store.replaceSeries(stream, {}, 1_000, 9_000, []);
    expect(calls.filter((c) => c.path === '/api/v2/delete')).toEqual([]);
    expect(await store.eraseStream('rate')).toBe('erased');
    expect(calls.at(-1)).toEqual({ path: '/api/v2/delete', query: { org: 'tributary', bucket: 'tributary' }, body: { start: '1677-09-21T00:12:43.145224194Z', stop: '2262-04-11T23:47:16.854775806Z', predicate: '_measurement="rate"' } });
  });
});
