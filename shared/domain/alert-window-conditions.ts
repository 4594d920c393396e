import * as z from 'zod';
import { COMPARISONS, durationUpTo, FieldRef, finite, WINDOW_AGGREGATES, type Comparison, type WindowAggregate } from './alert-condition-parts';
import { parseDuration } from './durations';

/**
 * Alert conditions over windows and history beyond `avg(x) over 5m > 30` (issue 12), as text and as the
 * object each text stands for:
 *
 * | string | object |
 * |---|---|
 * | `avg(temperature) over 5m sliding 1m > 30` | `{field, op, value, window: {agg, over: '5m', slide: '1m'}}` |
 * | `count() over session 10m > 100` (`count(field)`, `avg`, `min`, `max` too) | `{op, value, session: {agg: 'count', gap: '10m'}}` |
 * | `mad(temperature) over 1h > 3.5` | `{field, op: '>', value: 3.5, mad: {over: '1h'}}` |
 * | `zscore(temperature) over same hour of 7d > 3` (`mad(…)` too) | `{field, op: '>', value: 3, zscore: {over: '7d', seasonal: 'hour'}}` |
 * | `temperature > 1.2 * avg(temperature) over 7d` | `{field, op, baseline: {agg: 'avg', over: '7d', factor: 1.2, offset: 0}}` |
 * | `avg(x) over 1h > 1.2 * avg(x) over 7d` | `{field, op, window: {agg: 'avg', over: '1h'}, baseline: {…}}` |
 * | `… > 1.2 * avg(x) over same hour of 7d` | `baseline: {…, seasonal: 'hour'}` |
 *
 * - sliding: windows `[t, t + over)` at every multiple `t` of `slide` (UTC epoch); on a batch, each window
 *   holding one of the series' new points is aggregated over all its stored points; the rule fires on the
 *   first that breaches and is clear when the newest is;
 * - session: the session holding the series' newest point (a new one starts after a gap of more than `gap`),
 *   read over at most `SESSION_LOOKBACK` before it; `count()` counts its points;
 * - mad: the robust z-score `0.6745 · |x − median| / MAD` against the series' raw points over `over` before
 *   the batch (at most `MAX_MAD_POINTS` of them, the newest); no spread (MAD 0): no score, no fire;
 * - seasonal (`same hour of Nd`): the history is the point's UTC hour on each of the N days before its day.
 *
 * @example
 * parseWindowConditionText('count() over session 10m > 100');
 * // { op: '>', value: 100, session: { agg: 'count', gap: '10m' } }
 */

const DAY_MS = 86_400_000;
/** Sliding windows, sessions' gaps and robust histories span at most a day (each reads raw points). */
export const MAX_RAW_SPAN_MS = DAY_MS;
/** A session is read over at most this long before the series' newest point. */
export const SESSION_LOOKBACK_MS = DAY_MS;
/** A sliding rule's window holds at most this many steps (`over / slide`). */
export const MAX_RULE_SLIDES = 60;
/** A robust (MAD) history reads at most this many raw points per evaluation, the newest. */
export const MAX_MAD_POINTS = 10_000;
/** A seasonal history reaches back whole days, at most this many. */
export const MAX_SEASONAL_DAYS = 28;
export const DEFAULT_MAD_OVER = '1h';

/** A window: trailing (`over`), or sliding by `slide` (which must divide `over`). */
export const WindowSchema = z
  .strictObject({ agg: z.enum(WINDOW_AGGREGATES), over: durationUpTo(MAX_RAW_SPAN_MS), slide: durationUpTo(MAX_RAW_SPAN_MS).optional() })
  .superRefine((w, ctx) => {
    if (w.slide === undefined) return;
    const problem = slideProblem(parseDuration(w.over)!, parseDuration(w.slide)!);
    if (problem) ctx.addIssue({ code: 'custom', path: ['slide'], message: problem });
  });

function slideProblem(over: number, slide: number): string | undefined {
  if (slide > over) return 'must not be longer than the window (over)';
  if (over % slide !== 0) return 'must divide the window (over), so that each point is in over/slide windows';
  if (over / slide > MAX_RULE_SLIDES) return `puts each point in ${over / slide} windows; over/slide may be at most ${MAX_RULE_SLIDES}`;
  return undefined;
}

/** The history of anomaly and baseline conditions may be seasonal: the same UTC hour of each day before. */
export const SeasonalSchema = z.literal('hour');

export const SessionConditionSchema = z
  .strictObject({
    field: FieldRef.optional(),
    op: z.enum(COMPARISONS),
    value: finite,
    session: z.strictObject({ agg: z.enum(WINDOW_AGGREGATES), gap: durationUpTo(MAX_RAW_SPAN_MS) }),
  })
  .refine((c) => c.field !== undefined || c.session.agg === 'count', { message: 'give the field to aggregate (only count() goes without one)', path: ['field'] });

export const MadConditionSchema = z.strictObject({
  field: FieldRef,
  op: z.literal('>'),
  value: finite.refine((v) => v > 0, 'must be above 0 (a robust z-score)'),
  mad: z.strictObject({ over: durationUpTo(MAX_SEASONAL_DAYS * DAY_MS).default(DEFAULT_MAD_OVER), seasonal: SeasonalSchema.optional() }),
});

export type SessionCondition = z.output<typeof SessionConditionSchema>;
export type MadCondition = z.output<typeof MadConditionSchema>;

/**
 * The problem with a history's span, if any: a seasonal one is whole days (1 to `MAX_SEASONAL_DAYS`); a
 * robust (MAD) one that is not seasonal reads raw points, at most `MAX_RAW_SPAN_MS`.
 *
 * @example
 * historySpanProblem({ over: '36h', seasonal: 'hour' }, false); // 'a seasonal history is whole days …'
 */
export function historySpanProblem(h: { over: string; seasonal?: 'hour' | undefined }, robust: boolean): string | undefined {
  const ms = parseDuration(h.over) ?? 0;
  if (h.seasonal) {
    return ms % DAY_MS === 0 && ms / DAY_MS <= MAX_SEASONAL_DAYS ? undefined : `a seasonal history is whole days, 1d to ${MAX_SEASONAL_DAYS}d (the same hour of each)`;
  }
  if (robust && ms > MAX_RAW_SPAN_MS) return 'a robust (MAD) history reads raw points: at most 1d, or seasonal (same hour of Nd)';
  return undefined;
}

const NUM = '(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)';
const DUR = '(\\d+[smhd])';
const OP = '(>=|<=|==|!=|>|<)';
const HISTORY = `(?:same\\s+hour\\s+of\\s+${DUR}|${DUR})`;
const SLIDING_TEXT = new RegExp(`^\\s*(avg|min|max|count)\\(\\s*(\\w+)\\s*\\)\\s+over\\s+${DUR}\\s+sliding\\s+${DUR}\\s*${OP}\\s*${NUM}\\s*$`);
const SESSION_TEXT = new RegExp(`^\\s*(avg|min|max|count)\\(\\s*(\\w*)\\s*\\)\\s+over\\s+session\\s+${DUR}\\s*${OP}\\s*${NUM}\\s*$`);
const ANOMALY_TEXT = new RegExp(`^\\s*(zscore|mad)\\(\\s*(\\w+)\\s*\\)\\s+over\\s+${HISTORY}\\s*>\\s*${NUM}\\s*$`);
const BASELINE_TEXT = new RegExp(
  `^\\s*(?:(avg|min|max|count)\\(\\s*(\\w+)\\s*\\)\\s+over\\s+${DUR}|(\\w+))\\s*${OP}\\s*(?:${NUM}\\s*\\*\\s*)?avg\\(\\s*(\\w+)\\s*\\)\\s+over\\s+${HISTORY}\\s*(?:([-+])\\s*(\\d+(?:\\.\\d+)?))?\\s*$`,
);

/** What `parseWindowConditionText` returns: the stored object of each form. */
export type WindowConditionObject =
  | { field: string; op: Comparison; value: number; window: { agg: WindowAggregate; over: string; slide?: string } }
  | SessionCondition
  | MadCondition
  | { field: string; op: '>'; value: number; zscore: { over: string; seasonal?: 'hour' } }
  | {
      field: string;
      op: Comparison;
      window?: { agg: WindowAggregate; over: string };
      baseline: { agg: 'avg'; over: string; factor: number; offset: number; seasonal?: 'hour' };
    };

const history = (days: string | undefined, over: string | undefined) => (days ? { over: days, seasonal: 'hour' as const } : { over: over! });

/**
 * The object one of this module's condition texts stands for, or `undefined` if the text is none of them.
 *
 * @example
 * parseWindowConditionText('avg(x) over 1h > 1.2 * avg(x) over 7d');
 * // { field: 'x', op: '>', window: { agg: 'avg', over: '1h' }, baseline: { agg: 'avg', over: '7d', factor: 1.2, offset: 0 } }
 */
export function parseWindowConditionText(text: string): WindowConditionObject | undefined {
  const s = SLIDING_TEXT.exec(text);
  if (s) return { field: s[2]!, op: s[5] as Comparison, value: Number(s[6]), window: { agg: s[1] as WindowAggregate, over: s[3]!, slide: s[4]! } };
  const se = SESSION_TEXT.exec(text);
  if (se) return { ...(se[2] && { field: se[2] }), op: se[4] as Comparison, value: Number(se[5]), session: { agg: se[1] as WindowAggregate, gap: se[3]! } };
  const a = ANOMALY_TEXT.exec(text);
  if (a) {
    const h = history(a[3], a[4]);
    return a[1] === 'mad' ? { field: a[2]!, op: '>', value: Number(a[5]), mad: h } : { field: a[2]!, op: '>', value: Number(a[5]), zscore: h };
  }
  const b = BASELINE_TEXT.exec(text);
  if (b) {
    const field = (b[4] ?? b[2])!;
    if (b[7] !== field) return undefined;
    const offset = b[11] === undefined ? 0 : Number(b[11]) * (b[10] === '-' ? -1 : 1);
    const baseline = { agg: 'avg' as const, ...history(b[8], b[9]), factor: b[6] === undefined ? 1 : Number(b[6]), offset };
    return { field, op: b[5] as Comparison, ...(b[1] && { window: { agg: b[1] as WindowAggregate, over: b[3]! } }), baseline };
  }
  return undefined;
}
