/**
 * The SQL of the stored rollups (`rollup-store.ts`): a stream's bins of every level in `"rollup/<id>"` (one row
 * per level, series, field and bin: the mergeable state of `shared/domain/rollup-state.ts`) and their DDSketch
 * buckets in `"sketch/<id>"` (one row per bucket). A write lists the finest bins its points touch in
 * `"dirty/<id>"`; the compactor copies a chunk of them into a temporary `"touch/<id>"` table with their parents at
 * every coarser level, and each level's touched bins are deleted and computed again, the finest from the raw
 * points, each coarser one from the level below. Identifiers come from the schema (`ident`), levels and widths
 * from code; values are parameters.
 */
import { BIGINT, DOUBLE, INTEGER, UTINYINT, VARCHAR } from '@duckdb/node-api';
import { LEVEL_MS, ROLLUP_LEVELS, type RollupLevel } from '../../domain/rollup-levels';
import { SKETCH_LOG2_MULTIPLIER, SKETCH_MIN_INDEXABLE } from '../../domain/rollup-state';
import { Sql } from './sql';
import { columnOf, ident, type Table } from './tables';

export const rollupTable = (id: string) => `"rollup/${id}"`;
export const sketchTable = (id: string) => `"sketch/${id}"`;
export const touchTable = (id: string) => `temp.main."touch/${id}"`;
export const touchName = (id: string) => `touch/${id}`;

/** A level's number in the tables (its position in `ROLLUP_LEVELS`, never reordered). */
export const levelNumber = (level: RollupLevel): number => ROLLUP_LEVELS.indexOf(level);

/** The statements that create a stream's rollup tables (and its touch table for this connection). */
export function createRollupTables(id: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${rollupTable(id)} ("level" UTINYINT NOT NULL, "$series" INTEGER NOT NULL, "field" VARCHAR NOT NULL, "bin" BIGINT NOT NULL,
      "n" BIGINT NOT NULL, "s" DOUBLE, "q" DOUBLE, "m2" DOUBLE NOT NULL, "mn" DOUBLE, "mx" DOUBLE, "ft" BIGINT, "fv" DOUBLE, "lt" BIGINT, "lv" DOUBLE, "ts" HUGEINT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${sketchTable(id)} ("level" UTINYINT NOT NULL, "$series" INTEGER NOT NULL, "field" VARCHAR NOT NULL, "bin" BIGINT NOT NULL, "bucket" VARCHAR NOT NULL, "c" BIGINT NOT NULL)`,
    createDirtyTable(id),
  ];
}

export function createTouchTable(id: string): string {
  return `CREATE TEMP TABLE IF NOT EXISTS ${touchTable(id)} ("level" UTINYINT NOT NULL, "$series" INTEGER NOT NULL, "bin" BIGINT NOT NULL)`;
}

/** The start of the bin of `level` holding the epoch-ms expression `x` (floored for times before 1970 too). */
export function binSql(level: RollupLevel, x: string): string {
  if (level === '1mo') return `epoch_ms(date_trunc('month', epoch_ms(${x})))`;
  return widthBinSql(LEVEL_MS[level], x);
}

/** Floors `x` to a multiple of `width` ms (an integer from code, never from a request). */
export function widthBinSql(width: number, x: string): string {
  if (!Number.isSafeInteger(width) || width <= 0) throw new Error(`bin width ${width} is not a positive integer`);
  return `(${x} - ((${x} % ${width}) + ${width}) % ${width})`;
}

/** The numeric fields that have a column in the points table, with their column expression as DOUBLE. */
export function numericColumns(table: Table, fields: readonly string[]): { field: string; expr: string }[] {
  return fields.filter((f) => table.measures.has(f)).map((f) => ({ field: f, expr: `p.${ident(columnOf(f))}::DOUBLE` }));
}

/** Deletes the touched bins of a level from one of the rollup tables. */
export function deleteTouchedSql(target: string, id: string, level: RollupLevel): Sql {
  const sql = new Sql();
  const l = sql.param(levelNumber(level), UTINYINT);
  sql.text = `DELETE FROM ${target} AS r USING ${touchTable(id)} AS t
    WHERE r."level" = ${l} AND t."level" = ${l} AND r."$series" = t."$series" AND r."bin" = t."bin"`;
  return sql;
}

export const valuesTable = (id: string) => `temp.main."values/${id}"`;

export function createValuesTable(id: string): string {
  return `CREATE TEMP TABLE IF NOT EXISTS ${valuesTable(id)} ("$series" INTEGER NOT NULL, "bin" BIGINT NOT NULL, "field" VARCHAR NOT NULL, "time" BIGINT NOT NULL, v DOUBLE)`;
}

/**
 * The finest level's touched bins computed from the raw points: the points of the touched bins are read once
 * (one join; `lo`/`hi` bound the scan to the touched bins' span so DuckDB skips the rest of the table), one row
 * per field, into a temporary table; the bins' state (a bin whose points all lack the field has `n` 0, as the
 * raw query's count) and their sketch buckets are aggregated from it.
 */
export function finestFromRawSql(table: Table, id: string, level: RollupLevel, fields: { field: string; expr: string }[], lo: number, hi: number): { values: Sql; state: Sql; sketch: Sql } {
  const values = new Sql();
  const vl = values.param(levelNumber(level), UTINYINT);
  const names = fields.map((f) => values.param(f.field, VARCHAR));
  values.text = `INSERT INTO ${valuesTable(id)}
    SELECT p."$series", t."bin", unnest([${names.join(', ')}]), p."time", unnest([${fields.map((f) => f.expr).join(', ')}])
    FROM ${table.points} AS p JOIN ${touchTable(id)} AS t ON t."level" = ${vl} AND t."$series" = p."$series" AND t."bin" = ${binSql(level, 'p."time"')}
    WHERE p."time" >= ${values.param(lo, BIGINT)} AND p."time" < ${values.param(hi, BIGINT)}`;
  const state = new Sql();
  state.text = `INSERT INTO ${rollupTable(id)}
    SELECT ${state.param(levelNumber(level), UTINYINT)}, "$series", "field", "bin", count(v), sum(v), sum(v * v), coalesce(var_pop(v) * count(v), 0), min(v), max(v),
      min("time") FILTER (WHERE v IS NOT NULL), arg_min(v, "time"), max("time") FILTER (WHERE v IS NOT NULL), arg_max(v, "time"),
      coalesce(sum("time"::HUGEINT) FILTER (WHERE v IS NOT NULL), 0)
    FROM ${valuesTable(id)} GROUP BY "$series", "field", "bin"`;
  const sketch = new Sql();
  const kl = sketch.param(levelNumber(level), UTINYINT);
  const min = sketch.param(SKETCH_MIN_INDEXABLE, DOUBLE);
  const mult = sketch.param(SKETCH_LOG2_MULTIPLIER, DOUBLE);
  sketch.text = `INSERT INTO ${sketchTable(id)}
    SELECT ${kl}, "$series", "field", "bin", CASE WHEN v > ${min} THEN 'p' || ceil(log2(v) * ${mult})::BIGINT
        WHEN v < -${min} THEN 'n' || ceil(log2(-v) * ${mult})::BIGINT ELSE 'z' END AS "bucket", count(*)
    FROM ${valuesTable(id)} WHERE v IS NOT NULL GROUP BY ALL`;
  return { values, state, sketch };
}

/**
 * The merged state of several state rows (alias `r`), in the table's column order (n, s, q, m2, mn, mx, ft, fv,
 * lt, lv, ts): sums and extremes as they are, `m2` by Chan's formula against each group's mean (`gn`, `gs`: the
 * group's count and sum, from a window over the same rows).
 */
export const MERGED: Readonly<Record<'n' | 's' | 'q' | 'm2' | 'mn' | 'mx' | 'ft' | 'fv' | 'lt' | 'lv' | 'ts', (filter?: string) => string>> = {
  n: (f = '') => `sum(r."n")${f}`,
  s: (f = '') => `sum(r."s")${f}`,
  q: (f = '') => `sum(r."q")${f}`,
  m2: (f = '') => `coalesce(sum(CASE WHEN r."n" > 0 THEN r."m2" + r."n" * power(r."s" / r."n" - r."gs" / r."gn", 2) END)${f}, 0)`,
  mn: (f = '') => `min(r."mn")${f}`,
  mx: (f = '') => `max(r."mx")${f}`,
  ft: (f = '') => `min(r."ft")${f}`,
  fv: (f = '') => `arg_min(r."fv", r."ft")${f}`,
  lt: (f = '') => `max(r."lt")${f}`,
  lv: (f = '') => `arg_max(r."lv", r."lt")${f}`,
  ts: (f = '') => `coalesce(sum(r."ts")${f}, 0)`,
};
const MERGED_STATE = Object.values(MERGED).map((m) => m()).join(', ');

/** A coarser level's touched bins from the level below (the state rows and the sketch buckets). */
export function coarserFromFinerSql(id: string, level: RollupLevel, finer: RollupLevel, lo: number, hi: number): { state: Sql; sketch: Sql } {
  const join = (sql: Sql, l: string, target: string) => {
    const f = sql.param(levelNumber(finer), UTINYINT);
    return `${touchTable(id)} AS t JOIN ${target} AS c ON c."level" = ${f} AND c."$series" = t."$series" AND ${binSql(level, 'c."bin"')} = t."bin"
      AND c."bin" >= ${sql.param(lo, BIGINT)} AND c."bin" < ${sql.param(hi, BIGINT)} WHERE t."level" = ${l}`;
  };
  const state = new Sql();
  const sl = state.param(levelNumber(level), UTINYINT);
  state.text = `INSERT INTO ${rollupTable(id)}
    WITH c AS (SELECT c.*, t."bin" AS "pbin" FROM ${join(state, sl, rollupTable(id))}),
      g AS (SELECT "$series", "field", "pbin", sum("n") AS "gn", sum("s") AS "gs" FROM c GROUP BY ALL)
    SELECT ${sl}, r."$series", r."field", r."pbin", ${MERGED_STATE}
    FROM (SELECT c.*, g."gn", g."gs" FROM c JOIN g ON g."$series" = c."$series" AND g."field" = c."field" AND g."pbin" = c."pbin") AS r
    GROUP BY r."$series", r."field", r."pbin"`;
  const sketch = new Sql();
  const kl = sketch.param(levelNumber(level), UTINYINT);
  sketch.text = `INSERT INTO ${sketchTable(id)}
    SELECT ${kl}, c."$series", c."field", t."bin", c."bucket", sum(c."c")
    FROM ${join(sketch, kl, sketchTable(id))}
    GROUP BY c."$series", c."field", t."bin", c."bucket"`;
  return { state, sketch };
}

/**
 * The pending (dirty) spans of a stream: `"dirty/<id>"` lists, per series, time spans `[lo, hi]` (epoch ms,
 * inclusive) a write touched since the compactor last ran: one row per series and run of nearby times of a
 * batch, so a batch adds about one row per series whatever its size. The compactor (`rollup-compactor.ts`)
 * recomputes every finest bin with a point or a stored bin in a span, and deletes the rows.
 */
export const dirtyTable = (id: string) => `"dirty/${id}"`;
export const dirtyName = (id: string) => `dirty/${id}`;

export function createDirtyTable(id: string): string {
  return `CREATE TABLE IF NOT EXISTS ${dirtyTable(id)} ("$series" INTEGER NOT NULL, "lo" BIGINT NOT NULL, "hi" BIGINT NOT NULL)`;
}

/** Every series' whole span, pending (a store opened on points kept before rollups were). */
export function dirtyAllSql(table: Table, id: string): string {
  return `INSERT INTO ${dirtyTable(id)} SELECT "$series", min("time"), max("time") FROM ${table.points} GROUP BY "$series"`;
}

/**
 * The finest bins of the pending spans with `lo` up to `upTo` (all without it) as the touched bins of the
 * finest level: the bins of the spans' points, and the stored bins in the spans (a rewrite may have deleted
 * all of a bin's points: it is deleted then, computed from none).
 */
export function touchFromDirtySql(table: Table, id: string, finest: RollupLevel, upTo: number | undefined): Sql {
  const sql = new Sql();
  const l = sql.param(levelNumber(finest), UTINYINT);
  const chosen = upTo === undefined ? '' : ` WHERE "lo" <= ${sql.param(upTo, BIGINT)}`;
  sql.text = `INSERT INTO ${touchTable(id)}
    WITH d AS (SELECT * FROM ${dirtyTable(id)}${chosen}), b AS (SELECT min("lo") AS lo, max("hi") AS hi FROM d)
    SELECT DISTINCT ${l}, p."$series", ${binSql(finest, 'p."time"')} FROM ${table.points} AS p JOIN d ON d."$series" = p."$series" AND p."time" BETWEEN d."lo" AND d."hi"
      WHERE p."time" >= (SELECT lo FROM b) AND p."time" <= (SELECT hi FROM b)
    UNION
    SELECT ${l}, r."$series", r."bin" FROM ${rollupTable(id)} AS r JOIN d ON d."$series" = r."$series" AND r."bin" BETWEEN ${binSql(finest, 'd."lo"')} AND d."hi"
      WHERE r."level" = ${l} AND r."bin" >= ${binSql(finest, '(SELECT lo FROM b)')} AND r."bin" <= (SELECT hi FROM b)`;
  return sql;
}

/** A coarser level's touched bins: the parents of the touched bins of the level below. */
export function touchCoarserSql(id: string, level: RollupLevel, finer: RollupLevel): Sql {
  const sql = new Sql();
  const l = sql.param(levelNumber(level), UTINYINT);
  const f = sql.param(levelNumber(finer), UTINYINT);
  sql.text = `INSERT INTO ${touchTable(id)} SELECT DISTINCT ${l}, t."$series", ${binSql(level, 't."bin"')} FROM ${touchTable(id)} AS t WHERE t."level" = ${f}`;
  return sql;
}

/** The span of the touched bins of a level: `[lo, hi)` covering them, for the scans above. */
export function touchedSpanSql(id: string, level: RollupLevel): Sql {
  const sql = new Sql();
  sql.text = `SELECT min("bin")::DOUBLE, max("bin")::DOUBLE FROM ${touchTable(id)} WHERE "level" = ${sql.param(levelNumber(level), UTINYINT)}`;
  return sql;
}
