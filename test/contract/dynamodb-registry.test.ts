import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamoDbRegistry, SAMPLE_RECORD_BYTES } from '../../shared/aws/dynamodb-registry';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { useDynalite } from '../fixtures/dynalite';
import { aStream, streamRegistryContract } from './stream-registry.contract';
import { tokenStoreContract } from './token-store.contract';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');

const dynamo = useDynalite('registry');

/** Each test gets its own table on the shared in-memory dynalite. */
async function freshRegistry(): Promise<{ registry: DynamoDbRegistry; tableName: string }> {
  const tableName = await dynamo.freshTable();
  return { registry: new DynamoDbRegistry({ client: dynamo.client, tableName }), tableName };
}

describe('DynamoDbRegistry on dynalite (in memory)', () => {
  streamRegistryContract(async () => {
    const { registry } = await freshRegistry();
    return { registry, tokens: registry };
  });
  tokenStoreContract(async () => (await freshRegistry()).registry);

  it('leaves a tombstone that keeps the id and drops the definition', async () => {
    const { registry, tableName } = await freshRegistry();
    await registry.create(aStream('gone'));
    await registry.delete('gone');
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'STREAM#gone' }, sk: { S: 'META' } } }));
    expect(Item?.id?.S).toBe('gone');
    expect(Item?.definition).toBeUndefined();
    expect(Item?.gsi1pk).toBeUndefined();
  });

  it('stores at most 20 samples however many rejections arrive in one call', async () => {
    const { registry, tableName } = await freshRegistry();
    await registry.create(aStream('noisy'));
    await registry.addStats('noisy', { at: T0, points: 0, invalid: 0, rejected: 50, samples: Array.from({ length: 50 }, (_, i) => ({ reason: `r${i}` })) });
    await registry.addStats('noisy', { at: T0 + 1, points: 0, invalid: 0, rejected: 15, samples: Array.from({ length: 15 }, (_, i) => ({ reason: `s${i}` })) });
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'STREAM#noisy' }, sk: { S: 'REJECTIONS' } } }));
    expect(Item?.samples?.L).toHaveLength(20);
    const stats = await registry.getStats('noisy', T0);
    expect(stats.rejectedCount).toBe(65);
    expect(stats.recentRejections.map((r) => r.reason)).toEqual([
      ...Array.from({ length: 15 }, (_, i) => `s${14 - i}`),
      ...Array.from({ length: 5 }, (_, i) => `r${49 - i}`),
    ]);
  });

  it('keeps counts exact when twenty writers add stats at once', async () => {
    const { registry } = await freshRegistry();
    await registry.create(aStream('hot'));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        registry.addStats('hot', { at: T0 + i, points: 10, invalid: 1, rejected: 2, samples: [{ reason: `w${i}a` }, { reason: `w${i}b` }] }),
      ),
    );
    const stats = await registry.getStats('hot', T0);
    expect(stats).toMatchObject({ pointsTotal: 200, pointsToday: 200, invalidCount: 20, rejectedCount: 40 });
    expect(stats.recentRejections).toHaveLength(20);
  });

  it('keeps the first KiB of a large rejected record, cut on a character boundary', async () => {
    const { registry } = await freshRegistry();
    await registry.create(aStream('big'));
    const record = { deviceId: 'f1', note: 'é'.repeat(2000) };
    await registry.addStats('big', { at: T0, points: 0, invalid: 0, rejected: 1, samples: [{ reason: 'too large', record }] });
    const [kept] = (await registry.getStats('big', T0)).recentRejections;
    expect(typeof kept?.record).toBe('string');
    const text = kept!.record as string;
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(SAMPLE_RECORD_BYTES);
    expect(Buffer.byteLength(text, 'utf8')).toBeGreaterThan(SAMPLE_RECORD_BYTES - 4);
    expect(JSON.stringify(record).startsWith(text)).toBe(true);
    expect(text).not.toContain('\uFFFD');
  });

  it('reports a missing table as the store being unavailable, not as a missing stream', async () => {
    const registry = new DynamoDbRegistry({ client: dynamo.client, tableName: 'no-such-table' });
    const err = await registry.get('freezers').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).cause).toBeDefined();
  });

  it('reads a stored definition that is not JSON as the store being unavailable', async () => {
    const { registry, tableName } = await freshRegistry();
    await dynamo.client.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'STREAM#bad' }, sk: { S: 'META' }, id: { S: 'bad' }, definition: { S: '{not json' } } }),
    );
    await expect(registry.get('bad')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('DynamoDbRegistry on dynalite (LevelDB on disk)', () => {
  it('finds streams, tokens and stats again after dynalite is closed and reopened', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dynalite-'));
    try {
      const first = await startDynalite({ path: dir });
      await ensureTable(first.client, 'tributary');
      const before = new DynamoDbRegistry({ client: first.client, tableName: 'tributary' });
      await before.create(aStream('durable', { tags: { env: 'prod' } }));
      await before.put({ hash: 'a'.repeat(64), scopes: ['ingest:durable'], streamId: 'durable', createdAt: new Date(T0).toISOString() });
      await before.addStats('durable', { at: T0, points: 42, invalid: 1, rejected: 1, samples: [{ reason: 'kept', record: { x: 1 } }] });
      await first.close();

      const second = await startDynalite({ path: dir });
      try {
        await ensureTable(second.client, 'tributary');
        const after = new DynamoDbRegistry({ client: second.client, tableName: 'tributary' });
        expect(await after.get('durable')).toEqual(aStream('durable', { tags: { env: 'prod' } }));
        expect((await after.list({ tags: { env: 'prod' } })).streams.map((s) => s.id)).toEqual(['durable']);
        expect(await after.find('a'.repeat(64))).toMatchObject({ streamId: 'durable', scopes: ['ingest:durable'] });
        expect(await after.getStats('durable', T0)).toEqual({
          lastDataAt: new Date(T0).toISOString(),
          pointsTotal: 42,
          pointsToday: 42,
          invalidCount: 1,
          rejectedCount: 1,
          filteredCount: 0,
          recentRejections: [{ reason: 'kept', at: new Date(T0).toISOString(), record: { x: 1 } }],
        });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('startDynalite', () => {
  it('serves a table that ensureTable made ACTIVE, with its index, on a free port of 127.0.0.1', async () => {
    const local = await startDynalite({ port: 0 });
    try {
      expect(local.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(local.endpoint).not.toMatch(/:0$/);
      await ensureTable(local.client, 'tributary');
      await ensureTable(local.client, 'tributary');
      const { Table } = await local.client.send(new DescribeTableCommand({ TableName: 'tributary' }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.IndexStatus, i.Projection?.ProjectionType])).toEqual([['gsi1', 'ACTIVE', 'ALL']]);
    } finally {
      await local.close();
    }
  });

  it('refuses an option that cannot work before starting anything', async () => {
    await expect(startDynalite({ port: 70_000 })).rejects.toThrow(/port/);
  });
});
