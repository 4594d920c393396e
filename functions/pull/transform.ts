import jsonata from 'jsonata';
import { ExpressionBudget } from '../../shared/domain/expression-budget';
import { PullFailedError } from '../../shared/domain/pull-errors';
import { runScript, ScriptError } from '../commons/js-sandbox';

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

/** What a pull's JavaScript transform may use: its time (at most the source's timeout) and 64 MiB, its input included. */
export const SCRIPT_MEMORY_BYTES = 64 << 20;
export const SCRIPT_MAX_MS = 5_000;

/**
 * Runs a stream's JavaScript transform (`function transform(apiData) { … }`) in the sandbox on a response
 * (or the rows of a query). Like the JSONata one, anything but an array of records fails the run with
 * `transform.failed`, which names the limit it hit.
 *
 * @example
 * await applyScript('function transform(d) { return d.accounts; }', body, 10_000); // [{ … }, …]
 */
export async function applyScript(script: string, input: unknown, timeoutMs: number): Promise<unknown[]> {
  let result: unknown;
  try {
    result = await runScript(script, input, { timeoutMs: Math.min(timeoutMs, SCRIPT_MAX_MS), memoryBytes: SCRIPT_MEMORY_BYTES });
  } catch (err) {
    if (err instanceof ScriptError) throw new PullFailedError('transform.failed', `the transform failed (${err.failure}): ${err.message}`);
    throw err;
  }
  if (!Array.isArray(result)) throw new PullFailedError('transform.failed', `the transform must return an array of records, got ${describe(result)}`);
  return result;
}

/**
 * The source's transform, JSONata or JavaScript, on `input`; `undefined` when the source has neither.
 *
 * @example
 * const records = (await transformed(source, json)) ?? asRecords(json);
 */
export async function transformed(source: { transform?: string | undefined; script?: string | undefined; timeoutMs: number }, input: unknown): Promise<unknown[] | undefined> {
  if (source.script !== undefined) return applyScript(source.script, input, source.timeoutMs);
  if (source.transform !== undefined) return applyTransform(source.transform, input, source.timeoutMs);
  return undefined;
}
