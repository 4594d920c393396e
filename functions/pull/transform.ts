import jsonata from 'jsonata';
import { ExpressionBudget } from '../../shared/domain/expression-budget';
import { PullFailedError } from '../../shared/domain/pull-errors';

/**
 * Runs a stream's JSONata transform on a response (or the rows of a query) and returns the records it
 * maps to. A transform that throws, runs past `timeoutMs`, recurses past 500 levels or returns anything
 * but an array (no match at all counts as no records) fails the run with `transform.failed`.
 *
 * @example
 * await applyTransform('data.{ "sensor": id, "timestamp": t, "value": v }[]', body, 1000); // [{ sensor, timestamp, value }, …]
 */
export async function applyTransform(expression: string, input: unknown, timeoutMs: number): Promise<unknown[]> {
  // compiled per run: the time box hooks live in the expression's own environment (once per pull, not per record)
  const expr = new ExpressionBudget(timeoutMs).attach(compile(expression));
  let result: unknown;
  try {
    result = await expr.evaluate(input);
  } catch (err) {
    const e = err as { message?: string; code?: string; position?: number };
    throw new PullFailedError('transform.failed', `the transform failed${e.position === undefined ? '' : ` at ${e.position}`}: ${e.message ?? String(err)}`);
  }
  if (result === undefined) return [];
  if (!Array.isArray(result)) {
    throw new PullFailedError('transform.failed', `the transform must return an array of records, got ${describe(result)}; wrap it as [ … ] or end a path with []`);
  }
  return [...result];
}

function compile(expression: string): jsonata.Expression {
  try {
    return jsonata(expression);
  } catch (err) {
    throw new PullFailedError('transform.failed', `the transform does not parse: ${(err as Error).message}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
