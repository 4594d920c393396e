import { describe, expect, it } from 'vitest';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import type { Alert } from '../../shared/domain/alert-evaluation';
import { AlertNotFoundError, BadRequestError } from '../../shared/domain/errors';
import { useDynalite } from '../fixtures/dynalite';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const COOLDOWN = 300_000;

const dynamo = useDynalite('alerts');

async function freshStore(): Promise<DynamoDbAlertStore> {
  return new DynamoDbAlertStore({ client: dynamo.client, tableName: await dynamo.freshTable() });
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
    expect(await store.getSigningSecrets('freezers', T0)).toEqual(['whsec_one']);
    expect(await store.getSigningSecrets('boilers', T0)).toEqual([]);
  });
});

describe('DynamoDbAlertStore: reading what a batch touches', () => {
  it('reads only the given rules × series, across many BatchGetItem requests, and leaves out pairs with no state', async () => {
    const store = await freshStore();
    const series = Array.from({ length: 260 }, (_, i) => `["s${i}"]`);
    await Promise.all(series.filter((_, i) => i % 2 === 0).map((s) => store.fire(anAlert({ series: s }), COOLDOWN, T0)));
    await store.fire(anAlert({ rule: 'cold', series: '["s1"]' }), COOLDOWN, T0);

    // 3 rules × 261 series (one repeated) = 780 distinct keys: 8 requests of at most 100
    const states = await store.loadStates('freezers', { rules: ['warm', 'cold', 'gone'], series: [...series, '["s0"]'] });
    expect(states).toHaveLength(131);
    expect(states.filter((s) => s.rule === 'warm').map((s) => s.series).sort()).toEqual(series.filter((_, i) => i % 2 === 0).sort());
    expect(states.find((s) => s.rule === 'cold')).toMatchObject({ series: '["s1"]', state: 'firing', firedAt: T0 });
    expect(await store.loadStates('freezers', { rules: ['warm'], series: ['["s1"]', '["nope"]'] })).toEqual([]);
    expect(await store.loadStates('freezers', { rules: [], series })).toEqual([]);
  });
});

describe('DynamoDbAlertStore: resolved alerts expire', () => {
  const DAY = 86_400_000;
  async function itemsOf(tableName: string, alertId: string) {
    // imported here, not in the file's shared header: the raw items are this block's business alone
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const raw = async (sk: string) =>
      (await dynamo.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'STREAM#freezers' }, sk: { S: sk } }, ConsistentRead: true }))).Item;
    return { alert: await raw(`ALERT#${alertId}`), state: await raw('ALERTSTATE#warm#["f1"]') };
  }

  it('sets expiresAt (epoch seconds) 30 days after the resolve on the alert and its state, and a new fire takes it off the state', async () => {
    const tableName = await dynamo.freshTable();
    const store = new DynamoDbAlertStore({ client: dynamo.client, tableName });
    const first = anAlert();
    await store.fire(first, COOLDOWN, T0);
    let items = await itemsOf(tableName, first.id);
    expect(items.alert?.expiresAt).toBeUndefined();
    expect(items.state?.expiresAt).toBeUndefined();

    await store.resolve('freezers', 'warm', '["f1"]', first.id, T0 + 1_500);
    items = await itemsOf(tableName, first.id);
    const expected = String(Math.floor((T0 + 1_500 + 30 * DAY) / 1000));
    expect(items.alert?.expiresAt).toEqual({ N: expected });
    expect(items.state?.expiresAt).toEqual({ N: expected });

    const second = anAlert({}, T0 + COOLDOWN);
    expect(await store.fire(second, COOLDOWN, T0 + COOLDOWN)).toBe(true);
    items = await itemsOf(tableName, second.id);
    expect(items.state?.expiresAt).toBeUndefined();
    expect(items.alert?.expiresAt).toBeUndefined();
    expect((await itemsOf(tableName, first.id)).alert?.expiresAt).toEqual({ N: expected });
  });

  it('keeps resolved alerts as long as it is told, and refuses a retention shorter than the longest cooldown', async () => {
    const tableName = await dynamo.freshTable();
    const store = new DynamoDbAlertStore({ client: dynamo.client, tableName, resolvedRetentionMs: 90 * DAY });
    const a = anAlert();
    await store.fire(a, COOLDOWN, T0);
    await store.resolve('freezers', 'warm', '["f1"]', a.id, T0);
    expect((await itemsOf(tableName, a.id)).alert?.expiresAt).toEqual({ N: String((T0 + 90 * DAY) / 1000) });
    expect(() => new DynamoDbAlertStore({ client: dynamo.client, tableName, resolvedRetentionMs: DAY })).toThrow(/at least .* \(7 days\)/);
  });
});

describe('DynamoDbAlertStore: replacing a signing secret', () => {
  it('replaces the secret in place, or sets a first one, and a later ensure keeps the replacement', async () => {
    const store = await freshStore();
    await store.ensureSigningSecret('freezers', 'whsec_one');
    await store.replaceSigningSecret('freezers', 'whsec_two', T0 + 1000);
    expect((await store.getSigningSecrets('freezers', T0))[0]).toBe('whsec_two');
    expect(await store.ensureSigningSecret('freezers', 'whsec_three')).toBeUndefined();
    expect((await store.getSigningSecrets('freezers', T0))[0]).toBe('whsec_two');
    await store.replaceSigningSecret('boilers', 'whsec_first', T0 + 1000);
    expect(await store.getSigningSecrets('boilers', T0)).toEqual(['whsec_first']);
  });

  it('signs with the replaced secret too until the rotation\'s overlap ends, then with the new one alone', async () => {
    const store = await freshStore();
    await store.ensureSigningSecret('freezers', 'whsec_one');
    await store.replaceSigningSecret('freezers', 'whsec_two', T0 + 1000);
    expect(await store.getSigningSecrets('freezers', T0 + 999)).toEqual(['whsec_two', 'whsec_one']);
    expect(await store.getSigningSecrets('freezers', T0 + 1000)).toEqual(['whsec_two']);
    await store.replaceSigningSecret('freezers', 'whsec_three', T0 + 2000);
    expect(await store.getSigningSecrets('freezers', T0 + 1500)).toEqual(['whsec_three', 'whsec_two']);
  });
});

describe('DynamoDbAlertStore: failed rules', () => {
  it('keeps one failure per rule, the latest replacing the earlier, and lists them per stream', async () => {
    const store = new DynamoDbAlertStore({ client: dynamo.client, tableName: await dynamo.freshTable() });
    expect(await store.listRuleFailures('freezers')).toEqual([]);
    await store.failRule('freezers', { rule: 'costly', reason: 'over budget', failedAt: '2026-03-01T12:00:00.000Z', streamVersion: 1 });
    await store.failRule('freezers', { rule: 'costly', reason: 'over budget again', failedAt: '2026-03-01T12:05:00.000Z', streamVersion: 2 });
    await store.failRule('freezers', { rule: 'deep', reason: 'x'.repeat(2000), failedAt: '2026-03-01T12:06:00.000Z', streamVersion: 2 });
    await store.failRule('other', { rule: 'costly', reason: 'elsewhere', failedAt: '2026-03-01T12:00:00.000Z', streamVersion: 1 });
    const failures = await store.listRuleFailures('freezers');
    expect(failures.map((f) => [f.rule, f.reason.length, f.streamVersion])).toEqual([
      ['costly', 'over budget again'.length, 2],
      ['deep', 512, 2],
    ]);
    // alerts and states of the stream are unaffected by the failure items
    expect((await store.listByStream('freezers', { limit: 10 })).alerts).toEqual([]);
    expect(await store.loadStates('freezers')).toEqual([]);
  });
});
