import * as z from 'zod';
import { parseDuration } from './durations';

/**
 * Health-check conditions (the Data Streams document's `healthChecks`): a stream-wide figure of its health
 * (`stream-health.ts`) above a limit, checked on the minute schedule with the silence rules, not on ingest.
 *
 * | string | object | figure |
 * |---|---|---|
 * | `error_rate > 5%` | `{health: 'error_rate', above: '5%'}` | invalid or refused / all records the writer handled, last 5 minutes |
 * | `processing_lag > 30s` | `{health: 'processing_lag', above: '30s'}` | p95 receive→stored wait, last 5 minutes |
 * | `data_freshness > 10m` | `{health: 'data_freshness', above: '10m'}` | time since the writer last stored a batch of the stream |
 */
export const HEALTH_METRICS = ['error_rate', 'processing_lag', 'data_freshness'] as const;
export type HealthMetric = (typeof HEALTH_METRICS)[number];

/** Limits of a duration figure: up to a day, as silence windows. */
const MAX_HEALTH_DURATION_MS = 86_400_000;
const PERCENT = /^(\d{1,3}(?:\.\d{1,4})?)%$/;

export const HealthConditionSchema = z
  .strictObject({ health: z.enum(HEALTH_METRICS), above: z.string().max(16) })
  .superRefine((c, ctx) => {
    const problem = limitProblem(c.health, c.above);
    if (problem) ctx.addIssue({ code: 'custom', path: ['above'], message: problem });
  });
export type HealthCondition = z.output<typeof HealthConditionSchema>;

function limitProblem(metric: HealthMetric, above: string): string | undefined {
  if (metric === 'error_rate') {
    const m = PERCENT.exec(above);
    return m && Number(m[1]) < 100 ? undefined : "must be a percentage from 0% to below 100%, such as '5%'";
  }
  const ms = parseDuration(above);
  return ms !== undefined && ms > 0 && ms <= MAX_HEALTH_DURATION_MS ? undefined : "must be a duration from 1s to 1d, such as '30s' or '10m'";
}

const HEALTH_TEXT = /^\s*(error_rate|processing_lag|data_freshness)\s*>\s*(\S+)\s*$/;

/**
 * The object of a health-check text, or undefined if the text is not one (its limit is checked by the schema).
 *
 * @example
 * parseHealthConditionText('error_rate > 5%'); // { health: 'error_rate', above: '5%' }
 */
export function parseHealthConditionText(text: string): HealthCondition | undefined {
  const m = HEALTH_TEXT.exec(text);
  return m ? { health: m[1] as HealthMetric, above: m[2]! } : undefined;
}

/** The limit as the figure is measured: a ratio for `error_rate`, milliseconds for the others. */
export function healthLimit(c: HealthCondition): number {
  if (c.health === 'error_rate') return Number(PERCENT.exec(c.above)![1]) / 100;
  return parseDuration(c.above)!;
}
