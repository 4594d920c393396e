import type { EventQuery, StoredEvent } from '../domain/events';
import type { EventSource } from '../ports';
import type { DynamoDbEventStore } from './dynamodb-event-store';
import type { S3EventArchive } from './s3-event-archive';

/**
 * How a query reads events from both tiers, transparently: a page of the hot events still hot (DynamoDB)
 * and one of the archived events no longer hot (S3), merged in the axis' order, with one cursor for both.
 *
 * @example
 * const events = new TieredEventSource({ hot: new DynamoDbEventStore({ client, tableName }), cold: new S3EventArchive({ s3, bucket, dynamo: client, tableName }) });
 * const { events: page, next } = await events.query('orders', q, Date.now());
 */
export class TieredEventSource implements EventSource {
  constructor(private readonly tiers: { hot: DynamoDbEventStore; cold: S3EventArchive }) {}

  async query(streamId: string, q: EventQuery, now: number): Promise<{ events: StoredEvent[]; next?: { time: number; id: string } }> {
    const valid = q.timeAxis === 'valid';
    const time = (e: StoredEvent) => (valid ? e.validTime : e.eventTime);
    const sign = q.order === 'asc' ? 1 : -1;
    const compare = (a: StoredEvent, b: StoredEvent) => sign * (time(a) - time(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // an archived event still hot is answered from hot, once
    const [hot, cold] = await Promise.all([this.tiers.hot.queryHot(streamId, q, now), this.tiers.cold.readCold(streamId, q, (e) => e.hotUntil <= now)]);
    const merged = [...hot, ...cold].sort(compare);
    if (merged.length <= q.limit) return { events: merged };
    const page = merged.slice(0, q.limit);
    const last = page[page.length - 1]!;
    return { events: page, next: { time: time(last), id: last.id } };
  }
}
