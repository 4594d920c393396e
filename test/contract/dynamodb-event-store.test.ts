import { InternalServerError, ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbEventStore, eventsTableDefinition } from '../../shared/aws/dynamodb-event-store';
import { localDynamoDbClient } from '../../shared/aws/dynamodb-local-client';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { parseEventQuery, type StoredEvent } from '../../shared/domain/events';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { startedForSuite } from '../fixtures/lifecycle';

// The event store on DynamoDB's API (dynalite): idempotent puts, both time axes with pages, as-of, and
// ephemeral events left out once their hot TTL has passed (DynamoDB's TTL deletes them lazily).

const server = startedForSuite(() => startDynalite());
let tables = 0;
async function freshStore(): Promise<{ store: DynamoDbEventStore; tableName: string }> {
  const tableName = `events-${++tables}`;
  await ensureTable(server.client, tableName, 30_000, eventsTableDefinition(tableName));
  return { store: new DynamoDbEventStore({ client: server.client, tableName }), tableName };
}

const T = Date.parse('2026-12-01T00:00:00Z');
const H = 3_600_000;
const event = (n: number, over: Partial<StoredEvent> = {}): StoredEvent => ({
  id: `req0000001.${n}`,
  eventTime: T + n * H,
  validTime: T - n * H,
  data: { n },
  hotUntil: T + 1000 * H,
  archive: true,
  ...over,
});
const range = (extra: Record<string, string> = {}) => parseEventQuery({ start: '2026-11-01T00:00:00Z', end: '2026-12-31T00:00:00Z', ...extra }, T);

describe('DynamoDbEventStore (dynalite)', () => {
  it('stores each event once, however often a batch is delivered, and keeps metadata and data whole', async () => {
    const { store, tableName } = await freshStore();
    const big = 'x'.repeat(50_000);
    const batch = [event(1, { metadata: { source: 'shop', 'ttl-on/stored-event': '2h' }, data: { big } }), event(2)];
    await store.put('orders', batch);
    await store.put('orders', batch);
    expect((await server.client.send(new ScanCommand({ TableName: tableName }))).Count).toBe(2);
    const { events } = await store.query('orders', range(), T);
    expect(events).toEqual(batch);
  });

  it('writes more than one BatchWriteItem holds (25)', async () => {
    const { store } = await freshStore();
    await store.put('orders', Array.from({ length: 60 }, (_, i) => event(i)));
    expect((await store.query('orders', range({ limit: '1000' }), T)).events).toHaveLength(60);
  });

  it('ranges and orders by event time or valid time, in pages that resume where they stopped', async () => {
    const { store } = await freshStore();
    await store.put('orders', [event(3), event(1), event(2), event(4)]);
    await store.put('other', [event(9)]);
    const byEvent = await store.query('orders', range(), T);
    expect(byEvent.events.map((e) => e.data.n)).toEqual([1, 2, 3, 4]);
    const byValid = await store.query('orders', range({ timeAxis: 'valid' }), T);
    expect(byValid.events.map((e) => e.data.n)).toEqual([4, 3, 2, 1]);
    for (const axis of ['event', 'valid']) {
      for (const order of ['asc', 'desc']) {
        const seen: unknown[] = [];
        let after: { time: number; id: string } | undefined;
        for (let page = 0; page < 5; page++) {
          const q = { ...range({ timeAxis: axis, order, limit: '3' }), ...(after && { after }) };
          const r = await store.query('orders', q, T);
          seen.push(...r.events.map((e) => e.data.n));
          after = r.next;
          if (!after) break;
        }
        const all = (await store.query('orders', range({ timeAxis: axis, order }), T)).events.map((e) => e.data.n);
        expect(seen, `${axis} ${order}`).toEqual(all);
      }
    }
    // half-open on the axis: [start, end)
    const narrow = await store.query('orders', parseEventQuery({ start: new Date(T + H).toISOString(), end: new Date(T + 3 * H).toISOString() }, T), T);
    expect(narrow.events.map((e) => e.data.n)).toEqual([1, 2]);
  });

  it('answers as of an event time, and leaves out ephemeral events past their hot TTL', async () => {
    const { store } = await freshStore();
    await store.put('orders', [event(1), event(2), event(3, { archive: false, hotUntil: T + 10 })]);
    expect((await store.query('orders', range({ asOf: new Date(T + 2 * H).toISOString() }), T)).events.map((e) => e.data.n)).toEqual([1, 2]);
    expect((await store.query('orders', range(), T + 5)).events.map((e) => e.data.n)).toEqual([1, 2, 3]);
    expect((await store.query('orders', range(), T + 10)).events.map((e) => e.data.n)).toEqual([1, 2]);
  });

  it('turns a DynamoDB failure into a StoreUnavailableError', async () => {
    const { tableName } = await freshStore();
    const client = localDynamoDbClient(server.endpoint);
    client.middlewareStack.add(() => async () => {
      throw new InternalServerError({ message: 'injected', $metadata: {} });
    }, { step: 'initialize', name: 'fail-all' });
    const store = new DynamoDbEventStore({ client, tableName });
    await expect(store.put('orders', [event(1)])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.query('orders', range(), T)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
