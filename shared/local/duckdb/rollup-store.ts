/**
 * The stored rollups of the DuckDB point store, read by queries at a stored granularity. The compactor
 * (`rollup-compactor.ts`) recomputes every pending bin, the finest level from the raw points (which already
 * hold each series and time once, the first value kept), each coarser level from the level below: a bin's
 * state is a function of the raw points alone, so a redelivered batch, a duplicate or a late point leaves
 * every bin as if the points had come once, in order. Per chunk and level: two deletes and two inserts,
 * whatever the number of points.
 */
import { BIGINT, UTINYINT, VARCHAR, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { DataQuery, Row } from '../../domain/query';
import type { ClosedBins } from '../../ports';
import { binStart, storedLevels, type RollupLevel } from '../../domain/rollup-levels';
import { aggregatesOf, emptyState, type BinState, type RollupBin } from '../../domain/rollup-state';
import type { Stream } from '../../domain/stream-definition';
import { rollupQuerySql, rollupSketchSql, STATE_COLUMNS, storedBinsSql } from './rollup-read-sql';
import { coarserFromFinerSql, deleteTouchedSql, finestFromRawSql, levelNumber, rollupTable, sketchTable, valuesTable } from './rollup-sql';
import type { Sql } from './sql';
import type { Table } from './tables';

/** The stream's numeric fields (number and integer: what every rollup keeps). */
export function rolledFields(stream: Stream): string[] {
  return Object.entries(stream.schema)
    .filter(([name, spec]) => (spec.type === 'number' || spec.type === 'integer') && name !== stream.timeField && !stream.dimensions.includes(name))
    .map(([name]) => name);
}

/** Runs one statement. */
export type Run = (sql: Sql) => Promise<void>;

/**
 * Deletes and computes again the bins the temporary touch table lists at every level, inside the caller's
 * transaction: the finest from the raw points, each coarser one from the level below (`span`: each level's
 * touched span, bounding the scans).
 */
export async function recompute(run: Run, clear: (table: string) => Promise<void>, stream: Stream, table: Table, levels: RollupLevel[], fields: { field: string; expr: string }[], span: (l: RollupLevel) => [number, number]): Promise<void> {
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    const [lo, hi] = span(level);
    await run(deleteTouchedSql(rollupTable(stream.id), stream.id, level));
    await run(deleteTouchedSql(sketchTable(stream.id), stream.id, level));
    if (i === 0) {
      const { values, state, sketch } = finestFromRawSql(table, stream.id, level, fields, lo, hi);
      await clear(valuesTable(stream.id));
      await run(values);
      await run(state);
      await run(sketch);
    } else {
      const { state, sketch } = coarserFromFinerSql(stream.id, level, levels[i - 1]!, lo, hi);
      await run(state);
      await run(sketch);
    }
  }
}

type Read = (sql: Sql) => Promise<DuckDBValue[][]>;

const num = (v: DuckDBValue | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * A downsampled query answered from `level`'s stored bins, rows shaped as the raw query's (`aggregateRowsOf`);
 * percentiles from the merged sketch buckets of each answered bin.
 */
export async function queryRollups(read: Read, stream: Stream, table: Table, q: DataQuery, level: RollupLevel, sids: number[] | undefined, month = false): Promise<Row[]> {
  const columns = await read(rollupQuerySql(table, stream.id, q, level, sids, month));
  const times = columns[0] ?? [];
  const rows: Row[] = [];
  const states = new Map<string, BinState>();
  for (let r = 0; r < times.length; r++) {
    const dimensions: Record<string, string> = {};
    q.groupBy.forEach((g, i) => {
      const v = columns[1 + i]![r] as string;
      if (v !== '') dimensions[g] = v;
    });
    const values: Row['values'] = {};
    let c = 1 + q.groupBy.length;
    for (const f of q.fields) {
      const [n, s, m2, mn, mx, fv, lv] = STATE_COLUMNS.map(() => num(columns[c++]![r])) as (number | null)[] & { length: 7 };
      const state: BinState = { ...emptyState(), count: n ?? 0, sum: s ?? null, m2: m2 ?? 0, min: mn ?? null, max: mx ?? null, firstValue: fv ?? null, lastValue: lv ?? null };
      states.set(stateKey(Number(times[r]), q.groupBy.map((g) => dimensions[g] ?? ''), f), state);
      values[f] = aggregatesOf(state, q.downsamplers);
    }
    rows.push({ time: Number(times[r]), dimensions, values });
  }
  const percentiles = q.downsamplers.filter((d) => d.startsWith('p'));
  if (percentiles.length === 0 || rows.length === 0) return rows;
  const binTimes = rows.map((r) => r.time);
  const buckets = await read(rollupSketchSql(table, stream.id, q, level, sids, Math.min(...binTimes), Math.max(...binTimes), month));
  const k = q.groupBy.length;
  for (let r = 0; r < (buckets[0]?.length ?? 0); r++) {
    const key = stateKey(Number(buckets[0]![r]), q.groupBy.map((_, i) => buckets[1 + i]![r] as string), buckets[1 + k]![r] as string);
    const state = states.get(key);
    if (state) state.sketch[buckets[2 + k]![r] as string] = Number(buckets[3 + k]![r]);
  }
  for (const row of rows) {
    for (const f of q.fields) {
      const state = states.get(stateKey(row.time, q.groupBy.map((g) => row.dimensions[g] ?? ''), f))!;
      Object.assign(row.values[f] as object, aggregatesOf(state, percentiles));
    }
  }
  return rows;
}

const stateKey = (bin: number, groups: string[], field: string) => JSON.stringify([bin, groups, field]);

/** The stored bins of `level` in `[start, end)`, with their whole state. */
export async function readStoredBins(read: Read, table: Table, id: string, level: RollupLevel, start: number, end: number): Promise<RollupBin[]> {
  const columns = await read(storedBinsSql(table, id, level, start, end));
  const out: RollupBin[] = [];
  const d = table.dims.length;
  for (let r = 0; r < (columns[0]?.length ?? 0); r++) {
    const at = (i: number) => columns[i]![r];
    const dimensions: Record<string, string> = {};
    table.dims.forEach((dim, i) => {
      const v = at(2 + i) as string;
      if (v !== '') dimensions[dim] = v;
    });
    const o = 2 + d;
    const sketch: Record<string, number> = {};
    const list = at(o + 11) as { items: { entries: { b: string; c: number } }[] } | null;
    for (const item of list?.items ?? []) sketch[item.entries.b] = Number(item.entries.c);
    out.push({
      bin: Number(at(0)),
      field: at(1) as string,
      dimensions,
      state: {
        count: num(at(o)) ?? 0,
        sum: num(at(o + 1)),
        sumSquares: num(at(o + 2)),
        m2: num(at(o + 3)) ?? 0,
        min: num(at(o + 4)),
        max: num(at(o + 5)),
        firstTime: num(at(o + 6)),
        firstValue: num(at(o + 7)),
        lastTime: num(at(o + 8)),
        lastValue: num(at(o + 9)),
        timeSum: BigInt(at(o + 10) as string),
        sketch,
      },
    });
  }
  return out;
}

const CLOSED = '"rollups-closed"';

/**
 * Closes the stream's bins that end at or before `until` and did not before (`RollupReader.closeBins`): moves the
 * stream's close mark to `until` (never back) and counts, per level, the stored bins between the two marks.
 */
export async function closeRollupBins(c: DuckDBConnection, stream: Stream, table: Table | undefined, until: number): Promise<ClosedBins> {
  await c.run(`CREATE TABLE IF NOT EXISTS ${CLOSED} ("stream" VARCHAR PRIMARY KEY, "until" BIGINT NOT NULL)`);
  const [[previous] = []] = (await c.runAndReadAll(`SELECT "until"::DOUBLE FROM ${CLOSED} WHERE "stream" = $1`, [stream.id], [VARCHAR])).getRows() as [number][];
  const from = previous === undefined ? undefined : Number(previous);
  if (from !== undefined && until <= from) return { from, until: from, levels: storedLevels(stream).map((level) => ({ level, bins: 0 })) };
  const levels: ClosedBins['levels'] = [];
  for (const level of storedLevels(stream)) {
    let bins = 0;
    if (table?.rollups) {
      const lo = from === undefined ? Number.MIN_SAFE_INTEGER : binStart(level, from);
      const [[count] = []] = (
        await c.runAndReadAll(
          `SELECT count(*)::DOUBLE FROM (SELECT DISTINCT "$series", "bin" FROM ${rollupTable(stream.id)} WHERE "level" = $1 AND "bin" >= $2 AND "bin" < $3)`,
          [levelNumber(level), lo, binStart(level, until)],
          [UTINYINT, BIGINT, BIGINT],
        )
      ).getRows() as [number][];
      bins = Number(count ?? 0);
    }
    levels.push({ level, bins });
  }
  await c.run(`INSERT OR REPLACE INTO ${CLOSED} VALUES ($1, $2)`, [stream.id, until], [VARCHAR, BIGINT]);
  return { ...(from !== undefined && { from }), until, levels };
}

/** Forgets an erased stream's close mark. */
export async function forgetClosedBins(c: DuckDBConnection, streamId: string): Promise<void> {
  await c.run(`CREATE TABLE IF NOT EXISTS ${CLOSED} ("stream" VARCHAR PRIMARY KEY, "until" BIGINT NOT NULL)`);
  await c.run(`DELETE FROM ${CLOSED} WHERE "stream" = $1`, [streamId], [VARCHAR]);
}
