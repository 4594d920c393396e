import { InternalServerError, PutItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbIdempotencyStore } from '../../shared/aws/dynamodb-idempotency-store';
import { deleteExpiredIdempotencyKeys } from '../../shared/aws/dynamodb-idempotency-sweep';
import { idempotencyTableDefinition } from '../../shared/aws/dynamodb-idempotency-table';
import { localDynamoDbClient } from '../../shared/aws/dynamodb-local-client';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { startedForSuite } from '../fixtures/lifecycle';
import { idempotencyStoreContract } from './idempotency-store.contract';

const server = startedForSuite(() => startDynalite());
let tables = 0;

async function freshTable(): Promise<string> {
  const tableName = `idempotency-${++tables}`;
  await ensureTable(server.client, tableName, 30_000, idempotencyTableDefinition(tableName));
  return tableName;
}

/** A client of the same dynalite whose `command` fails as DynamoDB's own 500 does, every time. */
function failing(command: string): DynamoDBClient {
  const client = localDynamoDbClient(server.endpoint);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === command) throw new InternalServerError({ message: 'injected', $metadata: {} });
      return next(args);
    },
    { step: 'initialize', name: `fail-${command}` },
  );
  return client;
}

describe('DynamoDbIdempotencyStore on dynalite (in memory)', () => {
  idempotencyStoreContract(async () => new DynamoDbIdempotencyStore({ client: server.client, tableName: await freshTable() }));

  it('stores hashes, never the client key or the scope as sent', async () => {
    const tableName = await freshTable();
    const store = new DynamoDbIdempotencyStore({ client: server.client, tableName });
    await store.once({ scope: 'freezers', key: 'order-7f3a-secretish', fingerprint: 'body-hash' }, async () => ({ accepted: 1 }), { holdMs: 5_000 });
    const { Items = [] } = await server.client.send(new ScanCommand({ TableName: tableName }));
    expect(Items).toHaveLength(1);
    const text = JSON.stringify(Items);
    expect(text).not.toContain('order-7f3a-secretish');
    expect(text).not.toContain('freezers');
    expect(Items[0]).toMatchObject({ status: { S: 'COMPLETED' }, expiration: { N: expect.any(String) } });
  });

  it('answers with the work done when only recording it failed, saying it was not recorded (a retry may run it again)', async () => {
    const tableName = await freshTable();
    const store = new DynamoDbIdempotencyStore({ client: failing('UpdateItemCommand'), tableName });
    let runs = 0;
    const work = async () => ({ accepted: ++runs });
    await expect(store.once({ scope: 's', key: 'k', fingerprint: 'f' }, work, { holdMs: 50 })).resolves.toEqual({ value: { accepted: 1 }, replayed: false, recorded: false });
    // the key stays claimed until holdMs has passed, then a retry runs the work again
    const healthy = new DynamoDbIdempotencyStore({ client: server.client, tableName });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(healthy.once({ scope: 's', key: 'k', fingerprint: 'f' }, work, { holdMs: 50 })).resolves.toEqual({ value: { accepted: 2 }, replayed: false, recorded: true });
  });

  it('is StoreUnavailableError, running nothing, when the key cannot be claimed', async () => {
    const store = new DynamoDbIdempotencyStore({ client: failing('PutItemCommand'), tableName: await freshTable() });
    let runs = 0;
    const err = await store.once({ scope: 's', key: 'k', fingerprint: 'f' }, async () => ++runs, { holdMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(runs).toBe(0);
  });

  it('deletes only the keys whose window has passed (the local stand-in for TTL)', async () => {
    const tableName = await freshTable();
    const now = Date.now();
    for (const [id, expiration] of [['old', now / 1000 - 10], ['live', now / 1000 + 3_600]] as const) {
      await server.client.send(new PutItemCommand({ TableName: tableName, Item: { id: { S: id }, status: { S: 'COMPLETED' }, expiration: { N: String(Math.floor(expiration)) } } }));
    }
    expect(await deleteExpiredIdempotencyKeys(server.client, tableName, now)).toBe(1);
    const { Items = [] } = await server.client.send(new ScanCommand({ TableName: tableName }));
    expect(Items.map((i) => i.id?.S)).toEqual(['live']);
  });
});
