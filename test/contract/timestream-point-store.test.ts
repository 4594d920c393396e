import { timestreamEraser } from '../../shared/aws/timestream-eraser';
import {
  type ColumnInfo,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TimestreamQueryClient,
  ValidationException as QueryValidationException,
} from '@aws-sdk/client-timestream-query';
import {
  InternalServerException,
  RejectedRecordsException,
  ResourceNotFoundException,
  ThrottlingException,
  TimestreamWriteClient,
  WriteRecordsCommand,
  type WriteRecordsCommandInput,
} from '@aws-sdk/client-timestream-write';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { TimestreamPointStore, timestreamPointStore, toTimestreamRecords } from '../../shared/aws/timestream-point-store';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { parseDataQuery } from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import { col, describeAnswer, NULL, v } from '../fixtures/timestream-answers';

// Request and response shapes follow the Timestream API reference: WriteRecords (CommonAttributes,
// Records, RejectedRecordsException.RejectedRecords[{RecordIndex, Reason, ExistingVersion}]) and Query
// (ColumnInfo[{Name, Type: {ScalarType}}], Rows[{Data: [{ScalarValue} | {NullValue: true}]}], NextToken).

const NOW = Date.parse('2026-03-01T12:00:00Z');
const T0 = Date.parse('2026-01-01T00:00:00Z'); // 1767225600000

const freezers: Stream = newStream(
  parseStreamInput({
    id: 'freezers',
    name: 'Freezers',
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true },
      site: { type: 'string' },
      timestamp: { type: 'datetime' },
      temperature: { type: 'number' },
      count: { type: 'integer' },
      status: { type: 'string' },
      open: { type: 'boolean' },
      servicedAt: { type: 'datetime' },
      meta: { type: 'object' },
      labels: { type: 'array' },
    },
    dimensions: ['deviceId', 'site'],
  }),
  new Date(NOW),
  () => 'x',
);

const point = (i: number, values: Datapoint['values'] = { temperature: -18 - i / 10 }): Datapoint => ({
  time: T0 + i * 1000,
  dimensions: { deviceId: `f${i % 3}` },
  values,
});
const points = (n: number) => Array.from({ length: n }, (_, i) => point(i));

const writeClient = new TimestreamWriteClient({ region: 'eu-west-1' });
const queryClient = new TimestreamQueryClient({ region: 'eu-west-1' });
const writes = mockClient(writeClient);
const queries = mockClient(queryClient);

let sleeps: number[];
function makeStore(options: { maxParallel?: number; maxAttempts?: number; now?: () => number } = {}) {
  return new TimestreamPointStore({
    writeClient,
    queryClient,
    database: 'tributary',
    table: 'datapoints',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...(options.maxParallel !== undefined && { maxParallel: options.maxParallel }),
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    clock: { now: options.now ?? (() => NOW) },
  });
}

const writeInputs = (): WriteRecordsCommandInput[] => writes.commandCalls(WriteRecordsCommand).map((c) => c.args[0].input);
const throttled = () => new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: {} });

beforeEach(() => {
  writes.reset();
  queries.reset();
  sleeps = [];
});

describe('TimestreamPointStore.write: request shape', () => {
  it('sends one multi-measure record per point, the stream in CommonAttributes, time in ms and each value typed', async () => {
    writes.on(WriteRecordsCommand).resolves({ RecordsIngested: { Total: 1, MemoryStore: 1, MagneticStore: 0 } });
    const p: Datapoint = {
      time: T0 + 250,
      dimensions: { deviceId: 'f1', site: 'north' },
      values: {
        temperature: -18.5,
        count: 3,
        status: 'ok',
        open: false,
        servicedAt: T0 - 86_400_000,
        meta: '{"fw":"1.2"}',
        labels: '["a","b"]',
      },
    };

    const result = await makeStore().write(freezers, [p]);

    expect(result).toEqual({ written: 1, rejected: [] });
    expect(writeInputs()).toEqual([
      {
        DatabaseName: 'tributary',
        TableName: 'datapoints',
        CommonAttributes: {
          Dimensions: [{ Name: 'stream_id', Value: 'freezers' }],
          MeasureName: 'datapoint',
          MeasureValueType: 'MULTI',
          TimeUnit: 'MILLISECONDS',
        },
        Records: [
          {
            Time: '1767225600250',
            Dimensions: [
              { Name: 'deviceId', Value: 'f1' },
              { Name: 'site', Value: 'north' },
            ],
            MeasureValues: [
              { Name: 'temperature__double', Value: '-18.5', Type: 'DOUBLE' },
              { Name: 'count__bigint', Value: '3', Type: 'BIGINT' },
              { Name: 'status__varchar', Value: 'ok', Type: 'VARCHAR' },
              { Name: 'open__boolean', Value: 'false', Type: 'BOOLEAN' },
              { Name: 'servicedAt__timestamp', Value: '1767139200000', Type: 'TIMESTAMP' },
              { Name: 'meta__varchar', Value: '{"fw":"1.2"}', Type: 'VARCHAR' },
              { Name: 'labels__varchar', Value: '["a","b"]', Type: 'VARCHAR' },
            ],
          },
        ],
      },
    ]);
  });

  it('leaves out a dimension the point lacks and an empty string, which Timestream cannot store', () => {
    const [record] = toTimestreamRecords(freezers, [{ time: T0, dimensions: { deviceId: 'f1' }, values: { status: '', temperature: 1 } }]);
    expect(record).toEqual({
      Time: '1767225600000',
      Dimensions: [{ Name: 'deviceId', Value: 'f1' }],
      MeasureValues: [{ Name: 'temperature__double', Value: '1', Type: 'DOUBLE' }],
    });
  });

  it('reports a point with no value to store as rejected, without sending it', async () => {
    writes.on(WriteRecordsCommand).resolves({});
    const result = await makeStore().write(freezers, [point(0), point(1, { status: '' }), point(2)]);
    expect(result).toEqual({ written: 2, rejected: [{ index: 1, reason: expect.stringContaining('no measure value') }] });
    expect(writeInputs()[0]!.Records!.map((r) => r.Time)).toEqual([String(T0), String(T0 + 2000)]);
  });

  it('sends 250 points as calls of 100, 100 and 50 records, every point once', async () => {
    writes.on(WriteRecordsCommand).resolves({});
    const result = await makeStore({ maxParallel: 1 }).write(freezers, points(250));
    expect(result).toEqual({ written: 250, rejected: [] });
    const calls = writeInputs();
    expect(calls.map((c) => c.Records!.length)).toEqual([100, 100, 50]);
    expect(calls.flatMap((c) => c.Records!.map((r) => Number(r.Time)))).toEqual(points(250).map((p) => p.time));
  });

  it('keeps at most maxParallel WriteRecords calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    writes.on(WriteRecordsCommand).callsFake(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return {};
    });
    const result = await makeStore({ maxParallel: 3 }).write(freezers, points(1000));
    expect(result.written).toBe(1000);
    expect(writeInputs()).toHaveLength(10);
    expect(most).toBe(3);
  });
});

describe('TimestreamPointStore.write: failures', () => {
  it('retries a throttled call with growing backoff, then counts every point written', async () => {
    writes.on(WriteRecordsCommand).rejectsOnce(throttled()).rejectsOnce(new InternalServerException({ message: 'oops', Message: 'oops', $metadata: {} })).resolves({});
    const result = await makeStore().write(freezers, points(10));
    expect(result).toEqual({ written: 10, rejected: [] });
    expect(writeInputs()).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThan(100);
    expect(sleeps[1]).toBeLessThan(200);
  });

  it('gives up after maxAttempts throttled calls with a StoreUnavailableError that keeps the SDK error as cause', async () => {
    const error = throttled();
    writes.on(WriteRecordsCommand).rejects(error);
    const failure = await makeStore({ maxAttempts: 3 }).write(freezers, points(10)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as StoreUnavailableError).message).toMatch(/throttled/);
    expect((failure as StoreUnavailableError).cause).toBe(error);
    expect(writeInputs()).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('treats a missing table as the store being unavailable, without retrying', async () => {
    const error = new ResourceNotFoundException({ message: 'The table datapoints does not exist.', $metadata: {} });
    writes.on(WriteRecordsCommand).rejects(error);
    const failure = await makeStore().write(freezers, points(3)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as StoreUnavailableError).cause).toBe(error);
    expect(writeInputs()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('returns the records Timestream rejects at their position in the written array, across chunks, and counts the rest written', async () => {
    writes
      .on(WriteRecordsCommand)
      .resolvesOnce({})
      .rejectsOnce(
        new RejectedRecordsException({
          message: 'One or more records have been rejected. See RejectedRecords for details.',
          $metadata: {},
          RejectedRecords: [
            { RecordIndex: 5, Reason: 'The record timestamp is outside the time range of the data ingestion window.' },
            { RecordIndex: 42, Reason: 'A record with the same dimensions and time exists with different measure values.', ExistingVersion: 1 },
          ],
        }),
      )
      .rejectsOnce(new RejectedRecordsException({ message: 'rejected', $metadata: {}, RejectedRecords: [{ RecordIndex: 0, Reason: 'Measure value is too long.' }] }));

    const result = await makeStore({ maxParallel: 1 }).write(freezers, points(250));

    expect(result.written).toBe(247);
    expect(result.rejected).toEqual([
      { index: 105, reason: 'The record timestamp is outside the time range of the data ingestion window.' },
      { index: 142, reason: 'A record with the same dimensions and time exists with different measure values. (existing version 1)' },
      { index: 200, reason: 'Measure value is too long.' },
    ]);
    expect(writeInputs()).toHaveLength(3);
  });

  it('maps rejections back past points that were never sent', async () => {
    writes.on(WriteRecordsCommand).rejects(new RejectedRecordsException({ message: 'rejected', $metadata: {}, RejectedRecords: [{ RecordIndex: 1, Reason: 'too old' }] }));
    const result = await makeStore().write(freezers, [point(0), point(1, {}), point(2), point(3)]);
    expect(result.rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(result.written).toBe(2);
  });
});

// ---- queries ----------------------------------------------------------------------------------------------

const DESCRIBE = describeAnswer([
    ['deviceId', 'varchar', 'DIMENSION'],
    ['site', 'varchar', 'DIMENSION'],
    ['stream_id', 'varchar', 'DIMENSION'],
    ['measure_name', 'varchar', 'MEASURE_NAME'],
    ['time', 'timestamp', 'TIMESTAMP'],
    ['temperature__double', 'double', 'MULTI'],
    ['count__bigint', 'bigint', 'MULTI'],
    ['status__varchar', 'varchar', 'MULTI'],
    ['servicedAt__timestamp', 'timestamp', 'MULTI'],
]);

/** Answers DESCRIBE from the table above and every other query with `pages`, keyed by NextToken. */
function answer(pages: Record<string, Omit<QueryCommandOutput, '$metadata' | 'QueryId'>>) {
  queries.on(QueryCommand).callsFake((input: QueryCommandInput) =>
    input.QueryString!.startsWith('DESCRIBE') ? DESCRIBE : { $metadata: {}, QueryId: 'q-1', ...pages[input.NextToken ?? 'first'] },
  );
}
const dataCalls = () => queries.commandCalls(QueryCommand).map((c) => c.args[0].input).filter((i) => !i.QueryString!.startsWith('DESCRIBE'));

const RAW_INFO = [
  col('time', 'TIMESTAMP'),
  col('deviceId', 'VARCHAR'),
  col('site', 'VARCHAR'),
  col('temperature__double', 'DOUBLE'),
  col('count__bigint', 'BIGINT'),
  col('open__boolean', 'BOOLEAN'),
  col('servicedAt__timestamp', 'TIMESTAMP'),
];

describe('TimestreamPointStore.query', () => {
  const raw = parseDataQuery(freezers, { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z', fields: 'temperature,count,open,servicedAt', limit: '10' }, NOW);

  it('follows NextToken through an empty first page and types each value by ColumnInfo, NullValue as null', async () => {
    answer({
      first: { ColumnInfo: RAW_INFO, Rows: [], NextToken: 'page-2' },
      'page-2': {
        ColumnInfo: RAW_INFO,
        Rows: [{ Data: [v('2026-01-01 00:00:00.000000000'), v('f1'), NULL, v('-18.5'), v('3'), NULL, v('2025-12-31 08:30:00.125000000')] }],
        NextToken: 'page-3',
      },
      'page-3': {
        ColumnInfo: RAW_INFO,
        Rows: [{ Data: [v('2026-01-01 00:00:01.500000000'), v('f2'), v('north'), v('1.0E-4'), NULL, NULL, NULL] }],
      },
    });

    const rows = await makeStore().query(freezers, raw);

    expect(rows).toEqual([
      { time: T0, dimensions: { deviceId: 'f1' }, values: { temperature: -18.5, count: 3, open: null, servicedAt: Date.parse('2025-12-31T08:30:00.125Z') } },
      { time: T0 + 1500, dimensions: { deviceId: 'f2', site: 'north' }, values: { temperature: 0.0001, count: null, open: null, servicedAt: null } },
    ]);
    const calls = dataCalls();
    expect(calls.map((c) => c.NextToken)).toEqual([undefined, 'page-2', 'page-3']);
    expect(new Set(calls.map((c) => c.QueryString)).size).toBe(1);
    expect(calls[0]!.QueryString).toMatch(/^SELECT time, "deviceId", "site", "temperature__double", "count__bigint", CAST\(NULL AS BOOLEAN\) AS "open__boolean", "servicedAt__timestamp"\n/);
  });

  it('reads booleans, and stops paging once it holds limit rows', async () => {
    const row = (s: number) => ({ Data: [v(`2026-01-01 00:00:0${s}.000000000`), v('f1'), NULL, NULL, NULL, v('true'), NULL] });
    answer({ first: { ColumnInfo: RAW_INFO, Rows: [row(0), row(1)], NextToken: 'more' }, more: { ColumnInfo: RAW_INFO, Rows: [row(2)], NextToken: 'even-more' } });
    const rows = await makeStore().query(freezers, { ...raw, limit: 2 });
    expect(rows).toEqual([
      { time: T0, dimensions: { deviceId: 'f1' }, values: { temperature: null, count: null, open: true, servicedAt: null } },
      { time: T0 + 1000, dimensions: { deviceId: 'f1' }, values: { temperature: null, count: null, open: true, servicedAt: null } },
    ]);
    expect(dataCalls()).toHaveLength(1);
  });

  it('reads downsampled rows into one Aggregates object per field, null where the bin has no value', async () => {
    const q = parseDataQuery(
      freezers,
      { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z', granularity: '1h', downsamplers: 'mean,max,count,last', fields: 'temperature,count', groupBy: 'site' },
      NOW,
    );
    const aggregates = (field: string, type: string) => ['mean', 'max', 'count', 'last'].map((d) => col(`${field}__${d}`, d === 'count' ? 'BIGINT' : d === 'mean' ? 'DOUBLE' : type));
    answer({
      first: {
        ColumnInfo: [col('bin', 'TIMESTAMP'), col('site', 'VARCHAR'), ...aggregates('temperature', 'DOUBLE'), ...aggregates('count', 'BIGINT')],
        Rows: [{ Data: [v('2026-01-01 01:00:00.000000000'), v('north'), v('-18.25'), v('-17.0'), v('4'), v('-17.5'), NULL, NULL, v('0'), NULL] }],
      },
    });

    const rows = await makeStore().query(freezers, q);

    expect(rows).toEqual([
      {
        time: T0 + 3_600_000,
        dimensions: { site: 'north' },
        values: { temperature: { mean: -18.25, max: -17, count: 4, last: -17.5 }, count: { mean: null, max: null, count: 0, last: null } },
      },
    ]);
    expect(dataCalls()[0]!.QueryString).toContain('GROUP BY bin(time, 1h), "site"');
  });

  it('asks Timestream for the range after a startExclusive, newest first with reverse=true, and keeps its answer’s order', async () => {
    const q = parseDataQuery(freezers, { startExclusive: '2026-01-01T00:00:00Z', endExclusive: '2026-01-02T00:00:00Z', fields: 'temperature,count,open,servicedAt', reverse: 'true' }, NOW);
    const row = (s: number) => ({ Data: [v(`2026-01-01 00:00:0${s}.000000000`), v('f1'), NULL, v(`-${s}.5`), NULL, NULL, NULL] });
    answer({ first: { ColumnInfo: RAW_INFO, Rows: [row(2), row(1)] } });
    const rows = await makeStore().query(freezers, q);
    expect(rows.map((r) => [r.time, r.values.temperature])).toEqual([
      [T0 + 2000, -2.5],
      [T0 + 1000, -1.5],
    ]);
    const sql = dataCalls()[0]!.QueryString!;
    expect(sql).toContain("time >= from_milliseconds(1767225600001)");
    expect(sql).toContain("time < from_milliseconds(1767312000000)");
    expect(sql).toMatch(/ORDER BY time DESC/);
  });

  it('bins granularity=months with date_trunc(\'month\', time), reading its answer as calendar-month bins', async () => {
    const q = parseDataQuery(freezers, { start: '2025-11-01T00:00:00Z', end: '2026-01-01T00:00:00Z', granularity: 'months', downsamplers: 'count,sum', fields: 'temperature' }, NOW);
    answer({
      first: {
        ColumnInfo: [col('bin', 'TIMESTAMP'), col('temperature__count', 'BIGINT'), col('temperature__sum', 'DOUBLE')],
        Rows: [{ Data: [v('2025-11-01 00:00:00.000000000'), v('2'), v('-36.5')] }, { Data: [v('2025-12-01 00:00:00.000000000'), v('1'), v('-17.0')] }],
      },
    });
    const rows = await makeStore().query(freezers, q);
    expect(rows).toEqual([
      { time: Date.parse('2025-11-01T00:00:00Z'), dimensions: {}, values: { temperature: { count: 2, sum: -36.5 } } },
      { time: Date.parse('2025-12-01T00:00:00Z'), dimensions: {}, values: { temperature: { count: 1, sum: -17 } } },
    ]);
    const sql = dataCalls()[0]!.QueryString!;
    expect(sql).toContain("SELECT date_trunc('month', time) AS \"bin\"");
    expect(sql).toContain("GROUP BY date_trunc('month', time)");
    expect(sql).not.toContain('bin(time');
  });

  it('describes the table once and reuses what it learned for later queries', async () => {
    answer({ first: { ColumnInfo: RAW_INFO, Rows: [] } });
    const store = makeStore();
    await store.query(freezers, raw);
    await store.query(freezers, raw);
    const describes = queries.commandCalls(QueryCommand).filter((c) => c.args[0].input.QueryString === 'DESCRIBE "tributary"."datapoints"');
    expect(describes).toHaveLength(1);
  });

  it('describes the table again after a minute when a query needs a column it did not list', async () => {
    answer({ first: { ColumnInfo: RAW_INFO, Rows: [] } });
    let now = NOW;
    const store = makeStore({ now: () => now });
    await store.query(freezers, raw);
    now += 61_000;
    await store.query(freezers, raw);
    expect(queries.commandCalls(QueryCommand).filter((c) => c.args[0].input.QueryString!.startsWith('DESCRIBE'))).toHaveLength(2);
  });

  it('turns a Query error into StoreUnavailableError with the SDK error as cause', async () => {
    const error = new QueryValidationException({ message: 'line 1:8: Column does not exist', $metadata: {} });
    queries.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      if (input.QueryString!.startsWith('DESCRIBE')) return DESCRIBE;
      throw error;
    });
    const failure = await makeStore().query(freezers, raw).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as StoreUnavailableError).cause).toBe(error);
  });
});

describe('TimestreamPointStore.latest', () => {
  it('returns the newest row of each series as the query reports them, null where that row lacks a field', async () => {
    const info = [col('time', 'TIMESTAMP'), col('deviceId', 'VARCHAR'), col('site', 'VARCHAR'), col('temperature__double', 'DOUBLE')];
    answer({
      first: {
        ColumnInfo: info,
        Rows: [
          { Data: [v('2026-01-01 00:10:00.000000000'), v('f1'), NULL, v('-18')] },
          { Data: [v('2026-01-01 00:09:00.000000000'), v('f2'), v('north'), NULL] },
        ],
      },
    });
    const rows = await makeStore().latest(freezers, { fields: ['temperature'], filters: {} });
    expect(rows).toEqual([
      { time: T0 + 600_000, dimensions: { deviceId: 'f1' }, values: { temperature: -18 } },
      { time: T0 + 540_000, dimensions: { deviceId: 'f2', site: 'north' }, values: { temperature: null } },
    ]);
    expect(dataCalls()[0]!.QueryString).toContain('row_number() OVER (PARTITION BY "deviceId", "site" ORDER BY time DESC)');
  });
});

describe('timestreamPointStore (the functions’ factory)', () => {
  it('gives the write client one attempt per call, so a throttled chunk is tried maxAttempts times in all, not times the SDK’s 3', async () => {
    const store = timestreamPointStore({ database: 'tributary', table: 'datapoints' });
    const clients = store as unknown as { writeClient: TimestreamWriteClient; queryClient: TimestreamQueryClient };
    expect(await clients.writeClient.config.maxAttempts()).toBe(1);
    expect(await clients.queryClient.config.maxAttempts()).toBe(3);
  });
});

describe('timestreamEraser', () => {
  it('retains a deleted stream’s points: Timestream has no delete, its retention drops them', async () => {
    expect(await timestreamEraser.eraseStream('freezers')).toBe('retained');
  });
});
