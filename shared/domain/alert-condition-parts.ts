import * as z from 'zod';
import { DURATION, parseDuration } from './durations';

/**
 * The pieces alert conditions are made of (numbers, durations, field names, comparisons, window aggregates),
 * shared by the rule schema (`alert-rules.ts`) and the window and history conditions
 * (`alert-window-conditions.ts`).
 *
 * @example
 * const Over = durationUpTo(86_400_000); // '5m' passes, '2d' does not
 */

export const COMPARISONS = ['>', '<', '>=', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];
export const WINDOW_AGGREGATES = ['avg', 'min', 'max', 'count'] as const;
export type WindowAggregate = (typeof WINDOW_AGGREGATES)[number];

export const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/**
 * A duration of at most `maxMs` (and above 0).
 *
 * @example
 * durationUpTo(3_600_000).safeParse('2h').success; // false
 */
export const durationUpTo = (maxMs: number) =>
  z
    .string()
    .regex(DURATION, 'must be a duration such as 30s, 5m, 1h or 1d')
    .refine((d) => (parseDuration(d) ?? 0) > 0 && (parseDuration(d) ?? 0) <= maxMs, `must be above 0 and at most ${maxMs / 3_600_000} h`);

export const FieldRef = z.string().min(1).max(60);
