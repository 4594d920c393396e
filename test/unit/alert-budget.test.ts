import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { makeWriter } from '../../functions/writer/app';
import { evaluateRules, expressionBudgetMs, groupBySeries } from '../../shared/domain/alert-evaluation';
import { ExpressionBudget, ExpressionBudgetError } from '../../shared/domain/expression-budget';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { AlertEvaluator, PointStore, StreamRegistry } from '../../shared/ports';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const point = (i: number): Datapoint => ({ time: NOW + i, dimensions: { deviceId: 'f1' }, values: { temperature: i } });
const stream = (id: string, alerts: unknown[] = []) =>
  newStream(parseStreamInput({ id, name: id, type: 'iot_sensor', schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } }, dimensions: ['deviceId'], alerts }), new Date(NOW), () => '');

describe('ExpressionBudget', () => {
  it('ends an evaluation that works past its limit, and does not count the time it is paused', async () => {
    let t = 0;
    const budget = new ExpressionBudget(50, () => t);
    const expr = budget.attach(jsonata('$map([1..100], function($v) { $v * 2 })'));
    await budget.pause(async () => void (t += 1_000));
    expect(budget.elapsed()).toBe(0);
    const steps = expr.evaluate({}).then(() => 'done');
    t += 51;
    await expect(steps).rejects.toBeInstanceOf(ExpressionBudgetError);
  });

  it('ends a recursion deeper than its limit', async () => {
    const expr = new ExpressionBudget(60_000, Date.now, 50).attach(jsonata('($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000))'));
    await expect(expr.evaluate({})).rejects.toThrow(/recursion deeper than 50/);
  });
});

describe('evaluateRules with a time budget', () => {
  it('reports an expression rule that overruns, with the reason, and still evaluates the other rules', async () => {
    const s = stream('s', [
      { name: 'costly', when: { expression: '$count([1..100000]) > 5000000' } },
      { name: 'warm', when: 'temperature > 50' },
      { name: 'cheap', when: { expression: 'temperature > 90' } },
    ]);
    let t = 0;
    const points = Array.from({ length: 100 }, (_, i) => point(i));
    // every look at the clock costs 10 ms: each rule's budget (255 ms) lasts a few dozen JSONata steps
    const { transitions, failures } = await evaluateRules({
      rules: s.alerts!,
      series: groupBySeries(s, points),
      states: new Map(),
      windows: new Map(),
      now: NOW,
      expressions: { now: () => (t += 10), budgetMs: expressionBudgetMs(points.length) },
    });
    expect(failures.map((f) => f.rule)).toContain('costly');
    expect(failures.find((f) => f.rule === 'costly')!.reason).toMatch(/went over its time budget \(ran longer than 255 ms on a batch of 100 records\)/);
    expect(transitions.filter((x) => x.rule.name === 'costly')).toEqual([]);
    expect(transitions.filter((x) => x.rule.name === 'warm').map((x) => x.kind)).toEqual(['fire']);
  });

  it('lets other work in between slices, and does not count that time', async () => {
    const s = stream('s', [{ name: 'costly', when: { expression: '$count([1..20000]) > 5000000' } }]);
    const pauses: number[] = [];
    const { failures } = await evaluateRules({
      rules: s.alerts!,
      series: groupBySeries(s, Array.from({ length: 50 }, (_, i) => point(i))),
      states: new Map(),
      windows: new Map(),
      now: NOW,
      expressions: { budgetMs: 60_000, pause: async (worked) => void pauses.push(worked) },
    });
    expect(failures).toEqual([]);
    expect(pauses.length).toBeGreaterThan(0);
    expect(Math.min(...pauses)).toBeGreaterThanOrEqual(10);
  });
});

describe('the writer runs alert rules only once every stream of the batch is written', () => {
  it("writes another stream's records before the first stream's rules start", async () => {
    const a = stream('a', [{ name: 'costly', when: { expression: 'true' } }]);
    const b = stream('b');
    const events: string[] = [];
    const registry = { get: async (id: string) => ({ a, b })[id], addStats: async () => {} } as unknown as StreamRegistry;
    const store: PointStore = {
      write: async (s, points) => {
        // b's write is the slow one here: a's rules would start first if they ran right after a's write
        if (s.id === 'b') await new Promise((resolve) => setTimeout(resolve, 50));
        events.push(`write ${s.id}`);
        return { written: points.length, rejected: [] };
      },
      query: async () => [],
      latest: async () => [],
    };
    const alerts: AlertEvaluator = { evaluate: async (s) => void events.push(`rules ${s.id}`) };
    const writeBatch = makeWriter({ registry, store, clock: { now: () => NOW }, log: { error: () => {}, info: () => {} }, alerts });
    const message = (streamId: string) => ({ id: streamId, envelope: { streamId, receivedAt: NOW, source: 'http' as const, records: [{ deviceId: 'f1', temperature: 1 }] } });
    await writeBatch([message('a'), message('b')]);
    expect(events).toEqual(['write a', 'write b', 'rules a', 'rules b']);
  });
});
