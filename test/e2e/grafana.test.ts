import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { editorQueries, grafanaRequest, HEALTHCHECK, multiValueFilter, panelQuery, variableQuery, type GrafanaDataSource } from '../fixtures/grafana/requests';
import { ADMIN } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;

const freezers = {
  name: 'Freezers',
  type: 'iot_sensor',
  schema: { deviceId: { type: 'string', required: true }, site: { type: 'string' }, temperature: { type: 'number', required: true }, count: { type: 'integer' } },
  dimensions: ['deviceId', 'site'],
};
// two devices, two readings a minute for ten minutes: in minute m device d reads 10d+m and 10d+m+0.5
const records = [0, 1].flatMap((d) =>
  Array.from({ length: 20 }, (_, i) => ({
    deviceId: `f${d}`,
    site: d === 0 ? 'north' : 'south',
    timestamp: new Date(T0 + Math.floor(i / 2) * MIN + (i % 2) * 30_000).toISOString(),
    temperature: 10 * d + Math.floor(i / 2) + (i % 2) * 0.5,
    count: 1,
  })),
);

describe('Grafana InfluxDB data source (InfluxQL) against /query', () => {
  let rt: RuntimeProcess;
  let a: string;
  let b: string;
  let readA: string;

  const api = async (path: string, body?: unknown, token = ADMIN) => {
    const res = await fetch(`${rt.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const grafana = async (query: string, ds: Partial<GrafanaDataSource> = {}) => {
    const res = await fetch(...grafanaRequest(rt.base, { httpMode: 'GET', database: 'tributary', user: 'grafana', password: readA, ...ds }, query));
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
  };

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    const sa = await api('/v1/streams', freezers);
    const sb = await api('/v1/streams', { ...freezers, name: 'Boilers' });
    a = sa.body.id;
    b = sb.body.id;
    readA = (await api(`/v1/streams/${a}/tokens`, { scope: 'read' })).body.token;
    expect((await api(`/v1/streams/${a}/data`, records, sa.body.ingestToken)).status).toBe(202);
    expect((await api(`/v1/streams/${b}/data`, records.slice(0, 2), sb.body.ingestToken)).status).toBe(202);
    const until = Date.now() + 15_000;
    for (;;) {
      const got = await api(`/v1/streams/${a}/data?start=${T0}&end=${T0 + 20 * MIN}&limit=1000`);
      if (got.body.points?.length === records.length) break;
      if (Date.now() > until) throw new Error(`only ${got.body.points?.length} points arrived`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);
  afterAll(() => rt?.close());

  it('answers "Save & test" (SHOW measurements) with only the streams the token may read', async () => {
    const r = await grafana(HEALTHCHECK);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^application\/json/);
    expect(r.body).toEqual({ results: [{ statement_id: 0, series: [{ name: 'measurements', columns: ['name'], values: [[a]] }] }] });
    const admin = await grafana(HEALTHCHECK, { password: ADMIN });
    expect(admin.body.results[0].series[0].values).toEqual(expect.arrayContaining([[a], [b]]));
  });

  it("answers the query editor's measurement, tag and field lists", async () => {
    const e = editorQueries(a, 'deviceId');
    expect((await grafana(e.measurements)).body.results[0].series[0].values).toEqual([[a]]);
    expect((await grafana(e.measurementSearch('FREEZ'), { password: ADMIN })).body.results[0].series[0].values).toEqual([[a]]);
    expect((await grafana(e.measurementSearch('nothing-like-it'))).body).toEqual({ results: [{ statement_id: 0 }] });
    expect((await grafana(e.retentionPolicies('tributary'))).body.results[0].series[0].values).toEqual([['autogen', '0s', '168h0m0s', 1, true]]);
    expect((await grafana(e.tagKeys)).body.results[0].series).toEqual([{ name: a, columns: ['tagKey'], values: [['deviceId'], ['site']] }]);
    expect((await grafana(e.tagValues)).body.results[0].series).toEqual([{ name: a, columns: ['key', 'value'], values: [['deviceId', 'f0'], ['deviceId', 'f1']] }]);
    expect((await grafana(e.fieldKeys)).body.results[0].series).toEqual([{ name: a, columns: ['fieldKey', 'fieldType'], values: [['count', 'integer'], ['temperature', 'float']] }]);
  });

  it('answers a template variable query sent as POST', async () => {
    const r = await grafana(`${variableQuery(a, 'site')} WHERE "deviceId" = 'f1'`, { httpMode: 'POST' });
    expect(r.body.results[0].series[0].values).toEqual([['site', 'south']]);
  });

  it('answers a time-series panel with the mean of each 1m bin per device, empty bins null (GET and POST alike)', async () => {
    const q = panelQuery(a, 'temperature', 'deviceId', T0, T0 + 10 * MIN, '1m');
    for (const httpMode of ['GET', 'POST'] as const) {
      const r = await grafana(q, { httpMode });
      expect(r.status).toBe(200);
      const [f0, f1] = r.body.results[0].series;
      expect(f0.name).toBe(a);
      expect(f0.tags).toEqual({ deviceId: 'f0' });
      expect(f0.columns).toEqual(['time', 'mean']);
      // ten minutes of data and the bin at `to` (time <= to is inclusive), which is empty
      expect(f0.values).toEqual([...Array.from({ length: 10 }, (_, m) => [T0 + m * MIN, m + 0.25]), [T0 + 10 * MIN, null]]);
      expect(f1.tags).toEqual({ deviceId: 'f1' });
      expect(f1.values[3]).toEqual([T0 + 3 * MIN, 13.25]);
    }
  });

  it('answers min, max, sum, count, first and last, a multi-value variable filter and several statements at once', async () => {
    const filter = multiValueFilter('deviceId', ['f1']);
    const q = `SELECT min("temperature"), max("temperature"), sum("temperature"), count("temperature"), first("temperature"), last("temperature") FROM "${a}" WHERE ${filter} AND time >= ${T0}ms and time <= ${T0 + 5 * MIN - 1}ms GROUP BY time(5m) fill(none); ${HEALTHCHECK}`;
    const r = await grafana(q);
    expect(r.body.results).toHaveLength(2);
    // f1 over minutes 0-4: 10, 10.5, 11, …, 14.5
    expect(r.body.results[0].series).toEqual([{ name: a, columns: ['time', 'min', 'max', 'sum', 'count', 'first', 'last'], values: [[T0, 10, 14.5, 122.5, 10, 10, 14.5]] }]);
    expect(r.body.results[1].statement_id).toBe(1);
  });

  it('answers percentile() from the raw points, nearest rank as InfluxDB computes it', async () => {
    const q = `SELECT percentile("temperature", 90), percentile("temperature", 50), mean("temperature") FROM "${a}" WHERE "deviceId" = 'f1' AND time >= ${T0}ms and time <= ${T0 + 5 * MIN - 1}ms GROUP BY time(5m) fill(null)`;
    const r = await grafana(q);
    // f1 over minutes 0-4: 10, 10.5, …, 14.5; rank floor(10 × p + 0.5)
    expect(r.body.results[0].series).toEqual([{ name: a, columns: ['time', 'percentile', 'percentile_1', 'mean'], values: [[T0, 14, 12, 12.25]] }]);
  });

  it('reads now() - 6h ranges, fill(0) and RFC 3339 times when no epoch is given', async () => {
    const res = await fetch(`${rt.base}/query?q=${encodeURIComponent(`SELECT count("count") FROM "${a}" WHERE time > now() - 30000d GROUP BY time(1d) fill(0)`)}`, { headers: { authorization: `Token ${readA}` } });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    const values: [string, number][] = body.results[0].series[0].values;
    expect(values.find(([t]) => t === '2026-01-01T00:00:00Z')?.[1]).toBe(40);
    expect(values.filter(([, v]) => v === 0).length).toBe(values.length - 1);
  });

  it('takes the token as u/p parameters, refuses an unknown one (401) and another stream (403), never answering its data', async () => {
    const q = encodeURIComponent(`SELECT mean("temperature") FROM "${b}" WHERE time >= ${T0}ms and time <= ${T0 + MIN}ms GROUP BY time(1m)`);
    const viaUp = await fetch(`${rt.base}/query?db=x&u=grafana&p=${readA}&epoch=ms&q=${encodeURIComponent(HEALTHCHECK)}`);
    expect(viaUp.status).toBe(200);
    const other = await fetch(`${rt.base}/query?epoch=ms&u=grafana&p=${readA}&q=${q}`);
    expect(other.status).toBe(403);
    const text = await other.text();
    expect(JSON.parse(text)).toEqual({ error: expect.stringContaining(`read:${b}`) });
    expect(text).not.toContain('"values"');
    expect((await fetch(`${rt.base}/query?u=x&p=trb_not-a-token&q=${q}`)).status).toBe(401);
    expect((await fetch(`${rt.base}/query?q=${q}`)).status).toBe(401);
    expect((await grafana(`SHOW TAG KEYS FROM "${b}"`)).status).toBe(403);
  });

  it('answers InfluxQL injection attempts and unsupported constructs with 400 {"error"}', async () => {
    const attempts = [
      `SHOW MEASUREMENTS; DROP DATABASE "tributary"`,
      `SELECT mean("temperature") FROM "${a}"; DROP MEASUREMENT "${a}"`,
      `SELECT mean("temperature\\"; DROP") FROM "${a}" WHERE time > now() - 1h GROUP BY time(1m)`,
      `SELECT mean("temperature") FROM "${a}" WHERE "deviceId" = 'f0'' OR 1=1 --' AND time > now() - 1h GROUP BY time(1m)`,
      `SELECT mean("temperature") FROM "${a}" WHERE "deviceId" =~ /^(a+)+$/ AND time > now() - 1h GROUP BY time(1m)`,
      `SELECT mean("temperature") FROM "${a}" WHERE "deviceId" =~ /(.*a){25}/ AND time > now() - 1h GROUP BY time(1m)`,
      `SELECT * INTO "copy" FROM "${a}"`,
      `SELECT mean("temperature") FROM "${a}" WHERE "temperature" > 5 AND time > now() - 1h GROUP BY time(1m)`,
      `SELECT percentile("temperature", 101) FROM "${a}" WHERE time > now() - 1h GROUP BY time(1m)`,
      `SELECT mean("nope") FROM "${a}" WHERE time > now() - 1h GROUP BY time(1m)`,
      `SELECT mean("temperature") FROM /.*/ WHERE time > now() - 1h GROUP BY time(1m)`,
      `SELECT mean("temperature") FROM "${a}" WHERE time > now() - 1h GROUP BY time(1ms)`,
      'x'.repeat(20_000),
    ];
    for (const q of attempts) {
      // POST: a 20 kB query string would meet the edge's header limit (431) before the grammar
      const r = await grafana(q, { password: ADMIN, httpMode: 'POST' });
      expect(r.status, q.slice(0, 80)).toBe(400);
      expect(r.body, q.slice(0, 80)).toEqual({ error: expect.any(String) });
    }
    expect((await grafana('', { password: ADMIN })).body).toEqual({ error: 'missing required parameter "q"' });
  });

  it('never answers a 5xx to generated queries (fast-check over the grammar’s pieces)', async () => {
    const piece = fc.constantFrom('SELECT', 'SHOW', 'MEASUREMENTS', 'TAG', 'KEYS', 'VALUES', 'FIELD', 'FROM', 'WHERE', 'GROUP BY', 'time', 'fill(null)', 'mean(', '"temperature"', ')', `"${a}"`, `'f0'`, '=', '=~', '/^(f0|f1)$/', 'AND', 'OR', '(', 'now()', '-', '6h', '1700000000000ms', ';', ',', 'LIMIT', '10', '"', "'", '\\', '/');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(piece, { maxLength: 14 }).map((p) => p.join(' ')), fc.string({ maxLength: 60 })), async (q) => {
        const r = await grafana(q, { password: ADMIN, httpMode: 'POST' });
        expect([200, 400]).toContain(r.status);
        expect(r.body.error === undefined || typeof r.body.error === 'string').toBe(true);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
