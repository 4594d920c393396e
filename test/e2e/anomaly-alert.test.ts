import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { waitForValue } from '../fixtures/waiting';
import { startLocal } from './harness';
import { alertHelpers } from '../fixtures/alert-settle';

/**
 * An anomaly rule on the local runtime: `zscore(temperature) over 1h > 3` judges each reading against the
 * mean and sample standard deviation of its series' hour before the batch (DuckDB), fires with its action on
 * a spike, not on ordinary noise nor without history, and resolves when readings are ordinary again.
 */

const emails: string[] = [];
const local = startedForSuite(() => startLocal({ alerts: { retryIntervalMs: 5, emailLog: (line) => emails.push(line) } }));

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const { alertsOf, settle } = alertHelpers(local);

describe('an anomaly rule (z-score against the series’ own last hour) on the local runtime', () => {
  it('fires on a 5σ spike with its action, stays quiet on noise and without history, and resolves', async () => {
    const created = await local.api('/v1/streams', {
      body: {
        name: 'Freezer anomalies',
        type: 'iot_sensor',
        schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' }, timestamp: { type: 'datetime', required: true } },
        dimensions: ['deviceId'],
        alerts: [{ name: 'temperature anomaly', severity: 'warning', when: 'zscore(temperature) over 1h > 3', cooldown: '1m', actions: [{ type: 'email', to: ['ops@example.com'], subject: 'Anomaly on {{alert.dimensions.deviceId}}: {{alert.value}}' }] }],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id, ingestToken } = created.body;
    expect(created.body.alerts[0].when).toEqual({ field: 'temperature', op: '>', value: 3, zscore: { over: '1h' } });

    const now = Date.now();
    // f2 has no history: even an odd first reading cannot be judged
    await settle(id, [{ deviceId: 'f2', temperature: 40, timestamp: iso(now - 5 * MIN) }], ingestToken);
    // f1's last hour: -18 ± 0.5 (mean -18, sample sd ≈ 0.52)
    const history = [-18.5, -17.5, -18, -18.5, -17.5, -18, -18.5, -17.5, -18, -18];
    await settle(id, history.map((t, i) => ({ deviceId: 'f1', temperature: t, timestamp: iso(now - 50 * MIN + i * 4 * MIN) })), ingestToken);
    // ordinary noise, under 3σ: nothing
    await settle(id, [{ deviceId: 'f1', temperature: -17.2, timestamp: iso(now - 8 * MIN) }], ingestToken);
    expect(await alertsOf(id)).toEqual([]);

    // a spike five standard deviations up
    await settle(id, [{ deviceId: 'f1', temperature: -15.3, timestamp: iso(now - 6 * MIN) }], ingestToken);
    const fired = await waitForValue('the anomaly alert', async () => (await alertsOf(id))[0]);
    expect(fired).toMatchObject({ rule: 'temperature anomaly', dimensions: { deviceId: 'f1' }, value: -15.3, state: 'firing' });
    const mail = await waitForValue('the alert email', () => emails.map((l) => JSON.parse(l)).find((m) => String(m.subject).startsWith('Anomaly on f1')));
    expect(mail.subject).toBe('Anomaly on f1: -15.3');

    // ordinary again (within 3σ of the hour, which now holds the spike): resolved
    await settle(id, [{ deviceId: 'f1', temperature: -18, timestamp: iso(now - 4 * MIN) }], ingestToken);
    const resolved = await waitForValue('the anomaly to resolve', async () => ((await alertsOf(id))[0]?.state === 'resolved' ? (await alertsOf(id))[0] : undefined));
    expect(resolved).toMatchObject({ id: fired.id, state: 'resolved' });
    expect(await alertsOf(id)).toHaveLength(1);
  });

  it('refuses a z-score of no standard deviations, and reads the object form', async () => {
    const bad = await local.api('/v1/streams', {
      body: { name: 'Bad anomaly', type: 'iot_sensor', schema: { v: { type: 'number' } }, alerts: [{ name: 'odd', when: { field: 'v', op: '>', value: 0, zscore: { over: '1h' } } }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toContainEqual(expect.objectContaining({ path: expect.arrayContaining(['alerts', 0, 'when']) }));
    const ok = await local.api('/v1/streams', {
      body: { name: 'Object anomaly', type: 'iot_sensor', schema: { v: { type: 'number' } }, alerts: [{ name: 'odd', when: { field: 'v', op: '>', value: 4, zscore: {} } }] },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.alerts[0].when).toEqual({ field: 'v', op: '>', value: 4, zscore: { over: '1h' } });
  });
});
