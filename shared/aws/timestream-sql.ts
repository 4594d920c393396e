import { BadRequestError } from '../domain/errors';
import { isPercentile, MAX_LIMIT, MONTHS, NUMERIC_DOWNSAMPLERS, PERCENTILES, type DataQuery, type LatestQuery, type QueryDownsampler } from '../domain/query';
import type { Stream } from '../domain/stream-definition';
import { FIELD_NAME, measureFields, type FieldType } from '../domain/stream-names';

/**
 * The Timestream storage model and the SQL builder over it. Timestream has no bind parameters, so this
 * file is the injection boundary: every identifier comes from the stream's schema (checked against
 * `FIELD_NAME`, always double-quoted) and every literal is produced by `sqlString` or `sqlInteger`.
 *
 * Storage model, one table shared by every stream:
 * - one multi-measure record per datapoint, `MeasureName` = `MEASURE_NAME`, time in milliseconds;
 * - dimensions `stream_id` plus the stream's dimension fields, under their own names;
 * - one measure attribute per field, named `<field>__<type>` (`measureColumn`).
 *
 * Why the type suffix: a multi-measure attribute is a column of the whole table, not of a measure name.
 * Timestream gives a column its type on first write and "the name for a dimension can not be the same as
 * the name for a measure" (Developer Guide, Quotas, naming constraints). Two streams may use one field name
 * with different types, or one as a dimension and the other as a measure; with the suffix they land in
 * different columns. Streams that agree on a name and type share a column, which keeps the table under its
 * quota of 1024 distinct measure attributes. A per-stream `MeasureName` would not help: the columns would
 * still collide.
 *
 * @example
 * const { sql, columns } = buildDataQuery({ database: 'tributary', table: 'datapoints' }, stream, q);
 * // SELECT time, "deviceId", "temperature__double" FROM "tributary"."datapoints" WHERE measure_name = 'datapoint' …
 */

/**
 * The `MeasureName` of every record Tributary writes: one constant, so the table stays far below its
 * quota of 8192 measure names whatever the number of streams; `stream_id` tells the streams apart.
 *
 * @example
 * `WHERE measure_name = '${MEASURE_NAME}'`; // WHERE measure_name = 'datapoint'
 */
export const MEASURE_NAME = 'datapoint';
/**
 * The dimension that holds the stream id; reserved by the domain (`RESERVED_FIELDS`).
 *
 * @example
 * { Name: STREAM_DIMENSION, Value: stream.id }; // the stream's dimension in CommonAttributes
 */
export const STREAM_DIMENSION = 'stream_id';
/**
 * Timestream's limit on a query string (Developer Guide, Quotas: "QueryString length in KiB", 256).
 *
 * @example
 * Buffer.byteLength(sql) <= MAX_QUERY_BYTES; // true for every built query
 */
export const MAX_QUERY_BYTES = 256 * 1024;

/**
 * A Timestream measure value type Tributary writes.
 *
 * @example
 * const t: TimestreamType = 'DOUBLE';
 */
export type TimestreamType = 'DOUBLE' | 'BIGINT' | 'VARCHAR' | 'BOOLEAN' | 'TIMESTAMP';

/**
 * How each field type is stored; objects and arrays are stored as their JSON text.
 *
 * @example
 * TIMESTREAM_TYPE.integer; // 'BIGINT'
 */
export const TIMESTREAM_TYPE: Readonly<Record<FieldType, TimestreamType>> = {
  number: 'DOUBLE',
  integer: 'BIGINT',
  string: 'VARCHAR',
  boolean: 'BOOLEAN',
  datetime: 'TIMESTAMP',
  object: 'VARCHAR',
  array: 'VARCHAR',
  graph: 'VARCHAR',
};

/**
 * The measure attribute (column) that holds a field of the given type.
 *
 * @example
 * measureColumn('temperature', 'number'); // 'temperature__double'
 * measureColumn('labels', 'array'); // 'labels__varchar'
 */
export function measureColumn(field: string, type: FieldType): string {
  return `${field}__${TIMESTREAM_TYPE[type].toLowerCase()}`;
}

/**
 * Where the datapoints are.
 *
 * @example
 * const table: TableRef = { database: 'tributary', table: 'datapoints' };
 */
export interface TableRef {
  database: string;
  table: string;
}

/**
 * What one output column of a built query holds, in order.
 *
 * @example
 * const col: OutputColumn = { kind: 'aggregate', field: 'temperature', downsampler: 'mean' };
 */
export type OutputColumn =
  | { kind: 'time' }
  | { kind: 'dimension'; name: string }
  | { kind: 'value'; field: string }
  | { kind: 'aggregate'; field: string; downsampler: Exclude<QueryDownsampler, 'trend'> }
  | { kind: 'trend'; field: string; part: 'slope' | 'r2' }
  | { kind: 'end' }
  | { kind: 'count' };

/**
 * A built query: its text and how to read its rows.
 *
 * @example
 * const { sql, columns }: TimestreamQuery = buildLatestQuery(table, stream, { fields: ['temperature'], filters: {} });
 */
export interface TimestreamQuery {
  sql: string;
  /** The output columns in SELECT order; rows are read by position. */
  columns: OutputColumn[];
}

/**
 * The table columns a query over these fields may touch: the stream's dimensions and the fields' measure
 * columns. The store checks them against the table (`DESCRIBE`) because Timestream refuses a query that
 * names a column no record has created yet.
 *
 * @example
 * referencedColumns(stream, ['temperature']); // ['deviceId', 'temperature__double']
 */
export function referencedColumns(stream: Stream, fields: readonly string[]): string[] {
  return [...stream.dimensions, ...fields.map((f) => measureColumn(f, fieldType(stream, f, 'fields')))];
}

/**
 * `DESCRIBE` of the table: one row per column, its name first.
 *
 * @example
 * describeTableSql({ database: 'tributary', table: 'datapoints' }); // 'DESCRIBE "tributary"."datapoints"'
 */
export function describeTableSql(table: TableRef): string {
  return `DESCRIBE ${tableName(table)}`;
}

export const bad = (path: string, message: string): BadRequestError => new BadRequestError('Invalid query parameters.', [{ path: [path], message }]);

/**
 * A string as a SQL expression that evaluates to exactly that string.
 *
 * Literal policy: a character goes into the quoted literal as itself only if it is printable ASCII other
 * than `\` (`'` doubled, the SQL standard escape), or a non-ASCII letter, digit or mark whose NFKC form
 * holds no ASCII (so no normalizing reader could fold it into syntax). Every other character (controls,
 * line and paragraph separators, format characters, `\`, other punctuation and symbols beyond ASCII) is
 * written as `chr(<code point>)` and joined with `concat(…)` (Timestream string functions), so it never
 * appears inside a literal at all. The backslash is kept out because Timestream documents no escape syntax
 * for literals and some SQL readers treat it as one. Nothing a record can hold is refused: a series key or
 * filter value with any character stays queryable. Only an unpaired UTF-16 surrogate is refused: it is not
 * a character, cannot be encoded in UTF-8, and no stored value holds one.
 *
 * @example
 * sqlString("O'Brien", 'dim.owner'); // "'O''Brien'"
 * sqlString('a\\b', 'cursor'); // "concat('a', chr(92), 'b')"
 */
export function sqlString(value: string, path: string): string {
  const parts: string[] = [];
  let run = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) throw bad(path, 'contains an unpaired UTF-16 surrogate, which no stored value can hold');
    if (isLiteralSafe(ch, cp)) {
      run += cp === 0x27 ? "''" : ch;
      continue;
    }
    if (run) parts.push(`'${run}'`);
    run = '';
    parts.push(`chr(${cp})`);
  }
  if (run || parts.length === 0) parts.push(`'${run}'`);
  return parts.length === 1 ? parts[0]! : `concat(${parts.join(', ')})`;
}

const LETTER_DIGIT_MARK = /^[\p{L}\p{N}\p{M}]$/u;
const HAS_ASCII = /[\x00-\x7f]/;

function isLiteralSafe(ch: string, cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp <= 0x7e && cp !== 0x5c;
  return LETTER_DIGIT_MARK.test(ch) && !HAS_ASCII.test(ch.normalize('NFKC'));
}

/**
 * A non-negative safe integer as SQL text; anything else is refused.
 *
 * @example
 * sqlInteger(1767225600000, 'start'); // '1767225600000'
 */
export function sqlInteger(value: number, path: string, min = 0): string {
  if (!Number.isSafeInteger(value) || value < min) throw bad(path, `must be an integer of at least ${min}`);
  return String(value);
}

export const quoteIdent = (name: string): string => `"${name}"`;

function identifier(name: string, path: string): string {
  if (!FIELD_NAME.test(name)) throw bad(path, `'${name}' is not a valid field name`);
  return quoteIdent(name);
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,256}$/;

export function tableName(t: TableRef): string {
  // configuration, not client input: a bad name is a deployment error
  if (!TABLE_NAME.test(t.database) || !TABLE_NAME.test(t.table)) {
    throw new TypeError(`Timestream database and table names must match ${TABLE_NAME}; got '${t.database}'.'${t.table}'`);
  }
  return `${quoteIdent(t.database)}.${quoteIdent(t.table)}`;
}

export function fieldType(stream: Stream, field: string, path: string): FieldType {
  const spec = Object.hasOwn(stream.schema, field) ? stream.schema[field] : undefined;
  if (!spec || !measureFields(stream).includes(field)) throw bad(path, `'${field}' is not a measure field of the stream`);
  identifier(field, path);
  return spec.type;
}

export function dimension(stream: Stream, name: string, path: string): string {
  if (!stream.dimensions.includes(name)) throw bad(path, `'${name}' is not a dimension of the stream`);
  return identifier(name, path);
}

export const timeLiteral = (ms: number, path: string): string => `from_milliseconds(${sqlInteger(ms, path)})`;

/** The largest unit that divides the bin width exactly; Timestream reads `1h`, `10s`, `250ms`. */
export function interval(ms: number): string {
  sqlInteger(ms, 'granularity', 1);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Columns the table has; `undefined` means "assume every referenced column exists". */
export type Known = ReadonlySet<string> | undefined;

/** A column reference, or a typed NULL when no record has created the column yet. */
export function column(name: string, type: TimestreamType, known: Known): string {
  return known === undefined || known.has(name) ? quoteIdent(name) : `CAST(NULL AS ${type})`;
}

export function selectColumn(name: string, type: TimestreamType, known: Known): string {
  const ref = column(name, type, known);
  return ref.startsWith('CAST') ? `${ref} AS ${quoteIdent(name)}` : ref;
}

export const keyOf = (dimRef: string): string => `coalesce(${dimRef}, '')`;

export function commonWhere(stream: Stream, filters: Record<string, string[]>, known: Known): string[] {
  const where = [`measure_name = ${sqlString(MEASURE_NAME, 'measure_name')}`, `${quoteIdent(STREAM_DIMENSION)} = ${sqlString(stream.id, 'streamId')}`];
  for (const [name, values] of Object.entries(filters)) {
    const path = `dim.${name}`;
    dimension(stream, name, path);
    if (values.length === 0) throw bad(path, 'needs at least one value');
    where.push(`${column(name, 'VARCHAR', known)} IN (${values.map((v) => sqlString(v, path)).join(', ')})`);
  }
  return where;
}

/**
 * Strictly after (asc) or before (desc) the cursor in the order (time, key…):
 * `t > T OR t = T AND (k1 > K1 OR k1 = K1 AND (…))`.
 */
function afterCondition(terms: { expr: string; value: string }[], op: '>' | '<'): string {
  const [head, ...rest] = terms;
  if (!head) throw new TypeError('a cursor needs at least one term');
  const strict = `${head.expr} ${op} ${head.value}`;
  return rest.length === 0 ? strict : `(${strict} OR ${head.expr} = ${head.value} AND ${afterCondition(rest, op)})`;
}

export function cursorCondition(q: DataQuery, timeExpr: string, keyRefs: string[]): string | undefined {
  if (!q.after) return undefined;
  if (q.after.key.length !== keyRefs.length) throw bad('cursor', 'is not a cursor this query returned; start again without it');
  const terms = [
    { expr: timeExpr, value: timeLiteral(q.after.time, 'cursor') },
    ...keyRefs.map((ref, i) => ({ expr: keyOf(ref), value: sqlString(q.after!.key[i]!, 'cursor') })),
  ];
  return afterCondition(terms, q.order === 'desc' ? '<' : '>');
}

export function finish(lines: string[], columns: OutputColumn[]): TimestreamQuery {
  const sql = lines.join('\n');
  if (Buffer.byteLength(sql) > MAX_QUERY_BYTES) {
    throw new BadRequestError('Invalid query parameters.', [{ path: [], message: 'the query is too long for the store; ask for fewer filter values' }]);
  }
  return { sql, columns };
}

function aggregate(d: Exclude<QueryDownsampler, 'trend'>, col: string): string {
  // approximate: Timestream's approx_percentile (the query language's digest), not an exact rank
  if (isPercentile(d)) return `approx_percentile(CAST(${col} AS DOUBLE), ${PERCENTILES[d]})`;
  switch (d) {
    case 'mean':
      return `avg(${col})`;
    case 'min':
    case 'max':
    case 'sum':
    case 'count':
      return `${d}(${col})`;
    case 'stddev':
      return `stddev_samp(${col})`;
    // the first/last value the field has in the bin: rows without it carry no time and are skipped
    case 'first':
      return `min_by(${col}, CASE WHEN ${col} IS NOT NULL THEN time END)`;
    case 'last':
      return `max_by(${col}, CASE WHEN ${col} IS NOT NULL THEN time END)`;
  }
}

/**
 * Every field's downsamplers as select items named `<field>__<downsampler>` (`trend` as `__trend_slope` and
 * `__trend_r2`), appended to `select` with their output columns. `col` names a measure column as the FROM
 * reads it. The trend's time axis is seconds since the query's start: a line keeps its slope, and the sums
 * stay small. Its r² is corr² (1 when every value is equal); a slope Timestream cannot compute is NaN, read as null.
 */
export function aggregateSelects(
  q: DataQuery,
  fields: { field: string; type: FieldType }[],
  col: (name: string, type: TimestreamType) => string,
  select: string[],
  columns: OutputColumn[],
): void {
  for (const { field, type } of fields) {
    const ref = col(measureColumn(field, type), TIMESTREAM_TYPE[type]);
    for (const d of q.downsamplers) {
      if (NUMERIC_DOWNSAMPLERS.has(d) && type !== 'number' && type !== 'integer') throw bad('downsamplers', `${d} needs a number or integer field; '${field}' is ${type}`);
      if (d === 'trend') {
        const x = `CASE WHEN ${ref} IS NOT NULL THEN CAST(to_milliseconds(time) - ${sqlInteger(q.start, 'start')} AS DOUBLE) / 1000 END`;
        const y = `CAST(${ref} AS DOUBLE)`;
        select.push(
          `regr_slope(${y}, ${x}) AS ${quoteIdent(`${field}__trend_slope`)}`,
          `CASE WHEN var_pop(${x}) > 0 AND var_pop(${y}) = 0 THEN 1.0 ELSE power(corr(${y}, ${x}), 2) END AS ${quoteIdent(`${field}__trend_r2`)}`,
        );
        columns.push({ kind: 'trend', field, part: 'slope' }, { kind: 'trend', field, part: 'r2' });
        continue;
      }
      select.push(`${aggregate(d, ref)} AS ${quoteIdent(`${field}__${d}`)}`);
      columns.push({ kind: 'aggregate', field, downsampler: d });
    }
  }
}

/**
 * The SQL of a `/data` query, raw or downsampled, with the order of its output columns.
 *
 * Raw: time, every dimension, the asked fields over [start, end). Downsampled: `bin(time, …)` (aligned to
 * the epoch), the `groupBy` dimensions and one aggregate per field and downsampler, grouped by bin and
 * `groupBy`. Both order by time then `keyDimensions` (missing values as ''), apply `after` as strictly
 * after that row in this order, and stop at `limit` (Timestream has LIMIT but no OFFSET).
 *
 * @example
 * const { sql, columns } = buildDataQuery({ database: 'tributary', table: 'datapoints' }, stream, q, knownColumns);
 */
export function buildDataQuery(table: TableRef, stream: Stream, q: DataQuery, known?: ReadonlySet<string>): TimestreamQuery {
  const from = `FROM ${tableName(table)}`;
  const where = commonWhere(stream, q.filters, known);
  where.push(`time >= ${timeLiteral(q.start, 'start')}`, `time < ${timeLiteral(q.end, 'end')}`);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const limit = `LIMIT ${sqlInteger(q.limit, 'limit', 1)}`;
  const fields = q.fields.map((f) => ({ field: f, type: fieldType(stream, f, 'fields') }));
  const keyRefs = q.keyDimensions.map((d) => {
    dimension(stream, d, 'keyDimensions');
    return column(d, 'VARCHAR', known);
  });
  const orderKeys = keyRefs.map((ref) => `, ${keyOf(ref)} ${dir}`).join('');

  if (q.granularity === 'raw') {
    const columns: OutputColumn[] = [{ kind: 'time' }];
    const select = ['time'];
    for (const d of stream.dimensions) {
      dimension(stream, d, 'dimensions');
      select.push(selectColumn(d, 'VARCHAR', known));
      columns.push({ kind: 'dimension', name: d });
    }
    for (const { field, type } of fields) {
      select.push(selectColumn(measureColumn(field, type), TIMESTREAM_TYPE[type], known));
      columns.push({ kind: 'value', field });
    }
    const after = cursorCondition(q, 'time', keyRefs);
    if (after) where.push(after);
    return finish([`SELECT ${select.join(', ')}`, from, `WHERE ${where.join('\n  AND ')}`, `ORDER BY time ${dir}${orderKeys}`, limit], columns);
  }

  // calendar months (UTC): Timestream's date_trunc, as bin() takes only fixed widths
  const bin = q.granularity === MONTHS ? `date_trunc('month', time)` : `bin(time, ${interval(q.binMs)})`;
  const columns: OutputColumn[] = [{ kind: 'time' }];
  const select = [`${bin} AS "bin"`];
  const groupBy = [bin];
  for (const d of q.groupBy) {
    dimension(stream, d, 'groupBy');
    select.push(selectColumn(d, 'VARCHAR', known));
    groupBy.push(column(d, 'VARCHAR', known));
    columns.push({ kind: 'dimension', name: d });
  }
  aggregateSelects(q, fields, (name, type) => column(name, type, known), select, columns);
  // the cursor compares group keys, so it can filter rows before they are aggregated
  const after = cursorCondition(q, bin, keyRefs);
  if (after) where.push(after);
  return finish(
    [`SELECT ${select.join(', ')}`, from, `WHERE ${where.join('\n  AND ')}`, `GROUP BY ${groupBy.join(', ')}`, `ORDER BY "bin" ${dir}${orderKeys}`, limit],
    columns,
  );
}

/**
 * The SQL of a `/latest` query: the newest record of each series (each combination of dimension values,
 * a missing value being its own), picked with `row_number()` over the series ordered by time. At most
 * `MAX_LIMIT` series come back, ordered by their key.
 *
 * @example
 * const { sql, columns } = buildLatestQuery({ database: 'tributary', table: 'datapoints' }, stream, { fields: ['temperature'], filters: {} });
 */
export function buildLatestQuery(table: TableRef, stream: Stream, q: LatestQuery, known?: ReadonlySet<string>): TimestreamQuery {
  const where = commonWhere(stream, q.filters, known);
  const columns: OutputColumn[] = [{ kind: 'time' }];
  const inner = ['time'];
  const outer = ['time'];
  for (const d of stream.dimensions) {
    dimension(stream, d, 'dimensions');
    inner.push(selectColumn(d, 'VARCHAR', known));
    outer.push(quoteIdent(d));
    columns.push({ kind: 'dimension', name: d });
  }
  for (const field of q.fields) {
    const type = fieldType(stream, field, 'fields');
    const name = measureColumn(field, type);
    inner.push(selectColumn(name, TIMESTREAM_TYPE[type], known));
    outer.push(quoteIdent(name));
    columns.push({ kind: 'value', field });
  }
  const partition = stream.dimensions.map((d) => column(d, 'VARCHAR', known));
  const over = `${partition.length ? `PARTITION BY ${partition.join(', ')} ` : ''}ORDER BY time DESC`;
  inner.push(`row_number() OVER (${over}) AS "rn"`);
  const order = stream.dimensions.length ? stream.dimensions.map((d) => `${keyOf(quoteIdent(d))} ASC`).join(', ') : 'time DESC';
  return finish(
    [
      `SELECT ${outer.join(', ')}`,
      `FROM (SELECT ${inner.join(', ')}`,
      `  FROM ${tableName(table)}`,
      `  WHERE ${where.join('\n    AND ')}) AS "newest"`,
      `WHERE "rn" = 1`,
      `ORDER BY ${order}`,
      `LIMIT ${MAX_LIMIT}`,
    ],
    columns,
  );
}
