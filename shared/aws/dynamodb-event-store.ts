import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { BatchWriteItemCommand, QueryCommand, type AttributeValue, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { containersOf, dayStart, pageOfContainers, type EventContainer, type EventQuery, type StoredEvent } from '../domain/events';
import { toStoreError } from './dynamodb-errors';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const DAY_MS = 86_400_000;
/** A container item's gzipped events stay under DynamoDB's 400 KB item limit with room for its keys. */
const MAX_BODY_BYTES = 300_000;

/**
 * The hot tier of event storage (`TieredEventSink` and `TieredEventSource` add the cold one): a DynamoDB
 * table of its own (`eventsTableDefinition`) of containers, not events: one item per request and UTC day
 * of event time and of valid time (`containersOf`), its events gzipped NDJSON inside, keyed by stream and
 * `<least event time>#<first id>` with the index `byValidTime` keyed by `<least valid time>#<first id>`, so
 * a write costs an item per batch, not per event. Each item's DynamoDB TTL attribute `expiresAt` (epoch
 * seconds) is the hot TTL its request gave; a query leaves out what is past it at once (TTL deletes lazily).
 * The same adapter runs on dynalite on one machine.
 *
 * @example
 * const hot = new DynamoDbEventStore({ client, tableName: config.EVENTS_TABLE_NAME });
 * await hot.putHot('orders', [{ id: 'r1.0', eventTime, validTime, data: { total: 12 }, hotUntil, archive: true }]);
 */
export class DynamoDbEventStore {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  /** Puts the events, in containers, each until its hot TTL; idempotent (a container's key is its first event's). */
  async putHot(streamId: string, events: readonly StoredEvent[]): Promise<void> {
    const items: Record<string, AttributeValue>[] = [];
    for (const group of containersOf(events)) {
      for (const chunk of await gzippedChunks(group)) items.push(containerItem(streamId, chunk.events, chunk.body));
    }
    await batchPut(this.options.client, this.options.tableName, items);
  }

  /** One page (at most `q.limit + 1`) of the range's events still hot at `now`, in the axis' order. */
  async queryHot(streamId: string, q: EventQuery, now: number): Promise<StoredEvent[]> {
    const still = { extra: 'hu > :now', values: { ':now': { N: String(now) } } };
    const containers = containerItems(this.options.client, this.options.tableName, streamId, q, still, (it) => readBody(it.b!.B!));
    return pageOfContainers(containers, q, (e) => e.hotUntil > now);
  }
}

/** The events table: stream and least event time as its key, the valid-time index, TTL on `expiresAt` (set by the stack in AWS). */
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
export const padTime = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(15, '0');

/** The events as gzipped NDJSON, in as many chunks as keep each under the item limit. */
export async function gzippedChunks(events: readonly StoredEvent[]): Promise<{ events: StoredEvent[]; body: Buffer }[]> {
  const body = await gzipAsync(Buffer.from(events.map((e) => JSON.stringify(e)).join('\n')));
  if (body.length <= MAX_BODY_BYTES || events.length === 1) return [{ events: [...events], body }];
  const half = Math.ceil(events.length / 2);
  return [...(await gzippedChunks(events.slice(0, half))), ...(await gzippedChunks(events.slice(half)))];
}

/** A container's events from its gzipped NDJSON. */
export async function readBody(bytes: Uint8Array): Promise<StoredEvent[]> {
  const text = (await gunzipAsync(bytes)).toString('utf8');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as StoredEvent);
}

/** The keys and spans of a container (`extra` attributes added), in the events table's layout. */
export function containerKeys(partition: string, events: readonly StoredEvent[]): Record<string, AttributeValue> {
  const span = (pick: (e: StoredEvent) => number) => [Math.min(...events.map(pick)), Math.max(...events.map(pick))] as const;
  const [minE, maxE] = span((e) => e.eventTime);
  const [minV, maxV] = span((e) => e.validTime);
  const first = events[0]!.id;
  return {
    s: { S: partition },
    e: { S: `${padTime(minE)}#${first}` },
    v: { S: `${padTime(minV)}#${first}` },
    minE: { N: String(minE) },
    maxE: { N: String(maxE) },
    minV: { N: String(minV) },
    maxV: { N: String(maxV) },
    n: { N: String(events.length) },
  };
}

function containerItem(streamId: string, events: readonly StoredEvent[], body: Buffer): Record<string, AttributeValue> {
  const hotUntil = Math.max(...events.map((e) => e.hotUntil));
  return {
    ...containerKeys(streamId, events),
    b: { B: body },
    hu: { N: String(hotUntil) },
    // DynamoDB deletes the container after its hot TTL; its archived events are in the cold tier by then
    expiresAt: { N: String(Math.ceil(hotUntil / 1000)) },
  };
}

/** BatchWriteItem in 25s, unprocessed items sent again with backoff; a put of the same item again changes nothing. */
export async function batchPut(client: DynamoDBClient, tableName: string, items: readonly Record<string, AttributeValue>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests: Record<string, { PutRequest: { Item: Record<string, AttributeValue> } }[]> = { [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
    for (let attempt = 0; Object.keys(requests).length > 0; attempt++) {
      if (attempt > 8) throw toStoreError(new Error('BatchWriteItem left items unprocessed after 8 retries'), 'BatchWriteItem');
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      try {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: requests }));
        requests = (out.UnprocessedItems ?? {}) as typeof requests;
      } catch (err) {
        throw toStoreError(err, 'BatchWriteItem');
      }
    }
  }
}

/**
 * The containers of `partition` that may hold events of the query's range (after its cursor), in the order
 * of their least time on its axis: a key range one day wider than the range, since a container spans less.
 */
export async function* containerItems(
  client: DynamoDBClient,
  tableName: string,
  partition: string,
  q: EventQuery,
  filter: { extra?: string; values?: Record<string, AttributeValue> },
  events: (item: Record<string, AttributeValue>) => Promise<StoredEvent[]>,
): AsyncGenerator<EventContainer> {
  const valid = q.timeAxis === 'valid';
  const asc = q.order === 'asc';
  const from = Math.max(0, (asc && q.after ? Math.max(q.start, q.after.time) : q.start) - DAY_MS);
  const to = !asc && q.after ? Math.min(q.end - 1, q.after.time) : q.end - 1;
  const maxName = valid ? 'maxV' : 'maxE';
  const filters = [`${maxName} >= :lo`, ...(q.asOf !== undefined ? ['minE <= :asOf'] : []), ...(filter.extra ? [filter.extra] : [])];
  let start: Record<string, AttributeValue> | undefined;
  do {
    let out;
    try {
      out = await client.send(
        new QueryCommand({
          TableName: tableName,
          ...(valid && { IndexName: 'byValidTime' }),
          KeyConditionExpression: `s = :s AND ${valid ? 'v' : 'e'} BETWEEN :from AND :to`,
          FilterExpression: filters.join(' AND '),
          ExpressionAttributeValues: {
            ':s': { S: partition },
            ':from': { S: padTime(dayStart(from)) },
            ':to': { S: `${padTime(to)}#~` },
            ':lo': { N: String(q.start) },
            ...(q.asOf !== undefined && { ':asOf': { N: String(q.asOf) } }),
            ...filter.values,
          },
          ScanIndexForward: asc,
          Limit: 100,
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
    } catch (err) {
      throw toStoreError(err, 'Query');
    }
    for (const it of out.Items ?? []) {
      yield { minE: Number(it.minE!.N), maxE: Number(it.maxE!.N), minV: Number(it.minV!.N), maxV: Number(it.maxV!.N), events: () => events(it) };
    }
    start = out.LastEvaluatedKey;
  } while (start);
}
