import {
  type CreateTableCommandInput,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../domain/errors';
import { toStoreError } from './dynamodb-errors';
import { INDEX_PROJECTION, TABLE_KEYS } from './dynamodb-table';

/**
 * The `CreateTable` input for Tributary's table: the key design of `dynamodb-table.ts`, on demand.
 * In AWS the CDK app creates the table (with TTL on `expiresAt`); this is for the local runtime.
 *
 * @example
 * await client.send(new CreateTableCommand(tableDefinition('tributary')));
 */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, index } = TABLE_KEYS;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [partitionKey, sortKey, index.partitionKey, index.sortKey].map((AttributeName) => ({
      AttributeName,
      AttributeType: 'S',
    })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: INDEX_PROJECTION },
      },
    ],
  };
}

/**
 * Creates the table (Tributary's, or the one `definition` describes) if it does not exist and waits until
 * it and its indexes are ACTIVE. Time to live is not set: dynalite has no `UpdateTimeToLive` (nor expiry),
 * so locally the small `DAY#` counters stay.
 * Throws `StoreUnavailableError` if DynamoDB fails or the table is not ready within `timeoutMs`.
 *
 * @example
 * const { client } = await startDynalite({ path: '.tributary/dynamodb' });
 * await ensureTable(client, 'tributary');
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  timeoutMs = 30_000,
  definition: CreateTableCommandInput = tableDefinition(tableName),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let table = await describe(client, tableName);
  if (!table) {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw toStoreError(err, 'CreateTable'); // else: created meanwhile
    }
    table = await describe(client, tableName);
  }
  while (!isActive(table)) {
    if (Date.now() > deadline) {
      throw new StoreUnavailableError(`DynamoDB table '${tableName}' is not ACTIVE after ${timeoutMs} ms (${table?.TableStatus ?? 'missing'}).`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    table = await describe(client, tableName);
  }
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw toStoreError(err, 'DescribeTable');
  }
}

function isActive(table: TableDescription | undefined): boolean {
  return table?.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
}
