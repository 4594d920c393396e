/**
 * Reading the stored rollups: a downsampled query answered from one stored level (bins of the query's width
 * merged from the stored bins, across series unless it groups), the sketch buckets of its percentiles, and the
 * stored bins themselves. Identifiers come from the schema, values are parameters.
 */
import { BIGINT, UTINYINT, VARCHAR } from '@duckdb/node-api';
import type { DataQuery } from '../../domain/query';
import type { RollupLevel } from '../../domain/rollup-levels';
import { binSql, levelNumber, MERGED, rollupTable, sketchTable, widthBinSql } from './rollup-sql';
import { afterConditions, dimExpr, orderBy, seriesConditions, Sql } from './sql';
import type { Table } from './tables';

/** The query bin of a stored bin `x`: a fixed width, or the calendar month (`binMs` 0 with `month`). */
function queryBinSql(q: DataQuery, month: boolean, x: string): string {
  return month ? binSql('1mo', x) : widthBinSql(q.binMs, x);
}

/** The columns each field has in a rollup answer, in order. */
export const STATE_COLUMNS = ['n', 's', 'm2', 'mn', 'mx', 'fv', 'lv'] as const;

/**
 * One row per query bin (and groupBy value): for each field of `q.fields`, the merged state's `STATE_COLUMNS`.
 * Every stored bin of the range counts (its fields all have rows, `n` 0 where the points lack one), so a bin
 * appears exactly when the raw query would show it.
 */
export function rollupQuerySql(table: Table, id: string, q: DataQuery, level: RollupLevel, sids: number[] | undefined, month = false): Sql {
  const sql = new Sql();
  const join = q.groupBy.length > 0 || (sids === undefined && Object.keys(q.filters).length > 0);
  const qbin = queryBinSql(q, month, 'p."bin"');
  const groups = q.groupBy.map((g, i) => `${dimExpr(table, g)} AS "g${i}"`);
  const where = [`p."level" = ${sql.param(levelNumber(level), UTINYINT)}`, `p."bin" >= ${sql.param(q.start, BIGINT)}`, `p."bin" < ${sql.param(q.end, BIGINT)}`, ...seriesConditions(sql, table, q.filters, sids)];
  const partition = [qbin, ...q.groupBy.map((g) => dimExpr(table, g)), 'p."field"'].join(', ');
  const perField = q.fields.flatMap((f, i) => {
    const name = sql.param(f, VARCHAR);
    const only = ` FILTER (WHERE r."field" = ${name})`;
    return [`coalesce(${MERGED.n(only)}, 0)`, ...STATE_COLUMNS.slice(1).map((c) => MERGED[c](only))].map((e, j) => `${e} AS "a${i}_${j}"`);
  });
  const keyExprs = q.groupBy.map((_, i) => `g."g${i}"`);
  const outer = q.after ? afterConditions(sql, 'g."$bin"', keyExprs, q.after, q.order) : [];
  sql.text = `SELECT g.* FROM (
      SELECT r."$bin"${q.groupBy.map((_, i) => `, r."g${i}"`).join('')}${perField.map((a) => `, ${a}`).join('')}
      FROM (
        SELECT p.*, ${qbin} AS "$bin"${groups.map((g) => `, ${g}`).join('')}, sum(p."n") OVER w AS "gn", sum(p."s") OVER w AS "gs"
        FROM ${rollupTable(id)} AS p${join ? ` JOIN ${table.series} AS s ON s."$series" = p."$series"` : ''}
        WHERE ${where.join(' AND ')}
        WINDOW w AS (PARTITION BY ${partition})
      ) AS r
      GROUP BY ALL
    ) AS g
    ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}
    ORDER BY ${orderBy(['g."$bin"', ...keyExprs], q.order)}
    LIMIT ${sql.param(q.limit, BIGINT)}`;
  return sql;
}

/** The sketch buckets of each query bin (and groupBy value) and field, for bins in `[from, to]`. */
export function rollupSketchSql(table: Table, id: string, q: DataQuery, level: RollupLevel, sids: number[] | undefined, from: number, to: number, month = false): Sql {
  const sql = new Sql();
  const join = q.groupBy.length > 0 || (sids === undefined && Object.keys(q.filters).length > 0);
  const qbin = queryBinSql(q, month, 'p."bin"');
  const fields = q.fields.map((f) => sql.param(f, VARCHAR));
  const where = [
    `p."level" = ${sql.param(levelNumber(level), UTINYINT)}`,
    `p."bin" >= ${sql.param(Math.max(q.start, from), BIGINT)}`,
    `p."bin" < ${sql.param(q.end, BIGINT)}`,
    `${qbin} <= ${sql.param(to, BIGINT)}`,
    `p."field" IN (${fields.join(', ')})`,
    ...seriesConditions(sql, table, q.filters, sids),
  ];
  sql.text = `SELECT ${qbin} AS "$bin"${q.groupBy.map((g) => `, ${dimExpr(table, g)}`).join('')}, p."field", p."bucket", sum(p."c")::DOUBLE
    FROM ${sketchTable(id)} AS p${join ? ` JOIN ${table.series} AS s ON s."$series" = p."$series"` : ''}
    WHERE ${where.join(' AND ')}
    GROUP BY ALL`;
  return sql;
}

/** The stored bins of a level in `[start, end)`, per series and field, with their whole state. */
export function storedBinsSql(table: Table, id: string, level: RollupLevel, start: number, end: number): Sql {
  const sql = new Sql();
  const dims = table.dims.map((d) => dimExpr(table, d));
  sql.text = `SELECT p."bin"::DOUBLE, p."field"${dims.map((d) => `, ${d}`).join('')}, p."n"::DOUBLE, p."s", p."q", p."m2", p."mn", p."mx", p."ft"::DOUBLE, p."fv", p."lt"::DOUBLE, p."lv", p."ts"::VARCHAR,
      (SELECT list(struct_pack(b := k."bucket", c := k."c"::DOUBLE)) FROM ${sketchTable(id)} AS k
        WHERE k."level" = p."level" AND k."$series" = p."$series" AND k."field" = p."field" AND k."bin" = p."bin")
    FROM ${rollupTable(id)} AS p JOIN ${table.series} AS s ON s."$series" = p."$series"
    WHERE p."level" = ${sql.param(levelNumber(level), UTINYINT)} AND p."bin" >= ${sql.param(start, BIGINT)} AND p."bin" < ${sql.param(end, BIGINT)}
    ORDER BY p."bin", p."$series", p."field"`;
  return sql;
}
