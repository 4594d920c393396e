import { type AttributeValue, type DynamoDBClient, DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { isConditionFailure, toStoreError } from './dynamodb-errors';
import { IDEMPOTENCY_TABLE_KEYS } from './dynamodb-idempotency-table';

/**
 * Deletes the idempotency keys whose window has passed, as DynamoDB's TTL does in AWS: for the local
 * runtime, whose dynalite has no TTL. An expired key is already ignored by `DynamoDbIdempotencyStore`; this
 * only frees its space. Resolves to how many items it deleted. Not in any Lambda's bundle.
 *
 * @example
 * setInterval(() => void deleteExpiredIdempotencyKeys(client, 'tributary-idempotency', Date.now()), 600_000);
 */
export async function deleteExpiredIdempotencyKeys(client: DynamoDBClient, tableName: string, nowMs: number): Promise<number> {
  const names = { '#e': IDEMPOTENCY_TABLE_KEYS.ttlAttribute };
  const values = { ':now': { N: String(Math.floor(nowMs / 1000)) } };
  let deleted = 0;
  let start: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: '#e < :now',
          ProjectionExpression: IDEMPOTENCY_TABLE_KEYS.partitionKey,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const key = { [IDEMPOTENCY_TABLE_KEYS.partitionKey]: item[IDEMPOTENCY_TABLE_KEYS.partitionKey]! };
        // a key claimed again since the scan has a new expiration: the condition keeps it
        await client
          .send(new DeleteItemCommand({ TableName: tableName, Key: key, ConditionExpression: '#e < :now', ExpressionAttributeNames: names, ExpressionAttributeValues: values }))
          .then(
            () => deleted++,
            (err: unknown) => {
              if (!isConditionFailure(err)) throw err;
            },
          );
      }
      start = page.LastEvaluatedKey;
    } while (start);
  } catch (err) {
    throw toStoreError(err, 'Scan/DeleteItem (expired idempotency keys)');
  }
  return deleted;
}
