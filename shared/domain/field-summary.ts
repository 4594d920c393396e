import { BadRequestError, type Issue } from './errors';
import type { Stream } from './stream-definition';

/**
 * The Data Streams document's per-field query aggregation, `query(id, {timeRange, aggregation: {productionCount:
 * "sum", lineSpeed: "average", qualityStatus: "mode"}})`: one value per field over the whole range. `mode`
 * answers how often each value occurs (`{good: 40, warning: 3, error: 1}`), as the document's
 * `calculateQualityScore(statusData)` reads it.
 */

export const SUMMARY_FUNCTIONS = ['sum', 'average', 'mean', 'min', 'max', 'count', 'first', 'last', 'mode'] as const;
export type SummaryFunction = (typeof SUMMARY_FUNCTIONS)[number];
const NUMERIC = new Set<SummaryFunction>(['sum', 'average', 'mean', 'min', 'max']);

/** `aggregation.<field>=<function>` query parameters, as a field → function map; `undefined` when there are none. */
export function summaryParams(params: Record<string, string | undefined>): Record<string, string> | undefined {
  const spec: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (key.startsWith('aggregation.') && value !== undefined) spec[key.slice('aggregation.'.length)] = value;
  return Object.keys(spec).length > 0 ? spec : undefined;
}

/** Checks each field and function against the stream; throws a `BadRequestError` naming every bad one. */
export function checkSummary(stream: Pick<Stream, 'schema' | 'timeField' | 'dimensions'>, spec: Record<string, string>): Record<string, SummaryFunction> {
  const issues: Issue[] = [];
  for (const [field, fn] of Object.entries(spec)) {
    const at = [`aggregation.${field}`];
    const type = Object.hasOwn(stream.schema, field) ? stream.schema[field]?.type : undefined;
    if (type === undefined || field === stream.timeField || stream.dimensions.includes(field)) issues.push({ path: at, message: `'${field}' is not a measure field of the stream` });
    else if (!(SUMMARY_FUNCTIONS as readonly string[]).includes(fn)) issues.push({ path: at, message: `'${fn}' is not one of ${SUMMARY_FUNCTIONS.join(', ')}` });
    else if (NUMERIC.has(fn as SummaryFunction) && type !== 'number' && type !== 'integer') issues.push({ path: at, message: `'${field}' is ${type}: ${fn} needs a number or integer field (count, first, last and mode take any)` });
  }
  if (issues.length > 0) throw new BadRequestError('Invalid query parameters.', issues);
  return spec as Record<string, SummaryFunction>;
}

type Value = string | number | boolean | null | undefined | object;

/**
 * One value per field over the points, in time order: numbers for sum, average (mean), min, max and count
 * (null when no point has the field), the first and last value, and for mode the count of each value.
 *
 * @example
 * summarize([{ values: { n: 2, s: 'good' } }, { values: { n: 3, s: 'good' } }], { n: 'sum', s: 'mode' }); // { n: 5, s: { good: 2 } }
 */
export function summarize(points: readonly { values: Record<string, Value> }[], spec: Record<string, SummaryFunction>): Record<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [field, fn] of Object.entries(spec)) {
    const present = points.map((p) => p.values[field]).filter((v) => v !== null && v !== undefined);
    const numbers = present.filter((v): v is number => typeof v === 'number');
    switch (fn) {
      case 'sum':
        out.set(field, numbers.length ? numbers.reduce((s, v) => s + v, 0) : null);
        break;
      case 'average':
      case 'mean':
        out.set(field, numbers.length ? numbers.reduce((s, v) => s + v, 0) / numbers.length : null);
        break;
      case 'min':
        out.set(field, numbers.length ? numbers.reduce((m, v) => (v < m ? v : m)) : null);
        break;
      case 'max':
        out.set(field, numbers.length ? numbers.reduce((m, v) => (v > m ? v : m)) : null);
        break;
      case 'count':
        out.set(field, present.length);
        break;
      case 'first':
        out.set(field, present[0] ?? null);
        break;
      case 'last':
        out.set(field, present.at(-1) ?? null);
        break;
      case 'mode': {
        // a Map, then own properties: a value such as "__proto__" is a count like any other
        const counts = new Map<string, number>();
        for (const v of present) {
          const key = typeof v === 'object' ? JSON.stringify(v) : String(v);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        out.set(field, Object.fromEntries(counts));
        break;
      }
    }
  }
  return Object.fromEntries(out);
}
