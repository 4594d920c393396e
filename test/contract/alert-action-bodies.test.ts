import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSigningSecret } from '../../functions/alert-actions/signing';
import { makeAlertTasks } from '../../functions/alert-actions/tasks';
import type { Alert } from '../../shared/domain/alert-evaluation';
import type { AlertAction } from '../../shared/domain/alert-rules';

// What a webhook receiver gets, over real HTTP: the body a device's record content cannot reshape, signed
// so that the receiver's Standard Webhooks library accepts it.

const SECRET = newSigningSecret();
const HOSTILE_SITE = 'x","severity":"info","y":"';

let server: Server;
let url: string;
const bodies: { headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[name] = String(req.headers[name] ?? '');
      bodies.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

function alertWith(data: Record<string, unknown>, deviceId = 'f1'): Alert {
  return {
    id: 'freezers.0000000010000000001',
    streamId: 'freezers',
    rule: 'freezer warm',
    severity: 'critical',
    series: JSON.stringify([deviceId]),
    dimensions: { deviceId },
    value: -9.5,
    time: '2026-03-01T12:00:00.000Z',
    firedAt: '2026-03-01T12:00:00.000Z',
    state: 'firing',
    acknowledged: false,
    data: data as Alert['data'],
    actions: [],
  };
}

const tasks = makeAlertTasks({
  alerts: { recordAttempt: async () => {} } as never,
  secrets: { getSigningSecrets: async () => [SECRET], ensureSigningSecret: async () => undefined, replaceSigningSecret: async () => {} },
  email: { send: async () => {} },
  mqtt: { publish: async () => {} },
  clock: { now: () => Date.now() },
  targets: { allowPrivate: false, allowLoopback: true },
});

/** Runs one action and returns the body the receiver got, verified as a receiver verifies it. */
async function deliver(action: AlertAction, alert: Alert): Promise<unknown> {
  const before = bodies.length;
  await tasks.runAction({ task: 'run-action', alert, index: 0, action });
  expect(bodies).toHaveLength(before + 1);
  const { body, headers } = bodies[before]!;
  return new Webhook(SECRET).verify(body, headers);
}

describe('webhook and ticket bodies built from record content', () => {
  it('keeps the webhook body keys and its severity when a device sends a site that closes the string', async () => {
    const body = await deliver(
      { type: 'webhook', url, body: '{"text": "{{alert.rule}} at {{data.site}}", "site": "{{data.site}}", "severity": "{{alert.severity}}", "value": {{alert.value}}}' },
      alertWith({ deviceId: 'f1', site: HOSTILE_SITE, temperature: -9.5 }),
    );
    expect(body).toEqual({ text: `freezer warm at ${HOSTILE_SITE}`, site: HOSTILE_SITE, severity: 'critical', value: -9.5 });
  });

  it('keeps the webhook and ticket body keys whatever the record holds (quotes, backslashes, braces, unicode, {{…}})', async () => {
    const nasty = fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '{{', '}}', '{{alert.rule}}', '\n', '\u0000', '\u2028', '\ud800', '😀');
    const hostile = fc.oneof(fc.string({ unit: fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 2 })), maxLength: 30 }), fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 2 }), fc.double(), fc.boolean());
    const webhook: AlertAction = { type: 'webhook', url, body: '{"text": "{{data.site}} / {{data.note}}", "severity": "{{alert.severity}}", "site": {{data.site}}, "meta": {"device": "{{dimensions.deviceId}}", "list": [{{data.note}}, "{{data.site}}"]}}' };
    const ticket: AlertAction = { type: 'ticket', url, title: '{{data.site}} {{alert.rule}}', description: 'note: {{data.note}}' };
    await fc.assert(
      fc.asyncProperty(hostile, hostile, fc.string({ unit: fc.oneof(nasty, fc.string({ unit: 'grapheme', maxLength: 1 })), maxLength: 12 }), async (site, note, deviceId) => {
        const alert = alertWith({ site, note }, deviceId);
        const w = (await deliver(webhook, alert)) as Record<string, any>;
        expect(Object.keys(w)).toEqual(['text', 'severity', 'site', 'meta']);
        expect(w.severity).toBe('critical');
        expect(Object.keys(w.meta)).toEqual(['device', 'list']);
        expect(w.meta.list).toHaveLength(2);
        for (const leaf of [w.text, w.site, w.meta.device, ...w.meta.list]) expect(leaf === null || typeof leaf !== 'object').toBe(true);
        const t = (await deliver(ticket, alert)) as Record<string, unknown>;
        expect(Object.keys(t)).toEqual(['title', 'description', 'severity', 'labels', 'externalId', 'source', 'alert']);
        expect(t).toMatchObject({ severity: 'critical', source: 'tributary', externalId: alert.id });
        expect(typeof t.title).toBe('string');
      }),
      { numRuns: 40 },
    );
  });
});
