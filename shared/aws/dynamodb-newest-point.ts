import { type AttributeValue, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { NewestClaim } from '../ports';
import { callDynamo } from './dynamodb-call';

/**
 * A stream's newest point time on its `STATS` item, for the datastream document's `check_timestamp`: claimed
 * by ingest with a condition (atomic against other claims), moved forward by the writer for every stored
 * batch.
 *
 * @example
 * const claim = await claimNewest(client, table, key, oldest, newest);
 */

/** The attribute: epoch ms of the stream's newest point, stored or accepted with `checkTimestamp`. */
export const NEWEST = 'newestPointAt';

type Key = Record<string, AttributeValue>;

/** Moves the newest to `newest` unless a point newer than `oldest` is known; see `StreamRegistry.claimNewest`. */
export function claimNewest(client: DynamoDBClient, table: string, key: Key, oldest: number, newest: number): Promise<NewestClaim> {
  return callDynamo<NewestClaim>(
    'UpdateItem',
    async () => {
      const out = await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: 'SET #newest = :newest',
          ConditionExpression: 'attribute_not_exists(#newest) OR #newest <= :oldest',
          ExpressionAttributeNames: { '#newest': NEWEST },
          ExpressionAttributeValues: { ':newest': { N: String(Math.max(oldest, newest)) }, ':oldest': { N: String(oldest) } },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      const previous = out.Attributes?.[NEWEST]?.N;
      return previous === undefined ? { claimed: true } : { claimed: true, previous: Number(previous) };
    },
    async () => {
      const item = await callDynamo('GetItem', () => client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true })));
      return { claimed: false, newest: Number(item.Item?.[NEWEST]?.N ?? oldest) };
    },
  );
}

/** Back to `previous`, unless another claim or a stored point moved it since `claimed`. */
export async function releaseNewest(client: DynamoDBClient, table: string, key: Key, claimed: number, previous: number | undefined): Promise<void> {
  await callDynamo(
    'UpdateItem',
    () =>
      client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: previous === undefined ? 'REMOVE #newest' : 'SET #newest = :previous',
          ConditionExpression: '#newest = :claimed',
          ExpressionAttributeNames: { '#newest': NEWEST },
          ExpressionAttributeValues: { ':claimed': { N: String(claimed) }, ...(previous !== undefined && { ':previous': { N: String(previous) } }) },
        }),
      ),
    async () => ({ $metadata: {} }),
  );
}

/** Moves the newest forward to `at`; a newer one already there stays. */
export async function advanceNewest(client: DynamoDBClient, table: string, key: Key, at: number): Promise<void> {
  await callDynamo(
    'UpdateItem',
    () =>
      client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: 'SET #newest = :at',
          ConditionExpression: 'attribute_not_exists(#newest) OR #newest < :at',
          ExpressionAttributeNames: { '#newest': NEWEST },
          ExpressionAttributeValues: { ':at': { N: String(at) } },
        }),
      ),
    async () => ({ $metadata: {} }),
  );
}
