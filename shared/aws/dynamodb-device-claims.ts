import { type AttributeValue, DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type Clock, type DeviceClaimConflict, type DeviceClaims, type DeviceDirectory, type StreamRegistry, systemClock } from '../ports';
import { callDynamo } from './dynamodb-call';
import { claimKey, type ClaimKind, DynamoDbDeviceLookup, streamNames } from './dynamodb-device-lookup';
import { TABLE_KEYS } from './dynamodb-table';

/**
 * What `DynamoDbDeviceClaims` is built from.
 *
 * @example
 * const options: DynamoDbDeviceClaimsOptions = { client, tableName: config.TABLE_NAME, registry };
 */
export interface DynamoDbDeviceClaimsOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Reads the holder of a claim on conflict, to tell a live claim from a stale one. */
  registry: Pick<StreamRegistry, 'get'>;
  clock?: Clock;
  /** How long a claim whose stream does not name it yet (a create or patch in flight) stays the holder's. */
  graceMs?: number;
}

type Item = Record<string, AttributeValue>;
type Kind = ClaimKind;

const { partitionKey: PK } = TABLE_KEYS;

/**
 * `DeviceDirectory` on the stream table: `MQTTUSER#<username>` / `CLAIM` and `MQTTTOPIC#<topic>` / `CLAIM`
 * items (`streamId` S, `claimedAt` N), each taken with a conditional put (free, or already this stream's).
 * The streams function claims before it writes the stream and releases if the write fails; a crash in
 * between leaves a stale claim, so on conflict the holder is read: a claim its stream does not name (the
 * stream gone, or changed) is taken over once it is older than `graceMs` (a create or patch in flight names
 * it within that time), with a put conditioned on the exact claim read, so two takeovers cannot both win.
 * No transactions: dynalite has no `TransactWriteItems`.
 *
 * @example
 * const claims = new DynamoDbDeviceClaims({ client, tableName, registry });
 * await claims.claim('temp', { username: 'sensor_user' }); // undefined: held
 */
export class DynamoDbDeviceClaims extends DynamoDbDeviceLookup implements DeviceDirectory {
  private readonly registry: Pick<StreamRegistry, 'get'>;
  private readonly clock: Clock;
  private readonly graceMs: number;

  constructor(options: DynamoDbDeviceClaimsOptions) {
    super(options);
    this.registry = options.registry;
    this.clock = options.clock ?? systemClock;
    this.graceMs = options.graceMs ?? 60_000;
  }

  async claim(streamId: string, claims: DeviceClaims): Promise<DeviceClaimConflict | undefined> {
    const taken: DeviceClaims = {};
    for (const kind of ['username', 'topic'] as const) {
      const value = claims[kind];
      if (value === undefined) continue;
      const heldBy = await this.claimOne(kind, value, streamId);
      if (heldBy !== undefined) {
        await this.release(streamId, taken);
        return { taken: kind, heldBy };
      }
      taken[kind] = value;
    }
    return undefined;
  }

  async release(streamId: string, claims: DeviceClaims): Promise<void> {
    for (const kind of ['username', 'topic'] as const) {
      const value = claims[kind];
      if (value === undefined) continue;
      const del = new DeleteItemCommand({
        TableName: this.table,
        Key: claimKey(kind, value),
        ConditionExpression: 'streamId = :me',
        ExpressionAttributeValues: { ':me': { S: streamId } },
      });
      await callDynamo('DeleteItem', () => this.client.send(del).then(() => undefined), async () => undefined);
    }
  }

  /** `undefined` once `streamId` holds the claim, else the stream that does. */
  private async claimOne(kind: Kind, value: string, streamId: string): Promise<string | undefined> {
    const now = this.clock.now();
    const put = (condition: string, values: Item) =>
      new PutItemCommand({
        TableName: this.table,
        Item: { ...claimKey(kind, value), streamId: { S: streamId }, claimedAt: { N: String(now) } },
        ConditionExpression: condition,
        ...(condition.includes('#pk') && { ExpressionAttributeNames: { '#pk': PK } }),
        ExpressionAttributeValues: values,
      });
    const fresh = await callDynamo(
      'PutItem',
      () => this.client.send(put('attribute_not_exists(#pk) OR streamId = :me', { ':me': { S: streamId } })).then(() => true),
      async () => false,
    );
    if (fresh) return undefined;
    const held = await this.holder(kind, value);
    if (!held) return this.claimOne(kind, value, streamId); // released meanwhile
    if (held.streamId === streamId) return undefined;
    const stale = now - held.claimedAt > this.graceMs && !streamNames(await this.registry.get(held.streamId), kind, value);
    if (!stale) return held.streamId;
    const takenOver = await callDynamo(
      'PutItem',
      () =>
        this.client
          .send(put('streamId = :old AND claimedAt = :at', { ':old': { S: held.streamId }, ':at': { N: String(held.claimedAt) } }))
          .then(() => true),
      async () => false,
    );
    return takenOver ? undefined : ((await this.holder(kind, value))?.streamId ?? held.streamId);
  }
}
