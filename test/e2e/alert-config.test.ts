import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickWebhookHeaders } from '../../functions/alert-actions/signing';
import { documentDefinition } from '../fixtures/data-streams';
import { waitForValue as waitFor } from '../fixtures/waiting';
import { startLocal, type Local } from './harness';

/**
 * The Data Streams document's `setAlerts` example as written: an email to its `recipients` with its
 * template's data, a webhook with its `payload`, and a `create_ticket` on the deployment's
 * `maintenance_system`, run by the local runtime against a real SMTP server and an HTTP receiver.
 */

const REFUSED = 'nobody@company.com';
let local: Local;
let smtp: SMTPServer;
let smtpPort: number;
const mails: { envelopeTo: string[]; mail: ParsedMail }[] = [];
let hook: Server;
let hookUrl: string;
const posts: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, callback) {
      if (address.address === REFUSED) return callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), mail });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  local = await startLocal({
    alerts: {
      retryIntervalMs: 20,
      smtp: { url: `smtp://127.0.0.1:${smtpPort}`, from: 'alerts@tributary.test', defaultTo: [] },
      ticketSystems: { maintenance_system: `${hookUrl}/tickets` },
    },
  });
}, 60_000);

afterAll(async () => {
  await local?.close();
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  hook?.closeAllConnections();
  await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
});


/** The stream the example's rules watch: Environmental Monitoring with the fields its conditions and template name. */
async function monitoredStream(): Promise<{ id: string; ingestToken: string }> {
  const env = documentDefinition('environmental-monitoring');
  delete env.processing.alerting;
  return local.createStream({
    ...env,
    schema: { ...env.schema, location: { type: 'string' }, equipmentHours: { type: 'number' }, maintenanceThreshold: { type: 'number' } },
  });
}

describe("the document's alert configuration (setAlerts) on the local runtime", () => {
  it('emails the recipients with the template data, posts the payload, and opens a signed ticket on the maintenance system', async () => {
    const { id, ingestToken } = await monitoredStream();
    const config = documentDefinition('alert-config');
    config.streamId = id;
    config.rules[0].actions[1].url = `${hookUrl}/alerts`; // the document's api.company.com, as a user points it at their own
    const patched = await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: config });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.alerts[1].actions).toEqual([{ type: 'ticket', system: 'maintenance_system', priority: 'medium', assignee: 'maintenance_team' }]);
    const secret = patched.body.alertSigningSecret;
    expect(secret).toMatch(/^whsec_/);

    const sent = await local.api(`/v1/streams/${id}/data`, {
      token: ingestToken,
      body: { timestamp: '2026-12-04T10:00:00Z', temperature: 31.5, humidity: 40, co2: 600, location: 'Warehouse B', equipmentHours: 1210, maintenanceThreshold: 1200 },
    });
    expect(sent.status).toBe(202);

    const { mail, envelopeTo } = await waitFor('the email', () => mails[0]);
    expect(envelopeTo).toEqual(['facilities@company.com']);
    expect(mail.from?.text).toBe('alerts@tributary.test');
    expect(mail.subject).toBe('[critical] high_temperature_alert (high_temperature)');
    expect(mail.text).toContain('location: Warehouse B');
    expect(mail.text).toContain('temperature: 31.5');

    const webhook = await waitFor('the webhook', () => posts.find((p) => p.path === '/alerts'));
    expect(JSON.parse(webhook.body)).toEqual({ type: 'environmental', severity: 'critical', message: 'Temperature exceeded safe threshold' });
    const ticket = await waitFor('the ticket', () => posts.find((p) => p.path === '/tickets'));
    expect(new Webhook(secret).verify(ticket.body, pickWebhookHeaders(ticket.headers))).toMatchObject({
      priority: 'medium',
      assignee: 'maintenance_team',
      system: 'maintenance_system',
      severity: 'warning',
      title: expect.stringContaining('equipment_maintenance_due'),
    });

    const alerts = await waitFor('both alerts with their outcomes', async () => {
      const list = (await local.api(`/v1/streams/${id}/alerts`)).body.alerts as any[];
      return list.length === 2 && list.every((a) => a.actions.every((x: any) => x.status === 'succeeded')) ? list : undefined;
    });
    expect(alerts.map((a) => a.rule).sort()).toEqual(['equipment_maintenance_due', 'high_temperature_alert']);
  });

  it('fails an email the mail server refuses for good, without retrying it, and keeps the other actions', async () => {
    const { id, ingestToken } = await monitoredStream();
    const before = mails.length;
    const patched = await local.api(`/v1/streams/${id}`, {
      method: 'PATCH',
      body: { alerts: [{ name: 'warm', when: 'temperature > 30', actions: [{ type: 'email', to: [REFUSED] }, { type: 'webhook', url: `${hookUrl}/also` }] }] },
    });
    expect(patched.status).toBe(200);
    await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { timestamp: '2026-12-04T10:00:00Z', temperature: 35 } });
    const alert = await waitFor('the outcomes', async () => {
      const [a] = (await local.api(`/v1/streams/${id}/alerts`)).body.alerts as any[];
      return a?.actions.every((x: any) => x.status !== 'pending') ? a : undefined;
    });
    expect(alert.actions[0]).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringContaining('550 5.1.1 mailbox unavailable') });
    expect(alert.actions[1]).toMatchObject({ status: 'succeeded' });
    expect(mails.length).toBe(before);
  });

  it('refuses a ticket system the deployment does not name, and an email address that is not one, by path', async () => {
    const { id } = await monitoredStream();
    const r = await local.api(`/v1/streams/${id}`, {
      method: 'PATCH',
      body: {
        streamId: id,
        rules: [{ name: 'x', condition: 'temperature > 30', actions: [{ type: 'create_ticket', system: 'helpdesk' }, { type: 'email', recipients: ['facilities at company'] }] }],
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: any) => e.path)).toEqual([['rules', 0, 'actions', 1, 'recipients', 0]]);
    const fixed = await local.api(`/v1/streams/${id}`, {
      method: 'PATCH',
      body: { streamId: id, rules: [{ name: 'x', condition: 'temperature > 30', actions: [{ type: 'create_ticket', system: 'helpdesk' }] }] },
    });
    expect(fixed.status).toBe(400);
    expect(fixed.body.errors).toEqual([{ path: ['rules', 0, 'actions', 0, 'system'], message: expect.stringContaining("'helpdesk' is not a ticket system of this deployment (it names maintenance_system)") }]);
  });
});
