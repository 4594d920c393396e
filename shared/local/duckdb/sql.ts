/**
 * The SQL builder: every query the store runs on a stream's tables. Identifiers come only from the schema
 * (quoted by `ident`); values are always parameters.
 */
import { BIGINT, INTEGER, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { isPercentile, MONTHS, PERCENTILES, queryBinEnd, queryBinStart, type Cursor, type DataQuery, type LatestQuery, type QueryDownsampler } from '../../domain/query';
import type { Stream } from '../../domain/stream-definition';
import { columnOf, ident, kindOf, SQL_TYPE, type Table } from './tables';

/** SQL text with its parameters: values never enter the text. */
export class Sql {
  text = '';
  readonly values: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];
  param(value: DuckDBValue, type: DuckDBType): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

export const TIME = 'p."time"';

/** A field's column, or a typed NULL while the schema has a field no write has stored yet. */
export function fieldExpr(stream: Stream, table: Table, field: string): string {
  return table.measures.has(field) ? `p.${ident(columnOf(field))}` : `NULL::${SQL_TYPE[kindOf(stream, field)]}`;
}

export function dimExpr(table: Table, dim: string): string {
  return table.dims.includes(dim) ? `s.${ident(columnOf(dim))}` : `''`;
}

/** `s."dim" IN (...)` for each filtered dimension. */
function filterConditions(sql: Sql, table: Table, filters: Record<string, string[]>): string[] {
  return Object.entries(filters).map(([d, values]) => `${dimExpr(table, d)} IN (${values.map((v) => sql.param(v, VARCHAR)).join(', ')})`);
}

/** Most series numbers a query lists inline; past it, it joins the series table and filters there. */
export const MAX_SERIES_LIST = 1_000;

/** The `dim.` filters as series numbers when the index resolved them (`sids`), else on the joined dimensions. */
export function seriesConditions(sql: Sql, table: Table, filters: Record<string, string[]>, sids: number[] | undefined): string[] {
  if (sids === undefined) return filterConditions(sql, table, filters);
  if (sids.length === 1) return [`p."$series" = ${sql.param(sids[0]!, INTEGER)}`];
  return [`p."$series" IN (${sids.map((sid) => sql.param(sid, INTEGER)).join(', ')})`];
}

/** Rows strictly after the cursor in (time, key…) order; `>=` on time first so zonemaps can prune. */
export function afterConditions(sql: Sql, timeExpr: string, keyExprs: string[], after: Cursor, order: 'asc' | 'desc'): string[] {
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

export function orderBy(exprs: string[], order: 'asc' | 'desc'): string {
  return exprs.map((e) => `${e} ${order.toUpperCase()}`).join(', ');
}

/** Raw points of a query, in (time, key dimensions…) order, after the cursor, up to its limit. */
export function rawSql(stream: Stream, table: Table, q: DataQuery, sids: number[] | undefined): Sql {
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

/**
 * The SQL of one downsampler over a field; `trend` is two columns (slope, r²). `origin` is the parameter the
 * trend's time axis starts from (the query's start): seconds since it keep the regression's sums small.
 */
function aggregateExprs(stream: Stream, table: Table, field: string, d: QueryDownsampler, origin: string): string[] {
  const e = fieldExpr(stream, table, field);
  const asNumber = (x: string) => (kindOf(stream, field) === 'bigint' ? `(${x})::DOUBLE` : x);
  if (d === 'trend') {
    const x = `((${TIME} - ${origin}) / 1000.0)`;
    const y = `(${e})::DOUBLE`;
    return [`regr_slope(${y}, ${x})`, `regr_r2(${y}, ${x})`];
  }
  // exact, nearest rank: the smallest value with at least p of the window's values at or below it (quantile_disc)
  if (isPercentile(d)) return [`quantile_disc((${e})::DOUBLE, ${PERCENTILES[d]})`];
  return [aggregateExpr(e, d, asNumber)];
}

function aggregateExpr(e: string, d: Exclude<QueryDownsampler, 'trend' | `p${number}`>, asNumber: (x: string) => string): string {
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

/** Every field's downsamplers as select items named `a<field>_<downsampler>[_<part>]`, in the order `aggregateRowsOf` reads them. */
export function aggregateColumns(sql: Sql, stream: Stream, table: Table, q: DataQuery): string[] {
  const origin = q.downsamplers.includes('trend') ? sql.param(q.start, BIGINT) : '';
  return q.fields.flatMap((f, i) => q.downsamplers.flatMap((d, j) => aggregateExprs(stream, table, f, d, origin).map((e, k) => `${e} AS "a${i}_${j}${k ? `_${k}` : ''}"`)));
}


/**
 * A downsampled select (UTC bins, or sliding windows through `cross`): each row a `bin` with its groupBy
 * values and aggregates, the series table joined only for groupBy or dimension filters, the cursor tested on
 * the outer rows (`g."$bin"` then the group keys), ordered and limited.
 *
 * @example
 * return groupedSelect(sql, stream, table, q, sids, { bin: binExpr, where });
 */
export function groupedSelect(sql: Sql, stream: Stream, table: Table, q: DataQuery, sids: number[] | undefined, shape: { bin: string; where: string[]; cross?: string }): Sql {
  const join = q.groupBy.length > 0 || (sids === undefined && Object.keys(q.filters).length > 0);
  const groups = q.groupBy.map((g, i) => `${dimExpr(table, g)} AS "g${i}"`);
  const aggregates = aggregateColumns(sql, stream, table, q);
  const keyExprs = q.groupBy.map((_, i) => `g."g${i}"`);
  const outer = q.after ? afterConditions(sql, 'g."$bin"', keyExprs, q.after, q.order) : [];
  sql.text = `SELECT g.* FROM (
      SELECT ${shape.bin} AS "$bin"${groups.map((g) => `, ${g}`).join('')}${aggregates.map((a) => `, ${a}`).join('')}
      FROM ${table.points} AS p${join ? ` JOIN ${table.series} AS s ON s."$series" = p."$series"` : ''}${shape.cross ? `
      CROSS JOIN ${shape.cross}` : ''}
      WHERE ${shape.where.join(' AND ')}
      GROUP BY ALL
    ) AS g
    ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}
    ORDER BY ${orderBy(['g."$bin"', ...keyExprs], q.order)}
    LIMIT ${sql.param(q.limit, BIGINT)}`;
  return sql;
}
/** A downsampled query: one row per bin (and `groupBy` value), aggregates named `a<field>_<downsampler>`. */
export function downsampledSql(stream: Stream, table: Table, q: DataQuery, sids: number[] | undefined): Sql {
  const sql = new Sql();
  const bin = q.granularity === MONTHS ? '' : sql.param(q.binMs, BIGINT);
  // `//` truncates toward zero: exact flooring only when no time in range is negative (before 1970). Months: UTC calendar months.
  const binExpr =
    q.granularity === MONTHS
      ? `epoch_ms(date_trunc('month', epoch_ms(${TIME})))`
      : q.start >= 0
        ? `(${TIME} // ${bin}) * ${bin}`
        : `(${TIME} - ((${TIME} % ${bin}) + ${bin}) % ${bin})`;
  const where = [`${TIME} >= ${sql.param(q.start, BIGINT)}`, `${TIME} < ${sql.param(q.end, BIGINT)}`, ...seriesConditions(sql, table, q.filters, sids)];
  if (q.after) {
    // Prunes on raw time; the exact cursor test runs on the bins below.
    const start = queryBinStart(q, q.after.time);
    where.push(q.order === 'asc' ? `${TIME} >= ${sql.param(start, BIGINT)}` : `${TIME} < ${sql.param(queryBinEnd(q, start), BIGINT)}`);
  }
  return groupedSelect(sql, stream, table, q, sids, { bin: binExpr, where });
}

/**
 * The newest row per series. Known series are looked for at or after `bound` (the oldest newest time among
 * those the filters keep); series numbered from `known` on were created after the index was read and are
 * scanned whole.
 */
export function latestSql(stream: Stream, table: Table, q: LatestQuery, bound: number, known: number): Sql {
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
