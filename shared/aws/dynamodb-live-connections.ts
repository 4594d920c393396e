import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LiveFilter } from '../domain/live-messages';
import type { LiveConnection, LiveConnectionStore } from '../ports';
import { callDynamo, checkTableOptions } from './dynamodb-call';

/** The connection table's keys and TTL attribute (epoch seconds), for the CDK construct and the adapter. */
export const LIVE_CONNECTION_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;
const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = LIVE_CONNECTION_KEYS;

const byStream = (streamId: string, connectionId: string) => ({ [PK]: { S: `STREAM#${streamId}` }, [SK]: { S: `CONN#${connectionId}` } });
const byConnection = (connectionId: string) => ({ [PK]: { S: `CONN#${connectionId}` }, [SK]: { S: 'CONN' } });

/**
 * The live connection table: each connection twice, under its stream (what the fan-out queries, one page per
 * stream and batch) and under its id (what `$disconnect`, which knows only the id, finds its stream by). Both
 * items carry the TTL API Gateway's 2 h connection limit sets, so a connection whose `$disconnect` never ran
 * goes anyway.
 *
 * @example
 * const connections = new DynamoDbLiveConnections({ client, tableName });
 * await connections.list('freezers', Date.now());
 */
export class DynamoDbLiveConnections implements LiveConnectionStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    checkTableOptions('DynamoDbLiveConnections', options);
    this.client = options.client;
    this.table = options.tableName;
  }

  async put(c: LiveConnection): Promise<void> {
    const common = {
      connectionId: { S: c.connectionId },
      streamId: { S: c.streamId },
      connectedAtMs: { N: String(c.connectedAt) },
      expiresAtMs: { N: String(c.expiresAt) },
      [TTL]: { N: String(Math.ceil(c.expiresAt / 1000)) },
    };
    // two puts, no transaction (dynalite has none): a connection whose second put failed is refused, and either
    // item left behind expires with its TTL
    await Promise.all([
      callDynamo('PutItem', () => this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...byConnection(c.connectionId), ...common } }))),
      callDynamo('PutItem', () => this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...byStream(c.streamId, c.connectionId), ...common, filter: { S: JSON.stringify(c.filter) } } }))),
    ]);
  }

  async remove(connectionId: string): Promise<void> {
    const found = await callDynamo('GetItem', () => this.client.send(new GetItemCommand({ TableName: this.table, Key: byConnection(connectionId), ConsistentRead: true })));
    const streamId = found.Item?.streamId?.S;
    // the stream's item first: once it is gone no post goes to the connection, whatever happens to the other
    if (streamId) await callDynamo('DeleteItem', () => this.client.send(new DeleteItemCommand({ TableName: this.table, Key: byStream(streamId, connectionId) })));
    await callDynamo('DeleteItem', () => this.client.send(new DeleteItemCommand({ TableName: this.table, Key: byConnection(connectionId) })));
  }

  async list(streamId: string, now: number): Promise<LiveConnection[]> {
    const out: LiveConnection[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await callDynamo('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':pk': { S: `STREAM#${streamId}` } },
            ...(start && { ExclusiveStartKey: start }),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const expiresAt = Number(item.expiresAtMs?.N);
        const connectionId = item.connectionId?.S;
        if (!connectionId || !(expiresAt > now)) continue;
        let filter: LiveFilter;
        try {
          filter = JSON.parse(item.filter?.S ?? '') as LiveFilter;
        } catch {
          continue;
        }
        out.push({ connectionId, streamId, filter, connectedAt: Number(item.connectedAtMs?.N ?? 0), expiresAt });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }
}
