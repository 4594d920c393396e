import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import type { Alert } from '../../shared/domain/alert-evaluation';
import { AlertNotFoundError, BadRequestError } from '../../shared/domain/errors';
import { type DynaliteServer, ensureTable, startDynalite } from '../../shared/local/dynalite-server';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const COOLDOWN = 300_000;

let dynamo: DynaliteServer;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

async function freshStore(): Promise<DynamoDbAlertStore> {
  const tableName = `alerts-${++tables}`;
  await ensureTable(dynamo.client, tableName);
  return new DynamoDbAlertStore({ client: dynamo.client, tableName });
}

let seq = 0;
function anAlert(overrides: Partial<Alert> = {}, at = T0): Alert {
  const streamId = overrides.streamId ?? 'freezers';
  return {
    id: `${streamId}.${at.toString(36).padStart(9, '0')}${String(++seq).padStart(6, '0')}`,
    streamId,
    rule: 'warm',
    severity: 'critical',
    series: '["f1"]',
    dimensions: { deviceId: 'f1' },
    value: -12,
    time: new Date(at).toISOString(),
    firedAt: new Date(at).toISOString(),
    state: 'firing',
    acknowledged: false,
    data: { deviceId: 'f1', temperature: -12 },
    actions: [
      { type: 'webhook', status: 'pending', attempts: 0 },
      { type: 'mqtt_publish', status: 'pending', attempts: 0 },
    ],
    ...overrides,
  };
}

describe('DynamoDbAlertStore on dynalite', () => {
  it('of two concurrent fires of the same rule and series, exactly one wins and records its alert', async () => {
    const store = await freshStore();
    const a = anAlert();
    const b = anAlert();
    const results = await Promise.all([store.fire(a, COOLDOWN, T0), store.fire(b, COOLDOWN, T0)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const page = await store.listByStream('freezers', { limit: 10 });
    expect(page.alerts).toHaveLength(1);
    expect([a.id, b.id]).toContain(page.alerts[0]!.id);
    const states = await store.loadStates('freezers');
    expect(states).toEqual([{ rule: 'warm', series: '["f1"]', state: 'firing', alertId: page.alerts[0]!.id, firedAt: T0 }]);
  });

  it('does not fire again while firing, nor within the cooldown after a resolve, and fires after it', async () => {
    const store = await freshStore();
    const first = anAlert();
    expect(await store.fire(first, COOLDOWN, T0)).toBe(true);
    expect(await store.fire(anAlert({}, T0 + 1_000), COOLDOWN, T0 + 1_000)).toBe(false);
    expect(await store.resolve('freezers', 'warm', '["f1"]', first.id, T0 + 2_000)).toBe(true);
    expect(await store.fire(anAlert({}, T0 + 60_000), COOLDOWN, T0 + 60_000)).toBe(false);
    expect(await store.fire(anAlert({}, T0 + COOLDOWN), COOLDOWN, T0 + COOLDOWN)).toBe(true);
    const resolved = await store.get(first.id);
    expect(resolved).toMatchObject({ state: 'resolved', resolvedAt: new Date(T0 + 2_000).toISOString() });
  });

  it('resolves only the alert that is firing', async () => {
    const store = await freshStore();
    const a = anAlert();
    await store.fire(a, COOLDOWN, T0);
    expect(await store.resolve('freezers', 'warm', '["f1"]', 'freezers.000000000999999', T0)).toBe(false);
    expect(await store.resolve('freezers', 'warm', '["f2"]', a.id, T0)).toBe(false);
    expect((await store.get(a.id))?.state).toBe('firing');
  });

  it('lists a stream newest first and by state across streams, page by page', async () => {
    const store = await freshStore();
    const alerts = [0, 1, 2].map((i) => anAlert({ series: `["s${i}"]` }, T0 + i * 1_000));
    for (const a of alerts) await store.fire(a, COOLDOWN, T0);
    const other = anAlert({ streamId: 'boilers' }, T0 + 5_000);
    await store.fire(other, COOLDOWN, T0);
    await store.resolve('freezers', 'warm', '["s1"]', alerts[1]!.id, T0 + 9_000);

    const first = await store.listByStream('freezers', { limit: 2 });
    expect(first.alerts.map((a) => a.id)).toEqual([alerts[2]!.id, alerts[1]!.id]);
    const second = await store.listByStream('freezers', { limit: 2, cursor: first.nextCursor! });
    expect(second.alerts.map((a) => a.id)).toEqual([alerts[0]!.id]);

    const firing: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listByState('firing', { limit: 1, ...(cursor && { cursor }) });
      firing.push(...page.alerts.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(firing).toEqual([other.id, alerts[2]!.id, alerts[0]!.id]);
    expect((await store.listByState('resolved', { limit: 10 })).alerts.map((a) => a.id)).toEqual([alerts[1]!.id]);
  });

  it('refuses a cursor it did not issue with a 400 naming the cursor', async () => {
    const store = await freshStore();
    await expect(store.listByStream('freezers', { limit: 5, cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(store.listByState('firing', { limit: 5, cursor: '!!' })).rejects.toMatchObject({ issues: [{ path: ['cursor'] }] });
  });

  it('counts attempts and keeps the last error and each final status', async () => {
    const store = await freshStore();
    const a = anAlert();
    await store.fire(a, COOLDOWN, T0);
    await store.recordAttempt(a.id, 0, T0 + 1, 'HTTP 500');
    await store.recordAttempt(a.id, 0, T0 + 2, 'HTTP 502');
    await store.recordAttempt(a.id, 0, T0 + 3);
    await store.recordAttempt(a.id, 1, T0 + 4, 'broker down');
    await store.recordOutcomes(a.id, [{ index: 0, status: 'succeeded' }, { index: 1, status: 'failed', error: 'broker down' }], T0 + 5);
    const got = await store.get(a.id);
    expect(got?.actions).toEqual([
      { type: 'webhook', status: 'succeeded', attempts: 3, lastError: 'HTTP 502', lastAttemptAt: new Date(T0 + 3).toISOString() },
      { type: 'mqtt_publish', status: 'failed', attempts: 1, lastError: 'broker down', lastAttemptAt: new Date(T0 + 4).toISOString() },
    ]);
  });

  it('acknowledges once, keeping the first time, and reports an unknown alert', async () => {
    const store = await freshStore();
    const a = anAlert();
    await store.fire(a, COOLDOWN, T0);
    expect(await store.acknowledge(a.id, T0 + 10)).toMatchObject({ acknowledged: true, acknowledgedAt: new Date(T0 + 10).toISOString() });
    expect((await store.acknowledge(a.id, T0 + 20)).acknowledgedAt).toBe(new Date(T0 + 10).toISOString());
    await expect(store.acknowledge('freezers.000000000nothere', T0)).rejects.toBeInstanceOf(AlertNotFoundError);
    await expect(store.acknowledge('not an id', T0)).rejects.toBeInstanceOf(AlertNotFoundError);
  });

  it('keeps a stream signing secret: the first one stored wins and is returned once', async () => {
    const store = await freshStore();
    expect(await store.ensureSigningSecret('freezers', 'whsec_one')).toBe('whsec_one');
    expect(await store.ensureSigningSecret('freezers', 'whsec_two')).toBeUndefined();
    expect(await store.getSigningSecret('freezers')).toBe('whsec_one');
    expect(await store.getSigningSecret('boilers')).toBeUndefined();
  });
});
