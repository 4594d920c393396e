import { QueryCommand, type QueryCommandInput, TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeAnalyze } from '../../functions/query/analyze';
import type { HttpEvent } from '../../functions/commons/http';
import { TimestreamPointStore } from '../../shared/aws/timestream-point-store';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { col, describeAnswer, v } from '../fixtures/timestream-answers';

// The analyze API (`POST …/analyze`) on the Timestream store: the raw read it sends, and the analyses of
// the points it reads back from Query answers shaped as the API reference gives them (ColumnInfo, Rows of
// ScalarValue). The fixtures have closed-form answers: y = 2x + 1 gives slope 2 and r² 1, y = 2x correlates
// 1.0 with x by Pearson and by Spearman, a sine with one 5σ spike flags exactly the spike, a clean seasonal
// series' Holt-Winters forecast holds the series' continuation within its interval.

const NOW = Date.parse('2026-03-01T12:00:00Z');
const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const ts = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '000000');

const lab: Stream = newStream(
  parseStreamInput({ id: 'lab', name: 'Lab', type: 'iot_sensor', schema: { device: { type: 'string', required: true }, x: { type: 'number' }, y: { type: 'number' } }, dimensions: ['device'] }),
  new Date(NOW),
  () => 'x',
);

const queryClient = new TimestreamQueryClient({ region: 'eu-west-1' });
const mocked = mockClient(queryClient);
const store = new TimestreamPointStore({ writeClient: new TimestreamWriteClient({ region: 'eu-west-1' }), queryClient, database: 'tributary', table: 'datapoints', clock: { now: () => NOW } });
const DESCRIBE = describeAnswer([
  ['device', 'varchar', 'DIMENSION'],
  ['stream_id', 'varchar', 'DIMENSION'],
  ['measure_name', 'varchar', 'MEASURE_NAME'],
  ['time', 'timestamp', 'TIMESTAMP'],
  ['x__double', 'double', 'MULTI'],
  ['y__double', 'double', 'MULTI'],
]);

/** Answers the raw read with one row per point: time, device and the fields it selects (x, y), in its order. */
function points(rows: { time: number; x: number; y: number }[]) {
  mocked.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const sql = input.QueryString!;
    if (sql.startsWith('DESCRIBE')) return DESCRIBE;
    const fields = (['x', 'y'] as const).filter((f) => sql.split('\n')[0]!.includes(`"${f}__double"`));
    return {
      $metadata: {},
      QueryId: 'q-1',
      ColumnInfo: [col('time', 'TIMESTAMP'), col('device', 'VARCHAR'), ...fields.map((f) => col(`${f}__double`, 'DOUBLE'))],
      Rows: rows.map((r) => ({ Data: [v(ts(r.time)), v('d1'), ...fields.map((f) => v(String(r[f])))] })),
    };
  });
}
const sent = () => mocked.commandCalls(QueryCommand).map((c) => c.args[0].input.QueryString!).filter((sql) => !sql.startsWith('DESCRIBE'));

const analyzeRoute = makeAnalyze({ store, clock: { now: () => NOW }, registry: { get: async () => undefined } });
async function analyze(body: unknown): Promise<any> {
  const event = { routeKey: 'POST /v1/streams/{id}/analyze', rawPath: '/v1/streams/lab/analyze', headers: {}, body: JSON.stringify(body), isBase64Encoded: false, requestContext: { domainName: 'x', authorizer: { lambda: { scopes: ['admin'] } } } } as unknown as HttpEvent;
  const r = await analyzeRoute(lab, event);
  expect(r.statusCode, r.body).toBe(200);
  return JSON.parse(r.body!);
}
const range = { start: new Date(T0).toISOString(), end: new Date(T0 + 30 * 86_400_000).toISOString() };

beforeEach(() => {
  mocked.reset();
});

describe('analyses on the Timestream store', () => {
  it('reads the raw points with one SELECT of the fields asked for, and fits y = 2x + 1 with slope 2 per hour and r² 1', async () => {
    points(Array.from({ length: 48 }, (_, i) => ({ time: T0 + i * HOUR, x: i, y: 2 * i + 1 })));
    const out = await analyze({ timeRange: range, analyses: [{ type: 'trend_analysis', field: 'y', algorithm: 'linear_regression' }] });
    expect(sent()).toHaveLength(1);
    expect(sent()[0]).toMatch(/^SELECT time, "device", "y__double"\n/);
    expect(sent()[0]).toContain(`"stream_id" = 'lab'`);
    expect(out.points).toBe(48);
    expect(out.trends[0].slopePerHour).toBeCloseTo(2, 10);
    expect(out.trends[0].intercept).toBeCloseTo(1, 8);
    expect(out.trends[0].r2).toBeCloseTo(1, 12);
    expect(out.trends[0].direction).toBe('increasing');
  });

  it('correlates y = 2x with x at 1.0 by Pearson and by Spearman, with n and a p-value', async () => {
    points(Array.from({ length: 30 }, (_, i) => ({ time: T0 + i * HOUR, x: i, y: 2 * i })));
    const pearson = await analyze({ timeRange: range, analyses: [{ type: 'correlation_analysis', fields: ['x', 'y'], method: 'pearson' }] });
    expect(pearson.correlations[0].coefficient).toBeCloseTo(1, 12);
    expect(pearson.correlations[0].n).toBe(30);
    expect(pearson.correlations[0].pValue).toBeLessThan(1e-12);
    points(Array.from({ length: 30 }, (_, i) => ({ time: T0 + i * HOUR, x: i, y: i ** 3 })));
    const spearman = await analyze({ timeRange: range, analyses: [{ type: 'correlation_analysis', fields: ['x', 'y'], method: 'spearman' }] });
    expect(spearman.correlations[0]).toMatchObject({ method: 'spearman', n: 30 });
    expect(spearman.correlations[0].coefficient).toBeCloseTo(1, 12);
  });

  it('flags exactly the one 5σ spike on a sine', async () => {
    const sine = Array.from({ length: 500 }, (_, i) => ({ time: T0 + i * 60_000, x: i, y: Math.sin((2 * Math.PI * i) / 50) }));
    sine[321]!.y = 5 * Math.SQRT1_2;
    points(sine);
    const out = await analyze({ timeRange: range, analyses: [{ type: 'anomaly_detection', fields: ['y'], sensitivity: 0.5, method: 'modified_zscore' }] });
    expect(out.anomalies[0].anomalies.map((a: { time: string }) => a.time)).toEqual([new Date(T0 + 321 * 60_000).toISOString()]);
  });

  it('forecasts a clean seasonal series by Holt-Winters, its next day within the 95 % interval', async () => {
    const load = (i: number) => 100 + 0.2 * i + 10 * Math.sin((2 * Math.PI * i) / 24);
    points(Array.from({ length: 24 * 8 }, (_, i) => ({ time: T0 + i * HOUR, x: i, y: load(i) })));
    const out = await analyze({ timeRange: range, analyses: [{ type: 'forecasting', field: 'y', horizon: '24h', model: 'holt_winters' }] });
    const [f] = out.forecast;
    expect(f).toMatchObject({ model: 'holt_winters', seasonLength: 24, level: 0.95 });
    expect(f.points).toHaveLength(24);
    f.points.forEach((p: { value: number; lower: number; upper: number }, k: number) => {
      const actual = load(24 * 8 + k);
      expect(actual).toBeGreaterThanOrEqual(p.lower);
      expect(actual).toBeLessThanOrEqual(p.upper);
    });
  });
});
