import { randomBytes } from 'node:crypto';
import {
  aggregate,
  alertId,
  evaluateRules,
  evaluateSilence,
  groupBySeries,
  ingestRules,
  mayFire,
  newAlert,
  seriesKey,
  silenceRules,
  stateKey,
  windowRules,
  type SeriesPoints,
  type SeriesState,
  type Transition,
} from '../../shared/domain/alert-evaluation';
import { baselineRules, madRules, parseDuration, sessionRules, windowMs, zscoreRules, type AlertRule, type BaselineCondition, type ZScoreCondition } from '../../shared/domain/alert-rules';
import { MAX_LIMIT, type DataQuery } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import { measureFields } from '../../shared/domain/stream-names';
import type { Datapoint, Value } from '../../shared/domain/validate-record';
import type { AlertEvaluator, AlertStarter, AlertStore, Clock, LiveFanout, PointStore, StreamRegistry } from '../../shared/ports';
import { healthBreaches, healthRules } from '../../shared/domain/alert-health-checks';
import { streamHealth } from '../../shared/domain/stream-health';
import { liveAlert } from '../../shared/domain/live-messages';
import { historyMoments, madRanges, sessionAggregates, slidingWindows } from './alert-history';
import type { Logger } from './http';


export interface AlertEvaluatorDeps {
  store: PointStore;
  alerts: AlertStore;
  starter: AlertStarter;
  clock: Clock;
  log: Logger;
  /** The random part of alert ids (tests pass a counter). */
  random?: () => string;
  /**
   * Expression rules: their budget on a batch (`expressionBudgetMs(records)` unless given), the clock it is
   * measured with (`performance.now` unless given), and `pause`, how they let other work in after each
   * slice of work (never unless given: in AWS the batch's streams are all written before rules run; on one
   * machine `shareTheEventLoop`).
   */
  expressions?: { budgetMs?: number; now?: () => number; pause?: (workedMs: number) => Promise<void> };
  /** Live subscriptions: each alert firing and resolving goes out as an `error_alert`. */
  live?: LiveFanout;
  /** The stream stats health-check rules read (`error_rate`, `processing_lag`, `data_freshness`); without it they never fire. */
  stats?: Pick<StreamRegistry, 'getStats'>;
}

/**
 * A `pause` for expression rules that share a process with other streams' writes: after a slice of rule
 * work, the event loop is left to other work for as long (at most 50 ms), so a costly rule takes at most
 * about half of the process.
 *
 * @example
 * makeAlertEvaluator({ store, alerts, starter, clock, log, expressions: { pause: shareTheEventLoop } });
 */
export const shareTheEventLoop = (workedMs: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(Math.ceil(workedMs), 50)));

/** Failed rules remembered per process, keyed by stream and version; past this many keys the memory starts over. */
const MAX_REMEMBERED = 10_000;

const randomPart = () => randomBytes(5).toString('hex').slice(0, 9).padStart(9, '0');

/** The rules over sliding windows. */
const slidingRules = (rules: readonly AlertRule[]) => rules.filter((r) => 'window' in r.when && r.when.window?.slide !== undefined && !('baseline' in r.when));

/** One read per rule, in parallel: by rule name, what `read` gave. */
async function perRule<R extends AlertRule, T>(rules: readonly R[], read: (rule: R) => Promise<T>): Promise<Map<string, T>> {
  return new Map(await Promise.all(rules.map(async (rule) => [rule.name, await read(rule)] as const)));
}

/**
 * Runs a stream's alert rules: on a written batch (`evaluate`, the writer's hook) and on a schedule for
 * silences (`checkSilence`). Per batch and stream: one read of the states of the batch's rules × series
 * (by key, never the stream's other series), one `PointStore.query` per window or history rule (see
 * alert-history.ts; a seasonal MAD rule reads one per day), then one conditional
 * write per transition and one execution start per fired alert with actions. Nothing is read or written
 * per record.
 *
 * @example
 * const alerts = makeAlertEvaluator({ store, alerts: alertStore, starter, clock: systemClock, log: jsonLogger });
 * const writeBatch = makeWriter({ registry, store, clock, log, alerts });
 */
export function makeAlertEvaluator(deps: AlertEvaluatorDeps): AlertEvaluator & { checkSilence(stream: Stream): Promise<void> } {
  const { store, alerts, starter, clock, log } = deps;
  const random = deps.random ?? randomPart;
  const expressions = { now: () => performance.now(), ...deps.expressions };
  /** `<stream>@<version>` → rules that failed at that version: skipped without a read until the stream changes. */
  const failed = new Map<string, Set<string>>();

  async function evaluate(stream: Stream, points: Datapoint[]): Promise<void> {
    const skip = failed.get(`${stream.id}@${stream.version}`);
    const rules = ingestRules(stream).filter((r) => !skip?.has(r.name));
    if (rules.length === 0 || points.length === 0) return;
    const series = groupBySeries(stream, points);
    const touched = { rules: rules.map((r) => r.name), series: series.map((s) => s.key) };
    const [states, windows, baselines, ranges, slides, sessions] = await Promise.all([
      statesOf(stream.id, touched),
      windowAggregates(stream, windowRules(rules), series),
      baselineThresholds(stream, baselineRules(rules), series),
      anomalyRanges(stream, rules, series),
      perRule(slidingRules(rules), (rule) => slidingWindows(store, stream, rule, series)),
      perRule(sessionRules(rules), (rule) => sessionAggregates(store, stream, rule, series)),
    ]);
    for (const [rule, bySeries] of sessions) windows.set(rule, bySeries);
    const thresholds = new Map<string, Map<string, number>>();
    for (const [rule, bySeries] of baselines) (rules.find((r) => r.name === rule && 'window' in r.when && r.when.window) ? thresholds : windows).set(rule, bySeries);
    const { transitions, failures } = await evaluateRules({ rules, series, states, windows, thresholds, ranges, slides, now: clock.now(), expressions });
    await Promise.all([apply(stream, transitions), ...failures.map((f) => fail(stream, f.rule, f.reason))]);
  }

  /** Remembers a failed rule (this process skips it) and keeps it, with the reason, for the status and alerts listing. */
  async function fail(stream: Stream, rule: string, reason: string): Promise<void> {
    const key = `${stream.id}@${stream.version}`;
    if (failed.size >= MAX_REMEMBERED && !failed.has(key)) failed.clear();
    failed.set(key, (failed.get(key) ?? new Set()).add(rule));
    log.error('alert rule failed', { streamId: stream.id, rule, reason });
    await alerts.failRule(stream.id, { rule, reason, failedAt: new Date(clock.now()).toISOString(), streamVersion: stream.version });
  }

  async function checkSilence(stream: Stream): Promise<void> {
    const rules = silenceRules(stream);
    const health = deps.stats ? healthRules(stream.alerts ?? []) : [];
    if (rules.length === 0 && health.length === 0) return;
    const [rows, states, stats] = await Promise.all([
      rules.length ? store.latest(stream, { fields: measureFields(stream), filters: {} }) : [],
      statesOf(stream.id),
      health.length ? deps.stats!.getStats(stream.id, clock.now()) : undefined,
    ]);
    const now = clock.now();
    const latest = rows.map((r) => ({ key: seriesKey(stream.dimensions, r.dimensions), dimensions: r.dimensions, time: r.time }));
    const transitions = evaluateSilence({ rules, latest, states, now });
    if (stats) {
      // stream-wide figures: one series, the stream's
      const series = seriesKey([], {});
      const figures = streamHealth({ stream, buckets: stats.healthBuckets ?? [], ...(stats.lastDataAt !== undefined && { lastDataAt: stats.lastDataAt }), now });
      for (const { rule, breached, value } of healthBreaches(health, figures)) {
        const state = states.get(stateKey(rule.name, series));
        if (breached && mayFire(rule, state, now)) transitions.push({ kind: 'fire', rule, series, dimensions: {}, breach: { value: value!, time: now } });
        else if (!breached && state?.state === 'firing') transitions.push({ kind: 'resolve', rule, series, dimensions: {}, ...(state.alertId && { alertId: state.alertId }), time: now });
      }
    }
    await apply(stream, transitions);
  }

  /** The states of `only`'s rules × series (a batch reads what it touches), or all of the stream's. */
  async function statesOf(streamId: string, only?: { rules: string[]; series: string[] }): Promise<Map<string, SeriesState>> {
    return new Map((await alerts.loadStates(streamId, only)).map((s) => [stateKey(s.rule, s.series), s]));
  }

  /** One query per window rule over the batch's series, aggregated per series over the window ending at its last point. */
  async function windowAggregates(stream: Stream, rules: AlertRule[], series: SeriesPoints[]): Promise<Map<string, Map<string, number>>> {
    const out = new Map<string, Map<string, number>>();
    if (rules.length === 0) return out;
    const lastOf = new Map(series.map((s) => [s.key, s.points[s.points.length - 1]!.time]));
    const filters: Record<string, string[]> = {};
    for (const d of stream.dimensions) filters[d] = [...new Set(series.map((s) => s.dimensions[d] ?? ''))];
    const lasts = [...lastOf.values()];
    await Promise.all(
      rules.map(async (rule) => {
        const c = rule.when;
        if (!('window' in c) || !c.window || c.window.slide) return;
        const span = windowMs(c)!;
        const q: DataQuery = {
          start: Math.min(...lasts) - span,
          end: Math.max(...lasts) + 1,
          fields: [c.field],
          granularity: 'raw',
          binMs: 0,
          downsamplers: [],
          filters,
          keyDimensions: [...stream.dimensions],
          groupBy: [],
          limit: MAX_LIMIT,
          order: 'desc',
        };
        const values = new Map<string, Value[]>();
        for (const row of await store.query(stream, q)) {
          const key = seriesKey(stream.dimensions, row.dimensions);
          const last = lastOf.get(key);
          const v = row.values[c.field];
          if (last === undefined || row.time < last - span || row.time > last || v === null || v === undefined || typeof v === 'object') continue;
          const list = values.get(key);
          if (list) list.push(v);
          else values.set(key, [v]);
        }
        const byRule = new Map<string, number>();
        for (const [key, list] of values) {
          const a = aggregate(c.window.agg, list);
          if (a !== undefined) byRule.set(key, a);
        }
        out.set(rule.name, byRule);
      }),
    );
    return out;
  }

  /** Per baseline rule and series: `factor × mean + offset` of the field over the rule's history before the batch. */
  async function baselineThresholds(stream: Stream, rules: (AlertRule & { when: BaselineCondition })[], series: SeriesPoints[]): Promise<Map<string, Map<string, number>>> {
    const out = new Map<string, Map<string, number>>();
    if (rules.length === 0) return out;
    await Promise.all(
      rules.map(async (rule) => {
        const c = rule.when;
        const moments = await historyMoments(store, stream, c.field, { overMs: parseDuration(c.baseline.over)!, seasonal: c.baseline.seasonal }, series);
        out.set(rule.name, new Map([...moments].map(([key, { sum, n }]) => [key, c.baseline.factor * (sum / n) + c.baseline.offset])));
      }),
    );
    return out;
  }

  /**
   * Per z-score rule and series: the values within `value` sample standard deviations of the history's mean
   * (`[mean - z·s, mean + z·s]`); a series with fewer than two points of history, or none apart, has none.
   */
  async function zscoreRanges(stream: Stream, rules: (AlertRule & { when: ZScoreCondition })[], series: SeriesPoints[]): Promise<Map<string, Map<string, readonly [number, number]>>> {
    const out = new Map<string, Map<string, readonly [number, number]>>();
    await Promise.all(
      rules.map(async (rule) => {
        const c = rule.when;
        const ranges = new Map<string, readonly [number, number]>();
        for (const [key, { n, sum, squares }] of await historyMoments(store, stream, c.field, { overMs: parseDuration(c.zscore.over)!, seasonal: c.zscore.seasonal }, series)) {
          if (n < 2) continue;
          const mean = sum / n;
          const sd = Math.sqrt(Math.max(0, (squares - n * mean * mean) / (n - 1)));
          if (!(sd > 0)) continue;
          ranges.set(key, [mean - c.value * sd, mean + c.value * sd]);
        }
        out.set(rule.name, ranges);
      }),
    );
    return out;
  }

  /** Z-score and MAD rules' ranges, by rule. */
  async function anomalyRanges(stream: Stream, rules: AlertRule[], series: SeriesPoints[]): Promise<Map<string, Map<string, readonly [number, number]>>> {
    const [z, mad] = await Promise.all([zscoreRanges(stream, zscoreRules(rules), series), perRule(madRules(rules), (rule) => madRanges(store, stream, rule, series))]);
    for (const [rule, bySeries] of mad) z.set(rule, bySeries);
    return z;
  }

  /** Applies transitions: each (rule, series) in order, the pairs in parallel. */
  async function apply(stream: Stream, transitions: Transition[]): Promise<void> {
    const byPair = new Map<string, Transition[]>();
    for (const t of transitions) {
      const key = stateKey(t.rule.name, t.series);
      const list = byPair.get(key);
      if (list) list.push(t);
      else byPair.set(key, [t]);
    }
    await Promise.all([...byPair.values()].map((list) => applyPair(stream, list)));
  }

  async function applyPair(stream: Stream, list: Transition[]): Promise<void> {
    let firedId: string | undefined;
    for (const t of list) {
      const now = clock.now();
      if (t.kind === 'fire') {
        const alert = newAlert(stream.id, t, alertId(stream.id, now, random), now);
        if (!(await alerts.fire(alert, parseDuration(t.rule.cooldown) ?? 0, now))) continue;
        firedId = alert.id;
        log.info('alert fired', { streamId: stream.id, alertId: alert.id, rule: t.rule.name, series: t.series });
        await deps.live?.publish(stream.id, { type: 'error_alert', streamId: stream.id, state: 'firing', alert: liveAlert(alert) });
        if (t.rule.actions.length === 0) continue;
        await starter.start({ alert, actions: t.rule.actions.map((action, index) => ({ index, action })) }).catch((err: unknown) => {
          log.error('alert actions not started', { streamId: stream.id, alertId: alert.id, error: (err as Error).name, reason: (err as Error).message });
        });
      } else {
        const id = t.alertId ?? firedId;
        if (id && (await alerts.resolve(stream.id, t.rule.name, t.series, id, now))) {
          log.info('alert resolved', { streamId: stream.id, alertId: id, rule: t.rule.name, series: t.series });
          if (deps.live) await publishResolved(stream.id, id);
        }
      }
    }
  }

  /** The resolved alert as it is stored now; a failed read only costs the subscribers this message. */
  async function publishResolved(streamId: string, alertId: string): Promise<void> {
    const alert = await alerts.get(alertId).catch(() => undefined);
    if (alert) await deps.live!.publish(streamId, { type: 'error_alert', streamId, state: 'resolved', alert: liveAlert(alert) });
  }

  return { evaluate, checkSilence };
}
