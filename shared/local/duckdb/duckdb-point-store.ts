import { resolve } from 'node:path';
import { BIGINT, DuckDBInstance, INTEGER, VARCHAR, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { BadRequestError, StoreUnavailableError } from '../../domain/errors';
import type { DataQuery, LatestQuery, Row } from '../../domain/query';
import { slidingRowsProblem } from '../../domain/query-window';
import { STREAM_ID, type Stream } from '../../domain/stream-definition';
import type { Datapoint } from '../../domain/validate-record';
import type { ClosedBins, PointEraser, PointStore, RollupReader, SeriesRewriter, WriteResult } from '../../ports';
import { rollupLevelFor } from '../../domain/rollup-plan';
import type { RollupLevel } from '../../domain/rollup-levels';
import type { RollupBin } from '../../domain/rollup-state';
import { createRollupTables, dirtyTable, rollupTable, sketchTable } from './rollup-sql';
import { closeRollupBins, forgetClosedBins, queryRollups, readStoredBins } from './rollup-store';
import { compactStreams, markAllDirty, markDirty, markSpanDirty, pendingOverlaps, pendingSpanOf, type PendingSpan } from './rollup-compactor';
import { type DuckDbPointStoreOptions, OptionsSchema, touchedTimes } from './store-options';

export type { DuckDbPointStoreOptions } from './store-options';
import { aggregateRowsOf, rowsOf, valueOf } from './rows';
import { downsampledSql, latestSql, MAX_SERIES_LIST, rawSql, type Sql } from './sql';
import { columnOf, ident, kindOf, matches, measureKinds, nodeOf, pointsTable, type SeriesIndex, seriesTable, SQL_TYPE, stageTable, type Table, tableOf } from './tables';
import { sessionSql, slidingPointsSql, slidingSql } from './window-sql';
import { appendChunks, type Batch, classify, seriesOrder } from './write-batch';

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
export class DuckDbPointStore implements PointStore, PointEraser, SeriesRewriter, RollupReader {
  private readonly tables = new Map<string, Table>();
  private writeTail: Promise<unknown> = Promise.resolve();
  private readonly idleReaders: DuckDBConnection[] = [];
  private readonly readerWaiters: ((c: DuckDBConnection) => void)[] = [];
  private readonly activeReads = new Set<Promise<unknown>>();
  private readerCount = 0;
  private readonly msPerSpan = { value: 1 };
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
      table.definition = stream;
      if (batch.fresh.length + batch.suspects.length > 0) {
        let touched: PendingSpan | undefined;
        try {
          await this.writer.run('BEGIN TRANSACTION');
          if (batch.newSeries.length) await this.appendSeries(table, series.count, batch.newSeries);
          if (batch.fresh.length) {
            const order = this.options.groupBySeries ? seriesOrder(batch.freshSeries) : undefined;
            await this.appendPoints(table, points, batch.fresh, batch.freshSeries, order);
          }
          if (batch.suspects.length) await this.insertSuspects(table, points, batch);
          // the rollups only list the bins the batch touched: the compactor recomputes them later
          if (table.rollups) touched = await markDirty(this.writer, stream, table, touchedTimes(points, batch));
          else if (this.options.rollups) {
            // points kept before the store kept rollups: every bin is pending, computed once from all of them
            for (const s of createRollupTables(stream.id)) await this.writer.run(s);
            await markAllDirty(this.writer, stream, table);
            touched = await pendingSpanOf(this.writer, stream, stream.id);
          }
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
        table.rollups = this.options.rollups;
        if (touched) table.pending = table.pending ? { lo: Math.min(table.pending.lo, touched.lo), hi: Math.max(table.pending.hi, touched.hi) } : touched;
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
    if (q.window?.kind === 'sliding') {
      const [[points] = []] = await this.read(slidingPointsSql(table, q, sids), `count the points of stream '${stream.id}'`);
      const problem = slidingRowsProblem(q.window, Number(points ?? 0));
      if (problem) throw new BadRequestError('Invalid query parameters.', [{ path: ['window'], message: problem }]);
    }
    const level = this.rollupLevel(stream, q);
    if (level) return queryRollups((sql) => this.read(sql, `query the rollups of stream '${stream.id}'`), stream, table, q, level, sids);
    const sql =
      q.granularity === 'raw'
        ? rawSql(stream, table, q, sids)
        : q.window?.kind === 'sliding'
          ? slidingSql(stream, table, q, sids)
          : q.window?.kind === 'session'
            ? sessionSql(stream, table, q, sids)
            : downsampledSql(stream, table, q, sids);
    const columns = await this.read(sql, `query stream '${stream.id}'`);
    return q.granularity === 'raw'
      ? rowsOf(columns, stream.dimensions, q.fields, (v, i) => valueOf(v, kindOf(stream, q.fields[i]!)))
      : aggregateRowsOf(columns, q, stream);
  }

  /** Whether `query` answers `q` from the stored rollups (`source: 'rollup'` in the answer) or from the raw points. */
  sourceOf(stream: Stream, q: DataQuery): 'rollup' | 'raw' {
    return this.rollupLevel(stream, q) ? 'rollup' : 'raw';
  }

  /** The stored level that answers `q` exactly, unless a bin in its range is still pending (then: the raw points). */
  private rollupLevel(stream: Stream, q: DataQuery): RollupLevel | undefined {
    const table = this.tables.get(stream.id);
    if (!table?.rollups) return undefined;
    table.definition ??= stream;
    return pendingOverlaps(table.pending, q.start, q.end) ? undefined : rollupLevelFor(stream, q);
  }

  /**
   * The background compactor's step: recomputes pending bins, a chunk of at most `maxSpans` pending spans (about
   * one per series and batch) per transaction, stream after stream, until none is pending or `budgetMs` has passed (checked between chunks).
   * Streams the store has not seen written or queried since it opened wait for that (their definition). Answers
   * the finest bins recomputed and how many streams still have pending bins.
   *
   * @example
   * setInterval(() => void store.compactRollups({ budgetMs: 200 }), 1000);
   */
  async compactRollups(options: { budgetMs?: number; maxSpans?: number; streamId?: string } = {}): Promise<{ bins: number; pendingStreams: number }> {
    this.assertOpen();
    return compactStreams(
      { tables: this.tables, closed: () => this.closed, exclusive: (work) => this.exclusive(work), writer: this.writer, fail: (id, err) => unavailable(`compact the rollups of stream '${id}'`, err), msPerSpan: this.msPerSpan },
      { ...options, maxSpans: options.maxSpans ?? this.options.compactChunk },
    );
  }

  /** The stored bins of `level` in `[start, end)`: per series and numeric field, each bin's whole state. */
  async storedRollups(stream: Stream, level: RollupLevel, start: number, end: number): Promise<RollupBin[]> {
    this.assertOpen();
    const table = this.tables.get(stream.id);
    if (!table?.rollups) return [];
    return readStoredBins((sql) => this.read(sql, `read the rollups of stream '${stream.id}'`), table, stream.id, level, start, end);
  }

  /** Marks the stream's bins up to `until` closed, after the writes before it; late points still update them. */
  async closeBins(stream: Stream, until: number): Promise<ClosedBins> {
    const table = this.tables.get(stream.id);
    if (table?.rollups) {
      // the bins it counts are computed first
      table.definition ??= stream;
      await this.compactRollups({ streamId: stream.id });
    }
    return this.exclusive(async () => {
      try {
        return await closeRollupBins(this.writer, stream, this.tables.get(stream.id), until);
      } catch (err) {
        throw unavailable(`close the rollup bins of stream '${stream.id}'`, err);
      }
    });
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

  /**
   * Deletes one series' points in `[start, end]` (inclusive), then writes `points`: a derived stream's span
   * recomputed. Two transactions: a crash between them leaves the span empty until the batch that caused it is
   * delivered again, which recomputes it.
   */
  async replaceSeries(stream: Stream, dimensions: Record<string, string>, start: number, end: number, points: Datapoint[]): Promise<WriteResult> {
    this.assertOpen();
    await this.exclusive(async () => {
      const table = this.tables.get(stream.id);
      if (!table) return;
      const series = table.index ?? (table.index = await this.loadSeries(table));
      const filters = Object.fromEntries(table.dims.map((d) => [d, [dimensions[d] ?? '']]));
      for (let sid = 0; sid < series.count; sid++) {
        if (!matches(table.dims, series.dimensions[sid]!, filters)) continue;
        try {
          // the deleted points' bins are pending until the compactor has recomputed them
          if (table.rollups) {
            await markSpanDirty(this.writer, stream, table, sid, start, end);
            table.pending = await pendingSpanOf(this.writer, stream, stream.id);
          }
          await this.writer.run(`DELETE FROM ${table.points} WHERE "$series" = $1 AND "time" BETWEEN $2 AND $3`, [sid, start, end], [INTEGER, BIGINT, BIGINT]);
        } catch (err) {
          throw unavailable(`replace points of stream '${stream.id}'`, err);
        }
      }
    });
    return this.write(stream, points);
  }

  /** Drops the stream's tables, in one transaction after the writes before it. */
  async eraseStream(streamId: string): Promise<'erased'> {
    this.assertOpen();
    return this.exclusive(async () => {
      try {
        await this.writer.run('BEGIN TRANSACTION');
        await this.writer.run(`DROP TABLE IF EXISTS ${pointsTable(streamId)}`);
        await this.writer.run(`DROP TABLE IF EXISTS ${seriesTable(streamId)}`);
        await this.writer.run(`DROP TABLE IF EXISTS ${stageTable(streamId)}`);
        await this.writer.run(`DROP TABLE IF EXISTS ${rollupTable(streamId)}`);
        await this.writer.run(`DROP TABLE IF EXISTS ${sketchTable(streamId)}`);
        await this.writer.run(`DROP TABLE IF EXISTS ${dirtyTable(streamId)}`);
        await forgetClosedBins(this.writer, streamId);
        await this.writer.run('COMMIT');
      } catch (err) {
        await this.writer.run('ROLLBACK').catch(() => {});
        throw unavailable(`erase stream '${streamId}'`, err);
      }
      this.tables.delete(streamId);
      return 'erased' as const;
    });
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
    const rolled = new Set(
      ((await this.writer.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name LIKE 'rollup/%'`)).getRows() as [string][]).map(([t]) => t.slice('rollup/'.length)),
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
      if (!entry.points.length || !entry.series.length) continue;
      const table: Table = { ...tableOf(id, entry.points, entry.series, 0), rollups: rolled.has(id) };
      if (table.rollups) {
        const pending = await pendingSpanOf(this.writer, undefined, id);
        if (pending) table.pending = pending;
      }
      this.tables.set(id, table);
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
        ...(this.options.rollups ? createRollupTables(stream.id) : []),
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
      const table = { ...tableOf(stream.id, points, series, stream.version), rollups: known ? known.rollups : this.options.rollups };
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

const openFiles = new Set<string>();


function unavailable(what: string, cause: unknown): StoreUnavailableError {
  if (cause instanceof StoreUnavailableError) return cause;
  return new StoreUnavailableError(`DuckDB could not ${what}.`, { cause });
}
