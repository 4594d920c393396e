/**
 * The write path and the compactor of the DuckDB store's rollups. A write only lists the time spans its points
 * cover, per series, in `"dirty/<id>"` (about one appended row per series of the batch: cheap, and idempotent,
 * since a span listed twice is recomputed once). The compactor takes the pending spans in chunks, oldest
 * first, lists their finest bins and those bins' parents at every coarser level in the touch table and recomputes them
 * (`recompute`: the finest level from the raw points, each coarser one from the level below), then deletes the
 * chunk's rows, all in one transaction. Until then a query whose range holds a pending bin reads the raw points
 * (`pendingOverlaps`), so an answer is always the raw points' answer.
 */
import { BIGINT, INTEGER, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { binEnd, binStart, storedLevels, type RollupLevel } from '../../domain/rollup-levels';
import type { Stream } from '../../domain/stream-definition';
import { recompute, rolledFields, type Run } from './rollup-store';
import {
  createDirtyTable,
  createTouchTable,
  createValuesTable,
  dirtyAllSql,
  dirtyName,
  dirtyTable,
  levelNumber,
  numericColumns,
  touchCoarserSql,
  touchedSpanSql,
  touchFromDirtySql,
  touchName,
} from './rollup-sql';
import { Sql } from './sql';
import type { Table } from './tables';

/** The time span `[lo, hi)` of a stream's pending bins (the finest level's). */
export interface PendingSpan {
  lo: number;
  hi: number;
}

const runner =
  (c: DuckDBConnection): Run =>
  async (sql) => {
    await c.run(sql.text, sql.values, sql.types);
  };

/** The finest stored level of the stream, or undefined when it keeps no rollups (no level, no numeric field). */
function finestOf(stream: Stream, table: Table): RollupLevel | undefined {
  const levels = storedLevels(stream);
  if (levels.length === 0 || numericColumns(table, rolledFields(stream)).length === 0) return undefined;
  return levels[0];
}

/** Times of a series closer than this to a run of the batch's extend the run; farther ones start another. */
const RUN_GAP_MS = 600_000;

/**
 * Lists the spans of a batch's points (`times` per series number) as pending, inside the write's transaction:
 * per series, one row per run of times no more than 10 minutes apart, so a batch adds about one row per series
 * (a late point far from the rest adds its own). Answers their span, to widen the store's in-memory one.
 *
 * @example
 * const span = await markDirty(writer, stream, table, new Map([[0, [t1, t2]]]));
 */
export async function markDirty(c: DuckDBConnection, stream: Stream, table: Table, times: Map<number, number[]>): Promise<PendingSpan | undefined> {
  const finest = finestOf(stream, table);
  if (finest === undefined || times.size === 0) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  const appender = await c.createAppender(dirtyName(stream.id));
  try {
    for (const [sid, ts] of times) {
      const runs: [number, number][] = [];
      for (const t of ts) {
        const run = runs.find(([a, b]) => t >= a - RUN_GAP_MS && t <= b + RUN_GAP_MS);
        if (run) {
          if (t < run[0]) run[0] = t;
          if (t > run[1]) run[1] = t;
        } else runs.push([t, t]);
      }
      for (const [a, b] of runs) {
        if (a < lo) lo = a;
        if (b > hi) hi = b;
        appendSpan(appender, sid, a, b);
      }
    }
  } finally {
    appender.closeSync();
  }
  return lo === Infinity ? undefined : { lo: binStart(finest, lo), hi: binEnd(finest, binStart(finest, hi)) };
}

function appendSpan(appender: DuckDBAppender, sid: number, lo: number, hi: number): void {
  appender.appendInteger(sid);
  appender.appendBigInt(BigInt(lo));
  appender.appendBigInt(BigInt(hi));
  appender.endRow();
}

/** Lists every series' whole span as pending (points kept before the store kept rollups). */
export async function markAllDirty(c: DuckDBConnection, stream: Stream, table: Table): Promise<void> {
  if (finestOf(stream, table) === undefined) return;
  await c.run(dirtyAllSql(table, stream.id));
}

/** Lists one series' span `[start, end]` as pending, before a rewrite deletes its points. */
export async function markSpanDirty(c: DuckDBConnection, stream: Stream, table: Table, sid: number, start: number, end: number): Promise<void> {
  if (finestOf(stream, table) === undefined) return;
  await c.run(`INSERT INTO ${dirtyTable(stream.id)} VALUES ($1, $2, $3)`, [sid, start, end], [INTEGER, BIGINT, BIGINT]);
}

/** The span of the stream's pending bins, from its dirty table (created if missing: a file from before it). */
export async function pendingSpanOf(c: DuckDBConnection, stream: Stream | undefined, id: string): Promise<PendingSpan | undefined> {
  await c.run(createDirtyTable(id));
  const [[lo, hi] = []] = (await c.runAndReadAll(`SELECT min("lo")::DOUBLE, max("hi")::DOUBLE FROM ${dirtyTable(id)}`)).getRows() as [number | null, number | null][];
  if (lo === null || lo === undefined || hi === null || hi === undefined) return undefined;
  // without the stream's definition (at open) a month is the widest a finest bin can be
  const finest = stream ? storedLevels(stream)[0] : undefined;
  const level = finest ?? '1mo';
  return { lo: binStart(level, Number(lo)), hi: binEnd(level, binStart(level, Number(hi))) };
}

/** Whether `[start, end)` holds a pending bin. */
export const pendingOverlaps = (span: PendingSpan | undefined, start: number, end: number): boolean => span !== undefined && span.lo < end && start < span.hi;

/**
 * Recomputes the bins of the stream's oldest pending spans, at most about `maxSpans` rows of its dirty table
 * (every row starting at the last one's `lo` taken), inside the caller's transaction; answers how many finest bins it recomputed.
 *
 * @example
 * const done = await compactChunk(writer, stream, table, 2_000);
 */
export async function compactChunk(c: DuckDBConnection, stream: Stream, table: Table, maxSpans: number): Promise<number> {
  const levels = storedLevels(stream);
  const fields = numericColumns(table, rolledFields(stream));
  const run = runner(c);
  if (levels.length === 0 || fields.length === 0) {
    await c.run(`DELETE FROM ${dirtyTable(stream.id)}`);
    return 0;
  }
  const [[cutoff] = []] = (await c.runAndReadAll(`SELECT "lo"::DOUBLE FROM ${dirtyTable(stream.id)} ORDER BY "lo" LIMIT 1 OFFSET ${Math.max(0, Math.floor(maxSpans) - 1)}`)).getRows() as [number][];
  const upTo = cutoff === undefined ? undefined : Number(cutoff);
  await c.run(createTouchTable(stream.id));
  await c.run(`DELETE FROM temp.main."${touchName(stream.id)}"`);
  await run(touchFromDirtySql(table, stream.id, levels[0]!, upTo));
  for (let i = 1; i < levels.length; i++) await run(touchCoarserSql(stream.id, levels[i]!, levels[i - 1]!));
  const spans = new Map<RollupLevel, [number, number]>();
  for (const level of levels) {
    const span = touchedSpanSql(stream.id, level);
    const [[lo, hi] = []] = (await c.runAndReadAll(span.text, span.values, span.types)).getRows() as [number | null, number | null][];
    if (lo === null || lo === undefined || hi === null || hi === undefined) {
      await run(deleteDirtySql(stream.id, upTo));
      return 0;
    }
    spans.set(level, [Number(lo), binEnd(level, Number(hi))]);
  }
  const [[count] = []] = (await c.runAndReadAll(`SELECT count(*)::DOUBLE FROM temp.main."${touchName(stream.id)}" WHERE "level" = ${levelNumber(levels[0]!)}`)).getRows() as [number][];
  const touched = Number(count ?? 0);
  await c.run(createValuesTable(stream.id));
  await recompute(run, (t) => c.run(`DELETE FROM ${t}`).then(() => undefined), stream, table, levels, fields, (level) => spans.get(level)!);
  await run(deleteDirtySql(stream.id, upTo));
  return touched;
}

function deleteDirtySql(id: string, upTo: number | undefined): Sql {
  const sql = new Sql();
  sql.text = `DELETE FROM ${dirtyTable(id)}${upTo === undefined ? '' : ` WHERE "lo" <= ${sql.param(upTo, BIGINT)}`}`;
  return sql;
}

/** What the compactor needs of the store: its tables, its one writer and the lock that serializes it. */
export interface CompactionContext {
  tables: Map<string, Table>;
  writer: DuckDBConnection;
  closed(): boolean;
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  fail(streamId: string, err: unknown): Error;
  /** Milliseconds the last chunks took per pending span, kept across runs to size the next chunk to the budget. */
  msPerSpan: { value: number };
}

/**
 * Recomputes pending bins, one chunk of at most `maxSpans` pending spans per transaction, stream after stream,
 * until none is pending or `budgetMs` has passed; each chunk takes the writer's lock, so writes wait at most one
 * chunk, and with a budget a chunk is sized from the time the previous ones took per span to fit what is left
 * of it (at least one span). Answers the finest bins recomputed and how many streams still have some.
 */
export async function compactStreams(ctx: CompactionContext, options: { budgetMs?: number; maxSpans: number; streamId?: string }): Promise<{ bins: number; pendingStreams: number }> {
  const deadline = performance.now() + (options.budgetMs ?? Infinity);
  let bins = 0;
  for (const [id, table] of ctx.tables) {
    if (options.streamId !== undefined && id !== options.streamId) continue;
    while (table.pending && table.definition && !ctx.closed() && performance.now() < deadline) {
      const left = deadline - performance.now();
      const spans = Number.isFinite(left) ? Math.max(1, Math.min(options.maxSpans, Math.floor(left / Math.max(ctx.msPerSpan.value, 1e-3)))) : options.maxSpans;
      bins += await ctx.exclusive(async () => {
        const stream = table.definition!;
        if (!table.pending || ctx.tables.get(id) !== table || ctx.closed()) return 0;
        try {
          const started = performance.now();
          const before = await spanCount(ctx.writer, id);
          await ctx.writer.run('BEGIN TRANSACTION');
          const done = await compactChunk(ctx.writer, stream, table, spans);
          await ctx.writer.run('COMMIT');
          const taken = before - (await spanCount(ctx.writer, id));
          if (taken > 0) ctx.msPerSpan.value = (performance.now() - started) / taken;
          table.pending = await pendingSpanOf(ctx.writer, stream, id);
          return done;
        } catch (err) {
          await ctx.writer.run('ROLLBACK').catch(() => {});
          throw ctx.fail(id, err);
        }
      });
    }
  }
  let pendingStreams = 0;
  for (const table of ctx.tables.values()) if (table.pending) pendingStreams++;
  return { bins, pendingStreams };
}

async function spanCount(c: DuckDBConnection, id: string): Promise<number> {
  const [[n] = []] = (await c.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${dirtyTable(id)}`)).getRows() as [number][];
  return Number(n ?? 0);
}
