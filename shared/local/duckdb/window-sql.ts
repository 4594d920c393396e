/**
 * The SQL of sliding and session windows on DuckDB (tumbling windows are bins: `downsampledSql`). As in
 * `sql.ts`, identifiers come only from the schema and every value, window lengths included, is a parameter.
 */
import { BIGINT } from '@duckdb/node-api';
import type { DataQuery } from '../../domain/query';
import type { Stream } from '../../domain/stream-definition';
import { afterConditions, aggregateColumns, dimExpr, groupedSelect, orderBy, seriesConditions, Sql, TIME } from './sql';
import type { Table } from './tables';

/** The step bin a time falls in; `//` truncates toward zero, so times before 1970 take the floor. */
function stepIndex(q: DataQuery, step: string): string {
  return q.start >= 0 ? `(${TIME} // ${step})` : `floor(${TIME} / ${step})::BIGINT`;
}

/**
 * Sliding windows: each point is joined with the `size / step` windows it falls in (`range(0, k)`), the starts
 * `t` that are multiples of the step in `(time - size, time]`, and each window is aggregated like a bin. Windows
 * start from the range's start rounded down to the step; as with bins, a window reads only the range's points.
 */
export function slidingSql(stream: Stream, table: Table, q: DataQuery, sids: number[] | undefined): Sql {
  const window = q.window;
  if (window?.kind !== 'sliding') throw new TypeError('slidingSql needs a sliding window');
  const sql = new Sql();
  const step = sql.param(window.stepMs, BIGINT);
  const overlap = sql.param(window.sizeMs / window.stepMs, BIGINT);
  const startExpr = `((${stepIndex(q, step)} - w."i") * ${step})`;
  const first = Math.floor(q.start / window.stepMs) * window.stepMs;
  const where = [
    `${TIME} >= ${sql.param(q.start, BIGINT)}`,
    `${TIME} < ${sql.param(q.end, BIGINT)}`,
    ...seriesConditions(sql, table, q.filters, sids),
    `${startExpr} >= ${sql.param(first, BIGINT)}`,
  ];
  if (q.after) {
    // windows after the cursor's hold only points at or after its start; windows before it, points before its end
    where.push(q.order === 'asc' ? `${TIME} >= ${sql.param(q.after.time, BIGINT)}` : `${TIME} < ${sql.param(q.after.time + window.sizeMs, BIGINT)}`);
  }
  return groupedSelect(sql, stream, table, q, sids, { bin: startExpr, where, cross: `range(0, ${overlap}) AS w("i")` });
}

/**
 * The points a sliding query would expand (`count(*)` of its range and series), read first so that a query
 * over too many is refused before DuckDB aggregates `points × size / step` rows.
 */
export function slidingPointsSql(table: Table, q: DataQuery, sids: number[] | undefined): Sql {
  const sql = new Sql();
  const where = [`${TIME} >= ${sql.param(q.start, BIGINT)}`, `${TIME} < ${sql.param(q.end, BIGINT)}`, ...seriesConditions(sql, table, q.filters, sids)];
  const join = sids === undefined && Object.keys(q.filters).length > 0;
  sql.text = `SELECT count(*)::DOUBLE FROM ${table.points} AS p${join ? ` JOIN ${table.series} AS s ON s."$series" = p."$series"` : ''} WHERE ${where.join(' AND ')}`;
  return sql;
}

/**
 * Session windows: per key (`keyDimensions`: the series, or the `groupBy` values), a point more than the gap
 * after the key's previous point starts a new session (`lag`), a running sum numbers the sessions, and each
 * session is aggregated with its start (`$bin`), its last point (`$end`) and its points (`$count`).
 */
export function sessionSql(stream: Stream, table: Table, q: DataQuery, sids: number[] | undefined): Sql {
  const window = q.window;
  if (window?.kind !== 'session') throw new TypeError('sessionSql needs a session window');
  const sql = new Sql();
  const gap = sql.param(window.gapMs, BIGINT);
  const where = [`${TIME} >= ${sql.param(q.start, BIGINT)}`, `${TIME} < ${sql.param(q.end, BIGINT)}`, ...seriesConditions(sql, table, q.filters, sids)];
  const keys = q.keyDimensions.map((d) => dimExpr(table, d));
  const join = keys.length > 0 || (sids === undefined && Object.keys(q.filters).length > 0);
  const by = (exprs: string[]) => (exprs.length ? `PARTITION BY ${exprs.join(', ')} ` : '');
  const keyNames = q.keyDimensions.map((_, i) => `"g${i}"`);
  const aggregates = aggregateColumns(sql, stream, table, q);
  const keyExprs = keyNames.map((k) => `g.${k}`);
  const outer = q.after ? afterConditions(sql, 'g."$bin"', keyExprs, q.after, q.order) : [];
  sql.text = `WITH "$marked" AS (
      SELECT p.*${keys.map((k, i) => `, ${k} AS ${keyNames[i]}`).join('')},
        CASE WHEN ${TIME} - lag(${TIME}) OVER (${by(keys)}ORDER BY ${TIME}) > ${gap} THEN 1 ELSE 0 END AS "$break"
      FROM ${table.points} AS p${join ? ` JOIN ${table.series} AS s ON s."$series" = p."$series"` : ''}
      WHERE ${where.join(' AND ')}
    ), "$sessions" AS (
      SELECT *, sum("$break") OVER (${by(keyNames)}ORDER BY "time" ROWS UNBOUNDED PRECEDING) AS "$session" FROM "$marked"
    )
    SELECT g.* FROM (
      SELECT min(${TIME}) AS "$bin"${keyNames.map((k) => `, p.${k}`).join('')}${aggregates.map((a) => `, ${a}`).join('')}, max(${TIME}) AS "$end", count(*) AS "$count"
      FROM "$sessions" AS p
      GROUP BY p."$session"${keyNames.map((k) => `, p.${k}`).join('')}
    ) AS g
    ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}
    ORDER BY ${orderBy(['g."$bin"', ...keyExprs], q.order)}
    LIMIT ${sql.param(q.limit, BIGINT)}`;
  return sql;
}
