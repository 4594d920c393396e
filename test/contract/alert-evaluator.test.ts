import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAlertEvaluator } from '../../functions/commons/alert-evaluator';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import { DuckDbPointStore } from '../../shared/local/duckdb-point-store';
import { type DynaliteServer, ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import type { AlertExecutionInput, AlertStarter } from '../../shared/ports';

// The evaluator on real engines: the DynamoDB alert store on dynalite, windows read from DuckDB.

const NOW = Date.parse('2026-03-01T12:00:00Z');
const silent = { error: () => {}, info: () => {} };
let dynamo: DynaliteServer;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

function aStream(id: string, alerts: unknown[]): Stream {
  return newStream(
    parseStreamInput({ id, name: id, type: 'iot_sensor', schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } }, dimensions: ['deviceId'], alerts }),
    new Date(NOW),
    () => '',
  );
}
const point = (deviceId: string, time: number, temperature: number): Datapoint => ({ time, dimensions: { deviceId }, values: { temperature } });

async function world() {
  const tableName = `evaluator-${++tables}`;
  await ensureTable(dynamo.client, tableName);
  const alerts = new DynamoDbAlertStore({ client: dynamo.client, tableName });
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
});
