import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { freePort } from '../fixtures/runtime-process';

const secretOf = () => `whsec_${randomBytes(32).toString('base64')}`;

describe('npm run receiver (tools/receiver.ts)', () => {
  const secret = secretOf();
  let child: ChildProcess;
  let base: string;
  let out = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'tools/receiver.ts', '--port', String(port)], {
      env: { ...process.env, RECEIVER_SECRET: secret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const until = Date.now() + 30_000;
    while (!out.includes('receiver listening')) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`the receiver did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  const deliver = (signer: string, body: string) => {
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const at = new Date();
    const signature = new Webhook(signer).sign(id, at, body);
    return fetch(`${base}/hooks/freezers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature },
      body,
    });
  };
  const body = JSON.stringify({ type: 'tributary.alert', alert: { rule: 'freezer warm', severity: 'critical', value: -9.5, dimensions: { deviceId: 'f1' } } });

  it('answers 204 to a delivery signed with its secret and prints it as verified', async () => {
    expect((await deliver(secret, body)).status).toBe(204);
    expect(out).toMatch(/webhook \/hooks\/freezers id msg_\w+: signature verified: tributary\.alert "freezer warm" critical value -9\.5 \{"deviceId":"f1"\}/);
  });

  it('answers 401 to a delivery signed with another secret, or altered on the way, and prints why', async () => {
    expect((await deliver(secretOf(), body)).status).toBe(401);
    const res = await fetch(`${base}/hooks/freezers`, { method: 'POST', body, headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_1', new Date(), `${body} `) } });
    expect(res.status).toBe(401);
    expect(out.match(/signature INVALID \(.+\), answered 401/g)).toHaveLength(2);
  });

  it('serves the same readings.json every time', async () => {
    const a = (await (await fetch(`${base}/readings.json`)).json()) as { data: unknown[] };
    const b = await (await fetch(`${base}/readings.json`)).json();
    expect(a).toEqual(b);
    expect(a.data).toEqual([
      { station: 'north', at: '2026-11-24T09:00:00Z', celsius: -3.5 },
      { station: 'south', at: '2026-11-24T09:00:00Z', celsius: 1.25 },
    ]);
  });
});
