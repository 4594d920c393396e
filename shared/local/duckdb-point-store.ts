import { resolve } from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { z } from 'zod';
import { StoreUnavailableError } from '../domain/errors';
import type { Aggregates, Cursor, DataQuery, Downsampler, LatestQuery, Row } from '../domain/query';
import { STREAM_ID, type FieldType, type Stream } from '../domain/stream-definition';
import type { Datapoint, Value } from '../domain/validate-record';
import type { PointStore, RejectedPoint, WriteResult } from '../ports';

/**
 * Timestream's stand-in on one machine: datapoints in a DuckDB file, behind the `PointStore` port.
 *
 * Layout, two tables per stream (named from the stream id, which matches `STREAM_ID`):
 * - `"series/<id>"`: `"$series" INTEGER PRIMARY KEY` and one `VARCHAR` per dimension ('' when missing);
 * - `"points/<id>"`: `"$series" INTEGER`, `"time" BIGINT` (epoch ms) and one typed column per measure field:
 *   `DOUBLE` (number), `BIGINT` (integer, datetime as epoch ms), `VARCHAR` (string; object and array as JSON
 *   text), `BOOLEAN`.
 *
 * Points carry a series number instead of their dimension strings, so a batch is appended as plain numeric
 * vectors and queries group and filter on integers. DuckDB compares identifiers without regard to case, so
 * a field's column is its name with `^` before each capital (`sensorId` → `"sensor^Id"`): `temp` and `Temp`
 * stay two columns. Identifiers come only from the schema and are quoted; values are always parameters.
 *
 * Each write appends its new points grouped by series (`seriesOrder`). Points arrive time-major, every series
 * at each tick: appended as they came, every 2048-row vector holds every series and a one-series query decodes
 * all of the table. Grouped, most vectors hold none of a given series, and the scan reads the other columns only
 * of the vectors its `"$series"` filter kept (bench/store.ts measures it). Rewriting rows ordered by series
 * later, as a compaction, was measured too: by day it gained nothing more after 50,000-point writes; the whole
 * table gained a fraction of a millisecond but made `latest()`, whose time filter then prunes nothing, twice
 * as slow, and costs more as the table grows. So the store does not compact.
 *
 * Duplicates (same series and time) are dropped at write time, keeping the first. The store remembers the
 * newest time of each series: a point newer than that cannot be a duplicate and is appended directly; the
 * rest (redeliveries, late data) go through a staging table and an anti-join. A write is one transaction;
 * DuckDB fsyncs its write-ahead log on commit, so a resolved write survives `kill -9`.
 *
 * One store per database file: it keeps the series of each stream in memory, so a second store on the same
 * file in this process is refused (DuckDB itself refuses a second process).
 *
 * @example
 * const store = await DuckDbPointStore.open(join(dataDir, 'points.duckdb'));
 * await store.write(stream, points);
 * const rows = await store.query(stream, parseDataQuery(stream, { granularity: '1h' }, Date.now()));
 * await store.close();
 */
export class DuckDbPointStore implements PointStore {
  private readonly tables = new Map<string, Table>();
  private writeTail: Promise<unknown> = Promise.resolve();
  private readonly idleReaders: DuckDBConnection[] = [];
  private readonly readerWaiters: ((c: DuckDBConnection) => void)[] = [];
  private readonly activeReads = new Set<Promise<unknown>>();
  private readerCount = 0;
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly options: DuckDbPointStoreOptions,
    private readonly lockKey: string | undefined,
  ) {}

  /**
   * Opens the database file at `path` (created if missing; `:memory:` for a throwaway store) and reads
   * which streams it holds. Throws `StoreUnavailableError` if DuckDB cannot open it (e.g. another process
   * holds it).
   *
   * @example
   * const store = await DuckDbPointStore.open(':memory:', { readers: 2 });
   */
  static async open(path: string, options: Partial<DuckDbPointStoreOptions> = {}): Promise<DuckDbPointStore> {
    const opts = OptionsSchema.parse(options);
    const lockKey = path === ':memory:' ? undefined : resolve(path);
    if (lockKey !== undefined && openFiles.has(lockKey)) {
      throw new StoreUnavailableError(`The point store ${lockKey} is already open in this process.`);
    }
    if (lockKey !== undefined) openFiles.add(lockKey);
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(path, opts.threads === undefined ? {} : { threads: String(opts.threads) });
      const writer = await instance.connect();
      const store = new DuckDbPointStore(instance, writer, opts, lockKey);
      await store.loadCatalog();
      return store;
    } catch (err) {
      if (lockKey !== undefined) openFiles.delete(lockKey);
      instance?.closeSync();
      throw unavailable('open the point store', err);
    }
  }

  /**
   * One transaction per call. `written` counts every accepted point, repeats of stored points included (they
   * change nothing); a point whose value does not have its field's type is refused in `rejected`.
   */
  async write(stream: Stream, points: Datapoint[]): Promise<WriteResult> {
    if (points.length === 0) return { written: 0, rejected: [] };
    return this.exclusive(async () => {
      const table = await this.ensureTable(stream);
      const series = table.index ?? (table.index = await this.loadSeries(table));
      const batch = classify(table, series, points);
      if (batch.fresh.length + batch.suspects.length > 0) {
        try {
          await this.writer.run('BEGIN TRANSACTION');
          if (batch.newSeries.length) await this.appendSeries(table, series.count, batch.newSeries);
          if (batch.fresh.length) {
            const order = this.options.groupBySeries ? seriesOrder(batch.freshSeries) : undefined;
            await this.appendPoints(table, points, batch.fresh, batch.freshSeries, order);
          }
          if (batch.suspects.length) await this.insertSuspects(table, points, batch);
          await this.writer.run('COMMIT');
        } catch (err) {
          await this.writer.run('ROLLBACK').catch(() => {});
          // classify() already placed the new series in the index, and the rollback may have taken the staging
          // table with it: both are rebuilt from what was committed.
          table.index = undefined;
          table.stageReady = false;
          throw unavailable(`write to stream '${stream.id}'`, err);
        }
        for (const values of batch.newSeries) series.dimensions.push(values);
        series.count += batch.newSeries.length;
        for (const [sid, time] of batch.newest) series.newest[sid] = time;
      }
      return { written: points.length - batch.rejected.length, rejected: batch.rejected };
    });
  }

  async query(stream: Stream, q: DataQuery): Promise<Row[]> {
    this.assertOpen();
    const table = this.tables.get(stream.id);
    if (!table) return [];
    const sids = await this.seriesMatching(table, q.filters);
    if (sids?.length === 0) return [];
    const sql = q.granularity === 'raw' ? rawSql(stream, table, q, sids) : downsampledSql(stream, table, q, sids);
    const columns = await this.read(sql, `query stream '${stream.id}'`);
    return q.granularity === 'raw'
      ? rowsOf(columns, stream.dimensions, q.fields, (v, i) => valueOf(v, kindOf(stream, q.fields[i]!)))
      : aggregateRowsOf(columns, q, stream);
  }

  async latest(stream: Stream, q: LatestQuery): Promise<Row[]> {
    this.assertOpen();
    const table = this.tables.get(stream.id);
    if (!table) return [];
    // The newest time of each known series bounds the scan to the tail of the table (zonemaps skip the rest).
    const series = table.index ?? (await this.exclusive(async () => table.index ?? (table.index = await this.loadSeries(table))));
    const known = series.count;
    let bound = Number.MAX_SAFE_INTEGER;
    for (let sid = 0; sid < known; sid++) {
      if (!matches(table.dims, series.dimensions[sid]!, q.filters)) continue;
      const newest = series.newest[sid];
      bound = newest === undefined ? Number.MIN_SAFE_INTEGER : Math.min(bound, newest);
    }
    const columns = await this.read(latestSql(stream, table, q, bound, known), `read the latest of stream '${stream.id}'`);
    return rowsOf(columns, stream.dimensions, q.fields, (v, i) => valueOf(v, kindOf(stream, q.fields[i]!)));
  }

  /**
   * The series numbers the `dim.` filters keep, from the in-memory index, so a query filters on integers
   * pushed into the scan instead of joining the series table; `undefined` when there are no filters, or so
   * many matches that the join is cheaper.
   */
  private async seriesMatching(table: Table, filters: Record<string, string[]>): Promise<number[] | undefined> {
    if (Object.keys(filters).length === 0) return undefined;
    const series = table.index ?? (await this.exclusive(async () => table.index ?? (table.index = await this.loadSeries(table))));
    const sids: number[] = [];
    for (let sid = 0; sid < series.count; sid++) {
      if (!matches(table.dims, series.dimensions[sid]!, filters)) continue;
      if (sids.push(sid) > MAX_SERIES_LIST) return undefined;
    }
    return sids;
  }

  /** Waits for running writes and reads, then closes the database (DuckDB checkpoints on close). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeTail.catch(() => {});
    await Promise.allSettled([...this.activeReads]);
    for (const c of this.idleReaders.splice(0)) c.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
    if (this.lockKey !== undefined) openFiles.delete(this.lockKey);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('The point store is closed.');
  }

  /** Runs `fn` after every write before it: one writer connection, one transaction at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const run = this.writeTail.then(fn, fn);
    this.writeTail = run.catch(() => {});
    return run;
  }

  /** Runs a query on a reader connection (DuckDB's MVCC lets readers run beside the writer). */
  private async read(sql: Sql, what: string): Promise<DuckDBValue[][]> {
    const run = (async () => {
      const connection = await this.acquireReader();
      try {
        const reader = await connection.runAndReadAll(sql.text, sql.values, sql.types);
        return reader.getColumns();
      } finally {
        const waiter = this.readerWaiters.shift();
        if (waiter) waiter(connection);
        else this.idleReaders.push(connection);
      }
    })();
    this.activeReads.add(run);
    try {
      return await run;
    } catch (err) {
      throw unavailable(what, err);
    } finally {
      this.activeReads.delete(run);
    }
  }

  private async acquireReader(): Promise<DuckDBConnection> {
    const idle = this.idleReaders.pop();
    if (idle) return idle;
    if (this.readerCount < this.options.readers) {
      this.readerCount++;
      try {
        return await this.instance.connect();
      } catch (err) {
        this.readerCount--;
        throw err;
      }
    }
    return new Promise((resolve) => this.readerWaiters.push(resolve));
  }

  /** Learns the tables and columns already in the file. */
  private async loadCatalog(): Promise<void> {
    const reader = await this.writer.runAndReadAll(
      `SELECT table_name, column_name, data_type FROM duckdb_columns()
       WHERE database_name = current_database() AND schema_name = 'main' AND (table_name LIKE 'points/%' OR table_name LIKE 'series/%')
       ORDER BY table_name, column_index`,
    );
    const byStream = new Map<string, { points: [string, string][]; series: string[] }>();
    for (const [tableName, column, type] of reader.getRows() as [string, string, string][]) {
      const [role, id] = tableName.split('/') as ['points' | 'series', string];
      const entry = byStream.get(id) ?? { points: [], series: [] };
      byStream.set(id, entry);
      if (role === 'points') entry.points.push([column, type]);
      else entry.series.push(column);
    }
    for (const [id, entry] of byStream) {
      if (entry.points.length && entry.series.length) this.tables.set(id, tableOf(id, entry.points, entry.series, 0));
    }
  }

  /** Creates the stream's tables, or adds the columns of fields the schema gained since. */
  private async ensureTable(stream: Stream): Promise<Table> {
    const known = this.tables.get(stream.id);
    if (known && known.version >= stream.version) return known;
    if (!STREAM_ID.test(stream.id)) throw new Error(`Stream id '${stream.id}' cannot name a table.`);
    const measures = measureKinds(stream);
    const statements: string[] = [];
    let seriesAltered = false;
    if (!known) {
      const dims = stream.dimensions.map((d) => `${ident(columnOf(d))} VARCHAR NOT NULL`);
      const cols = [...measures].map(([f, kind]) => `${ident(columnOf(f))} ${SQL_TYPE[kind]}`);
      statements.push(
        `CREATE TABLE IF NOT EXISTS ${seriesTable(stream.id)} ("$series" INTEGER PRIMARY KEY${dims.map((d) => `, ${d}`).join('')})`,
        `CREATE TABLE IF NOT EXISTS ${pointsTable(stream.id)} ("$series" INTEGER NOT NULL, "time" BIGINT NOT NULL${cols.map((c) => `, ${c}`).join('')})`,
      );
    } else {
      for (const [f, kind] of measures) {
        if (!known.measures.has(f)) statements.push(`ALTER TABLE ${known.points} ADD COLUMN ${ident(columnOf(f))} ${SQL_TYPE[kind]}`);
      }
      for (const d of stream.dimensions) {
        if (known.dims.includes(d)) continue;
        statements.push(`ALTER TABLE ${known.series} ADD COLUMN ${ident(columnOf(d))} VARCHAR DEFAULT ''`);
        seriesAltered = true;
      }
    }
    if (statements.length === 0) {
      known!.version = stream.version;
      return known!;
    }
    try {
      await this.writer.run('BEGIN TRANSACTION');
      for (const s of statements) await this.writer.run(s);
      await this.writer.run('COMMIT');
      if (known) await this.writer.run(`DROP TABLE IF EXISTS ${stageTable(stream.id)}`);
      const reader = await this.writer.runAndReadAll(
        `SELECT table_name, column_name, data_type FROM duckdb_columns()
         WHERE database_name = current_database() AND schema_name = 'main' AND table_name IN ($1, $2) ORDER BY column_index`,
        [`points/${stream.id}`, `series/${stream.id}`],
        [VARCHAR, VARCHAR],
      );
      const rows = reader.getRows() as [string, string, string][];
      const points = rows.filter((r) => r[0].startsWith('points/')).map((r): [string, string] => [r[1], r[2]]);
      const series = rows.filter((r) => r[0].startsWith('series/')).map((r) => r[1]);
      const table = tableOf(stream.id, points, series, stream.version);
      // New measure columns leave the series as they were; a new dimension changes every series' key.
      if (known && !seriesAltered) table.index = known.index;
      this.tables.set(stream.id, table);
      return table;
    } catch (err) {
      await this.writer.run('ROLLBACK').catch(() => {});
      throw unavailable(`prepare the tables of stream '${stream.id}'`, err);
    }
  }

  /** Reads the series of a stream and the newest time of each. */
  private async loadSeries(table: Table): Promise<SeriesIndex> {
    try {
      const dimCols = table.dims.map((d) => ident(columnOf(d)));
      const names = await this.writer.runAndReadAll(`SELECT "$series"${dimCols.map((c) => `, ${c}`).join('')} FROM ${table.series} ORDER BY "$series"`);
      const newest = await this.writer.runAndReadAll(`SELECT "$series", max("time")::DOUBLE FROM ${table.points} GROUP BY "$series"`);
      const index: SeriesIndex = { root: {}, dimensions: [], newest: [], count: 0 };
      for (const [sid, ...values] of names.getRows() as [number, ...string[]][]) {
        if (sid !== index.count) throw new Error(`series numbers of '${table.series}' are not contiguous at ${sid}`);
        nodeOf(index.root, values).sid = sid;
        index.dimensions.push(values);
        index.count++;
      }
      for (const [sid, time] of newest.getRows() as [number, number][]) index.newest[sid] = time;
      return index;
    } catch (err) {
      throw unavailable(`read the series of '${table.series}'`, err);
    }
  }

  private async appendSeries(table: Table, firstSid: number, rows: string[][]): Promise<void> {
    const appender = await this.writer.createAppender(table.seriesName);
    try {
      rows.forEach((values, i) => {
        appender.appendInteger(firstSid + i);
        for (const v of values) appender.appendVarchar(v);
        appender.endRow();
      });
    } finally {
      appender.closeSync();
    }
  }

  private async appendPoints(table: Table, points: Datapoint[], indexes: number[], sids: number[], order: Int32Array | undefined): Promise<void> {
    const appender = await this.writer.createAppender(table.pointsName);
    try {
      appendChunks(appender, table, points, indexes, sids, false, order);
    } finally {
      appender.closeSync();
    }
  }

  /** Points that may already be stored: staged, deduplicated (first wins), and inserted where absent. */
  private async insertSuspects(table: Table, points: Datapoint[], batch: Batch): Promise<void> {
    if (!table.stageReady) {
      await this.writer.run(`CREATE TEMP TABLE IF NOT EXISTS ${table.stage} AS SELECT *, 0::INTEGER AS "$index" FROM ${table.points} LIMIT 0`);
      table.stageReady = true;
    }
    const appender = await this.writer.createAppender(table.stageName, 'main', 'temp');
    try {
      appendChunks(appender, table, points, batch.suspects, batch.suspectSeries, true);
    } finally {
      appender.closeSync();
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of batch.suspects) {
      lo = Math.min(lo, points[i]!.time);
      hi = Math.max(hi, points[i]!.time);
    }
    const cols = ['"$series"', '"time"', ...[...table.measures.keys()].map((f) => ident(columnOf(f)))].join(', ');
    await this.writer.run(
      `INSERT INTO ${table.points} (${cols})
       SELECT ${cols} FROM (SELECT DISTINCT ON ("$series", "time") * FROM ${table.stage} ORDER BY "$series", "time", "$index") AS n
       WHERE NOT EXISTS (SELECT 1 FROM ${table.points} AS o WHERE o."$series" = n."$series" AND o."time" = n."time" AND o."time" BETWEEN $1 AND $2)`,
      [lo, hi],
      [BIGINT, BIGINT],
    );
    await this.writer.run(`DELETE FROM ${table.stage}`);
  }
}

/**
 * Options of `DuckDbPointStore.open`, checked when the store opens.
 *
 * @example
 * const store = await DuckDbPointStore.open(path, { readers: 4, threads: 2 });
 */
export interface DuckDbPointStoreOptions {
  /** Connections that serve queries beside the one writer (default 2). */
  readers: number;
  /** DuckDB worker threads (default: DuckDB's, the number of CPUs). */
  threads?: number;
  /**
   * Appends each write's new points grouped by series instead of as they came (default true), so queries on
   * one or a few series skip most of the table; `false` only to measure the difference.
   */
  groupBySeries: boolean;
}

const OptionsSchema = z.strictObject({
  readers: z.number().int().min(1).max(64).default(2),
  threads: z.number().int().min(1).max(256).optional(),
  groupBySeries: z.boolean().default(true),
});

const openFiles = new Set<string>();

type Kind = 'double' | 'bigint' | 'varchar' | 'boolean';

const KIND_OF_TYPE: Record<FieldType, Kind> = {
  number: 'double',
  integer: 'bigint',
  datetime: 'bigint',
  string: 'varchar',
  object: 'varchar',
  array: 'varchar',
  boolean: 'boolean',
};
const SQL_TYPE: Record<Kind, string> = { double: 'DOUBLE', bigint: 'BIGINT', varchar: 'VARCHAR', boolean: 'BOOLEAN' };
const CHUNK_TYPE: Record<Kind, DuckDBType> = { double: DOUBLE, bigint: BIGINT, varchar: VARCHAR, boolean: BOOLEAN };
const KIND_OF_SQL: Record<string, Kind> = { DOUBLE: 'double', BIGINT: 'bigint', VARCHAR: 'varchar', BOOLEAN: 'boolean' };
const JS_TYPE: Record<Kind, 'number' | 'string' | 'boolean'> = { double: 'number', bigint: 'number', varchar: 'string', boolean: 'boolean' };
const DESCRIBE_KIND: Record<Kind, string> = { double: 'a finite number', bigint: 'a safe integer', varchar: 'a string', boolean: 'a boolean' };

interface Table {
  /** Quoted names, and the bare names the appender takes. */
  points: string;
  series: string;
  stage: string;
  pointsName: string;
  seriesName: string;
  stageName: string;
  /** Measure columns in table order: field → kind. */
  measures: Map<string, Kind>;
  /** Dimension columns of the series table, in table order (field names). */
  dims: string[];
  /** The stream version whose fields all have a column (0: not checked since open). */
  version: number;
  stageReady: boolean;
  /** The stream's series, loaded on first write or `latest()`. */
  index?: SeriesIndex;
}

interface SeriesNode {
  sid?: number;
  next?: Map<string, SeriesNode>;
}

/**
 * A stream's series: a trie from dimension values to the series number (during a write it also holds the
 * series that write creates), and per committed series its dimension values and newest stored time.
 */
interface SeriesIndex {
  root: SeriesNode;
  dimensions: string[][];
  newest: number[];
  count: number;
}

interface Batch {
  rejected: RejectedPoint[];
  /** Points newer than anything stored for their series: appended as they are. */
  fresh: number[];
  freshSeries: number[];
  /** Points that may repeat a stored one: go through the anti-join. */
  suspects: number[];
  suspectSeries: number[];
  /** Dimension values of the series this batch creates, numbered from `SeriesIndex.count`. */
  newSeries: string[][];
  /** The newest time of each series the batch advances. */
  newest: Map<number, number>;
}

function tableOf(id: string, points: [string, string][], series: string[], version: number): Table {
  const measures = new Map<string, Kind>();
  for (const [column, type] of points) {
    if (column === '$series' || column === 'time') continue;
    measures.set(fieldOf(column), KIND_OF_SQL[type] ?? 'varchar');
  }
  return {
    points: pointsTable(id),
    series: seriesTable(id),
    stage: stageTable(id),
    pointsName: `points/${id}`,
    seriesName: `series/${id}`,
    stageName: `stage/${id}`,
    measures,
    dims: series.filter((c) => c !== '$series').map(fieldOf),
    version,
    stageReady: false,
  };
}

const pointsTable = (id: string) => `"points/${id}"`;
const seriesTable = (id: string) => `"series/${id}"`;
const stageTable = (id: string) => `temp.main."stage/${id}"`;

/** A field's column: DuckDB matches identifiers case-insensitively, so capitals are marked to keep names distinct. */
function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, '^$&');
}

function fieldOf(column: string): string {
  return column.replaceAll('^', '');
}

const SAFE_IDENT = /^[A-Za-z_^][A-Za-z0-9_^]*$/;

function ident(name: string): string {
  if (!SAFE_IDENT.test(name)) throw new Error(`'${name}' cannot be a column name.`);
  return `"${name}"`;
}

function measureKinds(stream: Stream): Map<string, Kind> {
  const kinds = new Map<string, Kind>();
  for (const [name, spec] of Object.entries(stream.schema)) {
    if (name === stream.timeField || stream.dimensions.includes(name)) continue;
    kinds.set(name, KIND_OF_TYPE[spec.type]);
  }
  return kinds;
}

function kindOf(stream: Stream, field: string): Kind {
  const type = stream.schema[field]?.type;
  return type ? KIND_OF_TYPE[type] : 'varchar';
}

function nodeOf(root: SeriesNode, values: string[]): SeriesNode {
  let node = root;
  for (const v of values) {
    const next = (node.next ??= new Map());
    let child = next.get(v);
    if (!child) next.set(v, (child = {}));
    node = child;
  }
  return node;
}

function matches(dims: string[], values: string[], filters: Record<string, string[]>): boolean {
  for (const [d, accepted] of Object.entries(filters)) {
    const i = dims.indexOf(d);
    if (!accepted.includes(i < 0 ? '' : values[i]!)) return false;
  }
  return true;
}

/** Sorts a batch into rejected, fresh and suspect points, numbering new series as it goes. */
function classify(table: Table, series: SeriesIndex, points: Datapoint[]): Batch {
  const batch: Batch = { rejected: [], fresh: [], freshSeries: [], suspects: [], suspectSeries: [], newSeries: [], newest: new Map() };
  const fields = [...table.measures.keys()];
  const kinds = [...table.measures.values()];
  const dims = table.dims;
  const newest: number[] = [];
  let nextSid = series.count;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const problem = checkPoint(p, fields, kinds);
    if (problem) {
      batch.rejected.push({ index: i, reason: problem });
      continue;
    }
    let node = series.root;
    for (let d = 0; d < dims.length; d++) {
      const v = p.dimensions[dims[d]!] ?? '';
      const next = (node.next ??= new Map());
      let child = next.get(v);
      if (!child) next.set(v, (child = {}));
      node = child;
    }
    let sid = node.sid;
    if (sid === undefined) {
      sid = node.sid = nextSid++;
      batch.newSeries.push(dims.map((d) => p.dimensions[d] ?? ''));
    }
    if (p.time > (newest[sid] ?? series.newest[sid] ?? -Infinity)) {
      newest[sid] = p.time;
      batch.fresh.push(i);
      batch.freshSeries.push(sid);
    } else {
      batch.suspects.push(i);
      batch.suspectSeries.push(sid);
    }
  }
  newest.forEach((time, sid) => batch.newest.set(sid, time));
  return batch;
}

/**
 * The order to append a batch's points of series `sids` in (positions in `sids`), or `undefined` to keep theirs:
 * the series are cut, by number, into groups whose points fill about one vector (`CHUNK_ROWS`), and the groups
 * follow each other, each keeping the batch's order (a stable counting sort). A one-series query then finds its
 * series in few vectors, and within a group time-major points keep equal times in runs, which DuckDB stores as
 * RLE: ordering by series alone made queries over all series slower. A batch that fits one vector keeps its order.
 */
function seriesOrder(sids: number[]): Int32Array | undefined {
  const n = sids.length;
  if (n <= CHUNK_ROWS) return undefined;
  const distinct = [...new Set(sids)].sort((a, b) => a - b);
  const perGroup = Math.max(1, Math.floor((CHUNK_ROWS * distinct.length) / n));
  if (perGroup >= distinct.length) return undefined;
  const groupOf = new Map(distinct.map((sid, rank) => [sid, Math.floor(rank / perGroup)]));
  const keys = new Int32Array(n);
  const starts = new Int32Array(Math.ceil(distinct.length / perGroup) + 1);
  for (let i = 0; i < n; i++) starts[(keys[i] = groupOf.get(sids[i]!)!) + 1]!++;
  for (let g = 1; g < starts.length; g++) starts[g]! += starts[g - 1]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[starts[keys[i]!]!++] = i;
  return order;
}

/** What the validator guarantees, checked again because a wrong type would be stored as garbage. */
function checkPoint(p: Datapoint, fields: string[], kinds: Kind[]): string | undefined {
  if (!Number.isSafeInteger(p.time)) return `time ${String(p.time)} is not an integer of epoch milliseconds`;
  const values = p.values;
  for (let m = 0; m < fields.length; m++) {
    const v = values[fields[m]!];
    if (v === undefined || v === null) continue;
    const kind = kinds[m]!;
    const ok =
      kind === 'double' ? typeof v === 'number' && Number.isFinite(v) : kind === 'bigint' ? Number.isSafeInteger(v) : typeof v === JS_TYPE[kind];
    if (!ok) return `'${fields[m]}' must be ${DESCRIBE_KIND[kind]}, got ${typeof v === 'string' ? 'a string' : String(v)}`;
  }
  return undefined;
}

const CHUNK_ROWS = 2048;

/**
 * Fills data chunks column by column (typed vectors, one copy per column) and appends them: the points
 * `indexes` of series `sids`, in `order` (positions in `indexes`) when given.
 */
function appendChunks(
  appender: DuckDBAppender,
  table: Table,
  points: Datapoint[],
  indexes: number[],
  sids: number[],
  withIndex: boolean,
  order?: Int32Array,
): void {
  const measures = [...table.measures];
  const types = [INTEGER, BIGINT, ...measures.map(([, kind]) => CHUNK_TYPE[kind]), ...(withIndex ? [INTEGER] : [])];
  const rows = new Int32Array(CHUNK_ROWS);
  const chunkPoints = new Array<Datapoint>(CHUNK_ROWS);
  for (let from = 0; from < indexes.length; from += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, indexes.length - from);
    for (let r = 0; r < n; r++) {
      rows[r] = order ? order[from + r]! : from + r;
      chunkPoints[r] = points[indexes[rows[r]!]!]!;
    }
    const chunk = DuckDBDataChunk.create(types, n);
    const sidVector = chunk.getColumnVector(0);
    const timeVector = chunk.getColumnVector(1);
    for (let r = 0; r < n; r++) {
      sidVector.setItem(r, sids[rows[r]!]!);
      timeVector.setItem(r, BigInt(chunkPoints[r]!.time));
    }
    sidVector.flush();
    timeVector.flush();
    for (let m = 0; m < measures.length; m++) {
      const [field, kind] = measures[m]!;
      const vector = chunk.getColumnVector(2 + m);
      if (kind === 'bigint') {
        for (let r = 0; r < n; r++) {
          const v = chunkPoints[r]!.values[field];
          vector.setItem(r, v === undefined || v === null ? null : BigInt(v as number));
        }
      } else {
        for (let r = 0; r < n; r++) vector.setItem(r, chunkPoints[r]!.values[field] ?? null);
      }
      vector.flush();
    }
    if (withIndex) {
      const vector = chunk.getColumnVector(2 + measures.length);
      for (let r = 0; r < n; r++) vector.setItem(r, rows[r]!);
      vector.flush();
    }
    appender.appendDataChunk(chunk);
  }
}

/** SQL text with its parameters: values never enter the text. */
class Sql {
  text = '';
  readonly values: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];
  param(value: DuckDBValue, type: DuckDBType): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

const TIME = 'p."time"';

/** A field's column, or a typed NULL while the schema has a field no write has stored yet. */
function fieldExpr(stream: Stream, table: Table, field: string): string {
  return table.measures.has(field) ? `p.${ident(columnOf(field))}` : `NULL::${SQL_TYPE[kindOf(stream, field)]}`;
}

function dimExpr(table: Table, dim: string): string {
  return table.dims.includes(dim) ? `s.${ident(columnOf(dim))}` : `''`;
}

/** `s."dim" IN (...)` for each filtered dimension. */
function filterConditions(sql: Sql, table: Table, filters: Record<string, string[]>): string[] {
  return Object.entries(filters).map(([d, values]) => `${dimExpr(table, d)} IN (${values.map((v) => sql.param(v, VARCHAR)).join(', ')})`);
}

/** Most series numbers a query lists inline; past it, it joins the series table and filters there. */
const MAX_SERIES_LIST = 1_000;

/** The `dim.` filters as series numbers when the index resolved them (`sids`), else on the joined dimensions. */
function seriesConditions(sql: Sql, table: Table, filters: Record<string, string[]>, sids: number[] | undefined): string[] {
  if (sids === undefined) return filterConditions(sql, table, filters);
  if (sids.length === 1) return [`p."$series" = ${sql.param(sids[0]!, INTEGER)}`];
  return [`p."$series" IN (${sids.map((sid) => sql.param(sid, INTEGER)).join(', ')})`];
}

/** Rows strictly after the cursor in (time, key…) order; `>=` on time first so zonemaps can prune. */
function afterConditions(sql: Sql, timeExpr: string, keyExprs: string[], after: Cursor, order: 'asc' | 'desc'): string[] {
  const gt = order === 'asc' ? '>' : '<';
  const t = sql.param(after.time, BIGINT);
  const keys = after.key.map((k) => sql.param(k, VARCHAR));
  const exprs = [timeExpr, ...keyExprs];
  const values = [t, ...keys];
  let condition = '';
  for (let i = exprs.length - 1; i >= 0; i--) {
    const strictly = `${exprs[i]} ${gt} ${values[i]}`;
    condition = condition ? `(${strictly} OR (${exprs[i]} = ${values[i]} AND ${condition}))` : strictly;
  }
  return [`${timeExpr} ${gt}= ${t}`, condition];
}

function orderBy(exprs: string[], order: 'asc' | 'desc'): string {
  return exprs.map((e) => `${e} ${order.toUpperCase()}`).join(', ');
}

function rawSql(stream: Stream, table: Table, q: DataQuery, sids: number[] | undefined): Sql {
  const sql = new Sql();
  const where = [`${TIME} >= ${sql.param(q.start, BIGINT)}`, `${TIME} < ${sql.param(q.end, BIGINT)}`, ...seriesConditions(sql, table, q.filters, sids)];
  const keyExprs = q.keyDimensions.map((d) => dimExpr(table, d));
  if (q.after) where.push(...afterConditions(sql, TIME, keyExprs, q.after, q.order));
  const fields = q.fields.map((f) => (kindOf(stream, f) === 'bigint' ? `${fieldExpr(stream, table, f)}::DOUBLE` : fieldExpr(stream, table, f)));
  sql.text = `SELECT ${TIME}::DOUBLE${stream.dimensions.map((d) => `, ${dimExpr(table, d)}`).join('')}${fields.map((f) => `, ${f}`).join('')}
    FROM ${table.points} AS p JOIN ${table.series} AS s ON s."$series" = p."$series"
    WHERE ${where.join(' AND ')}
    ORDER BY ${orderBy([TIME, ...keyExprs], q.order)}
    LIMIT ${sql.param(q.limit, BIGINT)}`;
  return sql;
}

function aggregateExpr(stream: Stream, table: Table, field: string, d: Downsampler): string {
  const e = fieldExpr(stream, table, field);
  const asNumber = (x: string) => (kindOf(stream, field) === 'bigint' ? `(${x})::DOUBLE` : x);
  switch (d) {
    case 'mean':
      return `avg(${e})`;
    case 'min':
      return asNumber(`min(${e})`);
    case 'max':
      return asNumber(`max(${e})`);
    case 'sum':
      return `sum(${e})::DOUBLE`;
    case 'count':
      return `count(${e})::DOUBLE`;
    case 'first':
      return asNumber(`arg_min(${e}, ${TIME})`);
    case 'last':
      return asNumber(`arg_max(${e}, ${TIME})`);
    case 'stddev':
      return `stddev_samp(${e})`;
  }
}

function downsampledSql(stream: Stream, table: Table, q: DataQuery, sids: number[] | undefined): Sql {
  const sql = new Sql();
  const bin = sql.param(q.binMs, BIGINT);
  // `//` truncates toward zero: exact flooring only when no time in range is negative (before 1970).
  const binExpr = q.start >= 0 ? `(${TIME} // ${bin}) * ${bin}` : `(${TIME} - ((${TIME} % ${bin}) + ${bin}) % ${bin})`;
  const where = [`${TIME} >= ${sql.param(q.start, BIGINT)}`, `${TIME} < ${sql.param(q.end, BIGINT)}`, ...seriesConditions(sql, table, q.filters, sids)];
  if (q.after) {
    // Prunes on raw time; the exact cursor test runs on the bins below.
    const start = Math.floor(q.after.time / q.binMs) * q.binMs;
    where.push(q.order === 'asc' ? `${TIME} >= ${sql.param(start, BIGINT)}` : `${TIME} < ${sql.param(start + q.binMs, BIGINT)}`);
  }
  const join = q.groupBy.length > 0 || (sids === undefined && Object.keys(q.filters).length > 0);
  const groups = q.groupBy.map((g, i) => `${dimExpr(table, g)} AS "g${i}"`);
  const aggregates = q.fields.flatMap((f, i) => q.downsamplers.map((d, j) => `${aggregateExpr(stream, table, f, d)} AS "a${i}_${j}"`));
  const keyExprs = q.groupBy.map((_, i) => `g."g${i}"`);
  const outer = q.after ? afterConditions(sql, 'g."$bin"', keyExprs, q.after, q.order) : [];
  sql.text = `SELECT g.* FROM (
      SELECT ${binExpr} AS "$bin"${groups.map((g) => `, ${g}`).join('')}${aggregates.map((a) => `, ${a}`).join('')}
      FROM ${table.points} AS p${join ? ` JOIN ${table.series} AS s ON s."$series" = p."$series"` : ''}
      WHERE ${where.join(' AND ')}
      GROUP BY ALL
    ) AS g
    ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}
    ORDER BY ${orderBy(['g."$bin"', ...keyExprs], q.order)}
    LIMIT ${sql.param(q.limit, BIGINT)}`;
  return sql;
}

/**
 * The newest row per series. Known series are looked for at or after `bound` (the oldest newest time among
 * those the filters keep); series numbered from `known` on were created after the index was read and are
 * scanned whole.
 */
function latestSql(stream: Stream, table: Table, q: LatestQuery, bound: number, known: number): Sql {
  const sql = new Sql();
  const columns = ['p."$series"', TIME, ...q.fields.map((f, i) => `${fieldExpr(stream, table, f)} AS "f${i}"`)].join(', ');
  const fields = q.fields.map((f, i) => {
    const e = `arg_max_null(p."f${i}", ${TIME})`;
    return `${kindOf(stream, f) === 'bigint' ? `(${e})::DOUBLE` : e} AS "a${i}"`;
  });
  const filters = filterConditions(sql, table, q.filters);
  // Two plain filters, not one OR: DuckDB skips row groups by zonemap only for a filter it can push into the scan.
  const tail = `SELECT ${columns} FROM ${table.points} AS p WHERE ${TIME} >= ${sql.param(bound, BIGINT)}
    UNION ALL SELECT ${columns} FROM ${table.points} AS p WHERE p."$series" >= ${sql.param(known, INTEGER)}`;
  sql.text = `SELECT l."time"::DOUBLE${stream.dimensions.map((d) => `, ${dimExpr(table, d)}`).join('')}${q.fields.map((_, i) => `, l."a${i}"`).join('')}
    FROM (
      SELECT p."$series", max(${TIME}) AS "time"${fields.map((f) => `, ${f}`).join('')}
      FROM (${tail}) AS p
      ${filters.length ? `WHERE p."$series" IN (SELECT s."$series" FROM ${table.series} AS s WHERE ${filters.join(' AND ')})` : ''}
      GROUP BY p."$series"
    ) AS l JOIN ${table.series} AS s ON s."$series" = l."$series"
    ORDER BY ${orderBy(stream.dimensions.map((d) => dimExpr(table, d)), 'asc') || 'l."time"'}`;
  return sql;
}

function valueOf(v: DuckDBValue, kind: Kind): Value | null {
  if (v === null || v === undefined) return null;
  if (kind === 'double' || kind === 'bigint') return typeof v === 'bigint' ? Number(v) : (v as number);
  return v as Value;
}

/** Column-major results (time, dimensions…, fields…) into domain rows; '' dimensions are missing ones. */
function rowsOf(columns: DuckDBValue[][], dims: string[], fields: string[], convert: (v: DuckDBValue, field: number) => Row['values'][string]): Row[] {
  const times = columns[0] ?? [];
  const rows: Row[] = new Array(times.length);
  for (let r = 0; r < times.length; r++) {
    const dimensions: Record<string, string> = {};
    dims.forEach((d, i) => {
      const v = columns[1 + i]![r] as string;
      if (v !== '') dimensions[d] = v;
    });
    const values: Row['values'] = {};
    fields.forEach((f, i) => {
      values[f] = convert(columns[1 + dims.length + i]![r] ?? null, i);
    });
    rows[r] = { time: Number(times[r]), dimensions, values };
  }
  return rows;
}

function aggregateRowsOf(columns: DuckDBValue[][], q: DataQuery, stream: Stream): Row[] {
  const times = columns[0] ?? [];
  const rows: Row[] = new Array(times.length);
  for (let r = 0; r < times.length; r++) {
    const dimensions: Record<string, string> = {};
    q.groupBy.forEach((g, i) => {
      const v = columns[1 + i]![r] as string;
      if (v !== '') dimensions[g] = v;
    });
    const values: Row['values'] = {};
    let c = 1 + q.groupBy.length;
    for (const f of q.fields) {
      const kind = kindOf(stream, f);
      const aggregates: Aggregates = {};
      for (const d of q.downsamplers) aggregates[d] = valueOf(columns[c++]![r] ?? null, d === 'first' || d === 'last' ? kind : 'double');
      values[f] = aggregates;
    }
    rows[r] = { time: Number(times[r]), dimensions, values };
  }
  return rows;
}

function unavailable(what: string, cause: unknown): StoreUnavailableError {
  if (cause instanceof StoreUnavailableError) return cause;
  return new StoreUnavailableError(`DuckDB could not ${what}.`, { cause });
}
