import * as z from 'zod';
import type { QueryDownsampler } from './granularity';
import { parseWindow, type QueryWindow } from './query-window';
import { FIELD_NAME, MAX_MEASURES, measureFields, STREAM_ID, type FieldType } from './stream-names';

/**
 * Continuous windows, the Live Data Handler's `processing.windows`: each window of a stream is computed by the
 * writer as data arrives and kept in a stream of its own, `{source id}-{window name}`, created with the source
 * and deleted with it. Its series are the window's `groupBy` dimensions (the source's dimensions by default),
 * its points the windows (at each window's start), its fields `{field}_{aggregation}`, so it is queried,
 * charted, subscribed to and alerted on like any stream. The writer recomputes, per batch and series, the
 * windows the batch's times fall in, so late data updates them.
 *
 * @example
 * const [w] = WindowsSchema.parse([{ type: 'sliding', size: '5m', slide: '1m', metrics: ['trend'] }]);
 * windowDefs([w], source); // [{ name: 'sliding-5m-1m', type: 'sliding', size: '5m', step: '1m', aggregations: ['trend'], fields: ['temperature'], groupBy: ['deviceId'], streamId: 'freezers-sliding-5m-1m' }]
 */

/** Windows a stream may have: each is a stream the writer feeds per batch. */
export const MAX_WINDOWS = 10;

const Length = z.string().min(2).max(12);
const Names = z.array(z.string().regex(FIELD_NAME, 'must be a field name')).max(32);

/** One window as the Live Data Handler writes it (`metrics`, `slide`) or as Tributary names it (`aggregations`, `step`). */
export const WindowInputSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,29}$/, 'must be 1-30 of a-z 0-9 - and start with a letter or digit').optional(),
  type: z.enum(['tumbling', 'sliding', 'session']),
  size: Length.optional(),
  slide: Length.optional(),
  step: Length.optional(),
  gap: Length.optional(),
  metrics: z.array(z.string().min(1).max(32)).min(1).max(16).optional(),
  aggregations: z.array(z.string().min(1).max(32)).min(1).max(16).optional(),
  fields: Names.min(1).optional(),
  measures: Names.min(1).optional(),
  groupBy: Names.optional(),
  percentiles: z.array(z.union([z.literal(50), z.literal(90), z.literal(95), z.literal(99)])).min(1).max(4).optional(),
});
export type WindowInput = z.output<typeof WindowInputSchema>;
export const WindowsSchema = z.array(WindowInputSchema).max(MAX_WINDOWS);

/** A window as stored on its source and on its window stream (`deriveArgs.window`). */
export interface WindowDef {
  name: string;
  type: QueryWindow['kind'];
  size?: string;
  step?: string;
  gap?: string;
  /** The query downsamplers computed per window (`avg` is `mean`). */
  aggregations: QueryDownsampler[];
  fields: string[];
  groupBy: string[];
  /** The stream the window's points are written to. */
  streamId: string;
}

/** The documents' words for the aggregations; `percentile` is each of `percentiles` (50, 95 and 99 unless given). */
const AGGREGATION_WORDS: Readonly<Record<string, QueryDownsampler>> = {
  avg: 'mean',
  average: 'mean',
  mean: 'mean',
  min: 'min',
  max: 'max',
  sum: 'sum',
  count: 'count',
  stddev: 'stddev',
  first: 'first',
  last: 'last',
  trend: 'trend',
  median: 'p50',
  p50: 'p50',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99',
};

/** The column suffix of each downsampler: the documents' `avg` for the mean. */
const SUFFIX: Readonly<Record<QueryDownsampler, string>> = {
  mean: 'avg',
  min: 'min',
  max: 'max',
  sum: 'sum',
  count: 'count',
  stddev: 'stddev',
  first: 'first',
  last: 'last',
  trend: 'trend',
  p50: 'p50',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99',
};

/** A session window's extra columns: its last point's time (epoch ms) and its point count. */
export const SESSION_END = 'window_end';
export const SESSION_POINTS = 'window_points';

type Report = (path: (string | number)[], message: string) => void;
interface SourceShape {
  schema: Record<string, { type: FieldType }>;
  timeField: string;
  dimensions: string[];
}

const isNumeric = (t: FieldType | undefined) => t === 'number' || t === 'integer';

/** The sliding step the document leaves out (`size: "5m"` alone): the longest of 1m, 30s, 10s, 1s shorter than the size and dividing it. */
function defaultStep(sizeMs: number): string | undefined {
  for (const [text, ms] of [['1m', 60_000], ['30s', 30_000], ['10s', 10_000], ['1s', 1_000]] as const) if (ms < sizeMs && sizeMs % ms === 0) return text;
  return undefined;
}

/** The window's query form (`sliding:5m/1m`), from a stored definition. */
export function windowText(w: Pick<WindowDef, 'type' | 'size' | 'step' | 'gap'>): string {
  return w.type === 'tumbling' ? `tumbling:${w.size}` : w.type === 'sliding' ? `sliding:${w.size}/${w.step}` : `session:${w.gap}`;
}

/** The window's lengths in milliseconds, from a stored (checked) definition. */
export function queryWindowOf(w: WindowDef): QueryWindow {
  const parsed = parseWindow(windowText(w));
  if ('message' in parsed) throw new TypeError(`window '${w.name}' is not valid: ${parsed.message}`);
  return parsed.window;
}

/** The column a field's downsampler is written to; `trend` also writes `{field}_trend_r2`. */
export const windowColumn = (field: string, d: QueryDownsampler) => `${field}_${SUFFIX[d]}`;

/** Every column of a window, in order, with its type. */
export function windowColumns(w: Pick<WindowDef, 'type' | 'fields' | 'aggregations'>): [string, FieldType][] {
  const out: [string, FieldType][] = [];
  for (const f of w.fields) {
    for (const d of w.aggregations) {
      out.push([windowColumn(f, d), d === 'count' ? 'integer' : 'number']);
      if (d === 'trend') out.push([`${windowColumn(f, d)}_r2`, 'number']);
    }
  }
  if (w.type === 'session') out.push([SESSION_END, 'integer'], [SESSION_POINTS, 'integer']);
  return out;
}

/** The id of a window's stream: the source id, cut so that the whole fits a stream id, then the window's name. */
export const windowStreamId = (sourceId: string, name: string) => `${sourceId.slice(0, 63 - name.length).replace(/-+$/, '')}-${name}`;

/**
 * Checks the windows against the stream they belong to, reporting each problem at its path (`windows.0.size`),
 * and returns them in their stored form (the window stream ids need the source's id: see `withStreamIds`).
 */
export function checkWindows(windows: WindowInput[], s: SourceShape, report: Report): Omit<WindowDef, 'streamId'>[] {
  const measures = measureFields(s);
  const names = new Set<string>();
  const out: Omit<WindowDef, 'streamId'>[] = [];
  windows.forEach((w, i) => {
    const at = (...p: (string | number)[]) => ['windows', i, ...p];
    const before = out.length;
    let bad = false;
    const issue = (path: (string | number)[], message: string) => {
      bad = true;
      report(path, message);
    };
    if (w.slide !== undefined && w.step !== undefined) issue(at('step'), 'give slide or step, not both');
    if (w.metrics !== undefined && w.aggregations !== undefined) issue(at('aggregations'), 'give metrics or aggregations, not both');
    if (w.fields !== undefined && w.measures !== undefined) issue(at('measures'), 'give fields or measures, not both');
    let step = w.step ?? w.slide;
    if (w.type === 'session') {
      if (w.gap === undefined) issue(at(w.size !== undefined ? 'size' : 'gap'), 'a session window takes gap (a new session after that long without a point), e.g. "10m"');
      for (const k of ['size', 'slide', 'step'] as const) if (w[k] !== undefined && w.gap !== undefined) issue(at(k), 'a session window takes only gap');
    } else {
      if (w.size === undefined) issue(at('size'), `a ${w.type} window takes size, e.g. "1m"`);
      if (w.gap !== undefined) issue(at('gap'), 'only a session window takes gap');
      if (w.type === 'tumbling' && step !== undefined) issue(at(w.step !== undefined ? 'step' : 'slide'), 'a tumbling window takes only size (a sliding window takes slide)');
    }
    if (!bad) {
      if (w.type === 'sliding' && step === undefined) {
        const sizeMs = parseWindow(`tumbling:${w.size}`);
        step = 'window' in sizeMs && 'sizeMs' in sizeMs.window ? defaultStep(sizeMs.window.sizeMs) : undefined;
        if (step === undefined) issue(at('slide'), 'give slide, the step between windows; it must divide size');
      }
    }
    if (!bad) {
      const text = w.type === 'tumbling' ? `tumbling:${w.size}` : w.type === 'sliding' ? `sliding:${w.size}/${step}` : `session:${w.gap}`;
      const parsed = parseWindow(text);
      if ('message' in parsed) issue(at(w.type === 'session' ? 'gap' : /step|slide/.test(parsed.message) ? (w.step !== undefined ? 'step' : 'slide') : 'size'), parsed.message);
    }
    const words = w.metrics ?? w.aggregations ?? ['avg', 'min', 'max', 'count'];
    const wordsKey = w.metrics !== undefined ? 'metrics' : 'aggregations';
    const aggregations: QueryDownsampler[] = [];
    words.forEach((word, j) => {
      const list: QueryDownsampler[] | undefined =
        word === 'percentile' ? (w.percentiles ?? [50, 95, 99]).map((p) => `p${p}` as QueryDownsampler) : Object.hasOwn(AGGREGATION_WORDS, word) ? [AGGREGATION_WORDS[word]!] : undefined;
      if (!list) issue(at(wordsKey, j), `'${word}' is not an aggregation of a window (${[...Object.keys(AGGREGATION_WORDS), 'percentile'].join(', ')})`);
      else for (const d of list) if (!aggregations.includes(d)) aggregations.push(d);
    });
    if (w.percentiles !== undefined && !words.includes('percentile')) issue(at('percentiles'), "applies with the aggregation 'percentile'");
    const fieldsKey = w.measures !== undefined ? 'measures' : 'fields';
    const fields = w.fields ?? w.measures ?? measures.filter((f) => isNumeric(s.schema[f]?.type));
    if (fields.length === 0) issue(at('fields'), 'the stream has no number or integer field to window: name one');
    fields.forEach((f, j) => {
      if (!measures.includes(f)) issue(at(fieldsKey, j), `'${f}' is not a measure field of the stream (${measures.join(', ') || 'none'})`);
      else if (!isNumeric(s.schema[f]?.type)) issue(at(fieldsKey, j), `'${f}' is ${s.schema[f]?.type}; a window aggregates number or integer fields`);
      else if (f.length + '_trend_r2'.length > 60) issue(at(fieldsKey, j), `'${f}' is too long to name its window columns ({field}_{aggregation}, at most 60 characters)`);
    });
    const groupBy = w.groupBy ?? [...s.dimensions];
    groupBy.forEach((g, j) => {
      if (!s.dimensions.includes(g)) issue(at('groupBy', j), `'${g}' is not a dimension of the stream (${s.dimensions.join(', ') || 'none'})`);
      else if (groupBy.indexOf(g) !== j) issue(at('groupBy', j), `'${g}' is listed twice`);
    });
    const name = w.name ?? (w.type === 'tumbling' ? `tumbling-${w.size}` : w.type === 'sliding' ? `sliding-${w.size}-${step}` : `session-${w.gap}`).toLowerCase();
    if (!STREAM_ID.test(name)) issue(at('name'), 'give the window a name of a-z 0-9 -');
    if (names.has(name)) issue(at('name'), `another window is named '${name}': name each window`);
    names.add(name);
    if (!bad && windowColumns({ type: w.type, fields, aggregations }).length > MAX_MEASURES) issue(at(wordsKey), `makes more than ${MAX_MEASURES} columns: fewer fields or aggregations`);
    if (bad || out.length !== before) return;
    out.push({
      name,
      type: w.type,
      ...(w.type !== 'session' && { size: w.size! }),
      ...(w.type === 'sliding' && { step: step! }),
      ...(w.type === 'session' && { gap: w.gap! }),
      aggregations,
      fields,
      groupBy,
    });
  });
  return out;
}

/** The stored windows of a source with id `sourceId`. */
export const withStreamIds = (sourceId: string, windows: Omit<WindowDef, 'streamId'>[]): WindowDef[] => windows.map((w) => ({ ...w, streamId: windowStreamId(sourceId, w.name) }));

/** What a window stream is made of: its dimensions and schema (the groupBy dimensions, typed as the source has them, and its columns). */
export function windowShape(source: SourceShape, w: WindowDef): { dimensions: string[]; schema: Record<string, { type: FieldType }> } {
  const schema: Record<string, { type: FieldType }> = Object.create(null);
  for (const d of w.groupBy) schema[d] = { type: source.schema[d]?.type ?? 'string' };
  for (const [name, type] of windowColumns(w)) schema[name] = { type };
  return { dimensions: [...w.groupBy], schema: { ...schema } };
}

/** A window stream's window (`deriveArgs.window`), or `undefined` for any other stream. */
export function windowOf(s: { deriveOp?: string; deriveArgs?: Record<string, unknown> }): WindowDef | undefined {
  return s.deriveOp === 'window' ? (s.deriveArgs?.window as WindowDef | undefined) : undefined;
}

/** What a window stream takes from its source. */
interface WindowSource extends SourceShape {
  id: string;
  name: string;
  type: string;
  tags: Record<string, unknown>;
  vaultId?: string;
}

/**
 * The stream a window of `source` is written to: derived from it (`deriveOp: 'window'`, the window in
 * `deriveArgs`), so every ingest path refuses appends to it and a delete of the source takes it along.
 *
 * @example
 * const streams = (source.windows ?? []).map((w) => windowStream(source, w, new Date()));
 */
export function windowStream<S extends WindowSource>(source: S, w: WindowDef, now: Date): {
  id: string; name: string; type: S['type']; schema: Record<string, { type: FieldType }>; timeField: string; dimensions: string[]; tags: S['tags']; validation: 'strict';
  deriveFrom: { stream: string; field: string }[]; deriveOp: 'window'; deriveArgs: { window: WindowDef }; state: 'active'; createdAt: string; updatedAt: string; version: number; vaultId?: string;
} {
  const at = now.toISOString();
  const { dimensions, schema } = windowShape(source, w);
  return {
    id: w.streamId,
    name: `${source.name} · ${w.type} ${w.type === 'sliding' ? `${w.size}/${w.step}` : (w.size ?? w.gap)}`.slice(0, 128),
    type: source.type,
    schema,
    timeField: 'timestamp',
    dimensions,
    tags: source.tags,
    validation: 'strict',
    ...(source.vaultId !== undefined && { vaultId: source.vaultId }),
    deriveFrom: [{ stream: source.id, field: w.fields[0]! }],
    deriveOp: 'window',
    deriveArgs: { window: w },
    state: 'active',
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}
