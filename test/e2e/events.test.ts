import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { startLocal } from './harness';

/**
 * Events as the Flowcore ingestion document sends them, on the local runtime: metadata in
 * `x-flowcore-metadata-json`, an event time and a valid time per event (headers, or fields named by the
 * `…-time-key` headers), queried on either axis and "as of" an event time; ephemeral events gone after
 * their hot TTL.
 */

const local = startedForSuite(() => startLocal());
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

async function post(id: string, token: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${local.base}/v1/streams/${id}/data`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function eventsOf(id: string, query: string, until: (events: any[]) => boolean = (e) => e.length > 0): Promise<any> {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await local.api(`/v1/streams/${id}/events?${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    if (until(r.body.events) || Date.now() > end) return r.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function orders(): Promise<{ id: string; ingestToken: string }> {
  return local.createStream({ name: `Orders ${Math.random()}`, type: 'event_stream', schema: { orderId: { type: 'string' }, total: { type: 'number' }, placedAt: { type: 'datetime' } } });
}

describe('events with metadata and two times on the local runtime', () => {
  it('keeps the metadata with the event and gives it the ingest time as event time and valid time', async () => {
    const { id, ingestToken } = await orders();
    const before = Date.now();
    const r = await post(id, ingestToken, { orderId: 'o-1', total: 12.5 }, { 'x-flowcore-metadata-json': b64({ metadata: 'metadata', source: 'shop' }) });
    expect(r.status).toBe(202);
    const { events, timeAxis } = await eventsOf(id, '');
    expect(timeAxis).toBe('event');
    expect(events).toEqual([{ id: expect.any(String), eventTime: expect.any(String), validTime: expect.any(String), metadata: { metadata: 'metadata', source: 'shop' }, data: { orderId: 'o-1', total: 12.5 }, storage: 'hot' }]);
    const t = Date.parse(events[0].eventTime);
    expect(t).toBeGreaterThanOrEqual(before - 5);
    expect(t).toBeLessThanOrEqual(Date.now());
    expect(events[0].validTime).toBe(events[0].eventTime);
  });

  it('takes the times from the headers, and in a batch from the fields the key headers name; timeAxis=valid orders by valid time', async () => {
    const { id, ingestToken } = await orders();
    const one = await post(id, ingestToken, { orderId: 'o-0' }, { 'x-flowcore-event-time': '2026-11-01T08:00:00Z', 'x-flowcore-valid-time': '2026-10-01T00:00:00Z' });
    expect(one.status).toBe(202);
    const batch = [
      { orderId: 'o-3', placedAt: '2026-11-03T00:00:00Z' },
      { orderId: 'o-1', placedAt: '2026-11-01T00:00:00Z' },
      { orderId: 'o-2', placedAt: '2026-11-02T00:00:00Z' },
    ];
    expect((await post(id, ingestToken, batch, { 'x-flowcore-valid-time-key': 'placedAt' })).status).toBe(202);
    const range = 'start=2026-01-01T00:00:00Z&end=2027-12-31T00:00:00Z';
    const byEvent = await eventsOf(id, range, (e) => e.length === 4);
    expect(byEvent.events[0]).toMatchObject({ eventTime: '2026-11-01T08:00:00.000Z', validTime: '2026-10-01T00:00:00.000Z', data: { orderId: 'o-0' } });
    const byValid = await eventsOf(id, `${range}&timeAxis=valid`, (e) => e.length === 4);
    expect(byValid.events.map((e: any) => e.data.orderId)).toEqual(['o-0', 'o-1', 'o-2', 'o-3']);
    expect(byValid.events.map((e: any) => e.validTime)).toEqual(['2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z', '2026-11-03T00:00:00.000Z']);
    const desc = await eventsOf(id, `${range}&timeAxis=valid&order=desc&limit=3`, (e) => e.length === 3);
    expect(desc.events.map((e: any) => e.data.orderId)).toEqual(['o-3', 'o-2', 'o-1']);
    const rest = await eventsOf(id, `${range}&timeAxis=valid&order=desc&limit=3&cursor=${desc.nextCursor}`);
    expect(rest.events.map((e: any) => e.data.orderId)).toEqual(['o-0']);
    expect(rest.nextCursor).toBeUndefined();
  });

  it('answers as of an event time: what was known then, not what came later', async () => {
    const { id, ingestToken } = await orders();
    expect((await post(id, ingestToken, { orderId: 'first' }, {})).status).toBe(202);
    const [first] = (await eventsOf(id, '')).events;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const asOf = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await post(id, ingestToken, { orderId: 'later' }, {})).status).toBe(202);
    await eventsOf(id, '', (e) => e.length === 2);
    const then = await eventsOf(id, `asOf=${asOf}`);
    expect(then).toMatchObject({ asOf, events: [{ id: first.id, data: { orderId: 'first' } }] });
  });

  it('forgets an ephemeral event after its hot TTL, and answers an archived one from cold storage', async () => {
    const { id, ingestToken } = await orders();
    expect((await post(id, ingestToken, { orderId: 'gone' }, { 'x-flowcore-metadata-json': b64({ 'ttl-on/stored-event': '1s', 'do-not-archive-on/stored-event': true }) })).status).toBe(202);
    expect((await post(id, ingestToken, { orderId: 'kept' }, { 'x-flowcore-metadata-json': b64({ 'ttl-on/stored-event': '1s' }) })).status).toBe(202);
    expect((await eventsOf(id, '', (e) => e.length === 2)).events).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await eventsOf(id, '')).events.map((e: any) => [e.data.orderId, e.storage])).toEqual([['kept', 'cold']]);
  });

  it('keeps an event larger than a point may be whole, its point holding only its numbers', async () => {
    const { id, ingestToken } = await local.createStream({ name: `Tickets ${Math.random()}`, type: 'event_stream', schema: { subject: { type: 'string' }, body: { type: 'string' }, priority: { type: 'number' }, tags: { type: 'array' } } });
    const body = 'A long description of the fault. '.repeat(300);
    const r = await post(id, ingestToken, { subject: 'Fan noise', body, priority: 2, tags: ['hvac', 'noise'] }, {});
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const { events } = await eventsOf(id, '');
    expect(events[0].data).toEqual({ subject: 'Fan noise', body, priority: 2, tags: ['hvac', 'noise'] });
    const points = await local.waitForPoints(id, 'limit=10', (p) => p.length === 1);
    expect(points[0].values).toEqual({ priority: 2 });
    // a small one keeps its text in its point too
    expect((await post(id, ingestToken, { subject: 'Door', priority: 1, timestamp: '2026-12-01T00:00:00Z' }, {})).status).toBe(202);
    const small = await local.waitForPoints(id, 'start=2026-11-30T00:00:00Z&end=2026-12-02T00:00:00Z', (p) => p.length === 1);
    expect(small[0].values).toEqual({ subject: 'Door', priority: 1 });
  });

  it('filters by event type, as the stream\'s event types name them', async () => {
    const { id, ingestToken } = await local.createStream({
      name: `Shipments ${Math.random()}`,
      type: 'event_stream',
      eventTypes: { placed: { orderId: { type: 'string', required: true } }, shipped: { orderId: { type: 'string', required: true }, carrier: { type: 'string' } } },
    });
    const batch = [
      { eventType: 'placed', orderId: 'o-1' },
      { eventType: 'shipped', orderId: 'o-1', carrier: 'DHL' },
      { eventType: 'placed', orderId: 'o-2' },
    ];
    expect((await post(id, ingestToken, batch, {})).status).toBe(202);
    await eventsOf(id, '', (e) => e.length === 3);
    expect((await eventsOf(id, 'type=shipped')).events.map((e: any) => e.data)).toEqual([{ eventType: 'shipped', orderId: 'o-1', carrier: 'DHL' }]);
    expect((await eventsOf(id, 'type=placed,shipped')).events).toHaveLength(3);
    expect((await eventsOf(id, 'type=cancelled', () => true)).events).toEqual([]);

    // a sender posting to one event type's URL names it in a header instead of in each record
    expect((await post(id, ingestToken, [{ orderId: 'o-3', carrier: 'UPS' }], { 'x-tributary-event-type': 'shipped' })).status).toBe(202);
    const shipped = await eventsOf(id, 'type=shipped', (e) => e.length === 2);
    expect(shipped.events.map((e: any) => e.data)).toContainEqual({ orderId: 'o-3', carrier: 'UPS', eventType: 'shipped' });
    const disagree = await post(id, ingestToken, [{ orderId: 'o-4' }, { eventType: 'placed', orderId: 'o-5' }], { 'x-tributary-event-type': 'shipped' });
    expect(disagree.status).toBe(400);
    expect(disagree.body.errors).toEqual([{ index: 1, path: ['eventType'], message: `is "placed" but the x-tributary-event-type header says 'shipped'` }]);
    const unknown = await post(id, ingestToken, { orderId: 'o-6' }, { 'x-tributary-event-type': 'cancelled' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: ['headers', 'x-tributary-event-type'], message: "must be one of the stream's event types: placed, shipped" }]);
    // a type the header gives is validated as the record's own: `shipped` requires orderId
    expect((await post(id, ingestToken, { carrier: 'DHL' }, { 'x-tributary-event-type': 'shipped' })).status).toBe(400);
    expect((await eventsOf(id, '', () => true)).events).toHaveLength(4);
  });

  it('refuses bad event headers with 400 naming the header, and stores nothing', async () => {
    const { id, ingestToken } = await orders();
    const cases: [Record<string, string>, string][] = [
      [{ 'x-flowcore-metadata-json': 'not base64!' }, 'x-flowcore-metadata-json'],
      [{ 'x-flowcore-metadata-json': b64([1, 2]) }, 'x-flowcore-metadata-json'],
      [{ 'x-tributary-metadata': Buffer.from('{oops').toString('base64') }, 'x-tributary-metadata'],
      [{ 'x-flowcore-metadata-json': b64({ 'ttl-on/stored-event': '8d' }) }, 'x-flowcore-metadata-json'],
      [{ 'x-flowcore-valid-time': 'yesterday' }, 'x-flowcore-valid-time'],
    ];
    for (const [headers, name] of cases) {
      const r = await post(id, ingestToken, { orderId: 'x' }, headers);
      expect(r.status, name).toBe(400);
      expect(r.body.errors[0].path).toEqual(['headers', name]);
    }
    const keyed = await post(id, ingestToken, [{ orderId: 'a', placedAt: '2026-11-01T00:00:00Z' }, { orderId: 'b', placedAt: 'soon' }], { 'x-flowcore-valid-time-key': 'placedAt' });
    expect(keyed.status).toBe(400);
    expect((await local.api(`/v1/streams/${id}/events`)).body.events).toEqual([]);
  });

  it('answers 400 for the events of a stream that is not an event stream, and for an unknown parameter', async () => {
    const sensor = await local.createStream({ name: 'Sensors', type: 'iot_sensor', schema: { t: { type: 'number' } } });
    expect((await local.api(`/v1/streams/${sensor.id}/events`)).status).toBe(400);
    const { id } = await orders();
    const r = await local.api(`/v1/streams/${id}/events?timeaxis=valid`);
    expect(r.status).toBe(400);
    expect(r.body.errors[0].path).toEqual(['query', 'timeaxis']);
  });
});

describe('hot and cold storage of events, on a clock the test moves', () => {
  let now = Date.parse('2026-12-04T10:00:00Z');
  const clocked = startedForSuite(() => startLocal({ clock: { now: () => now } }));

  it('serves an event with a 2 s TTL from hot storage, then from cold by the same query; an ephemeral one is gone', async () => {
    const r = await clocked.api('/v1/streams', { body: { name: 'Clicks', type: 'event_stream', schema: { page: { type: 'string' } } } });
    const { id, ingestToken } = r.body;
    const send = async (page: string, metadata: unknown) => {
      const res = await fetch(`${clocked.base}/v1/streams/${id}/data`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json', 'x-flowcore-metadata-json': b64(metadata) },
        body: JSON.stringify([{ page }]),
      });
      expect(res.status).toBe(202);
    };
    await send('/kept', { 'ttl-on/stored-event': '2s' });
    await send('/ephemeral', { 'ttl-on/stored-event': '2s', 'do-not-archive-on/stored-event': true });
    const query = `start=2026-12-04T09:00:00Z&end=2026-12-04T11:00:00Z`;
    const read = async () => (await clocked.api(`/v1/streams/${id}/events?${query}`)).body.events.map((e: any) => [e.data.page, e.storage]);
    const end = Date.now() + 10_000;
    while ((await read()).length < 2 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await read()).sort()).toEqual([['/ephemeral', 'hot'], ['/kept', 'hot']]);
    now += 2_500;
    expect(await read()).toEqual([['/kept', 'cold']]);
    // as of an event time, and on the valid axis, the cold tier answers too
    expect((await clocked.api(`/v1/streams/${id}/events?${query}&timeAxis=valid&asOf=2026-12-04T10:00:00Z`)).body.events.map((e: any) => e.data.page)).toEqual(['/kept']);
    expect((await clocked.api(`/v1/streams/${id}/events?${query}&asOf=2026-12-04T09:59:59Z`)).body.events).toEqual([]);
  });
});
