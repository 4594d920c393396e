import { describe, expect, it } from 'vitest';
import { makeAlertEvaluator } from '../../functions/commons/alert-evaluator';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { Alert } from '../../shared/domain/alert-evaluation';
import type { Datapoint } from '../../shared/domain/validate-record';
import { DuckDbPointStore } from '../../shared/local/duckdb/duckdb-point-store';
import type { AlertExecutionInput, AlertStarter } from '../../shared/ports';
import { useDynalite } from '../fixtures/dynalite';

// The evaluator on real engines: the DynamoDB alert store on dynalite, windows read from DuckDB.

const NOW = Date.parse('2026-03-01T12:00:00Z');
const silent = { error: () => {}, info: () => {} };
const dynamo = useDynalite('evaluator');

function aStream(id: string, alerts: unknown[]): Stream {
  return newStream(
    parseStreamInput({ id, name: id, type: 'iot_sensor', schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } }, dimensions: ['deviceId'], alerts }),
    new Date(NOW),
    () => '',
  );
}
const point = (deviceId: string, time: number, temperature: number): Datapoint => ({ time, dimensions: { deviceId }, values: { temperature } });

async function world() {
  const alerts = new DynamoDbAlertStore({ client: dynamo.client, tableName: await dynamo.freshTable() });
  const store = await DuckDbPointStore.open(':memory:');
  const started: AlertExecutionInput[] = [];
  const starter: AlertStarter = { start: async (input) => void started.push(input) };
  let n = 0;
  const evaluator = makeAlertEvaluator({ store, alerts, starter, clock: { now: () => NOW }, log: silent, random: () => String(++n).padStart(9, '0') });
  return { alerts, store, started, evaluator };
}

describe('makeAlertEvaluator', () => {
  it('fires once and starts one execution when two batches breach the same series at once', async () => {
    const { alerts, started, evaluator } = await world();
    const stream = aStream('race', [{ name: 'warm', when: 'temperature > -15', actions: [{ type: 'webhook', url: 'https://ops.example.com/h' }] }]);
    await Promise.all([evaluator.evaluate(stream, [point('f1', NOW, -10)]), evaluator.evaluate(stream, [point('f1', NOW + 1, -9)])]);
    expect(started).toHaveLength(1);
    expect(started[0]!.actions).toEqual([{ index: 0, action: { type: 'webhook', url: 'https://ops.example.com/h' } }]);
    expect((await alerts.listByStream('race', { limit: 10 })).alerts).toHaveLength(1);
  });

  it('reads a window from the store, per series, ending at each series newest point', async () => {
    const { alerts, store, evaluator } = await world();
    const stream = aStream('win', [{ name: 'hot', when: 'avg(temperature) over 5m > 30' }]);
    const hot = [point('a', NOW - 240_000, 40), point('a', NOW, 40)];
    const spike = [point('b', NOW - 600_000, 90), point('b', NOW - 240_000, 10), point('b', NOW, 45)];
    await store.write(stream, [...hot, ...spike]);
    await evaluator.evaluate(stream, [hot[1]!, spike[2]!]);
    const fired = (await alerts.listByStream('win', { limit: 10 })).alerts;
    // b: the 90 is outside its window, (10 + 45) / 2 = 27.5 stays under 30
    expect(fired.map((a) => [a.dimensions.deviceId, a.value])).toEqual([['a', 40]]);
    await store.close();
  });

  it('records an alert without actions and starts nothing for it', async () => {
    const { alerts, started, evaluator } = await world();
    const stream = aStream('quiet', [{ name: 'warm', when: 'temperature > -15' }]);
    await evaluator.evaluate(stream, [point('f1', NOW, -1)]);
    expect(started).toEqual([]);
    expect((await alerts.listByStream('quiet', { limit: 10 })).alerts.map((a) => a.state)).toEqual(['firing']);
  });

  it('reads only the states a batch touches, and still fires and resolves right among thousands of series', async () => {
    const { alerts, store, started } = await world();
    let read = 0;
    const counting: typeof alerts = Object.assign(Object.create(alerts) as typeof alerts, {
      loadStates: async (streamId: string, only?: { rules: readonly string[]; series: readonly string[] }) => {
        const states = await alerts.loadStates(streamId, only);
        read += states.length;
        return states;
      },
    });
    let n = 0;
    const evaluator = makeAlertEvaluator({ store, alerts: counting, starter: { start: async (input) => void started.push(input) }, clock: { now: () => NOW }, log: silent, random: () => String(++n).padStart(9, '0') });
    const stream = aStream('fleet', [{ name: 'warm', when: 'temperature > -15' }, { name: 'very warm', when: 'temperature > 0' }]);
    const fleet = Array.from({ length: 1500 }, (_, i) => point(`f${i}`, NOW, -10));
    await evaluator.evaluate(stream, fleet);
    expect(read).toBe(0);
    const states = await alerts.loadStates('fleet');
    expect(states.filter((s) => s.state === 'firing')).toHaveLength(1500);

    read = 0;
    // f1 is still warm (firing already: nothing new), f2 is back in range (resolves), f9999 is new and very warm
    await evaluator.evaluate(stream, [point('f1', NOW + 1, -11), point('f2', NOW + 1, -20), point('f9999', NOW + 1, 5)]);
    expect(read).toBe(2);
    const fired: Alert[] = [];
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await alerts.listByStream('fleet', { limit: 1000, ...(cursor && { cursor }) });
      fired.push(...page.alerts);
      cursor = page.nextCursor;
    }
    expect(fired).toHaveLength(1502);
    const of = (deviceId: string) => fired.filter((a) => a.dimensions.deviceId === deviceId).map((a) => [a.rule, a.state]);
    expect(of('f1')).toEqual([['warm', 'firing']]);
    expect(of('f2')).toEqual([['warm', 'resolved']]);
    expect(of('f9999').sort()).toEqual([['very warm', 'firing'], ['warm', 'firing']]);
    await store.close();
  }, 120_000);
});

describe('makeAlertEvaluator: an expression rule over its time budget', () => {
  it('is marked failed with the reason, skipped on later batches until the stream changes, while the other rules fire', async () => {
    const { alerts, store } = await world();
    let evaluations = 0;
    // a clock that moves 100 ms on every look: the budget of 255 ms is spent within the first record
    let t = 0;
    const errors: string[] = [];
    const evaluator = makeAlertEvaluator({
      store,
      alerts,
      starter: { start: async () => {} },
      clock: { now: () => NOW },
      log: { ...silent, error: (m) => void errors.push(m) },
      expressions: { now: () => (evaluations++, (t += 100)) },
    });
    const stream = aStream('costly', [
      { name: 'costly', when: { expression: '$count([1..1000]) > 5000' } },
      { name: 'warm', when: 'temperature > -15' },
    ]);
    const batch = Array.from({ length: 100 }, (_, i) => point('f1', NOW + i, -10));
    await evaluator.evaluate(stream, batch);

    const failures = await alerts.listRuleFailures('costly');
    expect(failures).toEqual([{ rule: 'costly', reason: expect.stringMatching(/time budget \(ran longer than 255 ms on a batch of 100 records\)/), failedAt: new Date(NOW).toISOString(), streamVersion: 1 }]);
    expect(errors).toEqual(['alert rule failed']);
    expect((await alerts.listByStream('costly', { limit: 10 })).alerts.map((a) => a.rule)).toEqual(['warm']);

    const looked = evaluations;
    await evaluator.evaluate(stream, batch);
    expect(evaluations, 'the failed rule is not run again at the same version').toBe(looked);

    await evaluator.evaluate({ ...stream, version: 2 }, batch);
    expect(evaluations).toBeGreaterThan(looked);
    expect((await alerts.listRuleFailures('costly')).map((f) => f.streamVersion)).toEqual([2]);
    await store.close();
  });
});
