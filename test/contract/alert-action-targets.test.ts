import type { Context } from 'aws-lambda';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionFailedError, ActionPermanentError, makeAlertTasks, type AlertTaskDeps } from '../../functions/alert-actions/tasks';
import { resolveChecked } from '../../functions/commons/guarded-target';
import type { HttpEvent } from '../../functions/commons/http';
import { makeStreamsHandler } from '../../functions/streams/app';
import type { Alert } from '../../shared/domain/alert-evaluation';
import type { AlertAction } from '../../shared/domain/alert-rules';
import { classifyAddress } from '../../shared/domain/pull-source';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';

// Webhook and ticket actions go through the pulls' guard. Every refusal below is checked against a server
// of this test, reached through an address of this machine, so a guard that let it through would show as a
// request received here and never as traffic to the metadata service or another host.

const NOW = Date.parse('2026-03-01T12:00:00Z');
const SECRET = 'whsec_test';

interface Receiver {
  port: number;
  paths: string[];
  bodies: string[];
  headers: IncomingHttpHeaders[];
  /** Connections the server saw closed before it finished an answer. */
  cutOff: number;
  close(): Promise<void>;
}

/** A receiver on every interface: `/hold` never answers, `/huge` streams without end, `/redirect` answers 302 to `/landed`. */
async function startReceiver(): Promise<Receiver> {
  const r: Omit<Receiver, 'port' | 'close'> = { paths: [], bodies: [], headers: [], cutOff: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.paths.push(req.url ?? '/');
      r.bodies.push(Buffer.concat(chunks).toString('utf8'));
      r.headers.push(req.headers);
      res.once('close', () => void (res.writableFinished || r.cutOff++));
      if (req.url === '/hold') return;
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const block = Buffer.alloc(16_384, 'x');
        const pump = () => {
          while (!res.destroyed && res.write(block));
          if (!res.destroyed) res.once('drain', pump);
        };
        return pump();
      }
      if (req.url === '/redirect') return res.writeHead(302, { location: `http://127.0.0.1:${port()}/landed` }).end();
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  const port = () => (server.address() as AddressInfo).port;
  return {
    ...r,
    get cutOff() {
      return r.cutOff;
    },
    port: port(),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** An address of this machine's own interfaces that the guard must refuse (private or reserved), if it has one. */
function ownForbiddenAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const kind = classifyAddress(a.address);
      if (!a.internal && (kind === 'private' || kind === 'reserved')) return a.family === 'IPv6' ? `[${a.address}]` : a.address;
    }
  }
  return undefined;
}

const alert = { id: 'hooks.0000000010000000001', streamId: 'hooks', rule: 'warm', severity: 'warning', series: 'f1', dimensions: {}, value: 1, time: new Date(NOW).toISOString(), firedAt: new Date(NOW).toISOString(), state: 'firing', acknowledged: false, actions: [] } as Alert;

function tasksWith(options: Partial<AlertTaskDeps> = {}) {
  const attempts: { index: number; error?: string }[] = [];
  const tasks = makeAlertTasks({
    alerts: { recordAttempt: async (_id: string, index: number, _at: number, error?: string) => void attempts.push({ index, ...(error !== undefined && { error }) }) } as never,
    secrets: { getSigningSecrets: async () => [SECRET], ensureSigningSecret: async () => undefined, replaceSigningSecret: async () => {} },
    email: { send: async () => {} },
    mqtt: { publish: async () => {} },
    clock: { now: () => NOW },
    ...options,
  });
  const run = (action: AlertAction) => tasks.runAction({ task: 'run-action', alert, index: 0, action });
  return { run, attempts };
}

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

describe('resolveChecked, the guard alert actions share with pulls', () => {
  it.each([
    ['169.254.169.254', 'link-local'],
    ['[::ffff:169.254.169.254]', 'link-local'],
    ['10.0.0.1', 'private'],
    ['[fd00::1]', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['localhost', 'loopback'],
  ])('refuses %s (%s) before any connection is opened', async (host, kind) => {
    await expect(resolveChecked(host, { allowPrivate: false, allowLoopback: false })).rejects.toMatchObject({ code: 'target.forbidden', message: expect.stringContaining(kind) });
  });
});

describe('webhook and ticket actions reach only what the runtime allows', () => {
  it('delivers a POST to a loopback receiver where the runtime allows loopback', async () => {
    const { run } = tasksWith({ targets: { allowPrivate: false, allowLoopback: true } });
    await expect(run({ type: 'webhook', url: `http://127.0.0.1:${receiver.port}/ok` })).resolves.toEqual({ index: 0, status: 'succeeded' });
    expect(receiver.paths).toContain('/ok');
    const at = receiver.paths.lastIndexOf('/ok');
    const body = receiver.bodies[at]!;
    expect(JSON.parse(body)).toMatchObject({ type: 'tributary.alert', alert: { id: alert.id } });
    // sent with its length, as fetch did, not chunked: some receivers refuse a chunked POST
    expect(receiver.headers[at]).toMatchObject({ 'content-length': String(Buffer.byteLength(body)), 'x-tributary-alert-id': alert.id });
    expect(receiver.headers[at]!['transfer-encoding']).toBeUndefined();
  });

  it('refuses loopback for good where the runtime does not allow it (as in AWS), and sends nothing', async () => {
    const { run, attempts } = tasksWith();
    const error = await run({ type: 'ticket', url: `http://localhost:${receiver.port}/loopback` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionPermanentError);
    expect((error as Error).message).toMatch(/refused to POST to localhost: it resolves to a loopback address/);
    expect(attempts).toEqual([{ index: 0, error: (error as Error).message }]);
    expect(receiver.paths).not.toContain('/loopback');
  });

  const own = ownForbiddenAddress();
  it.skipIf(!own)('refuses a private or reserved address of this very machine, even with loopback allowed', async () => {
    const { run } = tasksWith({ targets: { allowPrivate: false, allowLoopback: true } });
    const error = await run({ type: 'webhook', url: `http://${own}:${receiver.port}/own` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionPermanentError);
    expect((error as Error).message).toMatch(/(private|reserved) address/);
    expect(receiver.paths).not.toContain('/own');
  });

  it('does not follow a redirect: the action fails for good and the Location is never requested', async () => {
    const { run } = tasksWith({ targets: { allowPrivate: false, allowLoopback: true } });
    const error = await run({ type: 'webhook', url: `http://127.0.0.1:${receiver.port}/redirect` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionPermanentError);
    expect((error as Error).message).toMatch(/HTTP 302, a redirect/);
    expect(receiver.paths).toContain('/redirect');
    expect(receiver.paths).not.toContain('/landed');
  });

  it('gives up on a receiver that never answers once the timeout passes, as a failure to retry', async () => {
    const { run } = tasksWith({ targets: { allowPrivate: false, allowLoopback: true }, webhookTimeoutMs: 300 });
    const error = await run({ type: 'webhook', url: `http://127.0.0.1:${receiver.port}/hold` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionFailedError);
    expect((error as Error).message).toBe(`POST http://127.0.0.1:${receiver.port} gave no answer within 300 ms`);
  });

  it('reads no more than the cap of an answer that never ends, then hangs up and counts the 200', async () => {
    const { run } = tasksWith({ targets: { allowPrivate: false, allowLoopback: true }, maxResponseBytes: 65_536, webhookTimeoutMs: 30_000 });
    const before = receiver.cutOff;
    await expect(run({ type: 'webhook', url: `http://127.0.0.1:${receiver.port}/huge` })).resolves.toEqual({ index: 0, status: 'succeeded' });
    await expect.poll(() => receiver.cutOff).toBe(before + 1);
  });
});

describe('stream create and patch check action URLs against the runtime', () => {
  const context = { awsRequestId: 'test' } as Context;
  const stream = newStream(parseStreamInput({ id: 'hooks', name: 'hooks', type: 'iot_sensor', schema: { t: { type: 'number' } } }), new Date(NOW), () => '');
  const registry = { get: async () => stream, create: async () => {}, update: async () => {} } as never;
  const tokens = { put: async () => {} } as never;
  const handler = makeStreamsHandler({ registry, tokens, clock: { now: () => NOW }, log: { error: () => {}, info: () => {} }, actions: { requireHttps: true, ticketSystems: [], emailRecipients: false } });
  const call = (routeKey: string, body: unknown) =>
    handler(
      {
        version: '2.0',
        routeKey,
        rawPath: '/',
        rawQueryString: '',
        headers: { 'content-type': 'application/json' },
        pathParameters: { id: 'hooks' },
        body: JSON.stringify(body),
        isBase64Encoded: false,
        requestContext: { requestId: 'r', authorizer: { lambda: { scopes: 'admin', principal: 'p' } } } as unknown as HttpEvent['requestContext'],
      },
      context,
    );
  const alerts = [
    { name: 'ok', when: 't > 1', actions: [{ type: 'email' }, { type: 'webhook', url: 'https://ops.example.com/h' }] },
    { name: 'plain', when: 't > 2', actions: [{ type: 'webhook', url: 'https://ops.example.com/h' }, { type: 'ticket', url: 'http://tickets.example.com/new' }] },
  ];

  it('answers a plain http action URL with a 400 naming its path where https is required', async () => {
    const created = await call('POST /v1/streams', { name: 'hooks', type: 'iot_sensor', schema: { t: { type: 'number' } }, alerts });
    expect(created.statusCode).toBe(400);
    expect(JSON.parse(created.body!).errors).toEqual([{ path: ['alerts', 1, 'actions', 1, 'url'], message: expect.stringMatching(/https/) }]);
    const patched = await call('PATCH /v1/streams/{id}', { alerts });
    expect(patched.statusCode).toBe(400);
    expect(JSON.parse(patched.body!).errors.map((e: { path: unknown }) => e.path)).toEqual([['alerts', 1, 'actions', 1, 'url']]);
  });

  it('answers a URL that is not http(s) with a 400 naming its path in any runtime', async () => {
    const res = await call('PATCH /v1/streams/{id}', { alerts: [{ name: 'x', when: 't > 1', actions: [{ type: 'webhook', url: 'file:///etc/passwd' }] }] });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!).errors.map((e: { path: unknown }) => e.path)).toEqual([['alerts', 0, 'actions', 0, 'url']]);
  });

  it('takes https action URLs', async () => {
    const res = await call('PATCH /v1/streams/{id}', { alerts: [alerts[0]] });
    expect(res.statusCode).toBe(200);
  });
});
