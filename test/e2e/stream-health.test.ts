import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PointStore } from '../../shared/ports';
import { waitFor, waitForValue } from '../fixtures/waiting';
import { startLocal, type Local } from './harness';

// Stream health on the local runtime, read the way a user reads it: GET /status over HTTP after data posted
// over HTTP, the health-check rules firing and resolving on the minute schedule (here every second), their
// actions reaching a receiver on this machine.

/** A receiver that keeps every POST body. */
async function startReceiver(): Promise<{ url: string; bodies: { path: string; body: any }[]; close(): Promise<void> }> {
  const bodies: { path: string; body: any }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '/', body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The store, with writes that can be held (to see the queue fill and the wait grow) and points it refuses (`temperature: 999`). */
function gatedStore() {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  return {
    hold() {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    release() {
      open?.();
      gate = undefined;
    },
    wrap(store: PointStore): PointStore {
      return new Proxy(store, {
        get(target, prop, receiver) {
          if (prop !== 'write') {
            const v = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? v.bind(target) : v;
          }
          return async (stream: Parameters<PointStore['write']>[0], points: Parameters<PointStore['write']>[1]) => {
            await gate;
            const refused = points.flatMap((p, index) => (p.values.temperature === 999 ? [index] : []));
            const kept = points.filter((_, i) => !refused.includes(i));
            const out = kept.length ? await target.write(stream, kept) : { written: 0, rejected: [] };
            return { written: out.written, rejected: [...out.rejected, ...refused.map((index) => ({ index, reason: 'refused by the test store' }))] };
          };
        },
      });
    },
  };
}

const schema = { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } };
let local: Local;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const store = gatedStore();

beforeAll(async () => {
  receiver = await startReceiver();
  local = await startLocal({ alerts: { retryIntervalMs: 5, silenceSchedule: '* * * * * *' }, faults: { pointStore: (s) => store.wrap(s) } });
});
afterAll(async () => {
  store.release();
  await local?.close();
  await receiver?.close();
});

async function settle(): Promise<void> {
  for (;;) {
    const { depth, inFlight } = local.rt.queue.stats();
    if (depth === 0 && inFlight === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await local.rt.alerts.idle();
}

const status = async (id: string) => {
  const r = await local.api(`/v1/streams/${id}/status`);
  expect(r.status).toBe(200);
  return r.body;
};
const post = async (id: string, token: string, records: unknown) => {
  const r = await local.api(`/v1/streams/${id}/data`, { token, body: records });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
};
const alertsOf = async (id: string): Promise<any[]> => (await local.api(`/v1/streams/${id}/alerts`)).body.alerts;

describe('GET /v1/streams/{id}/status health on the local runtime', () => {
  it('is healthy with no data yet, and shows the exact queue length', async () => {
    const { id } = await local.createStream({ name: 'Fresh', type: 'iot_sensor', schema, dimensions: ['deviceId'] });
    const s = await status(id);
    expect(s.health).toMatchObject({ status: 'healthy', reason: 'no data yet', pointsPerSecond: { lastMinute: 0, lastHour: 0 }, errorRate: { ratio: 0, total: 0, window: '5m' } });
    expect(s.health.latencyMs).toBeUndefined();
    expect(s.health.uptime).toBe('100%');
    expect(s.health.avgLatency).toBeUndefined();
    expect(s.processing).toEqual({ queueLength: 0, approximate: false, processingRate: '0/min' });
  });

  it('counts the messages waiting while the store holds, then reports the wait, the rate and the last processed time', async () => {
    const { id, ingestToken } = await local.createStream({ name: 'Held', type: 'iot_sensor', schema, dimensions: ['deviceId'] });
    store.hold();
    const posted = Date.now();
    for (let i = 0; i < 3; i++) await post(id, ingestToken, Array.from({ length: 20 }, (_, j) => ({ deviceId: `d${j}`, temperature: i })));
    const held = await status(id);
    expect(held.processing).toMatchObject({ queueLength: 3, approximate: false });
    await new Promise((resolve) => setTimeout(resolve, 400));
    store.release();
    await settle();

    const s = await status(id);
    expect(s.processing.queueLength).toBe(0);
    expect(s.health.status).toBe('healthy');
    // every point waited at least the 400 ms the store was held; the sketch is within 2 %
    expect(s.health.latencyMs.points).toBe(60);
    expect(s.health).toMatchObject({ uptime: '100%', avgLatency: `${s.health.latencyMs.avg}ms` });
    expect(s.health.latencyMs.p50).toBeGreaterThanOrEqual(390);
    expect(s.health.latencyMs.p99).toBeLessThan(Date.now() - posted + 50);
    expect(s.health.latencyMs.p50).toBeLessThanOrEqual(s.health.latencyMs.p95);
    expect(s.health.latencyMs.p95).toBeLessThanOrEqual(s.health.latencyMs.p99);
    // 60 points within the last minute and hour
    expect(s.health.pointsPerSecond.lastMinute).toBeCloseTo(1, 1);
    expect(s.health.pointsPerSecond.lastHour).toBe(0.017); // 60 / 3600, to 3 places
    // a minute boundary between the posts and this read takes off up to a sixtieth
    expect(s.processing.processingRate).toMatch(/^(59(\.\d)?|60)\/min$/);
    expect(Date.parse(s.health.lastProcessed)).toBeGreaterThanOrEqual(posted);
    expect(s.processing.lastProcessed).toBe(s.health.lastProcessed);
  });

  it('reports the share of records the store refused as the error rate, degraded over 5 %, and fires error_rate > 5%', async () => {
    const { id, ingestToken } = await local.createStream({
      name: 'Lossy',
      type: 'iot_sensor',
      schema,
      dimensions: ['deviceId'],
      alerts: [{ name: 'errors', severity: 'critical', when: 'error_rate > 5%', cooldown: '1s', actions: [{ type: 'webhook', url: `${receiver.url}/errors` }] }],
    });
    await post(id, ingestToken, [...Array.from({ length: 18 }, (_, j) => ({ deviceId: `d${j}`, temperature: 1 })), { deviceId: 'x', temperature: 999 }, { deviceId: 'y', temperature: 999 }]);
    await settle();
    const s = await status(id);
    expect(s.health.errorRate).toEqual({ ratio: 0.1, invalid: 2, total: 20, window: '5m' });
    expect(s.health.status).toBe('degraded');
    expect(s.health.reason).toContain('10 %');
    const fired = await waitForValue('the error_rate alert', async () => (await alertsOf(id)).find((a) => a.rule === 'errors' && a.state === 'firing'));
    expect(fired).toMatchObject({ severity: 'critical', value: 0.1, series: '[]' });
    await waitFor(async () => receiver.bodies.filter((b) => b.path === '/errors'), (b) => b.length === 1);
  });

  it('fires processing_lag when records wait longer than its limit between receipt and storage', async () => {
    const { id, ingestToken } = await local.createStream({
      name: 'Laggy',
      type: 'iot_sensor',
      schema,
      dimensions: ['deviceId'],
      alerts: [{ name: 'lag', severity: 'warning', when: 'processing_lag > 1s' }],
    });
    store.hold();
    await post(id, ingestToken, { deviceId: 'd', temperature: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    store.release();
    await settle();
    const s = await status(id);
    expect(s.health.processingLagMs).toBeGreaterThanOrEqual(1_250);
    const fired = await waitForValue('the processing_lag alert', async () => (await alertsOf(id)).find((a) => a.rule === 'lag' && a.state === 'firing'), 10_000);
    expect(fired.value).toBe(s.health.processingLagMs);
  });

  it('fires data_freshness when no data arrives for longer than its limit, and resolves when data returns', async () => {
    const { id, ingestToken } = await local.createStream({
      name: 'Stale',
      type: 'iot_sensor',
      schema,
      dimensions: ['deviceId'],
      alerts: [{ name: 'stale', severity: 'warning', when: 'data_freshness > 2s', cooldown: '1s' }],
    });
    await post(id, ingestToken, { deviceId: 'd', temperature: 1 });
    await settle();
    expect(await alertsOf(id)).toEqual([]);
    const fired = await waitForValue('the freshness alert', async () => (await alertsOf(id)).find((a) => a.state === 'firing'), 10_000);
    expect(fired.rule).toBe('stale');
    expect(fired.value).toBeGreaterThan(2000);
    await post(id, ingestToken, { deviceId: 'd', temperature: 2 });
    await settle();
    await waitForValue('the freshness alert to resolve', async () => ((await alertsOf(id)).find((a) => a.id === fired.id)?.state === 'resolved' ? true : undefined), 10_000);
  });

  it('posts Slack’s incoming-webhook payload through the alert actions, by URL and by secret, and keeps the URL from readers', async () => {
    // the secret in the data dir's secrets.json (mode 0600), as an operator keeps it
    await writeFile(join(local.dataDir, 'secrets.json'), JSON.stringify({ SLACK_OPS: `${receiver.url}/slack/by-secret` }), { mode: 0o600 });
    const { id, ingestToken } = await local.createStream({
      name: 'Slacking',
      type: 'iot_sensor',
      schema,
      dimensions: ['deviceId'],
      alerts: [
        {
          name: 'too warm',
          severity: 'critical',
          when: 'temperature > 30',
          actions: [
            { type: 'slack', webhookUrl: `${receiver.url}/slack/T000/B000/XXXX` },
            { type: 'slack', secret: 'SLACK_OPS', text: 'Warm <here>: {{dimensions.deviceId}} at {{alert.value}}' },
          ],
        },
      ],
    });
    await post(id, ingestToken, { deviceId: 'f<1>', temperature: 35 });
    await settle();
    const slack = await waitFor(async () => receiver.bodies.filter((b) => b.path.startsWith('/slack/')), (b) => b.length === 2);
    const byUrl = slack.find((b) => b.path === '/slack/T000/B000/XXXX')!.body;
    expect(byUrl.text).toBe(`[critical] too warm on ${id}: value 35`);
    expect(byUrl.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Alert firing: too warm' } });
    expect(byUrl.blocks[2].fields).toContainEqual({ type: 'mrkdwn', text: '*Series*\n[&quot;f&lt;1&gt;&quot;]'.replace(/&quot;/g, '"') });
    const bySecret = slack.find((b) => b.path === '/slack/by-secret')!.body;
    expect(bySecret.text).toBe('Warm <here>: f<1> at 35');
    // the section escapes mrkdwn's control characters: record content cannot ping a channel or make a link
    expect(bySecret.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: 'Warm &lt;here&gt;: f&lt;1&gt; at 35' } });
    await waitForValue('both actions to succeed', async () => {
      const [a] = await alertsOf(id);
      return a?.actions?.length === 2 && a.actions.every((x: any) => x.status === 'succeeded') ? a : undefined;
    });
    // a read token sees the Slack URL cut to its origin
    const read = await local.api(`/v1/streams/${id}/tokens`, { body: { scope: 'read' } });
    const seen = await local.api(`/v1/streams/${id}`, { token: read.body.token });
    expect(JSON.stringify(seen.body)).not.toContain('XXXX');
    expect(seen.body.alerts[0].actions[0].webhookUrl).toBe(`${receiver.url}/…`);
  });

  it('refuses a Slack action with both a URL and a secret, or neither, naming the path', async () => {
    const r = await local.api('/v1/streams', { body: { name: 'Bad slack', type: 'iot_sensor', schema, alerts: [{ name: 'x', when: 'temperature > 1', actions: [{ type: 'slack' }] }] } });
    expect(r.status).toBe(400);
    expect(r.body.errors).toContainEqual(expect.objectContaining({ path: ['alerts', 0, 'actions', 0, 'webhookUrl'] }));
  });

  it('refuses a health rule with a bad limit, naming the path', async () => {
    const r = await local.api('/v1/streams', { body: { name: 'Bad', type: 'iot_sensor', schema, alerts: [{ name: 'x', when: { health: 'error_rate', above: '500%' } }] } });
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    expect(r.body.errors).toContainEqual(expect.objectContaining({ path: ['alerts', 0, 'when', 'above'] }));
  });
});
