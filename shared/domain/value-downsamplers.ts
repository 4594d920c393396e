import { BadRequestError, type Issue } from './errors';
import { queryBinStart } from './granularity';
import type { DataQuery } from './query';
import type { Stream } from './stream-definition';
import { measureFields } from './stream-names';
import { VALUE_DOWNSAMPLER_KEYS, VALUE_DOWNSAMPLERS, type ValueDownsampler } from './value-downsampler-names';

export { VALUE_DOWNSAMPLER_KEYS, VALUE_DOWNSAMPLERS, ValueDownsamplersSchema, type ValueDownsampler } from './value-downsampler-names';
import type { Value } from './validate-record';

/**
 * The datastream document's value and time downsamplers, computed per query bin from raw points: what
 * `GET …/data?valueDownsamplers=…&timeDownsamplers=…` answers, with the document's one-letter keys when
 * `keys=short` is asked.
 *
 * @example
 * valueDownsample('most_often', ['a', 'b', 'a']); // 'a'
 */

/** The value downsamplers of nominal values (strings, booleans, enums); the others need numbers. */
export const NOMINAL_DOWNSAMPLERS: ReadonlySet<ValueDownsampler> = new Set(['count', 'most_often', 'least_often', 'frequencies']);

/** Each time downsampler and its one-letter key: the mean, first and last timestamp of a bin's points. */
export const TIME_DOWNSAMPLER_KEYS = { mean: 'm', first: 'a', last: 'z' } as const;
export type TimeDownsampler = keyof typeof TIME_DOWNSAMPLER_KEYS;
export const TIME_DOWNSAMPLERS = Object.keys(TIME_DOWNSAMPLER_KEYS) as [TimeDownsampler, ...TimeDownsampler[]];

/** Distinct values `frequencies` lists, most frequent first; the rest are counted together in `other`. */
export const MAX_FREQUENCIES = 100;

/** `frequencies`: each value's count (values as their JSON text), and how many points had values left out. */
export interface Frequencies {
  counts: Record<string, number>;
  other: number;
}
export type DownsampledValue = number | string | boolean | Frequencies | null;

const keyOf = (v: Value): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Values by count, most frequent first; ties in the order the values first appeared. */
function tally(values: readonly Value[]): { value: Value; count: number }[] {
  const counts = new Map<string, { value: Value; count: number }>();
  for (const v of values) {
    const k = keyOf(v);
    const entry = counts.get(k);
    if (entry) entry.count++;
    else counts.set(k, { value: v, count: 1 });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count);
}

/**
 * One value downsampler of one bin's values (nulls already left out). Numeric downsamplers read only numbers;
 * `std_dev` is the population standard deviation, `sqrt(q/c - (s/c)²)`, as the document's sums give it.
 *
 * @example
 * valueDownsample('std_dev', [2, 4, 4, 4, 5, 5, 7, 9]); // 2
 */
export function valueDownsample(d: ValueDownsampler, values: readonly Value[]): DownsampledValue {
  const numbers = values.filter((v): v is number => typeof v === 'number');
  const n = numbers.length;
  const sum = numbers.reduce((a, b) => a + b, 0);
  const squares = numbers.reduce((a, b) => a + b * b, 0);
  switch (d) {
    case 'count':
      return values.length;
    case 'sum':
      return n ? sum : null;
    case 'mean':
      return n ? sum / n : null;
    case 'min':
      return n ? numbers.reduce((a, b) => (b < a ? b : a)) : null;
    case 'max':
      return n ? numbers.reduce((a, b) => (b > a ? b : a)) : null;
    case 'sum_squares':
      return n ? squares : null;
    case 'std_dev': {
      if (!n) return null;
      const mean = sum / n;
      return Math.sqrt(numbers.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
    }
    case 'most_often':
      return values.length ? (tally(values)[0]!.value as DownsampledValue) : null;
    case 'least_often': {
      const t = tally(values);
      if (!t.length) return null;
      const fewest = t[t.length - 1]!.count;
      // ties: the value seen first among the rarest
      return t.find((e) => e.count === fewest)!.value as DownsampledValue;
    }
    case 'frequencies': {
      const t = tally(values);
      const counts: Record<string, number> = {};
      for (const e of t.slice(0, MAX_FREQUENCIES)) counts[keyOf(e.value)] = e.count;
      return { counts, other: t.slice(MAX_FREQUENCIES).reduce((a, e) => a + e.count, 0) };
    }
  }
}

/** What a document-downsampled query asks: the value and time downsamplers, and whether keys are short. */
export interface DocumentDownsampling {
  value: ValueDownsampler[];
  time: TimeDownsampler[];
  short: boolean;
}

/** One bin as the answer shapes it: `values` per field per downsampler, `times` (or `t`) per time downsampler. */
export interface DocumentBin {
  time: number;
  dimensions: Record<string, string>;
  values: Record<string, Record<string, DownsampledValue>>;
  times?: Record<string, string>;
}

/**
 * The bins of `q` (its granularity, `groupBy` and order) computed from raw points in time order: for each
 * field the value downsamplers asked, for each bin the time downsamplers asked (RFC 3339; the mean rounded to
 * the millisecond). Empty bins are not returned.
 *
 * @example
 * documentBins(q, { value: ['mean'], time: ['first'], short: true }, points);
 * // [{ time, dimensions: {}, values: { temp: { m: 3 } }, times: { a: '2012-07-31T12:23:00.000Z' } }]
 */
export function documentBins(
  q: DataQuery,
  ask: DocumentDownsampling,
  points: readonly { time: number; dimensions: Record<string, string>; values: Record<string, Value | null | unknown> }[],
): DocumentBin[] {
  const bins = new Map<string, { time: number; dimensions: Record<string, string>; points: typeof points[number][] }>();
  for (const p of points) {
    const time = queryBinStart(q, p.time);
    const dims = q.groupBy.map((g) => p.dimensions[g] ?? '');
    const id = JSON.stringify([time, dims]);
    let bin = bins.get(id);
    if (!bin) {
      const dimensions: Record<string, string> = {};
      q.groupBy.forEach((g, i) => dims[i] !== '' && (dimensions[g] = dims[i]!));
      bins.set(id, (bin = { time, dimensions, points: [] }));
    }
    bin.points.push(p);
  }
  return [...bins.values()].map((b) => {
    const values: DocumentBin['values'] = {};
    for (const f of q.fields) {
      const vs = b.points.map((p) => p.values[f]).filter((v): v is Value => v !== null && v !== undefined);
      const out: Record<string, DownsampledValue> = {};
      for (const d of ask.value) out[ask.short ? VALUE_DOWNSAMPLER_KEYS[d] : d] = valueDownsample(d, vs);
      values[f] = out;
    }
    const bin: DocumentBin = { time: b.time, dimensions: b.dimensions, values };
    if (ask.time.length) {
      const ts = b.points.map((p) => p.time);
      const at: Record<TimeDownsampler, number> = { first: Math.min(...ts), last: Math.max(...ts), mean: Math.round(ts.reduce((a, t) => a + t, 0) / ts.length) };
      bin.times = Object.fromEntries(ask.time.map((d) => [ask.short ? TIME_DOWNSAMPLER_KEYS[d] : d, new Date(at[d]).toISOString()]));
    }
    return bin;
  });
}

/** The document's value downsamplers that are Tributary's own, by the same name: a store (and its rollups) answers them. */
const STORE_DOWNSAMPLERS: ReadonlySet<ValueDownsampler> = new Set(['mean', 'sum', 'min', 'max', 'count']);

/**
 * Tributary's `downsamplers` for a document-downsampled query the store answers itself (reading stored rollups
 * where they tile the query): only value downsamplers of the same name (mean, sum, min, max, count) and no
 * time downsamplers; `undefined` when the query needs the raw points.
 *
 * @example
 * storeDownsamplers({ value: ['mean', 'max'], time: [], short: true }); // ['mean', 'max']
 */
export function storeDownsamplers(ask: DocumentDownsampling): string[] | undefined {
  return ask.time.length === 0 && ask.value.every((d) => STORE_DOWNSAMPLERS.has(d)) ? [...ask.value] : undefined;
}

/** The one-letter keys of Tributary's own downsamplers where the document has one (`keys=short`); the others keep their names. */
export const SHORT_KEYS: Readonly<Record<string, string>> = { mean: 'm', sum: 's', min: 'l', max: 'u', count: 'c', stddev: 'd' };

type Params = Record<string, string | undefined>;
const list = (v: string | undefined) => (v === undefined ? [] : v.split(',').map((s) => s.trim()).filter(Boolean));

/**
 * The document's downsampling a `/data` query asks (`valueDownsamplers`, `timeDownsamplers`, `keys`), or
 * `undefined` when it asks none; with the measure fields it applies to (all of them when every value
 * downsampler asked is nominal, else the numeric ones, unless `fields` names them). Throws a `BadRequestError`
 * naming each bad parameter: an unknown downsampler, one the stream does not keep, a numeric one of a nominal field.
 *
 * @example
 * parseDocumentDownsampling(stream, { granularity: 'hours', valueDownsamplers: 'mean,most_often', keys: 'short' });
 */
export function parseDocumentDownsampling(stream: Stream, params: Params): (DocumentDownsampling & { fields: string[] }) | undefined {
  const issues: Issue[] = [];
  const bad = (param: string, message: string) => issues.push({ path: [param], message });
  if (params.keys !== undefined && params.keys !== 'short' && params.keys !== 'long') bad('keys', 'must be short or long');
  if (params.valueDownsamplers === undefined && params.timeDownsamplers === undefined) {
    if (issues.length) throw new BadRequestError('Invalid query parameters.', issues);
    return undefined;
  }
  const value = list(params.valueDownsamplers) as ValueDownsampler[];
  const time = list(params.timeDownsamplers) as TimeDownsampler[];
  for (const d of value) if (!Object.hasOwn(VALUE_DOWNSAMPLER_KEYS, d)) bad('valueDownsamplers', `'${d}' is not one of ${VALUE_DOWNSAMPLERS.join(', ')}`);
  for (const d of time) if (!Object.hasOwn(TIME_DOWNSAMPLER_KEYS, d)) bad('timeDownsamplers', `'${d}' is not one of ${TIME_DOWNSAMPLERS.join(', ')}`);
  if (new Set(value).size !== value.length) bad('valueDownsamplers', 'names a downsampler twice');
  if (new Set(time).size !== time.length) bad('timeDownsamplers', 'names a downsampler twice');
  const kept = stream.valueDownsamplers;
  const unkept = kept ? value.filter((d) => Object.hasOwn(VALUE_DOWNSAMPLER_KEYS, d) && !kept.includes(d)) : [];
  if (unkept.length) bad('valueDownsamplers', `the stream keeps ${kept!.join(', ')}, not ${unkept.join(', ')}`);
  const granularity = params.granularity ?? 'raw';
  if (granularity === 'raw') bad('granularity', 'valueDownsamplers and timeDownsamplers need a granularity other than raw');
  if (params.downsamplers !== undefined) bad('downsamplers', 'give downsamplers or valueDownsamplers, not both');
  if (params.window !== undefined) bad('window', 'valueDownsamplers and timeDownsamplers apply to a granularity, not a window');

  const measures = measureFields(stream);
  const numeric = (f: string) => stream.schema[f]?.type === 'number' || stream.schema[f]?.type === 'integer';
  const numericOnly = value.filter((d) => Object.hasOwn(VALUE_DOWNSAMPLER_KEYS, d) && !NOMINAL_DOWNSAMPLERS.has(d));
  const named = list(params.fields);
  const fields = named.length ? named : numericOnly.length ? measures.filter(numeric) : measures;
  for (const f of named) {
    if (measures.includes(f) && !numeric(f) && numericOnly.length) {
      bad('valueDownsamplers', `'${f}' is ${stream.schema[f]?.type}, nominal: it takes ${[...NOMINAL_DOWNSAMPLERS].join(', ')}, not ${numericOnly.join(', ')}`);
    }
  }
  if (!named.length && numericOnly.length && fields.length === 0 && measures.length) bad('valueDownsamplers', `${numericOnly.join(', ')} need a number or integer field; the stream has none`);
  if (issues.length) throw new BadRequestError('Invalid query parameters.', issues);
  return { value, time, short: params.keys === 'short', fields };
}

/**
 * A downsampled answer's values with the document's one-letter keys (`keys=short`): `{temp: {mean, max}}`
 * becomes `{temp: {m, u}}`; a downsampler without a key in the document (`first`, `p95`, …) keeps its name.
 *
 * @example
 * shortKeys({ temp: { mean: 3, count: 2 } }); // { temp: { m: 3, c: 2 } }
 */
export function shortKeys(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([f, v]) => [f, v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([d, x]) => [SHORT_KEYS[d] ?? d, x])) : v]),
  );
}
