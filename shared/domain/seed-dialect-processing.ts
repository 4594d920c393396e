import { GRANULARITIES, isGranularity, type Downsampler } from './granularity';
import { isPullType } from './pull-source';
import { translateAlerting } from './seed-dialect-alerts';
import { isDeviceSource } from './seed-dialect-devices';
import type { Stream } from './stream-definition';
import { isJavaScriptFunction, transformationStages } from './transformations';

/**
 * The documents' `processing` block translated to the canonical sections (`seed-dialect.ts` calls it for a
 * definition or a patch): `validation` and `alertThresholds` lifted, `pipeline` as written, JavaScript and
 * JSONata transforms (a pull's source script, a pushed stream's script stage), `transformations` as script
 * stages, `frequency` + `aggregation` as the default query, `deduplicate`, `alerting` as rules, and `windows`
 * (the Live Data Handler's continuous windows) as they are.
 *
 * @example
 * translateProcessing(body, 'iot_sensor', undefined, rename, issue); // body.processing → body.defaultQuery, body.alerts, …
 */

type Path = (string | number)[];
type Obj = Record<string, unknown>;
type Rename = (canonical: Path, written: Path) => void;
type Report = (path: Path, message: string) => void;

/** `processing.aggregation` → downsampler. */
export const AGGREGATIONS: Readonly<Record<string, Downsampler>> = {
  average: 'mean',
  avg: 'mean',
  mean: 'mean',
  latest: 'last',
  last: 'last',
  first: 'first',
  min: 'min',
  max: 'max',
  sum: 'sum',
  count: 'count',
  stddev: 'stddev',
};

const PROCESSING_KEYS = new Set(['frequency', 'aggregation', 'validation', 'alertThresholds', 'transform', 'transformations', 'deduplicate', 'alerting', 'pipeline', 'windows']);

/** Mappings the dialect made up (not the client's): a transform replaces them. */
const GENERATED = new WeakSet<object>();
export const generated = (mapping: Obj): Obj => {
  GENERATED.add(mapping);
  return mapping;
};
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function translateProcessing(body: Obj, type: string | undefined, stream: Stream | undefined, rename: Rename, issue: Report): void {
  const processing = body.processing;
  delete body.processing;
  if (!isObj(processing)) {
    issue(['processing'], 'must be an object');
    return;
  }
  for (const key of Object.keys(processing)) {
    if (!PROCESSING_KEYS.has(key)) issue(['processing', key], `is not a processing key Tributary knows (${[...PROCESSING_KEYS].join(', ')})`);
  }
  const lift = (key: 'validation' | 'alertThresholds') => {
    if (!(key in processing)) return;
    if (key in body) issue(['processing', key], `give ${key} once, at the top or under processing`);
    body[key] = processing[key];
    rename([key], ['processing', key]);
  };
  lift('validation');
  lift('alertThresholds');
  if ('pipeline' in processing) {
    // the Live Data Handler's `processing.pipeline`: Tributary's own `pipeline`, as written
    if ('pipeline' in body) issue(['processing', 'pipeline'], 'give pipeline once, at the top or under processing');
    body.pipeline = processing.pipeline;
    rename(['pipeline'], ['processing', 'pipeline']);
  }
  if ('transformations' in processing) {
    // the integration examples' list of record functions: script stages of the pipeline, in order, on every path
    const stages = transformationStages(processing.transformations, ['processing', 'transformations'], issue) ?? [];
    const before = Array.isArray(body.pipeline) ? body.pipeline : [];
    body.pipeline = [...before, ...stages];
    stages.forEach((_, i) => rename(['pipeline', before.length + i, 'config', 'script'], ['processing', 'transformations', i, 'function']));
  }
  if ('windows' in processing) {
    // the Live Data Handler's `processing.windows`: Tributary's own `windows`, as written (`window-streams.ts`)
    if (stream) issue(['processing', 'windows'], 'windows are given when the stream is created (each is a stream of its own, created and deleted with it)');
    else if ('windows' in body) issue(['processing', 'windows'], 'give windows once, at the top or under processing');
    else if (!Array.isArray(processing.windows)) issue(['processing', 'windows'], 'must be a list of windows such as { type: "tumbling", size: "1m", metrics: ["avg", "max", "min"] }');
    else {
      body.windows = processing.windows;
      rename(['windows'], ['processing', 'windows']);
    }
  }
  translateDefaultQuery(body, processing, stream, rename, issue);
  const pulls = type !== undefined && isPullType(type);
  // a patch that changes only the processing changes the stream's source as it is
  const patching = pulls && !isObj(body.source) && stream?.source !== undefined && ('transform' in processing || 'deduplicate' in processing);
  if (patching) body.source = { ...stream!.source } as Obj;
  const source = isObj(body.source) ? (body.source as Obj) : undefined;
  // pushed records: a JavaScript transform is a script stage of the pipeline, run on every record
  if (!pulls && typeof processing.transform === 'string' && isJavaScriptFunction(processing.transform)) {
    const stages = Array.isArray(body.pipeline) ? body.pipeline : [];
    body.pipeline = [...stages, { name: 'transform', type: 'transform', config: { script: processing.transform.trim() } }];
    rename(['pipeline', stages.length, 'config', 'script'], ['processing', 'transform']);
  } else if (!pulls && 'transform' in processing) {
    issue(['processing', 'transform'], 'for pushed records, write the transform as a JavaScript function (function transform(record) { … }) or use processing.pipeline; a JSONata transform applies to api_pull and database streams');
  }
  if (!pulls && 'deduplicate' in processing) issue(['processing', 'deduplicate'], 'applies to api_pull and database streams (pushed records with the same series and time are stored once anyway)');
  for (const key of ['transform', 'deduplicate'] as const) {
    if (pulls && key in processing && !source) issue(['processing', key], 'needs the stream’s source in the same body');
  }
  if (pulls && source) {
    const transform = processing.transform;
    if (typeof transform === 'string') {
      const key = isJavaScriptFunction(transform) ? 'script' : 'transform';
      // one transform replaces the other
      delete source[key === 'script' ? 'transform' : 'script'];
      source[key] = key === 'script' ? transform.trim() : transform;
      if (isObj(source.mapping) && GENERATED.has(source.mapping)) delete source.mapping;
      rename(['source', key], ['processing', 'transform']);
    } else if (transform !== undefined) issue(['processing', 'transform'], 'must be a JavaScript function or a JSONata expression, as text');
    if (processing.deduplicate === true && isObj(body.schema)) {
      const time = typeof body.timeField === 'string' ? body.timeField : 'timestamp';
      source.dedupe = { key: Object.keys(body.schema).filter((f) => f !== time).slice(0, 16) };
      rename(['source', 'dedupe'], ['processing', 'deduplicate']);
    } else if (processing.deduplicate !== undefined && processing.deduplicate !== false) issue(['processing', 'deduplicate'], 'must be true or false');
  }
  if ('alerting' in processing) {
    const explicit = Array.isArray(body.alerts) ? body.alerts : [];
    const rules = translateAlerting(processing.alerting, ['processing', 'alerting'], issue);
    rules.forEach(({ rule, written }, i) => rename(['alerts', explicit.length + i], written));
    body.alerts = [...explicit, ...rules.map((r) => r.rule)];
  }
}

function translateDefaultQuery(body: Obj, processing: Obj, stream: Stream | undefined, rename: Rename, issue: Report): void {
  const { frequency, aggregation } = processing;
  if (frequency === undefined && aggregation === undefined) return;
  // a polled device's frequency is its poll interval (source.schedule), not a default query
  if (aggregation === undefined && isDeviceSource(body.source)) return;
  const granularity = frequency ?? stream?.defaultQuery?.granularity;
  if (granularity === undefined) {
    issue(['processing', 'aggregation'], 'needs processing.frequency, the window it aggregates over');
    return;
  }
  if (typeof granularity !== 'string' || !isGranularity(granularity)) {
    issue(['processing', 'frequency'], `must be one of ${Object.keys(GRANULARITIES).join(', ')}`);
    return;
  }
  let downsamplers: Downsampler[] | undefined = stream?.defaultQuery?.downsamplers;
  if (aggregation !== undefined) {
    const d = typeof aggregation === 'string' && Object.hasOwn(AGGREGATIONS, aggregation) ? AGGREGATIONS[aggregation] : undefined;
    if (!d) {
      issue(['processing', 'aggregation'], `must be one of ${Object.keys(AGGREGATIONS).join(', ')}`);
      return;
    }
    downsamplers = [d];
  }
  body.defaultQuery = { granularity, downsamplers: downsamplers ?? ['mean', 'min', 'max', 'count'] };
  rename(['defaultQuery', 'granularity'], ['processing', 'frequency']);
  rename(['defaultQuery', 'downsamplers'], ['processing', 'aggregation']);
  rename(['defaultQuery'], ['processing']);
}

export { isJavaScriptFunction } from './transformations';
