import { describe, expect, it } from 'vitest';
import { decodeQueueMessage, encodeEnvelopeMessages } from '../../shared/aws/ingest-message';
import { BadRequestError } from '../../shared/domain/errors';
import { eventAttributes, storedEvents } from '../../shared/domain/events';

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
