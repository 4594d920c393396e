import {
  type ColumnInfo,
  InternalServerException as QueryInternalServerException,
  QueryCommand,
  type QueryCommandOutput,
  ResourceNotFoundException as QueryResourceNotFoundException,
  type Row as QueryRow,
  ThrottlingException as QueryThrottlingException,
  TimestreamQueryClient,
  TimestreamQueryServiceException,
} from '@aws-sdk/client-timestream-query';
import {
  type _Record,
  type Dimension,
  InternalServerException,
  type MeasureValue,
  RejectedRecordsException,
  ResourceNotFoundException,
  ThrottlingException,
  TimestreamWriteClient,
  TimestreamWriteServiceException,
  WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import * as z from 'zod';
import { parseRfc3339 } from '../domain/datetime';
import { StoreUnavailableError, TributaryError } from '../domain/errors';
import type { Aggregates, DataQuery, LatestQuery, Row, Trend } from '../domain/query';
import type { Stream } from '../domain/stream-definition';
import type { Datapoint, Value } from '../domain/validate-record';
import { type Clock, type PointStore, type RejectedPoint, systemClock, type WriteResult } from '../ports';
import {
  buildDataQuery,
  buildLatestQuery,
  describeTableSql,
  MEASURE_NAME,
  measureColumn,
  type OutputColumn,
  referencedColumns,
  STREAM_DIMENSION,
  type TableRef,
  TIMESTREAM_TYPE,
  type TimestreamQuery,
  type TimestreamType,
} from './timestream-sql';
import { buildSessionQuery, buildSlidingQuery } from './timestream-window-sql';

/** Timestream's limit on records per `WriteRecords` call (Developer Guide, Quotas). */
const MAX_RECORDS_PER_WRITE = 100;
/** How long a `DESCRIBE` of the table is trusted when a query names a column it did not list. */
const COLUMN_REFRESH_MS = 60_000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;
/** A guard against a service that hands out page tokens forever; real queries end long before. */
const MAX_PAGES = 10_000;

/**
 * What `TimestreamPointStore` takes: ready SDK clients, where the data lives, and tuning.
 *
 * @example
 * const options: TimestreamPointStoreOptions = { writeClient, queryClient, database: 'tributary', table: 'datapoints', maxParallel: 8 };
 */
export interface TimestreamPointStoreOptions {
  writeClient: TimestreamWriteClient;
  queryClient: TimestreamQueryClient;
  database: string;
  table: string;
  /** `WriteRecords` calls in flight at once per `write` (default 4). */
  maxParallel?: number;
  /** Attempts per chunk when Timestream throttles or fails internally (default 5). */
  maxAttempts?: number;
  /** Waits between attempts; tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Dates the table description; the system clock unless given. */
  clock?: Clock;
}

const Options = z.object({
  database: z.string().regex(/^[A-Za-z0-9_.-]{3,256}$/, 'must be a Timestream database name'),
  table: z.string().regex(/^[A-Za-z0-9_.-]{3,256}$/, 'must be a Timestream table name'),
  maxParallel: z.number().int().min(1).max(64).default(4),
  maxAttempts: z.number().int().min(1).max(20).default(5),
});

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What the records of one `WriteRecords` call share (`CommonAttributes`): the stream, the measure name,
 * the multi-measure shape and the time unit.
 *
 * @example
 * commonAttributes(stream);
 * // { Dimensions: [{ Name: 'stream_id', Value: 'freezers' }], MeasureName: 'datapoint', MeasureValueType: 'MULTI', TimeUnit: 'MILLISECONDS' }
 */
export function commonAttributes(stream: Stream): _Record {
  return {
    Dimensions: [{ Name: STREAM_DIMENSION, Value: stream.id }],
    MeasureName: MEASURE_NAME,
    MeasureValueType: 'MULTI',
    TimeUnit: 'MILLISECONDS',
  };
}

interface MeasureSpec {
  column: string;
  type: TimestreamType;
}

/**
 * Turns datapoints into Timestream multi-measure records, one per point and in the same order, to be sent
 * with `commonAttributes(stream)`. `write` builds them chunk by chunk instead (`timestreamChunks`).
 *
 * A value Timestream cannot hold is left out: an empty string (a measure value is at least one character).
 * A point left with no measure value at all gets `MeasureValues: []`; `write` reports it as rejected
 * instead of sending it.
 *
 * @example
 * const records = toTimestreamRecords(stream, [{ time: 1767225600000, dimensions: { deviceId: 'f1' }, values: { temperature: -18.5 } }]);
 * // [{ Time: '1767225600000', Dimensions: [{ Name: 'deviceId', Value: 'f1' }], MeasureValues: [{ Name: 'temperature__double', Value: '-18.5', Type: 'DOUBLE' }] }]
 */
export function toTimestreamRecords(stream: Stream, points: readonly Datapoint[]): _Record[] {
  const build = recordBuilder(stream);
  return points.map(build);
}

/** One batch's records in `WriteRecords` calls: at most 100 records, and which point each one is. */
export interface TimestreamChunk {
  records: _Record[];
  /** `indexes[i]` is the position in the written array of `records[i]`. */
  indexes: number[];
}

/**
 * The records of `points` in chunks of at most 100, built as each chunk is asked for: a batch's records are
 * never all alive at once (built up front, a 10 000-point batch's records outlive a young-generation
 * collection and are copied, which cost more than building them). A point with nothing to store goes to
 * `rejected` instead of a chunk. Pure and cheap per record (a benchmark times it).
 *
 * @example
 * for (const chunk of timestreamChunks(stream, points, rejected)) await send(chunk.records);
 */
export function* timestreamChunks(stream: Stream, points: readonly Datapoint[], rejected: RejectedPoint[]): Generator<TimestreamChunk> {
  const build = recordBuilder(stream);
  let chunk: TimestreamChunk = { records: [], indexes: [] };
  for (let i = 0; i < points.length; i++) {
    const record = build(points[i]!);
    if (record.MeasureValues!.length === 0) {
      rejected.push({ index: i, reason: 'the record has no measure value to store (Timestream needs at least one)' });
      continue;
    }
    chunk.records.push(record);
    chunk.indexes.push(i);
    if (chunk.records.length === MAX_RECORDS_PER_WRITE) {
      yield chunk;
      chunk = { records: [], indexes: [] };
    }
  }
  if (chunk.records.length) yield chunk;
}

/** Builds one record per point for a stream; the field lookup is made once, per batch. */
function recordBuilder(stream: Stream): (p: Datapoint) => _Record {
  const measures: Record<string, MeasureSpec> = Object.create(null);
  for (const [name, spec] of Object.entries(stream.schema)) {
    measures[name] = { column: measureColumn(name, spec.type), type: TIMESTREAM_TYPE[spec.type] };
  }
  const dimensionNames = stream.dimensions;
  // points of one series share one (read-only) Dimensions array: a batch holds few series and many points
  const seriesDimensions = new Map<string, Dimension[]>();
  const dimensionsOf = (dims: Record<string, string>): Dimension[] => {
    let key = '';
    for (let d = 0; d < dimensionNames.length; d++) key += `${dims[dimensionNames[d]!] ?? ''}\u0000`;
    let dimensions = seriesDimensions.get(key);
    if (dimensions === undefined) {
      dimensions = [];
      for (let d = 0; d < dimensionNames.length; d++) {
        const name = dimensionNames[d]!;
        const value = dims[name];
        if (value !== undefined) dimensions.push({ Name: name, Value: value });
      }
      seriesDimensions.set(key, dimensions);
    }
    return dimensions;
  };
  return (p) => {
    const values = p.values;
    const measureValues: MeasureValue[] = [];
    for (const name in values) {
      const spec = measures[name];
      const v = values[name];
      if (spec === undefined || v === undefined) continue;
      const text = typeof v === 'string' ? v : typeof v === 'number' ? numberText(v) : String(v);
      if (text.length === 0) continue;
      measureValues.push({ Name: spec.column, Value: text, Type: spec.type });
    }
    return { Time: String(p.time), Dimensions: dimensionsOf(p.dimensions), MeasureValues: measureValues };
  };
}

const POWERS_OF_TEN = [1, 10, 100, 1_000, 10_000];

/**
 * A number as text that parses back to exactly the same double: `String(x)`, but about twice as fast for
 * the common case of a reading with one to four decimals. `m / 10^k === x` proves that the decimal
 * `m·10^-k` rounds to `x` (division and parsing are both correctly rounded), so its text is exact.
 *
 * @example
 * numberText(16.25) // '16.25'
 */
export function numberText(x: number): string {
  if (Number.isInteger(x)) return String(x);
  for (let k = 1; k < POWERS_OF_TEN.length; k++) {
    const scale = POWERS_OF_TEN[k]!;
    const m = Math.round(x * scale);
    if (m / scale !== x || m > 0x7fffffff || m < -0x7fffffff) continue;
    const digits = String(m < 0 ? -m : m).padStart(k + 1, '0');
    const cut = digits.length - k;
    return `${m < 0 ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
  }
  return String(x);
}

/**
 * A store on new SDK clients, as a function builds it once per cold start. The write client makes one
 * attempt per call: `write` retries throttled and failed chunks itself, with backoff, and the SDK's own
 * retries would multiply its attempts. Queries keep the SDK's retries (the store does not retry them).
 *
 * @example
 * const store = timestreamPointStore({ database: config.TIMESTREAM_DATABASE, table: config.TIMESTREAM_TABLE });
 */
export function timestreamPointStore(options: Omit<TimestreamPointStoreOptions, 'writeClient' | 'queryClient'>, wrap: <T>(client: T) => T = (c) => c): TimestreamPointStore {
  return new TimestreamPointStore({ ...options, writeClient: wrap(new TimestreamWriteClient({ maxAttempts: 1 })), queryClient: wrap(new TimestreamQueryClient({})) });
}

const isTransient = (err: unknown): boolean =>
  err instanceof ThrottlingException ||
  err instanceof InternalServerException ||
  err instanceof QueryThrottlingException ||
  err instanceof QueryInternalServerException;

/**
 * The one place where Timestream's errors are sorted, by class. Everything that reaches it is the
 * infrastructure's failure: throttling or internal errors that outlasted the retries, and the
 * configuration failures (missing database or table, denied access, a request Timestream finds invalid).
 */
function toStoreError(err: unknown, action: string): TributaryError {
  if (err instanceof TributaryError) return err;
  let why = 'Timestream could not be reached';
  if (err instanceof ThrottlingException || err instanceof QueryThrottlingException) why = 'throttled beyond the retries; try again later';
  else if (err instanceof InternalServerException || err instanceof QueryInternalServerException) why = 'Timestream reported an internal error';
  else if (err instanceof ResourceNotFoundException || err instanceof QueryResourceNotFoundException) why = 'the database or table does not exist';
  else if (err instanceof TimestreamWriteServiceException || err instanceof TimestreamQueryServiceException) why = `Timestream refused the request (${err.name})`;
  return new StoreUnavailableError(`Timestream ${action} failed: ${why}.`, { cause: err });
}

/**
 * `PointStore` on Amazon Timestream for LiveAnalytics (storage model and SQL in `timestream-sql.ts`).
 *
 * - `write` builds one multi-measure record per point, sends chunks of 100 with `CommonAttributes`, at
 *   most `maxParallel` calls at once. Throttling and internal errors are retried with exponential backoff
 *   and full jitter, then become a `StoreUnavailableError`. Records Timestream rejects come back in
 *   `rejected` with their position in `points`; the rest of their call is written (a rejected record does
 *   not fail its call).
 * - `query` and `latest` run the built SQL and follow `NextToken` to the end: Timestream may answer the
 *   first call with no rows and a token. Columns are read by position and typed by `ColumnInfo`; every
 *   asked field is in `values`, null where the record lacked it.
 * - Timestream refuses SQL that names a column no record has created yet (a field never written, a
 *   dimension never set). The store keeps the table's columns from `DESCRIBE`, refreshed at most once a
 *   minute when a query needs a column it did not list, and reads a missing column as NULL.
 *
 * @example
 * const store = new TimestreamPointStore({
 *   writeClient: new TimestreamWriteClient({}),
 *   queryClient: new TimestreamQueryClient({}),
 *   database: 'tributary',
 *   table: 'datapoints',
 * });
 * const { written, rejected } = await store.write(stream, points);
 */
export class TimestreamPointStore implements PointStore {
  private readonly writeClient: TimestreamWriteClient;
  private readonly queryClient: TimestreamQueryClient;
  private readonly table: TableRef;
  private readonly maxParallel: number;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: Clock;
  private columns: { names: ReadonlySet<string>; at: number } | undefined;
  private describing: Promise<ReadonlySet<string>> | undefined;

  constructor(options: TimestreamPointStoreOptions) {
    const parsed = Options.parse({
      database: options.database,
      table: options.table,
      ...(options.maxParallel !== undefined && { maxParallel: options.maxParallel }),
      ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    });
    this.writeClient = options.writeClient;
    this.queryClient = options.queryClient;
    this.table = { database: parsed.database, table: parsed.table };
    this.maxParallel = parsed.maxParallel;
    this.maxAttempts = parsed.maxAttempts;
    this.sleep = options.sleep ?? defaultSleep;
    this.clock = options.clock ?? systemClock;
  }

  async write(stream: Stream, points: Datapoint[]): Promise<WriteResult> {
    const rejected: RejectedPoint[] = [];
    const chunks = timestreamChunks(stream, points, rejected);
    const common = commonAttributes(stream);
    let written = 0;
    let failure: unknown;
    // the workers take chunks from one generator: each is built only when a worker is free to send it
    const worker = async () => {
      for (let next = chunks.next(); failure === undefined && !next.done; next = chunks.next()) {
        const chunk = next.value;
        try {
          const refused = await this.writeChunk(common, chunk);
          written += chunk.records.length - refused.length;
          for (const r of refused) rejected.push(r);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: this.maxParallel }, worker));
    if (failure !== undefined) throw failure;
    rejected.sort((a, b) => a.index - b.index);
    return { written, rejected };
  }

  /** Resolves to the chunk's rejected points; throws a `StoreUnavailableError` when it cannot be written. */
  private async writeChunk(common: _Record, chunk: TimestreamChunk): Promise<RejectedPoint[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writeClient.send(
          new WriteRecordsCommand({ DatabaseName: this.table.database, TableName: this.table.table, CommonAttributes: common, Records: chunk.records }),
        );
        return [];
      } catch (err) {
        if (err instanceof RejectedRecordsException) return this.rejectedPoints(err, chunk);
        if (!isTransient(err) || attempt >= this.maxAttempts) throw toStoreError(err, 'WriteRecords');
        await this.sleep(backoff(attempt));
      }
    }
  }

  private rejectedPoints(err: RejectedRecordsException, chunk: TimestreamChunk): RejectedPoint[] {
    const seen = new Set<number>();
    const out: RejectedPoint[] = [];
    for (const r of err.RejectedRecords ?? []) {
      const at = r.RecordIndex;
      if (at === undefined || at < 0 || at >= chunk.indexes.length || seen.has(at)) continue;
      seen.add(at);
      const version = r.ExistingVersion === undefined ? '' : ` (existing version ${r.ExistingVersion})`;
      out.push({ index: chunk.indexes[at]!, reason: `${r.Reason ?? 'rejected by Timestream'}${version}` });
    }
    return out;
  }

  async query(stream: Stream, q: DataQuery): Promise<Row[]> {
    const known = await this.knownColumns(referencedColumns(stream, q.fields));
    const build = q.window?.kind === 'sliding' ? buildSlidingQuery : q.window?.kind === 'session' ? buildSessionQuery : buildDataQuery;
    return this.run(build(this.table, stream, q, known), q.limit);
  }

  async latest(stream: Stream, q: LatestQuery): Promise<Row[]> {
    const known = await this.knownColumns(referencedColumns(stream, q.fields));
    return this.run(buildLatestQuery(this.table, stream, q, known), Number.POSITIVE_INFINITY);
  }

  private async run(query: TimestreamQuery, limit: number): Promise<Row[]> {
    const rows: Row[] = [];
    await this.pages(query.sql, (info, page) => {
      for (const r of page) {
        if (rows.length >= limit) return false;
        rows.push(toRow(query.columns, info, r));
      }
      return rows.length < limit;
    });
    return rows;
  }

  /** Calls `onPage` for every page until the last one or until it returns false. */
  private async pages(sql: string, onPage: (info: ColumnInfo[], rows: QueryRow[]) => boolean): Promise<void> {
    let token: string | undefined;
    let info: ColumnInfo[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      let out: QueryCommandOutput;
      try {
        // a follow-up call must repeat the query string with the token (Query API reference)
        out = await this.queryClient.send(new QueryCommand({ QueryString: sql, ...(token !== undefined && { NextToken: token }) }));
      } catch (err) {
        throw toStoreError(err, 'Query');
      }
      if (out.ColumnInfo?.length) info = out.ColumnInfo;
      const more = onPage(info, out.Rows ?? []);
      token = out.NextToken;
      if (!more || token === undefined) return;
    }
    throw new StoreUnavailableError(`Timestream Query failed: more than ${MAX_PAGES} pages.`);
  }

  /** The table's columns, described again when a needed one is missing and the description is old. */
  private async knownColumns(needed: readonly string[]): Promise<ReadonlySet<string>> {
    const cached = this.columns;
    if (cached && (needed.every((c) => cached.names.has(c)) || this.clock.now() - cached.at < COLUMN_REFRESH_MS)) return cached.names;
    this.describing ??= this.describe().finally(() => {
      this.describing = undefined;
    });
    return this.describing;
  }

  private async describe(): Promise<ReadonlySet<string>> {
    const names = new Set<string>();
    await this.pages(describeTableSql(this.table), (info, rows) => {
      const at = Math.max(
        0,
        info.findIndex((c) => c.Name?.toLowerCase() === 'column'),
      );
      for (const r of rows) {
        const name = r.Data?.[at]?.ScalarValue;
        if (name !== undefined) names.add(name);
      }
      return true;
    });
    this.columns = { names, at: this.clock.now() };
    return names;
  }
}

/** Full jitter: a random wait up to base × 2^(attempt-1), capped. */
function backoff(attempt: number): number {
  return Math.floor(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
}

/**
 * One scalar of a Query result, typed by its column: numbers, booleans, strings, and TIMESTAMP
 * (`2026-01-01 00:00:00.000000000`, UTC) as epoch milliseconds. `NullValue` and non-finite numbers are null.
 *
 * @example
 * parseScalar({ ScalarValue: '2026-01-01 00:00:00.250000000' }, 'TIMESTAMP'); // 1767225600250
 * parseScalar({ NullValue: true }, 'DOUBLE'); // null
 */
export function parseScalar(datum: { ScalarValue?: string | undefined; NullValue?: boolean | undefined } | undefined, type: string | undefined): Value | null {
  const s = datum?.ScalarValue;
  if (s === undefined || datum?.NullValue === true) return null;
  switch (type) {
    case 'DOUBLE':
    case 'BIGINT':
    case 'INTEGER': {
      const n = Number(s);
      return Number.isFinite(n) ? n : null;
    }
    case 'BOOLEAN':
      return s === 'true';
    case 'TIMESTAMP':
      return parseRfc3339(`${s}Z`) ?? null;
    default:
      return s;
  }
}

function toRow(columns: OutputColumn[], info: ColumnInfo[], r: QueryRow): Row {
  const data = r.Data ?? [];
  const row: Row = { time: 0, dimensions: {}, values: {} };
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i]!;
    const v = parseScalar(data[i], info[i]?.Type?.ScalarType);
    switch (col.kind) {
      case 'time':
        if (typeof v !== 'number') throw new StoreUnavailableError('Timestream Query failed: a row has no time.');
        row.time = v;
        break;
      case 'dimension':
        if (v !== null) row.dimensions[col.name] = String(v);
        break;
      case 'value':
        row.values[col.field] = v;
        break;
      case 'aggregate': {
        const aggregates = (row.values[col.field] ??= {}) as Aggregates;
        aggregates[col.downsampler] = v as Value | null;
        break;
      }
      case 'trend': {
        // the slope's column comes first: a NaN or null slope (fewer than two times) makes the trend null
        const aggregates = (row.values[col.field] ??= {}) as Aggregates;
        if (col.part === 'slope') aggregates.trend = typeof v === 'number' ? { slope: v, r2: 1 } : null;
        else if (aggregates.trend) (aggregates.trend as Trend).r2 = typeof v === 'number' ? v : 1;
        break;
      }
      case 'end':
      case 'count':
        if (typeof v === 'number') row[col.kind] = v;
        break;
    }
  }
  return row;
}
