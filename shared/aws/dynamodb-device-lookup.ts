import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Stream } from '../domain/stream-definition';
import type { DeviceClaims, DeviceDirectory } from '../ports';
import { callDynamo, checkTableOptions } from './dynamodb-call';
import { TABLE_KEYS } from './dynamodb-table';

type Item = Record<string, AttributeValue>;
export type ClaimKind = keyof DeviceClaims;

const { partitionKey: PK, sortKey: SK } = TABLE_KEYS;
const PREFIX: Record<ClaimKind, string> = { username: 'MQTTUSER#', topic: 'MQTTTOPIC#' };
/** The item of a claim: `MQTTUSER#<username>` or `MQTTTOPIC#<topic>`, sort key `CLAIM`. */
export const claimKey = (kind: ClaimKind, value: string): Item => ({ [PK]: { S: `${PREFIX[kind]}${value}` }, [SK]: { S: 'CLAIM' } });

/** Whether the stream's device names `value` as its username or topic. */
export function streamNames(stream: Stream | undefined, kind: ClaimKind, value: string): boolean {
  const device = stream?.device;
  return kind === 'username' ? device?.credentials?.username === value : device?.topic === value;
}

/**
 * The read side of the device directory (`GetItem` only), for the functions that only look claims up:
 * the IoT authorizer (username → stream) and the writer (topic → stream). `DynamoDbDeviceClaims` adds
 * claiming and releasing, for the streams function.
 *
 * @example
 * const lookup = new DynamoDbDeviceLookup({ client, tableName });
 * await lookup.findUsername('sensor_user'); // 'temperature-monitoring-x1y2z3'
 */
export class DynamoDbDeviceLookup implements Pick<DeviceDirectory, 'findUsername' | 'findTopic'> {
  protected readonly client: DynamoDBClient;
  protected readonly table: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    checkTableOptions('DynamoDbDeviceLookup', options);
    this.client = options.client;
    this.table = options.tableName;
  }

  findUsername(username: string): Promise<string | undefined> {
    return this.holder('username', username).then((h) => h?.streamId);
  }

  findTopic(topic: string): Promise<string | undefined> {
    return this.holder('topic', topic).then((h) => h?.streamId);
  }

  protected async holder(kind: ClaimKind, value: string): Promise<{ streamId: string; claimedAt: number } | undefined> {
    const get = new GetItemCommand({ TableName: this.table, Key: claimKey(kind, value), ConsistentRead: true });
    const { Item } = await callDynamo('GetItem', () => this.client.send(get));
    const streamId = Item?.streamId?.S;
    return streamId === undefined ? undefined : { streamId, claimedAt: Number(Item?.claimedAt?.N ?? 0) };
  }
}
