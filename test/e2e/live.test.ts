import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TributaryClient } from '../../packages/client/src/index';
import { startLocal, type Local } from './harness';

/** A live subscription's messages as they arrive, with the time each arrived. */
interface Inbox {
  messages: { at: number; msg: any }[];
  next(predicate: (msg: any) => boolean, ms?: number): Promise<{ at: number; msg: any }>;
}

function inbox(): Inbox & { push(msg: any): void } {
  const messages: { at: number; msg: any }[] = [];
  const waiters: { predicate: (m: any) => boolean; resolve: (v: { at: number; msg: any }) => void }[] = [];
  return {
    messages,
    push(msg) {
      const entry = { at: performance.now(), msg };
      messages.push(entry);
      for (const w of [...waiters]) if (w.predicate(msg)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(entry));
    },
    next(predicate, ms = 5_000) {
      const seen = messages.find((m) => predicate(m.msg));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such message in ${ms} ms; saw ${JSON.stringify(messages.map((m) => m.msg.type))}`)), ms);
        waiters.push({ predicate, resolve: (v) => (clearTimeout(timer), resolve(v)) });
      });
    },
  };
}

describe('live subscriptions (GET /v1/streams/{id}/live)', () => {
  let local: Local;
  let id: string;
  let ingestToken: string;
  let readToken: string;
  const sockets: WebSocket[] = [];
  const aborts: AbortController[] = [];

  const wsUrl = (query = '') => `ws://127.0.0.1:${local.rt.httpPort}/v1/streams/${id}/live${query}`;

  function open(query: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
    const box = inbox();
    const ws = new WebSocket(wsUrl(query), options.protocols ?? [], { headers: options.headers ?? {} });
    sockets.push(ws);
    ws.on('error', () => {});
    ws.on('message', (data) => box.push(JSON.parse(data.toString())));
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    return { ws, box, opened, closed };
  }

  async function sse(query: string, headers: Record<string, string>) {
    const ac = new AbortController();
    aborts.push(ac);
    const res = await fetch(`${local.base}/v1/streams/${id}/live${query}`, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
    const box = inbox();
    if (res.ok && res.body) {
      void (async () => {
        const decoder = new TextDecoder();
        let buffer = '';
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            buffer += decoder.decode(chunk, { stream: true });
            let cut: number;
            while ((cut = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              const data = block.split('\n').find((l) => l.startsWith('data: '));
              if (data) box.push(JSON.parse(data.slice(6)));
            }
          }
        } catch {
          // aborted at the end of the test
        }
      })();
    }
    return { res, box };
  }

  const post = (records: unknown, stream = id, token = ingestToken) =>
    fetch(`${local.base}/v1/streams/${stream}/data`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(records) });

  // the runtime's clock, skewed by one test to let a ticket expire
  let skewMs = 0;

  beforeAll(async () => {
    local = await startLocal({ live: { metricsIntervalMs: 200 }, clock: { now: () => Date.now() + skewMs } });
    ({ id, ingestToken } = await local.createStream({
      name: 'Live freezers',
      type: 'iot_sensor',
      schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' }, humidity: { type: 'number' } },
      dimensions: ['deviceId'],
      alerts: [{ name: 'freezer warm', severity: 'critical', when: 'temperature > -15' }],
    }));
    const minted = await local.api(`/v1/streams/${id}/tokens`, { body: { scope: 'read' } });
    readToken = minted.body.token;
  }, 60_000);

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    for (const ac of aborts) ac.abort();
    await local?.close();
  });

  it('sends a record posted over HTTP to a WebSocket within 200 ms, after the stream_status greeting', async () => {
    const { box, opened } = open('', { headers: { authorization: `Bearer ${readToken}` }, protocols: ['tributary.v1'] });
    await opened;
    expect((await box.next((m) => m.type === 'stream_status')).msg).toMatchObject({ streamId: id, status: 'active', health: { status: 'healthy', reason: 'no data yet' } });
    const sent = performance.now();
    expect((await post({ deviceId: 'f1', temperature: -20, humidity: 40 })).status).toBe(202);
    const got = await box.next((m) => m.type === 'data_update');
    expect(got.msg).toMatchObject({ streamId: id, granularity: 'raw', points: [{ dimensions: { deviceId: 'f1' }, values: { temperature: -20, humidity: 40 } }] });
    expect(got.at - sent).toBeLessThan(200);
  });

  it('streams the same messages as Server-Sent Events to a fetch client', async () => {
    const { res, box } = await sse('', { authorization: `Bearer ${readToken}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await box.next((m) => m.type === 'stream_status');
    const sent = performance.now();
    await post({ deviceId: 'f2', temperature: -21 });
    const got = await box.next((m) => m.type === 'data_update' && m.points[0].dimensions.deviceId === 'f2');
    expect(got.msg.points[0].values).toEqual({ temperature: -21 });
    expect(got.at - sent).toBeLessThan(200);
    await box.next((m) => m.type === 'metrics_update' && m.points >= 1);
  });

  it('subscribes through the client SDK (live, liveTicket)', async () => {
    const client = new TributaryClient({ baseUrl: local.base, token: readToken });
    const ac = new AbortController();
    aborts.push(ac);
    const seen: any[] = [];
    const reading = (async () => {
      for await (const m of client.streams.live(id, { dimensions: { deviceId: 'sdk1' }, fields: ['temperature'], signal: ac.signal })) {
        seen.push(m);
        if (m.type === 'data_update') return m;
      }
      return undefined;
    })();
    await expect.poll(() => seen.some((m) => m.type === 'stream_status')).toBe(true);
    await post([{ deviceId: 'other', temperature: 1 }, { deviceId: 'sdk1', temperature: -19, humidity: 3 }]);
    expect(await reading).toMatchObject({ type: 'data_update', points: [{ dimensions: { deviceId: 'sdk1' }, values: { temperature: -19 } }] });
    ac.abort();
    expect(await client.streams.liveTicket(id)).toMatchObject({ streamId: id, ticket: expect.stringMatching(/^tkt_/) });
  });

  it('subscribes over a WebSocket through the SDK with a ticket per connection, and reconnects after a close', async () => {
    const client = new TributaryClient({ baseUrl: local.base, token: readToken });
    const ac = new AbortController();
    aborts.push(ac);
    const it = client.streams.liveSocket(id, { WebSocket: WebSocket as never, dimensions: { deviceId: 'sock1' }, signal: ac.signal, reconnectMs: 50 })[Symbol.asyncIterator]();
    const until = async (type: string) => {
      for (;;) {
        const { value, done } = await it.next();
        if (done) throw new Error('ended');
        if (value.type === type) return value;
      }
    };
    await until('stream_status');
    await post({ deviceId: 'sock1', temperature: -18 });
    expect(await until('data_update')).toMatchObject({ points: [{ values: { temperature: -18 } }] });
    // the server closes every live connection (as API Gateway does at 2 h): the SDK comes back with a new ticket
    local.rt.live.fanout.closeStream(id, 1001, 'going away');
    await until('stream_status');
    await post({ deviceId: 'sock1', temperature: -17 });
    expect(await until('data_update')).toMatchObject({ points: [{ values: { temperature: -17 } }] });
    ac.abort();
    await it.return?.(undefined);
  });

  it('keeps to the subscription’s series and fields, and bins them with granularity', async () => {
    const raw = open('?dim.deviceId=f7&fields=humidity', { protocols: ['tributary.v1', `bearer.${readToken}`] });
    const binned = open('?granularity=1m&dim.deviceId=f7', { protocols: ['tributary.v1', `bearer.${readToken}`] });
    await Promise.all([raw.opened, binned.opened]);
    await Promise.all([raw.box.next((m) => m.type === 'stream_status'), binned.box.next((m) => m.type === 'stream_status')]);
    const t = Math.floor(Date.now() / 60_000) * 60_000;
    await post([
      { deviceId: 'f8', temperature: -30, humidity: 10 },
      { deviceId: 'f7', timestamp: new Date(t + 1_000).toISOString(), temperature: -20, humidity: 50 },
      { deviceId: 'f7', timestamp: new Date(t + 2_000).toISOString(), temperature: -22, humidity: 52 },
    ]);
    const r = await raw.box.next((m) => m.type === 'data_update');
    expect(r.msg.points.map((p: any) => p.values)).toEqual([{ humidity: 50 }, { humidity: 52 }]);
    const b = await binned.box.next((m) => m.type === 'data_update');
    expect(b.msg).toMatchObject({ granularity: '1m', points: [{ time: new Date(t).toISOString(), dimensions: { deviceId: 'f7' }, values: { temperature: { mean: -21, min: -22, max: -20, count: 2, last: -22 } } }] });
  });

  it('refuses a wrong token before the upgrade, a wrong subprotocol token with close 4401, and a bad parameter with 400', async () => {
    await expect(open('', { headers: { authorization: 'Bearer trb_wrong' } }).opened).rejects.toMatchObject({ status: 401 });
    await expect(open('', { headers: { authorization: `Bearer ${ingestToken}` } }).opened).rejects.toMatchObject({ status: 403 });
    await expect(open('').opened).rejects.toMatchObject({ status: 401 });
    await expect(open('?granularity=7s', { headers: { authorization: `Bearer ${readToken}` } }).opened).rejects.toMatchObject({ status: 400 });
    const sub = open('', { protocols: ['tributary.v1', 'bearer.trb_wrong'] });
    await sub.opened;
    expect(await sub.closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/not known/) });
    expect(sub.box.messages).toEqual([]);
    const refused = await sse('', { authorization: 'Bearer trb_wrong' });
    expect(refused.res.status).toBe(401);
    expect(await refused.res.json()).toMatchObject({ status: 401 });
    const plain = await fetch(`${local.base}/v1/streams/${id}/live`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(plain.status).toBe(426);
  });

  it('opens with a ticket once: the same ticket again is a 401', async () => {
    const issued = await local.api(`/v1/streams/${id}/live-ticket`, { method: 'POST', token: readToken });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ streamId: id, ticket: expect.stringMatching(/^tkt_/), expiresAt: expect.any(String) });
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const first = open(`?ticket=${issued.body.ticket}`, { protocols: ['tributary.v1'] });
    await first.opened;
    await first.box.next((m) => m.type === 'stream_status');
    await expect(open(`?ticket=${issued.body.ticket}`).opened).rejects.toMatchObject({ status: 401 });
    const forbidden = await local.api(`/v1/streams/${id}/live-ticket`, { method: 'POST', token: ingestToken });
    expect(forbidden.status).toBe(403);
  });

  it('refuses a ticket past its 60 s', async () => {
    const issued = await local.api(`/v1/streams/${id}/live-ticket`, { method: 'POST', token: readToken });
    skewMs = 61_000;
    try {
      await expect(open(`?ticket=${issued.body.ticket}`).opened).rejects.toMatchObject({ status: 401 });
    } finally {
      skewMs = 0;
    }
    // and a ticket of this stream opens no other stream
    const other = await local.createStream({ name: 'Other', type: 'event_stream', schema: { k: { type: 'integer' } } });
    const fresh = await local.api(`/v1/streams/${id}/live-ticket`, { method: 'POST', token: readToken });
    const ws = new WebSocket(`ws://127.0.0.1:${local.rt.httpPort}/v1/streams/${other.id}/live?ticket=${fresh.body.ticket}`);
    sockets.push(ws);
    ws.on('error', () => {});
    await expect(new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('unexpected-response', (_q, res) => reject({ status: res.statusCode }))))).rejects.toMatchObject({ status: 401 });
  });

  it('sends an alert firing and resolving as error_alert', async () => {
    const { box, opened } = open('', { headers: { authorization: `Bearer ${readToken}` } });
    await opened;
    await post({ deviceId: 'warm1', temperature: -5 });
    const fired = await box.next((m) => m.type === 'error_alert' && m.state === 'firing');
    expect(fired.msg.alert).toMatchObject({ rule: 'freezer warm', severity: 'critical', dimensions: { deviceId: 'warm1' }, value: -5 });
    await post({ deviceId: 'warm1', temperature: -25 });
    const resolved = await box.next((m) => m.type === 'error_alert' && m.state === 'resolved');
    expect(resolved.msg.alert).toMatchObject({ id: fired.msg.alert.id, resolvedAt: expect.any(String) });
  });
});

describe('a subscribed stream deleted', () => {
  let local: Local;
  afterAll(() => local?.close());

  it('tells its subscribers stream_status deleted and closes them with 4404', async () => {
    local = await startLocal({ live: { metricsIntervalMs: 100 } });
    const { id } = await local.createStream({ name: 'Short lived', type: 'event_stream', schema: { k: { type: 'integer' } } });
    const ws = new WebSocket(`ws://127.0.0.1:${local.rt.httpPort}/v1/streams/${id}/live`, { headers: { authorization: 'Bearer trb_e2e-admin-token-0123456789abcdef' } });
    const got: any[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    expect((await local.api(`/v1/streams/${id}`, { method: 'DELETE' })).status).toBeLessThan(300);
    expect(await closed).toBe(4404);
    expect(got.at(-1)).toMatchObject({ type: 'stream_status', streamId: id, status: 'deleted' });
  });
});

describe('a subscriber that never reads', () => {
  let local: Local;

  afterAll(() => local?.close());

  it('is dropped with a notice once past its bound, while ingest keeps acknowledging', async () => {
    local = await startLocal({ live: { limitBytes: 64 * 1024 } });
    const { id, ingestToken } = await local.createStream({ name: 'Firehose', type: 'event_stream', schema: { k: { type: 'integer' }, note: { type: 'string' } } });
    const ws = new WebSocket(`ws://127.0.0.1:${local.rt.httpPort}/v1/streams/${id}/live`, { headers: { authorization: 'Bearer trb_e2e-admin-token-0123456789abcdef' } });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const received: any[] = [];
    ws.on('message', (d) => received.push(JSON.parse(d.toString())));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    expect(local.rt.live.fanout.count(id)).toBe(1);

    const note = 'x'.repeat(200);
    let batches = 0;
    while (local.rt.live.fanout.count(id) > 0 && batches < 200) {
      const res = await fetch(`${local.base}/v1/streams/${id}/data`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 1000 }, (_, k) => ({ k: batches * 1000 + k, note }))),
      });
      expect(res.status).toBe(202);
      batches++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(local.rt.live.fanout.count(id)).toBe(0);
    // ingest still answers at once after the drop
    const after = await fetch(`${local.base}/v1/streams/${id}/data`, { method: 'POST', headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' }, body: '{"k":-1}' });
    expect(after.status).toBe(202);
    (ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
    expect(await closed).toBe(4008);
    expect(received.at(-1)).toMatchObject({ type: 'dropped', streamId: id, limitBytes: 64 * 1024 });
  }, 120_000);
});
