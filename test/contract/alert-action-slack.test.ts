import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionFailedError, ActionPermanentError, makeAlertTasks, type AlertTaskDeps } from '../../functions/alert-actions/tasks';
import type { Alert } from '../../shared/domain/alert-evaluation';
import { AlertRuleSchema, type AlertAction } from '../../shared/domain/alert-rules';

// The Slack action against a receiver on this machine that answers as Slack's incoming webhooks do
// (200 `ok`; 403 `invalid_token`, 404 `no_service`; a 500 on an outage), and its refusals.

const NOW = Date.parse('2026-03-01T12:00:00Z');
const TOKEN_PATH = '/services/T0000/B0000/SECRETTOKEN';

let server: Server;
let base: string;
const received: { path: string; type: string | undefined; body: any }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', type: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      if (req.url?.endsWith('/revoked')) return res.writeHead(403, { 'content-type': 'text/plain' }).end('invalid_token');
      if (req.url?.endsWith('/down')) return res.writeHead(500).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));

const alert = { id: 'cold.0000000010000000001', streamId: 'cold', rule: 'warm', severity: 'critical', series: '["f1"]', dimensions: { deviceId: 'f1' }, value: -9.5, time: new Date(NOW).toISOString(), firedAt: new Date(NOW).toISOString(), state: 'firing', acknowledged: false, actions: [] } as Alert;

function tasksWith(options: Partial<AlertTaskDeps> = {}) {
  const errors: string[] = [];
  const tasks = makeAlertTasks({
    alerts: { recordAttempt: async (_id: string, _index: number, _at: number, error?: string) => void (error !== undefined && errors.push(error)) } as never,
    secrets: { getSigningSecrets: async () => ['whsec_x'], ensureSigningSecret: async () => undefined, replaceSigningSecret: async () => {} },
    email: { send: async () => {} },
    mqtt: { publish: async () => {} },
    clock: { now: () => NOW },
    targets: { allowPrivate: false, allowLoopback: true },
    ...options,
  });
  return { run: (action: AlertAction) => tasks.runAction({ task: 'run-action', alert, index: 0, action }), errors };
}

describe('slack alert action', () => {
  it('posts {text, blocks} as JSON, the default text naming severity, rule, stream and value', async () => {
    const { run } = tasksWith();
    await expect(run({ type: 'slack', webhookUrl: `${base}${TOKEN_PATH}` })).resolves.toEqual({ index: 0, status: 'succeeded' });
    const last = received.at(-1)!;
    expect(last.type).toBe('application/json');
    expect(last.body.text).toBe('[critical] warm on cold: value -9.5');
    expect(last.body.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'section']);
    expect(last.body.blocks[2].fields).toContainEqual({ type: 'mrkdwn', text: '*Value*\n-9.5' });
  });

  it('reads the URL from the named secret when the action runs', async () => {
    const { run } = tasksWith({ slackSecrets: { get: async (names) => Object.fromEntries(names.map((n) => [n, `${base}/from-secret/${n}`])) } });
    await run({ type: 'slack', secret: 'OPS' });
    expect(received.at(-1)!.path).toBe('/from-secret/OPS');
  });

  it('fails for good on a 4xx and retries on a 5xx, naming only the origin, never the token in the path', async () => {
    const { run, errors } = tasksWith();
    await expect(run({ type: 'slack', webhookUrl: `${base}${TOKEN_PATH}/revoked` })).rejects.toBeInstanceOf(ActionPermanentError);
    await expect(run({ type: 'slack', webhookUrl: `${base}${TOKEN_PATH}/down` })).rejects.toBeInstanceOf(ActionFailedError);
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(e).toContain(base);
      expect(e).not.toContain('SECRETTOKEN');
    }
  });

  it('refuses plain http where https is required, and a secret without a secret source, before sending', async () => {
    const before = received.length;
    await expect(tasksWith({ requireHttps: true }).run({ type: 'slack', webhookUrl: `${base}${TOKEN_PATH}` })).rejects.toThrow(/must be https/);
    await expect(tasksWith().run({ type: 'slack', secret: 'OPS' })).rejects.toBeInstanceOf(ActionPermanentError);
    expect(received.length).toBe(before);
  });

  it('refuses a private or metadata address as webhooks do', async () => {
    await expect(tasksWith({ targets: { allowPrivate: false, allowLoopback: false } }).run({ type: 'slack', webhookUrl: `${base}${TOKEN_PATH}` })).rejects.toBeInstanceOf(ActionPermanentError);
    await expect(tasksWith().run({ type: 'slack', webhookUrl: 'http://169.254.169.254/latest' })).rejects.toThrow(/link-local/);
  });

  it('takes exactly one of webhookUrl and secret in a rule', () => {
    const rule = (action: object) => AlertRuleSchema.safeParse({ name: 'x', when: 'temperature > 1', actions: [action] });
    expect(rule({ type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T/B/X' }).success).toBe(true);
    expect(rule({ type: 'slack', secret: 'OPS' }).success).toBe(true);
    expect(rule({ type: 'slack', secret: 'OPS', webhookUrl: 'https://hooks.slack.com/x' }).error?.issues[0]?.path).toEqual(['actions', 0, 'webhookUrl']);
    expect(rule({ type: 'slack', secret: 'no/slash' }).error?.issues[0]?.path).toEqual(['actions', 0, 'secret']);
  });
});
