import { BatchWriteItemCommand, QueryCommand, type AttributeValue, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventQuery, StoredEvent } from '../domain/events';
import type { EventStore } from '../ports';
import { toStoreError } from './dynamodb-errors';

/**
 * `EventStore` on a DynamoDB table of its own (`eventsTableDefinition`): one item per event, keyed by stream
 * and `<event time>#<id>`, with the index `byValidTime` keyed by `<valid time>#<id>`; the DynamoDB TTL
 * attribute `expiresAt` (epoch seconds) is set on ephemeral events only, which a query also leaves out once
 * their hot TTL has passed (TTL deletes lazily). The same adapter runs on dynalite on one machine.
 *
 * @example
 * const events = new DynamoDbEventStore({ client, tableName: config.EVENTS_TABLE_NAME });
 * await events.put('orders', [{ id: 'r1.0', eventTime, validTime, data: { total: 12 }, hotUntil, archive: true }]);
 */
export class DynamoDbEventStore implements EventStore {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  async put(streamId: string, events: readonly StoredEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 25) {
      let requests: Record<string, { PutRequest: { Item: Record<string, AttributeValue> } }[]> = {
        [this.options.tableName]: events.slice(i, i + 25).map((e) => ({ PutRequest: { Item: item(streamId, e) } })),
      };
      // unprocessed items are sent again with backoff; a put of the same event again changes nothing
      for (let attempt = 0; Object.keys(requests).length > 0; attempt++) {
        if (attempt > 8) throw toStoreError(new Error('BatchWriteItem left items unprocessed after 8 retries'), 'BatchWriteItem');
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
        try {
          const out = await this.options.client.send(new BatchWriteItemCommand({ RequestItems: requests }));
          requests = (out.UnprocessedItems ?? {}) as typeof requests;
        } catch (err) {
          throw toStoreError(err, 'BatchWriteItem');
        }
      }
    }
  }

  async query(streamId: string, q: EventQuery, now: number): Promise<{ events: StoredEvent[]; next?: { time: number; id: string } }> {
    const valid = q.timeAxis === 'valid';
    // a page resumes inside the range: the bound on the side it came from moves to the cursor's key
    const cursor = q.after && `${pad(q.after.time)}#${q.after.id}`;
    let lo = pad(q.start);
    let hi = `${pad(q.end - 1)}#~`;
    if (cursor && q.order === 'asc' && cursor > lo) lo = cursor;
    if (cursor && q.order === 'desc' && cursor < hi) hi = cursor;
    const values: Record<string, AttributeValue> = { ':s': { S: streamId }, ':lo': { S: lo }, ':hi': { S: hi }, ':now': { N: String(now) }, ':yes': { BOOL: true } };
    const filters = ['(ar = :yes OR hu > :now)'];
    if (q.asOf !== undefined) {
      filters.push('et <= :asOf');
      values[':asOf'] = { N: String(q.asOf) };
    }
    const events: StoredEvent[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      let out;
      try {
        out = await this.options.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            ...(valid && { IndexName: 'byValidTime' }),
            KeyConditionExpression: `s = :s AND ${valid ? 'v' : 'e'} BETWEEN :lo AND :hi`,
            FilterExpression: filters.join(' AND '),
            ExpressionAttributeValues: values,
            ScanIndexForward: q.order === 'asc',
            Limit: Math.min(1000, q.limit + 2),
            ...(start && { ExclusiveStartKey: start }),
          }),
        );
      } catch (err) {
        throw toStoreError(err, 'Query');
      }
      for (const it of out.Items ?? []) {
        if (cursor && (valid ? it.v?.S : it.e?.S) === cursor) continue;
        events.push(fromItem(it));
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined && events.length <= q.limit);
    if (events.length <= q.limit) return { events };
    const page = events.slice(0, q.limit);
    const last = page[page.length - 1]!;
    return { events: page, next: { time: valid ? last.validTime : last.eventTime, id: last.id } };
  }
}

/** The events table: stream and event time as its key, the valid-time index, TTL on `expiresAt` (set by the stack in AWS). */
export function eventsTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 's', AttributeType: 'S' },
      { AttributeName: 'e', AttributeType: 'S' },
      { AttributeName: 'v', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 's', KeyType: 'HASH' },
      { AttributeName: 'e', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'byValidTime',
        KeySchema: [
          { AttributeName: 's', KeyType: 'HASH' },
          { AttributeName: 'v', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** Epoch ms as sortable text: 15 digits reach the year 33658. */
const pad = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(15, '0');

function item(streamId: string, e: StoredEvent): Record<string, AttributeValue> {
  return {
    s: { S: streamId },
    e: { S: `${pad(e.eventTime)}#${e.id}` },
    v: { S: `${pad(e.validTime)}#${e.id}` },
    id: { S: e.id },
    et: { N: String(e.eventTime) },
    vt: { N: String(e.validTime) },
    ...(e.metadata && { md: { S: JSON.stringify(e.metadata) } }),
    d: { S: JSON.stringify(e.data) },
    hu: { N: String(e.hotUntil) },
    ar: { BOOL: e.archive },
    // DynamoDB deletes an ephemeral event after its TTL; archived ones stay until the cold tier takes them
    ...(!e.archive && { expiresAt: { N: String(Math.ceil(e.hotUntil / 1000)) } }),
  };
}

function fromItem(it: Record<string, AttributeValue>): StoredEvent {
  return {
    id: it.id!.S!,
    eventTime: Number(it.et!.N),
    validTime: Number(it.vt!.N),
    ...(it.md?.S !== undefined && { metadata: JSON.parse(it.md.S) as Record<string, unknown> }),
    data: JSON.parse(it.d!.S!) as Record<string, unknown>,
    hotUntil: Number(it.hu!.N),
    archive: it.ar?.BOOL === true,
  };
}
