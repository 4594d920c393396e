import { BadRequestError, type Issue } from './errors';
import { isGranularity } from './granularity';
import { AGGREGATIONS } from './seed-dialect';
import { transformationStages } from './transformations';
import { parseStreamPatch, type Stream, type StreamPatch } from './stream-definition';

/**
 * The Data Streams document's stream processor, `streams.setProcessor(id, processor)`, over HTTP as
 * `PUT /v1/streams/{id}/processor`:
 *
 * | the document writes | Tributary stores (canonical) |
 * |---|---|
 * | `transformations: [{name, function: "function f(data) { … }"}]` | `pipeline`: one script stage per transformation, in order |
 * | `aggregations: [{name, timeWindow, fields, function \| functions}]` | `aggregations: [{name, granularity, fields, downsamplers}]` |
 * | `name`, `streamId` | the processor's own name (kept nowhere); `streamId` must be the path's |
 *
 * It replaces the stream's pipeline and named aggregations as a whole. Issues keep the path as written.
 *
 * @example
 * const patch = parseProcessor({ transformations: [{ name: 'c', function: 'function c(d) { return d; }' }] }, stream);
 * // { pipeline: [{ name: 'c', type: 'transform', config: { script: 'function c(d) { return d; }' } }] }
 */

const KEYS = new Set(['name', 'streamId', 'description', 'transformations', 'aggregations']);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseProcessor(body: unknown, stream: Stream): StreamPatch {
  const issues: Issue[] = [];
  const issue = (path: (string | number)[], message: string) => issues.push({ path, message });
  if (!isObj(body)) throw new BadRequestError('Invalid stream processor.', [{ path: [], message: 'must be a JSON object with transformations and/or aggregations' }]);
  for (const key of Object.keys(body)) if (!KEYS.has(key)) issue([key], `is not a key of a stream processor (${[...KEYS].join(', ')})`);
  if (body.streamId !== undefined && body.streamId !== stream.id) issue(['streamId'], `must be the stream of the path ('${stream.id}') or left out`);
  const patch: Record<string, unknown> = {};
  if (body.transformations !== undefined) {
    const stages = transformationStages(body.transformations, ['transformations'], issue);
    if (stages) patch.pipeline = stages;
  }
  if (body.aggregations !== undefined) {
    if (!Array.isArray(body.aggregations)) issue(['aggregations'], 'must be a list of {name, timeWindow, fields, function | functions}');
    else patch.aggregations = body.aggregations.map((a, i) => translateAggregation(a, ['aggregations', i], issue));
  }
  if (issues.length) throw new BadRequestError('Invalid stream processor.', issues);
  try {
    return parseStreamPatch(patch);
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    throw new BadRequestError('Invalid stream processor.', err.issues.map((i) => ({ ...i, path: writtenPath(i.path) })));
  }
}

function translateAggregation(a: unknown, at: (string | number)[], issue: (path: (string | number)[], message: string) => void): unknown {
  if (!isObj(a)) {
    issue(at, 'must be {name, timeWindow, fields, function | functions}');
    return {};
  }
  for (const key of Object.keys(a)) if (!['name', 'timeWindow', 'fields', 'function', 'functions'].includes(key)) issue([...at, key], 'is not a key of an aggregation (name, timeWindow, fields, function, functions)');
  if (typeof a.timeWindow !== 'string' || !isGranularity(a.timeWindow)) issue([...at, 'timeWindow'], 'must be one of 1s 10s 30s 1m 5m 10m 15m 1h 6h 1d');
  const written = a.functions ?? (a.function === undefined ? undefined : [a.function]);
  const key = a.functions !== undefined ? 'functions' : 'function';
  if (a.functions !== undefined && a.function !== undefined) issue([...at, 'function'], 'give function or functions, not both');
  const downsamplers = Array.isArray(written)
    ? written.map((f, j) => {
        const d = typeof f === 'string' && Object.hasOwn(AGGREGATIONS, f) ? AGGREGATIONS[f] : undefined;
        if (!d) issue(key === 'functions' ? [...at, key, j] : [...at, key], `must be one of ${Object.keys(AGGREGATIONS).join(', ')}`);
        return d;
      })
    : (issue([...at, 'function'], 'needs a function (average, min, max, …) or functions'), []);
  return { name: a.name, granularity: a.timeWindow, fields: a.fields, downsamplers };
}

/** Canonical patch paths as the processor wrote them. */
function writtenPath(path: (string | number)[]): (string | number)[] {
  const [top, i, ...rest] = path;
  if (top === 'pipeline' && typeof i === 'number') return rest[0] === 'config' ? ['transformations', i, 'function'] : ['transformations', i, ...rest];
  if (top === 'aggregations' && typeof i === 'number') {
    const field = rest[0] === 'granularity' ? 'timeWindow' : rest[0] === 'downsamplers' ? 'functions' : rest[0];
    return ['aggregations', i, ...(field === undefined ? [] : [field]), ...rest.slice(1)];
  }
  return path;
}
