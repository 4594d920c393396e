import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LiveTicket, LiveTicketStore } from '../ports';
import { callDynamo, checkTableOptions } from './dynamodb-call';
import { TABLE_KEYS } from './dynamodb-table';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_KEYS;
const key = (hash: string) => ({ [PK]: { S: `LIVETICKET#${hash}` }, [SK]: { S: 'TICKET' } });

/**
 * Live tickets in the main table (`LIVETICKET#<sha256>`), expiring through its TTL attribute (epoch seconds;
 * DynamoDB deletes within days, so `redeem` checks the time itself). Redeeming is one conditional
 * `DeleteItem` returning the old item: of two connections presenting the same ticket, exactly one gets it.
 *
 * @example
 * const tickets = new DynamoDbLiveTickets({ client, tableName });
 * await tickets.issue({ hash, streamId: 'freezers', principal: 'token:ab12', expiresAt: Date.now() + 60_000 });
 */
export class DynamoDbLiveTickets implements LiveTicketStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    checkTableOptions('DynamoDbLiveTickets', options);
    this.client = options.client;
    this.table = options.tableName;
  }

  async issue(t: LiveTicket): Promise<void> {
    await callDynamo('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...key(t.hash),
            streamId: { S: t.streamId },
            principal: { S: t.principal },
            expiresAtMs: { N: String(t.expiresAt) },
            [TTL]: { N: String(Math.ceil(t.expiresAt / 1000)) },
          },
        }),
      ),
    );
  }

  async redeem(hash: string, now: number): Promise<LiveTicket | undefined> {
    return callDynamo(
      'DeleteItem',
      async () => {
        const out = await this.client.send(
          new DeleteItemCommand({
            TableName: this.table,
            Key: key(hash),
            ConditionExpression: 'attribute_exists(#pk) AND expiresAtMs > :now',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':now': { N: String(now) } },
            ReturnValues: 'ALL_OLD',
          }),
        );
        const item = out.Attributes;
        if (!item?.streamId?.S || !item.expiresAtMs?.N) return undefined;
        return { hash, streamId: item.streamId.S, principal: item.principal?.S ?? '', expiresAt: Number(item.expiresAtMs.N) };
      },
      async () => undefined,
    );
  }
}
