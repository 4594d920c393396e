import type { StoredEvent } from '../domain/events';
import type { EventSink } from '../ports';
import type { DynamoDbEventStore } from './dynamodb-event-store';
import type { S3EventArchive } from './s3-event-archive';

/**
 * How the writer stores events, in two tiers as the Flowcore document describes: every event is hot
 * (DynamoDB) until its `ttl-on/stored-event`; an archived one is written cold (S3) as well when it arrives,
 * where `TieredEventSource` finds it after its TTL; an ephemeral one is only hot.
 *
 * @example
 * const events = new TieredEventSink({ hot: new DynamoDbEventStore({ client, tableName }), cold: new S3EventArchive({ s3, bucket, dynamo: client, tableName }) });
 * await events.put('orders', batch);
 */
export class TieredEventSink implements EventSink {
  constructor(private readonly tiers: { hot: DynamoDbEventStore; cold: S3EventArchive }) {}

  async put(streamId: string, events: readonly StoredEvent[]): Promise<void> {
    const archived = events.filter((e) => e.archive);
    // cold first: once the hot copy exists, its TTL may pass at any time
    if (archived.length) await this.tiers.cold.putCold(streamId, archived);
    await this.tiers.hot.putHot(streamId, events);
  }
}
