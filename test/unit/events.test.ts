import { describe, expect, it } from 'vitest';
import { decodeQueueMessage, encodeEnvelopeMessages } from '../../shared/aws/ingest-message';
import { BadRequestError, RecordValidationError } from '../../shared/domain/errors';
import fc from 'fast-check';
import { containersOf, eventAttributes, pageOfContainers, parseEventQuery, storedEvents, typedRecords, type StoredEvent } from '../../shared/domain/events';

const NOW = Date.parse('2026-12-04T10:00:00Z');
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
const attrsOf = (headers: Record<string, string>) => eventAttributes((name) => headers[name], { requestId: 'req-0000001', receivedAt: NOW });
const issuesOf = (headers: Record<string, string>) => {
  try {
    attrsOf(headers);
  } catch (err) {
    if (err instanceof BadRequestError) return err.issues;
    throw err;
  }
  return [];
};

describe('event attributes from the headers (the Flowcore ingestion document)', () => {
  it("reads the document's own example header, base64url too, and the alias", () => {
    expect(attrsOf({ 'x-flowcore-metadata-json': 'eyJtZXRhZGF0YSI6Im1ldGFkYXRhIn0=' }).metadata).toEqual({ metadata: 'metadata' });
    expect(attrsOf({ 'x-tributary-metadata': Buffer.from('{"a":"~~?"}').toString('base64url') }).metadata).toEqual({ a: '~~?' });
  });

  it('takes the hot TTL and the archive flag from the metadata, 7 days and archived unless told', () => {
    expect(attrsOf({})).toMatchObject({ ttlMs: 7 * 86_400_000, archive: true });
    expect(attrsOf({ 'x-flowcore-metadata-json': b64({ 'ttl-on/stored-event': '30s', 'do-not-archive-on/stored-event': true }) })).toMatchObject({ ttlMs: 30_000, archive: false });
    expect(attrsOf({ 'x-flowcore-metadata-json': b64({ 'ttl-on/stored-event': '7d' }) }).ttlMs).toBe(7 * 86_400_000);
  });

  it.each([
    [{ 'x-flowcore-metadata-json': b64({ 'ttl-on/stored-event': '8d' }) }, 'x-flowcore-metadata-json', 'at most 7d'],
    [{ 'x-flowcore-metadata-json': b64({ 'ttl-on/stored-event': 30 }) }, 'x-flowcore-metadata-json', 'a duration'],
    [{ 'x-flowcore-metadata-json': b64({ 'do-not-archive-on/stored-event': 'yes' }) }, 'x-flowcore-metadata-json', 'true or false'],
    [{ 'x-flowcore-metadata-json': b64('text') }, 'x-flowcore-metadata-json', 'JSON object'],
    [{ 'x-flowcore-event-time': '1767225600000' }, 'x-flowcore-event-time', 'ISO 8601'],
    [{ 'x-flowcore-valid-time': '2026-12-04T10:00:00Z', 'x-flowcore-valid-time-key': 'at' }, 'x-flowcore-valid-time-key', 'not both'],
    [{ 'x-flowcore-event-time-key': 'a b' }, 'x-flowcore-event-time-key', 'name a field'],
  ])('refuses %j at its header', (headers, name, message) => {
    expect(issuesOf(headers)).toEqual([{ path: ['headers', name], message: expect.stringContaining(message) }]);
  });

  it('gives each record its id by request position, and its times from the headers, the named fields or the receive time', () => {
    const attrs = { ...attrsOf({ 'x-flowcore-valid-time-key': 'placedAt' }), offset: 10 };
    const { events, issues } = storedEvents([{ placedAt: '2026-11-01T00:00:00Z' }, { placedAt: 'soon' }, {}], [0, 1, 2], attrs, NOW);
    expect(issues).toEqual([{ index: 1, path: ['placedAt'], message: expect.stringContaining('x-flowcore-valid-time-key') }]);
    expect(events.map((e) => [e.id, e.eventTime, e.validTime])).toEqual([
      ['req-0000001.10', NOW, Date.parse('2026-11-01T00:00:00Z')],
      ['req-0000001.12', NOW, NOW],
    ]);
  });
});

describe('the event type header (x-tributary-event-type)', () => {
  const types = ['placed', 'shipped'];

  it('gives every record without an eventType the header\'s, and leaves the ones that agree', () => {
    expect(typedRecords([{ orderId: 'o-1' }, { orderId: 'o-2', eventType: 'placed' }], 'placed', types)).toEqual([
      { orderId: 'o-1', eventType: 'placed' },
      { orderId: 'o-2', eventType: 'placed' },
    ]);
    const records = [{ orderId: 'o-1' }];
    expect(typedRecords(records, undefined, types)).toBe(records);
  });

  it('refuses a record of another type at its index, an unknown type and a stream without types, naming the header', () => {
    const mismatch = (() => { try { typedRecords([{ orderId: 'o-1' }, { eventType: 'shipped' }], 'placed', types); } catch (e) { return e; } })();
    expect(mismatch).toBeInstanceOf(RecordValidationError);
    expect((mismatch as RecordValidationError).issues).toEqual([{ index: 1, path: ['eventType'], message: `is "shipped" but the x-tributary-event-type header says 'placed'` }]);
    expect(() => typedRecords([{}], 'cancelled', types)).toThrow(BadRequestError);
    try {
      typedRecords([{}], 'cancelled', types);
    } catch (e) {
      expect((e as BadRequestError).issues).toEqual([{ path: ['headers', 'x-tributary-event-type'], message: "must be one of the stream's event types: placed, shipped" }]);
    }
    expect(() => typedRecords([{}], 'placed', undefined)).toThrow(/Invalid event headers/);
  });
});

describe('event attributes through the queue', () => {
  it('travel with every message of a split request, each knowing the position of its first record', () => {
    const records = Array.from({ length: 30 }, (_, i) => ({ n: i, pad: 'x'.repeat(100) }));
    const event = { ...attrsOf({ 'x-flowcore-metadata-json': b64({ source: 'shop' }) }) };
    const bodies = encodeEnvelopeMessages({ streamId: 'orders', receivedAt: NOW, source: 'http', records, event }, 1_000);
    expect(bodies.length).toBeGreaterThan(3);
    let seen = 0;
    for (const body of bodies) {
      const decoded = decodeQueueMessage(body);
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(decoded.envelope.event).toEqual({ ...event, offset: seen });
      seen += decoded.envelope.records.length;
    }
    expect(seen).toBe(30);
  });
});

describe('a page over event containers', () => {
  const T0 = Date.parse('2026-12-01T00:00:00Z');
  it('is the first events of the range in order, whatever the containers, and stops reading early', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ e: fc.integer({ min: 0, max: 4 * 1440 }), v: fc.integer({ min: 0, max: 4 * 1440 }), batch: fc.integer({ min: 0, max: 6 }) }), { minLength: 1, maxLength: 60 }),
        fc.constantFrom('event', 'valid'),
        fc.constantFrom('asc', 'desc'),
        fc.integer({ min: 1, max: 10 }),
        fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined }),
        async (specs, axis, order, limit, cursorAt) => {
          const events: StoredEvent[] = specs.map((x, i) => ({ id: `r${x.batch}.${String(i).padStart(3, '0')}`, eventTime: T0 + x.e * 60_000, validTime: T0 + x.v * 60_000, data: {}, hotUntil: Infinity, archive: true }));
          const time = (e: StoredEvent) => (axis === 'valid' ? e.validTime : e.eventTime);
          const sign = order === 'asc' ? 1 : -1;
          const cmp = (a: StoredEvent, b: StoredEvent) => sign * (time(a) - time(b) || (a.id < b.id ? -1 : 1));
          const all = [...events].sort(cmp);
          const after = cursorAt !== undefined && all[cursorAt % all.length] ? { time: time(all[cursorAt % all.length]!), id: all[cursorAt % all.length]!.id } : undefined;
          const q = { ...parseEventQuery({ start: '2026-11-30T00:00:00Z', end: '2026-12-06T00:00:00Z', timeAxis: axis, order, limit: String(limit) }, T0), ...(after && { after }) };
          // containers as the stores make them (a batch per request, split by day), in key order
          const byBatch = new Map<number, StoredEvent[]>();
          specs.forEach((x, i) => byBatch.set(x.batch, [...(byBatch.get(x.batch) ?? []), events[i]!]));
          const containers = [...byBatch.values()].flatMap((b) => containersOf(b)).map((c) => {
            const span = (f: (e: StoredEvent) => number) => [Math.min(...c.map(f)), Math.max(...c.map(f))];
            const [minE, maxE] = span((e) => e.eventTime);
            const [minV, maxV] = span((e) => e.validTime);
            return { minE: minE!, maxE: maxE!, minV: minV!, maxV: maxV!, first: c[0]!.id, list: c };
          });
          const key = (c: (typeof containers)[number]) => (axis === 'valid' ? c.minV : c.minE);
          containers.sort((a, b) => sign * (key(a) - key(b) || (a.first < b.first ? -1 : 1)));
          let read = 0;
          async function* iterate() {
            for (const c of containers) {
              read++;
              yield { ...c, events: async () => c.list };
            }
          }
          const page = await pageOfContainers(iterate(), q, () => true);
          const past = after ? all.filter((e) => sign * (time(e) - after.time || (e.id < after.id ? -1 : e.id > after.id ? 1 : 0)) > 0) : all;
          expect(page).toEqual(past.slice(0, limit + 1));
          expect(read).toBeLessThanOrEqual(containers.length);
        },
      ),
      { numRuns: 600 },
    );
  });
});

describe('a page over event containers, at the edges of the early stop', () => {
  const at = (hhmm: string) => Date.parse(`2026-12-01T${hhmm}:00Z`);
  const ev = (id: string, t: number): StoredEvent => ({ id, eventTime: t, validTime: t, data: {}, hotUntil: Infinity, archive: true });
  const page = (order: 'asc' | 'desc', containers: StoredEvent[][], limit: number) => {
    async function* iterate() {
      for (const c of containers) yield { minE: Math.min(...c.map((e) => e.eventTime)), maxE: Math.max(...c.map((e) => e.eventTime)), minV: 0, maxV: 0, events: async () => c };
    }
    return pageOfContainers(iterate(), parseEventQuery({ start: '2026-12-01T00:00:00Z', end: '2026-12-02T00:00:00Z', order, limit: String(limit) }, 0), () => true);
  };

  it('reads on (desc) while a container that starts earlier may still end later than the page edge, late in a day', async () => {
    // key order desc: the 23:10 container first, then the 22:00 one, which ends at 23:50
    const got = await page('desc', [[ev('a', at('23:10')), ev('b', at('23:20'))], [ev('c', at('22:00')), ev('d', at('23:50'))]], 1);
    expect(got.map((e) => e.id)).toEqual(['d', 'b']);
  });

  it('reads on (asc) into a container that starts at the page edge, where an event of the same time and a smaller id can be', async () => {
    const got = await page('asc', [[ev('m', at('10:00')), ev('n', at('10:05'))], [ev('a', at('10:05'))]], 1);
    expect(got.map((e) => e.id)).toEqual(['m', 'a']);
  });
});
