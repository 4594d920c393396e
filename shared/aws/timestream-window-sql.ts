import type { DataQuery } from '../domain/query';
import type { Stream } from '../domain/stream-definition';
import {
  aggregateSelects,
  column,
  commonWhere,
  cursorCondition,
  dimension,
  fieldType,
  finish,
  interval,
  keyOf,
  measureColumn,
  type OutputColumn,
  quoteIdent,
  selectColumn,
  sqlInteger,
  tableName,
  type TableRef,
  TIMESTREAM_TYPE,
  timeLiteral,
  type TimestreamQuery,
} from './timestream-sql';

/**
 * The Timestream SQL of sliding and session windows (`window=sliding:…|session:…`); tumbling windows are
 * bins of any width and go through `buildDataQuery`. The same injection boundary as `timestream-sql.ts`:
 * identifiers from the schema, double-quoted; numbers through `sqlInteger`; no text a client sent.
 *
 * Sliding: each point is joined with the `size / step` window starts it falls in, a `VALUES` list of offsets
 * (at most `MAX_SLIDING_OVERLAP` rows, so the query text stays far below its 256 KB), and grouped by window
 * start like a bin: every downsampler, percentiles included, reads a window's own points. The scan, and so the
 * bytes Timestream bills, is the range's, as for bins; the join multiplies the rows Timestream aggregates by
 * `size / step`.
 *
 * Session: `lag(time)` over each key's points marks a point more than the gap after the previous one, a
 * running `sum` numbers the sessions, and each session is aggregated with its first and last time and its
 * points. Expressed in SQL, so only the sessions come back, never the raw points.
 *
 * @example
 * const { sql, columns } = buildSlidingQuery({ database: 'tributary', table: 'datapoints' }, stream, q, known);
 */

function measures(stream: Stream, q: DataQuery) {
  return q.fields.map((f) => ({ field: f, type: fieldType(stream, f, 'fields') }));
}

/**
 * A sliding-window query: one row per window start (a multiple of the step, from the range's start rounded
 * down to it) and `groupBy` value, over the range's points in `[start, start + size)`.
 *
 * @example
 * buildSlidingQuery(table, stream, parseDataQuery(stream, { window: 'sliding:5m/1m' }, now));
 * // SELECT from_milliseconds(to_milliseconds(bin(time, 1m)) - "w"."i" * 60000) AS "bin", … FROM "tributary"."datapoints", (VALUES 0, 1, 2, 3, 4) AS "w"("i") …
 */
export function buildSlidingQuery(table: TableRef, stream: Stream, q: DataQuery, known?: ReadonlySet<string>): TimestreamQuery {
  const window = q.window;
  if (window?.kind !== 'sliding') throw new TypeError('buildSlidingQuery needs a sliding window');
  const step = sqlInteger(window.stepMs, 'window', 1);
  const overlap = window.sizeMs / window.stepMs;
  sqlInteger(overlap, 'window', 1);
  const offsets = Array.from({ length: overlap }, (_, i) => String(i)).join(', ');
  const startMs = `to_milliseconds(bin(time, ${interval(window.stepMs)})) - "w"."i" * ${step}`;
  const startExpr = `from_milliseconds(${startMs})`;
  const where = commonWhere(stream, q.filters, known);
  where.push(`time >= ${timeLiteral(q.start, 'start')}`, `time < ${timeLiteral(q.end, 'end')}`);
  where.push(`${startMs} >= ${sqlInteger(Math.floor(q.start / window.stepMs) * window.stepMs, 'start')}`);
  const columns: OutputColumn[] = [{ kind: 'time' }];
  const select = [`${startExpr} AS "bin"`];
  const groupBy = [startMs];
  const keyRefs: string[] = [];
  for (const d of q.groupBy) {
    dimension(stream, d, 'groupBy');
    select.push(selectColumn(d, 'VARCHAR', known));
    groupBy.push(column(d, 'VARCHAR', known));
    keyRefs.push(column(d, 'VARCHAR', known));
    columns.push({ kind: 'dimension', name: d });
  }
  aggregateSelects(q, measures(stream, q), (name, type) => column(name, type, known), select, columns);
  // the window start is the group key, so the cursor can filter expanded rows before they are aggregated
  const after = cursorCondition(q, startExpr, keyRefs);
  if (after) where.push(after);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  return finish(
    [
      `SELECT ${select.join(', ')}`,
      `FROM ${tableName(table)}, (VALUES ${offsets}) AS "w"("i")`,
      `WHERE ${where.join('\n  AND ')}`,
      `GROUP BY ${groupBy.join(', ')}`,
      `ORDER BY "bin" ${dir}${keyRefs.map((ref) => `, ${keyOf(ref)} ${dir}`).join('')}`,
      `LIMIT ${sqlInteger(q.limit, 'limit', 1)}`,
    ],
    columns,
  );
}

/**
 * A session-window query: per key (`keyDimensions`: every dimension, or the `groupBy` ones), one row per run
 * of points no more than the gap apart, with its start (`bin`), its last point (`end`) and its points (`count`).
 *
 * @example
 * buildSessionQuery(table, stream, parseDataQuery(stream, { window: 'session:10m' }, now));
 * // WITH "marked" AS (SELECT time, "deviceId", …, CASE WHEN to_milliseconds(time) - lag(to_milliseconds(time)) OVER (…) > 600000 …
 */
export function buildSessionQuery(table: TableRef, stream: Stream, q: DataQuery, known?: ReadonlySet<string>): TimestreamQuery {
  const window = q.window;
  if (window?.kind !== 'session') throw new TypeError('buildSessionQuery needs a session window');
  const gap = sqlInteger(window.gapMs, 'window', 1);
  const where = commonWhere(stream, q.filters, known);
  where.push(`time >= ${timeLiteral(q.start, 'start')}`, `time < ${timeLiteral(q.end, 'end')}`);
  const fields = measures(stream, q);
  const inner = ['time'];
  const keys: string[] = [];
  for (const d of q.keyDimensions) {
    dimension(stream, d, 'groupBy');
    inner.push(selectColumn(d, 'VARCHAR', known));
    keys.push(quoteIdent(d));
  }
  for (const { field, type } of fields) inner.push(selectColumn(measureColumn(field, type), TIMESTREAM_TYPE[type], known));
  const partition = (refs: string[]) => (refs.length ? `PARTITION BY ${refs.map(keyOf).join(', ')} ` : '');
  const tableKeys = q.keyDimensions.map((d) => column(d, 'VARCHAR', known));
  const columns: OutputColumn[] = [{ kind: 'time' }, ...q.keyDimensions.map((name): OutputColumn => ({ kind: 'dimension', name }))];
  const select = [`min(time) AS "bin"`, ...keys];
  // the CTE names every column as the table does, so the aggregates read them by their own names
  aggregateSelects(q, fields, (name) => quoteIdent(name), select, columns);
  select.push(`max(time) AS "end"`, `count(*) AS "count"`);
  columns.push({ kind: 'end' }, { kind: 'count' });
  const after = cursorCondition(q, '"bin"', keys);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  return finish(
    [
      `WITH "marked" AS (`,
      `  SELECT ${inner.join(', ')},`,
      `    CASE WHEN to_milliseconds(time) - lag(to_milliseconds(time)) OVER (${partition(tableKeys)}ORDER BY time) > ${gap} THEN 1 ELSE 0 END AS "break"`,
      `  FROM ${tableName(table)}`,
      `  WHERE ${where.join('\n    AND ')}`,
      `), "sessions" AS (`,
      `  SELECT *, sum("break") OVER (${partition(keys)}ORDER BY time ROWS UNBOUNDED PRECEDING) AS "session" FROM "marked"`,
      `)`,
      `SELECT * FROM (`,
      `  SELECT ${select.join(', ')}`,
      `  FROM "sessions"`,
      `  GROUP BY "session"${keys.map((k) => `, ${k}`).join('')}`,
      `) AS "windows"`,
      ...(after ? [`WHERE ${after}`] : []),
      `ORDER BY "bin" ${dir}${keys.map((k) => `, ${keyOf(k)} ${dir}`).join('')}`,
      `LIMIT ${sqlInteger(q.limit, 'limit', 1)}`,
    ],
    columns,
  );
}
