import { describe, expect, it } from 'vitest';
import { evaluateBatch, type SeriesPoints } from '../../shared/domain/alert-evaluation';
import { MAX_RULE_SCAN_BYTES, ruleScanEstimate } from '../../shared/domain/alert-rule-cost';
import { AlertRuleSchema, parseConditionText, type AlertRule } from '../../shared/domain/alert-rules';
import { inSeasonalHistory, robustRange, seasonalHours, slidingFinding, touchedSlides } from '../../shared/domain/alert-window-evaluation';
import { parseStreamInput } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import { issuesOf } from '../fixtures/domain';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.parse('2026-03-08T14:00:00Z');
const rule = (when: unknown): AlertRule => AlertRuleSchema.parse({ name: 'r', when });
const point = (time: number, temperature: number): Datapoint => ({ time, dimensions: { deviceId: 'f1' }, values: { temperature } });
const series = (...points: Datapoint[]): SeriesPoints[] => [{ key: '["f1"]', dimensions: { deviceId: 'f1' }, points }];
const base = { name: 'Freezers', type: 'iot_sensor', schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } }, dimensions: ['deviceId'] };
const by = <T>(value: T) => new Map([['r', new Map([['["f1"]', value]])]]);

describe('window and history conditions as text', () => {
  it('reads the sliding, session, robust, seasonal and ratio forms as the objects they stand for', () => {
    expect(parseConditionText('avg(temperature) over 5m sliding 1m > 30')).toEqual({ field: 'temperature', op: '>', value: 30, window: { agg: 'avg', over: '5m', slide: '1m' } });
    expect(parseConditionText('count() over session 10m > 100')).toEqual({ op: '>', value: 100, session: { agg: 'count', gap: '10m' } });
    expect(parseConditionText('max(temperature) over session 10m >= 5')).toEqual({ field: 'temperature', op: '>=', value: 5, session: { agg: 'max', gap: '10m' } });
    expect(parseConditionText('mad(temperature) over 1h > 3.5')).toEqual({ field: 'temperature', op: '>', value: 3.5, mad: { over: '1h' } });
    expect(parseConditionText('zscore(temperature) over same hour of 7d > 3')).toEqual({ field: 'temperature', op: '>', value: 3, zscore: { over: '7d', seasonal: 'hour' } });
    expect(parseConditionText('avg(x) over 1h > 1.2 * avg(x) over 7d')).toEqual({ field: 'x', op: '>', window: { agg: 'avg', over: '1h' }, baseline: { agg: 'avg', over: '7d', factor: 1.2, offset: 0 } });
    expect(parseConditionText('x > 2 * avg(x) over same hour of 7d - 1.5')).toEqual({ field: 'x', op: '>', baseline: { agg: 'avg', over: '7d', factor: 2, offset: -1.5, seasonal: 'hour' } });
    expect(parseConditionText('avg(x) over 1h > 1.2 * avg(y) over 7d')).toBeUndefined();
  });

  it('refuses a slide that does not divide its window, a session aggregate without a field, and a raw robust history over a day, by path', () => {
    const paths = (when: unknown) => issuesOf(() => parseStreamInput({ ...base, alerts: [{ name: 'r', when }] })).map((i) => i.path);
    expect(paths('avg(temperature) over 5m sliding 2m > 30')).toEqual([['alerts', 0, 'when', 'window', 'slide']]);
    expect(paths('avg(temperature) over 1h sliding 1s > 30')).toEqual([['alerts', 0, 'when', 'window', 'slide']]);
    expect(paths('avg() over session 10m > 3')).toEqual([['alerts', 0, 'when', 'field']]);
    expect(paths('mad(temperature) over 2d > 3.5')).toEqual([['alerts', 0, 'when', 'mad', 'over']]);
    expect(paths('zscore(temperature) over same hour of 36h > 3')).toEqual([['alerts', 0, 'when', 'zscore', 'over']]);
    expect(paths('avg(door) over 5m sliding 1m > 3')).toEqual([['alerts', 0, 'when', 'field']]);
  });
});

describe('what a rule costs per evaluation in Timestream', () => {
  it('counts each query at least 10 MB and its span at 64 bytes a record a second', () => {
    expect(ruleScanEstimate(rule('temperature > 30').when)).toEqual({ queries: 0, bytes: 0 });
    expect(ruleScanEstimate(rule('avg(temperature) over 5m sliding 1m > 30').when)).toEqual({ queries: 1, bytes: 10_000_000 });
    expect(ruleScanEstimate(rule('zscore(temperature) over same hour of 7d > 3').when)).toEqual({ queries: 1, bytes: 7 * 86_400 * 64 });
    expect(ruleScanEstimate(rule('avg(temperature) over 1h > 1.2 * avg(temperature) over 7d').when)).toEqual({ queries: 2, bytes: 10_000_000 + 7 * 86_400 * 64 });
    expect(ruleScanEstimate(rule('mad(temperature) over same hour of 7d > 3.5').when)).toEqual({ queries: 7, bytes: 70_000_000 });
  });

  it('refuses a rule over the cap, and a stream whose rules together pass theirs', () => {
    expect(ruleScanEstimate(rule('mad(temperature) over same hour of 28d > 3.5').when).bytes).toBeGreaterThan(MAX_RULE_SCAN_BYTES);
    const one = issuesOf(() => parseStreamInput({ ...base, alerts: [{ name: 'r', when: 'mad(temperature) over same hour of 28d > 3.5' }] }));
    expect(one).toEqual([{ path: ['alerts', 0, 'when'], message: expect.stringContaining('280 MB') }]);
    const many = Array.from({ length: 7 }, (_, i) => ({ name: `b${i}`, when: { field: 'temperature', op: '>', baseline: { over: '30d', factor: 1.1 } } }));
    expect(issuesOf(() => parseStreamInput({ ...base, alerts: many }))).toEqual([{ path: ['alerts'], message: expect.stringContaining('1161 MB') }]);
    expect(() => parseStreamInput({ ...base, alerts: many.slice(0, 6) })).not.toThrow();
  });
});

describe('sliding windows of a rule', () => {
  it('are the windows at each multiple of the slide that hold one of the points', () => {
    expect(touchedSlides([125_000], 5 * MIN, MIN)).toEqual([-2 * MIN, -MIN, 0, MIN, 2 * MIN]);
    expect(touchedSlides([MIN, MIN + 1000], 2 * MIN, MIN)).toEqual([0, MIN]);
    expect(touchedSlides([0, 3 * MIN], MIN, MIN)).toEqual([0, 3 * MIN]);
  });

  it('fire on the first window that breaches and are clear when the newest window is', () => {
    const c = rule('avg(temperature) over 2m sliding 1m > 30').when;
    const points = [point(T0 + 30_000, 40), point(T0 + 90_000, 20)];
    const found = slidingFinding(c, points, [{ start: T0, value: 30 }, { start: T0 - MIN, value: 35 }, { start: T0 + MIN, value: 20 }], 2 * MIN);
    expect(found).toEqual({ breach: { value: 35, time: T0 + 30_000, data: expect.objectContaining({ temperature: 40 }) }, clearAtEnd: true, lastTime: T0 + 90_000 });
    expect(slidingFinding(c, points, [], 2 * MIN)).toBeUndefined();
  });

  it('fire and resolve through evaluateBatch', async () => {
    const r = rule('avg(temperature) over 5m sliding 1m > 30');
    const s = series(point(T0, 31));
    const fired = await evaluateBatch({ rules: [r], series: s, states: new Map(), windows: new Map(), slides: by([{ start: T0, value: 31 }]), now: T0 });
    expect(fired.map((t) => t.kind)).toEqual(['fire']);
    const states = new Map([['r#["f1"]', { rule: 'r', series: '["f1"]', state: 'firing' as const, alertId: 'a1', firedAt: T0 }]]);
    const resolved = await evaluateBatch({ rules: [r], series: s, states, windows: new Map(), slides: by([{ start: T0, value: 29 }]), now: T0 });
    expect(resolved).toEqual([expect.objectContaining({ kind: 'resolve', alertId: 'a1' })]);
  });
});

describe('session, robust, seasonal and ratio rules through evaluateBatch', () => {
  it('compares the current session’s count', async () => {
    const r = rule('count() over session 10m > 100');
    const s = series(point(T0, 1));
    expect((await evaluateBatch({ rules: [r], series: s, states: new Map(), windows: by(101), now: T0 }))[0]).toMatchObject({ kind: 'fire', breach: { value: 101 } });
    expect(await evaluateBatch({ rules: [r], series: s, states: new Map(), windows: by(100), now: T0 })).toEqual([]);
  });

  it('flags a point past 3.5 robust z-scores of its history, not one within', async () => {
    // history 1..5: median 3, MAD 1, so 3.5 robust z-scores reach 3 ± 3.5 / 0.6745 = 3 ± 5.189
    const range = robustRange([1, 2, 3, 4, 5], 3.5)!;
    expect(range[0]).toBeCloseTo(3 - 3.5 / 0.6745, 10);
    expect(range[1]).toBeCloseTo(3 + 3.5 / 0.6745, 10);
    expect(robustRange([2, 2, 2, 9], 3.5)).toBeUndefined();
    const r = rule('mad(temperature) over 1h > 3.5');
    expect(await evaluateBatch({ rules: [r], series: series(point(T0, 8.1)), states: new Map(), windows: new Map(), ranges: by(range), now: T0 })).toEqual([]);
    expect((await evaluateBatch({ rules: [r], series: series(point(T0, 8.2)), states: new Map(), windows: new Map(), ranges: by(range), now: T0 }))[0]).toMatchObject({ kind: 'fire', breach: { value: 8.2 } });
  });

  it('reads the same UTC hour of each day before the point’s day as its seasonal history', () => {
    const at = Date.parse('2026-03-08T14:30:00Z');
    expect(seasonalHours(at, 2)).toEqual([Date.parse('2026-03-06T14:00:00Z'), Date.parse('2026-03-07T14:00:00Z')]);
    expect(inSeasonalHistory(Date.parse('2026-03-01T14:00:00Z'), at, 7)).toBe(true);
    expect(inSeasonalHistory(Date.parse('2026-02-28T14:00:00Z'), at, 7)).toBe(false);
    expect(inSeasonalHistory(Date.parse('2026-03-07T15:00:00Z'), at, 7)).toBe(false);
    expect(inSeasonalHistory(Date.parse('2026-03-08T14:00:00Z'), at, 7)).toBe(false);
  });

  it('compares a window’s aggregate with factor × the history’s mean', async () => {
    const r = rule('avg(temperature) over 1h > 1.2 * avg(temperature) over 7d');
    const s = series(point(T0, 50));
    const judge = (window: number) => evaluateBatch({ rules: [r], series: s, states: new Map(), windows: by(window), thresholds: by(1.2 * 100), now: T0 });
    expect(await judge(120)).toEqual([]);
    expect((await judge(121))[0]).toMatchObject({ kind: 'fire', breach: { value: 121 } });
    expect(await evaluateBatch({ rules: [r], series: s, states: new Map(), windows: by(121), now: T0 })).toEqual([]);
  });
});
