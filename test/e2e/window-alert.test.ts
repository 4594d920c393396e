import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { waitForValue } from '../fixtures/waiting';
import { startLocal } from './harness';
import { alertHelpers } from '../fixtures/alert-settle';

/**
 * Window rules on the local runtime (DuckDB's sliding and session windows): `avg(temperature) over 5m sliding
 * 1m > 30` judges every 5-minute window (one a minute) that holds a new reading, fires with its email when one
 * passes 30 and resolves when the newest is clear; `count() over session 10m > 3` counts the readings of the
 * current session and resolves when a gap of more than 10 minutes starts another.
 */

const emails: string[] = [];
const local = startedForSuite(() => startLocal({ alerts: { retryIntervalMs: 5, emailLog: (line) => emails.push(line) } }));

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const { alertsOf, settle } = alertHelpers(local);
const schema = { deviceId: { type: 'string', required: true }, temperature: { type: 'number' }, timestamp: { type: 'datetime', required: true } };

describe('window rules on the local runtime', () => {
  it('fires a sliding-window rule on the window that passes its threshold, with its action, and resolves', async () => {
    const created = await local.api('/v1/streams', {
      body: {
        name: 'Sliding freezers',
        type: 'iot_sensor',
        schema,
        dimensions: ['deviceId'],
        alerts: [{ name: 'warm window', when: 'avg(temperature) over 5m sliding 1m > 30', cooldown: '1m', actions: [{ type: 'email', to: ['ops@example.com'], subject: 'Warm window on {{alert.dimensions.deviceId}}: {{alert.value}}' }] }],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id, ingestToken } = created.body;
    expect(created.body.alerts[0].when).toEqual({ field: 'temperature', op: '>', value: 30, window: { agg: 'avg', over: '5m', slide: '1m' } });

    const base = Math.floor((Date.now() - 30 * MIN) / MIN) * MIN;
    await settle(id, [{ deviceId: 'f1', temperature: 20, timestamp: iso(base) }, { deviceId: 'f1', temperature: 22, timestamp: iso(base + 20_000) }], ingestToken);
    // f2's one hot reading is its own window's average
    await settle(id, [{ deviceId: 'f2', temperature: 29, timestamp: iso(base + MIN) }], ingestToken);
    expect(await alertsOf(id)).toEqual([]);

    // 50 two minutes on: the windows from base - 2m to base hold 20, 22 and 50, an average of 30.67
    await settle(id, [{ deviceId: 'f1', temperature: 50, timestamp: iso(base + 2 * MIN) }], ingestToken);
    const fired = await waitForValue('the window alert', async () => (await alertsOf(id))[0]);
    expect(fired).toMatchObject({ rule: 'warm window', dimensions: { deviceId: 'f1' }, state: 'firing', time: iso(base + 2 * MIN) });
    expect(fired.value).toBeCloseTo(92 / 3, 10);
    const mail = await waitForValue('the alert email', () => emails.map((l) => JSON.parse(l)).find((m) => String(m.subject).startsWith('Warm window on f1')));
    expect(mail.subject).toMatch(/^Warm window on f1: 30\.66/);

    // 10 at base + 8m: every window holding it ([base + 4m, base + 9m) and later) averages 10
    await settle(id, [{ deviceId: 'f1', temperature: 10, timestamp: iso(base + 8 * MIN) }], ingestToken);
    const resolved = await waitForValue('the window alert to resolve', async () => ((await alertsOf(id))[0]?.state === 'resolved' ? (await alertsOf(id))[0] : undefined));
    expect(resolved).toMatchObject({ id: fired.id, state: 'resolved' });
    expect(await alertsOf(id)).toHaveLength(1);
  });

  it('fires a session rule on the session’s fourth reading and resolves when a gap starts another', async () => {
    const created = await local.api('/v1/streams', {
      body: { name: 'Session freezers', type: 'iot_sensor', schema, dimensions: ['deviceId'], alerts: [{ name: 'busy session', when: 'count() over session 10m > 3', cooldown: '1m' }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id, ingestToken } = created.body;
    const base = Math.floor((Date.now() - 60 * MIN) / MIN) * MIN;
    await settle(id, [0, 5, 9].map((m) => ({ deviceId: 'f1', temperature: 1, timestamp: iso(base + m * MIN) })), ingestToken);
    expect(await alertsOf(id)).toEqual([]);
    await settle(id, [{ deviceId: 'f1', temperature: 1, timestamp: iso(base + 18 * MIN) }], ingestToken);
    const fired = await waitForValue('the session alert', async () => (await alertsOf(id))[0]);
    expect(fired).toMatchObject({ rule: 'busy session', value: 4, state: 'firing' });
    // 11 minutes later: a new session of one reading
    await settle(id, [{ deviceId: 'f1', temperature: 1, timestamp: iso(base + 29 * MIN) }], ingestToken);
    const resolved = await waitForValue('the session alert to resolve', async () => ((await alertsOf(id))[0]?.state === 'resolved' ? (await alertsOf(id))[0] : undefined));
    expect(resolved).toMatchObject({ id: fired.id, state: 'resolved' });
  });
});
