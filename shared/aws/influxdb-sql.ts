/**
 * The InfluxQL builder of `InfluxDbPointStore`: the injection boundary between the query model and InfluxDB.
 * InfluxQL has no bind parameters, so every statement is text; its parts come only from:
 * - identifiers checked against the stream (its id as the measurement, its schema's measure fields and its
 *   dimensions as tag keys) and double-quoted with `\` and `"` escaped;
 * - string literals single-quoted with `\`, `'` and `\n` escaped (none holds a carriage return or NUL);
 * - times as integers (epoch nanoseconds) and limits as integers, both checked to be safe integers.
 * `test/unit/influxdb-sql.fuzz.test.ts` parses what it builds from arbitrary input and checks the statement's
 * structure never changes.
 */
import { measureFields } from '../domain/stream-names';
import { STREAM_ID, type Stream } from '../domain/stream-definition';

/** The field every point is written with (not a schema name: those match `FIELD_NAME`), so a select of fields a point lacks still returns its row. */
export const POINT_MARKER = '$point';

/** Where a deployment's points live: one database (InfluxDB 2.x/3: a bucket mapped to it) and its retention policy. */
export interface InfluxTarget {
  database: string;
  retentionPolicy?: string;
}

const UNSPELLABLE = /[\r\u0000]/;

/**
 * `\`, the quote and `\n` escaped as InfluxQL's scanner reads them (the same for strings and quoted
 * identifiers). It knows no other escape, and ends a literal at a raw carriage return or NUL (checked on
 * InfluxDB 1.6): no literal may hold one (`matchableFilters` drops such filter values).
 */
function escaped(text: string, quote: "'" | '"'): string {
  if (UNSPELLABLE.test(text)) throw new TypeError('an InfluxQL literal cannot hold a carriage return or a NUL');
  return text.replace(/[\\'"\n]/g, (c) => (c === '\n' ? '\\n' : c === quote || c === '\\' ? `\\${c}` : c));
}

/** A double-quoted InfluxQL identifier. */
export function quoteIdent(name: string): string {
  return `"${escaped(name, '"')}"`;
}

/** A single-quoted InfluxQL string literal. */
export function quoteString(value: string): string {
  return `'${escaped(value, "'")}'`;
}

/**
 * The filters without the values no stored tag can equal (a carriage return or a NUL, which writes refuse
 * in a tag and InfluxQL cannot spell), or `undefined` when a dimension keeps none: then no series matches.
 */
export function matchableFilters(filters: Record<string, readonly string[]>): Record<string, string[]> | undefined {
  const kept: Record<string, string[]> = {};
  for (const [dim, values] of Object.entries(filters)) {
    const ok = values.filter((v) => !UNSPELLABLE.test(v));
    if (ok.length === 0) return undefined;
    kept[dim] = ok;
  }
  return kept;
}

/** Epoch milliseconds as an InfluxQL time literal (epoch nanoseconds). */
export function timeLiteral(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new TypeError(`time ${ms} is not a safe integer of milliseconds`);
  return (BigInt(ms) * 1_000_000n).toString();
}

function integer(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${n} is not a non-negative safe integer`);
  return String(n);
}

/** The measurement of a stream, fully qualified: `"db"."rp"."stream id"`. */
export function measurementOf(stream: Stream, target: InfluxTarget): string {
  if (!STREAM_ID.test(stream.id)) throw new TypeError(`stream id ${JSON.stringify(stream.id)} is not a stream id`);
  return `${quoteIdent(target.database)}.${target.retentionPolicy ? quoteIdent(target.retentionPolicy) : ''}.${quoteIdent(stream.id)}`;
}

function fieldIdents(stream: Stream, fields: readonly string[]): string[] {
  const measures = measureFields(stream);
  return fields.map((f) => {
    if (!measures.includes(f)) throw new TypeError(`'${f}' is not a measure field of stream ${stream.id}`);
    return quoteIdent(f);
  });
}

function tagIdent(stream: Stream, dim: string): string {
  if (!stream.dimensions.includes(dim)) throw new TypeError(`'${dim}' is not a dimension of stream ${stream.id}`);
  return quoteIdent(dim);
}

/** `("site" = 'a' OR "site" = 'b') AND …` for each filtered dimension. */
function filterConditions(stream: Stream, filters: Record<string, readonly string[]>): string[] {
  return Object.entries(filters).map(([dim, values]) => {
    const tag = tagIdent(stream, dim);
    if (values.length === 0) throw new TypeError(`filter on '${dim}' has no value`);
    return `(${values.map((v) => `${tag} = ${quoteString(v)}`).join(' OR ')})`;
  });
}

/** What a points select reads: `[from, to)` unless `toInclusive`, the series the filters keep. */
export interface PointsSelect {
  fields: readonly string[];
  from: number;
  to: number;
  toInclusive?: boolean;
  filters: Record<string, readonly string[]>;
}

function where(stream: Stream, s: PointsSelect): string {
  return [`time >= ${timeLiteral(s.from)}`, `time ${s.toInclusive ? '<=' : '<'} ${timeLiteral(s.to)}`, ...filterConditions(stream, s.filters)].join(' AND ');
}

/**
 * Every point of the range with the fields asked for, one series per tag set (`GROUP BY *`), each in time
 * order: the store sorts and aggregates them.
 *
 * @example
 * pointsQl(stream, { database: 'tributary' }, { fields: ['temp'], from: 0, to: 60_000, filters: { site: ['a'] } });
 * // SELECT "$point", "temp" FROM "tributary".."climate" WHERE time >= 0 AND time < 60000000000 AND ("site" = 'a') GROUP BY *
 */
export function pointsQl(stream: Stream, target: InfluxTarget, s: PointsSelect): string {
  const columns = [quoteIdent(POINT_MARKER), ...fieldIdents(stream, s.fields)];
  return `SELECT ${columns.join(', ')} FROM ${measurementOf(stream, target)} WHERE ${where(stream, s)} GROUP BY *`;
}

/**
 * The times of the first `limit` points of the range in `order`, across all series: where a page of raw rows
 * ends (the store then reads every point up to that time, ties included).
 */
export function pageEndQl(stream: Stream, target: InfluxTarget, s: Omit<PointsSelect, 'fields'>, order: 'asc' | 'desc', limit: number): string {
  return `SELECT ${quoteIdent(POINT_MARKER)} FROM ${measurementOf(stream, target)} WHERE ${where(stream, { ...s, fields: [] })} ORDER BY time ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${integer(limit)}`;
}

/** The newest point of each series with the fields asked for (LIMIT applies per series with `GROUP BY *`). */
export function latestQl(stream: Stream, target: InfluxTarget, fields: readonly string[], filters: Record<string, readonly string[]>): string {
  const columns = [quoteIdent(POINT_MARKER), ...fieldIdents(stream, fields)];
  const conditions = filterConditions(stream, filters);
  return `SELECT ${columns.join(', ')} FROM ${measurementOf(stream, target)}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} GROUP BY * ORDER BY time DESC LIMIT 1`;
}

/**
 * Deletes one series' points in `[from, to]` (inclusive): every dimension of the stream equal to the
 * series' value (`''` where the series has none, which matches a missing tag). `DELETE` names the measurement
 * alone (the database is the request's `db`) and deletes in every retention policy.
 *
 * @example
 * deleteSeriesQl(stream, { host: 'a' }, 1_000, 9_000);
 * // DELETE FROM "rate" WHERE time >= 1000000000 AND time <= 9000000000 AND ("host" = 'a')
 */
export function deleteSeriesQl(stream: Stream, dimensions: Record<string, string>, from: number, to: number): string {
  const filters = Object.fromEntries(stream.dimensions.map((d) => [d, [dimensions[d] ?? '']]));
  return `DELETE FROM ${measurementName(stream)} WHERE ${where(stream, { fields: [], from, to, toInclusive: true, filters })}`;
}

/** A delete predicate key: InfluxDB 2.x's predicate grammar takes bare identifiers, so no other name is sent. */
const PREDICATE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The `/api/v2/delete` body that deletes one series' points in `[from, to]` (inclusive) on InfluxDB 2.x, or
 * `undefined` when the predicate grammar cannot say it: a dimension name that is not a bare identifier, or a
 * series without a value for a dimension (a predicate matches a tag's value, not its absence).
 *
 * @example
 * deleteSeriesV2(stream, { host: 'a' }, 1_000, 9_000);
 * // { start: '1970-01-01T00:00:01.000Z', stop: '1970-01-01T00:00:09.000Z', predicate: '_measurement="rate" AND host="a"' }
 */
export function deleteSeriesV2(stream: Stream, dimensions: Record<string, string>, from: number, to: number): { start: string; stop: string; predicate: string } | undefined {
  measurementName(stream);
  const terms = [`_measurement="${stream.id}"`];
  for (const d of stream.dimensions) {
    const v = dimensions[d];
    if (!PREDICATE_KEY.test(d) || v === undefined || v === '' || UNSPELLABLE.test(v)) return undefined;
    terms.push(`${d}="${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
  }
  return { start: new Date(from).toISOString(), stop: new Date(to).toISOString(), predicate: terms.join(' AND ') };
}

/** The `/api/v2/delete` body that deletes a stream's every point on InfluxDB 2.x (the widest range it takes). */
export function deleteStreamV2(streamId: string): { start: string; stop: string; predicate: string } {
  measurementName({ id: streamId });
  return { start: '1677-09-21T00:12:43.145224194Z', stop: '2262-04-11T23:47:16.854775806Z', predicate: `_measurement="${streamId}"` };
}

/** Drops a stream's measurement, every series and point of it (`DROP MEASUREMENT` of one that is not there is no error). */
export function dropMeasurementQl(streamId: string): string {
  return `DROP MEASUREMENT ${measurementName({ id: streamId })}`;
}

function measurementName(stream: Pick<Stream, 'id'>): string {
  if (!STREAM_ID.test(stream.id)) throw new TypeError(`stream id ${JSON.stringify(stream.id)} is not a stream id`);
  return quoteIdent(stream.id);
}

/** `CREATE DATABASE` for InfluxDB 1.x (2.x and 3 map the database to a bucket the deployment creates). */
export function createDatabaseQl(target: InfluxTarget): string {
  return `CREATE DATABASE ${quoteIdent(target.database)}`;
}

/** The downsamplers InfluxQL computes as the contract does (`binsQl`); the others are computed from raw points. */
export const INFLUX_DOWNSAMPLERS = ['count', 'sum', 'mean', 'min', 'max', 'stddev'] as const;
export type InfluxDownsampler = (typeof INFLUX_DOWNSAMPLERS)[number];

/** What a bins select aggregates: a points select's range and filters, per epoch-aligned bin and groupBy tag. */
export interface BinsSelect extends PointsSelect {
  binMs: number;
  downsamplers: readonly InfluxDownsampler[];
  groupBy: readonly string[];
}

/** The column of one (field, downsampler) in a `binsQl` answer: `<field index>:<downsampler>`. */
export const binColumn = (fieldIndex: number, d: InfluxDownsampler): string => `${fieldIndex}:${d}`;

/** The column of a `binsQl` answer counting the bin's points (a bin whose points lack every field asked for still has a row). */
export const BIN_POINTS = 'points';

/**
 * Each epoch-aligned bin's aggregates, computed by InfluxDB (`GROUP BY time(<binMs>ms)`, whose buckets are
 * aligned to the epoch; `fill(none)` leaves out the bins without points), one series per groupBy tag set:
 * `count("$point")` as `points`, then each field's downsamplers as `"<field index>:<downsampler>"`.
 *
 * @example
 * binsQl(stream, { database: 'tributary' }, { fields: ['temp'], from: 0, to: 86_400_000, filters: {}, binMs: 3_600_000, downsamplers: ['mean'], groupBy: ['site'] });
 * // SELECT count("$point") AS "points", mean("temp") AS "0:mean" FROM "tributary".."climate" WHERE time >= 0 AND time < 86400000000000 GROUP BY time(3600000ms), "site" fill(none)
 */
export function binsQl(stream: Stream, target: InfluxTarget, s: BinsSelect): string {
  const fields = fieldIdents(stream, s.fields);
  const columns = [`count(${quoteIdent(POINT_MARKER)}) AS ${quoteIdent(BIN_POINTS)}`];
  fields.forEach((f, i) => {
    for (const d of s.downsamplers) {
      if (!(INFLUX_DOWNSAMPLERS as readonly string[]).includes(d)) throw new TypeError(`'${d}' is not a downsampler InfluxQL computes here`);
      columns.push(`${d}(${f}) AS ${quoteIdent(binColumn(i, d))}`);
    }
  });
  if (!Number.isSafeInteger(s.binMs) || s.binMs < 1) throw new TypeError(`bin ${s.binMs} ms is not a positive safe integer`);
  const groups = [`time(${integer(s.binMs)}ms)`, ...s.groupBy.map((d) => tagIdent(stream, d))];
  return `SELECT ${columns.join(', ')} FROM ${measurementOf(stream, target)} WHERE ${where(stream, s)} GROUP BY ${groups.join(', ')} fill(none)`;
}
