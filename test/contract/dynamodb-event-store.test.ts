import { randomBytes } from 'node:crypto';
import { InternalServerError, ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbEventStore, eventsTableDefinition } from '../../shared/aws/dynamodb-event-store';
import { localDynamoDbClient } from '../../shared/aws/dynamodb-local-client';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { parseEventQuery, type StoredEvent } from '../../shared/domain/events';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { startedForSuite } from '../fixtures/lifecycle';

// The hot tier on DynamoDB's API (dynalite): containers, not items per event (a batch is one write, or a few
// when it spans days or is large), idempotent puts, the hot TTL and as-of applied by the query.

const server = startedForSuite(() => startDynalite());
let tables = 0;
async function freshStore(): Promise<{ store: DynamoDbEventStore; tableName: string }> {
  const tableName = `events-${++tables}`;
  await ensureTable(server.client, tableName, 30_000, eventsTableDefinition(tableName));
  return { store: new DynamoDbEventStore({ client: server.client, tableName }), tableName };
}
const count = async (tableName: string) => (await server.client.send(new ScanCommand({ TableName: tableName }))).Count;

const T = Date.parse('2026-12-01T00:00:00Z');
const H = 3_600_000;
const event = (n: number, over: Partial<StoredEvent> = {}): StoredEvent => ({
  id: `req0000001.${n}`,
  eventTime: T + n * H,
  validTime: T + n * H,
  data: { n },
  hotUntil: T + 1000 * H,
  archive: true,
  ...over,
});
const range = (extra: Record<string, string> = {}) => parseEventQuery({ start: '2026-11-01T00:00:00Z', end: '2026-12-31T00:00:00Z', limit: '1000', ...extra }, T);

describe('DynamoDbEventStore (dynalite)', () => {
  it('writes a batch as one container per day, however often it is delivered, and keeps metadata and data whole', async () => {
    const { store, tableName } = await freshStore();
    // 10 events over 10 hours of one day: one item
    const batch = Array.from({ length: 10 }, (_, i) => event(i, i === 0 ? { metadata: { source: 'shop' } } : {}));
    await store.putHot('orders', batch);
    await store.putHot('orders', batch);
    expect(await count(tableName)).toBe(1);
    expect(await store.queryHot('orders', range(), T)).toEqual(batch);
    // across three days: three
    await store.putHot('orders', [event(30), event(54), event(78)]);
    expect(await count(tableName)).toBe(4);
  });

  it('splits a container too large for one item, and reads every event back', async () => {
    const { store, tableName } = await freshStore();
    const noisy = Array.from({ length: 40 }, (_, i) => event(0, { id: `req0000001.${i}`, data: { blob: randomBytes(20_000).toString('base64') } }));
    await store.putHot('orders', noisy);
    expect(await count(tableName)).toBeGreaterThan(1);
    expect((await store.queryHot('orders', range(), T)).map((e) => e.id).sort()).toEqual(noisy.map((e) => e.id).sort());
  });

  it('answers what is still hot, as of an event time', async () => {
    const { store } = await freshStore();
    await store.putHot('orders', [event(1), event(2)]);
    await store.putHot('orders', [event(3, { id: 'req0000002.0', hotUntil: T + 10, archive: false })]);
    expect((await store.queryHot('orders', range({ asOf: new Date(T + 2 * H).toISOString() }), T)).map((e) => e.data.n)).toEqual([1, 2]);
    expect((await store.queryHot('orders', range(), T + 5)).map((e) => e.data.n)).toEqual([1, 2, 3]);
    expect((await store.queryHot('orders', range(), T + 10)).map((e) => e.data.n)).toEqual([1, 2]);
  });

  it('turns a DynamoDB failure into a StoreUnavailableError', async () => {
    const { tableName } = await freshStore();
    const client = localDynamoDbClient(server.endpoint);
    client.middlewareStack.add(() => async () => {
      throw new InternalServerError({ message: 'injected', $metadata: {} });
    }, { step: 'initialize', name: 'fail-all' });
    const store = new DynamoDbEventStore({ client, tableName });
    await expect(store.putHot('orders', [event(1)])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.queryHot('orders', range(), T)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
