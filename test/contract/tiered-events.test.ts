import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoDbEventStore, eventsTableDefinition } from '../../shared/aws/dynamodb-event-store';
import { S3EventArchive } from '../../shared/aws/s3-event-archive';
import { TieredEventSink } from '../../shared/aws/tiered-event-sink';
import { TieredEventSource } from '../../shared/aws/tiered-event-source';
import { parseEventQuery, type StoredEvent } from '../../shared/domain/events';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { startS3 } from '../../shared/local/s3-server';
import { startedForSuite } from '../fixtures/lifecycle';

// Events in two tiers (DynamoDB hot, S3 cold, here dynalite and s3rver): whatever mix of hot, cold and
// ephemeral events a range holds, paging through it on either axis and in either order gives each event
// once, in order, from the tier it is in at that moment.

const dynamo = startedForSuite(() => startDynalite());
const s3 = startedForSuite(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-s3-'));
  const server = await startS3({ directory: dir, buckets: ['events'] });
  return { ...server, close: async () => (await server.close(), await rm(dir, { recursive: true, force: true })) };
});
let tables = 0;
async function freshStore(): Promise<{ put: TieredEventSink['put']; query: TieredEventSource['query'] }> {
  const tableName = `tiered-${++tables}`;
  await ensureTable(dynamo.client, tableName, 30_000, eventsTableDefinition(tableName));
  const tiers = { hot: new DynamoDbEventStore({ client: dynamo.client, tableName }), cold: new S3EventArchive({ s3: s3.client, bucket: 'events', dynamo: dynamo.client, tableName }) };
  const sink = new TieredEventSink(tiers);
  const source = new TieredEventSource(tiers);
  return { put: (s, e) => sink.put(s, e), query: (s, q, n) => source.query(s, q, n) };
}

const T = Date.parse('2026-12-01T00:00:00Z');
const M = 60_000;

describe('TieredEventSink and TieredEventSource (dynalite + s3rver)', () => {
  it('pages through any mix of hot, cold and ephemeral events in order, each once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ e: fc.integer({ min: 0, max: 4000 }), v: fc.integer({ min: 0, max: 4000 }), ttl: fc.integer({ min: 1, max: 100 }), archive: fc.boolean() }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 120 }),
        fc.constantFrom('event', 'valid'),
        fc.constantFrom('asc', 'desc'),
        fc.integer({ min: 1, max: 7 }),
        async (specs, at, axis, order, limit) => {
          const store = await freshStore();
          const events: StoredEvent[] = specs.map((x, i) => ({ id: `req${String(i).padStart(6, '0')}.${i}`, eventTime: T + x.e * M, validTime: T + x.v * M, data: { i }, hotUntil: T + x.ttl * M, archive: x.archive }));
          // one batch of ten, then each event a batch of its own (many small containers), the last delivered twice
          const batches = [events.slice(0, 10), ...events.slice(10).map((e) => [e])];
          for (const batch of batches) await store.put('s', batch);
          await store.put('s', batches.at(-1)!);
          const now = T + at * M;
          const time = (e: StoredEvent) => (axis === 'valid' ? e.validTime : e.eventTime);
          const expected = events
            .filter((e) => e.hotUntil > now || e.archive)
            .sort((a, b) => (order === 'asc' ? 1 : -1) * (time(a) - time(b) || (a.id < b.id ? -1 : 1)))
            .map((e) => e.data.i);
          const seen: unknown[] = [];
          let after: { time: number; id: string } | undefined;
          for (let page = 0; page < 40; page++) {
            const q = { ...parseEventQuery({ start: '2026-11-30T00:00:00Z', end: '2026-12-04T00:00:00Z', timeAxis: axis, order, limit: String(limit) }, now), ...(after && { after }) };
            const r = await store.query('s', q, now);
            expect(r.events.length).toBeLessThanOrEqual(limit);
            seen.push(...r.events.map((e) => e.data.i));
            after = r.next;
            if (!after) break;
          }
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
