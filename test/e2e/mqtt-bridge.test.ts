import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentDefinition } from '../fixtures/data-streams';
import { freePort, startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';

const ADMIN = 'trb_bridge-admin-token-0123456789abcdef';

/**
 * The Data Streams document's Occupancy Monitoring stream, as written: its devices publish to the building's
 * own broker (`source: {type: 'mqtt', endpoint, topics}` with wildcards), and the local runtime subscribes
 * to it. The building's broker here is a second aedes on another port, reached over real TCP.
 */
describe("a stream that subscribes to another broker's topics (the document's Occupancy Monitoring, local runtime)", () => {
  let rt: RuntimeProcess;
  let building: { broker: Aedes; server: Server; port: number };
  let device: mqtt.MqttClient;
  let id: string;
  const subscribed = new Set<string>();

  const admin = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${rt.base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  async function points(predicate: (p: any[]) => boolean, ms = 15_000): Promise<any[]> {
    const until = Date.now() + ms;
    for (;;) {
      const { body } = await admin(`/v1/streams/${id}/data?granularity=raw&limit=1000&start=2026-01-01T00:00:00Z`);
      if (predicate(body.points ?? [])) return body.points;
      if (Date.now() > until) throw new Error(`points not as expected within ${ms} ms: ${JSON.stringify(body.points?.map((p: any) => p.values.occupantCount))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function untilSubscribed(clientId: string, ms = 15_000): Promise<void> {
    const until = Date.now() + ms;
    while (!subscribed.has(clientId)) {
      if (Date.now() > until) throw new Error(`${clientId} did not subscribe within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const publish = (topic: string, payload: unknown) => device.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
  const reading = (zone: string, occupantCount: number, second: number) => ({ zone, occupantCount, timestamp: `2026-11-30T09:00:${String(second).padStart(2, '0')}Z` });

  beforeAll(async () => {
    const broker = await Aedes.createBroker();
    broker.on('subscribe', (_subs, client) => client && subscribed.add(client.id));
    broker.on('clientDisconnect', (client) => subscribed.delete(client.id));
    const server = createServer(broker.handle);
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    building = { broker, server, port };
    device = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'occupancy-counter-1', protocolVersion: 4 });
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_QUIET: '1' });
  });
  afterAll(async () => {
    await device?.endAsync(true);
    await rt?.close();
    await new Promise((resolve) => building?.broker.close(() => building.server.close(resolve)));
  });

  it('is created from the document as written (endpoint pointed at the building broker), and answers with its subscription', async () => {
    const def = documentDefinition('occupancy-monitoring');
    const created = await admin('/v1/streams', { body: { ...def, source: { ...def.source, endpoint: `mqtt://127.0.0.1:${building.port}` } } });
    expect(created.status).toBe(201);
    id = created.body.id;
    expect(created.body).toMatchObject({ type: 'iot_sensor', tags: { category: 'occupancy' }, subscription: { topics: def.source.topics, qos: 1 } });
    await untilSubscribed(`tributary-${id}`);
  });

  it('takes what devices publish on the wildcard topics into the stream, each zone a series', async () => {
    await publish('building/hq/occupancy/lobby/count', reading('lobby', 12, 1));
    await publish('building/hq/occupancy/floor-2/count', reading('floor-2', 30, 1));
    await publish('building/hq/other/ignored', reading('lobby', 99, 2)); // not a subscribed topic
    const got = await points((p) => p.length >= 2);
    expect(got.map((p) => [p.dimensions.zone, p.values.occupantCount]).sort()).toEqual([['floor-2', 30], ['lobby', 12]]);
  });

  it('counts a message the stream refuses on its status and keeps taking the next ones', async () => {
    await publish('building/hq/occupancy/lobby/count', { zone: 'lobby', occupantCount: -4, timestamp: '2026-11-30T09:00:03Z' });
    await publish('building/hq/occupancy/lobby/count', reading('lobby', 14, 4));
    await points((p) => p.some((x) => x.values.occupantCount === 14));
    const { body: status } = await admin(`/v1/streams/${id}/status`);
    expect(status.invalidCount).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(status.recentRejections)).toContain('occupantCount');
  });

  it('gets what was published while the runtime was down (killed -9): the building broker kept it for the persistent session', async () => {
    await rt.kill();
    for (let s = 10; s < 15; s++) await publish('building/hq/occupancy/atrium/count', reading('atrium', s, s));
    await rt.start();
    const atrium = (p: any[]) => p.filter((x) => x.dimensions.zone === 'atrium').map((x) => x.values.occupantCount);
    const got = await points((p) => atrium(p).length >= 5);
    // stored once each: a redelivered message has its own time, so it is the same point
    expect(atrium(got)).toEqual([10, 11, 12, 13, 14]);
  });

  it('closes the subscription when the stream is paused and opens it again when resumed', async () => {
    const clientId = `tributary-${id}`;
    expect((await admin(`/v1/streams/${id}/pause`, { method: 'POST', body: {} })).status).toBe(200);
    const until = Date.now() + 15_000;
    while (subscribed.has(clientId) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(subscribed.has(clientId)).toBe(false);
    expect((await admin(`/v1/streams/${id}/resume`, { method: 'POST', body: {} })).status).toBe(200);
    await untilSubscribed(clientId);
  });

  it('refuses topic filters MQTT does not allow, naming each', async () => {
    const def = documentDefinition('occupancy-monitoring');
    const bad = await admin('/v1/streams', { body: { ...def, name: 'Bad topics', source: { ...def.source, topics: ['building/#/x', 'a+/b'] } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.path)).toEqual([
      ['source', 'topics', 0],
      ['source', 'topics', 1],
    ]);
  });
});
