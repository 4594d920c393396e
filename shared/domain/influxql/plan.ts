import { BadRequestError } from '../errors';
import { DOWNSAMPLERS, GRANULARITIES, MAX_LIMIT, NUMERIC_DOWNSAMPLERS, type DataQuery, type Downsampler, type Granularity, type Row } from '../query';
import type { Value } from '../validate-record';
import type { Stream } from '../stream-definition';
import { measureFields } from '../stream-names';
import type { Condition, Fill, Operand, Select } from './ast';
import { literalAlternation, matchesLiteral, type LiteralAlternation } from './regex';

/**
 * Maps a parsed InfluxQL statement onto Tributary's typed query: measurement = stream, fields = the
 * schema's measures, tags = its dimensions, `GROUP BY time(…)` = the bin, functions = downsamplers. Every
 * name is checked against the stream; what the store receives is a `DataQuery`, never text.
 *
 * @example
 * const plan = planSelect(parseInfluxQL(q)[0] as Select, stream, Date.now());
 * const rows = await store.query(stream, plan.query);
 */

/** One output column of a SELECT: its InfluxDB name and where its value comes from. */
export interface OutputColumn {
  name: string;
  field: string;
  /** Undefined for a raw field and for `percentile`. */
  downsampler?: Downsampler;
  /** `percentile("f", N)`'s N: computed from the raw points (no store downsampler has it). */
  percentile?: number;
}

export interface SelectPlan {
  /** The bins (and for raw fields, the points) of the answer. */
  query: DataQuery;
  /** Set when a column needs the raw points (`percentile`): read these and bin them with `aggregateRaw`. */
  rawQuery?: DataQuery;
  columns: OutputColumn[];
  fill: Fill;
  /** `LIMIT n`: points per series. */
  limit?: number;
}

/** Where InfluxDB's default range ends when a query gives no upper bound: now (for GROUP BY time). */
export interface TimeAndTags {
  start?: number;
  end?: number;
  /** Tag → accepted values (equality or `/^(a|b)$/`). */
  filters: Record<string, string[]>;
  /** Tag patterns that are not exact values (`/(?i)text/`), checked in memory by SHOW TAG VALUES. */
  patterns: Record<string, LiteralAlternation>;
}

const FUNCTIONS = new Set<string>(DOWNSAMPLERS);
/** Bins a single series may span before the answer is refused (InfluxDB's max-select-buckets, bounded). */
export const MAX_BINS = 100_000;

/** Reads a WHERE clause as conjuncts of time bounds and tag filters; anything else is a 400. */
export function readCondition(where: Condition | undefined, stream: Stream, now: number): TimeAndTags {
  const out: TimeAndTags = { filters: {}, patterns: {} };
  if (!where) return out;
  for (const c of conjuncts(where)) {
    if (c.kind === 'or') {
      const { tag, values } = orOfEqualities(c, stream);
      intersect(out, tag, values);
      continue;
    }
    if (c.kind !== 'compare') continue;
    if (c.left.kind === 'time' || c.right.kind === 'time') {
      timeBound(out, c, now);
      continue;
    }
    if (c.left.kind !== 'ident') throw new BadRequestError('WHERE compares a tag (left) with a value (right), or time with a time');
    const tag = tagName(c.left.name, stream);
    if (c.op === '=' && c.right.kind === 'string') intersect(out, tag, [c.right.value]);
    else if (c.op === '=~' && c.right.kind === 'regex') {
      const p = literalAlternation(c.right.source);
      if (!p.values) continue;
      if (p.anchored && !p.ignoreCase) intersect(out, tag, p.values);
      else out.patterns[tag] = p;
    } else throw new BadRequestError(`WHERE "${tag}" ${c.op} …: Tributary filters tags with = 'value' and =~ /^(a|b)$/ only`);
  }
  return out;
}

function conjuncts(c: Condition): Condition[] {
  return c.kind === 'and' ? [...conjuncts(c.left), ...conjuncts(c.right)] : [c];
}

function disjuncts(c: Condition): Condition[] {
  return c.kind === 'or' ? [...disjuncts(c.left), ...disjuncts(c.right)] : [c];
}

/** Grafana's `("host" = 'a' OR "host" = 'b')`: one tag, several values. */
function orOfEqualities(c: Condition, stream: Stream): { tag: string; values: string[] } {
  let tag: string | undefined;
  const values: string[] = [];
  for (const d of disjuncts(c)) {
    if (d.kind !== 'compare' || d.op !== '=' || d.left.kind !== 'ident' || d.right.kind !== 'string') {
      throw new BadRequestError("OR joins only equalities of one tag, as in (\"host\" = 'a' OR \"host\" = 'b')");
    }
    const t = tagName(d.left.name, stream);
    if (tag !== undefined && t !== tag) throw new BadRequestError('OR joins only equalities of one tag');
    tag = t;
    values.push(d.right.value);
  }
  return { tag: tag!, values };
}

function intersect(out: TimeAndTags, tag: string, values: string[]): void {
  const prior = out.filters[tag];
  const next = prior ? values.filter((v) => prior.includes(v)) : [...new Set(values)];
  // no value can match both: a filter that keeps nothing (an empty list is refused by the stores)
  out.filters[tag] = next;
}

function tagName(name: string, stream: Stream): string {
  if (stream.dimensions.includes(name)) return name;
  if (measureFields(stream).includes(name)) throw new BadRequestError(`WHERE on field "${name}" is not supported; filter on tags (${stream.dimensions.join(', ') || 'none'})`);
  throw new BadRequestError(`"${name}" is not a tag of measurement "${stream.id}" (${stream.dimensions.join(', ') || 'no tags'})`);
}

function timeBound(out: TimeAndTags, c: Extract<Condition, { kind: 'compare' }>, now: number): void {
  const flipped = c.left.kind !== 'time';
  const other = flipped ? c.left : c.right;
  const ms = timeValue(other, now);
  const op = flipped ? ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[c.op] : c.op;
  // ranges are half-open [start, end): `time <= t` ends just after t, `time > t` starts just after it
  if (op === '>=') out.start = Math.max(out.start ?? -Infinity, ms);
  else if (op === '>') out.start = Math.max(out.start ?? -Infinity, ms + 1);
  else if (op === '<=') out.end = Math.min(out.end ?? Infinity, ms + 1);
  else if (op === '<') out.end = Math.min(out.end ?? Infinity, ms);
  else throw new BadRequestError(`time ${c.op} …: compare time with >, >=, < or <=`);
}

function timeValue(o: Operand, now: number): number {
  switch (o.kind) {
    case 'duration':
      return Math.floor(o.ms);
    // a bare integer is nanoseconds since the epoch, as InfluxDB reads it
    case 'number':
      return Math.floor(o.value / 1e6);
    case 'now':
      return now + o.offsetMs;
    case 'string': {
      const t = Date.parse(o.value);
      if (Number.isNaN(t)) throw new BadRequestError(`'${o.value.slice(0, 40)}' is not a time`);
      return t;
    }
    default:
      throw new BadRequestError('time is compared with a time: 1700000000000ms, now() - 6h or an RFC 3339 string');
  }
}

/** The SELECT as a `DataQuery` over `stream`, and the columns of its answer. */
export function planSelect(stmt: Select, stream: Stream, now: number): SelectPlan {
  const { start, end, filters, patterns } = readCondition(stmt.where, stream, now);
  if (Object.keys(patterns).length) throw new BadRequestError('SELECT filters tags with = or an anchored /^(a|b)$/ only');
  const rangeEnd = Math.min(end ?? now, 8.64e15);
  const rangeStart = Math.max(start ?? rangeEnd - 3_600_000, -8.64e15);
  if (!(rangeStart < rangeEnd)) throw new BadRequestError('the time range is empty: its start is not before its end');
  const measures = measureFields(stream);
  for (const g of stmt.groupBy) if (!stream.dimensions.includes(g)) throw new BadRequestError(`GROUP BY "${g}": not a tag of measurement "${stream.id}" (${stream.dimensions.join(', ') || 'no tags'})`);

  const aggregated = stmt.fields.some((f) => f.fn !== undefined);
  if (aggregated && stmt.fields.some((f) => f.fn === undefined)) throw new BadRequestError('mixing aggregate functions and raw fields is not supported');
  const columns: OutputColumn[] = [];
  const seen = new Map<string, number>();
  const name = (base: string) => {
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  };
  for (const f of stmt.fields) {
    const fields = f.field === '*' ? measures : [f.field];
    for (const field of fields) {
      if (!measures.includes(field)) throw new BadRequestError(`"${field}" is not a field of measurement "${stream.id}" (${measures.join(', ')})`);
      if (f.fn === undefined) {
        columns.push({ name: name(f.alias ?? field), field });
        continue;
      }
      if (f.fn === 'percentile') {
        const type = stream.schema[field]?.type;
        if (type !== 'number' && type !== 'integer') throw new BadRequestError(`percentile("${field}"): the field is ${type}, not a number`);
        if (f.arg === undefined || !(f.arg >= 0 && f.arg <= 100)) throw new BadRequestError('percentile("field", N) needs N from 0 to 100');
        columns.push({ name: name(f.alias ?? 'percentile'), field, percentile: f.arg });
        continue;
      }
      if (!FUNCTIONS.has(f.fn)) throw new BadRequestError(`${f.fn}() is not supported; use one of ${DOWNSAMPLERS.join(', ')}, percentile`);
      const d = f.fn as Downsampler;
      const type = stream.schema[field]?.type;
      if (NUMERIC_DOWNSAMPLERS.has(d) && type !== 'number' && type !== 'integer') throw new BadRequestError(`${d}("${field}"): the field is ${type}, not a number`);
      columns.push({ name: name(f.alias ?? (f.field === '*' ? `${d}_${field}` : d)), field, downsampler: d });
    }
  }

  const common = { start: rangeStart, end: rangeEnd, fields: [...new Set(columns.map((c) => c.field))], filters, groupBy: stmt.groupBy, limit: MAX_LIMIT, order: stmt.order };
  if (!aggregated) {
    if (stmt.interval !== undefined) throw new BadRequestError('GROUP BY time(…) needs an aggregate function, e.g. mean("value")');
    if (stmt.groupBy.length) throw new BadRequestError('GROUP BY a tag without GROUP BY time(…) is not supported for raw fields');
    const query: DataQuery = { ...common, granularity: 'raw', binMs: 0, downsamplers: [], keyDimensions: [...stream.dimensions], groupBy: [] };
    return { query, columns, fill: stmt.fill, ...(stmt.limit !== undefined && { limit: stmt.limit }) };
  }
  if (stmt.interval === undefined) throw new BadRequestError('an aggregate needs GROUP BY time(…), as Grafana writes it: GROUP BY time($__interval)');
  const binMs = stmt.interval;
  if (!Number.isSafeInteger(binMs) || binMs < 1) throw new BadRequestError('GROUP BY time(…) needs an interval of at least 1ms');
  if ((rangeEnd - rangeStart) / binMs > MAX_BINS) throw new BadRequestError(`GROUP BY time(${binMs}ms) makes more than ${MAX_BINS} points per series over this range; use a longer interval`);
  if (stmt.fill.kind === 'linear') throw new BadRequestError('fill(linear) is not supported; use null, none, previous or a number');
  const query: DataQuery = {
    ...common,
    granularity: nearestGranularity(binMs),
    binMs,
    downsamplers: [...new Set(columns.flatMap((c) => (c.downsampler ? [c.downsampler] : [])))],
    keyDimensions: stmt.groupBy,
  };
  const rawQuery: DataQuery | undefined = columns.some((c) => c.percentile !== undefined)
    ? { ...common, granularity: 'raw', binMs: 0, downsamplers: [], keyDimensions: [...stream.dimensions], groupBy: [], order: 'asc' }
    : undefined;
  return { query, ...(rawQuery && { rawQuery }), columns, fill: stmt.fill, ...(stmt.limit !== undefined && { limit: stmt.limit }) };
}

/** The query model's label for a bin; the stores bin by `binMs`, so any width Grafana picks is exact. */
function nearestGranularity(binMs: number): Granularity {
  let best: Granularity = '1s';
  for (const [label, ms] of Object.entries(GRANULARITIES)) if (ms <= binMs) best = label as Granularity;
  return best;
}

/**
 * Bins raw points as `plan.query` says (UTC-aligned bins of `binMs`, one group per GROUP BY tags) and computes
 * each column there: InfluxDB's nearest-rank `percentile`, and the store's downsamplers for the others. A row's
 * `values` are keyed by column name.
 *
 * @example
 * const rows = aggregateRaw(plan, rawRows); // [{ time, dimensions: { host: 'a' }, values: { percentile: 9.5 } }]
 */
export function aggregateRaw(plan: SelectPlan, raw: Row[]): Row[] {
  const { binMs, groupBy } = plan.query;
  const bins = new Map<string, { time: number; dimensions: Record<string, string>; rows: Row[] }>();
  for (const r of raw) {
    const time = Math.floor(r.time / binMs) * binMs;
    const dimensions = Object.fromEntries(groupBy.map((g) => [g, r.dimensions[g] ?? '']));
    const key = JSON.stringify([time, ...groupBy.map((g) => dimensions[g])]);
    let bin = bins.get(key);
    if (!bin) bins.set(key, (bin = { time, dimensions, rows: [] }));
    bin.rows.push(r);
  }
  const out = [...bins.values()]
    .sort((a, b) => a.time - b.time)
    .map(({ time, dimensions, rows }) => ({ time, dimensions, values: Object.fromEntries(plan.columns.map((c) => [c.name, compute(c, rows)])) }));
  return plan.query.order === 'desc' ? out.reverse() : out;
}

function compute(c: OutputColumn, rows: Row[]): Value | null {
  const present = rows.filter((r) => r.values[c.field] !== null && r.values[c.field] !== undefined).sort((a, b) => a.time - b.time);
  if (!present.length) return null;
  if (c.downsampler === 'first') return present[0]!.values[c.field] as Value;
  if (c.downsampler === 'last') return present[present.length - 1]!.values[c.field] as Value;
  if (c.downsampler === 'count') return present.length;
  const xs = present.map((r) => Number(r.values[c.field]));
  if (c.percentile !== undefined) {
    const sorted = [...xs].sort((a, b) => a - b);
    const i = Math.floor((sorted.length * c.percentile) / 100 + 0.5) - 1;
    return i < 0 || i >= sorted.length ? null : sorted[i]!;
  }
  const sum = xs.reduce((a, b) => a + b, 0);
  switch (c.downsampler) {
    case 'sum':
      return sum;
    case 'min':
      return Math.min(...xs);
    case 'max':
      return Math.max(...xs);
    case 'stddev': {
      if (xs.length < 2) return null;
      const mean = sum / xs.length;
      return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
    }
    default:
      return sum / xs.length;
  }
}

export { matchesLiteral };
