import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickWebhookHeaders } from '../../functions/alert-actions/signing';
import { waitForValue as waitFor } from '../fixtures/waiting';
import { startLocal, type Local } from './harness';

/** A webhook receiver: records every POST; each path answers from its own script of statuses (the last repeats). */
interface Hook {
  url: string;
  received: { path: string; headers: IncomingHttpHeaders; body: string }[];
  script(path: string, statuses: number[]): void;
  /** Holds the answers on `path` until `release()` is called. */
  hold(path: string): { release(): void };
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const scripts = new Map<string, number[]>();
  const holds = new Map<string, Promise<void>>();
  const received: Hook['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      await holds.get(path);
      const script = scripts.get(path) ?? [204];
      const status = script.length > 1 ? script.shift()! : script[0]!;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    script: (path, statuses) => scripts.set(path, [...statuses]),
    hold(path) {
      let release!: () => void;
      holds.set(path, new Promise<void>((resolve) => (release = resolve)));
      return { release: () => release() };
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A received POST's three Standard Webhooks headers, as a receiver passes them to `Webhook.verify`. */
const signed = (post: { headers: IncomingHttpHeaders }) => pickWebhookHeaders(post.headers);

/** What the standardwebhooks library says of a delivery: true when `secret` verifies it. */
function verifies(secret: string, post: { headers: IncomingHttpHeaders; body: string }): boolean {
  try {
    new Webhook(secret).verify(post.body, signed(post));
    return true;
  } catch {
    return false;
  }
}

const schema = {
  deviceId: { type: 'string', required: true },
  timestamp: { type: 'datetime' },
  temperature: { type: 'number', unit: '°C' },
};

let local: Local;
let hook: Hook;
const emails: string[] = [];

beforeAll(async () => {
  hook = await startHook();
  local = await startLocal({ alerts: { retryIntervalMs: 5, silenceSchedule: '* * * * * *', emailLog: (line) => emails.push(line) } });
});
afterAll(async () => {
  await local?.close();
  await hook?.close();
});

/** Resolves once the queue has no message left and no alert execution is running. */
async function settle(): Promise<void> {
  for (;;) {
    const { depth, inFlight } = local.rt.queue.stats();
    if (depth === 0 && inFlight === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await local.rt.alerts.idle();
}

async function ingest(streamId: string, token: string, records: unknown): Promise<void> {
  const r = await local.api(`/v1/streams/${streamId}/data`, { token, body: records });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  await settle();
}

async function alertsOf(streamId: string): Promise<any[]> {
  const r = await local.api(`/v1/streams/${streamId}/alerts`);
  expect(r.status).toBe(200);
  return r.body.alerts;
}


describe('alerts on the local runtime', () => {
  it('posts one signed webhook on a breach, nothing more while firing or within the cooldown, and resolves when back in range', async () => {
    const created = await local.api('/v1/streams', {
      body: {
        name: 'Freezers',
        type: 'iot_sensor',
        schema,
        dimensions: ['deviceId'],
        alerts: [{ name: 'freezer warm', severity: 'critical', when: 'temperature > -15', cooldown: '10m', actions: [{ type: 'webhook', url: `${hook.url}/warm` }] }],
      },
    });
    expect(created.status).toBe(201);
    const { id, ingestToken, alertSigningSecret } = created.body;
    expect(alertSigningSecret).toMatch(/^whsec_/);
    expect((await local.api(`/v1/streams/${id}`)).body.alertSigningSecret).toBeUndefined();

    await ingest(id, ingestToken, { deviceId: 'f1', temperature: -12.5 });
    const posts = () => hook.received.filter((r) => r.path === '/warm');
    expect(posts()).toHaveLength(1);
    const post = posts()[0]!;
    // a receiver's Standard Webhooks library verifies the delivery with the secret as it was handed out
    expect(new Webhook(alertSigningSecret).verify(post.body, signed(post))).toMatchObject({ type: 'tributary.alert' });
    // and so does the raw HMAC of the README: base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed by the secret's bytes
    const { 'webhook-id': msgId, 'webhook-timestamp': ts } = signed(post);
    expect(msgId).toMatch(/^msg_[A-Za-z0-9_-]+$/);
    expect(Math.abs(Date.now() / 1000 - Number(ts))).toBeLessThan(60);
    const key = Buffer.from(alertSigningSecret.slice('whsec_'.length), 'base64');
    expect(post.headers['webhook-signature']).toBe(`v1,${createHmac('sha256', key).update(`${msgId}.${ts}.${post.body}`).digest('base64')}`);
    expect(verifies(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, post)).toBe(false);
    expect(verifies(alertSigningSecret, { ...post, body: post.body.replace('critical', 'info') })).toBe(false);
    const body = JSON.parse(post.body);
    expect(body).toMatchObject({ type: 'tributary.alert', alert: { streamId: id, rule: 'freezer warm', severity: 'critical', value: -12.5, dimensions: { deviceId: 'f1' }, state: 'firing' } });

    await ingest(id, ingestToken, { deviceId: 'f1', temperature: -12.5 });
    expect(posts()).toHaveLength(1);

    await ingest(id, ingestToken, { deviceId: 'f1', temperature: -20 });
    const [resolved] = await alertsOf(id);
    expect(resolved).toMatchObject({ id: body.alert.id, state: 'resolved', actions: [{ type: 'webhook', status: 'succeeded', attempts: 1 }] });

    await ingest(id, ingestToken, { deviceId: 'f1', temperature: -11 });
    expect(posts()).toHaveLength(1);
    expect(await alertsOf(id)).toHaveLength(1);

    const firing = await local.api('/v1/alerts?state=resolved');
    expect(firing.body.alerts.map((a: any) => a.id)).toContain(body.alert.id);
    const acked = await local.api(`/v1/alerts/${body.alert.id}/ack`, { method: 'POST' });
    expect(acked).toMatchObject({ status: 200, body: { id: body.alert.id, acknowledged: true } });
    const writer = await local.api(`/v1/alerts/${body.alert.id}/ack`, { method: 'POST', token: ingestToken });
    expect(writer.status).toBe(403);
    const readToken = (await local.api(`/v1/streams/${id}/tokens`, { body: { scope: 'read' } })).body.token;
    expect((await local.api(`/v1/streams/${id}/alerts`, { token: readToken })).body.alerts).toHaveLength(1);
    // a webhook's path is often its credential: a read token sees only the target's origin, an admin all of it
    const asReader = await local.api(`/v1/streams/${id}`, { token: readToken });
    expect(asReader.body.alerts[0].actions[0].url).toBe(`${hook.url}/…`);
    expect((await local.api(`/v1/streams/${id}`)).body.alerts[0].actions[0].url).toBe(`${hook.url}/warm`);
    expect((await local.api(`/v1/streams/${id}/alerts`, { token: ingestToken })).status).toBe(403);
    expect((await local.api('/v1/alerts?state=firing', { token: readToken })).status).toBe(403);
  });

  it('retries a failing webhook three times in all, records success or failure per action, and keeps ingesting meanwhile', async () => {
    hook.script('/flaky', [500, 503, 200]);
    hook.script('/down', [500]);
    hook.script('/gone', [404]);
    const gate = hook.hold('/down');
    const created = await local.api('/v1/streams', {
      body: {
        name: 'Retries',
        type: 'iot_sensor',
        schema,
        dimensions: ['deviceId'],
        alerts: [
          {
            name: 'hot',
            when: 'temperature >= 30',
            actions: [
              { type: 'webhook', url: `${hook.url}/flaky` },
              { type: 'ticket', url: `${hook.url}/down`, title: 'Hot: {{data.temperature}}' },
              { type: 'webhook', url: `${hook.url}/gone` },
            ],
          },
        ],
      },
    });
    const { id, ingestToken, alertSigningSecret: secret } = created.body;
    const first = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { deviceId: 'r1', temperature: 31 } });
    expect(first.status).toBe(202);
    await waitFor('the first ticket attempt', async () => (hook.received.some((r) => r.path === '/down') ? true : undefined));

    // the ticket target holds its answer: ingestion carries on
    const later = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { deviceId: 'r2', temperature: 1 } });
    expect(later.status).toBe(202);
    await local.waitForPoints(id, 'fields=temperature', (points) => points.some((p) => p.dimensions.deviceId === 'r2'));

    gate.release();
    await settle();
    const flaky = hook.received.filter((r) => r.path === '/flaky');
    expect(flaky).toHaveLength(3);
    const tickets = hook.received.filter((r) => r.path === '/down');
    expect(tickets).toHaveLength(3);
    // every retry of one delivery carries its webhook-id (receivers drop duplicates by it); each action has its own
    expect(new Set(flaky.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(tickets.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(flaky[0]!.headers['webhook-id']).not.toBe(tickets[0]!.headers['webhook-id']);
    for (const r of [...flaky, ...tickets]) expect(verifies(secret, r)).toBe(true);
    expect(JSON.parse(tickets[0]!.body)).toMatchObject({ title: 'Hot: 31', severity: 'warning', source: 'tributary' });
    const [alert] = await alertsOf(id);
    expect(alert.actions).toEqual([
      expect.objectContaining({ type: 'webhook', status: 'succeeded', attempts: 3, lastError: expect.stringContaining('HTTP 503') }),
      expect.objectContaining({ type: 'ticket', status: 'failed', attempts: 3, lastError: expect.stringContaining('HTTP 500') }),
      // a 4xx will not get better: one attempt, no retry
      expect.objectContaining({ type: 'webhook', status: 'failed', attempts: 1, lastError: expect.stringContaining('HTTP 404') }),
    ]);
    expect(hook.received.filter((r) => r.path === '/gone')).toHaveLength(1);
  });

  it('fires a window rule on the window average, not on a single spike', async () => {
    const { id, ingestToken } = await local.createStream({
      name: 'Windows',
      type: 'iot_sensor',
      schema,
      dimensions: ['deviceId'],
      alerts: [{ name: 'hot on average', when: 'avg(temperature) over 5m > 30', actions: [{ type: 'webhook', url: `${hook.url}/window` }] }],
    });
    const now = Date.now();
    const at = (msAgo: number, temperature: number) => ({ deviceId: 'w1', timestamp: new Date(now - msAgo).toISOString(), temperature });
    await ingest(id, ingestToken, [at(240_000, 20), at(180_000, 20), at(120_000, 20), at(60_000, 20)]);
    await ingest(id, ingestToken, at(30_000, 60));
    expect(await alertsOf(id)).toEqual([]);

    await ingest(id, ingestToken, [at(20_000, 45), at(10_000, 45), at(0, 45)]);
    const [alert] = await alertsOf(id);
    // (4 × 20 + 60 + 3 × 45) / 8
    expect(alert).toMatchObject({ rule: 'hot on average', state: 'firing', value: 34.375 });
    expect(hook.received.filter((r) => r.path === '/window')).toHaveLength(1);
  });

  it('fires a silence rule when a series stops, on the schedule, and resolves when it speaks again', async () => {
    const { id, ingestToken } = await local.createStream({
      name: 'Silence',
      type: 'iot_sensor',
      schema,
      dimensions: ['deviceId'],
      alerts: [{ name: 'gone quiet', severity: 'info', when: 'no data for 30s' }],
    });
    await ingest(id, ingestToken, [
      { deviceId: 'quiet', timestamp: new Date(Date.now() - 60_000).toISOString(), temperature: 5 },
      { deviceId: 'chatty', temperature: 5 },
    ]);
    const fired = await waitFor('a silence alert', async () => (await alertsOf(id)).find((a) => a.state === 'firing'));
    expect(fired).toMatchObject({ rule: 'gone quiet', severity: 'info', dimensions: { deviceId: 'quiet' }, value: null });
    expect((await alertsOf(id)).filter((a) => a.dimensions.deviceId === 'chatty')).toEqual([]);

    await ingest(id, ingestToken, { deviceId: 'quiet', temperature: 6 });
    await waitFor('the silence alert to resolve', async () => ((await alertsOf(id)).find((a) => a.id === fired.id)?.state === 'resolved' ? true : undefined));
  });

  it('publishes an mqtt_publish action to a subscriber of the stream on the local broker', async () => {
    const { id, ingestToken } = await local.createStream({
      name: 'Doors',
      type: 'iot_sensor',
      schema: { ...schema, open: { type: 'boolean' } },
      dimensions: ['deviceId'],
      alerts: [
        {
          name: 'door open',
          when: { expression: 'open = true and temperature > -18' },
          actions: [{ type: 'mqtt_publish', topic: '{{dimensions.deviceId}}/alerts' }, { type: 'email', subject: 'Door {{dimensions.deviceId}} open at {{data.temperature}}' }],
        },
      ],
    });
    const device = await local.device('d1', ingestToken);
    const topic = `tributary/${id}/devices/d1/alerts`;
    await new Promise<void>((resolve, reject) => device.subscribe(`tributary/${id}/devices/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    const message = new Promise<{ topic: string; payload: string }>((resolve) => device.once('message', (t, p) => resolve({ topic: t, payload: p.toString('utf8') })));

    await ingest(id, ingestToken, { deviceId: 'd1', temperature: -10, open: true });
    const got = await message;
    expect(got.topic).toBe(topic);
    expect(JSON.parse(got.payload)).toMatchObject({ type: 'tributary.alert', alert: { rule: 'door open', streamId: id, data: { open: true, temperature: -10 } } });
    const [alert] = await alertsOf(id);
    expect(alert.actions).toEqual([
      expect.objectContaining({ type: 'mqtt_publish', status: 'succeeded', attempts: 1 }),
      expect.objectContaining({ type: 'email', status: 'succeeded', attempts: 1 }),
    ]);
    expect(emails.map((l) => JSON.parse(l).subject)).toContain('Door d1 open at -10');
  });

  it('answers bad alert queries with a 400 naming the parameter and an unknown alert or stream with a 404', async () => {
    expect(await local.api('/v1/alerts?state=open')).toMatchObject({ status: 400, body: { errors: [{ path: ['state'] }] } });
    expect(await local.api('/v1/alerts?limit=0')).toMatchObject({ status: 400, body: { errors: [{ path: ['limit'] }] } });
    expect(await local.api('/v1/alerts?cursor=bm9wZQ')).toMatchObject({ status: 400, body: { errors: [{ path: ['cursor'] }] } });
    expect(await local.api('/v1/alerts/nostream.0000000000000000ab/ack', { method: 'POST' })).toMatchObject({ status: 404, body: { title: 'Alert not found' } });
    expect((await local.api('/v1/streams/nostream/alerts')).status).toBe(404);
  });

  it('fails a webhook to a private address of this machine and a redirect at once, on the alert, without sending either on', async () => {
    // a receiver on every interface of this machine: refusing its private address proves the guard, and a
    // guard that let it through would only ever reach this test's own server
    const seen: string[] = [];
    const receiver = createServer((req, res) => {
      seen.push(req.url ?? '/');
      if (req.url === '/redirect') res.writeHead(302, { location: `http://127.0.0.1:${port()}/landed` }).end();
      else res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '::', resolve));
    const port = () => (receiver.address() as AddressInfo).port;
    // a unique-local IPv6 address of this machine, if it has one (the private case is left out otherwise)
    const own = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && !a.internal && a.family === 'IPv6' && /^f[cd]/i.test(a.address))?.address;
    const redirect = { type: 'ticket', url: `http://127.0.0.1:${port()}/redirect` };
    try {
      const { id, ingestToken } = await local.createStream({
        name: 'Guarded',
        type: 'iot_sensor',
        schema,
        dimensions: ['deviceId'],
        alerts: [{ name: 'hot', when: 'temperature > 30', actions: own ? [redirect, { type: 'webhook', url: `http://[${own}]:${port()}/private` }] : [redirect] }],
      });
      await ingest(id, ingestToken, { deviceId: 'g1', temperature: 31 });
      const [alert] = await alertsOf(id);
      expect(alert.actions).toEqual([
        expect.objectContaining({ type: 'ticket', status: 'failed', attempts: 1, lastError: expect.stringMatching(/HTTP 302, a redirect/) }),
        ...(own ? [expect.objectContaining({ type: 'webhook', status: 'failed', attempts: 1, lastError: expect.stringMatching(/refused to POST to .*: it resolves to a private address/) })] : []),
      ]);
      expect(seen).toEqual(['/redirect']);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('rotates a stream signing secret: the new one is returned once and signs the next webhook, beside the old one for the overlap', async () => {
    const created = await local.api('/v1/streams', {
      body: { name: 'Rotated', type: 'iot_sensor', schema, dimensions: ['deviceId'], alerts: [{ name: 'warm', when: 'temperature > 0', actions: [{ type: 'webhook', url: `${hook.url}/rotated` }] }] },
    });
    const { id, ingestToken, alertSigningSecret: old } = created.body;
    const readToken = (await local.api(`/v1/streams/${id}/tokens`, { body: { scope: 'read' } })).body.token;
    expect((await local.api(`/v1/streams/${id}/alert-secret`, { method: 'POST', token: readToken })).status).toBe(403);
    expect((await local.api('/v1/streams/nostream/alert-secret', { method: 'POST' })).status).toBe(404);

    const rotated = await local.api(`/v1/streams/${id}/alert-secret`, { method: 'POST' });
    expect(rotated).toMatchObject({ status: 200, body: { streamId: id, alertSigningSecret: expect.stringMatching(/^whsec_/), previousSecretSignsUntil: expect.any(String) } });
    expect(Date.parse(rotated.body.previousSecretSignsUntil) - Date.now()).toBeGreaterThan(23 * 3600_000);
    const secret = rotated.body.alertSigningSecret;
    expect(secret).not.toBe(old);
    expect(JSON.stringify((await local.api(`/v1/streams/${id}`)).body)).not.toContain(secret);

    await ingest(id, ingestToken, { deviceId: 'r1', temperature: 5 });
    const post = hook.received.find((r) => r.path === '/rotated')!;
    // two space-separated v1 signatures: a receiver holding either secret verifies with its library
    expect(String(post.headers['webhook-signature']).split(' ')).toEqual([expect.stringMatching(/^v1,/), expect.stringMatching(/^v1,/)]);
    expect(verifies(secret, post)).toBe(true);
    expect(verifies(old, post)).toBe(true);
    expect(verifies(`whsec_${Buffer.alloc(32, 9).toString('base64')}`, post)).toBe(false);
  });

  it('answers an action URL that is not http(s) with a 400 naming its path', async () => {
    const r = await local.api('/v1/streams', {
      body: { name: 'Bad hook', type: 'iot_sensor', schema, alerts: [{ name: 'a', when: 'temperature > 3', actions: [{ type: 'email' }, { type: 'webhook', url: 'gopher://ops.example.com/h' }] }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: any) => e.path)).toEqual([['alerts', 0, 'actions', 1, 'url']]);
  });

  it('answers a rule on an unknown or non-numeric field with a 400 naming its path', async () => {
    const r = await local.api('/v1/streams', {
      body: {
        name: 'Bad rules',
        type: 'iot_sensor',
        schema,
        alerts: [{ name: 'a', when: 'humidity > 3' }, { name: 'b', when: 'deviceId > 3' }],
        alertThresholds: { pressure: { max: 3 } },
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: any) => e.path)).toEqual([
      ['alerts', 0, 'when', 'field'],
      ['alerts', 1, 'when', 'field'],
      ['alertThresholds', 'pressure'],
    ]);
  });
});
