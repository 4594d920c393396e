import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { containersOf, pageOfContainers, type EventQuery, type StoredEvent } from '../domain/events';
import { StoreUnavailableError } from '../domain/errors';
import { batchPut, containerItems, containerKeys, gzippedChunks, readBody } from './dynamodb-event-store';

/** Where a stream's cold objects live in the bucket. */
export const EVENTS_PREFIX = 'events/';

/**
 * The cold tier of event storage: archived events in S3, one gzipped NDJSON object per container (a
 * request's events of one UTC day of event time and one of valid time:
 * `events/<stream>/<day>/<first id>.ndjson.gz`, so a redelivered batch writes the same object again), and
 * per object a manifest item in the events table (partition `<stream>#cold`, keyed as the hot containers
 * are), through which a query finds the objects its range needs on either axis.
 *
 * @example
 * const archive = new S3EventArchive({ s3, bucket, dynamo, tableName });
 * await archive.putCold('orders', events.filter((e) => e.archive));
 */
export class S3EventArchive {
  constructor(private readonly options: { s3: S3Client; bucket: string; dynamo: DynamoDBClient; tableName: string }) {}

  async putCold(streamId: string, events: readonly StoredEvent[]): Promise<void> {
    const manifests = [];
    for (const group of containersOf(events)) {
      for (const { events: chunk, body } of await gzippedChunks(group)) {
        const key = `${EVENTS_PREFIX}${streamId}/${new Date(chunk[0]!.eventTime).toISOString().slice(0, 10)}/${chunk[0]!.id}.ndjson.gz`;
        try {
          await this.options.s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: 'application/x-ndjson' }));
        } catch (err) {
          throw new StoreUnavailableError(`S3 PutObject failed: ${(err as Error).name}.`, { cause: err });
        }
        manifests.push({ ...containerKeys(`${streamId}#cold`, chunk), key: { S: key } });
      }
    }
    // the manifests after their objects: a manifest never names an object that is not there
    await batchPut(this.options.dynamo, this.options.tableName, manifests);
  }

  /** One page (at most `q.limit + 1`) of the range's archived events that `keep` keeps, in the axis' order. */
  async readCold(streamId: string, q: EventQuery, keep: (e: StoredEvent) => boolean): Promise<StoredEvent[]> {
    return pageOfContainers(containerItems(this.options.dynamo, this.options.tableName, `${streamId}#cold`, q, {}, (it) => this.object(it.key!.S!)), q, keep);
  }

  private async object(key: string): Promise<StoredEvent[]> {
    let bytes: Uint8Array;
    try {
      const out = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      bytes = await out.Body!.transformToByteArray();
    } catch (err) {
      if (err instanceof NoSuchKey) return [];
      throw new StoreUnavailableError(`S3 GetObject failed: ${(err as Error).name}.`, { cause: err });
    }
    return readBody(bytes);
  }
}
