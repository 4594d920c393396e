import type { Comparison, Condition } from './alert-rules';
import type { Datapoint, Value } from './validate-record';

/**
 * How a value is judged against a condition, and what a breach records: shared by the per-point rules
 * (`alert-evaluation.ts`) and the window and history rules (`alert-window-evaluation.ts`).
 *
 * @example
 * breaches({ field: 't', op: '>', value: -15 }, -12); // true
 */

/** What a firing records: the breaching value, its time, and the record for templates. */
export interface Breach {
  value: Value | null;
  time: number;
  data?: Record<string, Value>;
}

const COMPARE: Record<Comparison, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '<': (a, b) => a < b,
  '>=': (a, b) => a >= b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/**
 * Whether a number breaches a threshold or range condition.
 *
 * @example
 * breaches({ field: 't', op: '>', value: -15 }, -12); // true
 */
export function breaches(c: Condition, x: number): boolean {
  if ('op' in c && 'value' in c) return COMPARE[c.op](x, c.value);
  if ('outside' in c) return x < c.outside[0] || x > c.outside[1];
  return false;
}

/**
 * The record a JSONata expression (and a template's `data`) sees: dimensions, measures and `time` (ISO).
 *
 * @example
 * recordOf({ time: 0, dimensions: { deviceId: 'f1' }, values: { t: 1 } }); // { deviceId: 'f1', t: 1, time: '1970-01-01T00:00:00.000Z' }
 */
export function recordOf(p: Datapoint): Record<string, Value> {
  return { ...p.dimensions, ...p.values, time: new Date(p.time).toISOString() };
}
