import jsonata from 'jsonata';
import {
  conditionKind,
  parseDuration,
  windowMs,
  type AlertActionType,
  type AlertRule,
  type Condition,
  type Severity,
  type WindowAggregate,
} from './alert-rules';
import { breaches, recordOf, type Breach } from './alert-compare';
import { slidingFinding, windowFinding, type Finding, type WindowValue } from './alert-window-evaluation';
import { ExpressionBudget, ExpressionBudgetError } from './expression-budget';
import type { Stream } from './stream-definition';
import type { Datapoint, Value } from './validate-record';

/**
 * Alert evaluation, pure: given a stream's rules, what each (rule, series) pair was doing before, and a
 * batch's points per series (or, for windows, the window's aggregate), it returns the transitions:
 * `fire` or `resolve`. Storing them, the cooldown race and starting actions are the caller's.
 *
 * @example
 * const series = groupBySeries(stream, points);
 * const transitions = await evaluateBatch({ rules: ingestRules(stream), series, states, windows: new Map(), now });
 */

export type AlertState = 'firing' | 'resolved';
export type ActionStatus = 'pending' | 'succeeded' | 'failed';

/** What became of one action of an alert. */
export interface ActionOutcome {
  type: AlertActionType;
  status: ActionStatus;
  attempts: number;
  lastError?: string;
  lastAttemptAt?: string;
}

/** An alert as stored and returned by the API. */
export interface Alert {
  /** `<streamId>.<time-ordered suffix>`: the stream is found from the id. */
  id: string;
  streamId: string;
  rule: string;
  severity: Severity;
  /** The series key (see `seriesKey`) and its dimension values. */
  series: string;
  dimensions: Record<string, string>;
  /** The breaching value (the window's aggregate for window rules; null for expressions and silences). */
  value: Value | null;
  /** ISO time of the breaching record (for silences, of the series' last record). */
  time: string;
  firedAt: string;
  state: AlertState;
  resolvedAt?: string;
  acknowledged: boolean;
  acknowledgedAt?: string;
  /** The breaching record's fields, for templates (`{{data.temperature}}`). */
  data?: Record<string, Value>;
  actions: ActionOutcome[];
}

/** What a (rule, series) pair is doing now, as the alert store keeps it. */
export interface SeriesState {
  rule: string;
  series: string;
  state: AlertState;
  alertId?: string;
  /** Epoch ms of the last fire: the cooldown counts from it. */
  firedAt?: number;
}

export { breaches, recordOf, type Breach } from './alert-compare';

/** A batch's points of one series, in time order. */
export interface SeriesPoints {
  key: string;
  dimensions: Record<string, string>;
  points: Datapoint[];
}

export type Transition =
  | { kind: 'fire'; rule: AlertRule; series: string; dimensions: Record<string, string>; breach: Breach }
  /** `alertId` is absent when the alert fired in this same batch (the caller knows its id). */
  | { kind: 'resolve'; rule: AlertRule; series: string; dimensions: Record<string, string>; alertId?: string; time: number };

/**
 * A series' key: its dimension values in the stream's dimension order, as JSON. `[]` for a stream
 * without dimensions (one series).
 *
 * @example
 * seriesKey(['deviceId'], { deviceId: 'f1' }); // '["f1"]'
 */
export function seriesKey(dimensions: readonly string[], values: Record<string, string>): string {
  return JSON.stringify(dimensions.map((d) => values[d] ?? ''));
}

/** The key under which a (rule, series) state is kept. */
export const stateKey = (rule: string, series: string) => `${rule}#${series}`;

/**
 * Splits a batch's points by series, each in time order.
 *
 * @example
 * groupBySeries(stream, points).map((s) => s.key); // ['["f1"]', '["f2"]']
 */
export function groupBySeries(stream: Pick<Stream, 'dimensions'>, points: readonly Datapoint[]): SeriesPoints[] {
  const bySeries = new Map<string, SeriesPoints>();
  for (const p of points) {
    const key = seriesKey(stream.dimensions, p.dimensions);
    const found = bySeries.get(key);
    if (found) found.points.push(p);
    else bySeries.set(key, { key, dimensions: p.dimensions, points: [p] });
  }
  for (const s of bySeries.values()) s.points.sort((a, b) => a.time - b.time);
  return [...bySeries.values()];
}

/** The rules evaluated on ingest: all but silences and health checks, which run on a schedule. */
export function ingestRules(stream: Pick<Stream, 'alerts'>): AlertRule[] {
  return (stream.alerts ?? []).filter((r) => !SCHEDULED.has(conditionKind(r.when)));
}

const SCHEDULED = new Set(['silence', 'health']);

/** Whether the stream has a rule the minute schedule checks (silence or health). */
export function hasScheduledRules(stream: Pick<Stream, 'alerts'>): boolean {
  return (stream.alerts ?? []).some((r) => SCHEDULED.has(conditionKind(r.when)));
}

/** The silence rules, checked on a schedule. */
export function silenceRules(stream: Pick<Stream, 'alerts'>): AlertRule[] {
  return (stream.alerts ?? []).filter((r) => conditionKind(r.when) === 'silence');
}

/** The rules that need a window's aggregate. */
export function windowRules(rules: readonly AlertRule[]): AlertRule[] {
  return rules.filter((r) => windowMs(r.when) !== undefined);
}

/**
 * The aggregate of a window's values; `undefined` when the window holds no value (count is then 0).
 *
 * @example
 * aggregate('avg', [1, 2, 3]); // 2
 */
export function aggregate(agg: WindowAggregate, values: readonly Value[]): number | undefined {
  if (agg === 'count') return values.length;
  const nums = values.filter((v): v is number => typeof v === 'number');
  if (nums.length === 0) return undefined;
  // loops, not Math.min(...nums): a window may hold more values than a call's arguments may
  if (agg === 'min') return nums.reduce((a, b) => (b < a ? b : a), Infinity);
  if (agg === 'max') return nums.reduce((a, b) => (b > a ? b : a), -Infinity);
  return nums.reduce((a, b) => a + b, 0) / nums.length;
}

/**
 * How long an expression rule may work on one batch: 250 ms, plus 1 ms per 20 records. A plain comparison
 * takes microseconds a record; a rule past this is failed (see `evaluateRules`).
 *
 * @example
 * expressionBudgetMs(100); // 255
 */
export const expressionBudgetMs = (records: number) => 250 + Math.ceil(records / 20);
/** Work between two yields to the event loop while an expression rule runs (when the caller gives `pause`). */
const SLICE_MS = 10;

/** How the caller runs expression rules: a clock for the budget and a way to let other work in. */
export interface ExpressionRunOptions {
  /** Milliseconds, monotonic enough for a budget; `Date.now` unless given. */
  now?: () => number;
  /** Lets other work in after every few milliseconds of work (`workedMs`, not counted in the budget); never unless given. */
  pause?: (workedMs: number) => Promise<void>;
  /** The budget of each expression rule on this batch; `expressionBudgetMs(records)` unless given. */
  budgetMs?: number;
}

/** One expression rule compiled for one batch, its evaluations counted against one budget. */
interface ExpressionRun {
  /** `true` is a breach; anything else (an error of the expression on this record included) is not. */
  breaches(p: Datapoint): Promise<boolean>;
}

function expressionRun(text: string, budget: ExpressionBudget, pause: ((workedMs: number) => Promise<void>) | undefined): ExpressionRun {
  // compiled per rule and batch: the budget's hooks live in the expression's own environment
  const expr = budget.attach(jsonata(text));
  let lastPause = 0;
  return {
    async breaches(p) {
      const worked = budget.elapsed() - lastPause;
      if (pause && worked >= SLICE_MS) {
        await budget.pause(() => pause(worked));
        lastPause = budget.elapsed();
      }
      try {
        return (await expr.evaluate(recordOf(p))) === true;
      } catch (err) {
        if (err instanceof ExpressionBudgetError) throw err;
        // a runtime error of the expression on this record (e.g. arithmetic on a string) is not a breach
        return false;
      }
    },
  };
}

async function pointBreach(c: Condition, p: Datapoint, run: ExpressionRun | undefined): Promise<Breach | undefined> {
  if ('expression' in c) return (await run!.breaches(p)) ? { value: null, time: p.time, data: recordOf(p) } : undefined;
  if (!('field' in c) || c.field === undefined) return undefined;
  const v = p.values[c.field];
  return typeof v === 'number' && breaches(c, v) ? { value: v, time: p.time, data: recordOf(p) } : undefined;
}

/** Whether a point is clear of the condition, given it does not breach (a point without the field says nothing). */
function pointClear(c: Condition, p: Datapoint): boolean | undefined {
  if ('expression' in c) return true;
  if (!('field' in c) || c.field === undefined) return undefined;
  return typeof p.values[c.field] === 'number' ? true : undefined;
}

/**
 * May a (rule, series) fire now? Not while it is firing, nor within the cooldown of its last fire.
 *
 * @example
 * mayFire(rule, { rule: 'warm', series: '[]', state: 'resolved', firedAt: now - 60_000 }, now); // false with cooldown 5m
 */
export function mayFire(rule: AlertRule, state: SeriesState | undefined, now: number): boolean {
  if (!state) return true;
  if (state.state === 'firing') return false;
  return state.firedAt === undefined || now - state.firedAt >= (parseDuration(rule.cooldown) ?? 0);
}

export interface BatchInput {
  rules: readonly AlertRule[];
  series: readonly SeriesPoints[];
  /** By `stateKey(rule, series)`. */
  states: ReadonlyMap<string, SeriesState>;
  /**
   * Window rules: by rule name, then series key, the window's aggregate (missing: the window is empty).
   * Baseline rules: the same, the threshold the series' history gives (missing: no history yet).
   */
  windows: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Sliding rules: by rule name, then series key, the windows holding the batch's points of the series. */
  slides?: ReadonlyMap<string, ReadonlyMap<string, readonly WindowValue[]>>;
  /** Ratio rules (a baseline with a window): by rule name, then series key, the threshold (the window's aggregate is in `windows`). */
  thresholds?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Z-score and MAD rules: by rule name, then series key, the range of values within the rule's score of the history. */
  ranges?: ReadonlyMap<string, ReadonlyMap<string, readonly [number, number]>>;
  now: number;
  /** How expression rules are run (their budget, clock and yields). */
  expressions?: ExpressionRunOptions;
}

/** A rule that could not be evaluated on a batch (its expression overran its budget), and why. */
export interface RuleFailure {
  rule: string;
  reason: string;
}

/**
 * A failed rule as stored and shown (the stream's status, its alerts listing): it stays failed, and is not
 * evaluated, while the stream is at `streamVersion`; changing the stream gives it another chance.
 */
export interface FailedRule {
  rule: string;
  reason: string;
  failedAt: string;
  streamVersion: number;
}

/**
 * The failures that hold for the stream as it is now: of its current version and of a rule it still has.
 *
 * @example
 * currentFailures(stream, await alerts.listRuleFailures(stream.id)); // [{ rule, reason, failedAt }]
 */
export function currentFailures(stream: Pick<Stream, 'version' | 'alerts'>, failures: readonly FailedRule[]): Omit<FailedRule, 'streamVersion'>[] {
  const rules = new Set((stream.alerts ?? []).map((r) => r.name));
  return failures.filter((f) => f.streamVersion === stream.version && rules.has(f.rule)).map(({ streamVersion: _, ...rest }) => rest);
}

/**
 * Evaluates a batch once per rule and series. A rule without a window fires on the first breaching
 * point of the series (if it may fire) and resolves when the series' last point is clear; a window rule
 * compares the window's aggregate instead, at the series' last point.
 *
 * @example
 * const transitions = await evaluateBatch({ rules, series, states, windows, now: clock.now() });
 */
export async function evaluateBatch(input: BatchInput): Promise<Transition[]> {
  return (await evaluateRules(input)).transitions;
}

/**
 * `evaluateBatch`, with the rules that failed: an expression rule that spends more than its budget on the
 * batch (`expressionBudgetMs`) yields no transition and is reported with the reason, the others are
 * evaluated as usual.
 *
 * @example
 * const { transitions, failures } = await evaluateRules({ rules, series, states, windows, now, expressions: { pause } });
 */
export async function evaluateRules(input: BatchInput): Promise<{ transitions: Transition[]; failures: RuleFailure[] }> {
  const transitions: Transition[] = [];
  const failures: RuleFailure[] = [];
  const records = input.series.reduce((n, s) => n + s.points.length, 0);
  const options = input.expressions ?? {};
  const limitMs = options.budgetMs ?? expressionBudgetMs(records);
  for (const rule of input.rules) {
    if (SCHEDULED.has(conditionKind(rule.when))) continue;
    const c = rule.when;
    const out: Transition[] = [];
    try {
      const run = 'expression' in c ? expressionRun(c.expression, new ExpressionBudget(limitMs, options.now), options.pause) : undefined;
      for (const s of input.series) {
        const state = input.states.get(stateKey(rule.name, s.key));
        const found =
          'baseline' in c
            ? await baselineEvaluation(rule, s, input)
            : 'window' in c && c.window?.slide
              ? slidingFinding(c, s.points, input.slides?.get(rule.name)?.get(s.key), parseDuration(c.window.over)!)
              : windowMs(c) !== undefined || 'session' in c
                ? windowEvaluation(rule, s, input.windows)
                : 'zscore' in c || 'mad' in c
                  ? await zscoreEvaluation(rule, s, input.ranges)
                  : await pointEvaluation(c, s, run);
        if (!found) continue;
        const fired = found.breach !== undefined && mayFire(rule, state, input.now);
        if (fired) out.push({ kind: 'fire', rule, series: s.key, dimensions: s.dimensions, breach: found.breach! });
        const wasFiring = state?.state === 'firing';
        if (found.clearAtEnd && (fired || wasFiring)) {
          out.push({ kind: 'resolve', rule, series: s.key, dimensions: s.dimensions, ...(!fired && state?.alertId && { alertId: state.alertId }), time: found.lastTime });
        }
      }
    } catch (err) {
      if (!(err instanceof ExpressionBudgetError)) throw err;
      failures.push({
        rule: rule.name,
        reason: `its expression went over its time budget (${err.message} on a batch of ${records} records); the rule is not evaluated again until the stream is changed`,
      });
      continue;
    }
    transitions.push(...out);
  }
  return { transitions, failures };
}

async function pointEvaluation(c: Condition, s: SeriesPoints, run: ExpressionRun | undefined): Promise<Finding | undefined> {
  let breach: Breach | undefined;
  let clearAtEnd: boolean | undefined;
  let lastTime = 0;
  for (const p of s.points) {
    const b = await pointBreach(c, p, run);
    if (b && !breach) breach = b;
    const clear = b ? false : pointClear(c, p);
    if (clear !== undefined) {
      clearAtEnd = clear;
      lastTime = p.time;
    }
  }
  if (clearAtEnd === undefined) return undefined;
  return { ...(breach && { breach }), clearAtEnd, lastTime };
}

/**
 * A baseline rule: each point (with a window, the window's aggregate) against the threshold its series'
 * history gives (none yet: nothing to say).
 */
async function baselineEvaluation(rule: AlertRule, s: SeriesPoints, input: BatchInput): Promise<Finding | undefined> {
  const c = rule.when;
  if (!('baseline' in c)) return undefined;
  const value = (c.window ? input.thresholds : input.windows)?.get(rule.name)?.get(s.key);
  if (value === undefined) return undefined;
  const threshold = { field: c.field, op: c.op, value };
  return c.window ? windowFinding(threshold, s.points, input.windows.get(rule.name)?.get(s.key)) : pointEvaluation(threshold, s, undefined);
}

/** A z-score rule: each point against the range its series' history allows (no spread yet: nothing to say). */
async function zscoreEvaluation(rule: AlertRule, s: SeriesPoints, ranges: BatchInput['ranges']): Promise<Finding | undefined> {
  const c = rule.when;
  const range = ranges?.get(rule.name)?.get(s.key);
  if (!('zscore' in c || 'mad' in c) || range === undefined) return undefined;
  return pointEvaluation({ field: c.field, outside: [range[0], range[1]] }, s, undefined);
}

function windowEvaluation(rule: AlertRule, s: SeriesPoints, windows: BatchInput['windows']): Finding | undefined {
  const c = rule.when;
  const counting = ('window' in c && c.window?.agg === 'count') || ('session' in c && c.session.agg === 'count');
  return windowFinding(c, s.points, windows.get(rule.name)?.get(s.key) ?? (counting ? 0 : undefined));
}

/** The newest point of a series, as the store reports it for silence checks. */
export interface SeriesLatest {
  key: string;
  dimensions: Record<string, string>;
  time: number;
}

/**
 * Silence rules: a series whose last point is older than `noDataFor` fires (once, cooldown allowing);
 * a firing one whose data came back resolves. Series never seen are not known, so they cannot fall silent.
 *
 * @example
 * const transitions = evaluateSilence({ rules: silenceRules(stream), latest, states, now });
 */
export function evaluateSilence(input: { rules: readonly AlertRule[]; latest: readonly SeriesLatest[]; states: ReadonlyMap<string, SeriesState>; now: number }): Transition[] {
  const out: Transition[] = [];
  for (const rule of input.rules) {
    const c = rule.when;
    if (!('noDataFor' in c)) continue;
    const limit = parseDuration(c.noDataFor)!;
    for (const s of input.latest) {
      const state = input.states.get(stateKey(rule.name, s.key));
      const silent = input.now - s.time >= limit;
      if (silent && mayFire(rule, state, input.now)) {
        out.push({ kind: 'fire', rule, series: s.key, dimensions: s.dimensions, breach: { value: null, time: s.time } });
      } else if (!silent && state?.state === 'firing') {
        out.push({ kind: 'resolve', rule, series: s.key, dimensions: s.dimensions, ...(state.alertId && { alertId: state.alertId }), time: s.time });
      }
    }
  }
  return out;
}

/**
 * The alert a fire transition records, with every action pending.
 *
 * @example
 * const alert = newAlert(stream.id, t, 'freezers.0mh5k2x1a3f9zq', now);
 */
export function newAlert(streamId: string, t: Extract<Transition, { kind: 'fire' }>, id: string, now: number): Alert {
  return {
    id,
    streamId,
    rule: t.rule.name,
    severity: t.rule.severity,
    series: t.series,
    dimensions: t.dimensions,
    value: t.breach.value,
    time: new Date(t.breach.time).toISOString(),
    firedAt: new Date(now).toISOString(),
    state: 'firing',
    acknowledged: false,
    ...(t.breach.data && { data: t.breach.data }),
    actions: t.rule.actions.map((a) => ({ type: a.type, status: 'pending', attempts: 0 })),
  };
}

/**
 * A new alert id: the stream id, a dot, then the time in base 36 (so ids sort by time) and a random part.
 *
 * @example
 * alertId('freezers', 1767225600000, () => 'k3x9qa'); // 'freezers.0mjv3wdc0k3x9qa'
 */
export function alertId(streamId: string, now: number, random: () => string): string {
  return `${streamId}.${now.toString(36).padStart(9, '0')}${random()}`;
}

export { streamOfAlert } from './alert-id';
