import { type ColumnInfo, QueryCommand, type QueryCommandInput, type QueryCommandOutput, TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { TimestreamPointStore } from '../../shared/aws/timestream-point-store';
import { buildSlidingQuery } from '../../shared/aws/timestream-window-sql';
import { parseDataQuery } from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { col, describeAnswer, NULL, v } from '../fixtures/timestream-answers';

// Windows on the Timestream store: the SQL the builder sends for each window kind, and the rows the store reads
// back from Query answers shaped as its API reference gives them (ColumnInfo[{Name, Type: {ScalarType}}],
// Rows[{Data: [{ScalarValue} | {NullValue: true}]}]). The answers are the closed forms of the fixtures the
// DuckDB store computes in point-store-windows.contract.ts: a line's slope 2 and r² 1, the percentiles of
// 1..100, sliding means over 1..10, three bursts as three sessions.

const NOW = Date.parse('2026-03-01T12:00:00Z');
const T0 = Date.parse('2026-01-01T00:00:00Z'); // 1767225600000
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ts = (ms: number) => iso(ms).replace('T', ' ').replace('Z', '000000');

const sensors: Stream = newStream(
  parseStreamInput({
    id: 'sensors',
    name: 'Sensors',
    type: 'iot_sensor',
    schema: { device: { type: 'string', required: true }, site: { type: 'string' }, y: { type: 'number' }, n: { type: 'integer' } },
    dimensions: ['device', 'site'],
  }),
  new Date(NOW),
  () => 'x',
);

const queryClient = new TimestreamQueryClient({ region: 'eu-west-1' });
const mocked = mockClient(queryClient);
const store = () => new TimestreamPointStore({ writeClient: new TimestreamWriteClient({ region: 'eu-west-1' }), queryClient, database: 'tributary', table: 'datapoints', clock: { now: () => NOW } });

const DESCRIBE = describeAnswer([
    ['device', 'varchar', 'DIMENSION'],
    ['site', 'varchar', 'DIMENSION'],
    ['stream_id', 'varchar', 'DIMENSION'],
    ['measure_name', 'varchar', 'MEASURE_NAME'],
    ['time', 'timestamp', 'TIMESTAMP'],
    ['y__double', 'double', 'MULTI'],
    ['n__bigint', 'bigint', 'MULTI'],
]);

function answer(ColumnInfo: ColumnInfo[], rows: ({ ScalarValue: string } | { NullValue: boolean })[][]) {
  mocked.on(QueryCommand).callsFake((input: QueryCommandInput) =>
    input.QueryString!.startsWith('DESCRIBE') ? DESCRIBE : { $metadata: {}, QueryId: 'q-1', ColumnInfo, Rows: rows.map((Data) => ({ Data })) },
  );
}
const sent = () => mocked.commandCalls(QueryCommand).map((c) => c.args[0].input.QueryString!).filter((sql) => !sql.startsWith('DESCRIBE'));
const query = (params: Record<string, string>) => parseDataQuery(sensors, { start: iso(T0), end: iso(T0 + 86_400_000), fields: 'y', ...params }, NOW);

beforeEach(() => {
  mocked.reset();
});

describe('TimestreamPointStore: tumbling windows', () => {
  it('bins by the window size and reads a trend of slope 2 and r² 1 for the line y = 2x + 1', async () => {
    answer(
      [col('bin', 'TIMESTAMP'), col('y__trend_slope', 'DOUBLE'), col('y__trend_r2', 'DOUBLE'), col('y__count', 'BIGINT')],
      [
        [v(ts(T0)), v('2.0'), v('1.0'), v('42')],
        [v(ts(T0 + 7 * MIN)), v('2.0000000000000004'), v('0.9999999999999998'), v('18')],
        [v(ts(T0 + 14 * MIN)), v('NaN'), v('NaN'), v('1')],
      ],
    );
    const rows = await store().query(sensors, query({ window: 'tumbling:7m', downsamplers: 'trend,count' }));
    expect(rows).toEqual([
      { time: T0, dimensions: {}, values: { y: { trend: { slope: 2, r2: 1 }, count: 42 } } },
      { time: T0 + 7 * MIN, dimensions: {}, values: { y: { trend: { slope: 2.0000000000000004, r2: 0.9999999999999998 }, count: 18 } } },
      { time: T0 + 14 * MIN, dimensions: {}, values: { y: { trend: null, count: 1 } } },
    ]);
    const [sql] = sent();
    expect(sql).toContain('bin(time, 7m) AS "bin"');
    const x = `CASE WHEN "y__double" IS NOT NULL THEN CAST(to_milliseconds(time) - ${T0} AS DOUBLE) / 1000 END`;
    expect(sql).toContain(`regr_slope(CAST("y__double" AS DOUBLE), ${x}) AS "y__trend_slope"`);
    expect(sql).toContain(`CASE WHEN var_pop(${x}) > 0 AND var_pop(CAST("y__double" AS DOUBLE)) = 0 THEN 1.0 ELSE power(corr(CAST("y__double" AS DOUBLE), ${x}), 2) END AS "y__trend_r2"`);
  });

  it('asks approx_percentile for p50, p90, p95 and p99 and reads the percentiles of 1..100', async () => {
    const info = ['y', 'n'].flatMap((f) => ['p50', 'p90', 'p95', 'p99'].map((p) => col(`${f}__${p}`, 'DOUBLE')));
    answer([col('bin', 'TIMESTAMP'), ...info], [[v(ts(T0)), ...['50.0', '90.0', '95.0', '99.0', '50.0', '90.0', '95.0', '99.0'].map(v)]]);
    const rows = await store().query(sensors, query({ window: 'tumbling:1h', fields: 'y,n', downsamplers: 'p50,p90,p95,p99' }));
    expect(rows).toEqual([{ time: T0, dimensions: {}, values: { y: { p50: 50, p90: 90, p95: 95, p99: 99 }, n: { p50: 50, p90: 90, p95: 95, p99: 99 } } }]);
    const [sql] = sent();
    for (const [p, f] of [['p50', '0.5'], ['p90', '0.9'], ['p95', '0.95'], ['p99', '0.99']]) {
      expect(sql).toContain(`approx_percentile(CAST("y__double" AS DOUBLE), ${f}) AS "y__${p}"`);
      expect(sql).toContain(`approx_percentile(CAST("n__bigint" AS DOUBLE), ${f}) AS "n__${p}"`);
    }
  });
});

describe('TimestreamPointStore: sliding windows', () => {
  it('joins each point with its size/step window starts and reads the overlapping means over 1..10', async () => {
    const means = [2, 3, 4, 5, 6, 7, 8, 9, 9.5, 10];
    answer(
      [col('bin', 'TIMESTAMP'), col('y__mean', 'DOUBLE'), col('y__count', 'BIGINT')],
      means.map((m, i) => [v(ts(T0 + i * MIN)), v(String(m)), v(String(Math.min(3, 10 - i)))]),
    );
    const rows = await store().query(sensors, query({ window: 'sliding:3m/1m', downsamplers: 'mean,count' }));
    expect(rows.map((r) => [(r.time - T0) / MIN, r.values.y])).toEqual(means.map((mean, i) => [i, { mean, count: Math.min(3, 10 - i) }]));
    const [sql] = sent();
    expect(sql).toMatch(/^SELECT from_milliseconds\(to_milliseconds\(bin\(time, 1m\)\) - "w"\."i" \* 60000\) AS "bin", avg\("y__double"\) AS "y__mean", count\("y__double"\) AS "y__count"\n/);
    expect(sql).toContain('FROM "tributary"."datapoints", (VALUES 0, 1, 2) AS "w"("i")');
    expect(sql).toContain(`AND to_milliseconds(bin(time, 1m)) - "w"."i" * 60000 >= ${T0}`);
    expect(sql).toContain('GROUP BY to_milliseconds(bin(time, 1m)) - "w"."i" * 60000\nORDER BY "bin" ASC\nLIMIT 1000');
  });

  it('groups by a dimension, continues after a cursor on the window start, and keeps the query text small at 1000 offsets', async () => {
    answer([col('bin', 'TIMESTAMP'), col('site', 'VARCHAR'), col('y__max', 'DOUBLE')], [[v(ts(T0 + 2 * MIN)), v('north'), v('3.0')], [v(ts(T0 + 2 * MIN)), NULL, v('1.5')]]);
    const first = query({ window: 'sliding:5m/1m', downsamplers: 'max', groupBy: 'site' });
    const q = { ...first, after: { time: T0 + MIN, key: ['south'] } };
    const rows = await store().query(sensors, q);
    expect(rows).toEqual([
      { time: T0 + 2 * MIN, dimensions: { site: 'north' }, values: { y: { max: 3 } } },
      { time: T0 + 2 * MIN, dimensions: {}, values: { y: { max: 1.5 } } },
    ]);
    const [sql] = sent();
    expect(sql).toContain(`(from_milliseconds(to_milliseconds(bin(time, 1m)) - "w"."i" * 60000) > from_milliseconds(${T0 + MIN}) OR from_milliseconds(to_milliseconds(bin(time, 1m)) - "w"."i" * 60000) = from_milliseconds(${T0 + MIN}) AND coalesce("site", '') > 'south')`);
    expect(sql).toContain('GROUP BY to_milliseconds(bin(time, 1m)) - "w"."i" * 60000, "site"');
    expect(sql).toContain(`ORDER BY "bin" ASC, coalesce("site", '') ASC`);
    const widest = buildSlidingQuery({ database: 'tributary', table: 'datapoints' }, sensors, query({ window: 'sliding:1000m/1m', start: iso(T0), end: iso(T0 + 86_400_000) }));
    expect(widest.sql).toContain('(VALUES 0, 1, 2, 3,');
    expect(widest.sql).toContain(', 998, 999) AS "w"("i")');
    expect(Buffer.byteLength(widest.sql)).toBeLessThan(10_000);
  });
});

describe('TimestreamPointStore: session windows', () => {
  it('numbers each series’ sessions with lag and a running sum, and reads three bursts as three rows with start, end and count', async () => {
    answer(
      [col('bin', 'TIMESTAMP'), col('device', 'VARCHAR'), col('site', 'VARCHAR'), col('y__max', 'DOUBLE'), col('end', 'TIMESTAMP'), col('count', 'BIGINT')],
      [
        [v(ts(T0)), v('d1'), v('north'), v('4.0'), v(ts(T0 + 2 * MIN)), v('5')],
        [v(ts(T0 + 30 * MIN)), v('d1'), v('north'), v('2.0'), v(ts(T0 + 31 * MIN)), v('3')],
        [v(ts(T0 + 45 * MIN)), v('d1'), NULL, v('3.0'), v(ts(T0 + 46 * MIN + 30_000)), v('4')],
      ],
    );
    const rows = await store().query(sensors, query({ window: 'session:10m', downsamplers: 'max' }));
    expect(rows).toEqual([
      { time: T0, end: T0 + 2 * MIN, count: 5, dimensions: { device: 'd1', site: 'north' }, values: { y: { max: 4 } } },
      { time: T0 + 30 * MIN, end: T0 + 31 * MIN, count: 3, dimensions: { device: 'd1', site: 'north' }, values: { y: { max: 2 } } },
      { time: T0 + 45 * MIN, end: T0 + 46 * MIN + 30_000, count: 4, dimensions: { device: 'd1' }, values: { y: { max: 3 } } },
    ]);
    expect(sent()[0]).toBe(
      [
        'WITH "marked" AS (',
        '  SELECT time, "device", "site", "y__double",',
        `    CASE WHEN to_milliseconds(time) - lag(to_milliseconds(time)) OVER (PARTITION BY coalesce("device", ''), coalesce("site", '') ORDER BY time) > 600000 THEN 1 ELSE 0 END AS "break"`,
        '  FROM "tributary"."datapoints"',
        `  WHERE measure_name = 'datapoint'`,
        `    AND "stream_id" = 'sensors'`,
        `    AND time >= from_milliseconds(${T0})`,
        `    AND time < from_milliseconds(${T0 + 86_400_000})`,
        '), "sessions" AS (',
        `  SELECT *, sum("break") OVER (PARTITION BY coalesce("device", ''), coalesce("site", '') ORDER BY time ROWS UNBOUNDED PRECEDING) AS "session" FROM "marked"`,
        ')',
        'SELECT * FROM (',
        '  SELECT min(time) AS "bin", "device", "site", max("y__double") AS "y__max", max(time) AS "end", count(*) AS "count"',
        '  FROM "sessions"',
        '  GROUP BY "session", "device", "site"',
        ') AS "windows"',
        `ORDER BY "bin" ASC, coalesce("device", '') ASC, coalesce("site", '') ASC`,
        'LIMIT 1000',
      ].join('\n'),
    );
  });

  it('keys sessions by the groupBy dimensions, reads a column no record has created as NULL, and pages after a cursor', async () => {
    answer([col('bin', 'TIMESTAMP'), col('site', 'VARCHAR'), col('end', 'TIMESTAMP'), col('count', 'BIGINT')], [[v(ts(T0 + 30 * MIN)), v('north'), v(ts(T0 + 31 * MIN)), v('3')]]);
    mocked.on(QueryCommand).callsFake((input: QueryCommandInput) =>
      input.QueryString!.startsWith('DESCRIBE')
        ? { ...DESCRIBE, Rows: DESCRIBE.Rows!.filter((r) => r.Data![0]!.ScalarValue !== 'site') }
        : { $metadata: {}, ColumnInfo: [col('bin', 'TIMESTAMP'), col('site', 'VARCHAR'), col('end', 'TIMESTAMP'), col('count', 'BIGINT')], Rows: [{ Data: [v(ts(T0 + 30 * MIN)), NULL, v(ts(T0 + 31 * MIN)), v('3')] }] },
    );
    const q = { ...query({ window: 'session:10m', downsamplers: 'count', fields: 'n', groupBy: 'site', order: 'desc' }), downsamplers: [] };
    const rows = await store().query(sensors, { ...q, after: { time: T0 + 45 * MIN, key: [''] } });
    expect(rows).toEqual([{ time: T0 + 30 * MIN, end: T0 + 31 * MIN, count: 3, dimensions: {}, values: {} }]);
    const [sql] = sent();
    expect(sql).toContain('  SELECT time, CAST(NULL AS VARCHAR) AS "site", "n__bigint",');
    expect(sql).toContain(`OVER (PARTITION BY coalesce(CAST(NULL AS VARCHAR), '') ORDER BY time) > 600000`);
    expect(sql).toContain(`WHERE ("bin" < from_milliseconds(${T0 + 45 * MIN}) OR "bin" = from_milliseconds(${T0 + 45 * MIN}) AND coalesce("site", '') < '')`);
    expect(sql).toContain(`ORDER BY "bin" DESC, coalesce("site", '') DESC`);
  });
});
